/* The OpenCL self-test: builds kernels/selftest.cl on a device, runs its two
 * kernels and compares every result with a C reference.
 *
 * Each kernel computes out[y * W + x] = a * in[y * S + x] + b over a W x H
 * range from an 8-bit or 16-bit image whose row stride S exceeds W. The
 * padding pixels hold values of their own, so reading through the wrong
 * stride gives wrong results, and the output buffer extends past W * H with a
 * sentinel that must survive, so that work-items of the rounded-up range that
 * write outside the image are caught.
 *
 * Tolerance: OpenCL 1.2 rounds float * and + correctly, but a compiler may
 * contract a * v + b into one fused multiply-add while the C reference
 * (compiled as ISO C, without contraction) rounds twice. Each rounding errs
 * by at most 2^-24 of its result, so the two differ by at most about
 * 2^-24 (|a v| + 2 |a v + b|) <= 3 * 2^-24 (|a v| + |b|) ~ 1.8e-7 (|a v| + |b|);
 * results are accepted within 1e-6 (|a v| + |b|). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl/cl_internal.h"
#include "common/error_internal.h"

#define W SEMQR__CL_SELFTEST_WIDTH
#define H SEMQR__CL_SELFTEST_HEIGHT
#define STRIDE (W + 6)
/* Output floats beyond W * H that a kernel without its bounds check could
 * reach in the range semqr__cl_run_2d enqueues: rows up to H + TILE_MAX - 1,
 * columns up to W + TILE_MAX - 1. */
#define TAIL ((SEMQR__CL_TILE_MAX + 1) * W + SEMQR__CL_TILE_MAX)
#define SENTINEL 1.0e30f

/* One kernel's case: the input element size and the affine coefficients. */
struct selftest_case {
	const char *function;
	size_t elem_size; /* 1: uchar, 2: ushort */
	float a, b;
};

static const struct selftest_case cases[] = {
	{"selftest_affine_u8", 1, 1.0f / 255.0f, -0.5f},
	{"selftest_affine_u16", 2, -3.0f / 65535.0f, 1.25f},
};

/* Pixel i of the input, all values of the type occurring (a 32-bit linear
 * congruential generator, top bits). */
static unsigned input_value(uint32_t *state, size_t elem_size)
{
	*state = *state * 1664525u + 1013904223u;
	return elem_size == 1 ? *state >> 24 : *state >> 16;
}

/* Compares the device's output with the reference; fails naming the first
 * mismatch. */
static semqr_status check(const semqr__cl_context *ctx, const struct selftest_case *c,
                          const void *in, const float *out, semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			size_t i = (size_t)y * STRIDE + (size_t)x;
			float v = c->elem_size == 1 ? (float)((const uint8_t *)in)[i]
			                            : (float)((const uint16_t *)in)[i];
			float product = c->a * v;
			float want = product + c->b;
			float got = out[y * W + x];
			float tol = 1e-6f * (fabsf(product) + fabsf(c->b));
			if (!(fabsf(got - want) <= tol))
				return semqr__fail(err, SEMQR_ERR_OPENCL,
				                   "self-test kernel %s on %s: out[%d, %d] = %.9g, expected "
				                   "%.9g (= %.9g * %g + %.9g, tolerance %.3g)",
				                   c->function, device, x, y, (double)got, (double)want,
				                   (double)c->a, (double)v, (double)c->b, (double)tol);
		}
	}
	for (size_t i = 0; i < TAIL; i++)
		if (out[W * H + i] != SENTINEL)
			return semqr__fail(err, SEMQR_ERR_OPENCL,
			                   "self-test kernel %s on %s: wrote output element %zu, beyond "
			                   "the %d x %d range", c->function, device, (size_t)(W * H) + i,
			                   W, H);
	return SEMQR_OK;
}

/* Runs one case on ctx's device and checks it. */
static semqr_status run_case(semqr__cl_context *ctx, const struct selftest_case *c,
                             semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	size_t in_bytes = (size_t)STRIDE * H * c->elem_size;
	size_t out_count = (size_t)W * H + TAIL;
	void *in = malloc(in_bytes);
	float *out = malloc(out_count * sizeof *out);
	cl_kernel kernel = NULL;
	cl_mem in_buf = NULL, out_buf = NULL;
	semqr_status st = SEMQR_OK;
	cl_int cst;
	if (!in || !out) {
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "self-test on %s: out of memory", device);
		goto done;
	}
	uint32_t state = 12345u;
	for (size_t i = 0; i < (size_t)STRIDE * H; i++) {
		unsigned v = input_value(&state, c->elem_size);
		if (c->elem_size == 1)
			((uint8_t *)in)[i] = (uint8_t)v;
		else
			((uint16_t *)in)[i] = (uint16_t)v;
	}
	for (size_t i = 0; i < out_count; i++)
		out[i] = SENTINEL;

	cl_context cl = semqr__cl_context_handle(ctx);
	in_buf = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, in_bytes, in, &cst);
	if (cst == CL_SUCCESS)
		out_buf = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
		                         out_count * sizeof *out, out, &cst);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "self-test on %s: clCreateBuffer", device);
		goto done;
	}
	st = semqr__cl_kernel(ctx, "selftest", c->function, &kernel, err);
	if (st != SEMQR_OK)
		goto done;
	cl_int stride = STRIDE, width = W, height = H;
	cl_float a = c->a, b = c->b;
	cst = clSetKernelArg(kernel, 0, sizeof in_buf, &in_buf);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 1, sizeof stride, &stride);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 2, sizeof width, &width);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 3, sizeof height, &height);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 4, sizeof a, &a);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 5, sizeof b, &b);
	if (cst == CL_SUCCESS)
		cst = clSetKernelArg(kernel, 6, sizeof out_buf, &out_buf);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "self-test kernel %s on %s: clSetKernelArg",
		                    c->function, device);
		goto done;
	}
	st = semqr__cl_run_2d(ctx, kernel, W, H, err);
	if (st != SEMQR_OK)
		goto done;
	/* Poison the host copy so that only values read back are checked. */
	memset(out, 0xff, out_count * sizeof *out);
	cst = clEnqueueReadBuffer(semqr__cl_queue(ctx), out_buf, CL_TRUE, 0, out_count * sizeof *out,
	                          out, 0, NULL, NULL);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "self-test kernel %s on %s: clEnqueueReadBuffer",
		                    c->function, device);
		goto done;
	}
	st = check(ctx, c, in, out, err);
done:
	if (kernel)
		clReleaseKernel(kernel);
	if (in_buf)
		clReleaseMemObject(in_buf);
	if (out_buf)
		clReleaseMemObject(out_buf);
	free(in);
	free(out);
	return st;
}

semqr_status semqr_cl_selftest(const semqr_cl_device_info *dev, semqr_error *err)
{
	semqr__cl_context *ctx;
	semqr_status st = semqr__cl_context_create(dev, &ctx, err);
	if (st != SEMQR_OK)
		return st;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0] && st == SEMQR_OK; i++)
		st = run_case(ctx, &cases[i], err);
	semqr__cl_context_destroy(ctx);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}
