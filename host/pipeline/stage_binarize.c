/* Host wrapper of kernels/binarize.cl: the local-mean threshold (contracts in
 * pipeline/stages.h). */
#include <stdio.h>

#include "common/error_internal.h"
#include "pipeline/stages.h"

float semqr__binarize_inv_area(int radius)
{
	float side = (float)(2 * radius + 1);
	return 1.0f / (side * side);
}

size_t semqr__stage_binarize_scratch(int width, int height, int radius)
{
	return (size_t)width * (size_t)(height + 2 * radius) * sizeof(cl_float);
}

semqr_status semqr__stage_binarize(semqr__cl_context *ctx, const semqr__plane *in, int radius,
                                   float offset, cl_mem scratch, const semqr__plane *out,
                                   semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (radius < 0 || radius > SEMQR__BINARIZE_RADIUS_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "binarize stage on %s: radius %d (must be 0..%d)", device,
		                   radius, SEMQR__BINARIZE_RADIUS_MAX);
	if (in->width != out->width || in->height != out->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "binarize stage: input %d x %d and output %d x %d differ",
		                   in->width, in->height, out->width, out->height);
	semqr_status st =
	    semqr__plane_check(ctx, in, sizeof(cl_float), radius, radius, "binarize input", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, out, sizeof(cl_uchar), 0, 0, "binarize output", err);
	size_t scratch_bytes = semqr__stage_binarize_scratch(in->width, in->height, radius);
	if (st == SEMQR_OK && scratch)
		st = semqr__scratch_check(ctx, scratch, scratch_bytes, "binarize", err);
	if (st != SEMQR_OK)
		return st;

	/* The row sums cover the output rows and radius rows above and below. */
	cl_int tw = in->width, th = in->height + 2 * radius;
	char rows_name[32], thr_name[32];
	snprintf(rows_name, sizeof rows_name, "binarize_rows_%d", radius);
	snprintf(thr_name, sizeof thr_name, "binarize_threshold_%d", radius);
	cl_kernel rows_k = NULL, thr_k = NULL;
	cl_mem tmp = scratch;
	if (!tmp) {
		cl_int cst;
		tmp = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_WRITE,
		                     scratch_bytes, NULL, &cst);
		if (cst != CL_SUCCESS)
			return semqr__cl_fail(err, cst,
			                      "binarize stage on %s: clCreateBuffer (%d x %d)",
			                      device, tw, th);
	}
	st = semqr__cl_kernel_radius(ctx, "binarize", radius, rows_name, &rows_k, err);
	if (st == SEMQR_OK)
		st = semqr__cl_kernel_radius(ctx, "binarize", radius, thr_name, &thr_k, err);
	if (st != SEMQR_OK)
		goto done;

	cl_int rows_origin = (cl_int)(in->origin - (size_t)radius * (size_t)in->stride);
	cl_int zero = 0, tmp_origin = radius * tw;
	cl_int in_origin = (cl_int)in->origin, out_origin = (cl_int)out->origin;
	cl_float inv_area = semqr__binarize_inv_area(radius), off = offset;
	semqr__kernel_arg row_args[] = {
	    SEMQR__ARG(in->mem), SEMQR__ARG(rows_origin), SEMQR__ARG(in->stride), SEMQR__ARG(tw),
	    SEMQR__ARG(th),      SEMQR__ARG(tmp),         SEMQR__ARG(zero),       SEMQR__ARG(tw),
	};
	semqr__kernel_arg thr_args[] = {
	    SEMQR__ARG(in->mem),     SEMQR__ARG(in_origin),   SEMQR__ARG(in->stride),
	    SEMQR__ARG(tmp),         SEMQR__ARG(tmp_origin),  SEMQR__ARG(tw),
	    SEMQR__ARG(out->width),  SEMQR__ARG(out->height), SEMQR__ARG(inv_area),
	    SEMQR__ARG(off),         SEMQR__ARG(out->mem),    SEMQR__ARG(out_origin),
	    SEMQR__ARG(out->stride),
	};
	st = semqr__set_args(ctx, rows_k, rows_name, row_args, 8, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, rows_k, (size_t)tw, (size_t)th, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, thr_k, thr_name, thr_args, 13, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, thr_k, (size_t)out->width, (size_t)out->height, err);
done:
	if (rows_k)
		clReleaseKernel(rows_k);
	if (thr_k)
		clReleaseKernel(thr_k);
	if (tmp != scratch)
		clReleaseMemObject(tmp);
	return st;
}
