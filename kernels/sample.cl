/* semqr sample stage: the mean grey of every module of located symbols.
 *
 * The definition is semqr__sample_module_means' (host/locate/locate.h): a
 * module's mean is the weighted mean of side x side bilinear samples around
 * its centre, at the module offsets and with the weights of the footprint
 * the host chose for the symbol (side 7: wide, 4: narrow, 3: small; the tables below,
 * semqr__sample_side's choice), taken b (v offset) outer, a (u offset)
 * inner; pixel centres are at integer coordinates; a sample is missing when
 * it lies outside [0, width - 1] x [0, height - 1] (borders included) or is
 * not finite, every sample is missing when width < 2 or height < 2, and a
 * module with a missing sample gets NAN. Here it is evaluated in float.
 *
 * One work-item per module of all the symbols: work-item g < total belongs to
 * the last symbol k with syms[k].offset <= g (offsets are increasing: symbol
 * k's modules are out[offset_k .. offset_k + size_k^2), row-major), found by
 * a binary search whose steps are the same for every work-item.
 *
 * Coordinates. Each symbol's record holds its module -> pixel homography
 * recentred by the host (semqr__sample_symbol_init): module coordinates are
 * taken from the symbol's centre (u' = u - size / 2, exact multiples of 1/32)
 * and pixel coordinates from an integer anchor pixel (ax, ay) near the image
 * of that centre, scaled so that h[8] = 1 (but for a degenerate map whose
 * horizon passes through the centre). A sample at (u', v') is at
 *     xr = (h0 u' + h1 v' + h2) / (h6 u' + h7 v' + h8),   x = ax + xr,
 * and likewise y. x itself is never formed: the border tests compare xr with
 * the exact integers -ax and width - 1 - ax, and the bilinear weights come
 * from xr - floor(xr), so the float rounding is that of numbers the size of
 * the symbol's own extent in pixels, not of the window's. The quotient is
 * refined once with fma (q + fma(-q, w, n) / w), which makes it the
 * correctly rounded n / w but in rare near-halfway cases whatever division
 * accuracy the device has (OpenCL allows 2.5 ulp), so that every device
 * agrees with the C reference. Each sample adds (wa * wb) * sample to the
 * sum in float, as the reference does; the tables are those of sample.c
 * rounded to float (the offsets and the narrow weights exactly).
 *
 * Reads are clamped to the window (a missing sample reads a border pixel and
 * is then discarded), so the kernel never reads outside the window and has
 * no branch per sample. The host keeps width and height <= 2^24 so that the
 * border integers are exact floats.
 *
 * OpenCL C 1.2, no extensions; contraction off, as in the C reference. */
#pragma OPENCL FP_CONTRACT OFF

/* Must match semqr__sample_symbol in pipeline/stage_sample.h (56 bytes). */
typedef struct sample_symbol {
	float h[9];        /* recentred homography */
	int anchor_x;      /* window pixel the recentred coordinates start from */
	int anchor_y;
	int size;          /* modules per side */
	int offset;        /* index in out of module (0, 0) */
	int side;          /* samples per side: 7 (wide footprint), 4 (narrow) or 3 (small) */
} sample_symbol;

/* The footprints' offsets (modules) and weights per axis, as sample.c's. */
__constant float wide_offset[7] = {-0.46875f, -0.3125f, -0.15625f, 0.0f,
                                   0.15625f,  0.3125f,  0.46875f};
__constant float wide_weight[7] = {
    0.065576383842369981f, 0.12920289930120246f, 0.19408283901901222f, 0.22227575567483052f,
    0.19408283901901222f,  0.12920289930120246f, 0.065576383842369981f};
__constant float narrow_offset[4] = {-0.28125f, -0.09375f, 0.09375f, 0.28125f};
__constant float narrow_weight[4] = {0.25f, 0.25f, 0.25f, 0.25f};
__constant float small_offset[3] = {-0.25f, 0.0f, 0.25f};
__constant float small_weight[3] = {0.33333333333333333f, 0.33333333333333333f,
                                    0.33333333333333333f};

/* One coordinate of a sample: n / w refined to (nearly always) the correctly
 * rounded quotient. */
static float quotient(float n, float w)
{
	float q = n / w;
	return q + fma(-q, w, n) / w;
}

__kernel void sample_means(__global const float *in, int in_origin, int in_stride, int width,
                           int height, __global const sample_symbol *syms, int count, int total,
                           __global float *out)
{
	int g = (int)get_global_id(0);
	if (g >= total)
		return;
	if (width < 2 || height < 2) {
		out[g] = NAN;
		return;
	}

	/* The symbol: k ends as the largest index with syms[k].offset <= g. */
	int k = 0;
	for (int step = count > 1 ? 1 << (31 - clz(count - 1)) : 0; step > 0; step >>= 1) {
		int next = k + step;
		k = next < count && syms[next].offset <= g ? next : k;
	}
	__global const sample_symbol *s = syms + k;
	int size = s->size, m = g - s->offset;
	int j = m / size, i = m - j * size;
	float h0 = s->h[0], h1 = s->h[1], h2 = s->h[2];
	float h3 = s->h[3], h4 = s->h[4], h5 = s->h[5];
	float h6 = s->h[6], h7 = s->h[7], h8 = s->h[8];
	int ax = s->anchor_x, ay = s->anchor_y;
	float lo_x = (float)(-ax), hi_x = (float)(width - 1 - ax);
	float lo_y = (float)(-ay), hi_y = (float)(height - 1 - ay);
	/* Module centre relative to the symbol centre: (2i + 1 - size) / 2. */
	float cu = (float)(2 * i + 1 - size) * 0.5f, cv = (float)(2 * j + 1 - size) * 0.5f;
	__global const float *base = in + in_origin;

	int side = s->side == 7 ? 7 : s->side == 3 ? 3 : 4;
	__constant const float *off = side == 7 ? wide_offset : side == 3 ? small_offset : narrow_offset;
	__constant const float *wt = side == 7 ? wide_weight : side == 3 ? small_weight : narrow_weight;

	float sum = 0.0f;
	int ok = 1;
	for (int b = 0; b < side; b++)
		for (int a = 0; a < side; a++) {
			float u = cu + off[a], v = cv + off[b];
			float nx = h0 * u;
			nx = nx + h1 * v;
			nx = nx + h2;
			float ny = h3 * u;
			ny = ny + h4 * v;
			ny = ny + h5;
			float w = h6 * u;
			w = w + h7 * v;
			w = w + h8;
			float xr = quotient(nx, w), yr = quotient(ny, w);
			/* fmax/fmin return the bound for a NaN, which then fails ==. */
			float xs = fmin(fmax(xr, lo_x), hi_x), ys = fmin(fmax(yr, lo_y), hi_y);
			ok &= xs == xr && ys == yr;
			int x0 = min(ax + (int)floor(xs), width - 2);
			int y0 = min(ay + (int)floor(ys), height - 2);
			float fx = xs - (float)(x0 - ax), fy = ys - (float)(y0 - ay);
			__global const float *p = base + y0 * in_stride + x0;
			__global const float *q = p + in_stride;
			float top = (1.0f - fx) * p[0] + fx * p[1];
			float bottom = (1.0f - fx) * q[0] + fx * q[1];
			sum += (wt[a] * wt[b]) * ((1.0f - fy) * top + fy * bottom);
		}
	out[g] = ok ? sum : NAN;
}
