/* Host wrapper of kernels/denoise.cl: the separable Gaussian (contracts in
 * pipeline/stages.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/error_internal.h"
#include "pipeline/stages.h"

float semqr__denoise_sigma_pitch(float module_px)
{
	float s = SEMQR__DENOISE_MODULE_FRACTION * module_px;
	return s < SEMQR__DENOISE_SIGMA_MAX ? s : SEMQR__DENOISE_SIGMA_MAX;
}

float semqr__denoise_sigma(float module_px)
{
	return module_px / 3.0f;
}

int semqr__denoise_radius(float sigma)
{
	int r = (int)ceilf(3.0f * sigma);
	return r < 1 ? 1 : r > SEMQR__DENOISE_RADIUS_MAX ? SEMQR__DENOISE_RADIUS_MAX : r;
}

void semqr__denoise_weights(float sigma, int radius, float *w)
{
	if (!(sigma > 0.0f)) { /* no smoothing: the centre tap alone */
		for (int k = 0; k <= 2 * radius; k++)
			w[k] = k == radius ? 1.0f : 0.0f;
		return;
	}
	double tmp[2 * SEMQR__DENOISE_RADIUS_MAX + 1], sum = 0.0;
	for (int k = 0; k <= 2 * radius; k++) {
		double d = (double)(k - radius);
		tmp[k] = exp(-d * d / (2.0 * (double)sigma * (double)sigma));
		sum += tmp[k];
	}
	for (int k = 0; k <= 2 * radius; k++)
		w[k] = (float)(tmp[k] / sum);
}

size_t semqr__stage_denoise_scratch(int width, int height, int radius)
{
	return (size_t)width * (size_t)(height + 2 * radius) * sizeof(cl_float);
}

semqr_status semqr__stage_denoise(semqr__cl_context *ctx, const semqr__plane *in, float sigma,
                                  int radius, cl_mem scratch, const semqr__plane *out,
                                  semqr_error *err)
{
	const char *device = semqr__cl_device_info(ctx)->name;
	if (!(sigma >= 0.0f) || radius < 0 || radius > SEMQR__DENOISE_RADIUS_MAX)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "denoise stage on %s: sigma %g (must be >= 0), radius %d (must be "
		    "0..%d)",
		    device, (double)sigma, radius, SEMQR__DENOISE_RADIUS_MAX);
	if (in->width != out->width || in->height != out->height)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "denoise stage: input %d x %d and output %d x %d differ",
		                   in->width, in->height, out->width, out->height);
	semqr_status st =
	    semqr__plane_check(ctx, in, sizeof(cl_float), radius, radius, "denoise input", err);
	if (st == SEMQR_OK)
		st = semqr__plane_check(ctx, out, sizeof(cl_float), 0, 0, "denoise output", err);
	/* The row pass covers the output rows and radius rows above and below. */
	cl_int tw = in->width, th = in->height + 2 * radius;
	if (st == SEMQR_OK && scratch)
		st = semqr__scratch_check(ctx, scratch,
		                          semqr__stage_denoise_scratch(tw, in->height, radius),
		                          "denoise", err);
	if (st != SEMQR_OK)
		return st;

	/* Taps 0..2 radius in w[0..31], the rest 0 (ignored by the kernels). */
	cl_float w[32];
	memset(w, 0, sizeof w);
	semqr__denoise_weights(sigma, radius, w);
	char rows_name[32], cols_name[32];
	snprintf(rows_name, sizeof rows_name, "denoise_rows_%d", radius);
	snprintf(cols_name, sizeof cols_name, "denoise_columns_%d", radius);
	cl_kernel rows_k = NULL, cols_k = NULL;
	cl_mem tmp = scratch;
	if (!tmp) {
		cl_int cst;
		tmp = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_WRITE,
		                     semqr__stage_denoise_scratch(tw, in->height, radius), NULL,
		                     &cst);
		if (cst != CL_SUCCESS)
			return semqr__cl_fail(err, cst,
			                      "denoise stage on %s: clCreateBuffer (%d x %d)",
			                      device, tw, th);
	}
	st = semqr__cl_kernel_radius(ctx, "denoise", radius, rows_name, &rows_k, err);
	if (st == SEMQR_OK)
		st = semqr__cl_kernel_radius(ctx, "denoise", radius, cols_name, &cols_k, err);
	if (st != SEMQR_OK)
		goto done;

	cl_int rows_origin = (cl_int)(in->origin - (size_t)radius * (size_t)in->stride);
	cl_int zero = 0, cols_origin = radius * tw, out_origin = (cl_int)out->origin;
	semqr__kernel_arg row_args[] = {
	    SEMQR__ARG(in->mem),
	    SEMQR__ARG(rows_origin),
	    SEMQR__ARG(in->stride),
	    SEMQR__ARG(tw),
	    SEMQR__ARG(th),
	    {16 * sizeof(cl_float), w},
	    {16 * sizeof(cl_float), w + 16},
	    SEMQR__ARG(tmp),
	    SEMQR__ARG(zero),
	    SEMQR__ARG(tw),
	};
	semqr__kernel_arg col_args[] = {
	    SEMQR__ARG(tmp),
	    SEMQR__ARG(cols_origin),
	    SEMQR__ARG(tw),
	    SEMQR__ARG(out->width),
	    SEMQR__ARG(out->height),
	    {16 * sizeof(cl_float), w},
	    {16 * sizeof(cl_float), w + 16},
	    SEMQR__ARG(out->mem),
	    SEMQR__ARG(out_origin),
	    SEMQR__ARG(out->stride),
	};
	st = semqr__set_args(ctx, rows_k, rows_name, row_args, 10, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, rows_k, (size_t)tw, (size_t)th, err);
	if (st == SEMQR_OK)
		st = semqr__set_args(ctx, cols_k, cols_name, col_args, 10, err);
	if (st == SEMQR_OK)
		st = semqr__cl_run_2d(ctx, cols_k, (size_t)out->width, (size_t)out->height, err);
done:
	if (rows_k)
		clReleaseKernel(rows_k);
	if (cols_k)
		clReleaseKernel(cols_k);
	if (tmp != scratch)
		clReleaseMemObject(tmp);
	return st;
}
