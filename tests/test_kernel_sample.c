/* The sample stage (kernels/sample.cl through semqr__stage_sample) against
 * its C reference (support/ref_sample.c), against the CPU sampler it stands
 * for (semqr__sample_module_means, in double), against values known in closed
 * form, and end to end through the decoder.
 *
 * Tolerances. Device and reference run the same float operations, so they
 * must have the same NaN pattern and means within 1e-4 of the image's range:
 * the only difference the kernel allows is a division not correctly rounded
 * whose fma refinement lands across a halfway point (sample.cl), a 1-ulp
 * change of a coordinate below 1024 pixels, i.e. at most 6.1e-5 pixel, and
 * a bilinear value moves by at most its range per pixel. Against the double
 * CPU sampler the float homography itself rounds: see test_vs_cpu_sampler.
 * Random numbers are seeded; trial counts are stated per test. Needs an
 * OpenCL device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semqr/qr.h"
#include "support/ref.h"
#include "support/ref_sample.h"

#define SENTINEL (-7.0f)
#define PI 3.14159265358979323846

static semqr__cl_context *ctx;

static int setup(void **state)
{
	ctx = ref_cl_open();
	return ctx ? 0 : -1;
}

static int teardown(void **state)
{
	semqr__cl_context_destroy(ctx);
	return 0;
}

/* ---- homographies and symbols ------------------------------------------ */

static void mat3_mul(const double a[9], const double b[9], double out[9])
{
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			out[r * 3 + c] =
			    a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
}

/* The module -> pixel map of a symbol of `size` modules: pitch s pixels,
 * turned by t, mirrored when `mirror`, perspective (p, q) (w = 1 + (p u' +
 * q v') / size about the centre, so |p|, |q| < 1 keep w > 0 on the symbol),
 * its centre at pixel (cx, cy). */
static void homography(int size, double s, double t, int mirror, double p, double q, double cx,
                       double cy, double h[9])
{
	double c = 0.5 * size, m = mirror ? -1.0 : 1.0;
	const double centre[9] = {1.0, 0.0, -c, 0.0, 1.0, -c, 0.0, 0.0, 1.0};
	const double persp[9] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, p / size, q / size, 1.0};
	const double place[9] = {
	    s * cos(t), -m * s * sin(t), cx, s * sin(t), m * s * cos(t), cy, 0.0, 0.0, 1.0};
	double tmp[9];
	mat3_mul(persp, centre, tmp);
	mat3_mul(place, tmp, h);
}

static void located(int version, const double h[9], semqr__located *loc)
{
	memset(loc, 0, sizeof *loc);
	loc->version = version;
	loc->size = 17 + 4 * version;
	memcpy(loc->h, h, sizeof loc->h);
}

/* A random symbol of the given version for a w x h window: pitch 0.3 to 6
 * pixels, any turn, either handedness, perspective up to 0.3, centre anywhere
 * within half a window of the window (so that many symbols cross a border or
 * lie outside). */
static void random_symbol(ref_rng *rng, int version, int w, int h, semqr__located *loc)
{
	int size = 17 + 4 * version;
	double hh[9];
	homography(size, 0.3 + 5.7 * ref_rng_uniform(rng), 2.0 * PI * ref_rng_uniform(rng),
	           (int)(ref_rng_u32(rng) & 1), 0.6 * ref_rng_uniform(rng) - 0.3,
	           0.6 * ref_rng_uniform(rng) - 0.3, (2.0 * ref_rng_uniform(rng) - 0.5) * w,
	           (2.0 * ref_rng_uniform(rng) - 0.5) * h, hh);
	located(version, hh, loc);
}

/* ---- running the stage --------------------------------------------------- */

/* A float window of w x h (3 spare columns of stride, a halo of 1 so that
 * the origin is not 0) filled with uniform values in [0, range). */
static void random_image(ref_rng *rng, int w, int h, float range, ref_image *im)
{
	assert_int_equal(ref_image_init(im, sizeof(float), w, h, 1, 3), 0);
	for (size_t i = 0; i < im->count; i++)
		((float *)im->data)[i] = range * ref_rng_uniform(rng);
}

/* Runs the stage on window im for syms[0..count) and returns the
 * semqr__sample_total means, checking that nothing past them was written. */
static float *run_device(const ref_image *im, const semqr__located *syms, int count)
{
	size_t total = semqr__sample_total(syms, count), spare = 9;
	float *means = malloc((total + spare) * sizeof *means);
	assert_non_null(means);
	for (size_t i = 0; i < total + spare; i++)
		means[i] = SENTINEL;
	semqr__plane plane;
	cl_mem in = ref_image_upload(ctx, im, &plane);
	cl_mem out = ref_cl_buffer(ctx, (total + spare) * sizeof *means, means);
	assert_non_null(in);
	assert_non_null(out);
	semqr_error err;
	semqr_status st = semqr__stage_sample(ctx, &plane, syms, count, out, &err);
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err.message);
	assert_int_equal(st, SEMQR_OK);
	assert_int_equal(ref_cl_read(ctx, out, (total + spare) * sizeof *means, means), 0);
	for (size_t i = total; i < total + spare; i++)
		assert_true(means[i] == SENTINEL);
	clReleaseMemObject(in);
	clReleaseMemObject(out);
	return means;
}

/* Counts over a comparison, to show that a test saw both kinds of module. */
typedef struct tally {
	long finite, missing;
	double max_diff; /* largest |device - other| / range */
} tally;

/* Device against the C reference for syms on im (values within [0, range)):
 * identical NaN pattern, means within 1e-4 range. */
static void compare_reference(const ref_image *im, const semqr__located *syms, int count,
                              float range, tally *t)
{
	size_t total = semqr__sample_total(syms, count);
	semqr__sample_symbol *recs = malloc((size_t)count * sizeof *recs);
	float *ref = malloc(total * sizeof *ref);
	assert_non_null(recs);
	assert_non_null(ref);
	int offset = 0;
	for (int k = 0; k < count; k++) {
		semqr__sample_symbol_init(syms[k].h, syms[k].size, offset, im->w, im->h, &recs[k]);
		offset += syms[k].size * syms[k].size;
	}
	ref_sample_means(ref_image_at(im, 0, 0), im->stride, im->w, im->h, recs, count, ref);
	float *dev = run_device(im, syms, count);
	for (size_t i = 0; i < total; i++) {
		if (isnan(ref[i]) || isnan(dev[i])) {
			if (!(isnan(ref[i]) && isnan(dev[i]))) {
				fprintf(stderr, "%d x %d: mean %zu device %.9g reference %.9g\n",
				        im->w, im->h, i, (double)dev[i], (double)ref[i]);
				fail();
			}
			t->missing++;
			continue;
		}
		double d = fabs((double)dev[i] - ref[i]) / range;
		if (d > t->max_diff)
			t->max_diff = d;
		if (!(d <= 1e-4)) {
			fprintf(stderr, "%d x %d: mean %zu device %.9g reference %.9g\n", im->w,
			        im->h, i, (double)dev[i], (double)ref[i]);
			fail();
		}
		t->finite++;
	}
	free(dev);
	free(ref);
	free(recs);
}

/* ---- device against the reference ---------------------------------------- */

/* Random windows of odd shapes (1 x 1 and 2 x 2, where every module is
 * missing, thin strips, a larger square) with values of range 1 and 65535
 * (a 16-bit scan's grey levels, as float), each with 1 to 12 symbols of random
 * versions 1..40 and random placement, many across the borders: 8 shapes x 2
 * ranges x 3 trials = 48 launches. Both finite and missing modules occur. */
static void test_random_vs_reference(void **state)
{
	static const int shapes[][2] = {{1, 1},    {2, 2}, {37, 53},  {1023, 7},
	                                {7, 1023}, {3, 2}, {130, 97}, {512, 509}};
	static const float ranges[] = {1.0f, 65535.0f};
	ref_rng rng;
	ref_rng_seed(&rng, 11);
	tally t = {0, 0, 0.0};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (size_t r = 0; r < 2; r++)
			for (int trial = 0; trial < 3; trial++) {
				int w = shapes[s][0], h = shapes[s][1];
				ref_image im;
				random_image(&rng, w, h, ranges[r], &im);
				semqr__located syms[12];
				int count = 1 + (int)(ref_rng_u32(&rng) % 12);
				for (int k = 0; k < count; k++)
					random_symbol(&rng, 1 + (int)(ref_rng_u32(&rng) % 40), w, h,
					              &syms[k]);
				compare_reference(&im, syms, count, ranges[r], &t);
				free(im.data);
			}
	printf("reference: %ld finite, %ld missing, max |diff| %.3g range\n", t.finite, t.missing,
	       t.max_diff);
	assert_true(t.finite > 10000 && t.missing > 10000);
}

/* 200 symbols of version 3 in one launch on a 1021 x 517 window, pitch 1 to
 * 4 pixels, centres anywhere from a symbol outside each border inwards (about
 * a tenth cross a border): 2 seeds. */
static void test_many_symbols(void **state)
{
	enum { COUNT = 200, W = 1021, H = 517 };
	static semqr__located syms[COUNT];
	ref_rng rng;
	ref_rng_seed(&rng, 12);
	tally t = {0, 0, 0.0};
	for (int trial = 0; trial < 2; trial++) {
		ref_image im;
		random_image(&rng, W, H, 1.0f, &im);
		for (int k = 0; k < COUNT; k++) {
			double hh[9];
			homography(29, 1.0 + 3.0 * ref_rng_uniform(&rng),
			           2.0 * PI * ref_rng_uniform(&rng), 0, 0.2 * ref_rng_uniform(&rng),
			           0.0, -60.0 + (W + 120.0) * ref_rng_uniform(&rng),
			           -60.0 + (H + 120.0) * ref_rng_uniform(&rng), hh);
			located(3, hh, &syms[k]);
		}
		compare_reference(&im, syms, COUNT, 1.0f, &t);
		free(im.data);
	}
	printf("200 symbols: %ld finite, %ld missing, max |diff| %.3g\n", t.finite, t.missing,
	       t.max_diff);
	assert_true(t.finite > 100000 && t.missing > 1000);
}

/* Every version 1..40 once, in one launch (so the symbol search meets every
 * size), in a shuffled order, on a 1023 x 1021 window of range 1: 2 seeds. */
static void test_all_versions(void **state)
{
	enum { W = 1023, H = 1021 };
	ref_rng rng;
	ref_rng_seed(&rng, 16);
	tally t = {0, 0, 0.0};
	for (int trial = 0; trial < 2; trial++) {
		int order[40];
		for (int v = 0; v < 40; v++)
			order[v] = v + 1;
		for (int v = 39; v > 0; v--) {
			int o = (int)(ref_rng_u32(&rng) % (uint32_t)(v + 1)), tmp = order[v];
			order[v] = order[o];
			order[o] = tmp;
		}
		ref_image im;
		random_image(&rng, W, H, 1.0f, &im);
		semqr__located syms[40];
		for (int k = 0; k < 40; k++)
			random_symbol(&rng, order[k], W, H, &syms[k]);
		compare_reference(&im, syms, 40, 1.0f, &t);
		free(im.data);
	}
	printf("versions 1..40: %ld finite, %ld missing, max |diff| %.3g\n", t.finite, t.missing,
	       t.max_diff);
	assert_true(t.finite > 10000 && t.missing > 10000);
}

/* ---- device against the CPU sampler ---------------------------------------- */

/* The per-axis offsets of footprint `side` (the contract in locate.h) into
 * off; returns side. */
static int footprint_offsets(int side, double off[7])
{
	static const double wide[7] = {-0.46875, -0.3125, -0.15625, 0.0, 0.15625, 0.3125, 0.46875};
	static const double narrow[4] = {-0.28125, -0.09375, 0.09375, 0.28125};
	static const double small[3] = {-0.25, 0.0, 0.25};
	memcpy(off, side == 7 ? wide : side == 4 ? narrow : small, (size_t)side * sizeof *off);
	return side;
}

/* Whether some sample of module (i, j) of loc lies, in double, within `eps`
 * pixels of the border of a w x h window. */
static int near_border(const semqr__located *loc, int i, int j, int w, int h, double eps)
{
	double off[7];
	int n = footprint_offsets(semqr__sample_side(loc->h, loc->size), off);
	for (int b = 0; b < n; b++)
		for (int a = 0; a < n; a++) {
			double x, y;
			semqr__homography_apply(loc->h, i + 0.5 + off[a], j + 0.5 + off[b], &x, &y);
			if (fabs(x) < eps || fabs(y) < eps || fabs(x - (w - 1)) < eps ||
			    fabs(y - (h - 1)) < eps)
				return 1;
		}
	return 0;
}

/* Device (float) against semqr__sample_module_means (double) on random
 * images: 2 window shapes x 20 random symbols of versions 1..40 (pitch 0.3
 * to 6 pixels, so up to about 1060 pixels across, all three footprints;
 * each is asserted to occur), values in [0, 1).
 * A sample's float position is off by a few ulps of the recentred terms,
 * whose size is the symbol's extent from its anchor, below 1024 pixels here:
 * 2^-24 * 1024 = 6.1e-5 pixel per rounding, about six roundings in a
 * coordinate (the coefficients' own rounding, two products, two sums and
 * the quotient), partly cancelling over the samples (the weights' float
 * rounding adds below 1e-7 relative); a bilinear value on white noise moves
 * by up to its range per pixel. So |device - CPU| <= 4e-4 range, and the
 * NaN patterns agree except for modules with a sample within 1e-3 pixel of
 * the border (counted; a few at most). */
static void test_vs_cpu_sampler(void **state)
{
	static const int shapes[][2] = {{777, 613}, {1023, 7}};
	static float means[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	ref_rng rng;
	ref_rng_seed(&rng, 13);
	tally t = {0, 0, 0.0};
	int borderline = 0, sides[8] = {0};
	for (size_t s = 0; s < 2; s++) {
		int w = shapes[s][0], h = shapes[s][1];
		ref_image im;
		random_image(&rng, w, h, 1.0f, &im);
		semqr__located syms[20];
		for (int k = 0; k < 20; k++)
			random_symbol(&rng, 1 + (int)(ref_rng_u32(&rng) % 40), w, h, &syms[k]);
		float *dev = run_device(&im, syms, 20);
		semqr__grey_image g = {ref_image_at(&im, 0, 0), im.stride, w, h};
		const float *d = dev;
		for (int k = 0; k < 20; k++) {
			int size = syms[k].size;
			sides[semqr__sample_side(syms[k].h, size)]++;
			semqr__sample_module_means(&g, &syms[k], means);
			for (int m = 0; m < size * size; m++) {
				if (isnan(means[m]) != isnan(d[m])) {
					assert_true(
					    near_border(&syms[k], m % size, m / size, w, h, 1e-3));
					borderline++;
				} else if (isnan(means[m])) {
					t.missing++;
				} else {
					double diff = fabs((double)d[m] - means[m]);
					if (diff > t.max_diff)
						t.max_diff = diff;
					assert_true(diff <= 4e-4);
					t.finite++;
				}
			}
			d += size * size;
		}
		free(dev);
		free(im.data);
	}
	printf("CPU sampler: %ld finite, %ld missing, %d borderline, max |diff| %.3g\n", t.finite,
	       t.missing, borderline, t.max_diff);
	assert_true(t.finite > 10000 && t.missing > 10000);
	assert_true(borderline <= 5);
	assert_true(sides[SEMQR__SAMPLE_SIDE_WIDE] > 0 && sides[SEMQR__SAMPLE_SIDE_NARROW] > 0 &&
	            sides[SEMQR__SAMPLE_SIDE_SMALL] > 0);
}

/* ---- values known in closed form ----------------------------------------- */

/* On a linear image g(x, y) = 3x + 5y + 1 bilinear interpolation is exact and
 * the footprints are symmetric with weights summing to 1, so a module's mean
 * is g at the module's centre (within the float rounding of the small
 * footprint's weights 1/3). Axis-aligned pitches of 2.5 pixels (small
 * footprint: samples at 2.5 * {0, +-1/4} from the centre), 4 pixels
 * (narrow: 4 * {+-0.28125, +-0.09375}) and 5 pixels (wide: 5 * k * 5/32,
 * k = -3..3) put every sample on a multiple of 1/32 (exact in float), the
 * outermost `reach` = 0.625, 1.125 or 2.34375 pixels from the centre. Offsets: with ox = reach - pitch / 2 module 0's first
 * sample lies on x = 0 exactly (inside: the border belongs to the window),
 * with ox - 2^-10 it is missing; with ox = e (below) module 20's last sample
 * lies on the integer X, inside a window X + 1 wide (X = width - 1) and
 * outside one X wide; likewise in y. A projective symbol inside the window
 * is checked per footprint against the weighted sum of g over its samples
 * (the weights exp(-t^2 / 0.18) normalised, computed here), and windows
 * less than 2 pixels wide or high give NAN everywhere. 3 pitches x 2 widths
 * x 3 x 3 offsets + 3 projective + 3 thin windows. */
static void test_closed_form(void **state)
{
	static const struct {
		double pitch, reach;
		int side;
	} fp[3] = {{2.5, 0.625, SEMQR__SAMPLE_SIDE_SMALL},
	           {4.0, 1.125, SEMQR__SAMPLE_SIDE_NARROW},
	           {5.0, 2.34375, SEMQR__SAMPLE_SIDE_WIDE}};
	for (int f = 0; f < 3; f++) {
		double p = fp[f].pitch, reach = fp[f].reach, t0 = reach - 0.5 * p;
		/* X: the largest integer that module 20's last sample reaches with
		 * module 0 outside (ox below t0). */
		int X = (int)floor(20.0 * p + 2.0 * reach);
		double e = X - (20.5 * p + reach);
		const double offsets[3] = {t0, t0 - 1.0 / 1024.0, e};
		const int widths[2] = {X, X + 1};
		int h = X + 2;
		for (int wi = 0; wi < 2; wi++)
			for (int oi = 0; oi < 3; oi++)
				for (int pi = 0; pi < 3; pi++) {
					int w = widths[wi];
					double ox = offsets[oi], oy = offsets[pi];
					ref_image im;
					assert_int_equal(
					    ref_image_init(&im, sizeof(float), w, h, 0, 1), 0);
					for (int y = 0; y < h; y++)
						for (int x = 0; x < w; x++)
							*(float *)ref_image_at(&im, x, y) =
							    (float)(3 * x + 5 * y + 1);
					double hh[9] = {p, 0.0, ox, 0.0, p, oy, 0.0, 0.0, 1.0};
					semqr__located loc;
					located(1, hh, &loc);
					assert_int_equal(semqr__sample_side(hh, 21), fp[f].side);
					float *dev = run_device(&im, &loc, 1);
					for (int j = 0; j < 21; j++)
						for (int i = 0; i < 21; i++) {
							double xc = p * (i + 0.5) + ox,
							       yc = p * (j + 0.5) + oy;
							int inside = xc - reach >= 0.0 &&
							             xc + reach <= w - 1 &&
							             yc - reach >= 0.0 &&
							             yc + reach <= h - 1;
							float v = dev[j * 21 + i];
							if (!inside) {
								assert_true(isnan(v));
								continue;
							}
							double want = 3.0 * xc + 5.0 * yc + 1.0;
							assert_true(fabs(v - want) <= 1e-6 * want);
						}
					/* Module 0 is inside exactly when ox = oy = t0. */
					assert_int_equal(!isnan(dev[0]), oi == 0 && pi == 0);
					/* Module 20 of row 0 ends on x = X (ox = e): inside only at
					 * width X + 1. */
					if (oi == 2 && pi == 0)
						assert_int_equal(!isnan(dev[20]), wi == 1);
					free(dev);
					free(im.data);
				}
	}

	/* Projective, inside a 300 x 280 window: version 7 at 2.5 px per module
	 * (small), at 4 (narrow) and version 2 at 5.5 (wide). */
	ref_image im;
	assert_int_equal(ref_image_init(&im, sizeof(float), 300, 280, 0, 0), 0);
	for (int y = 0; y < 280; y++)
		for (int x = 0; x < 300; x++)
			*(float *)ref_image_at(&im, x, y) = (float)(3 * x + 5 * y + 1);
	static const struct {
		int version;
		double pitch;
		int side;
	} proj[3] = {{7, 2.5, SEMQR__SAMPLE_SIDE_SMALL},
	             {7, 4.0, SEMQR__SAMPLE_SIDE_NARROW},
	             {2, 5.5, SEMQR__SAMPLE_SIDE_WIDE}};
	semqr__located loc;
	for (int f = 0; f < 3; f++) {
		int size = 17 + 4 * proj[f].version;
		double hh[9];
		homography(size, proj[f].pitch, 0.4, 0, 0.25, -0.2, 150.5, 139.25, hh);
		located(proj[f].version, hh, &loc);
		assert_int_equal(semqr__sample_side(hh, size), proj[f].side);
		double off[7], wt[7], wsum = 0.0;
		int n = footprint_offsets(proj[f].side, off);
		for (int a = 0; a < n; a++) {
			wt[a] = proj[f].side == SEMQR__SAMPLE_SIDE_WIDE
			            ? exp(-off[a] * off[a] / 0.18)
			            : 1.0;
			wsum += wt[a];
		}
		float *dev = run_device(&im, &loc, 1);
		for (int m = 0; m < size * size; m++) {
			double want = 0.0;
			for (int b = 0; b < n; b++)
				for (int a = 0; a < n; a++) {
					double x, y;
					semqr__homography_apply(hh, m % size + 0.5 + off[a],
					                        m / size + 0.5 + off[b], &x, &y);
					want += wt[a] * wt[b] / (wsum * wsum) *
					        (3.0 * x + 5.0 * y + 1.0);
				}
			/* Position error ~1e-5 pixel times the gradient 8, plus float sums. */
			assert_true(fabs(dev[m] - want) <= 1e-3);
		}
		free(dev);
	}
	free(im.data);

	static const int thin[][2] = {{1, 1}, {1, 40}, {40, 1}};
	for (int s = 0; s < 3; s++) {
		assert_int_equal(ref_image_init(&im, sizeof(float), thin[s][0], thin[s][1], 0, 0),
		                 0);
		float one = 1.0f;
		ref_image_fill(&im, &one);
		double tiny[9] = {0.01, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 1.0};
		located(1, tiny, &loc);
		float *dev = run_device(&im, &loc, 1);
		for (int m = 0; m < 21 * 21; m++)
			assert_true(isnan(dev[m]));
		free(dev);
		free(im.data);
	}
}

/* Degenerate maps in one launch with a good one: an all-zero homography
 * makes every module missing, on the device as on the CPU; one whose horizon
 * (w = 0) passes through the symbol's centre still samples, as on the CPU,
 * the modules whose samples map into the window (here the right-hand ones,
 * x = u / (u - 10.5)); neither disturbs the good symbol. */
static void test_degenerate(void **state)
{
	ref_image im;
	ref_rng rng;
	ref_rng_seed(&rng, 14);
	random_image(&rng, 64, 64, 1.0f, &im);
	semqr__located syms[3];
	double zero[9] = {0};
	double horizon[9] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, -10.5};
	double good[9] = {2.0, 0.0, 10.0, 0.0, 2.0, 10.0, 0.0, 0.0, 1.0};
	located(1, zero, &syms[0]);
	located(1, good, &syms[1]);
	located(1, horizon, &syms[2]);
	float *dev = run_device(&im, syms, 3);
	semqr__grey_image g = {ref_image_at(&im, 0, 0), im.stride, 64, 64};
	float cpu[21 * 21];
	int finite = 0;
	for (int k = 0; k < 3; k++) {
		semqr__sample_module_means(&g, &syms[k], cpu);
		for (int m = 0; m < 441; m++) {
			float d = dev[441 * k + m];
			assert_int_equal(isnan(d), isnan(cpu[m]));
			if (!isnan(d)) {
				assert_true(fabsf(d - cpu[m]) <= 1e-4f);
				finite += k == 2;
			}
		}
	}
	for (int m = 0; m < 441; m++) {
		assert_true(isnan(dev[m]));
		assert_false(isnan(dev[441 + m]));
	}
	assert_true(finite > 0 && finite < 441);
	free(dev);
	free(im.data);
}

/* ---- end to end ------------------------------------------------------------- */

/* The inverse of a 3 x 3 matrix (adjugate over determinant). */
static void mat3_inverse(const double m[9], double out[9])
{
	double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7],
	       i = m[8];
	double co[9] = {e * i - f * h, c * h - b * i, b * f - c * e, f * g - d * i, a * i - c * g,
	                c * d - a * f, d * h - e * g, b * g - a * h, a * e - b * d};
	double det = a * co[0] + b * co[3] + c * co[6];
	for (int k = 0; k < 9; k++)
		out[k] = co[k] / det;
}

/* Renders the symbols through their homographies into img (w x h): each
 * pixel is the mean of 4 x 4 sub-samples, `set` where a sub-sample falls in a
 * dark module of some symbol, else `unset`, plus Gaussian noise. */
static void render(const semqr_symbol *syms, const semqr__located *locs, int count, float set,
                   float unset, float noise, ref_rng *rng, float *img, int w, int h)
{
	double inv[8][9];
	for (int k = 0; k < count; k++)
		mat3_inverse(locs[k].h, inv[k]);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int cover = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					double px = x + (sx + 0.5) / 4.0 - 0.5,
					       py = y + (sy + 0.5) / 4.0 - 0.5;
					for (int k = 0; k < count; k++) {
						const double *m = inv[k];
						double wq = m[6] * px + m[7] * py + m[8];
						double u = (m[0] * px + m[1] * py + m[2]) / wq;
						double v = (m[3] * px + m[4] * py + m[5]) / wq;
						int i = (int)floor(u), j = (int)floor(v),
						    size = syms[k].size;
						if (i >= 0 && j >= 0 && i < size && j < size &&
						    syms[k].modules[j * size + i])
							cover++;
					}
				}
			img[y * w + x] = unset + (set - unset) * (float)cover / 16.0f +
			                 noise * ref_rng_gauss(rng);
		}
}

/* Five symbols (versions 1, 2, 4, 7, 10; pitch 3 to 5 pixels; turned, one
 * rendered mirror-imaged and sampled through that map, mild perspective) in one 640 x 480 image,
 * sampled in one launch; their soft matrices (semqr__sample_read) against semqr__sample_soft's on
 * the same image: every p within 1e-3, and semqr_decode_matrix gives the same
 * outcome for both, the payload and the corrections. 2 polarities x 3 noise
 * levels (0, 0.08, 0.3 against a level difference of 0.35) = 6 images; the
 * CPU path must decode all of them at the two lower noise levels (at 0.3 the
 * blocks need tens of corrections and some symbols fail, alike on both). */
static void test_decodes_like_cpu(void **state)
{
	enum { W = 640, H = 480, COUNT = 5 };
	static const int versions[COUNT] = {1, 2, 4, 7, 10};
	static const char *const texts[COUNT] = {"v1", "sample stage v2", "soft means, version 4",
	                                         "device sampling at version seven",
	                                         "five symbols in one launch, version ten"};
	static const double place[COUNT][6] = {
	    /* pitch, turn, mirror, p, centre x, centre y */
	    {5.0, 0.2, 0, 0.0, 110.0, 100.0},   {4.0, -0.6, 1, 0.1, 320.0, 105.0},
	    {4.0, 2.0, 0, -0.15, 530.0, 120.0}, {3.5, 0.9, 0, 0.2, 140.0, 340.0},
	    {3.0, -2.6, 0, 0.1, 400.0, 340.0},
	};
	static semqr_symbol syms[COUNT];
	static float img[W * H];
	static float cpu[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr__located locs[COUNT];
	for (int k = 0; k < COUNT; k++) {
		semqr_encode_options eo;
		semqr_encode_options_init(&eo);
		eo.min_version = eo.max_version = versions[k];
		semqr_error err;
		assert_int_equal(
		    semqr_encode((const uint8_t *)texts[k], strlen(texts[k]), &eo, &syms[k], &err),
		    SEMQR_OK);
		double hh[9];
		const double *pl = place[k];
		homography(syms[k].size, pl[0], pl[1], (int)pl[2], pl[3], -pl[3], pl[4], pl[5], hh);
		located(versions[k], hh, &locs[k]);
	}
	ref_rng rng;
	ref_rng_seed(&rng, 15);
	static const float noises[] = {0.0f, 0.08f, 0.3f};
	int cpu_ok = 0, both_ok = 0;
	for (int polarity = 0; polarity < 2; polarity++)
		for (int n = 0; n < 3; n++) {
			float dark_level = polarity ? 0.7f : 0.25f, light = polarity ? 0.35f : 0.6f;
			render(syms, locs, COUNT, dark_level, light, noises[n], &rng, img, W, H);
			ref_image im;
			assert_int_equal(ref_image_init(&im, sizeof(float), W, H, 0, 0), 0);
			for (int y = 0; y < H; y++)
				memcpy(ref_image_at(&im, 0, y), img + y * W, W * sizeof(float));
			size_t total = semqr__sample_total(locs, COUNT);
			float *soft = malloc(total * sizeof *soft);
			assert_non_null(soft);
			semqr__plane plane;
			cl_mem in = ref_image_upload(ctx, &im, &plane);
			cl_mem means = ref_cl_buffer(ctx, total * sizeof(float), NULL);
			assert_non_null(in);
			assert_non_null(means);
			semqr_error err;
			assert_int_equal(semqr__stage_sample(ctx, &plane, locs, COUNT, means, &err),
			                 SEMQR_OK);
			assert_int_equal(semqr__sample_read(ctx, means, locs, COUNT, soft, &err),
			                 SEMQR_OK);
			semqr__grey_image g = {img, W, W, H};
			const float *dev = soft;
			for (int k = 0; k < COUNT; k++) {
				int nm = syms[k].size * syms[k].size;
				semqr__sample_soft(&g, &locs[k], cpu);
				for (int m = 0; m < nm; m++)
					assert_true(fabsf(dev[m] - cpu[m]) <= 1e-3f);
				semqr_soft_matrix mc = {syms[k].size, cpu},
				                  md = {syms[k].size, dev};
				semqr_decoded dc, dd;
				semqr_error ec, ed;
				semqr_status sc = semqr_decode_matrix(&mc, NULL, &dc, &ec);
				semqr_status sd = semqr_decode_matrix(&md, NULL, &dd, &ed);
				assert_int_equal(sc, sd);
				if (sc == SEMQR_OK) {
					assert_int_equal(dc.payload_len, strlen(texts[k]));
					assert_memory_equal(dc.payload, texts[k], dc.payload_len);
					assert_int_equal(dd.payload_len, dc.payload_len);
					assert_memory_equal(dd.payload, dc.payload, dc.payload_len);
					assert_int_equal(dd.mirrored, dc.mirrored);
					assert_int_equal(dd.errors_total, dc.errors_total);
					assert_int_equal(dd.erasures_total, dc.erasures_total);
					semqr_decoded_free(&dc);
					semqr_decoded_free(&dd);
					both_ok++;
					cpu_ok += n < 2;
				}
				dev += nm;
			}
			clReleaseMemObject(in);
			clReleaseMemObject(means);
			free(soft);
			free(im.data);
		}
	printf("decoded %d of %d (device and CPU alike)\n", both_ok, 6 * COUNT);
	assert_int_equal(cpu_ok, 4 * COUNT);
}

/* ---- argument checks ----------------------------------------------------- */

/* Bad windows, sizes and short output buffers are refused with messages
 * naming what is wrong; no symbols is a no-op. */
static void test_invalid(void **state)
{
	cl_mem img = ref_cl_buffer(ctx, 64 * 64 * sizeof(float), NULL);
	cl_mem out = ref_cl_buffer(ctx, 441 * sizeof(float), NULL);
	assert_non_null(img);
	assert_non_null(out);
	double hh[9] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0};
	semqr__located loc[2];
	located(1, hh, &loc[0]);
	located(1, hh, &loc[1]);
	semqr_error err;
	semqr__plane in = {img, 0, 64, 64, 64};
	assert_int_equal(semqr__stage_sample(ctx, &in, loc, 1, out, &err), SEMQR_OK);
	assert_int_equal(semqr__stage_sample(ctx, &in, loc, 0, out, &err), SEMQR_OK);
	assert_int_equal(semqr__stage_sample(ctx, &in, loc, 2, out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "means buffer"));
	loc[0].size = 178;
	assert_int_equal(semqr__stage_sample(ctx, &in, loc, 1, out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "size 178"));
	loc[0].size = 21;
	in.origin = 1;
	assert_int_equal(semqr__stage_sample(ctx, &in, loc, 1, out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "sample input"));
	in.origin = 0;
	loc[0].size = 20;
	float soft[441];
	assert_int_equal(semqr__sample_read(ctx, out, loc, 1, soft, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "size 20"));
	clFinish(semqr__cl_queue(ctx));
	clReleaseMemObject(img);
	clReleaseMemObject(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference), cmocka_unit_test(test_many_symbols),
	    cmocka_unit_test(test_all_versions),        cmocka_unit_test(test_vs_cpu_sampler),
	    cmocka_unit_test(test_closed_form),         cmocka_unit_test(test_degenerate),
	    cmocka_unit_test(test_decodes_like_cpu),    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
