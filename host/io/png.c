/* PNG through libpng.
 *
 * libpng reports errors by calling an error function that must not return;
 * ours copies the message into the caller's png_failure and longjmps back to
 * the setjmp in the reader or writer. Locals changed after setjmp and used
 * after the jump are volatile. Warnings (bad ancillary chunks, sRGB profile
 * quirks) are ignored: they never affect the pixels semqr reads.
 *
 * Reading expands palettes and 1/2/4-bit grey to 8 bits and tRNS to an alpha
 * channel (all in libpng), then converts each row to grey here: BT.601 luma
 * for colour, alpha composited onto white. 16-bit files stay 16-bit (their
 * samples are big-endian in the row buffer). */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

typedef struct png_failure {
	jmp_buf jump;
	char message[256];
} png_failure;

_Noreturn static void on_png_error(png_structp png, png_const_charp message)
{
	png_failure *failure = png_get_error_ptr(png);
	snprintf(failure->message, sizeof failure->message, "%s", message);
	longjmp(failure->jump, 1);
}

static void on_png_warning(png_structp png, png_const_charp message)
{
	(void)png;
	(void)message;
}

/* Converts one row of `channels` samples per pixel (1 grey, 2 grey+alpha,
 * 3 RGB, 4 RGBA) of `depth` 8 or 16 bits into row y of img. */
static void convert_row(const png_byte *row, int channels, int depth, semqr_image *img, int y)
{
	uint32_t max = depth == 16 ? 65535 : 255;
	uint32_t s[4];
	for (int x = 0; x < img->width; x++) {
		for (int c = 0; c < channels; c++) {
			size_t i = (size_t)x * (size_t)channels + (size_t)c;
			s[c] = depth == 16 ? (uint32_t)row[2 * i] << 8 | row[2 * i + 1] : row[i];
		}
		uint32_t v = channels >= 3 ? semqr__luma(s[0], s[1], s[2]) : s[0];
		if (channels == 2 || channels == 4)
			v = semqr__over_white(v, s[channels - 1], max);
		semqr__set_pixel(img, x, y, v);
	}
}

semqr_status semqr__png_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err)
{
	png_failure failure = {.message = ""};
	png_structp png =
	    png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot create a PNG reader",
		                   path);
	}
	png_byte *volatile rows = NULL;
	semqr_status st = SEMQR_OK;
	if (setjmp(failure.jump)) {
		semqr_image_free(img);
		if (feof(fp))
			st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: truncated (libpng: %s)", path,
			                 failure.message);
		else if (ferror(fp))
			st = semqr__fail(err, SEMQR_ERR_IO, "%s: read error (libpng: %s)", path,
			                 failure.message);
		else
			st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: invalid PNG (libpng: %s)",
			                 path, failure.message);
		goto done;
	}

	png_init_io(png, fp);
	/* PNG allows 2^31-1; semqr__check_dims applies the tighter limit with a
	 * clear message. */
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_read_info(png, info);
	png_uint_32 width = png_get_image_width(png, info);
	png_uint_32 height = png_get_image_height(png, info);
	st = semqr__check_dims(path, width, height, err);
	if (st != SEMQR_OK)
		goto done;
	/* Inflating multiplies data by at most 1032 (a 258-byte match costs 2
	 * bits), so a header promising more pixel bytes than that is corrupt:
	 * refusing it here keeps a few hostile bytes from causing a huge
	 * allocation. */
	struct stat sb;
	uint64_t pixel_bytes = (uint64_t)width * height * png_get_channels(png, info) *
	                       png_get_bit_depth(png, info) / 8;
	if (fstat(fileno(fp), &sb) == 0 && pixel_bytes / 1032 > (uint64_t)sb.st_size) {
		st = semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: %ux%u pixels (%llu bytes) cannot be compressed into a %lld-byte file",
		    path, (unsigned)width, (unsigned)height, (unsigned long long)pixel_bytes,
		    (long long)sb.st_size);
		goto done;
	}

	png_set_palette_to_rgb(png);
	png_set_expand_gray_1_2_4_to_8(png);
	png_set_tRNS_to_alpha(png);
	int passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	int channels = png_get_channels(png, info);
	int depth = png_get_bit_depth(png, info);
	size_t rowbytes = png_get_rowbytes(png, info);

	st = semqr_image_alloc(img, (int)width, (int)height, depth == 16 ? 16 : 8, err);
	if (st != SEMQR_OK)
		goto done;
	/* Interlaced images are assembled over all passes, so they need every
	 * row at once; others are converted a row at a time. */
	size_t nrows = passes > 1 ? height : 1;
	if (nrows > SIZE_MAX / rowbytes) {
		semqr_image_free(img);
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: %ux%u interlaced image too large",
		                 path, (unsigned)width, (unsigned)height);
		goto done;
	}
	rows = malloc(nrows * rowbytes);
	if (!rows) {
		semqr_image_free(img);
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes of rows",
		                 path, nrows * rowbytes);
		goto done;
	}
	for (int pass = 0; pass < passes; pass++) {
		for (int y = 0; y < img->height; y++) {
			png_byte *row = rows + (passes > 1 ? (size_t)y * rowbytes : 0);
			png_read_row(png, row, NULL);
			if (pass == passes - 1)
				convert_row(row, channels, depth, img, y);
		}
	}
	png_read_end(png, NULL);
done:
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	return st;
}

semqr_status semqr__png_write(const char *path, const semqr_image *img, semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	png_failure failure = {.message = ""};
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
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
