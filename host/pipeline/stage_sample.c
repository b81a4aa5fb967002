/* Host wrapper of kernels/sample.cl: module means of located symbols, and
 * their soft matrices (contracts in pipeline/stage_sample.h). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/error_internal.h"
#include "pipeline/stage_sample.h"
#include "qr/qr_internal.h"

_Static_assert(sizeof(semqr__sample_symbol) == 56, "semqr__sample_symbol must match sample.cl");

/* The window pixel nearest to coordinate c in 0..side-1 (c finite). */
static cl_int nearest_pixel(double c, int side)
{
	double r = floor(c + 0.5);
	return (cl_int)(r < 0.0 ? 0.0 : r > side - 1 ? side - 1 : r);
}

void semqr__sample_symbol_init(const double h[9], int size, int offset, int width, int height,
                               semqr__sample_symbol *out)
{
	out->size = size;
	out->offset = offset;
	out->side = semqr__sample_side(h, size);
	/* H T(c, c): the third column becomes the image (xn, yn, wn) of the centre. */
	double c = 0.5 * size;
	double m[9] = {h[0], h[1], h[0] * c + h[1] * c + h[2],
	               h[3], h[4], h[3] * c + h[4] * c + h[5],
	               h[6], h[7], h[6] * c + h[7] * c + h[8]};
	double xc = m[2] / m[8], yc = m[5] / m[8], scale = m[8];
	cl_int ax = 0, ay = 0;
	if (isfinite(xc) && isfinite(yc)) {
		ax = nearest_pixel(xc, width);
		ay = nearest_pixel(yc, height);
	} else {
		/* The centre maps to infinity: any other scale will do. */
		scale = 0.0;
		for (int k = 0; k < 9; k++)
			scale = fmax(scale, fabs(m[k]));
	}
	out->anchor_x = ax;
	out->anchor_y = ay;
	/* T(-ax, -ay) H T(c, c) / scale: subtract the anchor times the last row
	 * from the first two rows. */
	int usable = isfinite(scale) && scale != 0.0;
	for (int k = 0; k < 3; k++) {
		double g[3] = {m[k] - ax * m[6 + k], m[3 + k] - ay * m[6 + k], m[6 + k]};
		for (int r = 0; r < 3; r++)
			out->h[3 * r + k] = usable ? (cl_float)(g[r] / scale) : NAN;
	}
}

size_t semqr__sample_total(const semqr__located *syms, int count)
{
	size_t total = 0;
	for (int k = 0; k < count; k++)
		total += (size_t)syms[k].size * (size_t)syms[k].size;
	return total;
}

semqr_status semqr__stage_sample(semqr__cl_context *ctx, const semqr__plane *in,
                                 const semqr__located *syms, int count, cl_mem means,
                                 semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	semqr_status st = semqr__plane_check(ctx, in, sizeof(cl_float), 0, 0, "sample input", err);
	if (st != SEMQR_OK)
		return st;
	if (in->width > SEMQR__SAMPLE_SIDE_MAX || in->height > SEMQR__SAMPLE_SIDE_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "sample stage on %s: window %d x %d: sides above %d are not "
		                   "exact in the kernel's float coordinates",
		                   device, in->width, in->height, SEMQR__SAMPLE_SIDE_MAX);
	if (count < 0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "sample stage on %s: %d symbols", device, count);
	for (int k = 0; k < count; k++)
		if (syms[k].size < 1 || syms[k].size > SEMQR_SIZE_MAX)
			return semqr__fail(
			    err, SEMQR_ERR_INVALID_ARGUMENT,
			    "sample stage on %s: symbol %d has size %d (must be 1..%d)", device, k,
			    syms[k].size, SEMQR_SIZE_MAX);
	size_t total = semqr__sample_total(syms, count);
	if (total > (size_t)INT_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "sample stage on %s: %d symbols have %zu modules: the kernel "
		                   "indexes with int, so at most %d",
		                   device, count, total, INT_MAX);
	size_t have;
	cl_int cst = clGetMemObjectInfo(means, CL_MEM_SIZE, sizeof have, &have, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(
		    err, cst, "sample stage on %s: means buffer: clGetMemObjectInfo", device);
	if (have / sizeof(cl_float) < total)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "sample stage on %s: means buffer of %zu bytes, %zu floats needed "
		    "for %d symbols",
		    device, have, total, count);
	if (count == 0)
		return SEMQR_OK;

	semqr__sample_symbol *recs = malloc((size_t)count * sizeof *recs);
	if (!recs)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "sample stage: symbol records for %d symbols", count);
	int offset = 0;
	for (int k = 0; k < count; k++) {
		semqr__sample_symbol_init(syms[k].h, syms[k].size, offset, in->width, in->height,
		                          &recs[k]);
		offset += syms[k].size * syms[k].size;
	}
	/* COPY_HOST_PTR copies now, so recs can go before the kernel runs. */
	cl_mem rec_mem =
	    clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
	                   (size_t)count * sizeof *recs, recs, &cst);
	free(recs);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "sample stage on %s: clCreateBuffer (%d symbols)",
		                      device, count);
	cl_kernel k = NULL;
	st = semqr__cl_kernel(ctx, "sample", "sample_means", &k, err);
	if (st == SEMQR_OK) {
		cl_int origin = (cl_int)in->origin, n = count, all = (cl_int)total;
		semqr__kernel_arg args[] = {
		    SEMQR__ARG(in->mem),   SEMQR__ARG(origin),     SEMQR__ARG(in->stride),
		    SEMQR__ARG(in->width), SEMQR__ARG(in->height), SEMQR__ARG(rec_mem),
		    SEMQR__ARG(n),         SEMQR__ARG(all),        SEMQR__ARG(means),
		};
		st = semqr__set_args(ctx, k, "sample_means", args, 9, err);
		if (st == SEMQR_OK)
			st = semqr__cl_run_1d(ctx, k, total, err);
		clReleaseKernel(k);
	}
	clReleaseMemObject(rec_mem);
	return st;
}

semqr_status semqr__sample_read(semqr__cl_context *ctx, cl_mem means, const semqr__located *syms,
                                int count, float *soft, semqr_error *err)
{
	for (int k = 0; k < count; k++)
		if (syms[k].version < 1 || syms[k].version > SEMQR_VERSION_MAX ||
		    syms[k].size != 17 + 4 * syms[k].version)
			return semqr__fail(
			    err, SEMQR_ERR_INVALID_ARGUMENT,
			    "sample read: symbol %d has version %d and size %d (must "
			    "be 1..%d and 17 + 4 version)",
			    k, syms[k].version, syms[k].size, SEMQR_VERSION_MAX);
	size_t total = semqr__sample_total(syms, count);
	if (total == 0)
		return SEMQR_OK;
	cl_int cst = clEnqueueReadBuffer(semqr__cl_queue(ctx), means, CL_TRUE, 0,
	                                 total * sizeof(cl_float), soft, 0, NULL, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "sample stage on %s: reading %zu means",
		                      semqr__cl_device_info(ctx)->name, total);
	for (int k = 0; k < count; k++) {
		semqr__soft_from_means(syms[k].version, soft, soft);
		soft += (size_t)syms[k].size * (size_t)syms[k].size;
	}
	return SEMQR_OK;
}
