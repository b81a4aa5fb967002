/* semqr flatten stage: grey input to float, then background removal.
 *
 * Loading. flatten_load_u8 / flatten_load_u16 map a pixel value v of an 8-bit
 * or 16-bit scan to v / vmax (vmax = 255 or 65535), a float in [0, 1].
 * flatten_anscombe_u8 / flatten_anscombe_u16 instead apply the Anscombe
 * variance-stabilising transform for a detector whose grey value is
 * v = offset + gain * n with n Poisson-distributed electron counts:
 *     a = 2 sqrt(max((v - offset) / gain + 3/8, 0)).
 * For counts above about 10 the noise of a is close to 1 whatever the signal
 * level, so dark and bright areas (milled modules and film, which differ in
 * secondary-electron yield) carry the same noise, and the later stages'
 * thresholds mean the same thing everywhere. The host picks one of the two by
 * whether it knows the detector's gain and offset. All four kernels take the
 * same arguments (the plain loads ignore offset and inv_gain = 1 / gain).
 *
 * Background. The background b(x, y) (slow gradients, charging) is estimated
 * from B x B blocks tiling the window from its origin: block (i, j) covers
 * columns [iB, min(iB + B, w)) and rows [jB, min(jB + B, h)), so the last
 * blocks of a row or column may be partial. For each block the mean m and the
 * standard deviation s of its pixels are computed; both are placed at the
 * block's centre, c_i = iB + (n_i - 1) / 2 with n_i the block's width (and
 * likewise in y), and interpolated bilinearly between the four nearest
 * centres; outside the outermost centres the nearest value is held (constant
 * extrapolation). The output is
 *     out(x, y) = (in(x, y) - m~(x, y)) * g(x, y),
 *     g = 1 / max(s~(x, y), floor)   when normalising, else g = 1,
 * with m~ and s~ the interpolated mean and deviation. Dividing by s~ equalises
 * the local contrast (in units of the local spread) so that one threshold
 * offset suits the whole scan; floor keeps flat areas from being amplified.
 *
 * Sums. To keep the variance from cancelling in float, each block's pixels
 * are summed relative to the block's first pixel p = in(iB, jB):
 *     S1 = sum (v - p), S2 = sum (v - p)^2 over the block,
 *     m = p + S1 / n, s = sqrt(max(S2 / n - (S1 / n)^2, 0)).
 * flatten_column_sums sums each column's segment within a block row (one
 * work-item per column and block row, rows in increasing y, so that
 * neighbouring work-items read neighbouring pixels); flatten_block_stats adds
 * the column segments of a block in increasing x.
 *
 * Interpolation, separably and without a division per pixel:
 * flatten_axis_weights tabulates, for every column and every row, the lower
 * block index k0 and the weight t of block k0 + 1; flatten_blend_columns
 * interpolates each block row's statistics along x,
 *     M(j, x) = (1 - tx) m(i0, j) + tx m(i0 + 1, j)   (and S likewise for s),
 * and flatten_apply blends two such rows along y,
 *     m~ = (1 - ty) M(j0, x) + ty M(j0 + 1, x),
 * which is the bilinear formula with its operations in the same order. The C
 * reference computes the same expressions in the same order, so results agree
 * up to the rounding OpenCL allows for / and sqrt.
 *
 * Buffers (nbx = ceil(w / B), nby = ceil(h / B)): cols[(j * w + x) * 2 +
 * {0, 1}] = {S1, S2} of column x in block row j; stats[(j * nbx + i) * 2 +
 * {0, 1}] = {m, s} of block (i, j); k0[c], t[c] for the w columns then the h
 * rows; blend[j * w + x] = M(j, x) and blend[(nby + j) * w + x] = S(j, x).
 * Pixel (x, y) of a window is element origin + y * stride + x.
 *
 * OpenCL C 1.2, no extensions; every size is an argument. Contraction of
 * a * b + c into fused multiply-adds is off so that the C reference, compiled
 * as ISO C, rounds the same way. */
#pragma OPENCL FP_CONTRACT OFF

#define FLATTEN_LOAD(name, type, vmax)                                               \
__kernel void name(__global const type *in, int in_origin, int in_stride,            \
                   int width, int height, float offset, float inv_gain,              \
                   __global float *out, int out_origin, int out_stride)              \
{                                                                                    \
	int x = (int)get_global_id(0);                                               \
	int y = (int)get_global_id(1);                                               \
	if (x >= width || y >= height)                                               \
		return;                                                              \
	out[out_origin + y * out_stride + x] =                                       \
		(float)in[in_origin + y * in_stride + x] * (1.0f / vmax);            \
}

FLATTEN_LOAD(flatten_load_u8, uchar, 255.0f)
FLATTEN_LOAD(flatten_load_u16, ushort, 65535.0f)

#define FLATTEN_ANSCOMBE(name, type)                                                 \
__kernel void name(__global const type *in, int in_origin, int in_stride,            \
                   int width, int height, float offset, float inv_gain,              \
                   __global float *out, int out_origin, int out_stride)              \
{                                                                                    \
	int x = (int)get_global_id(0);                                               \
	int y = (int)get_global_id(1);                                               \
	if (x >= width || y >= height)                                               \
		return;                                                              \
	float n = ((float)in[in_origin + y * in_stride + x] - offset) * inv_gain;    \
	out[out_origin + y * out_stride + x] = 2.0f * sqrt(fmax(n + 0.375f, 0.0f));  \
}

FLATTEN_ANSCOMBE(flatten_anscombe_u8, uchar)
FLATTEN_ANSCOMBE(flatten_anscombe_u16, ushort)

/* Work-item (x, j): S1 and S2 of column x within block row j. */
__kernel void flatten_column_sums(__global const float *in, int origin, int stride,
                                  int width, int height, int block,
                                  __global float *cols)
{
	int x = (int)get_global_id(0);
	int j = (int)get_global_id(1);
	int nby = (height + block - 1) / block;
	if (x >= width || j >= nby)
		return;
	int y0 = j * block;
	int y1 = min(y0 + block, height);
	float p = in[origin + y0 * stride + (x / block) * block];
	__global const float *col = in + origin + x;
	float s1 = 0.0f, s2 = 0.0f;
	for (int y = y0; y < y1; y++) {
		float d = col[y * stride] - p;
		s1 += d;
		s2 += d * d;
	}
	cols[(j * width + x) * 2] = s1;
	cols[(j * width + x) * 2 + 1] = s2;
}

/* Work-item (i, j): mean and standard deviation of block (i, j). */
__kernel void flatten_block_stats(__global const float *in, int origin, int stride,
                                  int width, int height, int block,
                                  __global const float *cols, __global float *stats)
{
	int i = (int)get_global_id(0);
	int j = (int)get_global_id(1);
	int nbx = (width + block - 1) / block;
	int nby = (height + block - 1) / block;
	if (i >= nbx || j >= nby)
		return;
	int x0 = i * block;
	int x1 = min(x0 + block, width);
	float s1 = 0.0f, s2 = 0.0f;
	for (int x = x0; x < x1; x++) {
		s1 += cols[(j * width + x) * 2];
		s2 += cols[(j * width + x) * 2 + 1];
	}
	float n = (float)((x1 - x0) * (min(j * block + block, height) - j * block));
	float m1 = s1 / n;
	float var = s2 / n - m1 * m1;
	stats[(j * nbx + i) * 2] = in[origin + j * block * stride + x0] + m1;
	stats[(j * nbx + i) * 2 + 1] = sqrt(fmax(var, 0.0f));
}

/* Work-item c: the interpolation of coordinate c along x (c < width) or of
 * c - width along y: the lower block index k0[c] and the weight t[c] of block
 * k0[c] + 1. Twice the centre of block k is 2kB + n_k - 1, an integer. */
__kernel void flatten_axis_weights(int width, int height, int block,
                                   __global int *k0, __global float *t)
{
	int c = (int)get_global_id(0);
	if (c >= width + height)
		return;
	int along_y = c >= width;
	int size = along_y ? height : width;
	int p = along_y ? c - width : c;
	int nb = (size + block - 1) / block;
	int k = max(min((2 * p - block + 1) / (2 * block), nb - 2), 0);
	int k1 = min(k + 1, nb - 1);
	int c0 = 2 * k * block + min(block, size - k * block) - 1;
	int c1 = 2 * k1 * block + min(block, size - k1 * block) - 1;
	float w = c1 > c0 ? (float)(2 * p - c0) / (float)(c1 - c0) : 0.0f;
	k0[c] = k;
	t[c] = clamp(w, 0.0f, 1.0f);
}

/* Work-item (x, j): M(j, x) and S(j, x). */
__kernel void flatten_blend_columns(int width, int height, int block,
                                    __global const float *stats, __global const int *k0,
                                    __global const float *t, __global float *blend)
{
	int x = (int)get_global_id(0);
	int j = (int)get_global_id(1);
	int nbx = (width + block - 1) / block;
	int nby = (height + block - 1) / block;
	if (x >= width || j >= nby)
		return;
	int i0 = k0[x];
	int i1 = min(i0 + 1, nbx - 1);
	float tx = t[x];
	__global const float *r = stats + j * nbx * 2;
	blend[j * width + x] = (1.0f - tx) * r[i0 * 2] + tx * r[i1 * 2];
	blend[(nby + j) * width + x] = (1.0f - tx) * r[i0 * 2 + 1] + tx * r[i1 * 2 + 1];
}

/* Work-item (x, y): out = (in - m~) * g as described above. nby is passed
 * rather than computed: an integer division per work-item would keep PoCL
 * from vectorising the kernel (it measured four times slower). */
__kernel void flatten_apply(__global const float *in, int in_origin, int in_stride,
                            int width, int height, int nby,
                            __global const int *k0, __global const float *t,
                            __global const float *blend, int normalise, float floor_sd,
                            __global float *out, int out_origin, int out_stride)
{
	int x = (int)get_global_id(0);
	int y = (int)get_global_id(1);
	if (x >= width || y >= height)
		return;
	int j0 = k0[width + y];
	int j1 = min(j0 + 1, nby - 1);
	float ty = t[width + y];
	float m = (1.0f - ty) * blend[j0 * width + x] + ty * blend[j1 * width + x];
	float s = (1.0f - ty) * blend[(nby + j0) * width + x] + ty * blend[(nby + j1) * width + x];
	float g = normalise ? 1.0f / fmax(s, floor_sd) : 1.0f;
	out[out_origin + y * out_stride + x] = (in[in_origin + y * in_stride + x] - m) * g;
}
