/* The scan handle: opening by signature, what every format shares (vendor
 * metadata: pixel size and scan timing; pixel-size override, data bar,
 * argument checks), the mean over pages, and the whole-image backend for
 * files that cannot be streamed (interlaced PNG, plain PGM/PBM: their
 * backends decode them when opening).
 *
 * Regions. A backend that sets the scan's read_region reads them itself;
 * for the others (which decode whole rows, in file order) the region is cut
 * out of whole rows read CHUNK_PIXELS pixels (at least one row) at a time
 * into a buffer of the scan's, unless it spans the full width, which is
 * read straight into the caller's buffer.
 *
 * Mean over pages: the region is cut into chunks of rows of at most
 * CHUNK_PIXELS pixels (at least one row); for each chunk every page's
 * region is read into one buffer and added into 32-bit sums
 * (SEMQR_SCAN_PAGES_MAX 16-bit pages fit), then sum / pages is rounded to
 * nearest. Memory: two chunk buffers, plus the backend's per-page caches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/scan_internal.h"

enum { CHUNK_PIXELS = 1 << 20 };

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static int is_tiff(const uint8_t *b, size_t n)
{
	return n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
	                  (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
}

/* ---- whole-image backend ------------------------------------------------ */

static semqr_status whole_read(semqr_scan *scan, int page, uint32_t x0, uint32_t y0, uint32_t w,
                               uint32_t rows, void *dst, size_t dst_stride, semqr_error *err)
{
	const semqr_image *img = scan->impl;
	size_t bpp = (size_t)img->bits / 8;
	for (uint32_t r = 0; r < rows; r++)
		memcpy((uint8_t *)dst + r * dst_stride * bpp,
		       (const uint8_t *)img->pixels + ((y0 + r) * img->stride + x0) * bpp,
		       (size_t)w * bpp);
	return SEMQR_OK;
}

static void whole_close(void *impl)
{
	semqr_image_free(impl);
	free(impl);
}

static const semqr__scan_backend whole_backend = {.read = NULL, .close = whole_close};

void semqr__scan_attach_rows(semqr_scan *scan, const semqr__scan_backend *backend, void *impl,
                             uint32_t width, uint32_t height, int bits, const char *format,
                             const char *compression)
{
	semqr_scan_info *in = &scan->info;
	scan->backend = backend;
	scan->impl = impl;
	scan->read_region = NULL;
	in->width = (int)width;
	in->height = in->stored_height = (int)height;
	in->bits = bits;
	in->pages = 1;
	in->format = format;
	in->compression = compression;
	in->block_width = width;
	in->block_height = 1;
	in->column_reads = 0;
}

void semqr__scan_whole_attach(semqr_scan *scan, semqr_image *img, const char *format,
                              const char *compression)
{
	semqr__scan_attach_rows(scan, &whole_backend, img, (uint32_t)img->width,
	                        (uint32_t)img->height, img->bits, format, compression);
	scan->read_region = whole_read;
	scan->info.column_reads = 1;
}

/* ---- reading a page ----------------------------------------------------- */

/* Reads a region (within the stored image) of one page through the
 * backend: by the scan's read_region, else out of whole rows (see the
 * top). */
static semqr_status read_page(semqr_scan *scan, int page, uint32_t x0, uint32_t y0, uint32_t w,
                              uint32_t rows, void *dst, size_t dst_stride, semqr_error *err)
{
	const semqr__scan_backend *b = scan->backend;
	if (scan->read_region)
		return scan->read_region(scan, page, x0, y0, w, rows, dst, dst_stride, err);
	uint32_t width = (uint32_t)scan->info.width;
	if (x0 == 0 && w == width)
		return b->read(scan, page, y0, rows, dst, dst_stride, err);
	size_t bpp = (size_t)scan->info.bits / 8;
	uint32_t chunk = CHUNK_PIXELS / width;
	chunk = chunk == 0 ? 1 : chunk > rows ? rows : chunk;
	size_t need = (size_t)chunk * width;
	if (need > scan->rows_pixels) {
		free(scan->rows);
		scan->rows_pixels = 0;
		scan->rows = malloc(need * bpp);
		if (!scan->rows)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "%s: cannot allocate %u rows of %u pixels", scan->path,
			                   (unsigned)chunk, (unsigned)width);
		scan->rows_pixels = need;
	}
	for (uint32_t c = 0; c < rows; c += chunk) {
		uint32_t n = rows - c < chunk ? rows - c : chunk;
		semqr_status st = b->read(scan, page, y0 + c, n, scan->rows, width, err);
		if (st != SEMQR_OK)
			return st;
		for (uint32_t r = 0; r < n; r++)
			memcpy((uint8_t *)dst + (c + r) * dst_stride * bpp,
			       (const uint8_t *)scan->rows + ((size_t)r * width + x0) * bpp,
			       (size_t)w * bpp);
	}
	return SEMQR_OK;
}

/* ---- opening ------------------------------------------------------------ */

static semqr_status open_backend(const char *path, semqr_scan *scan, semqr__vendor_meta *meta,
                                 semqr_error *err)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	uint8_t sig[8];
	size_t n = fread(sig, 1, sizeof sig, fp);
	if (ferror(fp) || fseek(fp, 0, SEEK_SET) != 0) {
		semqr_status st =
		    semqr__fail(err, SEMQR_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
		fclose(fp);
		return st;
	}
	if (is_tiff(sig, n))
		return semqr__scan_tiff_open(path, fp, scan, meta, err);
	if (n == sizeof sig && memcmp(sig, png_signature, sizeof sig) == 0)
		return semqr__scan_png_open(path, fp, scan, err);
	if (n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff)
		return semqr__scan_jpeg_open(path, fp, scan, err);
	if (n >= 2 && sig[0] == 'P' && sig[1] >= '1' && sig[1] <= '7')
		return semqr__scan_pnm_open(path, fp, scan, err);
	fclose(fp);
	if (n == 0)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: empty file", path);
	char hex[3 * 4] = "";
	for (size_t i = 0, len = 0; i < n && i < 4; i++)
		len +=
		    (size_t)snprintf(hex + len, sizeof hex - len, "%s%02x", i ? " " : "", sig[i]);
	return semqr__fail(err, SEMQR_ERR_FORMAT,
	                   "%s: not a PNG, JPEG, PGM/PBM or TIFF file (first bytes %s)", path, hex);
}

/* The rows below the image proper: FEI states the image size; for Zeiss
 * files the data zone heuristic runs on the bottom quarter of page 0. */
static semqr_status find_image_height(semqr_scan *scan, const semqr__vendor_meta *meta,
                                      semqr_error *err)
{
	semqr_scan_info *in = &scan->info;
	uint32_t stored = (uint32_t)in->stored_height, width = (uint32_t)in->width;
	if (meta->size_source && meta->image_width == width && meta->image_height < stored) {
		in->height = (int)meta->image_height;
		in->data_bar_source = meta->size_source;
		return SEMQR_OK;
	}
	if (!meta->vendor || strcmp(meta->vendor, "Zeiss SmartSEM") != 0 || stored < 32)
		return SEMQR_OK;
	uint32_t n = stored / 4, y0 = stored - n;
	size_t bpp = (size_t)in->bits / 8;
	uint32_t full = in->bits == 16 ? 65535 : 255;
	semqr__row_stat *stats = calloc(n, sizeof *stats);
	void *row = malloc(width * bpp);
	semqr_status st = SEMQR_OK;
	if (!stats || !row)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", scan->path);
	for (uint32_t i = 0; st == SEMQR_OK && i < n; i++) {
		st = read_page(scan, 0, 0, y0 + i, width, 1, row, width, err);
		for (uint32_t x = 0; st == SEMQR_OK && x < width; x++) {
			uint32_t v =
			    bpp == 1 ? ((const uint8_t *)row)[x] : ((const uint16_t *)row)[x];
			stats[i].black += v == 0;
			stats[i].white += v == full;
		}
	}
	if (st == SEMQR_OK) {
		int top = semqr__find_data_zone(stats, (int)n, width);
		if (top >= 0) {
			in->height = (int)(y0 + (uint32_t)top);
			in->data_bar_source = "heuristic: Zeiss data zone frame line";
		}
	}
	free(stats);
	free(row);
	return st;
}

semqr_status semqr_scan_open(const char *path, const semqr_scan_options *options, semqr_scan **out,
                             semqr_error *err)
{
	return semqr__scan_open(path, options, 0, out, err);
}

semqr_status semqr__scan_open(const char *path, const semqr_scan_options *options,
                              int first_page_only, semqr_scan **out, semqr_error *err)
{
	if (out)
		*out = NULL;
	if (!path || !out)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_scan_open: %s is NULL",
		                   path ? "scan" : "path");
	semqr_scan_options opts = options ? *options : (semqr_scan_options){0};
	if (!(opts.pixel_nm >= 0 && opts.pixel_nm <= 1e9))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_scan_open: pixel size %g nm outside 0 .. 1e9",
		                   opts.pixel_nm);
	semqr_scan *scan = calloc(1, sizeof *scan);
	char *copy = malloc(strlen(path) + 1);
	if (!scan || !copy) {
		free(scan);
		free(copy);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	scan->path = strcpy(copy, path);
	scan->first_page_only = first_page_only;
	semqr__vendor_meta meta = {0};
	semqr_status st = open_backend(path, scan, &meta, err);
	if (st != SEMQR_OK) {
		free(scan->path);
		free(scan);
		return st;
	}
	semqr_scan_info *in = &scan->info;
	in->vendor = meta.vendor ? meta.vendor : "none";
	in->data_bar_source = "none";
	in->pixel_source = "none";
	if (meta.pixel_source) {
		in->pixel_nm_x = meta.pixel_nm_x;
		in->pixel_nm_y = meta.pixel_nm_y;
		in->pixel_source = meta.pixel_source;
	}
	in->timing_source = "none";
	if (meta.timing_source[0]) {
		in->frame_time_s = meta.frame_time_s;
		in->line_time_s = meta.line_time_s;
		in->dwell_s = meta.dwell_s;
		memcpy(scan->timing_source, meta.timing_source, sizeof scan->timing_source);
		in->timing_source = scan->timing_source;
	}
	if (opts.pixel_nm > 0) {
		in->pixel_nm_x = in->pixel_nm_y = opts.pixel_nm;
		in->pixel_source = "option";
	}
	if (!opts.keep_data_bar)
		st = find_image_height(scan, &meta, err);
	if (st != SEMQR_OK) {
		semqr_scan_close(scan);
		return st;
	}
	*out = scan;
	semqr__clear(err);
	return SEMQR_OK;
}

void semqr_scan_get_info(const semqr_scan *scan, semqr_scan_info *info)
{
	*info = scan->info;
}

/* ---- reading ------------------------------------------------------------ */

static semqr_status read_mean(semqr_scan *scan, uint32_t x0, uint32_t y0, uint32_t w, uint32_t rows,
                              void *dst, size_t dst_stride, semqr_error *err)
{
	uint32_t pages = (uint32_t)scan->info.pages;
	size_t bpp = (size_t)scan->info.bits / 8;
	uint32_t chunk_rows = CHUNK_PIXELS / w;
	chunk_rows = chunk_rows == 0 ? 1 : chunk_rows > rows ? rows : chunk_rows;
	size_t need = (size_t)chunk_rows * w;
	if (need > scan->chunk_pixels) {
		free(scan->sum);
		free(scan->chunk);
		scan->chunk_pixels = 0;
		scan->sum = malloc(need * sizeof *scan->sum);
		scan->chunk = malloc(need * bpp);
		if (!scan->sum || !scan->chunk)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "%s: cannot allocate %zu pixels for the mean of pages",
			                   scan->path, need);
		scan->chunk_pixels = need;
	}
	for (uint32_t c = 0; c < rows; c += chunk_rows) {
		uint32_t n = rows - c < chunk_rows ? rows - c : chunk_rows;
		size_t count = (size_t)n * w;
		memset(scan->sum, 0, count * sizeof *scan->sum);
		for (uint32_t p = 0; p < pages; p++) {
			semqr_status st =
			    read_page(scan, (int)p, x0, y0 + c, w, n, scan->chunk, w, err);
			if (st != SEMQR_OK)
				return st;
			for (size_t i = 0; i < count; i++)
				scan->sum[i] += bpp == 1 ? ((const uint8_t *)scan->chunk)[i]
				                         : ((const uint16_t *)scan->chunk)[i];
		}
		for (uint32_t r = 0; r < n; r++) {
			const uint32_t *s = scan->sum + (size_t)r * w;
			uint8_t *d = (uint8_t *)dst + ((size_t)(c + r) * dst_stride) * bpp;
			for (uint32_t x = 0; x < w; x++) {
				uint32_t v = (uint32_t)(((uint64_t)s[x] * 2 + pages) /
				                        (2 * (uint64_t)pages));
				if (bpp == 1)
					d[x] = (uint8_t)v;
				else
					((uint16_t *)d)[x] = (uint16_t)v;
			}
		}
	}
	return SEMQR_OK;
}

/* semqr_scan_read_region, its checks naming `fn` for NULL arguments. */
static semqr_status read_region(const char *fn, semqr_scan *scan, int page, int x0, int y0, int w,
                                int rows, void *dst, size_t dst_stride, semqr_error *err)
{
	if (!scan || !dst)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
		                   scan ? "dst" : "scan");
	const semqr_scan_info *in = &scan->info;
	if (page != SEMQR_SCAN_MEAN && (page < 0 || page >= in->pages))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s: page %d outside 0 .. %d",
		                   scan->path, page, in->pages - 1);
	if (x0 < 0 || w < 1 || w > in->width - x0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: columns %d .. %lld outside the image's columns 0 .. %d",
		                   scan->path, x0, (long long)x0 + w - 1, in->width - 1);
	if (y0 < 0 || rows < 1 || rows > in->height - y0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: rows %d .. %lld outside the image's rows 0 .. %d",
		                   scan->path, y0, (long long)y0 + rows - 1, in->height - 1);
	if (dst_stride < (size_t)w)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: stride %zu below the width read, %d", scan->path,
		                   dst_stride, w);
	semqr_status st =
	    page == SEMQR_SCAN_MEAN && in->pages > 1
	        ? read_mean(scan, (uint32_t)x0, (uint32_t)y0, (uint32_t)w, (uint32_t)rows, dst,
	                    dst_stride, err)
	        : read_page(scan, page == SEMQR_SCAN_MEAN ? 0 : page, (uint32_t)x0, (uint32_t)y0,
	                    (uint32_t)w, (uint32_t)rows, dst, dst_stride, err);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}

semqr_status semqr_scan_read_region(semqr_scan *scan, int page, int x0, int y0, int w, int rows,
                                    void *dst, size_t dst_stride, semqr_error *err)
{
	return read_region("semqr_scan_read_region", scan, page, x0, y0, w, rows, dst, dst_stride,
	                   err);
}

semqr_status semqr_scan_read_rows(semqr_scan *scan, int page, int y0, int rows, void *dst,
                                  size_t dst_stride, semqr_error *err)
{
	return read_region("semqr_scan_read_rows", scan, page, 0, y0, scan ? scan->info.width : 1,
	                   rows, dst, dst_stride, err);
}

void semqr_scan_close(semqr_scan *scan)
{
	if (!scan)
		return;
	if (scan->backend)
		scan->backend->close(scan->impl);
	free(scan->sum);
	free(scan->chunk);
	free(scan->rows);
	free(scan->path);
	free(scan);
}
