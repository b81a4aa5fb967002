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
 * flatten_column_sums sums each column's segment within a block row (rows in
 * increasing y; a work-item takes four neighbouring columns of a block row,
 * so that it reads neighbouring pixels); flatten_block_stats adds the column
 * segments of a block in increasing x.
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

/* Binning 2 x 2 (the detect scale 2 of the scan decoder: every later stage
 * then runs on a quarter of the pixels). Output pixel (x, y), x < ceil(w / 2),
 * y < ceil(h / 2), covers input columns 2x, 2x + 1 and rows 2y, 2y + 1; an
 * odd width or height has its last column or row replicated (the block
 * takes it twice). With S the integer sum of the four values (exact in int,
 * and in float, being under 2^24):
 *     plain:    out = (float)S * (1 / (4 vmax)), the block's mean as the
 *               plain load maps one pixel, v / vmax; its noise is half a
 *               pixel's;
 *     Anscombe: out = sqrt(max(N + 3/8, 0)), N = ((float)S - 4 offset) *
 *               inv_gain the block's total electron count: half the
 *               Anscombe transform 2 sqrt(N + 3/8) of the count N, which is
 *               Poisson when the four pixels are, so its noise is close to
 *               1/2 everywhere: the same halving as the plain mean's, and
 *               the value equals 2 sqrt(n + 3/32) for the mean count n = N /
 *               4, the per-pixel transform of the mean up to the small
 *               offset. (Where a replicated pixel counts twice N is not
 *               Poisson and its noise a little above 1/2.)
 * Both take the loads' arguments, with width and height those of the input
 * window; the output window is ceil(width / 2) x ceil(height / 2).
 * Work-item (q, y) writes output pixels 4q .. 4q + 3 of row y (fewer at the
 * right edge): where its 8 input columns lie inside the window they load as
 * one vector per row (the one-pixel form's stride-2 reads ran at a quarter
 * of the load kernel's speed on PoCL); the values are the same. */
#define BIN2_VALUE(v, vmax, anscombe)                                                 \
	((anscombe) ? sqrt(fmax(((v) - 4.0f * offset) * inv_gain + 0.375f, 0.0f))          \
	            : (v) * (1.0f / (4.0f * (vmax))))
#define FLATTEN_BIN2(name, type, vmax, anscombe)                                     \
__kernel void name(__global const type *in, int in_origin, int in_stride,            \
                   int width, int height, float offset, float inv_gain,              \
                   __global float *out, int out_origin, int out_stride)              \
{                                                                                    \
	int x0 = 4 * (int)get_global_id(0);                                          \
	int y = (int)get_global_id(1);                                               \
	int ow = (width + 1) / 2;                                                    \
	if (x0 >= ow || 2 * y >= height)                                             \
		return;                                                              \
	int y1 = min(2 * y + 1, height - 1);                                         \
	__global const type *r0 = in + in_origin + 2 * y * in_stride;                \
	__global const type *r1 = in + in_origin + y1 * in_stride;                   \
	__global float *o = out + out_origin + y * out_stride + x0;                  \
	if (2 * x0 + 8 <= width) {                                                   \
		int8 a = convert_int8(vload8(0, r0 + 2 * x0));                       \
		int8 b = convert_int8(vload8(0, r1 + 2 * x0));                       \
		float4 v = convert_float4(a.even + a.odd + b.even + b.odd);          \
		vstore4(BIN2_VALUE(v, vmax, anscombe), 0, o);                        \
		return;                                                              \
	}                                                                            \
	for (int x = x0; x < min(x0 + 4, ow); x++) {                                 \
		int x1 = min(2 * x + 1, width - 1);                                  \
		int s = (int)r0[2 * x] + (int)r0[x1] + (int)r1[2 * x] + (int)r1[x1]; \
		o[x - x0] = BIN2_VALUE((float)s, vmax, anscombe);                    \
	}                                                                            \
}

FLATTEN_BIN2(flatten_bin2_u8, uchar, 255.0f, 0)
FLATTEN_BIN2(flatten_bin2_u16, ushort, 65535.0f, 0)
FLATTEN_BIN2(flatten_bin2_anscombe_u8, uchar, 255.0f, 1)
FLATTEN_BIN2(flatten_bin2_anscombe_u16, ushort, 65535.0f, 1)

/* The kernels that read the input window come in three forms, by the
 * input's type: _f32 (float), _u8 (uchar) and _u16 (ushort). An integer
 * input is read as scale * v, scale = 1 / (2^bits - 1), the value the plain
 * load kernels write (flatten_load_u8 and flatten_load_u16, whose product
 * (float)v * (1 / vmax) it repeats operand for operand), so that flattening
 * an integer window directly gives exactly what loading it and flattening
 * the floats gives, without the float image in between; scale is 1 for
 * float input. The comments below name the kernels without their suffix. */

/* Work-item (c, j): S1 and S2 of columns 4c .. 4c + 3 within block row j.
 * The four columns are summed side by side in a float4 (explicitly: PoCL left
 * the one-column loop, which walks down a column, unvectorised and it ran at
 * a quarter of the speed of loading); each column's sums are the same
 * additions in the same order as one column alone. A work-item whose
 * columns run past the window's right edge sums its remaining columns one by
 * one. */
/* Work-item (i, j): mean and standard deviation of block (i, j). */
/* Work-item (c, r): out = (in - m~) * g as described above, for columns
 * 4c .. 4c + 3 (in a float4, as in flatten_column_sums; the work-item whose
 * columns run past the right edge does its remaining columns one by one) of
 * the rows [r * rows, min(r * rows + rows, height)). Looping over rows inside
 * the work-item keeps the row's interpolation (j0, ty) out of the per-pixel
 * work; nby is passed rather than computed (an integer division per
 * work-item kept PoCL from vectorising an earlier form of this kernel). */
#define FLATTEN_FROM(sfx, type, scale)                                              \
__kernel void flatten_column_sums_##sfx(__global const type *in, int origin, int stride, \
                                  int width, int height, int block,                 \
                                  __global float *cols)                             \
{                                                                                   \
	int x0 = 4 * (int)get_global_id(0);                                         \
	int j = (int)get_global_id(1);                                              \
	int nby = (height + block - 1) / block;                                     \
	if (x0 >= width || j >= nby)                                                \
		return;                                                             \
	int y0 = j * block;                                                         \
	int y1 = min(y0 + block, height);                                           \
	__global const type *row0 = in + origin + y0 * stride;                      \
	if (x0 + 4 <= width) {                                                      \
		float4 p = (float4)(scale * row0[((x0 + 0) / block) * block],       \
		                    scale * row0[((x0 + 1) / block) * block],       \
		                    scale * row0[((x0 + 2) / block) * block],       \
		                    scale * row0[((x0 + 3) / block) * block]);      \
		float4 s1 = 0.0f, s2 = 0.0f;                                        \
		for (int y = y0; y < y1; y++) {                                     \
			float4 v = convert_float4(vload4(0, in + origin + y * stride + x0)); \
			float4 d = scale * v - p;                                   \
			s1 += d;                                                    \
			s2 += d * d;                                                \
		}                                                                   \
		__global float *o = cols + (j * width + x0) * 2;                    \
		vstore4((float4)(s1.x, s2.x, s1.y, s2.y), 0, o);                    \
		vstore4((float4)(s1.z, s2.z, s1.w, s2.w), 0, o + 4);                \
		return;                                                             \
	}                                                                           \
	for (int x = x0; x < width; x++) {                                          \
		float p = scale * row0[(x / block) * block];                        \
		float s1 = 0.0f, s2 = 0.0f;                                         \
		for (int y = y0; y < y1; y++) {                                     \
			float d = scale * in[origin + y * stride + x] - p;          \
			s1 += d;                                                    \
			s2 += d * d;                                                \
		}                                                                   \
		cols[(j * width + x) * 2] = s1;                                     \
		cols[(j * width + x) * 2 + 1] = s2;                                 \
	}                                                                           \
}                                                                                   \
                                                                                    \
__kernel void flatten_block_stats_##sfx(__global const type *in, int origin, int stride, \
                                  int width, int height, int block,                 \
                                  __global const float *cols, __global float *stats) \
{                                                                                   \
	int i = (int)get_global_id(0);                                              \
	int j = (int)get_global_id(1);                                              \
	int nbx = (width + block - 1) / block;                                      \
	int nby = (height + block - 1) / block;                                     \
	if (i >= nbx || j >= nby)                                                   \
		return;                                                             \
	int x0 = i * block;                                                         \
	int x1 = min(x0 + block, width);                                            \
	float s1 = 0.0f, s2 = 0.0f;                                                 \
	for (int x = x0; x < x1; x++) {                                             \
		s1 += cols[(j * width + x) * 2];                                    \
		s2 += cols[(j * width + x) * 2 + 1];                                \
	}                                                                           \
	float n = (float)((x1 - x0) * (min(j * block + block, height) - j * block)); \
	float m1 = s1 / n;                                                          \
	float var = s2 / n - m1 * m1;                                               \
	stats[(j * nbx + i) * 2] = scale * in[origin + j * block * stride + x0] + m1; \
	stats[(j * nbx + i) * 2 + 1] = sqrt(fmax(var, 0.0f));                       \
}                                                                                   \
                                                                                    \
__kernel void flatten_apply_##sfx(__global const type *in, int in_origin, int in_stride, \
                            int width, int height, int nby, int rows,               \
                            __global const int *k0, __global const float *t,        \
                            __global const float *blend, int normalise, float floor_sd, \
                            __global float *out, int out_origin, int out_stride)    \
{                                                                                   \
	int x0 = 4 * (int)get_global_id(0);                                         \
	int r0 = (int)get_global_id(1) * rows;                                      \
	if (x0 >= width || r0 >= height)                                            \
		return;                                                             \
	int r1 = min(r0 + rows, height);                                            \
	int whole = x0 + 4 <= width;                                                \
	for (int y = r0; y < r1; y++) {                                             \
		int j0 = k0[width + y];                                             \
		int j1 = min(j0 + 1, nby - 1);                                      \
		float ty = t[width + y];                                            \
		__global const float *m0 = blend + j0 * width, *m1 = blend + j1 * width; \
		__global const float *s0 = blend + (nby + j0) * width;              \
		__global const float *s1 = blend + (nby + j1) * width;              \
		__global const type *src = in + in_origin + y * in_stride;          \
		__global float *dst = out + out_origin + y * out_stride;            \
		if (whole) {                                                        \
			float4 m = (1.0f - ty) * vload4(0, m0 + x0)                 \
			           + ty * vload4(0, m1 + x0);                       \
			float4 g = 1.0f;                                            \
			if (normalise)                                              \
				g = 1.0f / fmax((1.0f - ty) * vload4(0, s0 + x0)    \
				                + ty * vload4(0, s1 + x0), floor_sd); \
			float4 v = convert_float4(vload4(0, src + x0));             \
			vstore4((scale * v - m) * g, 0, dst + x0);                  \
			continue;                                                   \
		}                                                                   \
		for (int x = x0; x < width; x++) {                                  \
			float m = (1.0f - ty) * m0[x] + ty * m1[x];                 \
			float g = normalise                                         \
			          ? 1.0f / fmax((1.0f - ty) * s0[x] + ty * s1[x], floor_sd) \
			          : 1.0f;                                           \
			dst[x] = (scale * src[x] - m) * g;                          \
		}                                                                   \
	}                                                                           \
}

FLATTEN_FROM(f32, float, 1.0f)
FLATTEN_FROM(u8, uchar, (1.0f / 255.0f))
FLATTEN_FROM(u16, ushort, (1.0f / 65535.0f))

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
