/* semqr binarise stage: adaptive threshold against the local mean.
 *
 * With a window of (2r + 1) x (2r + 1) pixels (r of one to one and a half
 * modules, so the window spans two to three modules and always holds both
 * module colours near an edge), the output is
 *     out(x, y) = 1 if in(x, y) > mean(x, y) + offset, else 0,
 *     mean(x, y) = inv_area * sum_{l=0}^{2r} rows(x, y + l - r),
 *     rows(x, y) = sum_{k=0}^{2r} in(x + k - r, y),
 * inv_area = 1 / (2r + 1)^2 computed by the host, the sums taken in
 * increasing k and l (binarize_rows_R, then binarize_threshold_R). 1 marks
 * pixels brighter than their surroundings; both polarities of finder pattern
 * are searched for downstream, so nothing here depends on which colour the
 * modules are. offset (in the input's units) suppresses the speckle that
 * noise makes in flat areas.
 *
 * One kernel pair per radius R = 0..15 (the name ends in R), the sums
 * unrolled at compile time: PoCL vectorises such straight-line work-items
 * across the work-group, and a loop bounded by a kernel argument ran several
 * times slower. The radius is chosen at run time: the host builds the
 * program for it (SEMQR_RADIUS, below) and takes the kernels by name.
 *
 * Halo and layout as in denoise.cl: pixel (x, y) of a window is element
 * origin + y * stride + x, every element read exists (the host pads the tile),
 * and the host runs the row sums over the output rows plus r above and below.
 *
 * OpenCL C 1.2, no extensions; contraction off, as in the C reference. */
#pragma OPENCL FP_CONTRACT OFF

#define BINARIZE_RADIUS(R)                                                           \
__kernel void binarize_rows_##R(__global const float *in, int in_origin,             \
                                int in_stride, int width, int height,                \
                                __global float *out, int out_origin, int out_stride) \
{                                                                                    \
	int x = (int)get_global_id(0);                                               \
	int y = (int)get_global_id(1);                                               \
	if (x >= width || y >= height)                                               \
		return;                                                              \
	__global const float *p = in + in_origin + y * in_stride + x - R;            \
	float acc = 0.0f;                                                            \
	_Pragma("unroll")                                                            \
	for (int k = 0; k <= 2 * R; k++)                                             \
		acc += p[k];                                                         \
	out[out_origin + y * out_stride + x] = acc;                                  \
}                                                                                    \
                                                                                     \
__kernel void binarize_threshold_##R(__global const float *in, int in_origin,        \
                                     int in_stride, __global const float *rows,      \
                                     int rows_origin, int rows_stride,               \
                                     int width, int height, float inv_area,          \
                                     float offset, __global uchar *out,              \
                                     int out_origin, int out_stride)                 \
{                                                                                    \
	int x = (int)get_global_id(0);                                               \
	int y = (int)get_global_id(1);                                               \
	if (x >= width || y >= height)                                               \
		return;                                                              \
	__global const float *p = rows + rows_origin + (y - R) * rows_stride + x;    \
	float acc = 0.0f;                                                            \
	_Pragma("unroll")                                                            \
	for (int l = 0; l <= 2 * R; l++)                                             \
		acc += p[l * rows_stride];                                           \
	float v = in[in_origin + y * in_stride + x];                                 \
	out[out_origin + y * out_stride + x] = v > acc * inv_area + offset ? 1 : 0;  \
}

/* The program is built for one radius, -D SEMQR_RADIUS=R (the host's
 * semqr__cl_program_radius): its two kernels, not all 32, are compiled when
 * the program's binary is stored. The indirection expands R before the
 * names are pasted. */
#ifndef SEMQR_RADIUS
#error "kernels/binarize.cl is built with -D SEMQR_RADIUS=R, R in 0..15"
#endif
#define BINARIZE_RADIUS_OF(R) BINARIZE_RADIUS(R)
BINARIZE_RADIUS_OF(SEMQR_RADIUS)
