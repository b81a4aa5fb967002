/* Internal interfaces shared by the image files (host/io/). Not installed.
 *
 * Layout: one reader, one writer per format.
 * - Reading: scan.c opens a file and picks a backend by its signature
 *   (tiff_read.c, png_read.c, pnm_read.c; see scan_internal.h); the whole
 *   image reader semqr_image_read (image.c) is a scan of page 0.
 * - Writing: image.c picks a writer by the path's extension (tiff_write.c,
 *   png_write.c, pnm_write.c).
 *
 * Conventions
 * - Every message about a file starts with its path: "scan.tif: page 0,
 *   strip 3: ...".
 * - Grey values are at full scale 255 (8-bit) or 65535 (16-bit); 0 is black.
 */
#ifndef SEMQR_IO_INTERNAL_H
#define SEMQR_IO_INTERNAL_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "semqr/image.h"

/* ---- image.c: checks, pixels, output files ------------------------------ */

/* Fails with SEMQR_ERR_FORMAT naming path unless 1 <= width, height <=
 * SEMQR_IMAGE_DIM_MAX. Takes 64-bit sizes so that a file's raw values are
 * checked before any narrowing. */
semqr_status semqr__check_dims(const char *path, uint64_t width, uint64_t height, semqr_error *err);

/* Fails with SEMQR_ERR_INVALID_ARGUMENT unless img is a usable image: non-NULL
 * pixels, sizes 1..SEMQR_IMAGE_DIM_MAX, bits 8 or 16, stride >= width. `what`
 * names it in the message. */
semqr_status semqr__check_image(const semqr_image *img, const char *what, semqr_error *err);

static inline uint32_t semqr__pixel(const semqr_image *img, int x, int y)
{
	size_t i = (size_t)y * img->stride + (size_t)x;
	return img->bits == 8 ? ((const uint8_t *)img->pixels)[i]
	                      : ((const uint16_t *)img->pixels)[i];
}

static inline void semqr__set_pixel(semqr_image *img, int x, int y, uint32_t v)
{
	size_t i = (size_t)y * img->stride + (size_t)x;
	if (img->bits == 8)
		((uint8_t *)img->pixels)[i] = (uint8_t)v;
	else
		((uint16_t *)img->pixels)[i] = (uint16_t)v;
}

/* Opens path for writing ("wb"); NULL with SEMQR_ERR_IO on failure. */
FILE *semqr__create_output(const char *path, semqr_error *err);
/* Closes an output opened by semqr__create_output. When status is not
 * SEMQR_OK (the writer already failed and filled err) or closing fails, the
 * partial file is removed; returns the final status. */
semqr_status semqr__finish_output(FILE *fp, const char *path, semqr_status status,
                                  semqr_error *err);

/* ---- colour to grey ----------------------------------------------------- */

/* ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B, rounded to nearest; the
 * result has the scale of the inputs (8 or 16 bits). */
static inline uint32_t semqr__luma(uint32_t r, uint32_t g, uint32_t b)
{
	return (299 * r + 587 * g + 114 * b + 500) / 1000;
}

/* Composites grey v with unassociated (straight) alpha a onto white, both at
 * full scale max: v * a / max + max - a, rounded to nearest. */
static inline uint32_t semqr__over_white(uint32_t v, uint32_t a, uint32_t max)
{
	uint64_t num = (uint64_t)v * a + (uint64_t)max * (max - a);
	return (uint32_t)((num + max / 2) / max);
}

/* The same for associated (premultiplied) alpha: v + max - a, clamped. */
static inline uint32_t semqr__over_white_premultiplied(uint32_t v, uint32_t a, uint32_t max)
{
	uint32_t out = v + (max - a);
	return out > max ? max : out;
}

/* ---- libpng glue (png_read.c; used by png_write.c too) ----------------- */

/* libpng reports errors by calling an error function that must not return.
 * semqr__png_error copies the message into the semqr__png_failure given to
 * png_create_read_struct / png_create_write_struct as the error pointer and
 * longjmps to its jump, which the caller has set with setjmp; locals changed
 * after setjmp and used after the jump must be volatile. semqr__png_warning
 * drops warnings (bad ancillary chunks, sRGB profile quirks): they never
 * affect the pixels. The parameters are libpng's png_structp and
 * png_const_charp, spelled without png.h. */
typedef struct semqr__png_failure {
	jmp_buf jump;
	char message[256];
} semqr__png_failure;

struct png_struct_def;
_Noreturn void semqr__png_error(struct png_struct_def *png, const char *message);
void semqr__png_warning(struct png_struct_def *png, const char *message);

/* ---- libtiff glue (tiff_read.c; used by tiff_write.c too) --------------- */

/* libtiff's messages for one handle: the first error since error[0] was last
 * cleared (it names the root cause), without the "path: " prefix libtiff
 * puts on some; warnings are dropped. */
typedef struct semqr__tiff_log {
	const char *path;
	char error[256];
} semqr__tiff_log;

/* Opens fd through libtiff (TIFFFdOpenExt; libtiff >= 4.5) with per-handle
 * error and warning handlers writing to *log, so that messages never reach
 * stderr and concurrent handles share no state; max_alloc > 0 caps any single
 * allocation by libtiff. path is for messages. On success libtiff owns fd
 * (TIFFClose closes it); on failure (NULL, reason in log) the caller still
 * does. */
struct tiff *semqr__tiff_open(int fd, const char *path, const char *mode, size_t max_alloc,
                              semqr__tiff_log *log);
/* log's error, or "no detail from libtiff" when it is empty. */
const char *semqr__tiff_why(const semqr__tiff_log *log);

/* ---- writers (png_write.c, pnm_write.c, tiff_write.c) ------------------- */

/* Each writes img (checked by semqr_image_write) to path, removing the
 * partial file on failure. */
semqr_status semqr__png_write(const char *path, const semqr_image *img, semqr_error *err);
/* P5 (PGM, maxval 255 or 65535 by img->bits) or, when bitmap is nonzero, P4
 * (PBM: dark where the value is below half scale). */
semqr_status semqr__pnm_write(const char *path, const semqr_image *img, int bitmap,
                              semqr_error *err);
/* Uncompressed grey, one strip per 64 KiB. */
semqr_status semqr__tiff_write(const char *path, const semqr_image *img, semqr_error *err);
/* (png_write.c) width x height 8-bit RGB pixels (rgb: 3 bytes per pixel,
 * rows packed) as a PNG file, removing the partial file on failure. */
semqr_status semqr__png_write_rgb(const char *path, int width, int height, const uint8_t *rgb,
                                  semqr_error *err);

/* ---- render.c ----------------------------------------------------------- */

/* Fails with SEMQR_ERR_INVALID_ARGUMENT unless s is a symbol of version
 * 1..40 with a matching size and quiet >= 0 keeps the symbol with its quiet
 * zone within SEMQR_IMAGE_DIM_MAX modules per side. */
semqr_status semqr__check_symbol(const semqr_symbol *s, int quiet, semqr_error *err);

#endif
