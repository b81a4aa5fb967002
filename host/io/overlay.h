/* Internal: the scan decoder's overlay picture (semqr decode --overlay).
 *
 * A downscaled grey picture of the scan with every symbol the decoder found
 * outlined, green when it decoded and red when it did not, and its finder
 * patterns marked, written as an 8-bit RGB PNG for a person to look at.
 *
 * The picture is built while the scan streams past in bands of rows, so the
 * memory follows the picture, never the scan: a 65536 x 65536 scan at
 * max_side 2048 needs a 2048 x 2048 picture (8 MiB of 16-bit grey, plus one
 * row of 64-bit sums), and 12 MiB more for the RGB picture while writing.
 *
 * Downscaling. scale = max(1, ceil(max(scan_width, scan_height) / max_side))
 * scan pixels per picture pixel along both axes (an integer, so that every
 * picture pixel is the plain mean of a box of scan pixels). The picture is
 * ceil(scan_width / scale) x ceil(scan_height / scale); picture pixel
 * (px, py) is the mean of scan pixels px * scale .. px * scale + scale - 1
 * by py * scale .. py * scale + scale - 1, cut at the scan's right and bottom
 * edges (the last column and row of boxes may be narrower). Means are kept
 * at 16-bit full scale (8-bit values count 257 times their value), rounded
 * to nearest.
 *
 * Coordinates. Symbols are given in scan pixel coordinates with pixel
 * centres at integers (as in locate/locate.h): scan point x lies at picture
 * point (x + 0.5) / scale - 0.5, picture pixel centres at integers too.
 *
 * Contrast. When written, the picture is stretched linearly so that its own
 * 0.5 and 99.5 percentiles become black and white (values beyond clip), which
 * makes faint SEM images visible: with the n picture values sorted and
 * k = floor(n / 200), the values at ranks k and n - 1 - k map to 0 and 255.
 * A picture of one value (those ranks equal) is written unstretched.
 *
 * An overlay is used by one thread at a time. */
#ifndef SEMQR_IO_OVERLAY_H
#define SEMQR_IO_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/image.h"

typedef struct semqr__overlay semqr__overlay;

/* Outline and mark colours (8-bit RGB). */
#define SEMQR__OVERLAY_DECODED_RGB 0, 200, 0
#define SEMQR__OVERLAY_FAILED_RGB 230, 0, 0
#define SEMQR__OVERLAY_FINDER_RGB 255, 220, 0

/* A new overlay for a scan_width x scan_height scan (each 1 ..
 * SEMQR_IMAGE_DIM_MAX) whose picture's longest side is at most max_side
 * (>= 1) pixels; every picture pixel starts black. NULL with err filled
 * (SEMQR_ERR_INVALID_ARGUMENT, SEMQR_ERR_NO_MEMORY) on failure. */
semqr__overlay *semqr__overlay_create(int scan_width, int scan_height, int max_side,
                                      semqr_error *err);

/* Releases everything the overlay holds; NULL is ignored. */
void semqr__overlay_free(semqr__overlay *ov);

/* Scan pixels per picture pixel, and the picture's size. */
int semqr__overlay_scale(const semqr__overlay *ov);
void semqr__overlay_picture_size(const semqr__overlay *ov, int *width, int *height);

/* Adds scan rows y0 .. y0 + rows - 1 (rows >= 1, within the scan) whose
 * pixels (uint8_t or uint16_t by bits, 8 or 16) start stride pixels apart
 * (stride >= scan width). Bands come in order: y0 must not be beyond the
 * first row not yet added, so that no row is skipped; rows already added
 * (bands that overlap their predecessor) are ignored. Bands may have any
 * height, unrelated to the scale, and may mix depths. A picture row is
 * complete when the last scan row of its box has been added. Fails with
 * SEMQR_ERR_INVALID_ARGUMENT (nothing added) on bad arguments. */
semqr_status semqr__overlay_add_rows(semqr__overlay *ov, int y0, int rows, const void *pixels,
                                     int bits, size_t stride, semqr_error *err);

/* Records a symbol: corners[k] = (x, y) in scan pixels, in order around the
 * quadrilateral (top-left, top-right, bottom-right, bottom-left for a
 * located symbol; the outline joins them in that order and back to the
 * first); decoded nonzero when it decoded; finders the centres of its three
 * finder patterns, or NULL for none. Coordinates must be finite; anything
 * outside the picture is clipped when drawn. Fails with
 * SEMQR_ERR_INVALID_ARGUMENT or SEMQR_ERR_NO_MEMORY (nothing recorded). */
semqr_status semqr__overlay_symbol(semqr__overlay *ov, const float corners[4][2], int decoded,
                                   const float finders[3][2], semqr_error *err);

/* The box means of the picture so far: a 16-bit image of the picture's
 * size, owned by the overlay and valid until semqr__overlay_free, its rows
 * filled as they complete. Rows not complete yet are 0 (the row in progress
 * is only shown by semqr__overlay_write). */
const semqr_image *semqr__overlay_grey(const semqr__overlay *ov);

/* Writes the picture as an 8-bit RGB PNG: the contrast-stretched grey, then
 * the outlines of the symbols that failed (red), then those that decoded
 * (green, so that a symbol both failed and decoded shows green), 2 pixels
 * wide (the two pixels whose centres straddle the edge across its minor
 * axis), then the finder marks: yellow crosses with arms of 1 to 4 pixels
 * (an eighth of the symbol's shortest side in the picture). May be called
 * before every row has been added (for a partial result after a failure):
 * the picture row in progress shows the mean of the rows it has so far, and
 * rows not reached stay black and are left out of the percentiles. The
 * overlay is unchanged. SEMQR_ERR_IO (no partial file left) or
 * SEMQR_ERR_NO_MEMORY on failure. */
semqr_status semqr__overlay_write(const semqr__overlay *ov, const char *path, semqr_error *err);

#endif
