/* semqr — grey images: reading, writing, rendering symbols, and decoding
 * axis-aligned synthetic symbol images ("pure" images).
 *
 * Images are single-channel grey, 8 or 16 bits per pixel, row-major with a
 * stride in pixels. Colour files are converted to grey on reading
 * (ITU-R BT.601 luma). 0 is black.
 */
#ifndef SEMQR_IMAGE_H
#define SEMQR_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/qr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct semqr_image {
	int width, height;  /* pixels, >= 1 */
	int bits;           /* 8 or 16 */
	size_t stride;      /* pixels between the starts of two rows, >= width */
	void *pixels;       /* uint8_t or uint16_t, owned by the image */
} semqr_image;

/* Largest width or height accepted by readers before anything is allocated. */
#define SEMQR_IMAGE_DIM_MAX (1 << 20)

/* Allocates a zeroed width x height image of 8 or 16 bits (stride = width). */
semqr_status semqr_image_alloc(semqr_image *img, int width, int height, int bits,
                               semqr_error *err);
/* Releases the pixels; safe on a zeroed image. */
void semqr_image_free(semqr_image *img);

/* Reads PNG, PGM/PBM (binary or ASCII) or TIFF (first page; 1/8/16-bit grey,
 * palette or RGB converted), chosen by the file's signature, not its name.
 * Truncated or hostile files give SEMQR_ERR_FORMAT, valid files of a kind
 * semqr does not read SEMQR_ERR_UNSUPPORTED, unreadable files SEMQR_ERR_IO,
 * each with a message naming the file and the problem; sizes are checked
 * against SEMQR_IMAGE_DIM_MAX before anything is allocated. Renderers and
 * writers accept a quiet zone only while the image side stays within it. */
semqr_status semqr_image_read(const char *path, semqr_image *img, semqr_error *err);

/* Writes img in the format named by the path's extension: .png, .pgm, .pbm
 * (thresholded at half scale), .tif/.tiff (uncompressed, one strip per 64 KiB). */
semqr_status semqr_image_write(const char *path, const semqr_image *img, semqr_error *err);

/* Renders a symbol as an 8-bit image: dark modules 0, light 255, `quiet`
 * light modules of margin on each side, `scale` pixels per module (>= 1). */
semqr_status semqr_render(const semqr_symbol *s, int quiet, int scale,
                          semqr_image *out, semqr_error *err);

/* Writes the symbol as SVG at physical size: module_nm nanometres per module,
 * `quiet` modules of margin. Dark modules are filled paths; width and height
 * are given in nm-based units (the viewBox is in modules). */
semqr_status semqr_write_svg(const char *path, const semqr_symbol *s, int quiet,
                             double module_nm, semqr_error *err);

/* Writes the symbol as text: one line per row, '#' dark and '.' light, with
 * `quiet` light modules of margin. */
semqr_status semqr_write_text(const char *path, const semqr_symbol *s, int quiet,
                              semqr_error *err);

/* Decodes an axis-aligned synthetic symbol image surrounded by a light quiet
 * zone (at least one module): finds the symbol's bounding box and module size
 * from the finder patterns, samples each module's area into a soft matrix and
 * calls semqr_decode_matrix. Dark-on-light only. */
semqr_status semqr_decode_pure(const semqr_image *img, const semqr_decode_options *opts,
                               semqr_decoded *out, semqr_error *err);

#ifdef __cplusplus
}
#endif
#endif
