/* Internal: host wrappers of the device stages of the scan pipeline, one per
 * kernels/NAME.cl file:
 *
 *     load (8/16-bit -> float, optionally Anscombe)  kernels/flatten.cl
 *     flatten (background removal)                   kernels/flatten.cl
 *     denoise (separable Gaussian)                   kernels/denoise.cl
 *     binarize (local-mean threshold)                kernels/binarize.cl
 *     finder (1:1:3:1:1 run candidates)              kernels/finder.cl
 *
 * The maths of each stage is documented in its .cl file; a plain-C reference
 * with the same semantics lives in tests/support/ref.h.
 *
 * Images are windows of device buffers (struct semqr__plane). A stage that
 * reads a neighbourhood of radius r needs the input window's halo: every
 * element of the window grown by r along the filtered axes must lie inside
 * the buffer (the tile scheduler pads tiles so). Stages check this, and that
 * the windows fit their buffers, and fail with SEMQR_ERR_INVALID_ARGUMENT
 * otherwise. Output windows must not overlap the input windows or their
 * halos (not checked); no stage writes its input.
 *
 * Blocking: every wrapper only enqueues work on ctx's in-order queue and
 * returns without waiting, except semqr__finder_read, which reads results
 * back. Commands therefore run in the order enqueued; a caller reading an
 * output buffer either uses a blocking read or waits with clFinish. Scratch
 * buffers a stage creates (flatten's small block tables always; denoise's and
 * binarize's row-pass image unless the caller lends one) are released right
 * after enqueueing: OpenCL frees them once the commands using them complete.
 * A failure may leave some of a stage's commands enqueued; its outputs are
 * then undefined.
 *
 * Sizes: windows are at least 1 x 1, and every buffer must hold fewer than
 * 2^31 elements, since the kernels index with int. */
#ifndef SEMQR_PIPELINE_STAGES_H
#define SEMQR_PIPELINE_STAGES_H

#include <stddef.h>

#include <CL/cl.h>

#include "cl/cl_internal.h"

/* A window of a device buffer: pixel (x, y), 0 <= x < width, 0 <= y < height,
 * is element origin + y * stride + x (elements of the stage's pixel type). */
typedef struct semqr__plane {
	cl_mem mem;
	size_t origin;
	int stride;
	int width, height;
} semqr__plane;

/* ---- load and flatten (stage_flatten.c) ---------------------------------- */

/* Converts the uchar (bits 8) or ushort (bits 16) window `in` to the float
 * window `out` of the same size. With gain <= 0, out = v / (2^bits - 1);
 * with gain > 0 (grey values per detected electron) and offset (grey value of
 * zero electrons), out = 2 sqrt(max((v - offset) / gain + 3/8, 0)), the
 * Anscombe transform, whose noise is close to 1 everywhere. */
semqr_status semqr__stage_load(semqr__cl_context *ctx, const semqr__plane *in, int bits, float gain,
                               float offset, const semqr__plane *out, semqr_error *err);

/* Bins the uchar (bits 8) or ushort (bits 16) window `in` 2 x 2 into the
 * float window `out` of ceil(in width / 2) x ceil(in height / 2): output
 * pixel (x, y) is the mean of input columns 2x, 2x + 1 and rows 2y, 2y + 1
 * (an odd last column or row replicated), mapped as semqr__stage_load maps
 * a pixel when gain <= 0 (mean / (2^bits - 1)); with gain > 0, half the
 * Anscombe transform of the block's total electron count, whose noise is
 * close to 1/2 (kernels/flatten.cl). */
semqr_status semqr__stage_bin2(semqr__cl_context *ctx, const semqr__plane *in, int bits,
                               float gain, float offset, const semqr__plane *out,
                               semqr_error *err);

/* Subtracts the background estimated from block x block blocks from the float
 * window `in` into the float window `out` (same size): out = (in - m~) * g,
 * m~ the bilinearly interpolated block means, g = 1 / max(s~, floor_sd) with
 * s~ the interpolated block standard deviations when normalise is non-zero,
 * else 1 (see kernels/flatten.cl). block >= 1; floor_sd > 0 when normalising. */
semqr_status semqr__stage_flatten(semqr__cl_context *ctx, const semqr__plane *in, int block,
                                  int normalise, float floor_sd, const semqr__plane *out,
                                  semqr_error *err);

/* semqr__stage_load with gain 0 followed by semqr__stage_flatten, in one go:
 * flattens the uchar (bits 8) or ushort (bits 16) window `in`, read as
 * v / (2^bits - 1), into the float window `out`. The output is identical to
 * the two stages' (kernels/flatten.cl), without the float copy of the input
 * in between. */
semqr_status semqr__stage_load_flatten(semqr__cl_context *ctx, const semqr__plane *in, int bits,
                                       int block, int normalise, float floor_sd,
                                       const semqr__plane *out, semqr_error *err);

/* ---- denoise (stage_denoise.c) ------------------------------------------- */

/* Largest Gaussian radius (kernels/denoise.cl has one kernel per radius). */
#define SEMQR__DENOISE_RADIUS_MAX 15

/* Largest sigma: the largest radius is 3 sigma (the public
 * SEMQR_DENOISE_SIGMA_MAX of semqr/decode.h is the same). */
#define SEMQR__DENOISE_SIGMA_MAX (SEMQR__DENOISE_RADIUS_MAX / 3.0f)

/* The Gaussian sigma, in pixels, for modules of a known pitch of module_px
 * pixels (the scan's pixel size known): SEMQR__DENOISE_MODULE_FRACTION of
 * a module, at most SEMQR__DENOISE_SIGMA_MAX (modules over 20.8 px).
 * Measured, not derived, on 2048 x 2048 simulated plates of version-3
 * symbols (default physics but the dose): wherever the decode rate is under
 * 100 %, it peaks at a sigma of 0.21-0.24 module for 6.1 px modules (doses
 * 25-50 quanta per pixel, 1024 symbols per dose and sigma), 0.23-0.26 with
 * the symbols turned any way, 0.2-0.23 with a probe twice as wide, 0.2-0.26
 * for 9.8 px (doses 8-12) and 0.24-0.29 for 4.1 px (doses 100-200); beyond
 * it the rate falls (6.1 px, 30 quanta: 470 of 1024 at 0.24 module, 351 at
 * a third; at half a module most symbols are lost even without noise).
 * The peak does not move with the dose, which only raises the whole curve
 * into a plateau (6.1 px, 100 quanta: at least 511 of 512 from 0.12 to 0.41
 * module), so the noise measured in the scan (pipeline/noise_level.h) does
 * not enter; a smaller sigma at high doses would only save time (4 % from
 * 0.24 to 0.16 module at 1000 quanta on an 8192 x 8192 plate). */
#define SEMQR__DENOISE_MODULE_FRACTION 0.24f
float semqr__denoise_sigma_pitch(float module_px);

/* The Gaussian sigma, in pixels, when the module size is only known to lie
 * in a searched range (no pixel size), module_px its lower end: a third of
 * it, which keeps the smallest modules apart while averaging out the noise
 * of larger ones. On the 82 photographs of tests/test_photos.c (modules of
 * 3-40 px) it reads 61 with no wrong payload; 0.24 of the lower end reads
 * 59 with one wrong.
 * The radius that goes with a sigma: ceil(3 sigma), clamped to
 * 1..SEMQR__DENOISE_RADIUS_MAX. */
float semqr__denoise_sigma(float module_px);
int semqr__denoise_radius(float sigma);

/* Fills w[0..2 radius] with exp(-(k - radius)^2 / (2 sigma^2)) normalised to
 * sum 1, 0 <= radius <= SEMQR__DENOISE_RADIUS_MAX; sigma <= 0 gives the
 * identity (1 at the centre, 0 elsewhere: no smoothing). */
void semqr__denoise_weights(float sigma, int radius, float *w);

/* Bytes of scratch buffer semqr__stage_denoise needs for a width x height
 * window: the row pass of the window and radius rows above and below. */
size_t semqr__stage_denoise_scratch(int width, int height, int radius);

/* Smooths the float window `in` into the float window `out` (same size) with
 * the separable Gaussian of the given sigma and radius (kernels/denoise.cl).
 * `in` needs a halo of radius on all four sides; 0 <= radius <=
 * SEMQR__DENOISE_RADIUS_MAX. `scratch` is a buffer of at least
 * semqr__stage_denoise_scratch bytes, not otherwise in use until the stage
 * completes, or NULL to have the stage create (and release) one: passing one
 * kept across tiles saves an allocation and its first-touch cost per call. */
semqr_status semqr__stage_denoise(semqr__cl_context *ctx, const semqr__plane *in, float sigma,
                                  int radius, cl_mem scratch, const semqr__plane *out,
                                  semqr_error *err);

/* ---- binarize (stage_binarize.c) ----------------------------------------- */

/* Largest window radius (kernels/binarize.cl has one kernel per radius). */
#define SEMQR__BINARIZE_RADIUS_MAX 15

/* Bytes of scratch buffer semqr__stage_binarize needs (the row sums). */
size_t semqr__stage_binarize_scratch(int width, int height, int radius);

/* Writes the uchar window `out` (same size as `in`): 1 where the float window
 * `in` exceeds the mean of its (2 radius + 1)^2 neighbourhood plus offset,
 * else 0 (kernels/binarize.cl). `in` needs a halo of radius on all sides;
 * 0 <= radius <= SEMQR__BINARIZE_RADIUS_MAX. scratch as for
 * semqr__stage_denoise. */
semqr_status semqr__stage_binarize(semqr__cl_context *ctx, const semqr__plane *in, int radius,
                                   float offset, cl_mem scratch, const semqr__plane *out,
                                   semqr_error *err);

/* The 1 / (2 radius + 1)^2 the threshold multiplies its sums by. */
float semqr__binarize_inv_area(int radius);

/* ---- finder candidates (stage_finder.c) ---------------------------------- */

/* One finder-pattern crossing, in the window's pixel coordinates (pixel
 * centres at integers). Must match struct finder_candidate in
 * kernels/finder.cl (20 bytes, no padding). */
typedef struct semqr__finder_candidate {
	float x, y;      /* centre: sub-pixel along the axis, the line index across it */
	float module;    /* module size in pixels along the axis */
	cl_int polarity; /* binary value of the centre run: 0 darker, 1 brighter */
	cl_int axis;     /* 0: found along a row, 1: along a column */
} semqr__finder_candidate;

/* Parameters of the run test (kernels/finder.cl). */
typedef struct semqr__finder_params {
	float tolerance;  /* allowed |run - expected| as a fraction of expected, e.g. 0.5 */
	float min_module; /* module sizes outside [min_module, max_module] are ignored */
	float max_module;
} semqr__finder_params;

/* Enqueues the search of the uchar binary window `bin` along its rows and
 * columns, refining edges from the float window `grey` of the same size
 * (the image `bin` was thresholded from; no halo needed). Resets the cl_int
 * buffer `count` (4 bytes) to 0 first; candidates go to `cands`, which holds
 * `capacity` >= 0 elements. */
semqr_status semqr__stage_finder(semqr__cl_context *ctx, const semqr__plane *bin,
                                 const semqr__plane *grey, const semqr__finder_params *p,
                                 cl_mem cands, int capacity, cl_mem count, semqr_error *err);

/* Enqueues the reading of the stage's results without waiting: *found (a
 * cl_int the caller keeps alive until the queue is finished) receives the
 * number of candidates found, which exceeds capacity when the buffer
 * overflowed (then only capacity of them were stored: enlarge and rerun),
 * and out[0..capacity) the candidate buffer, of which the first
 * min(*found, capacity) are the candidates. */
semqr_status semqr__finder_read_enqueue(semqr__cl_context *ctx, cl_mem cands, int capacity,
                                        cl_mem count, semqr__finder_candidate *out,
                                        cl_int *found, semqr_error *err);

/* The same, waiting for the queue: blocking. */
semqr_status semqr__finder_read(semqr__cl_context *ctx, cl_mem cands, int capacity, cl_mem count,
                                semqr__finder_candidate *out, int *found, semqr_error *err);

/* ---- shared by the wrappers ---------------------------------------------- */

/* Checks that window p of elements of elem_size bytes, grown by halo_x
 * columns and halo_y rows on each side, lies inside p->mem, and that
 * p->mem holds fewer than 2^31 elements; `what` names the window in the
 * error ("denoise input"). */
semqr_status semqr__plane_check(const semqr__cl_context *ctx, const semqr__plane *p,
                                size_t elem_size, int halo_x, int halo_y, const char *what,
                                semqr_error *err);

/* Checks that the caller's scratch buffer holds at least `bytes`; `stage`
 * names the stage in the error. */
semqr_status semqr__scratch_check(const semqr__cl_context *ctx, cl_mem scratch, size_t bytes,
                                  const char *stage, semqr_error *err);

/* One kernel argument: SEMQR__ARG(v) for an lvalue v. */
typedef struct semqr__kernel_arg {
	size_t size;
	const void *value;
} semqr__kernel_arg;
/* clang-format off */
#define SEMQR__ARG(v) {sizeof(v), &(v)}
/* clang-format on */

/* Sets arguments 0..n-1 of kernel k (the function `function` of the stage);
 * fails naming the function and the argument index. */
semqr_status semqr__set_args(const semqr__cl_context *ctx, cl_kernel k, const char *function,
                             const semqr__kernel_arg *args, int n, semqr_error *err);


#endif
