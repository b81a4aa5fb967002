/* The integrate stage (kernels/integrate.cl through semqr__stage_integrate)
 * against its C reference, and its defined behaviour: integer shifts copy
 * pixels, half-pixel shifts average neighbours, samples outside the frame
 * add no weight, so the mean of shifted constant frames stays that constant.
 *
 * Tolerance: none. The kernel and the reference use only +, -, *, floor,
 * min and max (correctly rounded in OpenCL), in the same order, without
 * contraction, so every sum and weight must be bit-identical. Needs an
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
#include "support/ref_integrate.h"

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

/* A source frame of sw x sh pixels at `bits`, in a padded buffer; the
 * stage is given its rows win_y0 .. win_y0 + win_h - 1 as the window. */
typedef struct frame {
	ref_image im;
	int bits;
	int win_y0, win_h;
} frame;

static void frame_random(frame *f, int sw, int sh, int bits, ref_rng *rng)
{
	f->bits = bits;
	f->win_y0 = 0;
	f->win_h = sh;
	assert_int_equal(ref_image_init(&f->im, (size_t)bits / 8, sw, sh, 2, 3), 0);
	for (size_t i = 0; i < f->im.count; i++) {
		uint32_t v = ref_rng_u32(rng);
		if (bits == 8)
			f->im.data[i] = (uint8_t)v;
		else
			((uint16_t *)f->im.data)[i] = (uint16_t)v;
	}
}

/* Runs the device stage and the reference on copies of the same sum and
 * weight windows (width x height, sum initialised to init_sum + x mod 7,
 * weight to init_w),
 * asserts they are identical and nothing outside the windows was written,
 * and returns the device's sum and weight (stride width, caller frees). */
static void run_both(const frame *f, const semqr__shift_field *field, int ox, int oy, int width,
                     int height, float init_sum, float init_w, float **sum_out,
                     float **weight_out)
{
	ref_image sum, weight;
	float sentinel = -12345.0f;
	assert_int_equal(ref_image_init(&sum, sizeof(float), width, height, 1, 2), 0);
	assert_int_equal(ref_image_init(&weight, sizeof(float), width, height, 0, 1), 0);
	ref_image_fill(&sum, &sentinel);
	ref_image_fill(&weight, &sentinel);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			*(float *)ref_image_at(&sum, x, y) = init_sum + (float)(x % 7);
			*(float *)ref_image_at(&weight, x, y) = init_w;
		}
	size_t n = (size_t)width * (size_t)height;
	float *rs = malloc(n * sizeof *rs), *rw = malloc(n * sizeof *rw);
	float *ds = malloc(n * sizeof *ds), *dw = malloc(n * sizeof *dw);
	assert_non_null(rs);
	assert_non_null(rw);
	assert_non_null(ds);
	assert_non_null(dw);
	for (size_t i = 0; i < n; i++) {
		rs[i] = init_sum + (float)((i % (size_t)width) % 7);
		rw[i] = init_w;
	}
	ref_integrate(ref_image_at(&f->im, 0, f->win_y0), f->bits, f->im.stride, f->im.w, f->im.h,
	              f->win_y0, f->win_h, field, ox, oy, width, height, rs, width, rw, width);

	semqr__plane psrc, psum, pw;
	cl_mem src_mem = ref_image_upload(ctx, &f->im, &psrc);
	cl_mem sum_mem = ref_image_upload(ctx, &sum, &psum);
	cl_mem w_mem = ref_image_upload(ctx, &weight, &pw);
	assert_non_null(src_mem);
	assert_non_null(sum_mem);
	assert_non_null(w_mem);
	psrc.origin += (size_t)f->win_y0 * (size_t)psrc.stride;
	psrc.height = f->win_h;
	semqr_error err;
	semqr_status st = semqr__stage_integrate(ctx, &psrc, f->bits, f->win_y0, f->im.h, field,
	                                         ox, oy, &psum, &pw, &err);
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err.message);
	assert_int_equal(st, SEMQR_OK);
	assert_int_equal(ref_image_download(ctx, sum_mem, &sum), 0);
	assert_int_equal(ref_image_download(ctx, w_mem, &weight), 0);
	assert_int_equal(ref_image_window(&sum, &sentinel, ds), 0);
	assert_int_equal(ref_image_window(&weight, &sentinel, dw), 0);
	for (size_t i = 0; i < n; i++) {
		if (ds[i] != rs[i] || dw[i] != rw[i]) {
			fprintf(stderr, "%dx%d from %dx%d, %d-bit, pixel %zu: device %.9g/%g, "
			        "reference %.9g/%g\n", width, height, f->im.w, f->im.h, f->bits, i,
			        (double)ds[i], (double)dw[i], (double)rs[i], (double)rw[i]);
			fail();
		}
	}
	clReleaseMemObject(src_mem);
	clReleaseMemObject(sum_mem);
	clReleaseMemObject(w_mem);
	free(sum.data);
	free(weight.data);
	free(rs);
	free(rw);
	*sum_out = ds;
	*weight_out = dw;
}

/* Random sources (odd sizes, 8 and 16 bits), random constant shifts up to
 * +-6 px and random 1x1 to 4x3 node grids, output windows offset so that
 * many samples fall outside the frame: 5 sizes x 2 depths x 4 fields = 40
 * trials, each checked bit for bit against the reference. */
static void test_random_vs_reference(void **state)
{
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}, {61, 37}, {40, 41}};
	static const int grids[][2] = {{1, 1}, {2, 1}, {1, 3}, {4, 3}};
	ref_rng rng;
	ref_rng_seed(&rng, 5);
	for (size_t s = 0; s < 5; s++)
		for (int bits = 8; bits <= 16; bits += 8)
			for (size_t g = 0; g < 4; g++) {
				int sw = sizes[s][0], sh = sizes[s][1];
				frame f;
				frame_random(&f, sw, sh, bits, &rng);
				float nodes[24];
				int nx = grids[g][0], ny = grids[g][1];
				for (int i = 0; i < 2 * nx * ny; i++)
					nodes[i] = (ref_rng_uniform(&rng) - 0.5f) * 12.0f;
				semqr__shift_field field = {nx, ny,
				                            (float)sw * ref_rng_uniform(&rng),
				                            (float)sh * ref_rng_uniform(&rng),
				                            1.0f + (float)sw * ref_rng_uniform(&rng) / 2,
				                            1.0f + (float)sh * ref_rng_uniform(&rng) / 2,
				                            nodes};
				int ox = (int)(ref_rng_u32(&rng) % 7) - 3;
				int oy = (int)(ref_rng_u32(&rng) % 7) - 3;
				float *sum, *w;
				run_both(&f, &field, ox, oy, sw + 2, sh + 1, 10.0f, 2.0f, &sum, &w);
				free(sum);
				free(w);
				free(f.im.data);
			}
}

/* A window of frame rows gives the whole frame's result exactly when it
 * holds every row the shifted samples touch, and still matches the
 * reference when it does not (rows clamped into the window): random 8 and
 * 16-bit frames, 2 x 3 fields with shifts up to +-6 px, sum windows of
 * rows [a, b) at out_y0 = a with source windows of a +- 8 rows (enough)
 * and a +- 2 rows (too few), 12 trials each bit for bit. */
static void test_windowed_source(void **state)
{
	ref_rng rng;
	ref_rng_seed(&rng, 21);
	for (int trial = 0; trial < 12; trial++) {
		int bits = trial % 2 ? 16 : 8;
		int sw = 33 + trial, sh = 61 + 2 * trial;
		frame f;
		frame_random(&f, sw, sh, bits, &rng);
		float nodes[12];
		for (int i = 0; i < 12; i++)
			nodes[i] = (ref_rng_uniform(&rng) - 0.5f) * 12.0f;
		semqr__shift_field field = {2, 3, 4.0f, 6.0f, (float)sw / 2, (float)sh / 3, nodes};
		int a = (int)(ref_rng_u32(&rng) % (unsigned)(sh - 10)), b = a + 10;
		float *whole_sum, *whole_w, *sum, *w;
		run_both(&f, &field, 0, a, sw, b - a, 0.0f, 0.0f, &whole_sum, &whole_w);
		for (int margin = 8; margin >= 2; margin -= 6) {
			f.win_y0 = a - margin > 0 ? a - margin : 0;
			f.win_h = (b + margin < sh ? b + margin : sh) - f.win_y0;
			run_both(&f, &field, 0, a, sw, b - a, 0.0f, 0.0f, &sum, &w);
			if (margin == 8)
				for (int i = 0; i < sw * (b - a); i++)
					assert_true(sum[i] == whole_sum[i] && w[i] == whole_w[i]);
			free(sum);
			free(w);
		}
		free(whole_sum);
		free(whole_w);
		free(f.im.data);
	}
}

/* Exact expectations. 16-bit frame v(x, y) = 1000 + 37 x + 101 y (linear,
 * so bilinear interpolation reproduces it exactly in float):
 * - shift (3, -2): sum = v(x + 3, y - 2) and weight 1 where that pixel
 *   exists, 0 elsewhere;
 * - shift (0.5, 0.25): sum = v(x + 0.5, y + 0.25) where inside, and at the
 *   right border x = w - 1, x + 0.5 is exactly the frame edge: still valid,
 *   clamped to the edge pixel's value (v(w - 1, y + 0.25));
 * - shift (-0.5000305, 0) (just beyond the left edge for x = 0): column 0
 *   gets no weight. */
static void test_exact_shifts(void **state)
{
	int w = 23, h = 17;
	frame f;
	f.bits = 16;
	f.win_y0 = 0;
	f.win_h = h;
	assert_int_equal(ref_image_init(&f.im, 2, w, h, 0, 0), 0);
	memset(f.im.data, 0, f.im.count * 2);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			*(uint16_t *)ref_image_at(&f.im, x, y) = (uint16_t)(1000 + 37 * x + 101 * y);
	float nodes[2] = {3.0f, -2.0f};
	semqr__shift_field field = {1, 1, 0, 0, 1, 1, nodes};
	float *sum, *wt;
	run_both(&f, &field, 0, 0, w, h, 0.0f, 0.0f, &sum, &wt);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int in = x + 3 < w && y - 2 >= 0;
			assert_true(wt[y * w + x] == (in ? 1.0f : 0.0f));
			float base = (float)(x % 7);
			if (in)
				assert_true(sum[y * w + x] ==
				            base + (float)(1000 + 37 * (x + 3) + 101 * (y - 2)));
			else
				assert_true(sum[y * w + x] == base);
		}
	free(sum);
	free(wt);

	nodes[0] = 0.5f;
	nodes[1] = 0.25f;
	run_both(&f, &field, 0, 0, w, h, 0.0f, 0.0f, &sum, &wt);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int in = y + 0.25 <= h - 0.5;
			assert_true(wt[y * w + x] == (in ? 1.0f : 0.0f));
			if (!in)
				continue;
			double sx = x + 0.5 < w - 1 ? x + 0.5 : w - 1;
			double sy = y + 0.25 < h - 1 ? y + 0.25 : h - 1;
			assert_true(fabs(sum[y * w + x] - (x % 7) - (1000 + 37 * sx + 101 * sy)) <
			            1e-3);
		}
	free(sum);
	free(wt);

	nodes[0] = -0.5000305f;
	nodes[1] = 0.0f;
	run_both(&f, &field, 0, 0, w, h, 0.0f, 0.0f, &sum, &wt);
	for (int y = 0; y < h; y++) {
		assert_true(wt[y * w] == 0.0f);
		assert_true(wt[y * w + 1] == 1.0f);
	}
	free(sum);
	free(wt);
	free(f.im.data);
}

/* The mean stays unbiased at borders: 9 frames of the same constant 8-bit
 * image, each with its own random shift field (2 x 2 nodes, up to +-8 px),
 * accumulated into one sum and weight; sum / weight must equal the constant
 * wherever weight > 0, weight must never exceed the frame count, and the
 * unshifted first frame makes every weight at least 1. */
static void test_unbiased_mean(void **state)
{
	int w = 45, h = 31, frames = 9;
	frame f;
	f.bits = 8;
	assert_int_equal(ref_image_init(&f.im, 1, w, h, 0, 0), 0);
	memset(f.im.data, 77, f.im.count);
	size_t n = (size_t)(w * h);
	cl_mem src_mem = NULL, sum_mem = ref_cl_buffer(ctx, n * sizeof(float), NULL),
	       w_mem = ref_cl_buffer(ctx, n * sizeof(float), NULL);
	semqr__plane psrc, psum = {sum_mem, 0, w, w, h}, pw = {w_mem, 0, w, w, h};
	src_mem = ref_image_upload(ctx, &f.im, &psrc);
	assert_non_null(src_mem);
	assert_non_null(sum_mem);
	assert_non_null(w_mem);
	float zero = 0.0f;
	cl_command_queue q = semqr__cl_queue(ctx);
	assert_int_equal(clEnqueueFillBuffer(q, sum_mem, &zero, sizeof zero, 0, n * sizeof(float),
	                                     0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clEnqueueFillBuffer(q, w_mem, &zero, sizeof zero, 0, n * sizeof(float), 0,
	                                     NULL, NULL), CL_SUCCESS);
	ref_rng rng;
	ref_rng_seed(&rng, 9);
	semqr_error err;
	for (int k = 0; k < frames; k++) {
		float nodes[8];
		for (int i = 0; i < 8; i++)
			nodes[i] = k ? (ref_rng_uniform(&rng) - 0.5f) * 16.0f : 0.0f;
		semqr__shift_field field = {2, 2, 5.0f, 4.0f, 30.0f, 20.0f, nodes};
		assert_int_equal(
		    semqr__stage_integrate(ctx, &psrc, 8, 0, h, &field, 0, 0, &psum, &pw, &err),
		    SEMQR_OK);
	}
	float *sum = malloc(n * sizeof *sum), *wt = malloc(n * sizeof *wt);
	assert_non_null(sum);
	assert_non_null(wt);
	assert_int_equal(ref_cl_read(ctx, sum_mem, n * sizeof(float), sum), 0);
	assert_int_equal(ref_cl_read(ctx, w_mem, n * sizeof(float), wt), 0);
	int partial = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(wt[i] >= 1.0f && wt[i] <= (float)frames);
		assert_true(sum[i] == 77.0f * wt[i]);
		partial += wt[i] < (float)frames;
	}
	assert_true(partial > 0); /* the shifts did push samples out of the frame */
	free(sum);
	free(wt);
	clReleaseMemObject(src_mem);
	clReleaseMemObject(sum_mem);
	clReleaseMemObject(w_mem);
	free(f.im.data);
}

/* Bad arguments are refused, naming what is wrong. */
static void test_invalid(void **state)
{
	cl_mem src = ref_cl_buffer(ctx, 32 * 32, NULL);
	cl_mem acc = ref_cl_buffer(ctx, 32 * 32 * sizeof(float), NULL);
	assert_non_null(src);
	assert_non_null(acc);
	float nodes[4] = {0};
	semqr__shift_field field = {1, 1, 0, 0, 1, 1, nodes};
	semqr__plane ps = {src, 0, 32, 32, 32}, pa = {acc, 0, 32, 32, 32};
	semqr_error err;
	assert_int_equal(semqr__stage_integrate(ctx, &ps, 12, 0, 32, &field, 0, 0, &pa, &pa, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	/* 16-bit source: the 8-bit buffer is too small. */
	assert_int_equal(semqr__stage_integrate(ctx, &ps, 16, 0, 32, &field, 0, 0, &pa, &pa, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "integrate source"));
	field.nx = 2;
	field.step_x = 0;
	assert_int_equal(semqr__stage_integrate(ctx, &ps, 8, 0, 32, &field, 0, 0, &pa, &pa, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "shift field"));
	field.step_x = 1;
	/* A window reaching past the frame's last row. */
	assert_int_equal(semqr__stage_integrate(ctx, &ps, 8, 1, 32, &field, 0, 0, &pa, &pa, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "window"));
	field.nx = 1;
	semqr__plane small = {acc, 0, 32, 31, 32};
	assert_int_equal(semqr__stage_integrate(ctx, &ps, 8, 0, 32, &field, 0, 0, &pa, &small, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	clReleaseMemObject(src);
	clReleaseMemObject(acc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_windowed_source),
	    cmocka_unit_test(test_exact_shifts),
	    cmocka_unit_test(test_unbiased_mean),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
