/* PNG writing through libpng: 8 or 16-bit grey, not interlaced, default
 * compression; 16-bit samples stored big-endian as PNG requires.
 *
 * libpng's errors longjmp back here through semqr__png_error (png_read.c);
 * the row buffer, used after the jump, is volatile. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

semqr_status semqr__png_write(const char *path, const semqr_image *img, semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	semqr__png_failure failure = {.message = ""};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, semqr__png_error,
	                                          semqr__png_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return semqr__finish_output(
		    fp, path,
		    semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot create a PNG writer", path),
		    err);
	}
	size_t bytes = (size_t)img->bits / 8;
	png_byte *volatile row = malloc((size_t)img->width * bytes);
	semqr_status st = SEMQR_OK;
	if (!row) {
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path);
		goto done;
	}
	if (setjmp(failure.jump)) {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot write PNG (libpng: %s)", path,
		                 failure.message);
		goto done;
	}
	png_init_io(png, fp);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, img->bits,
	             PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			uint32_t v = semqr__pixel(img, x, y);
			if (bytes == 1) {
				row[x] = (png_byte)v;
			} else { /* PNG stores 16-bit samples big-endian */
				row[2 * x] = (png_byte)(v >> 8);
				row[2 * x + 1] = (png_byte)v;
			}
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
done:
	png_destroy_write_struct(&png, &info);
	free(row);
	return semqr__finish_output(fp, path, st, err);
}
