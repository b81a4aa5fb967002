/* semqr — reading the ground truth of a simulated scan.
 *
 * `semqr simulate` writes NAME.json beside NAME.tif (datasets/README.md):
 * the image's size and, for every symbol, its payload, version, level, mask
 * and the image positions of the four corners of its module grid in every
 * frame. semqr_truth_load reads what a regression test needs from it.
 *
 * Fields read (anything else in the file is ignored):
 *   image.width, image.height     required, whole numbers in 1..SEMQR_IMAGE_DIM_MAX
 *   image.frames                  optional (1), 1..SEMQR_SCAN_PAGES_MAX
 *   image.bits                    optional (8), 8 or 16
 *   image.pixel_nm                optional (0: unknown), finite, >= 0
 *   symbol_count                  optional; when present, the length of `symbols`
 *   symbols                       required, an array; for each element:
 *     payload_hex                 required, pairs of hexadecimal digits (either case):
 *                                 the payload's exact bytes ("payload", text that
 *                                 may have been escaped, is not used)
 *     version                     required, 1..40
 *     level                       required, "L", "M", "Q" or "H"
 *     corners                     required, one list per frame (at least one) of four
 *                                 [x, y] points of finite numbers; frame 0 is kept
 *     mask                        optional (-1: unknown), 0..7
 *     mirrored                    optional (false), a boolean
 *     module_nm                   optional (0: unknown), finite, >= 0
 *     inside                      optional (true), a boolean
 *
 * A file that is not JSON fails with SEMQR_ERR_FORMAT and a message
 * "PATH:LINE:COLUMN: " followed by jansson's description; one that is JSON
 * but breaks the schema above fails with SEMQR_ERR_FORMAT naming the file
 * and the field ("truth.json: symbols[3].payload_hex: 'x1' is not pairs of
 * hexadecimal digits"). Numbers too large for a C integer or double are
 * rejected by the parser; whole numbers are required where the schema says
 * so (7.0 is accepted as 7, 7.5 is not). Duplicate keys in an object are an
 * error.
 */
#ifndef SEMQR_TRUTH_H
#define SEMQR_TRUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/qr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct semqr_truth_symbol {
	uint8_t *payload;          /* payload_len bytes (malloc'd; NULL when empty) */
	size_t payload_len;
	int version;               /* 1..40 */
	semqr_ecc ecc;
	int mask;                  /* 0..7, or -1 when the file does not say */
	bool mirrored;
	bool inside;               /* every corner within the image in every frame */
	double module_nm;          /* 0 when the file does not say */
	double corners_px[4][2];   /* frame 0: module corners (0,0), (size,0), (size,size),
	                              (0,size) of the symbol's own matrix, image pixels */
	double center_px[2];       /* the centre of the module grid: where the diagonals
	                              of the corner quadrilateral cross (the exact image of
	                              the centre under any projective map) */
	double side_px;            /* mean length of the four sides, in pixels */
} semqr_truth_symbol;

typedef struct semqr_truth {
	int width, height;         /* the image proper, pixels */
	int frames;                /* pages of the scan */
	int bits;                  /* 8 or 16 */
	double pixel_nm;           /* 0 when unknown */
	semqr_truth_symbol *symbols; /* count entries, in file order */
	size_t count;
} semqr_truth;

/* Reads the ground truth file at path into *truth (zeroed first). On
 * failure *truth is empty (nothing to free, though semqr_truth_free is
 * harmless) and err names the file and what is wrong: SEMQR_ERR_IO when it
 * cannot be read, SEMQR_ERR_FORMAT for bad JSON or a field missing, of the
 * wrong type or out of range, SEMQR_ERR_NO_MEMORY. */
semqr_status semqr_truth_load(const char *path, semqr_truth *truth, semqr_error *err);

/* Frees what semqr_truth_load allocated and empties *truth; NULL is ignored. */
void semqr_truth_free(semqr_truth *truth);

#ifdef __cplusplus
}
#endif
#endif
