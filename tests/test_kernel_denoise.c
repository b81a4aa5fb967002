/* The denoise stage (kernels/denoise.cl through semqr__stage_denoise) against
 * its C reference, and the Gaussian's own properties.
 *
 * Tolerance: device and reference sum the same products in the same order
 * with contraction off, so they agree to rounding; accepted within 1e-5 of
 * the input's range (max |in|). Needs an OpenCL device (PoCL is enough). */
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

#define SENTINEL -12345.0f

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

/* Runs the stage on the float image `in` and returns the device output
 * window (w x h, stride w), checking that nothing outside it was written. */
static float *run_device(const ref_image *in, float sigma, int radius, int own_scratch)
{
	ref_image out;
	float sentinel = SENTINEL;
	assert_int_equal(ref_image_init(&out, sizeof(float), in->w, in->h, 2, 3), 0);
	ref_image_fill(&out, &sentinel);
	semqr__plane pin, pout;
	cl_mem in_mem = ref_image_upload(ctx, in, &pin);
	cl_mem out_mem = ref_image_upload(ctx, &out, &pout);
	assert_non_null(in_mem);
	assert_non_null(out_mem);
	semqr_error err;
	cl_mem scratch = NULL;
	if (own_scratch) {
		scratch =
		    ref_cl_buffer(ctx, semqr__stage_denoise_scratch(in->w, in->h, radius), NULL);
		assert_non_null(scratch);
	}
	semqr_status st = semqr__stage_denoise(ctx, &pin, sigma, radius, scratch, &pout, &err);
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err.message);
	assert_int_equal(st, SEMQR_OK);
	assert_int_equal(ref_image_download(ctx, out_mem, &out), 0);
	float *win = malloc((size_t)in->w * (size_t)in->h * sizeof *win);
	assert_non_null(win);
	assert_int_equal(ref_image_window(&out, &sentinel, win), 0);
	clReleaseMemObject(in_mem);
	clReleaseMemObject(out_mem);
	if (scratch)
		clReleaseMemObject(scratch);
	free(out.data);
	return win;
}

/* Device against reference on uniform random input in [0, 1), for odd sizes
 * and radii 0..15 (each radius is its own kernel): 5 sizes x 7 radii, one
 * seeded image each (35 trials), alternately with a scratch buffer of the
 * caller's and one the stage creates. */
static void test_random_vs_reference(void **state)
{
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}, {1023, 37}, {64, 65}};
	static const int radii[] = {0, 1, 3, 5, 8, 11, 15};
	ref_rng rng;
	ref_rng_seed(&rng, 1);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++) {
			int w = sizes[s][0], h = sizes[s][1], radius = radii[r];
			float sigma = radius > 0 ? (float)radius / 3.0f : 0.5f;
			ref_image in;
			assert_int_equal(ref_image_init(&in, sizeof(float), w, h, radius, 5), 0);
			for (size_t i = 0; i < in.count; i++)
				((float *)in.data)[i] = ref_rng_uniform(&rng);
			float *dev = run_device(&in, sigma, radius, (int)(s + r) % 2);
			float *ref = malloc((size_t)w * (size_t)h * sizeof *ref);
			assert_non_null(ref);
			assert_int_equal(ref_denoise(ref_image_at(&in, 0, 0), in.stride, w, h,
			                             sigma, radius, ref, w),
			                 0);
			for (int i = 0; i < w * h; i++)
				if (!(fabsf(dev[i] - ref[i]) <= 1e-5f)) {
					fprintf(stderr,
					        "%dx%d r=%d pixel %d: device %.9g reference %.9g\n",
					        w, h, radius, i, (double)dev[i], (double)ref[i]);
					fail();
				}
			free(dev);
			free(ref);
			free(in.data);
		}
}

/* A constant image stays constant (weights sum to 1), and an impulse gives
 * the separable kernel, compared with Gaussian weights computed here in
 * double. */
static void test_constant_and_impulse(void **state)
{
	int w = 31, h = 29, radius = 5;
	float sigma = 1.7f;
	ref_image in;
	assert_int_equal(ref_image_init(&in, sizeof(float), w, h, radius, 0), 0);
	float v = 0.625f;
	ref_image_fill(&in, &v);
	float *dev = run_device(&in, sigma, radius, 0);
	for (int i = 0; i < w * h; i++)
		assert_true(fabsf(dev[i] - 0.625f) <= 1e-6f);
	free(dev);

	v = 0.0f;
	ref_image_fill(&in, &v);
	int cx = 15, cy = 14;
	*(float *)ref_image_at(&in, cx, cy) = 1.0f;
	dev = run_device(&in, sigma, radius, 1);
	double g[11], sum = 0.0;
	for (int k = 0; k <= 2 * radius; k++) {
		g[k] = exp(-(double)((k - radius) * (k - radius)) / (2.0 * sigma * sigma));
		sum += g[k];
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int dx = x - cx, dy = y - cy;
			double want = abs(dx) <= radius && abs(dy) <= radius
			                  ? g[dx + radius] / sum * g[dy + radius] / sum
			                  : 0.0;
			assert_true(fabs(dev[y * w + x] - want) <= 1e-6);
		}
	free(dev);
	free(in.data);
}

/* sigma 0 (the scan decoder's ablation without denoising) copies the
 * input exactly, whatever the radius. */
static void test_sigma_zero_is_identity(void **state)
{
	(void)state;
	int w = 37, h = 23;
	for (int radius = 0; radius <= 2; radius++) {
		ref_image in;
		assert_int_equal(ref_image_init(&in, sizeof(float), w, h, radius, 0), 0);
		ref_rng rng;
		ref_rng_seed(&rng, 11 + (uint64_t)radius);
		for (size_t i = 0; i < in.count; i++)
			((float *)in.data)[i] = ref_rng_gauss(&rng);
		float *dev = run_device(&in, 0.0f, radius, radius % 2);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				assert_true(dev[y * w + x] == *(float *)ref_image_at(&in, x, y));
		free(dev);
		free(in.data);
	}
}

/* White Gaussian noise of deviation 1 comes out with deviation
 * sum_k w_k^2 (the square root of the 2-D sum of squared weights), within 5%
 * over a 256 x 256 image (65536 samples). */
static void test_noise_reduction(void **state)
{
	int w = 256, h = 256, radius = 4;
	float sigma = 4.0f / 3.0f;
	ref_image in;
	assert_int_equal(ref_image_init(&in, sizeof(float), w, h, radius, 0), 0);
	ref_rng rng;
	ref_rng_seed(&rng, 7);
	for (size_t i = 0; i < in.count; i++)
		((float *)in.data)[i] = ref_rng_gauss(&rng);
	float *dev = run_device(&in, sigma, radius, 0);
	float wt[9];
	semqr__denoise_weights(sigma, radius, wt);
	double want = 0.0, mean = 0.0, var = 0.0;
	for (int k = 0; k < 9; k++)
		want += (double)wt[k] * wt[k];
	for (int i = 0; i < w * h; i++)
		mean += dev[i];
	mean /= w * h;
	for (int i = 0; i < w * h; i++)
		var += (dev[i] - mean) * (dev[i] - mean);
	double sd = sqrt(var / (w * h));
	assert_true(fabs(sd / want - 1.0) < 0.05);
	assert_true(want < 0.25); /* the point of it: noise cut more than four-fold */
	free(dev);
	free(in.data);
}

/* Windows whose halo leaves the buffer, and bad parameters, are refused. */
static void test_invalid(void **state)
{
	cl_mem m = ref_cl_buffer(ctx, 100 * 100 * sizeof(float), NULL);
	assert_non_null(m);
	semqr_error err;
	semqr__plane in = {m, 2 * 100 + 2, 100, 50, 50};
	semqr__plane out = {m, 0, 100, 50, 50};
	assert_int_equal(semqr__stage_denoise(ctx, &in, 1.0f, 3, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "denoise input"));
	in.origin = 3 * 100 + 3;
	in.height = 95; /* the halo below runs past the end */
	out.height = 95;
	assert_int_equal(semqr__stage_denoise(ctx, &in, 1.0f, 3, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	in.height = out.height = 50;
	assert_int_equal(semqr__stage_denoise(ctx, &in, -1.0f, 3, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	in.origin = 16 * 100 + 16;
	assert_int_equal(semqr__stage_denoise(ctx, &in, 5.0f, 16, NULL, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	cl_mem small = ref_cl_buffer(ctx, semqr__stage_denoise_scratch(50, 50, 3) - 4, NULL);
	assert_non_null(small);
	assert_int_equal(semqr__stage_denoise(ctx, &in, 1.0f, 3, small, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "scratch"));
	assert_int_equal(semqr__stage_denoise(ctx, &in, 1.0f, 3, NULL, &out, &err), SEMQR_OK);
	clFinish(semqr__cl_queue(ctx));
	clReleaseMemObject(small);
	clReleaseMemObject(m);
}

/* The module-size rule: sigma a third of a module, radius 3 sigma within
 * 1..15; weights symmetric, peaked and summing to 1. */
static void test_sigma_rule(void **state)
{
	assert_true(fabsf(semqr__denoise_sigma(6.0f) - 2.0f) < 1e-6f);
	assert_int_equal(semqr__denoise_radius(2.0f), 6);
	assert_int_equal(semqr__denoise_radius(0.1f), 1);
	assert_int_equal(semqr__denoise_radius(9.0f), SEMQR__DENOISE_RADIUS_MAX);
	float w[7];
	semqr__denoise_weights(1.0f, 3, w);
	float sum = 0.0f;
	for (int k = 0; k < 7; k++)
		sum += w[k];
	assert_true(fabsf(sum - 1.0f) < 1e-6f);
	assert_true(w[0] == w[6] && w[1] == w[5] && w[2] == w[4] && w[3] > w[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference), cmocka_unit_test(test_constant_and_impulse),
	    cmocka_unit_test(test_noise_reduction),     cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_sigma_rule),          cmocka_unit_test(test_sigma_zero_is_identity),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
