/* The noise of a scan from its own pixels: high-pass samples binned by
 * level, the noise-level function fitted to the bins (contracts and method
 * in pipeline/noise_level.h). Pure C; no state between calls. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "pipeline/noise_level.h"

enum { BANDS = 16, BAND_ROWS = 18, BINS = 16, BIN_MIN = 32 };
#define SAMPLES_MAX (1L << 18)
#define SPAN_MIN 0.1
/* A fitted black level is kept when it lies this many standard errors
 * above 0. */
#define BLACK_SE 3.0
/* The median of a chi-square variable with one degree of freedom: the
 * median of L^2 / (36 s^2) for Gaussian L of variance 36 s^2. */
#define CHI2_1_MEDIAN 0.454936423119572

typedef struct sample {
	float sel;   /* mean of the four pixels (x +- 1, y +- 1): selects the bin */
	float level; /* mean of the two pixels (x +- 1, y): the level measured */
	float var;   /* L^2 / 36 */
} sample;

typedef struct sampler {
	sample *s;
	long n, cap;
} sampler;

static double pixel(const void *p, int bits, size_t i)
{
	return bits == 8 ? (double)((const uint8_t *)p)[i] : (double)((const uint16_t *)p)[i];
}

/* Adds up to `quota` samples of the rows x width image at pix (rows stride
 * pixels apart): the pixels of rows 1 .. rows - 2 and columns 2 .. width -
 * 3 (where the mask fits), taken every step-th in row order. */
static void add_rows(sampler *sp, const void *pix, int bits, int width, int rows, size_t stride,
                     long quota)
{
	if (rows < 3 || width < 5)
		return;
	long iw = width - 4, count = iw * (long)(rows - 2);
	if (quota > sp->cap - sp->n)
		quota = sp->cap - sp->n;
	if (quota <= 0)
		return;
	long step = (count + quota - 1) / quota;
	double scale = 1.0 / (bits == 8 ? 255.0 : 65535.0);
	for (long k = 0; k < count && sp->n < sp->cap; k += step) {
		size_t y = (size_t)(1 + k / iw), x = (size_t)(2 + k % iw);
		double l = 0.0, a = 0.0, m = 0.0;
		for (int j = -1; j <= 1; j++) {
			size_t row = (y + (size_t)(ptrdiff_t)j) * stride;
			double aj = j == 0 ? -2.0 : 1.0;
			l += aj * (pixel(pix, bits, row + x - 2) - 2.0 * pixel(pix, bits, row + x) +
			           pixel(pix, bits, row + x + 2));
			double side = pixel(pix, bits, row + x - 1) + pixel(pix, bits, row + x + 1);
			if (j == 0)
				m = side;
			else
				a += side;
		}
		sp->s[sp->n].sel = (float)(a / 4.0 * scale);
		sp->s[sp->n].level = (float)(m / 2.0 * scale);
		sp->s[sp->n].var = (float)(l * l / 36.0 * scale * scale);
		sp->n++;
	}
}

/* Reorders s[0..n) by sel so that s[k] is the sample of rank k: none
 * before it has a larger sel, none after it a smaller one (Hoare's
 * selection, pivot the median of three; samples equal to the pivot are
 * split between both sides, so runs of equal values cost no more than
 * distinct ones). Expected time linear in n. */
static void select_rank(sample *s, long n, long k)
{
	long lo = 0, hi = n - 1;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		sample t;
#define SWAP(a, b) (t = s[a], s[a] = s[b], s[b] = t)
		if (s[mid].sel < s[lo].sel)
			SWAP(mid, lo);
		if (s[hi].sel < s[lo].sel)
			SWAP(hi, lo);
		if (s[hi].sel < s[mid].sel)
			SWAP(hi, mid);
		float pivot = s[mid].sel;
		long i = lo, j = hi;
		while (i <= j) {
			while (s[i].sel < pivot)
				i++;
			while (s[j].sel > pivot)
				j--;
			if (i <= j) {
				SWAP(i, j);
				i++;
				j--;
			}
		}
#undef SWAP
		/* s[lo..j] <= pivot <= s[i..hi], and s[j + 1..i - 1] = pivot */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/* Reorders s[0..n) by sel into `bins` runs of consecutive ranks: run b holds
 * ranks n b / bins .. n (b + 1) / bins - 1, as a sort would place them.
 * Only the run boundaries from b0 to b1 are placed here (the whole range:
 * b0 = 0, b1 = bins), each by selection within the runs' span, halving. */
static void split_runs(sample *s, long n, int bins, int b0, int b1)
{
	if (b1 - b0 < 2)
		return;
	int bm = (b0 + b1) / 2;
	long lo = n * b0 / bins, hi = n * b1 / bins;
	select_rank(s + lo, hi - lo, n * bm / bins - lo);
	split_runs(s, n, bins, b0, bm);
	split_runs(s, n, bins, bm, b1);
}

/* The median of the values v[0..n), n >= 1, held in the sel field
 * (reorders v). */
static double median(sample *v, long n)
{
	select_rank(v, n, n / 2);
	if (n % 2)
		return v[n / 2].sel;
	float below = v[0].sel; /* the largest of ranks 0 .. n / 2 - 1 */
	for (long i = 1; i < n / 2; i++)
		below = v[i].sel > below ? v[i].sel : below;
	return 0.5 * ((double)below + (double)v[n / 2].sel);
}

/* Fits the noise-level function to sp's samples (reordering them); tmp
 * holds sp->n samples. */
static void fit(sampler *sp, sample *tmp, semqr__noise_level *out)
{
	memset(out, 0, sizeof *out);
	long n = sp->n;
	if (n == 0)
		return;
	int bins = n / BIN_MIN < BINS ? (int)(n / BIN_MIN) : BINS;
	if (bins < 1)
		bins = 1;
	split_runs(sp->s, n, bins, 0, bins);
	double lv[BINS], vr[BINS];
	for (int b = 0; b < bins; b++) {
		long lo = n * b / bins, hi = n * (b + 1) / bins;
		double sum = 0.0;
		for (long i = lo; i < hi; i++)
			sum += sp->s[i].level;
		lv[b] = sum / (double)(hi - lo);
		for (long i = lo; i < hi; i++)
			tmp[i - lo].sel = sp->s[i].var;
		vr[b] = median(tmp, hi - lo) / CHI2_1_MEDIAN;
	}
	for (long i = 0; i < n; i++)
		tmp[i].sel = sp->s[i].level;
	out->samples = n;
	out->level = median(tmp, n);

	/* var = g v + c, weighted by 1 / var^2, scaled by the residuals; then
	 * b = -c / g and its standard error by the propagation of errors. */
	double sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
	int used = 0;
	for (int b = 0; b < bins; b++) {
		if (!(vr[b] > 0.0))
			continue;
		double w = 1.0 / (vr[b] * vr[b]);
		sw += w;
		sx += w * lv[b];
		sy += w * vr[b];
		sxx += w * lv[b] * lv[b];
		sxy += w * lv[b] * vr[b];
		used++;
	}
	double det = sw * sxx - sx * sx;
	if (used >= 3 && det > 0.0 && lv[bins - 1] - lv[0] >= SPAN_MIN * out->level) {
		double g = (sw * sxy - sx * sy) / det, c = (sy - g * sx) / sw, ss = 0.0;
		for (int b = 0; b < bins; b++)
			if (vr[b] > 0.0)
				ss += (vr[b] - g * lv[b] - c) * (vr[b] - g * lv[b] - c) /
				      (vr[b] * vr[b]);
		double s2 = ss / (used - 2), bl = g > 0.0 ? -c / g : 0.0;
		double var_b = s2 * (sxx + 2.0 * bl * sx + bl * bl * sw) / det / (g * g);
		if (g > 0.0 && bl < lv[0] && bl > BLACK_SE * sqrt(var_b)) {
			out->fitted = 1;
			out->gain = g;
			out->black = bl;
		}
	}
	if (!out->fitted && sxx > 0.0) {
		/* Black at 0: var = g v through the origin. */
		out->gain = sxy / sxx > 0.0 ? sxy / sxx : 0.0;
		out->black = 0.0;
	}
	double var = out->gain * (out->level - out->black);
	out->sd = var > 0.0 ? sqrt(var) : 0.0;
	out->quanta = semqr__noise_quanta_at(out, out->level);
}

double semqr__noise_quanta_at(const semqr__noise_level *n, double level)
{
	if (!(n->gain > 0.0))
		return n->samples > 0 ? INFINITY : 0.0;
	return level > n->black ? (level - n->black) / n->gain : 0.0;
}

static semqr_status sampler_init(sampler *sp, long cap, sample **tmp, semqr_error *err)
{
	sp->n = 0;
	sp->cap = cap;
	sp->s = malloc((size_t)cap * sizeof *sp->s);
	*tmp = malloc((size_t)cap * sizeof **tmp);
	if (!sp->s || !*tmp) {
		free(sp->s);
		free(*tmp);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "noise estimate: %ld samples", cap);
	}
	return SEMQR_OK;
}

semqr_status semqr__noise_from_rows(const void *pixels, int bits, int width, int height,
                                    size_t stride, semqr__noise_level *out, semqr_error *err)
{
	memset(out, 0, sizeof *out);
	if ((bits != 8 && bits != 16) || stride < (size_t)width || width < 0 || height < 0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "noise estimate: %d x %d image of %d bits, stride %zu (8 or 16 "
		                   "bits, stride >= width)",
		                   width, height, bits, stride);
	sampler sp;
	sample *tmp;
	semqr_status st = sampler_init(&sp, SAMPLES_MAX, &tmp, err);
	if (st != SEMQR_OK)
		return st;
	add_rows(&sp, pixels, bits, width, height, stride, SAMPLES_MAX);
	fit(&sp, tmp, out);
	free(sp.s);
	free(tmp);
	return SEMQR_OK;
}

semqr_status semqr__noise_measure(semqr_scan *scan, int page, semqr__noise_level *out,
                                  semqr_error *err)
{
	memset(out, 0, sizeof *out);
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	int rows = info.height < BAND_ROWS ? info.height : BAND_ROWS;
	int bands = rows > 0 ? info.height / rows : 0;
	if (bands > BANDS)
		bands = BANDS;
	if (bands == 0 || info.width < 5 || rows < 3)
		return SEMQR_OK;
	size_t bytes = (size_t)info.bits / 8;
	void *band = malloc((size_t)rows * (size_t)info.width * bytes);
	sampler sp;
	sample *tmp = NULL;
	semqr_status st =
	    band ? sampler_init(&sp, SAMPLES_MAX, &tmp, err)
	         : semqr__fail(err, SEMQR_ERR_NO_MEMORY, "noise estimate: a band of %d x %d pixels",
	                       info.width, rows);
	if (st != SEMQR_OK) {
		free(band);
		return st;
	}
	for (int k = 0; k < bands && st == SEMQR_OK; k++) {
		/* Band k centred on the middle of the k-th of `bands` equal parts. */
		long y0 = ((2L * k + 1) * info.height) / (2L * bands) - rows / 2;
		y0 = y0 < 0 ? 0 : y0 > info.height - rows ? info.height - rows : y0;
		semqr_error e;
		st = semqr_scan_read_rows(scan, page, (int)y0, rows, band, (size_t)info.width, &e);
		if (st != SEMQR_OK)
			semqr__fail(err, st, "noise estimate: rows %ld..%ld: %s", y0, y0 + rows - 1,
			            e.message);
		else
			add_rows(&sp, band, info.bits, info.width, rows, (size_t)info.width,
			         SAMPLES_MAX / bands);
	}
	if (st == SEMQR_OK)
		fit(&sp, tmp, out);
	free(band);
	free(sp.s);
	free(tmp);
	return st;
}
