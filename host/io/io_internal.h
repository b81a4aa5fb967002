/* Internal interfaces shared by the image files (host/io/). Not installed.
 *
 * Conventions
 * - Every reader receives the path (for messages) and, where it reads through
 *   stdio, the FILE opened by semqr_image_read positioned at byte 0. It fills
 *   *img on success and leaves it zeroed on failure.
 * - Every message about a file starts with its path: "scan.tif: strip 3: ...".
 * - Grey values are at full scale 255 (8-bit) or 65535 (16-bit); 0 is black.
 */
#ifndef SEMQR_IO_INTERNAL_H
#define SEMQR_IO_INTERNAL_H

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

/* ---- png.c, pnm.c, tiff.c ----------------------------------------------- */

semqr_status semqr__png_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err);
semqr_status semqr__png_write(const char *path, const semqr_image *img, semqr_error *err);

/* Reads P1, P2, P4 and P5; other Netpbm kinds give SEMQR_ERR_UNSUPPORTED. */
semqr_status semqr__pnm_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err);
/* Writes P5 (PGM, maxval 255 or 65535 by img->bits) or, when bitmap is
 * nonzero, P4 (PBM: dark where the value is below half scale). */
semqr_status semqr__pnm_write(const char *path, const semqr_image *img, int bitmap,
                              semqr_error *err);

/* Reads through libtiff on a duplicate of fp's descriptor (fp stays open). */
semqr_status semqr__tiff_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err);
semqr_status semqr__tiff_write(const char *path, const semqr_image *img, semqr_error *err);

/* ---- render.c ----------------------------------------------------------- */

/* Fails with SEMQR_ERR_INVALID_ARGUMENT unless s is a symbol of version
 * 1..40 with a matching size and quiet >= 0 keeps the symbol with its quiet
 * zone within SEMQR_IMAGE_DIM_MAX modules per side. */
semqr_status semqr__check_symbol(const semqr_symbol *s, int quiet, semqr_error *err);

#endif
