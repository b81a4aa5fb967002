/* Plain-C references of kernels/flatten.cl: loading and background removal
 * (semantics in that file; contracts in ref.h). */
#include <math.h>
#include <stdlib.h>

#include "support/ref.h"

void ref_load_u8(const uint8_t *in, int in_stride, int width, int height, float gain, float offset,
                 float *out, int out_stride)
{
	float inv_gain = gain > 0.0f ? 1.0f / gain : 0.0f;
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			float v = (float)in[y * in_stride + x];
			out[y * out_stride + x] =
			    gain > 0.0f
			        ? 2.0f * sqrtf(fmaxf((v - offset) * inv_gain + 0.375f, 0.0f))
			        : v * (1.0f / 255.0f);
		}
}

void ref_load_u16(const uint16_t *in, int in_stride, int width, int height, float gain,
                  float offset, float *out, int out_stride)
{
	float inv_gain = gain > 0.0f ? 1.0f / gain : 0.0f;
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			float v = (float)in[y * in_stride + x];
			out[y * out_stride + x] =
			    gain > 0.0f
			        ? 2.0f * sqrtf(fmaxf((v - offset) * inv_gain + 0.375f, 0.0f))
			        : v * (1.0f / 65535.0f);
		}
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}
static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* flatten_weight: the lower block index and the interpolation weight. */
static float weight(int c, int size, int block, int *k0)
{
	int nb = (size + block - 1) / block;
	int k = max_int(min_int((2 * c - block + 1) / (2 * block), nb - 2), 0);
	int k1 = min_int(k + 1, nb - 1);
	int c0 = 2 * k * block + min_int(block, size - k * block) - 1;
	int c1 = 2 * k1 * block + min_int(block, size - k1 * block) - 1;
	*k0 = k;
	float t = c1 > c0 ? (float)(2 * c - c0) / (float)(c1 - c0) : 0.0f;
	return fminf(fmaxf(t, 0.0f), 1.0f);
}

int ref_flatten(const float *in, int in_stride, int width, int height, int block, int normalise,
                float floor_sd, float *out, int out_stride)
{
	int nbx = (width + block - 1) / block, nby = (height + block - 1) / block;
	float *cols = malloc((size_t)width * (size_t)nby * 2 * sizeof *cols);
	float *stats = malloc((size_t)nbx * (size_t)nby * 2 * sizeof *stats);
	if (!cols || !stats) {
		free(cols);
		free(stats);
		return -1;
	}
	for (int j = 0; j < nby; j++)
		for (int x = 0; x < width; x++) {
			int y0 = j * block, y1 = min_int(y0 + block, height);
			float p = in[y0 * in_stride + (x / block) * block];
			float s1 = 0.0f, s2 = 0.0f;
			for (int y = y0; y < y1; y++) {
				float d = in[y * in_stride + x] - p;
				s1 += d;
				s2 += d * d;
			}
			cols[(j * width + x) * 2] = s1;
			cols[(j * width + x) * 2 + 1] = s2;
		}
	for (int j = 0; j < nby; j++)
		for (int i = 0; i < nbx; i++) {
			int x0 = i * block, x1 = min_int(x0 + block, width);
			float s1 = 0.0f, s2 = 0.0f;
			for (int x = x0; x < x1; x++) {
				s1 += cols[(j * width + x) * 2];
				s2 += cols[(j * width + x) * 2 + 1];
			}
			float n =
			    (float)((x1 - x0) * (min_int(j * block + block, height) - j * block));
			float m1 = s1 / n;
			float var = s2 / n - m1 * m1;
			stats[(j * nbx + i) * 2] = in[j * block * in_stride + x0] + m1;
			stats[(j * nbx + i) * 2 + 1] = sqrtf(fmaxf(var, 0.0f));
		}
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			int i0, j0;
			float tx = weight(x, width, block, &i0);
			float ty = weight(y, height, block, &j0);
			int i1 = min_int(i0 + 1, nbx - 1), j1 = min_int(j0 + 1, nby - 1);
			const float *r0 = stats + j0 * nbx * 2, *r1 = stats + j1 * nbx * 2;
			float m = (1.0f - ty) * ((1.0f - tx) * r0[i0 * 2] + tx * r0[i1 * 2]) +
			          ty * ((1.0f - tx) * r1[i0 * 2] + tx * r1[i1 * 2]);
			float s =
			    (1.0f - ty) * ((1.0f - tx) * r0[i0 * 2 + 1] + tx * r0[i1 * 2 + 1]) +
			    ty * ((1.0f - tx) * r1[i0 * 2 + 1] + tx * r1[i1 * 2 + 1]);
			float g = normalise ? 1.0f / fmaxf(s, floor_sd) : 1.0f;
			out[y * out_stride + x] = (in[y * in_stride + x] - m) * g;
		}
	free(cols);
	free(stats);
	return 0;
}
