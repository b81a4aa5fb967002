/* Each frame's drift from a simulator ground truth (contract in
 * support/truth_frames.h). */
#include <jansson.h>

#include "support/truth_frames.h"

int test_truth_frame_shifts(const char *truth_path, int width, int height, int frames,
                            double *tx, double *ty, double *period_s)
{
	json_error_t jerr;
	json_t *root = json_load_file(truth_path, 0, &jerr);
	if (!root)
		return -1;
	if (period_s)
		*period_s = json_number_value(
		    json_object_get(json_object_get(root, "derived"), "frame_period_s"));
	for (int k = 0; k < frames; k++)
		tx[k] = ty[k] = 0.0;
	json_t *syms = json_object_get(root, "symbols");
	int corners = 0;
	for (size_t s = 0; s < json_array_size(syms); s++) {
		json_t *c = json_object_get(json_array_get(syms, s), "corners");
		if (json_array_size(c) < (size_t)frames) {
			json_decref(root);
			return -1;
		}
		for (size_t q = 0; q < 4; q++) {
			json_t *p0 = json_array_get(json_array_get(c, 0), q);
			double x0 = json_number_value(json_array_get(p0, 0));
			double y0 = json_number_value(json_array_get(p0, 1));
			if (x0 < 0 || y0 < 0 || x0 > width || y0 > height)
				continue;
			corners++;
			for (int k = 0; k < frames; k++) {
				json_t *p = json_array_get(json_array_get(c, (size_t)k), q);
				tx[k] += json_number_value(json_array_get(p, 0)) - x0;
				ty[k] += json_number_value(json_array_get(p, 1)) - y0;
			}
		}
	}
	json_decref(root);
	for (int k = 0; k < frames && corners; k++) {
		tx[k] /= corners;
		ty[k] /= corners;
	}
	return corners;
}
