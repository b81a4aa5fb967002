/* The finder stage (kernels/finder.cl through semqr__stage_finder) against
 * its C reference, and on rendered finder patterns run through the device
 * pipeline denoise -> binarize -> finder.
 *
 * Tolerance: candidate lists must be identical as sets: the same number, and
 * after sorting the same axis, polarity and line, positions and module sizes
 * within 1e-4 px (the refinement divides; OpenCL allows a few ulp). Needs an
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

#include "support/ref.h"

static semqr__cl_context *ctx;

static const semqr__finder_params params = {0.5f, 2.0f, 20.0f};

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

/* Runs the device finder on planes bin and grey; returns the number found and
 * the stored candidates (sorted) in *out, malloc'd. */
static int run_finder(const semqr__plane *bin, const semqr__plane *grey, int capacity,
                      semqr__finder_candidate **out)
{
	cl_mem cands =
	    capacity > 0
	        ? ref_cl_buffer(ctx, (size_t)capacity * sizeof(semqr__finder_candidate), NULL)
	        : NULL;
	cl_int junk = 12345;
	cl_mem count = ref_cl_buffer(ctx, sizeof junk, &junk);
	assert_non_null(count);
	assert_true(capacity == 0 || cands);
	semqr_error err;
	semqr_status st =
	    semqr__stage_finder(ctx, bin, grey, &params, cands, capacity, count, &err);
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err.message);
	assert_int_equal(st, SEMQR_OK);
	*out = malloc(((size_t)capacity + 1) * sizeof **out);
	assert_non_null(*out);
	int found = -1;
	st = semqr__finder_read(ctx, cands, capacity, count, *out, &found, &err);
	assert_int_equal(st, SEMQR_OK);
	ref_sort_candidates(*out, found < capacity ? found : capacity);
	if (cands)
		clReleaseMemObject(cands);
	clReleaseMemObject(count);
	return found;
}

static int same_candidate(const semqr__finder_candidate *a, const semqr__finder_candidate *b)
{
	return a->axis == b->axis && a->polarity == b->polarity && fabsf(a->x - b->x) <= 1e-4f &&
	       fabsf(a->y - b->y) <= 1e-4f && fabsf(a->module - b->module) <= 1e-4f;
}

/* Runs device and reference on host images bin (uchar) and grey (float) of
 * the same window size and asserts identical candidate sets; returns the
 * number of candidates. */
static int compare(const ref_image *bin, const ref_image *grey)
{
	semqr__plane pb, pg;
	cl_mem mb = ref_image_upload(ctx, bin, &pb);
	cl_mem mg = ref_image_upload(ctx, grey, &pg);
	assert_non_null(mb);
	assert_non_null(mg);
	int cap = 4 * (bin->w + bin->h) + 16;
	semqr__finder_candidate *ref = malloc((size_t)cap * sizeof *ref), *dev;
	assert_non_null(ref);
	int n = ref_finder(ref_image_at(bin, 0, 0), bin->stride, ref_image_at(grey, 0, 0),
	                   grey->stride, bin->w, bin->h, &params, ref, cap);
	assert_true(n <= cap);
	ref_sort_candidates(ref, n);
	int found = run_finder(&pb, &pg, cap, &dev);
	assert_int_equal(found, n);
	for (int i = 0; i < n; i++)
		if (!same_candidate(&dev[i], &ref[i])) {
			fprintf(stderr,
			        "candidate %d: device (%.6f, %.6f) m %.6f p %d a %d, reference "
			        "(%.6f, %.6f) m %.6f p %d a %d\n",
			        i, (double)dev[i].x, (double)dev[i].y, (double)dev[i].module,
			        dev[i].polarity, dev[i].axis, (double)ref[i].x, (double)ref[i].y,
			        (double)ref[i].module, ref[i].polarity, ref[i].axis);
			fail();
		}
	free(ref);
	free(dev);
	clReleaseMemObject(mb);
	clReleaseMemObject(mg);
	return n;
}

/* Fills bin with runs of random lengths 1..12 along rows, every fourth run
 * group replaced by a 1:1:3:1:1 group of module 2..7 (so that there are many
 * candidates, exact and skewed), and grey with the binary value plus Gaussian
 * noise of deviation 0.2. */
static void random_lines(ref_rng *rng, ref_image *bin, ref_image *grey)
{
	memset(bin->data, 0, bin->count);
	memset(grey->data, 0, grey->count * grey->elem);
	for (int y = -1; y <= bin->h; y++) {
		int x = 0, v = (int)(ref_rng_u32(rng) & 1);
		while (x < bin->w) {
			int lens[5] = {1 + (int)(ref_rng_u32(rng) % 12), 0, 0, 0, 0}, n = 1;
			if (ref_rng_u32(rng) % 4 == 0) {
				int m = 2 + (int)(ref_rng_u32(rng) % 6);
				for (n = 0; n < 5; n++)
					lens[n] =
					    (n == 2 ? 3 * m : m) + (int)(ref_rng_u32(rng) % 3) - 1;
			}
			for (int r = 0; r < n; r++, v ^= 1)
				for (int k = 0; k < lens[r] && x < bin->w; k++, x++)
					*(uint8_t *)ref_image_at(bin, x, y) = (uint8_t)v;
		}
	}
	for (int y = -1; y <= bin->h; y++)
		for (int x = 0; x < bin->w; x++)
			*(float *)ref_image_at(grey, x, y) =
			    (float)*(uint8_t *)ref_image_at(bin, x, y) + 0.2f * ref_rng_gauss(rng);
}

/* Random run images of odd sizes, half of them transposed (runs along
 * columns): 6 sizes x 2 orientations, 2 seeds each (24 trials); at least the
 * large ones must yield candidates on both axes. */
static void test_random_vs_reference(void **state)
{
	static const int sizes[][2] = {{1, 1},     {3, 7},     {257, 5},
	                               {1023, 37}, {37, 1023}, {200, 160}};
	ref_rng rng;
	ref_rng_seed(&rng, 9);
	int total = 0;
	for (size_t s = 0; s < 6; s++)
		for (int seed = 0; seed < 2; seed++)
			for (int transpose = 0; transpose < 2; transpose++) {
				int w = sizes[s][0], h = sizes[s][1];
				ref_image bin, grey, tb, tg;
				assert_int_equal(ref_image_init(&bin, 1, w, h, 0, 3), 0);
				assert_int_equal(ref_image_init(&grey, sizeof(float), w, h, 0, 1),
				                 0);
				random_lines(&rng, &bin, &grey);
				if (transpose) {
					assert_int_equal(ref_image_init(&tb, 1, h, w, 0, 2), 0);
					assert_int_equal(
					    ref_image_init(&tg, sizeof(float), h, w, 0, 0), 0);
					memset(tb.data, 0, tb.count);
					memset(tg.data, 0, tg.count * sizeof(float));
					for (int y = 0; y < h; y++)
						for (int x = 0; x < w; x++) {
							*(uint8_t *)ref_image_at(&tb, y, x) =
							    *(uint8_t *)ref_image_at(&bin, x, y);
							*(float *)ref_image_at(&tg, y, x) =
							    *(float *)ref_image_at(&grey, x, y);
						}
					total += compare(&tb, &tg);
					free(tb.data);
					free(tg.data);
				} else {
					total += compare(&bin, &grey);
				}
				free(bin.data);
				free(grey.data);
			}
	assert_true(total > 1000);
}

/* Overflow: with room for 5, the count still reports every candidate, and the
 * 5 stored are among the reference's; capacity 0 works too. */
static void test_overflow(void **state)
{
	ref_rng rng;
	ref_rng_seed(&rng, 10);
	ref_image bin, grey;
	assert_int_equal(ref_image_init(&bin, 1, 300, 40, 0, 0), 0);
	assert_int_equal(ref_image_init(&grey, sizeof(float), 300, 40, 0, 0), 0);
	random_lines(&rng, &bin, &grey);
	int cap = 4096;
	semqr__finder_candidate *ref = malloc((size_t)cap * sizeof *ref), *dev;
	assert_non_null(ref);
	int n = ref_finder(ref_image_at(&bin, 0, 0), bin.stride, ref_image_at(&grey, 0, 0),
	                   grey.stride, 300, 40, &params, ref, cap);
	assert_true(n > 5 && n <= cap);
	semqr__plane pb, pg;
	cl_mem mb = ref_image_upload(ctx, &bin, &pb), mg = ref_image_upload(ctx, &grey, &pg);
	assert_int_equal(run_finder(&pb, &pg, 5, &dev), n);
	for (int i = 0; i < 5; i++) {
		int match = 0;
		for (int j = 0; j < n && !match; j++)
			match = same_candidate(&dev[i], &ref[j]);
		assert_true(match);
	}
	free(dev);
	assert_int_equal(run_finder(&pb, &pg, 0, &dev), n);
	free(dev);
	free(ref);
	free(bin.data);
	free(grey.data);
	clReleaseMemObject(mb);
	clReleaseMemObject(mg);
}

/* A rendered finder pattern: centre, module size in pixels, and whether its
 * centre is dark (polarity 0) or bright (1). */
struct pattern {
	double cx, cy, module;
	int polarity;
};

static const struct pattern patterns[] = {
    {60.3, 50.7, 5.0, 0},
    {200.6, 60.2, 6.5, 1},
    {90.1, 150.4, 4.0, 0},
    {230.8, 140.5, 5.5, 1},
};

/* The grey level of point (px, py): inside a pattern's 9 x 9 module square
 * (the 7 x 7 pattern and its one-module quiet ring) the pattern, dark 0.2 and
 * light 0.8 (swapped for polarity 1); elsewhere 0.5. */
static double scene(double px, double py)
{
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		const struct pattern *p = &patterns[i];
		double d = fmax(fabs(px - p->cx), fabs(py - p->cy)) / p->module;
		if (d >= 4.5)
			continue;
		int dark = d < 1.5 || (d >= 2.5 && d < 3.5);
		return dark != p->polarity ? 0.2 : 0.8;
	}
	return 0.5;
}

/* Rendered patterns (4 x 4 samples per pixel) with Gaussian noise of
 * deviation 0.12 (contrast-to-noise 5), through the device stages denoise ->
 * binarize -> finder, each stage reading its predecessor's output through the
 * halo: every pattern is found along the row and the column through its
 * centre with its polarity, the centre within 0.25 px and the module within
 * 5% (measured with this seed: 0.11 px and 2.4% at worst); and the device
 * finder agrees with the reference on the same inputs. */
static void test_rendered_patterns(void **state)
{
	int w = 300, h = 200;
	float module = 5.0f;
	float sigma = semqr__denoise_sigma(module);
	int rd = semqr__denoise_radius(sigma), rb = 7;
	/* The scene with a halo of rd + rb; denoise writes the window grown by
	 * rb, which binarize reads with its halo. */
	ref_image scan, smooth, bin;
	assert_int_equal(ref_image_init(&scan, sizeof(float), w + 2 * rb, h + 2 * rb, rd, 0), 0);
	assert_int_equal(ref_image_init(&smooth, sizeof(float), w + 2 * rb, h + 2 * rb, 0, 0), 0);
	assert_int_equal(ref_image_init(&bin, 1, w, h, 0, 0), 0);
	ref_rng rng;
	ref_rng_seed(&rng, 11);
	for (int y = -rd - rb - 1; y < h + rb + rd + 1; y++)
		for (int x = -rd - rb; x < w + rb + rd; x++) {
			double acc = 0.0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++)
					acc += scene(x + (sx - 1.5) / 4.0, y + (sy - 1.5) / 4.0);
			*(float *)ref_image_at(&scan, x + rb, y + rb) =
			    (float)(acc / 16.0) + 0.12f * ref_rng_gauss(&rng);
		}
	memset(bin.data, 0, bin.count);
	semqr__plane ps, pd, pb;
	cl_mem ms = ref_image_upload(ctx, &scan, &ps), md = ref_image_upload(ctx, &smooth, &pd);
	cl_mem mb = ref_image_upload(ctx, &bin, &pb);
	semqr_error err;
	assert_int_equal(semqr__stage_denoise(ctx, &ps, sigma, rd, NULL, &pd, &err), SEMQR_OK);
	semqr__plane inner = {md, pd.origin + (size_t)rb * (size_t)pd.stride + (size_t)rb,
	                      pd.stride, w, h};
	assert_int_equal(semqr__stage_binarize(ctx, &inner, rb, 0.0f, NULL, &pb, &err), SEMQR_OK);
	semqr__finder_candidate *dev;
	int found = run_finder(&pb, &inner, 4096, &dev);
	assert_true(found > 0 && found <= 4096);
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		const struct pattern *p = &patterns[i];
		for (int axis = 0; axis < 2; axis++) {
			double line = axis ? floor(p->cx + 0.5) : floor(p->cy + 0.5);
			int ok = 0;
			for (int k = 0; k < found && !ok; k++) {
				const semqr__finder_candidate *c = &dev[k];
				double across = axis ? c->x : c->y, along = axis ? c->y : c->x;
				ok = c->axis == axis && across == line &&
				     c->polarity == p->polarity &&
				     fabs(along - (axis ? p->cy : p->cx)) < 0.25 &&
				     fabs(c->module - p->module) < 0.05 * p->module;
			}
			if (!ok)
				fprintf(stderr, "pattern %zu not found along axis %d\n", i, axis);
			assert_true(ok);
		}
	}
	free(dev);
	/* The same inputs through the reference. */
	assert_int_equal(ref_image_download(ctx, md, &smooth), 0);
	assert_int_equal(ref_image_download(ctx, mb, &bin), 0);
	ref_image g = smooth;
	g.origin = smooth.origin + (size_t)rb * (size_t)smooth.stride + (size_t)rb;
	g.w = w;
	g.h = h;
	assert_int_equal(compare(&bin, &g), found);
	clReleaseMemObject(ms);
	clReleaseMemObject(md);
	clReleaseMemObject(mb);
	free(scan.data);
	free(smooth.data);
	free(bin.data);
}

/* Bad parameters and a too-small candidate buffer are refused. */
static void test_invalid(void **state)
{
	cl_mem b = ref_cl_buffer(ctx, 100, NULL), g = ref_cl_buffer(ctx, 100 * sizeof(float), NULL);
	cl_mem c = ref_cl_buffer(ctx, 3 * sizeof(semqr__finder_candidate), NULL);
	cl_mem n = ref_cl_buffer(ctx, sizeof(cl_int), NULL);
	semqr__plane pb = {b, 0, 10, 10, 10}, pg = {g, 0, 10, 10, 10};
	semqr_error err;
	assert_int_equal(semqr__stage_finder(ctx, &pb, &pg, &params, c, 4, n, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "cannot hold 4"));
	semqr__finder_params bad = {0.5f, 3.0f, 2.0f};
	assert_int_equal(semqr__stage_finder(ctx, &pb, &pg, &bad, c, 3, n, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	pg.width = 9;
	assert_int_equal(semqr__stage_finder(ctx, &pb, &pg, &params, c, 3, n, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	clReleaseMemObject(b);
	clReleaseMemObject(g);
	clReleaseMemObject(c);
	clReleaseMemObject(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_rendered_patterns),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
