/* The load and flatten stages (kernels/flatten.cl through semqr__stage_load
 * and semqr__stage_flatten) against their C references, and what they are
 * for: the Anscombe transform's unit noise, a linear background removed
 * exactly, local contrast normalised; and the fused semqr__stage_load_flatten
 * against the two stages run one after the other (bit for bit).
 *
 * Tolerance: loads agree within 1e-6 relative; flatten within 1e-5 of
 * max(1, |reference|) (the sums run in the same order; / and sqrt may differ by
 * the few ulp OpenCL allows). Needs an OpenCL device. */
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

/* A float output image of w x h filled with the sentinel, on the device. */
struct output {
	ref_image im;
	cl_mem mem;
	semqr__plane plane;
};

static void output_init(struct output *o, int w, int h)
{
	float sentinel = SENTINEL;
	assert_int_equal(ref_image_init(&o->im, sizeof(float), w, h, 1, 4), 0);
	ref_image_fill(&o->im, &sentinel);
	o->mem = ref_image_upload(ctx, &o->im, &o->plane);
	assert_non_null(o->mem);
}

/* Reads the output back and returns its window (stride w), checking that
 * nothing outside it was written; releases the device buffer. */
static float *output_finish(struct output *o)
{
	float sentinel = SENTINEL;
	float *win = malloc((size_t)o->im.w * (size_t)o->im.h * sizeof *win);
	assert_non_null(win);
	assert_int_equal(ref_image_download(ctx, o->mem, &o->im), 0);
	assert_int_equal(ref_image_window(&o->im, &sentinel, win), 0);
	clReleaseMemObject(o->mem);
	free(o->im.data);
	return win;
}

static void check_status(semqr_status st, const semqr_error *err)
{
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err->message);
	assert_int_equal(st, SEMQR_OK);
}

/* Device load of `in` (8 or 16 bits) against the reference. */
static void check_load(const ref_image *in, int bits, float gain, float offset)
{
	int w = in->w, h = in->h;
	struct output o;
	output_init(&o, w, h);
	semqr__plane pin;
	cl_mem in_mem = ref_image_upload(ctx, in, &pin);
	assert_non_null(in_mem);
	semqr_error err;
	check_status(semqr__stage_load(ctx, &pin, bits, gain, offset, &o.plane, &err), &err);
	float *dev = output_finish(&o);
	float *ref = malloc((size_t)w * (size_t)h * sizeof *ref);
	assert_non_null(ref);
	if (bits == 8)
		ref_load_u8(ref_image_at(in, 0, 0), in->stride, w, h, gain, offset, ref, w);
	else
		ref_load_u16(ref_image_at(in, 0, 0), in->stride, w, h, gain, offset, ref, w);
	for (int i = 0; i < w * h; i++)
		assert_true(fabsf(dev[i] - ref[i]) <= 1e-6f * fmaxf(1.0f, fabsf(ref[i])));
	clReleaseMemObject(in_mem);
	free(dev);
	free(ref);
}

/* Loads of random 8-bit and 16-bit images, plain and Anscombe: 4 sizes x 2
 * depths x 2 modes (16 trials); plain loads are checked against v / vmax
 * directly as well, and the corner values 0 and vmax map to 0 and 1. */
static void test_load(void **state)
{
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}, {1023, 37}};
	ref_rng rng;
	ref_rng_seed(&rng, 4);
	for (size_t s = 0; s < 4; s++)
		for (int bits = 8; bits <= 16; bits += 8) {
			ref_image in;
			size_t elem = (size_t)bits / 8;
			assert_int_equal(ref_image_init(&in, elem, sizes[s][0], sizes[s][1], 0, 3),
			                 0);
			for (size_t i = 0; i < in.count; i++) {
				uint32_t v = ref_rng_u32(&rng);
				if (bits == 8)
					in.data[i] = (uint8_t)v;
				else
					((uint16_t *)in.data)[i] = (uint16_t)v;
			}
			if (bits == 8)
				*(uint8_t *)ref_image_at(&in, 0, 0) = 255;
			else
				*(uint16_t *)ref_image_at(&in, 0, 0) = 65535;
			check_load(&in, bits, 0.0f, 0.0f);
			check_load(&in, bits, bits == 8 ? 1.5f : 300.0f, 5.0f);
			free(in.data);
		}
	/* Direct check of the linear map, and of both ends. */
	ref_image in;
	assert_int_equal(ref_image_init(&in, 2, 3, 1, 0, 0), 0);
	uint16_t zero = 0;
	ref_image_fill(&in, &zero);
	*(uint16_t *)ref_image_at(&in, 1, 0) = 65535;
	*(uint16_t *)ref_image_at(&in, 2, 0) = 1000;
	struct output o;
	output_init(&o, 3, 1);
	semqr__plane pin;
	cl_mem m = ref_image_upload(ctx, &in, &pin);
	semqr_error err;
	check_status(semqr__stage_load(ctx, &pin, 16, 0.0f, 0.0f, &o.plane, &err), &err);
	float *dev = output_finish(&o);
	assert_true(dev[0] == 0.0f && dev[1] == 1.0f);
	assert_true(fabsf(dev[2] - 1000.0f / 65535.0f) <= 1e-7f);
	assert_int_equal(semqr__stage_load(ctx, &pin, 12, 0.0f, 0.0f, &o.plane, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	free(dev);
	free(in.data);
	clReleaseMemObject(m);
}

/* A Poisson deviate of mean lambda (Knuth's product method; lambda < 500). */
static int poisson(ref_rng *rng, double lambda)
{
	double limit = exp(-lambda), p = 1.0;
	int k = -1;
	do {
		k++;
		p *= ((double)ref_rng_u32(rng) + 0.5) / 4294967296.0;
	} while (p > limit);
	return k;
}

/* Anscombe: 8-bit grey values offset + gain * n with n Poisson of mean 20 and
 * of mean 100 (gain 2, offset 10) come out with noise deviation 1 within 8%
 * in both (4096 samples each), where the linear load's deviations differ by
 * more than 2x. */
static void test_anscombe_stabilises(void **state)
{
	static const double means[2] = {20.0, 100.0};
	double sd[2], sd_linear[2];
	ref_rng rng;
	ref_rng_seed(&rng, 5);
	for (int c = 0; c < 2; c++) {
		ref_image in;
		assert_int_equal(ref_image_init(&in, 1, 64, 64, 0, 0), 0);
		for (size_t i = 0; i < in.count; i++) {
			int v = 10 + 2 * poisson(&rng, means[c]);
			in.data[i] = (uint8_t)(v > 255 ? 255 : v);
		}
		for (int mode = 0; mode < 2; mode++) {
			struct output o;
			output_init(&o, 64, 64);
			semqr__plane pin;
			cl_mem m = ref_image_upload(ctx, &in, &pin);
			semqr_error err;
			check_status(semqr__stage_load(ctx, &pin, 8, mode ? 2.0f : 0.0f, 10.0f,
			                               &o.plane, &err),
			             &err);
			float *dev = output_finish(&o);
			double mean = 0.0, var = 0.0;
			for (int i = 0; i < 4096; i++)
				mean += dev[i];
			mean /= 4096;
			for (int i = 0; i < 4096; i++)
				var += (dev[i] - mean) * (dev[i] - mean);
			(mode ? sd : sd_linear)[c] = sqrt(var / 4096);
			free(dev);
			clReleaseMemObject(m);
		}
		free(in.data);
	}
	assert_true(fabs(sd[0] - 1.0) < 0.08 && fabs(sd[1] - 1.0) < 0.08);
	assert_true(sd_linear[1] / sd_linear[0] > 2.0);
}

/* Device flatten of float image `in` against the reference; returns the
 * device window (stride w). */
static float *check_flatten(const ref_image *in, int block, int normalise, float floor_sd)
{
	int w = in->w, h = in->h;
	struct output o;
	output_init(&o, w, h);
	semqr__plane pin;
	cl_mem in_mem = ref_image_upload(ctx, in, &pin);
	assert_non_null(in_mem);
	semqr_error err;
	check_status(semqr__stage_flatten(ctx, &pin, block, normalise, floor_sd, &o.plane, &err),
	             &err);
	float *dev = output_finish(&o);
	float *ref = malloc((size_t)w * (size_t)h * sizeof *ref);
	assert_non_null(ref);
	assert_int_equal(ref_flatten(ref_image_at(in, 0, 0), in->stride, w, h, block, normalise,
	                             floor_sd, ref, w),
	                 0);
	for (int i = 0; i < w * h; i++)
		if (!(fabsf(dev[i] - ref[i]) <= 1e-5f * fmaxf(1.0f, fabsf(ref[i])))) {
			fprintf(stderr,
			        "%dx%d block %d norm %d pixel %d: device %.9g reference %.9g\n", w,
			        h, block, normalise, i, (double)dev[i], (double)ref[i]);
			fail();
		}
	clReleaseMemObject(in_mem);
	free(ref);
	return dev;
}

/* Random input (uniform [0, 1) plus a gradient): 5 sizes x 5 block sizes
 * (1 to larger than the image) x normalisation off/on (50 trials). */
static void test_random_vs_reference(void **state)
{
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}, {1023, 37}, {130, 129}};
	static const int blocks[] = {1, 2, 7, 64, 2000};
	ref_rng rng;
	ref_rng_seed(&rng, 6);
	for (size_t s = 0; s < 5; s++)
		for (size_t b = 0; b < 5; b++)
			for (int norm = 0; norm < 2; norm++) {
				ref_image in;
				int w = sizes[s][0], h = sizes[s][1];
				assert_int_equal(ref_image_init(&in, sizeof(float), w, h, 0, 2), 0);
				for (size_t i = 0; i < in.count; i++)
					((float *)in.data)[i] =
					    ref_rng_uniform(&rng) + (float)(i % 97) * 0.01f;
				free(check_flatten(&in, blocks[b], norm, 1e-3f));
				free(in.data);
			}
}

/* A linear background a + bx + cy: every block mean equals the background at
 * the block's centre (partial blocks included), and bilinear interpolation of
 * a linear function is exact, so the output is 0 between the outermost block
 * centres; beyond them the background is held constant, so the output there
 * is the background's own slope times the distance. */
static void test_linear_background(void **state)
{
	int w = 100, h = 75, block = 16; /* partial last blocks: 4 and 11 pixels */
	ref_image in;
	assert_int_equal(ref_image_init(&in, sizeof(float), w, h, 0, 0), 0);
	for (int y = -1; y <= h; y++)
		for (int x = 0; x < w; x++)
			*(float *)ref_image_at(&in, x, y) =
			    0.2f + 0.003f * (float)x + 0.002f * (float)y;
	float *dev = check_flatten(&in, block, 0, 1.0f);
	/* Centres: 7.5, 23.5, ..., 87.5 and the partial block's 97.5 in x; 7.5 ..
	 * 55.5 and 69 in y. */
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double ex = x < 7.5    ? 0.003 * (x - 7.5)
			            : x > 97.5 ? 0.003 * (x - 97.5)
			                       : 0.0;
			double ey = y < 7.5    ? 0.002 * (y - 7.5)
			            : y > 69.0 ? 0.002 * (y - 69.0)
			                       : 0.0;
			assert_true(fabs(dev[y * w + x] - (ex + ey)) <= 2e-5);
		}
	free(dev);
	free(in.data);
}

/* Normalisation: a gradient plus Gaussian noise of deviation 0.05 comes out
 * with mean 0 and deviation 1 (within 5%) over 200 x 200 pixels, blocks of 50
 * (the block deviation includes a little of the gradient, hence < 1). */
static void test_normalise(void **state)
{
	int w = 200, h = 200;
	ref_image in;
	assert_int_equal(ref_image_init(&in, sizeof(float), w, h, 0, 0), 0);
	ref_rng rng;
	ref_rng_seed(&rng, 8);
	for (int y = -1; y <= h; y++)
		for (int x = 0; x < w; x++)
			*(float *)ref_image_at(&in, x, y) =
			    0.3f + 0.0002f * (float)(x + y) + 0.05f * ref_rng_gauss(&rng);
	float *dev = check_flatten(&in, 50, 1, 1e-3f);
	double mean = 0.0, var = 0.0;
	for (int i = 0; i < w * h; i++)
		mean += dev[i];
	mean /= w * h;
	for (int i = 0; i < w * h; i++)
		var += (dev[i] - mean) * (dev[i] - mean);
	assert_true(fabs(mean) < 0.05);
	assert_true(fabs(sqrt(var / (w * h)) - 1.0) < 0.05);
	free(dev);
	free(in.data);
}

/* The fused stage on 8- and 16-bit random input (with a gradient, so that
 * the background matters) gives exactly, bit for bit, what load followed by
 * flatten gives: 2 depths x 4 sizes (widths that are and are not multiples
 * of 4) x 3 block sizes x normalisation off/on (48 trials); the output is
 * not trivially zero. */
static void test_load_flatten(void **state)
{
	static const int sizes[][2] = {{1, 1}, {5, 9}, {131, 67}, {256, 40}};
	static const int blocks[] = {1, 16, 500};
	ref_rng rng;
	ref_rng_seed(&rng, 8);
	int nonzero = 0;
	for (int bits = 8; bits <= 16; bits += 8)
		for (size_t s = 0; s < 4; s++)
			for (size_t b = 0; b < 3; b++)
				for (int norm = 0; norm < 2; norm++) {
					int w = sizes[s][0], h = sizes[s][1];
					size_t elem = (size_t)bits / 8;
					ref_image in;
					assert_int_equal(ref_image_init(&in, elem, w, h, 0, 3), 0);
					uint32_t vmax = bits == 8 ? 255u : 65535u;
					for (size_t i = 0; i < in.count; i++) {
						uint32_t v = (ref_rng_u32(&rng) % (vmax / 2) +
						              (uint32_t)(i % 61) * (vmax / 128)) %
						             (vmax + 1);
						if (bits == 8)
							in.data[i] = (unsigned char)v;
						else
							((uint16_t *)(void *)in.data)[i] = (uint16_t)v;
					}
					semqr__plane pin;
					cl_mem in_mem = ref_image_upload(ctx, &in, &pin);
					assert_non_null(in_mem);
					struct output loaded, fused, twostep;
					output_init(&loaded, w, h);
					output_init(&fused, w, h);
					output_init(&twostep, w, h);
					semqr_error err;
					check_status(semqr__stage_load(ctx, &pin, bits, 0.0f, 0.0f,
					                               &loaded.plane, &err),
					             &err);
					check_status(semqr__stage_flatten(ctx, &loaded.plane, blocks[b],
					                                  norm, 1e-3f, &twostep.plane,
					                                  &err),
					             &err);
					check_status(semqr__stage_load_flatten(ctx, &pin, bits, blocks[b],
					                                       norm, 1e-3f, &fused.plane,
					                                       &err),
					             &err);
					float *a = output_finish(&twostep), *f = output_finish(&fused);
					free(output_finish(&loaded));
					for (int i = 0; i < w * h; i++) {
						if (memcmp(&a[i], &f[i], sizeof(float)) != 0) {
							fprintf(stderr,
							        "%d-bit %dx%d block %d norm %d pixel %d: "
							        "fused %.9g, load + flatten %.9g\n",
							        bits, w, h, blocks[b], norm, i, (double)f[i],
							        (double)a[i]);
							fail();
						}
						nonzero += f[i] != 0.0f;
					}
					free(a);
					free(f);
					clReleaseMemObject(in_mem);
					free(in.data);
				}
	assert_true(nonzero > 10000);
}

/* Bad arguments are refused with a message. */
static void test_invalid(void **state)
{
	cl_mem m = ref_cl_buffer(ctx, 32 * 32 * sizeof(float), NULL);
	assert_non_null(m);
	semqr_error err;
	semqr__plane in = {m, 0, 32, 32, 32};
	semqr__plane out = {m, 0, 32, 32, 32};
	assert_int_equal(semqr__stage_flatten(ctx, &in, 0, 0, 0.0f, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__stage_flatten(ctx, &in, 8, 1, 0.0f, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	in.origin = 1;
	assert_int_equal(semqr__stage_flatten(ctx, &in, 8, 0, 0.0f, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "flatten input"));
	in.origin = 0;
	assert_int_equal(semqr__stage_load_flatten(ctx, &in, 12, 8, 0, 0.0f, &out, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "12-bit"));
	clReleaseMemObject(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_anscombe_stabilises),
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_linear_background),
	    cmocka_unit_test(test_normalise),
	    cmocka_unit_test(test_load_flatten),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
