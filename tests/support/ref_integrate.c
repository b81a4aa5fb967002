/* Plain-C reference of kernels/integrate.cl (contract in ref_integrate.h). */
#include <math.h>
#include <stdint.h>

#include "support/ref_integrate.h"

static float clampf(float v, float lo, float hi)
{
	return fminf(fmaxf(v, lo), hi);
}

static int imin(int a, int b)
{
	return a < b ? a : b;
}

/* As lower_node in integrate.cl. */
static int lower_node(float g, int n, float *t)
{
	int i0 = imin((int)floorf(g), n - 2 > 0 ? n - 2 : 0);
	*t = g - (float)i0;
	return i0;
}

static float pixel(const void *src, int bits, int stride, int x, int y)
{
	size_t i = (size_t)y * (size_t)stride + (size_t)x;
	return bits == 8 ? (float)((const uint8_t *)src)[i] : (float)((const uint16_t *)src)[i];
}

static int iclamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void ref_integrate(const void *src, int bits, int src_stride, int src_w, int src_h,
                   int win_y0, int win_h, const semqr__shift_field *field, int out_x0, int out_y0, int width,
                   int height, float *sum, int sum_stride, float *weight, int weight_stride)
{
	int nx = field->nx, ny = field->ny;
	float inv_x = nx > 1 ? 1.0f / field->step_x : 0.0f;
	float inv_y = ny > 1 ? 1.0f / field->step_y : 0.0f;
	const float *f = field->nodes;
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			float px = (float)(x + out_x0), py = (float)(y + out_y0), tx, ty;
			float gx = clampf((px - field->x0) * inv_x, 0.0f, (float)(nx - 1));
			float gy = clampf((py - field->y0) * inv_y, 0.0f, (float)(ny - 1));
			int i0 = lower_node(gx, nx, &tx), j0 = lower_node(gy, ny, &ty);
			int i1 = imin(i0 + 1, nx - 1), j1 = imin(j0 + 1, ny - 1);
			float d[2];
			for (int c = 0; c < 2; c++) {
				float a = f[2 * (j0 * nx + i0) + c], b = f[2 * (j0 * nx + i1) + c];
				float e = f[2 * (j1 * nx + i0) + c], g = f[2 * (j1 * nx + i1) + c];
				float top = a + (b - a) * tx, bottom = e + (g - e) * tx;
				d[c] = top + (bottom - top) * ty;
			}
			float sx = px + d[0], sy = py + d[1];
			int valid = sx >= -0.5f && sx <= (float)src_w - 0.5f && sy >= -0.5f &&
			            sy <= (float)src_h - 0.5f;
			float cx = clampf(sx, 0.0f, (float)(src_w - 1));
			float cy = clampf(sy, 0.0f, (float)(src_h - 1));
			float ux, uy;
			int x0 = lower_node(cx, src_w, &ux), y0 = lower_node(cy, src_h, &uy);
			int x1 = imin(x0 + 1, src_w - 1), y1 = imin(y0 + 1, src_h - 1);
			int w0 = iclamp(y0 - win_y0, 0, win_h - 1);
			int w1 = iclamp(y1 - win_y0, 0, win_h - 1);
			float v00 = pixel(src, bits, src_stride, x0, w0);
			float v10 = pixel(src, bits, src_stride, x1, w0);
			float v01 = pixel(src, bits, src_stride, x0, w1);
			float v11 = pixel(src, bits, src_stride, x1, w1);
			float vt = v00 + (v10 - v00) * ux, vb = v01 + (v11 - v01) * ux;
			float v = vt + (vb - vt) * uy;
			if (valid) {
				sum[(size_t)y * (size_t)sum_stride + (size_t)x] += v;
				weight[(size_t)y * (size_t)weight_stride + (size_t)x] += 1.0f;
			}
		}
}
