/* Netpbm writing: P5 (PGM, maxval 255 or 65535, 16-bit samples big-endian)
 * or P4 (PBM, dark where the value is below half scale). */
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

semqr_status semqr__pnm_write(const char *path, const semqr_image *img, int bitmap,
                              semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	uint32_t half = img->bits == 16 ? 32768 : 128;
	size_t bytes =
	    bitmap ? ((size_t)img->width + 7) / 8 : (size_t)img->width * (size_t)img->bits / 8;
	uint8_t *row = malloc(bytes);
	if (!row)
		return semqr__finish_output(
		    fp, path,
		    semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path), err);
	if (bitmap)
		fprintf(fp, "P4\n%d %d\n", img->width, img->height);
	else
		fprintf(fp, "P5\n%d %d\n%d\n", img->width, img->height,
		        img->bits == 16 ? 65535 : 255);
	for (int y = 0; y < img->height; y++) {
		if (bitmap)
			memset(row, 0, bytes);
		for (int x = 0; x < img->width; x++) {
			uint32_t v = semqr__pixel(img, x, y);
			if (bitmap)
				row[x / 8] |= (uint8_t)((v < half) << (7 - x % 8));
			else if (img->bits == 8)
				row[x] = (uint8_t)v;
			else {
				row[2 * x] = (uint8_t)(v >> 8);
				row[2 * x + 1] = (uint8_t)v;
			}
		}
		if (fwrite(row, 1, bytes, fp) != bytes)
			break; /* the stream's error flag is reported by semqr__finish_output */
	}
	free(row);
	return semqr__finish_output(fp, path, SEMQR_OK, err);
}
