/* Internal: the scan handle and the format backends behind semqr_scan_* and
 * semqr_image_read, the one reader of image files.
 *
 * scan.c opens the file, picks a backend by the file's signature, then
 * applies what is common to all formats: vendor metadata (pixel size, image
 * height, scan timing), the pixel-size override, the Zeiss data-zone
 * heuristic, argument checks and the mean over pages. A backend only delivers
 * stored rows of one page at native depth. */
#ifndef SEMQR_SCAN_INTERNAL_H
#define SEMQR_SCAN_INTERNAL_H

#include <stdio.h>

#include "io/vendor_meta.h"
#include "semqr/scan.h"

/* Reads columns x0 .. x0 + w - 1 of rows y0 .. y0 + rows - 1 (within the
 * width and the stored height) of page 0 .. pages - 1 into dst, rows
 * dst_stride pixels apart. */
typedef semqr_status (*semqr__scan_region_fn)(semqr_scan *scan, int page, uint32_t x0,
                                              uint32_t y0, uint32_t w, uint32_t rows, void *dst,
                                              size_t dst_stride, semqr_error *err);

typedef struct semqr__scan_backend {
	/* Reads rows y0 .. y0 + rows - 1 (within the stored height) of page
	 * 0 .. pages - 1 into dst, rows dst_stride pixels apart, every column.
	 * Used when the scan's read_region is NULL (scan.c then cuts regions
	 * out of whole rows); NULL otherwise. */
	semqr_status (*read)(semqr_scan *scan, int page, uint32_t y0, uint32_t rows, void *dst,
	                     size_t dst_stride, semqr_error *err);
	/* Frees scan->impl. */
	void (*close)(void *impl);
} semqr__scan_backend;

struct semqr_scan {
	char *path;           /* for messages */
	int first_page_only;  /* set before the backend opens: ignore later pages */
	semqr_scan_info info; /* filled by the backend, completed by scan.c */
	char timing_source[SEMQR__TIMING_SOURCE_MAX]; /* info.timing_source, from the metadata */
	const semqr__scan_backend *backend;
	void *impl;
	semqr__scan_region_fn read_region; /* set by backends that read regions
	                                      themselves, else NULL */
	/* SEMQR_SCAN_MEAN: sums and one page's rows for a chunk of the region. */
	uint32_t *sum;
	void *chunk;
	size_t chunk_pixels; /* capacity of sum and chunk, in pixels */
	/* Backends without read_region: whole rows a region is cut from. */
	void *rows;
	size_t rows_pixels;  /* capacity of rows, in pixels */
};

/* semqr_scan_open, with first_page_only nonzero for readers of page 0 alone
 * (semqr_image_read): a TIFF's later directories are then neither read nor
 * checked against page 0, and info.pages is 1. */
semqr_status semqr__scan_open(const char *path, const semqr_scan_options *options,
                              int first_page_only, semqr_scan **scan, semqr_error *err);

/* Backend openers. Each fills scan->info (width, stored_height, bits, pages,
 * format, compression, tiled, bigtiff, block size, column_reads; height =
 * stored_height), scan->backend, scan->impl and (backends reading regions)
 * scan->read_region, and leaves scan untouched on failure. fp is
 * the file opened by semqr_scan_open at byte 0; the backend owns it from the
 * call on (closing it on failure too). The TIFF backend also fills *meta from
 * the first vendor tag it finds on page 0. */
semqr_status semqr__scan_tiff_open(const char *path, FILE *fp, semqr_scan *scan,
                                   semqr__vendor_meta *meta, semqr_error *err);
/* Interlaced (Adam7) files cannot be streamed: they are decoded whole here
 * and served by the whole-image backend. */
semqr_status semqr__scan_png_open(const char *path, FILE *fp, semqr_scan *scan, semqr_error *err);
/* Baseline and progressive JPEG, any colour space but CMYK/YCCK, read as
 * 8-bit grey row by row (jpeg_read.c). */
semqr_status semqr__scan_jpeg_open(const char *path, FILE *fp, semqr_scan *scan,
                                   semqr_error *err);
/* P1, P2, P4 and P5; other Netpbm kinds give SEMQR_ERR_UNSUPPORTED. Raw
 * files (P4, P5) are streamed; plain ones (P1, P2) have no fixed row offsets
 * and are decoded whole here and served by the whole-image backend. */
semqr_status semqr__scan_pnm_open(const char *path, FILE *fp, semqr_scan *scan, semqr_error *err);

/* Attaches a backend of one page read row by row (PNG, JPEG, PGM/PBM): sets
 * scan->backend and scan->impl and fills scan->info (height = stored_height,
 * blocks of one row, not tiled, column_reads 0), leaving read_region NULL:
 * the caller sets them when it reads regions itself. */
void semqr__scan_attach_rows(semqr_scan *scan, const semqr__scan_backend *backend, void *impl,
                             uint32_t width, uint32_t height, int bits, const char *format,
                             const char *compression);

/* Attaches the whole-image backend (scan.c), serving rows from img, a
 * heap-allocated image whose ownership passes to the scan. */
void semqr__scan_whole_attach(semqr_scan *scan, semqr_image *img, const char *format,
                              const char *compression);

#endif
