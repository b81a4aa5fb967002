/* semqr — streaming reader for whole-plate SEM scans.
 *
 * A scan is opened once and read as regions: a range of columns of a band of
 * rows (semqr_scan_read_region; semqr_scan_read_rows is the full-width case),
 * so memory follows the region, never the scan. What a region costs depends
 * on the file's layout (semqr_scan_info.column_reads tells the two kinds
 * apart):
 * - TIFF tiles: only the tiles the region touches are decoded; the reader
 *   keeps, per page, those tiles of the last row of tiles it decoded, so
 *   regions of the same columns read with increasing y0 decode each tile
 *   once (a tile under the columns of two different regions is decoded for
 *   each).
 * - Uncompressed TIFF strips and raw PGM/PBM: only the bytes of the region's
 *   columns are read from the file, row by row, and nothing is cached; a
 *   huge single strip or a very wide row is never held whole.
 * - Compressed TIFF strips: a strip is the unit of compression, so the strip
 *   is decoded whole (at most SEMQR_SCAN_ALLOC_MAX bytes) and the region
 *   copied out of it; the reader keeps the last decoded strip per page, so
 *   regions of any columns within it cost one decoding, but reading a scan
 *   in column ranges top to bottom, range after range, decodes every strip
 *   once per range.
 * - PNG and JPEG are sequential: rows are decoded in file order, one row
 *   buffer in memory, the region's columns kept; a region above the last
 *   row decoded restarts the decoder from the start of the file, so a scan
 *   read in column ranges is decoded once per range: read such files in
 *   full-width bands.
 * - Other TIFF layouts (read through libtiff's RGBA interface, below),
 *   interlaced PNG and plain (ASCII) PGM/PBM cannot be streamed: they are
 *   decoded whole (the TIFF page when first read, the others when opened),
 *   and any region is then a copy.
 *
 * Pixels are delivered at the file's native depth: 8-bit (uint8_t) or 16-bit
 * (uint16_t) grey, 0 black. TIFF: 8/16-bit grey (MinIsWhite inverted), 1, 2
 * and 4-bit grey expanded to full scale, RGB and palette converted to grey
 * (ITU-R BT.601 luma, palettes give 8 bits), strips or tiles, any compression
 * libtiff decodes, classic TIFF or BigTIFF, several pages (frame stacks).
 * Other layouts libtiff renders (separate planes, YCbCr, CMYK, ...) are read
 * through its RGBA interface as 8-bit grey, a whole page at a time, honouring
 * Orientation.
 *
 * Vendor metadata (FEI/Thermo tags 34682/34680, Zeiss SmartSEM 34118, Fibics
 * 51023, Tescan 50431) gives the pixel size and, for FEI, the height of the
 * image proper: the rows stored below it (the data bar) are excluded from
 * semqr_scan_info.height and cannot be read. Zeiss metadata does not say
 * where the burnt-in data zone starts; it is found by a heuristic (a framed
 * band of nearly all black-or-white rows at the bottom, see
 * host/io/vendor_meta.h), and semqr_scan_info says which rule applied.
 *
 * Hostile or damaged files give SEMQR_ERR_FORMAT with a message naming the
 * file, page, strip or tile and the reason; sizes are checked against
 * SEMQR_IMAGE_DIM_MAX and SEMQR_SCAN_ALLOC_MAX before anything is allocated.
 *
 * A semqr_scan is used by one thread at a time; different scans are
 * independent (libtiff messages are captured per handle).
 */
#ifndef SEMQR_SCAN_H
#define SEMQR_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct semqr_scan semqr_scan;

/* The page argument of semqr_scan_read_region and semqr_scan_read_rows that
 * asks for the mean of all pages, rounded to nearest (halves up). */
#define SEMQR_SCAN_MEAN (-1)

/* Largest single buffer the reader (and libtiff for it) allocates: a row of
 * decoded tiles, a decoded or compressed strip, or a stored row of an
 * uncompressed strip. Larger files fail with SEMQR_ERR_FORMAT before
 * allocating. */
#define SEMQR_SCAN_ALLOC_MAX ((size_t)1 << 30)

/* Largest number of pages accepted (so that sums of 16-bit pages fit in 32
 * bits). */
#define SEMQR_SCAN_PAGES_MAX 65535

typedef struct semqr_scan_options {
	/* > 0: the pixel size in nm for both axes, overriding the metadata
	 * (the CLI's --pixel-nm). 0: from the metadata. */
	double pixel_nm;
	/* Nonzero: keep the data bar / data zone rows as part of the image. */
	int keep_data_bar;
} semqr_scan_options;

typedef struct semqr_scan_info {
	int width, height;        /* the image proper: data bar rows excluded */
	int stored_height;        /* rows in the file (height + data bar rows) */
	int bits;                 /* 8 or 16: the depth regions are delivered at */
	int pages;                /* >= 1; reduced-resolution subfiles are not pages */
	double pixel_nm_x;        /* nanometres per pixel, 0 when unknown */
	double pixel_nm_y;
	/* The strings below are constants, or owned by the scan and valid until
	 * semqr_scan_close. */
	const char *pixel_source; /* "FEI tag 34682 [Scan] PixelWidth, PixelHeight",
	                             "option", "none", ... */
	const char *vendor;       /* "FEI/Thermo Fisher", "Zeiss SmartSEM", "Fibics",
	                             "Tescan" or "none" */
	const char *data_bar_source; /* how height was found: "none" (no data bar),
	                                "FEI tag 34682 [Image] ResolutionX, ResolutionY",
	                                "heuristic: Zeiss data zone frame line", ... */
	double frame_time_s;      /* seconds to scan one frame (page), 0 when unknown */
	double line_time_s;       /* seconds per scan line, 0 when unknown */
	double dwell_s;           /* seconds per pixel (one pass: with line averaging a
	                             line takes more than width x dwell), 0 when unknown */
	const char *timing_source; /* the tag and keys the times come from: "FEI tag 34682
	                              [Scan] FrameTime, LineTime, Dwelltime", "Zeiss tag
	                              34118 AP_FRAME_TIME, AP_LINE_TIME, DP_DWELL_TIME",
	                              "none", ...; no time is derived from another */
	const char *format;       /* "TIFF", "BigTIFF", "PNG", "PGM", "PBM" */
	const char *compression;  /* "none", "LZW", "Deflate", "PackBits", "JPEG", ... */
	int tiled;                /* 1: TIFF tiles; 0: strips or another format */
	int bigtiff;              /* 1 for BigTIFF */
	uint32_t block_width;     /* tile size, or width x rows per strip (page 0); */
	uint32_t block_height;    /* for PNG/PGM width x 1 */
	int column_reads;         /* 1: a region costs its own columns only (TIFF tiles,
	                             uncompressed strips, raw PGM/PBM, files held whole);
	                             0: whole rows or strips are decoded whatever the
	                             columns (compressed strips, PNG, JPEG), so reading a
	                             scan in column ranges decodes it once per range.
	                             For several pages: 1 only when it holds for each */
} semqr_scan_info;

/* Opens path (TIFF, PNG or PGM/PBM, by signature). options may be NULL for
 * the defaults. On success *scan is a new handle; on failure *scan is NULL
 * and err says why. */
semqr_status semqr_scan_open(const char *path, const semqr_scan_options *options,
                             semqr_scan **scan, semqr_error *err);

/* Fills *info; never fails on an open scan. */
void semqr_scan_get_info(const semqr_scan *scan, semqr_scan_info *info);

/* Reads the region of columns x0 .. x0 + w - 1 and rows y0 .. y0 + rows - 1
 * (0 <= x0, 1 <= w <= info.width - x0; 0 <= y0, 1 <= rows <= info.height -
 * y0) of page `page` (0 .. info.pages - 1, or SEMQR_SCAN_MEAN) into dst,
 * whose rows start dst_stride pixels apart (dst_stride >= w); pixels are
 * uint8_t or uint16_t by info.bits, the region's column x0 first. What the
 * region costs and what the reader keeps between calls depend on the layout
 * (see the top of this file); for the mean of several pages the region is
 * read from each page in chunks of rows and summed, with two buffers of at
 * most 2^20 pixels (at least one row of the region) besides. A region
 * outside the image, a bad page or a short stride fail with
 * SEMQR_ERR_INVALID_ARGUMENT naming them. On failure dst's contents are
 * unspecified and the scan stays usable. */
semqr_status semqr_scan_read_region(semqr_scan *scan, int page, int x0, int y0, int w, int rows,
                                    void *dst, size_t dst_stride, semqr_error *err);

/* semqr_scan_read_region of the full width: rows y0 .. y0 + rows - 1, every
 * column, dst_stride >= info.width. */
semqr_status semqr_scan_read_rows(semqr_scan *scan, int page, int y0, int rows, void *dst,
                                  size_t dst_stride, semqr_error *err);

/* Closes the scan and frees everything it holds; NULL is ignored. */
void semqr_scan_close(semqr_scan *scan);

#ifdef __cplusplus
}
#endif
#endif
