/* Plain-C reference of kernels/finder.cl (semantics in that file; contract in
 * ref.h). */
#include <math.h>

#include "support/ref.h"

/* finder_edge: the refined edge between samples q and q + 1. */
static float edge(const float *g, int step, int n, int q, float sign)
{
	float gm = g[(q - 1 > 0 ? q - 1 : 0) * step];
	float g0 = g[q * step];
	float g1 = g[(q + 1) * step];
	float g2 = g[(q + 2 < n - 1 ? q + 2 : n - 1) * step];
	float a = sign * (g0 - gm);
	float b = sign * (g1 - g0);
	float c = sign * (g2 - g1);
	float den = a - 2.0f * b + c;
	float d = den < 0.0f ? (a - c) / (2.0f * den) : 0.0f;
	return (float)q + 0.5f + fminf(fmaxf(d, -0.5f), 0.5f);
}

static int fits(int l, float e, float m, float tolerance)
{
	return fabsf((float)l - e * m) <= tolerance * e * m;
}

/* finder_scan: one line; appends to out while found < capacity. */
static void scan(const uint8_t *bin, int bstep, const float *g, int gstep, int n, int line,
                 int axis, const semqr__finder_params *p, semqr__finder_candidate *out,
                 int capacity, int *found)
{
	int s[5] = {0}, l[5] = {0};
	int complete = 0, start = 0, prev = bin[0];
	for (int t = 1; t < n; t++) {
		int v = bin[t * bstep];
		if (v == prev)
			continue;
		if (start > 0) {
			for (int i = 0; i < 4; i++) {
				s[i] = s[i + 1];
				l[i] = l[i + 1];
			}
			s[4] = start;
			l[4] = t - start;
			complete++;
			float m = (float)(l[0] + l[1] + l[2] + l[3] + l[4]) / 7.0f;
			if (complete >= 5 && m >= p->min_module && m <= p->max_module &&
			    fits(l[0], 1.0f, m, p->tolerance) &&
			    fits(l[1], 1.0f, m, p->tolerance) &&
			    fits(l[2], 3.0f, m, p->tolerance) &&
			    fits(l[3], 1.0f, m, p->tolerance) &&
			    fits(l[4], 1.0f, m, p->tolerance)) {
				float sign = prev ? 1.0f : -1.0f;
				float e0 = edge(g, gstep, n, s[0] - 1, sign);
				float e2 = edge(g, gstep, n, s[2] - 1, sign);
				float e3 = edge(g, gstep, n, s[3] - 1, -sign);
				float e5 = edge(g, gstep, n, t - 1, -sign);
				float along = (e0 + e2 + e3 + e5) * 0.25f;
				if (*found < capacity) {
					semqr__finder_candidate *c = &out[*found];
					c->x = axis ? (float)line : along;
					c->y = axis ? along : (float)line;
					c->module = (e5 - e0) / 7.0f;
					c->polarity = prev;
					c->axis = axis;
				}
				++*found;
			}
		}
		start = t;
		prev = v;
	}
}

int ref_finder(const uint8_t *bin, int bin_stride, const float *grey, int grey_stride, int width,
               int height, const semqr__finder_params *p, semqr__finder_candidate *out,
               int capacity)
{
	int found = 0;
	for (int y = 0; y < height; y++)
		scan(bin + y * bin_stride, 1, grey + y * grey_stride, 1, width, y, 0, p, out,
		     capacity, &found);
	for (int x = 0; x < width; x++)
		scan(bin + x, bin_stride, grey + x, grey_stride, height, x, 1, p, out, capacity,
		     &found);
	return found;
}
