/* Host wrapper of kernels/integrate.cl: drift-corrected frame integration
 * (contracts in pipeline/stage_integrate.h). */
#include <math.h>

#include "common/error_internal.h"
#include "pipeline/stage_integrate.h"

semqr_status semqr__stage_integrate(semqr__cl_context *ctx, const semqr__plane *src, int bits,
                                    int src_y0, int frame_h, const semqr__shift_field *field, int out_x0, int out_y0,
                                    const semqr__plane *sum, const semqr__plane *weight,
                                    semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "integrate stage on %s: %d-bit source (8 or 16)", device, bits);
	if (field->nx < 1 || field->ny < 1 || !field->nodes ||
	    (size_t)field->nx * (size_t)field->ny > (size_t)1 << 24 ||
	    (field->nx > 1 && !(field->step_x > 0)) || (field->ny > 1 && !(field->step_y > 0)) ||
	    !isfinite(field->x0) || !isfinite(field->y0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "integrate stage on %s: shift field of %d x %d nodes, steps %g, "
		                   "%g: needs at least one node, at most 2^24, and positive steps",
		                   device, field->nx, field->ny, (double)field->step_x,
		                   (double)field->step_y);
	if (src->width > SEMQR__INTEGRATE_SIDE_MAX || frame_h > SEMQR__INTEGRATE_SIDE_MAX ||
	    frame_h < 1 || src_y0 < 0 || src->height < 1 || src_y0 + src->height > frame_h)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "integrate stage on %s: window of rows %d..%d of a %d x %d frame "
		                   "(sides up to %d, the window within the frame)",
		                   device, src_y0, src_y0 + src->height - 1, src->width, frame_h,
		                   SEMQR__INTEGRATE_SIDE_MAX);
	if (sum->width != weight->width || sum->height != weight->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "integrate stage on %s: sum %d x %d and weight %d x %d differ",
		                   device, sum->width, sum->height, weight->width, weight->height);
	semqr_status st = semqr__plane_check(ctx, src, bits / 8, 0, 0, "integrate source", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, sum, sizeof(cl_float), 0, 0, "integrate sum", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, weight, sizeof(cl_float), 0, 0, "integrate weight", err);
	if (st != SEMQR_OK)
		return st;

	const char *name = bits == 8 ? "integrate_u8" : "integrate_u16";
	size_t nodes_bytes = (size_t)field->nx * (size_t)field->ny * 2 * sizeof(cl_float);
	cl_int cst;
	/* Copied at creation, so the caller's nodes are not needed afterwards. */
	cl_mem nodes = clCreateBuffer(semqr__cl_context_handle(ctx),
	                              CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, nodes_bytes,
	                              (void *)field->nodes, &cst);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "integrate stage on %s: clCreateBuffer (%d x %d nodes)",
		                      device, field->nx, field->ny);
	cl_kernel k = NULL;
	st = semqr__cl_kernel(ctx, "integrate", name, &k, err);
	if (st == SEMQR_OK) {
		cl_int src_origin = (cl_int)src->origin, sum_origin = (cl_int)sum->origin;
		cl_int weight_origin = (cl_int)weight->origin;
		cl_float inv_x = field->nx > 1 ? 1.0f / field->step_x : 0.0f;
		cl_float inv_y = field->ny > 1 ? 1.0f / field->step_y : 0.0f;
		semqr__kernel_arg args[] = {
		    SEMQR__ARG(src->mem),      SEMQR__ARG(src_origin),    SEMQR__ARG(src->stride),
		    SEMQR__ARG(src->width),    SEMQR__ARG(frame_h),       SEMQR__ARG(src_y0),
		    SEMQR__ARG(src->height),   SEMQR__ARG(nodes),
		    SEMQR__ARG(field->nx),     SEMQR__ARG(field->ny),     SEMQR__ARG(field->x0),
		    SEMQR__ARG(field->y0),     SEMQR__ARG(inv_x),         SEMQR__ARG(inv_y),
		    SEMQR__ARG(out_x0),        SEMQR__ARG(out_y0),        SEMQR__ARG(sum->width),
		    SEMQR__ARG(sum->height),   SEMQR__ARG(sum->mem),      SEMQR__ARG(sum_origin),
		    SEMQR__ARG(sum->stride),   SEMQR__ARG(weight->mem),   SEMQR__ARG(weight_origin),
		    SEMQR__ARG(weight->stride),
		};
		st = semqr__set_args(ctx, k, name, args, (int)(sizeof args / sizeof args[0]), err);
		if (st == SEMQR_OK)
			st = semqr__cl_run_2d(ctx, k, (size_t)sum->width, (size_t)sum->height, err);
		clReleaseKernel(k);
	}
	clReleaseMemObject(nodes);
	return st;
}
