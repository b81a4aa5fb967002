/* The 2 x 2 binning stage (kernels/flatten.cl flatten_bin2_* through
 * semqr__stage_bin2) against a plain-C reference written here from the
 * kernel's stated semantics: random 8-bit and 16-bit windows of odd and even
 * sizes (1 x 1 up), in windows with a halo and extra stride, plain and
 * Anscombe; the extreme values; and what the Anscombe form is for (noise
 * close to 1/2 at any level).
 *
 * Tolerance: plain binning is exact (an integer sum times a constant, the
 * same operations here and on the device); Anscombe within 4 float ulp of
 * the reference (OpenCL's sqrt may differ by 3 ulp). Needs an OpenCL device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/ref.h"

#define SENTINEL -12345.0f

static semqr__cl_context *ctx;

static int setup(void **state)
{
	(void)state;
	ctx = ref_cl_open();
	return ctx ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	semqr__cl_context_destroy(ctx);
	return 0;
}

/* Input pixel (x, y) of an 8-bit (bits 8) or 16-bit window. */
static int pixel(const ref_image *in, int bits, int x, int y)
{
	const void *p = ref_image_at(in, x, y);
	return bits == 8 ? *(const uint8_t *)p : *(const uint16_t *)p;
}

/* The reference: out (ceil(w / 2) x ceil(h / 2), stride ceil(w / 2)). */
static void ref_bin2(const ref_image *in, int bits, float gain, float offset, float *out)
{
	int ow = (in->w + 1) / 2, oh = (in->h + 1) / 2;
	float vmax = bits == 8 ? 255.0f : 65535.0f;
	float inv_gain = gain > 0.0f ? 1.0f / gain : 0.0f;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			int x1 = 2 * x + 1 < in->w ? 2 * x + 1 : in->w - 1;
			int y1 = 2 * y + 1 < in->h ? 2 * y + 1 : in->h - 1;
			int s = pixel(in, bits, 2 * x, 2 * y) + pixel(in, bits, x1, 2 * y) +
			        pixel(in, bits, 2 * x, y1) + pixel(in, bits, x1, y1);
			float v = (float)s;
			out[y * ow + x] =
			    gain > 0.0f
			        ? sqrtf(fmaxf((v - 4.0f * offset) * inv_gain + 0.375f, 0.0f))
			        : v * (1.0f / (4.0f * vmax));
		}
}

static void check_status(semqr_status st, const semqr_error *err)
{
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err->message);
	assert_int_equal(st, SEMQR_OK);
}

/* Bins `in` on the device into a fresh output window (halo 2, extra 3,
 * sentinel around it, checked untouched); returns the window, dense. */
static float *device_bin2(const ref_image *in, int bits, float gain, float offset)
{
	int ow = (in->w + 1) / 2, oh = (in->h + 1) / 2;
	ref_image o;
	float sentinel = SENTINEL;
	assert_int_equal(ref_image_init(&o, sizeof(float), ow, oh, 2, 3), 0);
	ref_image_fill(&o, &sentinel);
	semqr__plane pout, pin;
	cl_mem out_mem = ref_image_upload(ctx, &o, &pout);
	cl_mem in_mem = ref_image_upload(ctx, in, &pin);
	assert_non_null(out_mem);
	assert_non_null(in_mem);
	semqr_error err;
	check_status(semqr__stage_bin2(ctx, &pin, bits, gain, offset, &pout, &err), &err);
	float *win = malloc((size_t)ow * (size_t)oh * sizeof *win);
	assert_non_null(win);
	assert_int_equal(ref_image_download(ctx, out_mem, &o), 0);
	assert_int_equal(ref_image_window(&o, &sentinel, win), 0);
	clReleaseMemObject(out_mem);
	clReleaseMemObject(in_mem);
	free(o.data);
	return win;
}

static void check_bin2(const ref_image *in, int bits, float gain, float offset)
{
	int n = ((in->w + 1) / 2) * ((in->h + 1) / 2);
	float *dev = device_bin2(in, bits, gain, offset);
	float *ref = malloc((size_t)n * sizeof *ref);
	assert_non_null(ref);
	ref_bin2(in, bits, gain, offset, ref);
	for (int i = 0; i < n; i++) {
		float tol = gain > 0.0f ? 4.0f * FLT_EPSILON * fabsf(ref[i]) : 0.0f;
		if (!(fabsf(dev[i] - ref[i]) <= tol))
			fprintf(stderr, "%dx%d %d-bit gain %g: [%d] device %.9g, reference %.9g\n",
			        in->w, in->h, bits, (double)gain, i, (double)dev[i],
			        (double)ref[i]);
		assert_true(fabsf(dev[i] - ref[i]) <= tol);
	}
	free(dev);
	free(ref);
}

/* Random windows (halo 1, extra 2: the kernel must stay inside the window
 * and read the stride), odd and even sizes, both depths, plain and
 * Anscombe: 8 sizes x 2 depths x 2 modes. */
static void test_random_vs_reference(void **state)
{
	(void)state;
	static const int sizes[][2] = {{1, 1}, {2, 2},   {1, 5},   {3, 7},
	                               {8, 1}, {257, 5}, {64, 63}, {1023, 37}};
	ref_rng rng;
	ref_rng_seed(&rng, 11);
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
		for (int bits = 8; bits <= 16; bits += 8) {
			ref_image in;
			assert_int_equal(
			    ref_image_init(&in, (size_t)bits / 8, sizes[s][0], sizes[s][1], 1, 2),
			    0);
			for (size_t i = 0; i < in.count; i++) {
				uint32_t v = ref_rng_u32(&rng);
				if (bits == 8)
					in.data[i] = (uint8_t)v;
				else
					((uint16_t *)in.data)[i] = (uint16_t)v;
			}
			check_bin2(&in, bits, 0.0f, 0.0f);
			check_bin2(&in, bits, bits == 8 ? 1.5f : 300.0f, 5.0f);
			free(in.data);
		}
}

/* Exact values: a 3 x 3 16-bit window of 65535 but for one 0 gives the
 * means (3/4, 1, 1/2, 1) of vmax; the replicated last column and row count
 * twice, the corner four times. */
static void test_edges(void **state)
{
	(void)state;
	ref_image in;
	assert_int_equal(ref_image_init(&in, 2, 3, 3, 0, 0), 0);
	uint16_t full = 65535;
	ref_image_fill(&in, &full);
	*(uint16_t *)ref_image_at(&in, 0, 0) = 0;
	*(uint16_t *)ref_image_at(&in, 2, 2) = 32768;
	float *dev = device_bin2(&in, 16, 0.0f, 0.0f);
	assert_true(dev[0] == 0.75f);
	assert_true(dev[1] == 1.0f);
	assert_true(dev[2] == 1.0f);
	assert_true(dev[3] == (float)(4 * 32768) * (1.0f / (4.0f * 65535.0f)));
	free(dev);
	/* 8-bit 1 x 1: the pixel four times is the pixel. */
	ref_image one;
	assert_int_equal(ref_image_init(&one, 1, 1, 1, 0, 0), 0);
	*(uint8_t *)ref_image_at(&one, 0, 0) = 51;
	dev = device_bin2(&one, 8, 0.0f, 0.0f);
	assert_true(fabsf(dev[0] - 0.2f) <= 1e-7f);
	free(dev);
	free(one.data);
	/* Bad depth and bad output size fail. */
	semqr__plane pin, pout;
	cl_mem m = ref_image_upload(ctx, &in, &pin);
	pout = pin;
	semqr_error err;
	assert_int_equal(semqr__stage_bin2(ctx, &pin, 12, 0.0f, 0.0f, &pout, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__stage_bin2(ctx, &pin, 16, 0.0f, 0.0f, &pout, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	clReleaseMemObject(m);
	free(in.data);
}

/* A Poisson deviate of mean lambda (Knuth's product method; lambda < 500). */
static int poisson(ref_rng *rng, double lambda)
{
	double limit = exp(-lambda), p = 1.0;
	int k = -1;
	do {
		k++;
		p *= (ref_rng_u32(rng) + 0.5) / 4294967296.0;
	} while (p > limit);
	return k;
}

/* Binned Anscombe noise: 8-bit pixels offset + gain * n, n Poisson of mean
 * 5 and of mean 40, each binned over a 128 x 64 window (2048 output
 * pixels): the binned values' standard deviation lies in 0.45..0.55 at
 * both levels (the transform's 1/2). */
static void test_anscombe_half_noise(void **state)
{
	(void)state;
	static const double means[2] = {5.0, 40.0};
	ref_rng rng;
	ref_rng_seed(&rng, 12);
	for (int l = 0; l < 2; l++) {
		ref_image in;
		assert_int_equal(ref_image_init(&in, 1, 128, 64, 0, 0), 0);
		for (int y = 0; y < 64; y++)
			for (int x = 0; x < 128; x++) {
				int v = 10 + 2 * poisson(&rng, means[l]);
				*(uint8_t *)ref_image_at(&in, x, y) = (uint8_t)(v > 255 ? 255 : v);
			}
		float *dev = device_bin2(&in, 8, 2.0f, 10.0f);
		double s1 = 0.0, s2 = 0.0;
		for (int i = 0; i < 64 * 32; i++) {
			s1 += dev[i];
			s2 += (double)dev[i] * dev[i];
		}
		double m = s1 / 2048.0, sd = sqrt(s2 / 2048.0 - m * m);
		fprintf(stderr, "binned Anscombe, mean count %g: sd %.3f\n", means[l], sd);
		assert_true(sd > 0.45 && sd < 0.55);
		free(dev);
		free(in.data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_anscombe_half_noise),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
