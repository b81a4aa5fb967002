/* Plain-C reference of kernels/denoise.cl (semantics in that file; contract
 * in ref.h). */
#include <stdlib.h>

#include "support/ref.h"

int ref_denoise(const float *in, int in_stride, int width, int height, float sigma, int radius,
                float *out, int out_stride)
{
	int n = 2 * radius + 1, th = height + 2 * radius;
	float *w = malloc((size_t)n * sizeof *w);
	float *tmp = malloc((size_t)width * (size_t)th * sizeof *tmp);
	if (!w || !tmp) {
		free(w);
		free(tmp);
		return -1;
	}
	semqr__denoise_weights(sigma, radius, w);
	/* tmp row t holds the row pass of input row t - radius. */
	for (int t = 0; t < th; t++) {
		const float *row = in + (t - radius) * in_stride;
		for (int x = 0; x < width; x++) {
			float acc = 0.0f;
			for (int k = 0; k < n; k++)
				acc += w[k] * row[x + k - radius];
			tmp[t * width + x] = acc;
		}
	}
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			float acc = 0.0f;
			for (int k = 0; k < n; k++)
				acc += w[k] * tmp[(y + k) * width + x];
			out[y * out_stride + x] = acc;
		}
	free(w);
	free(tmp);
	return 0;
}
