/* Internal: host wrapper of kernels/sample.cl, the module means of located
 * symbols on the device (the definition is semqr__sample_module_means' in
 * locate/locate.h; the kernel evaluates it in float, see sample.cl).
 * Conventions (windows, blocking, errors) as in pipeline/stages.h.
 *
 * Layout of the means: for symbols syms[0..count), symbol k's module (i, j)
 * is element offset_k + j * size_k + i of the output buffer, with offset_k =
 * size_0^2 + ... + size_{k-1}^2; semqr__sample_total gives the whole length.
 * semqr__sample_read turns the means into the soft matrices of
 * semqr__sample_soft, so that
 *     semqr__stage_sample + semqr__sample_read
 * is the device path of semqr__sample_soft for many symbols at once.
 *
 * Precision. The homography is rounded to float and evaluated in float about
 * the symbol's centre (see sample.cl): a sample's position is off by a few
 * float ulps of the symbol's extent in pixels (about 1e-5 pixel for a symbol
 * 300 pixels across), so a mean differs from the double-precision CPU one by
 * at most that times the image's largest step between neighbouring pixels,
 * and a module whose sample lies that close to the window's border may be
 * NAN on one path and not on the other. */
#ifndef SEMQR_PIPELINE_STAGE_SAMPLE_H
#define SEMQR_PIPELINE_STAGE_SAMPLE_H

#include <stddef.h>

#include "locate/locate.h"
#include "pipeline/stages.h"

/* Largest window side: the kernel's border coordinates must be exact floats. */
#define SEMQR__SAMPLE_SIDE_MAX (1 << 24)

/* One symbol as the kernel reads it. Must match struct sample_symbol in
 * kernels/sample.cl (56 bytes, no padding). */
typedef struct semqr__sample_symbol {
	cl_float h[9];   /* module (u - size/2, v - size/2) -> pixel (x - anchor_x, y - anchor_y),
	                    scaled so that h[8] = 1 (see semqr__sample_symbol_init) */
	cl_int anchor_x; /* window pixel near the image of the symbol's centre */
	cl_int anchor_y;
	cl_int size;   /* modules per side */
	cl_int offset; /* element of the means buffer holding module (0, 0) */
	cl_int side;   /* the footprint: semqr__sample_side(h, size), 7, 4 or 3 */
} semqr__sample_symbol;

/* Fills *out for a symbol of `size` modules whose module -> pixel homography,
 * in the pixel coordinates of a width x height window, is h (as
 * semqr__located.h), its means starting at element `offset`. The anchor is
 * the window pixel nearest to the image of the symbol's centre (module
 * (size / 2, size / 2)), and the recentred homography is scaled so that the
 * centre has w = 1; it is computed in double and rounded to float once. When
 * the centre maps to infinity (h's horizon passes through it) the anchor is
 * pixel (0, 0) and the scale h's largest entry, so that the modules still
 * sample as on the CPU; when h is not finite, or zero, every h[] is NaN, which
 * makes every module NAN. The footprint is semqr__sample_side(h, size),
 * from h in double as on the CPU. width, height >= 1. */
void semqr__sample_symbol_init(const double h[9], int size, int offset, int width, int height,
                               semqr__sample_symbol *out);

/* Number of means for syms[0..count): the sum of size^2 (0 for count 0). */
size_t semqr__sample_total(const semqr__located *syms, int count);

/* Enqueues the means of the modules of syms[0..count) (their h in the
 * pixel coordinates of the float window `in`, which needs no halo) into the
 * float buffer `means`, which holds at least semqr__sample_total elements,
 * laid out as above. Sizes must be 1..SEMQR_SIZE_MAX, the window's sides at
 * most SEMQR__SAMPLE_SIDE_MAX and the total below 2^31; count 0 enqueues
 * nothing. The symbol records are copied to a device buffer before this
 * returns, so syms may be freed at once. */
semqr_status semqr__stage_sample(semqr__cl_context *ctx, const semqr__plane *in,
                                 const semqr__located *syms, int count, cl_mem means,
                                 semqr_error *err);

/* Waits for the stage, reads the means back and writes, for each symbol k,
 * the soft matrix semqr__soft_from_means(syms[k].version, ...) at soft +
 * offset_k (layout as above; soft holds semqr__sample_total floats). syms as
 * given to semqr__stage_sample, each with a version 1..40 and size 17 + 4
 * version. Blocking. */
semqr_status semqr__sample_read(semqr__cl_context *ctx, cl_mem means, const semqr__located *syms,
                                int count, float *soft, semqr_error *err);

#endif
