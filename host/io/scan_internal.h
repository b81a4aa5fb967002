/* Internal: the scan handle and the format backends behind semqr_scan_*.
 *
 * scan.c opens the file, picks a backend by the file's signature, then
 * applies what is common to all formats: vendor metadata (pixel size, image
 * height), the pixel-size override, the Zeiss data-zone heuristic, argument
 * checks and the mean over pages. A backend only delivers stored rows of one
 * page at native depth. */
#ifndef SEMQR_SCAN_INTERNAL_H
#define SEMQR_SCAN_INTERNAL_H

#include <stdio.h>

#include "io/vendor_meta.h"
#include "semqr/scan.h"

typedef struct semqr__scan_backend {
	/* Reads rows y0 .. y0 + rows - 1 (within the stored height) of page
	 * 0 .. pages - 1 into dst, rows dst_stride pixels apart. */
	semqr_status (*read)(semqr_scan *scan, int page, uint32_t y0, uint32_t rows, void *dst,
	                     size_t dst_stride, semqr_error *err);
	/* Frees scan->impl. */
	void (*close)(void *impl);
} semqr__scan_backend;

struct semqr_scan {
	char *path;                 /* for messages */
	semqr_scan_info info;       /* filled by the backend, completed by scan.c */
	const semqr__scan_backend *backend;
	void *impl;
	/* SEMQR_SCAN_MEAN: sums and one page's rows for a chunk of the band. */
	uint32_t *sum;
	void *chunk;
	size_t chunk_pixels;        /* capacity of sum and chunk, in pixels */
};

/* Backend openers. Each fills scan->info (width, stored_height, bits, pages,
 * format, compression, tiled, bigtiff, block size; height = stored_height),
 * scan->backend and scan->impl, and leaves scan untouched on failure. fp is
 * the file opened by semqr_scan_open at byte 0; the backend owns it from the
 * call on (closing it on failure too). The TIFF backend also fills *meta from
 * the first vendor tag it finds on page 0. */
semqr_status semqr__scan_tiff_open(const char *path, FILE *fp, semqr_scan *scan,
                                   semqr__vendor_meta *meta, semqr_error *err);
semqr_status semqr__scan_png_open(const char *path, FILE *fp, semqr_scan *scan,
                                  semqr_error *err);
/* Raw PGM (P5) and PBM (P4); plain P1/P2 give SEMQR_ERR_UNSUPPORTED so that
 * scan.c falls back to reading the whole image. */
semqr_status semqr__scan_pnm_open(const char *path, FILE *fp, semqr_scan *scan,
                                  semqr_error *err);

/* Serves rows from an image read whole by semqr_image_read (formats that
 * cannot be streamed). Takes ownership of img's pixels. */
void semqr__scan_whole_attach(semqr_scan *scan, semqr_image *img, const char *format);

#endif
