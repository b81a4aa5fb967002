/* semqr denoise stage: separable Gaussian smoothing at module scale.
 *
 * Two passes over float images, rows then columns, each computing
 *     out(x, y) = sum_{k=0}^{2r} w[k] * in(x + k - r, y)      (denoise_rows_R)
 *     out(x, y) = sum_{k=0}^{2r} w[k] * in(x, y + k - r)      (denoise_columns_R)
 * with the taps summed in increasing k. The 2r + 1 weights are sampled from a
 * Gaussian whose sigma the host ties to the module size, and normalised to sum
 * 1 (the host computes them once; see host/pipeline/stages.h). Smoothing over
 * a fraction of a module averages about (2.5 sigma)^2 pixels of independent
 * noise per output pixel while keeping module edges, so the binarisation that
 * follows sees a contrast-to-noise ratio several times higher.
 *
 * Variance stabilisation is not done here: it must come before background
 * removal, which makes values signed, so it is part of loading the scan (the
 * Anscombe kernels of flatten.cl). A Gaussian is linear, so it would not undo
 * it.
 *
 * One kernel per radius R = 0..15 (the name ends in R), with the tap loop
 * unrolled at compile time and the weights passed by value (w_lo holds taps
 * 0..15, w_hi taps 16..31; unused taps are ignored): PoCL vectorises such
 * straight-line work-items across the work-group, while a loop bounded by a
 * kernel argument, or weights read from a buffer, made the same pass five
 * times slower. The radius is still chosen at run time: the host builds the
 * program for it (SEMQR_RADIUS, below) and takes the kernels by name.
 *
 * Halo: output pixel (x, y) reads input pixels up to r away along the pass's
 * axis. Pixel (x, y) of a window is element origin + y * stride + x, and the
 * host guarantees that every element read exists (the tile is padded with its
 * halo), so the taps carry no border tests. The host runs the row pass over
 * the output rows plus r above and below, so that the column pass finds them.
 *
 * OpenCL C 1.2, no extensions; sizes and weights are arguments. Contraction
 * into fused multiply-adds is off so that the C reference rounds the same
 * way. */
#pragma OPENCL FP_CONTRACT OFF

/* One pass at radius R; `step` is 1 along rows and in_stride along columns. */
#define DENOISE_PASS(name, R, step)                                                  \
__kernel void name(__global const float *in, int in_origin, int in_stride,           \
                   int width, int height, float16 w_lo, float16 w_hi,                \
                   __global float *out, int out_origin, int out_stride)              \
{                                                                                    \
	int x = (int)get_global_id(0);                                               \
	int y = (int)get_global_id(1);                                               \
	if (x >= width || y >= height)                                               \
		return;                                                              \
	float w[32];                                                                 \
	vstore16(w_lo, 0, w);                                                        \
	vstore16(w_hi, 0, w + 16);                                                   \
	__global const float *p = in + in_origin + y * in_stride + x - R * (step);   \
	float acc = 0.0f;                                                            \
	_Pragma("unroll")                                                            \
	for (int k = 0; k <= 2 * R; k++)                                             \
		acc += w[k] * p[k * (step)];                                         \
	out[out_origin + y * out_stride + x] = acc;                                  \
}

#define DENOISE_RADIUS(R)                                                            \
	DENOISE_PASS(denoise_rows_##R, R, 1)                                         \
	DENOISE_PASS(denoise_columns_##R, R, in_stride)

/* The program is built for one radius, -D SEMQR_RADIUS=R (the host's
 * semqr__cl_program_radius): its two kernels, not all 32, are compiled when
 * the program's binary is stored. The indirection expands R before the
 * names are pasted. */
#ifndef SEMQR_RADIUS
#error "kernels/denoise.cl is built with -D SEMQR_RADIUS=R, R in 0..15"
#endif
#define DENOISE_RADIUS_OF(R) DENOISE_RADIUS(R)
DENOISE_RADIUS_OF(SEMQR_RADIUS)
