/* PNG writing through libpng: 8 or 16-bit grey images and 8-bit RGB
 * pictures, not interlaced, default compression; 16-bit samples stored
 * big-endian as PNG requires.
 *
 * libpng's errors longjmp back here through semqr__png_error (png_read.c);
 * the row buffer, used after the jump, is volatile. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

/* Supplies row y, either converted into buf (row_bytes long) or as a pointer
 * to the caller's own bytes. */
typedef const png_byte *(*row_source)(const void *user, int y, png_byte *buf);

/* Writes a width x height PNG of the given bit depth and colour type whose
 * rows, of row_bytes bytes each, come from source; removes the partial file
 * on failure. */
static semqr_status write_png(const char *path, int width, int height, int depth, int colour,
                              size_t row_bytes, row_source source, const void *user,
                              semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	semqr__png_failure failure = {.message = ""};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, semqr__png_error,
	                                          semqr__png_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_byte *volatile buf = info ? malloc(row_bytes) : NULL;
	semqr_status st = SEMQR_OK;
	if (!buf) {
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot create a PNG writer", path);
		goto done;
	}
	if (setjmp(failure.jump)) {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot write PNG (libpng: %s)", path,
		                 failure.message);
		goto done;
	}
	png_init_io(png, fp);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, depth, colour,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < height; y++)
		png_write_row(png, source(user, y, buf));
	png_write_end(png, NULL);
done:
	png_destroy_write_struct(&png, &info);
	free(buf);
	return semqr__finish_output(fp, path, st, err);
}

static const png_byte *grey_row(const void *user, int y, png_byte *buf)
{
	const semqr_image *img = user;
	for (int x = 0; x < img->width; x++) {
		uint32_t v = semqr__pixel(img, x, y);
		if (img->bits == 8) {
			buf[x] = (png_byte)v;
		} else { /* PNG stores 16-bit samples big-endian */
			buf[2 * x] = (png_byte)(v >> 8);
			buf[2 * x + 1] = (png_byte)v;
		}
	}
	return buf;
}

semqr_status semqr__png_write(const char *path, const semqr_image *img, semqr_error *err)
{
	return write_png(path, img->width, img->height, img->bits, PNG_COLOR_TYPE_GRAY,
	                 (size_t)img->width * (size_t)(img->bits / 8), grey_row, img, err);
}

struct rgb_picture {
	int width;
	const uint8_t *rgb;
};

static const png_byte *rgb_row(const void *user, int y, png_byte *buf)
{
	const struct rgb_picture *p = user;
	(void)buf;
	return p->rgb + (size_t)y * (size_t)p->width * 3;
}

semqr_status semqr__png_write_rgb(const char *path, int width, int height, const uint8_t *rgb,
                                  semqr_error *err)
{
	struct rgb_picture p = {width, rgb};
	return write_png(path, width, height, 8, PNG_COLOR_TYPE_RGB, (size_t)width * 3, rgb_row, &p,
	                 err);
}
