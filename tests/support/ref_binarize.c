/* Plain-C reference of kernels/binarize.cl (semantics in that file; contract
 * in ref.h). */
#include <stdlib.h>

#include "support/ref.h"

int ref_binarize(const float *in, int in_stride, int width, int height, int radius, float offset,
                 uint8_t *out, int out_stride, float *threshold)
{
	int n = 2 * radius + 1, th = height + 2 * radius;
	float *rows = malloc((size_t)width * (size_t)th * sizeof *rows);
	if (!rows)
		return -1;
	float inv_area = semqr__binarize_inv_area(radius);
	/* rows row t holds the sums of input row t - radius. */
	for (int t = 0; t < th; t++) {
		const float *row = in + (t - radius) * in_stride;
		for (int x = 0; x < width; x++) {
			float acc = 0.0f;
			for (int k = 0; k < n; k++)
				acc += row[x + k - radius];
			rows[t * width + x] = acc;
		}
	}
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			float acc = 0.0f;
			for (int l = 0; l < n; l++)
				acc += rows[(y + l) * width + x];
			float limit = acc * inv_area + offset;
			out[y * out_stride + x] = in[y * in_stride + x] > limit ? 1 : 0;
			if (threshold)
				threshold[y * width + x] = limit;
		}
	free(rows);
	return 0;
}
