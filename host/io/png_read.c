/* PNG reading through libpng: the PNG backend of the scan reader.
 *
 * Rows are decoded in file order with libpng's sequential row API
 * (png_read_row), one row buffer in memory, and the region's columns
 * converted. A region above the next row to decode restarts the decoder
 * from the start of the file, so regions are meant to come with increasing
 * y0, and a file read in column ranges is decoded once per range. Decoding
 * the last row also reads the end of the file (png_read_end), so damage
 * after the pixel data is reported too. Interlaced (Adam7) files cannot be
 * streamed: every pass adds pixels all over the image, so they are decoded
 * whole when opened and served by the whole-image backend.
 *
 * Conversion: libpng expands palettes and 1/2/4-bit grey to 8 bits and turns
 * tRNS into an alpha channel; here colour becomes BT.601 luma and alpha is
 * composited onto white. 16-bit files stay 16-bit (their samples are
 * big-endian in libpng's rows).
 *
 * libpng reports errors through semqr__png_error (defined here, shared with
 * png_write.c), which longjmps to the setjmp of the current call. After such
 * a jump the decoder is unusable, so the next read restarts it. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

_Noreturn void semqr__png_error(png_structp png, png_const_charp message)
{
	semqr__png_failure *failure = png_get_error_ptr(png);
	snprintf(failure->message, sizeof failure->message, "%s", message);
	longjmp(failure->jump, 1);
}

void semqr__png_warning(png_structp png, png_const_charp message)
{
	(void)png;
	(void)message;
}

typedef struct png_scan {
	semqr__png_failure failure; /* libpng's error pointer */
	const char *path;           /* the scan's copy */
	FILE *fp;
	png_structp png; /* NULL when the decoder must be (re)started */
	png_infop info;
	uint32_t width, height;
	int channels, depth; /* after libpng's expansions; depth 8 or 16 */
	int passes;          /* 7 for Adam7, else 1 */
	png_byte *row;       /* one decoded row (streamed files) */
	uint32_t next_row;   /* the row png_read_row returns next */
} png_scan;

static void stop(png_scan *ps)
{
	png_destroy_read_struct(&ps->png, &ps->info, NULL);
	ps->png = NULL;
	ps->info = NULL;
}

static semqr_status png_failed(png_scan *ps, const char *where, semqr_error *err)
{
	stop(ps);
	if (ferror(ps->fp))
		return semqr__fail(err, SEMQR_ERR_IO, "%s: %s: read error (libpng: %s)", ps->path,
		                   where, ps->failure.message);
	return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: %s: %s (libpng: %s)", ps->path, where,
	                   feof(ps->fp) ? "truncated" : "invalid PNG", ps->failure.message);
}

/* Starts the decoder at the beginning of the file and reads the header. The
 * first start (ps->row NULL) also checks the header and allocates the row;
 * a restart finds the same header. */
static semqr_status start(png_scan *ps, semqr_error *err)
{
	stop(ps);
	if (fseek(ps->fp, 0, SEEK_SET) != 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot seek to the start", ps->path);
	clearerr(ps->fp);
	ps->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ps->failure, semqr__png_error,
	                                 semqr__png_warning);
	ps->info = ps->png ? png_create_info_struct(ps->png) : NULL;
	if (!ps->info) {
		stop(ps);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot create a PNG reader",
		                   ps->path);
	}
	if (setjmp(ps->failure.jump))
		return png_failed(ps, "header", err);
	png_init_io(ps->png, ps->fp);
	/* PNG allows 2^31-1; the tighter limit is applied below with a clear
	 * message. */
	png_set_user_limits(ps->png, 0x7fffffff, 0x7fffffff);
	png_read_info(ps->png, ps->info);
	ps->width = png_get_image_width(ps->png, ps->info);
	ps->height = png_get_image_height(ps->png, ps->info);
	png_set_palette_to_rgb(ps->png);
	png_set_expand_gray_1_2_4_to_8(ps->png);
	png_set_tRNS_to_alpha(ps->png);
	ps->passes = png_set_interlace_handling(ps->png);
	png_read_update_info(ps->png, ps->info);
	ps->channels = png_get_channels(ps->png, ps->info);
	ps->depth = png_get_bit_depth(ps->png, ps->info);
	ps->next_row = 0;
	if (ps->row)
		return SEMQR_OK;
	semqr_status st = semqr__check_dims(ps->path, ps->width, ps->height, err);
	if (st != SEMQR_OK)
		return st;
	/* Deflate expands at most 1032:1 (a 258-byte match costs 2 bits), so a
	 * header promising more pixel bytes than that is corrupt: refusing it
	 * keeps a few hostile bytes from causing a huge allocation. */
	struct stat sb;
	uint64_t bytes =
	    (uint64_t)ps->width * ps->height * (uint64_t)ps->channels * (uint64_t)ps->depth / 8;
	if (fstat(fileno(ps->fp), &sb) == 0 && bytes / 1032 > (uint64_t)sb.st_size)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: %ux%u pixels (%llu bytes) cannot be compressed into a "
		                   "%lld-byte file",
		                   ps->path, (unsigned)ps->width, (unsigned)ps->height,
		                   (unsigned long long)bytes, (long long)sb.st_size);
	ps->row = malloc(png_get_rowbytes(ps->png, ps->info));
	if (!ps->row)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", ps->path);
	return SEMQR_OK;
}

/* Pixels x0 .. x0 + w - 1 of one decoded row `in` of ps->channels samples
 * into out (native depth). */
static void convert_row(const png_scan *ps, const png_byte *in, uint32_t x0, uint32_t w,
                        uint8_t *out)
{
	uint32_t max = ps->depth == 16 ? 65535 : 255, s[4];
	int ch = ps->channels;
	for (uint32_t x = 0; x < w; x++) {
		for (int c = 0; c < ch; c++) {
			size_t i = (size_t)(x0 + x) * (size_t)ch + (size_t)c;
			s[c] = ps->depth == 16 ? (uint32_t)in[2 * i] << 8 | in[2 * i + 1] : in[i];
		}
		uint32_t v = ch >= 3 ? semqr__luma(s[0], s[1], s[2]) : s[0];
		if (ch == 2 || ch == 4)
			v = semqr__over_white(v, s[ch - 1], max);
		if (ps->depth == 16)
			((uint16_t *)out)[x] = (uint16_t)v;
		else
			out[x] = (uint8_t)v;
	}
}

static semqr_status png_read(semqr_scan *scan, int page, uint32_t x0, uint32_t y0, uint32_t w,
                             uint32_t rows, void *dst, size_t dst_stride, semqr_error *err)
{
	png_scan *ps = scan->impl;
	if (!ps->png || y0 < ps->next_row) {
		semqr_status st = start(ps, err);
		if (st != SEMQR_OK)
			return st;
	}
	size_t bpp = (size_t)ps->depth / 8;
	if (setjmp(ps->failure.jump)) {
		char where[32];
		if (ps->next_row < ps->height)
			snprintf(where, sizeof where, "row %u", (unsigned)ps->next_row);
		else
			snprintf(where, sizeof where, "after the last row");
		return png_failed(ps, where, err);
	}
	while (ps->next_row < y0 + rows) {
		png_read_row(ps->png, ps->row, NULL);
		if (ps->next_row >= y0)
			convert_row(ps, ps->row, x0, w,
			            (uint8_t *)dst + (ps->next_row - y0) * dst_stride * bpp);
		if (++ps->next_row == ps->height)
			png_read_end(ps->png, NULL);
	}
	return SEMQR_OK;
}

static void png_close(void *impl)
{
	png_scan *ps = impl;
	stop(ps);
	free(ps->row);
	fclose(ps->fp);
	free(ps);
}

static const semqr__scan_backend png_backend = {.read = NULL, .close = png_close};

/* Decodes all passes of an interlaced file into `rows` (height decoded rows
 * of rowbytes), then converts them into img. */
static semqr_status decode_interlaced(png_scan *ps, png_byte *rows, size_t rowbytes,
                                      semqr_image *img, semqr_error *err)
{
	if (setjmp(ps->failure.jump))
		return png_failed(ps, "interlaced rows", err);
	for (int pass = 0; pass < ps->passes; pass++)
		for (uint32_t y = 0; y < ps->height; y++)
			png_read_row(ps->png, rows + y * rowbytes, NULL);
	png_read_end(ps->png, NULL);
	size_t bpp = (size_t)img->bits / 8;
	for (uint32_t y = 0; y < ps->height; y++)
		convert_row(ps, rows + y * rowbytes, 0, ps->width,
		            (uint8_t *)img->pixels + y * img->stride * bpp);
	return SEMQR_OK;
}

/* Reads an interlaced file whole and attaches the image to scan. */
static semqr_status read_interlaced(png_scan *ps, semqr_scan *scan, semqr_error *err)
{
	size_t rowbytes = png_get_rowbytes(ps->png, ps->info);
	if (ps->height > SIZE_MAX / rowbytes)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: %ux%u interlaced image too large",
		                   ps->path, (unsigned)ps->width, (unsigned)ps->height);
	semqr_image *img = calloc(1, sizeof *img);
	png_byte *rows = malloc(ps->height * rowbytes);
	semqr_status st;
	if (!img || !rows)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                 "%s: cannot allocate %zu bytes of interlaced rows", ps->path,
		                 ps->height * rowbytes);
	else
		st = semqr_image_alloc(img, (int)ps->width, (int)ps->height, ps->depth, err);
	if (st == SEMQR_OK)
		st = decode_interlaced(ps, rows, rowbytes, img, err);
	free(rows);
	if (st != SEMQR_OK) {
		semqr_image_free(img);
		free(img);
		return st;
	}
	semqr__scan_whole_attach(scan, img, "PNG", "Deflate");
	return SEMQR_OK;
}

semqr_status semqr__scan_png_open(const char *path, FILE *fp, semqr_scan *scan, semqr_error *err)
{
	png_scan *ps = calloc(1, sizeof *ps);
	if (!ps) {
		fclose(fp);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	ps->path = scan->path;
	ps->fp = fp;
	semqr_status st = start(ps, err);
	if (st != SEMQR_OK || ps->passes > 1) {
		if (st == SEMQR_OK)
			st = read_interlaced(ps, scan, err);
		png_close(ps);
		return st;
	}
	semqr__scan_attach_rows(scan, &png_backend, ps, ps->width, ps->height,
	                        ps->depth == 16 ? 16 : 8, "PNG", "Deflate");
	scan->read_region = png_read;
	return SEMQR_OK;
}
