/* Helpers every stage wrapper shares: window and scratch-buffer checks,
 * kernel arguments, 1-D launches. Contracts in pipeline/stages.h. */
#include <limits.h>
#include <stdint.h>

#include "common/error_internal.h"
#include "pipeline/stages.h"

semqr_status semqr__plane_check(const semqr__cl_context *ctx, const semqr__plane *p,
                                size_t elem_size, int halo_x, int halo_y, const char *what,
                                semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (!p->mem || p->width < 1 || p->height < 1 || p->stride < 1 || halo_x < 0 || halo_y < 0 ||
	    (int64_t)p->width + 2 * (int64_t)halo_x > p->stride)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s on %s: window %d x %d (stride %d, halo %d x %d) is empty, "
		                   "has no buffer or is wider than its stride",
		                   what, device, p->width, p->height, p->stride, halo_x, halo_y);
	size_t bytes;
	cl_int cst = clGetMemObjectInfo(p->mem, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "%s on %s: clGetMemObjectInfo(CL_MEM_SIZE)", what,
		                      device);
	uint64_t elems = bytes / elem_size;
	uint64_t before = (uint64_t)halo_y * (uint64_t)p->stride + (uint64_t)halo_x;
	uint64_t last = (uint64_t)p->origin +
	                (uint64_t)(p->height - 1 + halo_y) * (uint64_t)p->stride +
	                (uint64_t)(p->width - 1 + halo_x);
	if (elems > (uint64_t)INT_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s on %s: buffer of %llu elements: kernels index with int, so "
		                   "at most %d elements",
		                   what, device, (unsigned long long)elems, INT_MAX);
	if (p->origin < before || last >= elems)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "%s on %s: window %d x %d at element %zu (stride %d) with a halo "
		    "of %d x %d reaches elements %lld..%llu of a buffer of %llu",
		    what, device, p->width, p->height, p->origin, p->stride, halo_x, halo_y,
		    (long long)p->origin - (long long)before, (unsigned long long)last,
		    (unsigned long long)elems);
	return SEMQR_OK;
}

semqr_status semqr__scratch_check(const semqr__cl_context *ctx, cl_mem scratch, size_t bytes,
                                  const char *stage, semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	size_t have;
	cl_int cst = clGetMemObjectInfo(scratch, CL_MEM_SIZE, sizeof have, &have, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(
		    err, cst, "%s stage on %s: scratch buffer: clGetMemObjectInfo", stage, device);
	if (have < bytes)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s stage on %s: scratch buffer of %zu bytes, %zu needed", stage,
		                   device, have, bytes);
	return SEMQR_OK;
}

semqr_status semqr__set_args(const semqr__cl_context *ctx, cl_kernel k, const char *function,
                             const semqr__kernel_arg *args, int n, semqr_error *err)
{
	for (int i = 0; i < n; i++) {
		cl_int cst = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
		if (cst != CL_SUCCESS)
			return semqr__cl_fail(err, cst, "kernel %s on %s: clSetKernelArg(%d)",
			                      function, semqr__cl_device_info(ctx)->name, i);
	}
	return SEMQR_OK;
}

