/* semqr integrate stage: adds one frame of a stack, drift-corrected, to a
 * running sum.
 *
 * Output pixel (x, y) of the sum window is reference-frame position
 *     p = (x + out_x0, y + out_y0)
 * in the source frame's pixel coordinates (pixel centres at integers). The
 * drift there is d(p), interpolated bilinearly from a grid of nx x ny nodes
 * (node (i, j) at (fx0 + i step_x, fy0 + j step_y), values (dx, dy) at
 * field[2 (j nx + i)]), the grid coordinate clamped to [0, nx - 1] x
 * [0, ny - 1] so that the field is constant beyond the outer nodes (one node:
 * a constant shift). The frame shows what the reference shows at p at
 *     s = p + d(p),
 * and that is sampled bilinearly from the frame. The sample is valid when s
 * lies within the frame's area, [-0.5, frame_w - 0.5] x [-0.5, frame_h - 0.5]
 * (borders included); in the outer half pixel the interpolation clamps to
 * the edge pixels. A valid sample adds its value (the source's grey level as
 * a float) to sum and 1 to weight; an invalid one adds nothing, so that
 * sum / weight stays an unbiased mean of the frames that saw the point.
 *
 * The source window holds frame rows win_y0 .. win_y0 + win_h - 1, all
 * frame_w columns (row r of the window is frame row win_y0 + r), so that a
 * band of the frame can be integrated without the whole frame in memory:
 * rows the interpolation needs outside the window are read from the window's
 * nearest row instead. A window that holds every row some valid sample of
 * the sum window touches gives exactly the result of the whole frame.
 *
 * The grid coordinate g = (p - f0) * inv_step (inv_step = 1 / step from the
 * host; 0 when there is one node along the axis) gives node i0 =
 * min(floor(g), n - 2) (0 when n = 1) and the weight g - i0 of node i0 + 1.
 * Each interpolation is a + (b - a) t, rows first, then columns. Reads are
 * clamped into the window, so no work-item reads outside it and there is no
 * branch per pixel.
 *
 * OpenCL C 1.2, no extensions; contraction off, as in the C reference. */
#pragma OPENCL FP_CONTRACT OFF

/* Index of the lower node and the weight of the upper one for coordinate g
 * on an axis of n >= 1 nodes; g already clamped to [0, n - 1]. */
inline int lower_node(float g, int n, float *t)
{
	int i0 = min((int)floor(g), max(n - 2, 0));
	*t = g - (float)i0;
	return i0;
}

#define INTEGRATE(NAME, T)                                                                  \
__kernel void NAME(__global const T *src, int src_origin, int src_stride, int frame_w,       \
                   int frame_h, int win_y0, int win_h, __global const float *field, int nx, int ny, float fx0,       \
                   float fy0, float inv_step_x, float inv_step_y, int out_x0, int out_y0,   \
                   int width, int height, __global float *sum, int sum_origin,              \
                   int sum_stride, __global float *weight, int weight_origin,              \
                   int weight_stride)                                                      \
{                                                                                          \
	int x = (int)get_global_id(0);                                                     \
	int y = (int)get_global_id(1);                                                     \
	if (x >= width || y >= height)                                                     \
		return;                                                                    \
	float px = (float)(x + out_x0), py = (float)(y + out_y0);                          \
	float tx, ty;                                                                      \
	float gx = clamp((px - fx0) * inv_step_x, 0.0f, (float)(nx - 1));                  \
	float gy = clamp((py - fy0) * inv_step_y, 0.0f, (float)(ny - 1));                  \
	int i0 = lower_node(gx, nx, &tx), j0 = lower_node(gy, ny, &ty);                    \
	int i1 = min(i0 + 1, nx - 1), j1 = min(j0 + 1, ny - 1);                            \
	float2 a = vload2(j0 * nx + i0, field), b = vload2(j0 * nx + i1, field);           \
	float2 c = vload2(j1 * nx + i0, field), e = vload2(j1 * nx + i1, field);           \
	float2 top = a + (b - a) * tx, bottom = c + (e - c) * tx;                          \
	float2 d = top + (bottom - top) * ty;                                              \
	float sx = px + d.x, sy = py + d.y;                                                \
	int valid = sx >= -0.5f && sx <= (float)frame_w - 0.5f && sy >= -0.5f &&           \
	            sy <= (float)frame_h - 0.5f;                                           \
	float cx = clamp(sx, 0.0f, (float)(frame_w - 1));                                  \
	float cy = clamp(sy, 0.0f, (float)(frame_h - 1));                                  \
	float ux, uy;                                                                      \
	int x0 = lower_node(cx, frame_w, &ux), y0 = lower_node(cy, frame_h, &uy);          \
	int x1 = min(x0 + 1, frame_w - 1), y1 = min(y0 + 1, frame_h - 1);                  \
	int w0 = clamp(y0 - win_y0, 0, win_h - 1), w1 = clamp(y1 - win_y0, 0, win_h - 1);  \
	__global const T *r0 = src + src_origin + w0 * src_stride;                         \
	__global const T *r1 = src + src_origin + w1 * src_stride;                         \
	float v00 = (float)r0[x0], v10 = (float)r0[x1];                                    \
	float v01 = (float)r1[x0], v11 = (float)r1[x1];                                    \
	float vt = v00 + (v10 - v00) * ux, vb = v01 + (v11 - v01) * ux;                    \
	float v = vt + (vb - vt) * uy;                                                     \
	int so = sum_origin + y * sum_stride + x;                                          \
	int wo = weight_origin + y * weight_stride + x;                                    \
	sum[so] += valid ? v : 0.0f;                                                       \
	weight[wo] += valid ? 1.0f : 0.0f;                                                 \
}

INTEGRATE(integrate_u8, uchar)
INTEGRATE(integrate_u16, ushort)
