/* Internal: scan-line shift correction within one frame. Not installed.
 *
 * An SEM writes a frame line by line; line jitter (the scan generator's
 * noise, mechanical vibration) and charging jumps displace whole lines
 * along the fast axis x. Each line's displacement is estimated from the
 * lines around it and undone by shifting the line back, before anything
 * else looks at the image.
 *
 * Model. Line y shows the scene's line y displaced by j(y): row_y(x) =
 * scene_y(x - j(y)). The scene varies smoothly from line to line except
 * where it crosses an edge, and a slanted edge (a turned symbol) moves
 * linearly with y, so the mean of the lines around y, y - h .. y + h but y
 * itself, predicts line y (its edges where line y has them) up to the
 * displacement of line y against the mean displacement of the others:
 *     row_y(x + e) ~ mean_{0 < |k| <= h} row_{y+k}(x),
 *     e = j(y) - mean_{0 < |k| <= h} j(y + k).
 * Measuring e and moving line y by -e, line after line (a sweep), drives
 * the remaining displacement towards one that equals the mean of its
 * neighbours': linear in y, a shear, which the locator's homography
 * absorbs like any slow drift, so a turned symbol is not mistaken for
 * jitter. Sweeps start with h = 4, where the jitter of the neighbours
 * averages out of the prediction, and narrow to h = 1 for detail.
 *
 * Estimation per line, on the lines smoothed along x by a 5-pixel box
 * (modules span several pixels; shot noise does not): in the first two
 * sweeps an integer search of e over +-max_shift pixels, by the
 * cross-correlation of the gradients of the line and of the prediction,
 * taken only when it beats no shift by more than 5 deviations of that
 * correlation under noise (QR modules repeat every module, so a wrong
 * integer is a real risk), then Lucas-Kanade steps (e += sum g (t - a) /
 * sum g^2, shrunk by e^2 / (e^2 + (1.5 sigma)^2) with sigma the step's
 * standard error, so that noise alone moves nothing). Lines are resampled
 * from their original values at the accumulated shift by linear
 * interpolation (edge pixels replicated), so repeated sweeps do not blur
 * them repeatedly. A line without edges (quiet zone) is left where it is.
 *
 * Measured (tests/test_lines.c): random shifts of 2 px deviation on a
 * simulated plate are found to 0.47 px RMS line to line; lines of turned
 * symbols without any shift move by 0.13 to 0.19 px RMS.
 *
 * Blocks. The scan decoder's reader hands the lines band by band: a block
 * of lines whose first `fixed` lines were corrected before (they are kept
 * as they are and serve as neighbours above) and whose remaining lines are
 * new; lines near the block's ends are predicted from the neighbours the
 * block has. A band of a column group holds part of each line: its shift is
 * estimated from those columns alone. Cost: about 2 (2 max_shift + 1) + 40 operations per pixel
 * over the sweeps, on the reader's thread. */
#ifndef SEMQR_DRIFT_LINES_H
#define SEMQR_DRIFT_LINES_H

#include <stddef.h>

#include "semqr/error.h"

/* Largest shift searched, in pixels. */
#define SEMQR__LINES_SHIFT_MAX 32

typedef struct semqr__lines semqr__lines;

/* Statistics of the corrections made so far. */
typedef struct semqr__lines_stats {
	long lines;        /* lines corrected */
	double sum_sq;     /* sum of the squared shifts applied */
	double max_abs;    /* largest |shift| applied */
} semqr__lines_stats;

/* A corrector for lines of up to `width` pixels (>= 8) at `bits` (8 or 16),
 * searching shifts up to max_shift (1 .. SEMQR__LINES_SHIFT_MAX) pixels,
 * over blocks of at most max_lines lines. */
semqr_status semqr__lines_create(int width, int bits, int max_shift, int max_lines,
                                 semqr__lines **out, semqr_error *err);

void semqr__lines_destroy(semqr__lines *c);

/* Bytes a corrector holds. */
size_t semqr__lines_bytes(int width, int max_lines);

/* Corrects lines fixed .. count - 1 of the block at data (line i at data +
 * i * stride pixels, uint8_t or uint16_t, `width` pixels long), 0 <= fixed
 * <= count <= max_lines, in place, with `sweeps` >= 1 sweeps; lines 0 ..
 * fixed - 1 are read only. The lines may be any part of the scan's lines
 * (a column group's band): width at most the corrector's, and at least 2
 * max_shift + 2, else nothing is done. Shifts are estimated from the
 * block's own pixels, and pixels shifted in from beyond its ends replicate
 * its end pixels. shifts (when not NULL) receives the shift applied to each
 * new line (shifts[i - fixed]: the line's content moved by -shift). */
void semqr__lines_correct(semqr__lines *c, void *data, size_t stride, int width, int count,
                          int fixed, int sweeps, double *shifts);

semqr__lines_stats semqr__lines_get_stats(const semqr__lines *c);

#endif
