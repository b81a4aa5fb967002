/* Host wrappers of kernels/flatten.cl: loading 8/16-bit windows as float,
 * 2 x 2 binning, background removal. Contracts in pipeline/stages.h. */
#include <stdint.h>
#include <stdio.h>

#include "common/error_internal.h"
#include "pipeline/stages.h"

/* Rows each work-item of flatten_apply runs through (kernels/flatten.cl); it
 * also takes 4 columns, as flatten_column_sums does. */
#define APPLY_ROWS 32

/* ---- load ------------------------------------------------------------------ */

/* Runs one of the load or bin kernels (they share their arguments) over
 * gw x gh work-items; gain > 0 selects the Anscombe variants' 1 / gain. */
static semqr_status run_load(semqr__cl_context *ctx, const char *function, const semqr__plane *in,
                             float gain, float offset, const semqr__plane *out, size_t gw,
                             size_t gh, semqr_error *err)
{
	cl_kernel k;
	semqr_status st = semqr__cl_kernel(ctx, "flatten", function, &k, err);
	if (st != SEMQR_OK)
		return st;
	cl_int in_origin = (cl_int)in->origin, out_origin = (cl_int)out->origin;
	cl_float inv_gain = gain > 0.0f ? 1.0f / gain : 0.0f, off = offset;
	semqr__kernel_arg args[] = {
	    SEMQR__ARG(in->mem),     SEMQR__ARG(in_origin),  SEMQR__ARG(in->stride),
	    SEMQR__ARG(in->width),   SEMQR__ARG(in->height), SEMQR__ARG(off),
	    SEMQR__ARG(inv_gain),    SEMQR__ARG(out->mem),   SEMQR__ARG(out_origin),
	    SEMQR__ARG(out->stride),
	};
	st = semqr__set_args(ctx, k, function, args, 10, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, k, gw, gh, err);
	clReleaseKernel(k);
	return st;
}

semqr_status semqr__stage_load(semqr__cl_context *ctx, const semqr__plane *in, int bits, float gain,
                               float offset, const semqr__plane *out, semqr_error *err)
{
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "load stage: %d-bit input (8 or 16 supported)", bits);
	if (in->width != out->width || in->height != out->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "load stage: input %d x %d and output %d x %d differ", in->width,
		                   in->height, out->width, out->height);
	semqr_status st = semqr__plane_check(ctx, in, bits / 8, 0, 0, "load input", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, out, sizeof(cl_float), 0, 0, "load output", err);
	if (st != SEMQR_OK)
		return st;

	int anscombe = gain > 0.0f;
	const char *function = anscombe
	                           ? (bits == 8 ? "flatten_anscombe_u8" : "flatten_anscombe_u16")
	                           : (bits == 8 ? "flatten_load_u8" : "flatten_load_u16");
	return run_load(ctx, function, in, gain, offset, out, (size_t)in->width,
	                (size_t)in->height, err);
}

/* ---- 2 x 2 binning ------------------------------------------------------- */

semqr_status semqr__stage_bin2(semqr__cl_context *ctx, const semqr__plane *in, int bits,
                               float gain, float offset, const semqr__plane *out,
                               semqr_error *err)
{
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "bin stage: %d-bit input (8 or 16 supported)", bits);
	int ow = (in->width + 1) / 2, oh = (in->height + 1) / 2;
	if (out->width != ow || out->height != oh)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "bin stage: output %d x %d for input %d x %d (must be %d x %d)",
		                   out->width, out->height, in->width, in->height, ow, oh);
	semqr_status st = semqr__plane_check(ctx, in, bits / 8, 0, 0, "bin input", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, out, sizeof(cl_float), 0, 0, "bin output", err);
	if (st != SEMQR_OK)
		return st;

	int anscombe = gain > 0.0f;
	const char *function = anscombe ? (bits == 8 ? "flatten_bin2_anscombe_u8"
	                                             : "flatten_bin2_anscombe_u16")
	                                : (bits == 8 ? "flatten_bin2_u8" : "flatten_bin2_u16");
	/* four output pixels per work-item along x (see flatten.cl) */
	return run_load(ctx, function, in, gain, offset, out, (size_t)(ow + 3) / 4, (size_t)oh,
	                err);
}

/* ---- flatten --------------------------------------------------------------- */

/* Both flatten entry points: `bits` 8 or 16 for an integer input window
 * (read as the plain load reads it), 32 for a float one. */
static semqr_status flatten(semqr__cl_context *ctx, const semqr__plane *in, int bits, int block,
                            int normalise, float floor_sd, const semqr__plane *out,
                            semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (block < 1 || (normalise && !(floor_sd > 0.0f)))
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "flatten stage on %s: block %d (must be >= 1), floor %g (must be "
		    "> 0 when normalising)",
		    device, block, (double)floor_sd);
	if (in->width != out->width || in->height != out->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "flatten stage: input %d x %d and output %d x %d differ",
		                   in->width, in->height, out->width, out->height);
	semqr_status st = semqr__plane_check(ctx, in, (size_t)bits / 8, 0, 0, "flatten input", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, out, sizeof(cl_float), 0, 0, "flatten output", err);
	if (st != SEMQR_OK)
		return st;

	int w = in->width, h = in->height;
	int nbx = (w + block - 1) / block, nby = (h + block - 1) / block;
	enum { COLS, STATS, K0, T, BLEND, NBUF };
	cl_mem bufs[NBUF] = {NULL};
	size_t sizes[NBUF] = {(size_t)w * (size_t)nby * 2 * sizeof(cl_float),
	                      (size_t)nbx * (size_t)nby * 2 * sizeof(cl_float),
	                      ((size_t)w + (size_t)h) * sizeof(cl_int),
	                      ((size_t)w + (size_t)h) * sizeof(cl_float),
	                      (size_t)w * (size_t)nby * 2 * sizeof(cl_float)};
	/* The kernels reading the input carry its type in their names. */
	const char *type = bits == 8 ? "u8" : bits == 16 ? "u16" : "f32";
	char sums_name[32], stats_name[32], apply_name[32];
	snprintf(sums_name, sizeof sums_name, "flatten_column_sums_%s", type);
	snprintf(stats_name, sizeof stats_name, "flatten_block_stats_%s", type);
	snprintf(apply_name, sizeof apply_name, "flatten_apply_%s", type);
	const char *const functions[5] = {sums_name, stats_name, "flatten_axis_weights",
	                                  "flatten_blend_columns", apply_name};
	cl_kernel ks[5] = {NULL};
	for (int i = 0; i < NBUF; i++) {
		cl_int cst;
		bufs[i] = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_WRITE, sizes[i],
		                         NULL, &cst);
		if (cst != CL_SUCCESS) {
			st = semqr__cl_fail(err, cst,
			                    "flatten stage on %s: clCreateBuffer (%d x %d "
			                    "blocks)",
			                    device, nbx, nby);
			goto done;
		}
	}
	for (int i = 0; i < 5 && st == SEMQR_OK; i++)
		st = semqr__cl_kernel(ctx, "flatten", functions[i], &ks[i], err);
	if (st != SEMQR_OK)
		goto done;

	cl_int in_origin = (cl_int)in->origin, out_origin = (cl_int)out->origin;
	cl_int norm = normalise != 0;
	cl_int apply_rows = APPLY_ROWS;
	cl_float floor_arg = floor_sd;
	semqr__kernel_arg col_args[] = {
	    SEMQR__ARG(in->mem), SEMQR__ARG(in_origin), SEMQR__ARG(in->stride), SEMQR__ARG(w),
	    SEMQR__ARG(h),       SEMQR__ARG(block),     SEMQR__ARG(bufs[COLS]),
	};
	semqr__kernel_arg stat_args[] = {
	    SEMQR__ARG(in->mem),    SEMQR__ARG(in_origin),   SEMQR__ARG(in->stride),
	    SEMQR__ARG(w),          SEMQR__ARG(h),           SEMQR__ARG(block),
	    SEMQR__ARG(bufs[COLS]), SEMQR__ARG(bufs[STATS]),
	};
	semqr__kernel_arg axis_args[] = {
	    SEMQR__ARG(w),        SEMQR__ARG(h),       SEMQR__ARG(block),
	    SEMQR__ARG(bufs[K0]), SEMQR__ARG(bufs[T]),
	};
	semqr__kernel_arg blend_args[] = {
	    SEMQR__ARG(w),           SEMQR__ARG(h),        SEMQR__ARG(block),
	    SEMQR__ARG(bufs[STATS]), SEMQR__ARG(bufs[K0]), SEMQR__ARG(bufs[T]),
	    SEMQR__ARG(bufs[BLEND]),
	};
	semqr__kernel_arg apply_args[] = {
	    SEMQR__ARG(in->mem),    SEMQR__ARG(in_origin),   SEMQR__ARG(in->stride),
	    SEMQR__ARG(w),          SEMQR__ARG(h),           SEMQR__ARG(nby),
	    SEMQR__ARG(apply_rows), SEMQR__ARG(bufs[K0]),    SEMQR__ARG(bufs[T]),
	    SEMQR__ARG(bufs[BLEND]), SEMQR__ARG(norm),       SEMQR__ARG(floor_arg),
	    SEMQR__ARG(out->mem),   SEMQR__ARG(out_origin),  SEMQR__ARG(out->stride),
	};
	st = semqr__set_args(ctx, ks[0], functions[0], col_args, 7, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, ks[0], ((size_t)w + 3) / 4, (size_t)nby, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, ks[1], functions[1], stat_args, 8, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, ks[1], (size_t)nbx, (size_t)nby, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, ks[2], functions[2], axis_args, 5, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_1d(ctx, ks[2], (size_t)w + (size_t)h, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, ks[3], functions[3], blend_args, 7, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, ks[3], (size_t)w, (size_t)nby, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, ks[4], functions[4], apply_args, 15, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, ks[4], ((size_t)w + 3) / 4,
		                      ((size_t)h + APPLY_ROWS - 1) / APPLY_ROWS, err);
done:
	for (int i = 0; i < 5; i++)
		if (ks[i])
			clReleaseKernel(ks[i]);
	for (int i = 0; i < NBUF; i++)
		if (bufs[i])
			clReleaseMemObject(bufs[i]);
	return st;
}

semqr_status semqr__stage_flatten(semqr__cl_context *ctx, const semqr__plane *in, int block,
                                  int normalise, float floor_sd, const semqr__plane *out,
                                  semqr_error *err)
{
	return flatten(ctx, in, 32, block, normalise, floor_sd, out, err);
}

semqr_status semqr__stage_load_flatten(semqr__cl_context *ctx, const semqr__plane *in, int bits,
                                       int block, int normalise, float floor_sd,
                                       const semqr__plane *out, semqr_error *err)
{
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "load-flatten stage: %d-bit input (8 or 16 supported)", bits);
	return flatten(ctx, in, bits, block, normalise, floor_sd, out, err);
}
