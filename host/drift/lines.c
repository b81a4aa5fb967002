/* Scan-line shift correction (contracts and the model in drift/lines.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "drift/lines.h"

/* Lucas-Kanade steps per line in the integer sweeps, and the largest step
 * taken. */
#define LK_STEPS 2
#define LK_STEP_MAX 1.0
/* A line whose mean squared gradient is below this (grey levels squared,
 * native scale) carries no edge to measure. */
#define GRADIENT_MIN 1e-3
/* Estimates use the lines smoothed along x by a box of 2 SMOOTH + 1 pixels,
 * which keeps module edges (modules span several pixels) and cuts the shot
 * noise that would otherwise drive the estimates on lines without edges. */
#define SMOOTH 2
/* The half-width, in lines, of the neighbourhood that predicts a line in
 * each sweep (the last one repeats for further sweeps): wide first, so that
 * strong jitter averages out of the prediction, then narrow, for detail. */
static const int sweep_half[] = {4,3,2,1};
/* Sweeps that search integer shifts before the Lucas-Kanade steps. */
#define INTEGER_SWEEPS 2
/* The detection threshold of an integer shift, in deviations of the
 * gradient correlation (see best_integer). */
#define INTEGER_Z 5.0
/* A Lucas-Kanade step d is shrunk by d^2 / (d^2 + (LK_SIGMAS sigma)^2),
 * sigma its standard error from the residual, so that steps the noise
 * could explain are not taken. */
#define LK_SIGMAS 1.5

struct semqr__lines {
	int max_width, bits, max_shift, max_lines;
	int width;      /* of the block being corrected */
	float *orig;    /* the block's lines as read, max_lines x width */
	float *cur;     /* the lines as currently shifted */
	float *sorig;   /* the lines as read, smoothed along x */
	float *scur;    /* the smoothed lines as currently shifted */
	float *pred;    /* the prediction of one line */
	float *tmp;     /* one line resampled, or its gradient */
	float *grad;    /* the prediction's gradient */
	double *shift;  /* accumulated shift of each line */
	semqr__lines_stats stats;
};

size_t semqr__lines_bytes(int width, int max_lines)
{
	return (size_t)width * ((size_t)max_lines * 4 + 3) * sizeof(float) +
	       (size_t)max_lines * sizeof(double);
}

semqr_status semqr__lines_create(int width, int bits, int max_shift, int max_lines,
                                 semqr__lines **out, semqr_error *err)
{
	*out = NULL;
	if (width < 8 || (bits != 8 && bits != 16) || max_shift < 1 ||
	    max_shift > SEMQR__LINES_SHIFT_MAX || max_lines < 1 || 2 * max_shift + 2 > width)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "line shift correction: lines of %d pixels at %d bits, shifts up to "
		                   "%d px (1..%d, under half the width), blocks of %d lines",
		                   width, bits, max_shift, SEMQR__LINES_SHIFT_MAX, max_lines);
	semqr__lines *c = calloc(1, sizeof *c);
	if (!c)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "line shift correction: out of memory");
	size_t n = (size_t)width * (size_t)max_lines;
	c->orig = malloc(n * sizeof *c->orig);
	c->cur = malloc(n * sizeof *c->cur);
	c->sorig = malloc(n * sizeof *c->sorig);
	c->scur = malloc(n * sizeof *c->scur);
	c->pred = malloc((size_t)width * sizeof *c->pred);
	c->tmp = malloc((size_t)width * sizeof *c->tmp);
	c->grad = malloc((size_t)width * sizeof *c->grad);
	c->shift = malloc((size_t)max_lines * sizeof *c->shift);
	if (!c->orig || !c->cur || !c->sorig || !c->scur || !c->pred || !c->tmp || !c->grad ||
	    !c->shift) {
		semqr__lines_destroy(c);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "line shift correction: no memory for %d lines of %d pixels",
		                   max_lines, width);
	}
	c->max_width = c->width = width;
	c->bits = bits;
	c->max_shift = max_shift;
	c->max_lines = max_lines;
	*out = c;
	return SEMQR_OK;
}

void semqr__lines_destroy(semqr__lines *c)
{
	if (!c)
		return;
	free(c->orig);
	free(c->cur);
	free(c->sorig);
	free(c->scur);
	free(c->pred);
	free(c->tmp);
	free(c->grad);
	free(c->shift);
	free(c);
}

semqr__lines_stats semqr__lines_get_stats(const semqr__lines *c)
{
	return c->stats;
}

/* out(x) = in(x + s), linear interpolation, edge pixels replicated. */
static void resample(const float *in, int w, double s, float *out)
{
	double fl = floor(s);
	int k = (int)fl;
	float t = (float)(s - fl);
	for (int x = 0; x < w; x++) {
		int a = x + k, b = a + 1;
		a = a < 0 ? 0 : a >= w ? w - 1 : a;
		b = b < 0 ? 0 : b >= w ? w - 1 : b;
		out[x] = in[a] + (in[b] - in[a]) * t;
	}
}

/* The prediction of line i: the mean of the lines i - half .. i + half but
 * i itself, within the block, as currently shifted. Returns 0 when line i
 * has no neighbour. */
static int predict(semqr__lines *c, int i, int count, int half)
{
	size_t w = (size_t)c->width;
	int a = i - half < 0 ? 0 : i - half, b = i + half >= count ? count - 1 : i + half;
	if (b - a < 1)
		return 0;
	memset(c->pred, 0, w * sizeof *c->pred);
	for (int k = a; k <= b; k++) {
		if (k == i)
			continue;
		const float *l = c->scur + (size_t)k * w;
		for (size_t x = 0; x < w; x++)
			c->pred[x] += l[x];
	}
	float inv = 1.0f / (float)(b - a);
	for (size_t x = 0; x < w; x++)
		c->pred[x] *= inv;
	return 1;
}

/* The integer k in -max_shift .. max_shift that best lines up the edges
 * of a(x + k) with those of the prediction: the largest cross-correlation
 * C(k) = sum g_a(x + k) g_t(x) of their gradients over the pixels every k
 * keeps inside the line. Noise gradients do not correlate, so C(k) over a
 * line without edges is noise of deviation about sqrt(sum g_a^2 g_t^2);
 * the best k is taken only when C exceeds INTEGER_Z such deviations, else
 * 0. Edges dominate C wherever the line crosses a symbol, even when most of
 * the line is quiet zone. */
static int best_integer(semqr__lines *c, const float *a)
{
	int w = c->width, r = c->max_shift, best = 0;
	float *ga = c->tmp, *gt = c->grad;
	for (int x = 1; x < w - 1; x++) {
		ga[x] = a[x + 1] - a[x - 1];
		gt[x] = c->pred[x + 1] - c->pred[x - 1];
	}
	double best_c = -INFINITY, best_var = 1.0, c0 = 0.0, var0 = 0.0;
	for (int k = -r; k <= r; k++) {
		double cc = 0.0, var = 0.0;
		for (int x = r + 1; x < w - r - 1; x++) {
			double p = (double)ga[x + k] * (double)gt[x];
			cc += p;
			var += p * p;
		}
		if (k == 0) {
			c0 = cc;
			var0 = var;
		}
		if (cc > best_c || (cc == best_c && abs(k) < abs(best))) {
			best_c = cc;
			best_var = var;
			best = k;
		}
	}
	/* The best k must beat no shift by more than noise could. */
	return best_c - c0 > INTEGER_Z * sqrt(best_var + var0) ? best : 0;
}

/* One Lucas-Kanade step: the shift d making a(x + d) closest to the
 * prediction t to first order, shrunk by its standard error (see
 * LK_SIGMAS), or 0 when a has no gradient to speak of. With r = t - a and
 * g the gradient: d = sum g r / sum g^2, sigma^2 = var(r - d g) / sum g^2. */
static double lk_step(const semqr__lines *c, const float *a)
{
	int w = c->width;
	double sgr = 0.0, sgg = 0.0, srr = 0.0;
	for (int x = 1; x < w - 1; x++) {
		double g = 0.5 * ((double)a[x + 1] - (double)a[x - 1]);
		double r = (double)c->pred[x] - (double)a[x];
		sgr += g * r;
		sgg += g * g;
		srr += r * r;
	}
	if (sgg < GRADIENT_MIN * (w - 2))
		return 0.0;
	double d = sgr / sgg;
	double residual = fmax(srr - d * sgr, 0.0) / (w - 3);
	double var = residual / sgg;
	d *= d * d / (d * d + LK_SIGMAS * LK_SIGMAS * var);
	return d > LK_STEP_MAX ? LK_STEP_MAX : d < -LK_STEP_MAX ? -LK_STEP_MAX : d;
}

/* Moves line i to shift s (clamped to +-max_shift). */
static void set_shift(semqr__lines *c, int i, double s)
{
	double m = c->max_shift;
	c->shift[i] = s > m ? m : s < -m ? -m : s;
	size_t w = (size_t)c->width, o = (size_t)i * w;
	resample(c->orig + o, c->width, c->shift[i], c->cur + o);
	resample(c->sorig + o, c->width, c->shift[i], c->scur + o);
}

/* out = in smoothed by the box of 2 SMOOTH + 1 pixels, the box shrunk at
 * the ends of the line. */
static void smooth(const float *in, int w, float *out)
{
	for (int x = 0; x < w; x++) {
		int a = x - SMOOTH < 0 ? 0 : x - SMOOTH, b = x + SMOOTH >= w ? w - 1 : x + SMOOTH;
		float sum = 0.0f;
		for (int k = a; k <= b; k++)
			sum += in[k];
		out[x] = sum / (float)(b - a + 1);
	}
}

static void load(semqr__lines *c, const void *data, size_t stride, int count)
{
	size_t w = (size_t)c->width;
	for (int i = 0; i < count; i++) {
		float *o = c->orig + (size_t)i * w;
		if (c->bits == 8) {
			const uint8_t *p = (const uint8_t *)data + (size_t)i * stride;
			for (size_t x = 0; x < w; x++)
				o[x] = p[x];
		} else {
			const uint16_t *p = (const uint16_t *)data + (size_t)i * stride;
			for (size_t x = 0; x < w; x++)
				o[x] = p[x];
		}
		c->shift[i] = 0.0;
		smooth(o, c->width, c->sorig + (size_t)i * w);
	}
	memcpy(c->cur, c->orig, (size_t)count * w * sizeof *c->cur);
	memcpy(c->scur, c->sorig, (size_t)count * w * sizeof *c->scur);
}

static void store(const semqr__lines *c, void *data, size_t stride, int from, int count)
{
	size_t w = (size_t)c->width;
	float top = c->bits == 8 ? 255.0f : 65535.0f;
	for (int i = from; i < count; i++) {
		const float *v = c->cur + (size_t)i * w;
		if (c->bits == 8) {
			uint8_t *p = (uint8_t *)data + (size_t)i * stride;
			for (size_t x = 0; x < w; x++)
				p[x] = (uint8_t)(v[x] < 0.0f ? 0.0f : v[x] > top ? top : v[x] + 0.5f);
		} else {
			uint16_t *p = (uint16_t *)data + (size_t)i * stride;
			for (size_t x = 0; x < w; x++)
				p[x] = (uint16_t)(v[x] < 0.0f ? 0.0f : v[x] > top ? top : v[x] + 0.5f);
		}
	}
}

/* The shift d making a(x + d) closest to the line in c->pred: an integer
 * search, then LK_STEPS Lucas-Kanade steps on a resampled into c->tmp. */
static double align(semqr__lines *c, const float *a)
{
	double d = best_integer(c, a);
	const float *cur = a;
	for (int step = 0; step < LK_STEPS; step++) {
		if (d != 0.0) {
			resample(a, c->width, d, c->tmp);
			cur = c->tmp;
		}
		double e = lk_step(c, cur);
		if (e == 0.0)
			break;
		d += e;
	}
	return d;
}

void semqr__lines_correct(semqr__lines *c, void *data, size_t stride, int width, int count,
                          int fixed, int sweeps, double *shifts)
{
	if (count > c->max_lines)
		count = c->max_lines;
	if (fixed >= count || width > c->max_width || 2 * c->max_shift + 2 > width)
		return;
	c->width = width;
	load(c, data, stride, count);
	size_t w = (size_t)c->width;
	int last = (int)(sizeof sweep_half / sizeof sweep_half[0]) - 1;
	for (int s = 0; s < sweeps; s++)
		for (int i = fixed; i < count; i++) {
			if (!predict(c, i, count, sweep_half[s < last ? s : last]))
				continue;
			const float *a = c->scur + (size_t)i * w;
			double d = s < INTEGER_SWEEPS ? align(c, a) : lk_step(c, a);
			if (d != 0.0)
				set_shift(c, i, c->shift[i] + d);
		}
	store(c, data, stride, fixed, count);
	for (int i = fixed; i < count; i++) {
		double s = c->shift[i];
		if (shifts)
			shifts[i - fixed] = s;
		c->stats.lines++;
		c->stats.sum_sq += s * s;
		c->stats.max_abs = fmax(c->stats.max_abs, fabs(s));
	}
}
