/* Plain-C reference of kernels/sample.cl (semantics in that file; contract in
 * ref_sample.h). Float arithmetic as the kernel's: the build's ISO C mode
 * (-std=c11) keeps GCC from contracting a * b + c into fma, as the kernel's
 * FP_CONTRACT OFF does. */
#include <math.h>

#include "support/ref_sample.h"

/* The kernel's footprint tables. */
static const float wide_offset[7] = {-0.46875f, -0.3125f, -0.15625f, 0.0f,
                                     0.15625f,  0.3125f,  0.46875f};
static const float wide_weight[7] = {
    0.065576383842369981f, 0.12920289930120246f, 0.19408283901901222f, 0.22227575567483052f,
    0.19408283901901222f,  0.12920289930120246f, 0.065576383842369981f};
static const float narrow_offset[4] = {-0.28125f, -0.09375f, 0.09375f, 0.28125f};
static const float narrow_weight[4] = {0.25f, 0.25f, 0.25f, 0.25f};
static const float small_offset[3] = {-0.25f, 0.0f, 0.25f};
static const float small_weight[3] = {0.33333333333333333f, 0.33333333333333333f,
                                      0.33333333333333333f};

/* As the kernel's quotient(). */
static float quotient(float n, float w)
{
	float q = n / w;
	return q + fmaf(-q, w, n) / w;
}

/* The mean of module (i, j) of symbol s, or NAN. */
static float module_mean(const float *in, int stride, int width, int height,
                         const semqr__sample_symbol *s, int i, int j)
{
	if (width < 2 || height < 2)
		return NAN;
	const float *h = s->h;
	int ax = s->anchor_x, ay = s->anchor_y, size = s->size;
	float lo_x = (float)(-ax), hi_x = (float)(width - 1 - ax);
	float lo_y = (float)(-ay), hi_y = (float)(height - 1 - ay);
	float cu = (float)(2 * i + 1 - size) * 0.5f, cv = (float)(2 * j + 1 - size) * 0.5f;
	int side = s->side == 7 ? 7 : s->side == 3 ? 3 : 4;
	const float *off = side == 7 ? wide_offset : side == 3 ? small_offset : narrow_offset;
	const float *wt = side == 7 ? wide_weight : side == 3 ? small_weight : narrow_weight;
	float sum = 0.0f;
	int ok = 1;
	for (int b = 0; b < side; b++)
		for (int a = 0; a < side; a++) {
			float u = cu + off[a], v = cv + off[b];
			float nx = h[0] * u;
			nx = nx + h[1] * v;
			nx = nx + h[2];
			float ny = h[3] * u;
			ny = ny + h[4] * v;
			ny = ny + h[5];
			float w = h[6] * u;
			w = w + h[7] * v;
			w = w + h[8];
			float xr = quotient(nx, w), yr = quotient(ny, w);
			float xs = fminf(fmaxf(xr, lo_x), hi_x), ys = fminf(fmaxf(yr, lo_y), hi_y);
			ok &= xs == xr && ys == yr;
			int x0 = ax + (int)floorf(xs), y0 = ay + (int)floorf(ys);
			if (x0 > width - 2)
				x0 = width - 2;
			if (y0 > height - 2)
				y0 = height - 2;
			float fx = xs - (float)(x0 - ax), fy = ys - (float)(y0 - ay);
			const float *p = in + (size_t)y0 * (size_t)stride + (size_t)x0;
			const float *q = p + stride;
			float top = (1.0f - fx) * p[0] + fx * p[1];
			float bottom = (1.0f - fx) * q[0] + fx * q[1];
			sum += (wt[a] * wt[b]) * ((1.0f - fy) * top + fy * bottom);
		}
	return ok ? sum : NAN;
}

void ref_sample_means(const float *in, int stride, int width, int height,
                      const semqr__sample_symbol *syms, int count, float *out)
{
	for (int k = 0; k < count; k++) {
		const semqr__sample_symbol *s = &syms[k];
		for (int j = 0; j < s->size; j++)
			for (int i = 0; i < s->size; i++)
				out[s->offset + j * s->size + i] =
				    module_mean(in, stride, width, height, s, i, j);
	}
}
