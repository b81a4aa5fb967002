/* The binarize stage (kernels/binarize.cl through semqr__stage_binarize)
 * against its C reference, and the threshold's behaviour at edges.
 *
 * Tolerance: outputs must be identical except at pixels whose value lies
 * within 1e-5 of the reference threshold (mean + offset), where the rounding
 * of the sums may legitimately decide either way. Needs an OpenCL device. */
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

#define SENTINEL 7

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

/* Runs the stage on the float image `in` and returns the device output window
 * (w x h, stride w), checking that nothing outside it was written. */
static uint8_t *run_device(const ref_image *in, int radius, float offset)
{
	ref_image out;
	uint8_t sentinel = SENTINEL;
	assert_int_equal(ref_image_init(&out, 1, in->w, in->h, 1, 5), 0);
	ref_image_fill(&out, &sentinel);
	semqr__plane pin, pout;
	cl_mem in_mem = ref_image_upload(ctx, in, &pin);
	cl_mem out_mem = ref_image_upload(ctx, &out, &pout);
	assert_non_null(in_mem);
	assert_non_null(out_mem);
	semqr_error err;
	semqr_status st = semqr__stage_binarize(ctx, &pin, radius, offset, NULL, &pout, &err);
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err.message);
	assert_int_equal(st, SEMQR_OK);
	assert_int_equal(ref_image_download(ctx, out_mem, &out), 0);
	uint8_t *win = malloc((size_t)in->w * (size_t)in->h);
	assert_non_null(win);
	assert_int_equal(ref_image_window(&out, &sentinel, win), 0);
	clReleaseMemObject(in_mem);
	clReleaseMemObject(out_mem);
	free(out.data);
	return win;
}

/* Compares the device output for `in` with the reference; returns the number
 * of pixels decided differently near the threshold (allowed). */
static int compare(const ref_image *in, int radius, float offset)
{
	int w = in->w, h = in->h, near = 0;
	uint8_t *dev = run_device(in, radius, offset);
	uint8_t *ref = malloc((size_t)w * (size_t)h);
	float *limit = malloc((size_t)w * (size_t)h * sizeof *limit);
	assert_non_null(ref);
	assert_non_null(limit);
	assert_int_equal(
	    ref_binarize(ref_image_at(in, 0, 0), in->stride, w, h, radius, offset, ref, w, limit),
	    0);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int i = y * w + x;
			assert_true(dev[i] <= 1);
			if (dev[i] == ref[i])
				continue;
			float v = *(const float *)ref_image_at(in, x, y);
			if (!(fabsf(v - limit[i]) <= 1e-5f)) {
				fprintf(stderr,
				        "%dx%d r=%d (%d, %d): device %d reference %d, value %.9g "
				        "threshold %.9g\n",
				        w, h, radius, x, y, dev[i], ref[i], (double)v,
				        (double)limit[i]);
				fail();
			}
			near++;
		}
	free(dev);
	free(ref);
	free(limit);
	return near;
}

/* Uniform random input in [0, 1): 5 sizes x 6 radii (each radius is its own
 * kernel) x 2 offsets, one seeded image each (60 trials). */
static void test_random_vs_reference(void **state)
{
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}, {1023, 37}, {40, 41}};
	static const int radii[] = {0, 1, 4, 9, 12, 15};
	static const float offsets[] = {0.0f, 0.05f};
	ref_rng rng;
	ref_rng_seed(&rng, 2);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++)
			for (size_t o = 0; o < 2; o++) {
				ref_image in;
				assert_int_equal(ref_image_init(&in, sizeof(float), sizes[s][0],
				                                sizes[s][1], radii[r], 3),
				                 0);
				for (size_t i = 0; i < in.count; i++)
					((float *)in.data)[i] = ref_rng_uniform(&rng);
				compare(&in, radii[r], offsets[o]);
				free(in.data);
			}
}

/* Integer-valued input: the sums are exact in float, so device and
 * reference must agree on every pixel, even at exact ties (a constant image,
 * offset 0), and with offset 0.5 no pixel is within 0.02 of its threshold. */
static void test_integer_input(void **state)
{
	ref_image in;
	int radius = 2;
	assert_int_equal(ref_image_init(&in, sizeof(float), 50, 30, radius, 0), 0);
	float v = 3.0f;
	ref_image_fill(&in, &v);
	assert_int_equal(compare(&in, radius, 0.0f), 0);
	ref_rng rng;
	ref_rng_seed(&rng, 3);
	for (size_t i = 0; i < in.count; i++)
		((float *)in.data)[i] = (float)(ref_rng_u32(&rng) % 4);
	assert_int_equal(compare(&in, radius, 0.0f), 0);
	assert_int_equal(compare(&in, radius, 0.5f), 0);
	free(in.data);
}

/* A vertical step from 0 to 1 at column e: with offset 0.01 exactly the
 * columns e .. e + radius - 1 are 1 (their window still holds some 0 pixels,
 * so their mean is below 1 - 0.01), everything else is 0. */
static void test_step_edge(void **state)
{
	for (int radius = 1; radius <= 6; radius++) {
		ref_image in;
		int w = 40, h = 9, e = 17;
		assert_int_equal(ref_image_init(&in, sizeof(float), w, h, radius, 2), 0);
		for (int y = -radius - 1; y < h + radius + 1; y++)
			for (int x = -radius; x < in.stride - radius; x++)
				*(float *)ref_image_at(&in, x, y) = x >= e ? 1.0f : 0.0f;
		uint8_t *dev = run_device(&in, radius, 0.01f);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				assert_int_equal(dev[y * w + x], x >= e && x < e + radius);
		free(dev);
		free(in.data);
	}
}

/* A halo that leaves the buffer is refused, naming the window. */
static void test_invalid(void **state)
{
	cl_mem m = ref_cl_buffer(ctx, 64 * 64 * sizeof(float), NULL);
	cl_mem b = ref_cl_buffer(ctx, 64 * 64, NULL);
	assert_non_null(m);
	assert_non_null(b);
	semqr_error err;
	semqr__plane in = {m, 64 + 1, 64, 60, 60};
	semqr__plane out = {b, 0, 64, 60, 60};
	assert_int_equal(semqr__stage_binarize(ctx, &in, 2, 0.0f, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "binarize input"));
	assert_int_equal(semqr__stage_binarize(ctx, &in, 16, 0.0f, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	cl_mem small = ref_cl_buffer(ctx, semqr__stage_binarize_scratch(60, 60, 1) - 1, NULL);
	cl_mem enough = ref_cl_buffer(ctx, semqr__stage_binarize_scratch(60, 60, 1), NULL);
	assert_non_null(small);
	assert_non_null(enough);
	assert_int_equal(semqr__stage_binarize(ctx, &in, 1, 0.0f, small, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__stage_binarize(ctx, &in, 1, 0.0f, enough, &out, &err), SEMQR_OK);
	assert_int_equal(semqr__stage_binarize(ctx, &in, 1, 0.0f, NULL, &out, &err), SEMQR_OK);
	out.height = 61;
	assert_int_equal(semqr__stage_binarize(ctx, &in, 1, 0.0f, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	clFinish(semqr__cl_queue(ctx));
	clReleaseMemObject(small);
	clReleaseMemObject(enough);
	clReleaseMemObject(m);
	clReleaseMemObject(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_integer_input),
	    cmocka_unit_test(test_step_edge),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
