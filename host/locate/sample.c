/* The CPU soft sampler: module means from a grid of bilinear samples, turned
 * into p(set) with levels learnt from the symbol's known function modules
 * (contract in locate.h). */
#include <math.h>
#include <string.h>

#include "locate/locate.h"
#include "qr/qr_internal.h"

/* Module value: mean of SUB x SUB bilinear samples at these offsets from
 * the module centre, in modules. */
#define SUB 3
static const double sub_offset[SUB] = {-0.25, 0.0, 0.25};

/* Mean grey of module (i, j), or NAN when a sample leaves the image. */
static double module_mean(const semqr__grey_image *img, const double h[9], int i, int j)
{
	if (img->width < 2 || img->height < 2)
		return NAN;
	double sum = 0.0;
	for (int b = 0; b < SUB; b++)
		for (int a = 0; a < SUB; a++) {
			double x, y;
			semqr__homography_apply(h, i + 0.5 + sub_offset[a], j + 0.5 + sub_offset[b], &x,
			                        &y);
			if (!(x >= 0.0 && y >= 0.0 && x <= img->width - 1 && y <= img->height - 1))
				return NAN;
			int x0 = (int)x, y0 = (int)y;
			if (x0 > img->width - 2)
				x0 = img->width - 2;
			if (y0 > img->height - 2)
				y0 = img->height - 2;
			double fx = x - x0, fy = y - y0;
			const float *p = img->data + (size_t)y0 * (size_t)img->stride + (size_t)x0;
			const float *q = p + img->stride;
			sum += (1.0 - fy) * ((1.0 - fx) * p[0] + fx * p[1])
			       + fy * ((1.0 - fx) * q[0] + fx * q[1]);
		}
	return sum / (SUB * SUB);
}

/* Marks in known[] the function modules whose values do not depend on the
 * data, format or version information, with their values in ref->modules. */
static void known_modules(int version, semqr_symbol *ref, uint8_t *known)
{
	int size = 17 + 4 * version;
	memset(ref, 0, sizeof *ref);
	ref->version = version;
	ref->size = size;
	ref->ecc = SEMQR_ECC_L;
	ref->mask = 0;
	semqr__draw_function_patterns(ref);
	semqr__function_map(version, known);
	int pos1[18], pos2[18];
	semqr__format_positions(version, pos1, pos2);
	for (int k = 0; k < 15; k++)
		known[pos1[k]] = known[pos2[k]] = 0;
	if (version >= 7) {
		semqr__version_positions(version, pos1, pos2);
		for (int k = 0; k < 18; k++)
			known[pos1[k]] = known[pos2[k]] = 0;
	}
}

void semqr__sample_module_means(const semqr__grey_image *img, const semqr__located *loc,
                                float *means)
{
	int size = loc->size;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++)
			means[j * size + i] = (float)module_mean(img, loc->h, i, j);
}

void semqr__soft_from_means(int version, const float *means, float *dark)
{
	int size = 17 + 4 * version, n = size * size;
	semqr_symbol ref;
	uint8_t known[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	known_modules(version, &ref, known);
	double sum[2] = {0.0, 0.0}, sq[2] = {0.0, 0.0};
	int cnt[2] = {0, 0};
	for (int k = 0; k < n; k++)
		if (known[k] && isfinite(means[k])) {
			int c = ref.modules[k] ? 1 : 0;
			sum[c] += means[k];
			sq[c] += (double)means[k] * means[k];
			cnt[c]++;
		}
	double mu0 = cnt[0] ? sum[0] / cnt[0] : 0.0, mu1 = cnt[1] ? sum[1] / cnt[1] : 0.0;
	double var = cnt[0] >= 2 && cnt[1] >= 2
	             ? (sq[0] - sum[0] * mu0 + sq[1] - sum[1] * mu1) / (cnt[0] + cnt[1] - 2)
	             : 0.0;
	double diff = mu1 - mu0, mid = 0.5 * (mu0 + mu1);
	/* A floor on the spread keeps a noiseless image finite (p saturates). */
	double floor_var = 1e-4 * diff * diff;
	if (var < floor_var)
		var = floor_var;
	int separated = cnt[0] >= 2 && cnt[1] >= 2 && diff * diff > var / 16.0 && var > 0.0;
	double slope = separated ? diff / var : 0.0;
	for (int k = 0; k < n; k++) {
		if (!separated || !isfinite(means[k]))
			dark[k] = 0.5f;
		else
			dark[k] = (float)(1.0 / (1.0 + exp(-slope * (means[k] - mid))));
	}
}

void semqr__sample_soft(const semqr__grey_image *img, const semqr__located *loc, float *dark)
{
	semqr__sample_module_means(img, loc, dark);
	semqr__soft_from_means(loc->version, dark, dark);
}
