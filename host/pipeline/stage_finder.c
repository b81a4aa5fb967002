/* Host wrapper of kernels/finder.cl: finder-pattern run candidates along rows
 * and columns (contracts in pipeline/stages.h). */
#include <stddef.h>

#include "common/error_internal.h"
#include "pipeline/stages.h"

/* The kernels write struct finder_candidate {float x, y, module; int polarity,
 * axis;}: five 4-byte members, hence no padding on any OpenCL device. */
_Static_assert(sizeof(semqr__finder_candidate) == 20 &&
                   offsetof(semqr__finder_candidate, axis) == 16,
               "semqr__finder_candidate must match kernels/finder.cl");

semqr_status semqr__stage_finder(semqr__cl_context *ctx, const semqr__plane *bin,
                                 const semqr__plane *grey, const semqr__finder_params *p,
                                 cl_mem cands, int capacity, cl_mem count, semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (!(p->tolerance >= 0.0f) || !(p->min_module > 0.0f) ||
	    !(p->max_module >= p->min_module) || capacity < 0 || (capacity > 0 && !cands) || !count)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "finder stage on %s: tolerance %g, modules %g..%g px, capacity %d "
		    "(tolerance >= 0, 0 < min <= max, capacity >= 0 and buffers "
		    "required)",
		    device, (double)p->tolerance, (double)p->min_module, (double)p->max_module,
		    capacity);
	if (bin->width != grey->width || bin->height != grey->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "finder stage: binary %d x %d and grey %d x %d images differ",
		                   bin->width, bin->height, grey->width, grey->height);
	semqr_status st =
	    semqr__plane_check(ctx, bin, sizeof(cl_uchar), 0, 0, "finder binary input", err);
	if (st == SEMQR_OK)
		st =
		    semqr__plane_check(ctx, grey, sizeof(cl_float), 0, 0, "finder grey input", err);
	if (st != SEMQR_OK)
		return st;
	size_t bytes = 0;
	cl_int cst = capacity > 0
	                 ? clGetMemObjectInfo(cands, CL_MEM_SIZE, sizeof bytes, &bytes, NULL)
	                 : CL_SUCCESS;
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(
		    err, cst, "finder stage on %s: clGetMemObjectInfo(CL_MEM_SIZE)", device);
	if (bytes / sizeof(semqr__finder_candidate) < (size_t)capacity)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "finder stage on %s: a candidate buffer of %zu bytes cannot hold %d "
		    "candidates",
		    device, bytes, capacity);

	cl_int zero = 0;
	cst = clEnqueueFillBuffer(semqr__cl_queue(ctx), count, &zero, sizeof zero, 0, sizeof zero,
	                          0, NULL, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "finder stage on %s: clEnqueueFillBuffer(count)",
		                      device);

	/* A kernel may not take a NULL buffer argument, so an empty candidate
	 * buffer is replaced by the counter (never written through: capacity 0). */
	cl_mem cand_arg = capacity > 0 ? cands : count;
	cl_int bin_origin = (cl_int)bin->origin, grey_origin = (cl_int)grey->origin;
	cl_float tol = p->tolerance, lo = p->min_module, hi = p->max_module;
	semqr__kernel_arg args[] = {
	    SEMQR__ARG(bin->mem),   SEMQR__ARG(bin_origin),  SEMQR__ARG(bin->stride),
	    SEMQR__ARG(grey->mem),  SEMQR__ARG(grey_origin), SEMQR__ARG(grey->stride),
	    SEMQR__ARG(bin->width), SEMQR__ARG(bin->height), SEMQR__ARG(tol),
	    SEMQR__ARG(lo),         SEMQR__ARG(hi),          SEMQR__ARG(cand_arg),
	    SEMQR__ARG(capacity),   SEMQR__ARG(count),
	};
	static const char *const functions[2] = {"finder_rows", "finder_columns"};
	for (int axis = 0; axis < 2 && st == SEMQR_OK; axis++) {
		cl_kernel k;
		st = semqr__cl_kernel(ctx, "finder", functions[axis], &k, err);
		if (st != SEMQR_OK)
			break;
		st = semqr__set_args(ctx, k, functions[axis], args, 14, err);
		/* A work-item scans 16 lines. */
		size_t lines = (size_t)(axis == 0 ? bin->height : bin->width);
		size_t items = (lines + 15) / 16;
		if (st == SEMQR_OK)
			st = semqr__cl_run_1d(ctx, k, items, err);
		clReleaseKernel(k);
	}
	return st;
}

semqr_status semqr__finder_read_enqueue(semqr__cl_context *ctx, cl_mem cands, int capacity,
                                        cl_mem count, semqr__finder_candidate *out,
                                        cl_int *found, semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	cl_command_queue q = semqr__cl_queue(ctx);
	cl_int cst = clEnqueueReadBuffer(q, count, CL_FALSE, 0, sizeof *found, found, 0, NULL, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "finder stage on %s: clEnqueueReadBuffer(count)",
		                      device);
	if (capacity > 0) {
		cst = clEnqueueReadBuffer(q, cands, CL_FALSE, 0, (size_t)capacity * sizeof *out, out, 0,
		                          NULL, NULL);
		if (cst != CL_SUCCESS)
			return semqr__cl_fail(
			    err, cst, "finder stage on %s: clEnqueueReadBuffer(%d candidates)", device,
			    capacity);
	}
	return SEMQR_OK;
}

semqr_status semqr__finder_read(semqr__cl_context *ctx, cl_mem cands, int capacity, cl_mem count,
                                semqr__finder_candidate *out, int *found, semqr_error *err)
{
	cl_int n = 0;
	semqr_status st = semqr__finder_read_enqueue(ctx, cands, capacity, count, out, &n, err);
	if (st != SEMQR_OK)
		return st;
	cl_int cst = clFinish(semqr__cl_queue(ctx));
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "finder stage on %s: clFinish",
		                      semqr__cl_device_info(ctx)->name);
	*found = n;
	return SEMQR_OK;
}
