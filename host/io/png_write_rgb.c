/* PNG writing through libpng: 8-bit RGB, not interlaced, default
 * compression (the overlay picture; grey images go through png_write.c).
 *
 * libpng's errors longjmp back here through semqr__png_error (png_read.c);
 * nothing allocated here is used after the jump. */
#include <png.h>
#include <setjmp.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

semqr_status semqr__png_write_rgb(const char *path, int width, int height, const uint8_t *rgb,
                                  semqr_error *err)
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
	semqr_status st = SEMQR_OK;
	if (setjmp(failure.jump)) {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot write PNG (libpng: %s)", path,
		                 failure.message);
		goto done;
	}
	png_init_io(png, fp);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < height; y++)
		png_write_row(png, rgb + (size_t)y * (size_t)width * 3);
	png_write_end(png, NULL);
done:
	png_destroy_write_struct(&png, &info);
	return semqr__finish_output(fp, path, st, err);
}
