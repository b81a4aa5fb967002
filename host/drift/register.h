/* Internal: drift measurement for SEM frame stacks. Not installed.
 *
 * Two layers:
 *
 * 1. Tile registration (register.c). A semqr__register measures the
 *    translation between two tiles of the same size by phase correlation:
 *        F = FFT(hann * (ref - mean)),  G = FFT(hann * (mov - mean)),
 *        R = L G conj(F) / |G conj(F)|        (normalised cross-power spectrum)
 *        c = IFFT(R)                          (peak at the displacement)
 *    with L(f) = exp(-|f|^2 / fc^2), f in cycles per pixel, a low-pass
 *    weight (fc <= 0: L = 1, pure phase correlation). Pure phase correlation
 *    gives every frequency the same say, so at SEM doses the high
 *    frequencies, where shot noise dominates the blurred image, drag the
 *    sub-pixel peak (about 0.1 px on noisy textures); fc = 0.15 keeps the
 *    band that carries module edges blurred by a 1 px probe.
 *    then the integer peak of c, refined to 1/upsample pixel by evaluating
 *    the inverse DFT of R directly on a (1.5 px)^2 neighbourhood of that peak
 *    at spacing 1/upsample (the matrix-multiply DFT of Guizar-Sicairos,
 *    Thurman and Fienup, "Efficient subpixel image registration algorithms",
 *    Opt. Lett. 33, 156 (2008)): two small complex matrix products,
 *    O(w h n) for n = 1.5 upsample + 1 points per axis.
 *
 *    Sign: the shift (dx, dy) says that the moving tile's content sits at
 *    (x + dx, y + dy) where the reference tile's content sits at (x, y):
 *    mov(x + dx, y + dy) ~ ref(x, y).
 *
 *    Quality: the refined peak of c divided by sqrt(sum L^2 / (w h)^2), the
 *    RMS c has for unrelated tiles (Parseval: |R| = L with random phases),
 *    so the peak in units of the noise: the maximum over a tile of pure
 *    noise stayed below 8 in every trial (256^2 to 1024^2 tiles), while identical
 *    tiles give sum L / sqrt(sum L^2). SEMQR__REGISTER_MIN_QUALITY is the
 *    threshold the stack registration uses.
 *
 *    FFTW plans (single precision, r2c and c2r, FFTW_MEASURE) are made once
 *    per semqr__register, i.e. once per tile size, and executed on every
 *    tile with the new-array interface. FFTW's planner is not thread-safe, so
 *    every plan creation and destruction and every wisdom import and export
 *    takes one process-wide mutex; executing plans needs no lock, so
 *    registers may be used concurrently by different threads (one thread per
 *    semqr__register). Planning accumulates wisdom in the process, so a
 *    second register of a size already planned plans at once. When the
 *    environment variable SEMQR_FFTW_WISDOM names a file, wisdom is imported
 *    from it before the first plan of the process (a missing file is not an
 *    error) and exported to it after every plan that took new measurements
 *    (a file that cannot be written is not an error either: wisdom is an
 *    optimisation).
 *
 * 2. Stack registration (stack.c). Every frame k of a stack is registered to
 *    frame 0 over a grid of tiles, giving a shift field per frame: the
 *    per-tile shifts, tiles whose peak is weak (quality below the minimum) or
 *    that disagree with the others (farther than max(outlier_px, 4 MAD) from
 *    the median) replaced by a least-squares plane fitted to the rest, so
 *    that drift varying across the field (scan distortion, charging) is
 *    followed while a tile over a featureless area cannot disturb it. The
 *    field is interpolated bilinearly between tile centres and held constant
 *    beyond the outermost centres (semqr__drift_shift_at), which is also the
 *    interpolation kernels/integrate.cl applies (semqr__drift_field).
 *    Frames are read as bands of tile rows, so memory follows the band, not
 *    the frame.
 */
#ifndef SEMQR_DRIFT_REGISTER_H
#define SEMQR_DRIFT_REGISTER_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/scan.h"

/* ---- tile registration (register.c) ------------------------------------- */

/* Quality below which a tile's peak is not trusted (see above). */
#define SEMQR__REGISTER_MIN_QUALITY 10.0

/* Largest tile side and largest upsampling factor accepted. */
#define SEMQR__REGISTER_SIDE_MAX 8192
#define SEMQR__REGISTER_UPSAMPLE_MAX 1000

typedef struct semqr__shift {
	double dx, dy;  /* pixels, sign as above */
	double quality; /* refined peak * sqrt(width * height) */
} semqr__shift;

/* Seconds spent in each stage of semqr__register_tile, summed over calls. */
typedef struct semqr__register_times {
	double window_fft;   /* mean removal, Hann window, forward FFT */
	double cross_power;  /* normalised cross-power spectrum and inverse FFT */
	double peak;         /* integer peak and upsampled-DFT refinement */
	long tiles;          /* tiles registered */
} semqr__register_times;

typedef struct semqr__register semqr__register;

/* A register for width x height tiles (each 2 .. SEMQR__REGISTER_SIDE_MAX)
 * refining to 1 / upsample pixel (1 .. SEMQR__REGISTER_UPSAMPLE_MAX; 1 gives
 * the integer peak), with the low-pass fc = lowpass (cycles per pixel; <= 0
 * for none), holding `slots` >= 1 reference spectra (one per tile of
 * a row of tiles, so that each reference is transformed once per stack).
 * Makes the FFTW plans (see above). */
semqr_status semqr__register_create(int width, int height, int upsample, double lowpass,
                                    int slots, semqr__register **out, semqr_error *err);

/* Frees r and its plans; NULL is ignored. */
void semqr__register_destroy(semqr__register *r);

/* Makes the tile at ref (row i at ref + i * stride floats, stride >= width)
 * the reference of slot 0 .. slots-1: its windowed spectrum is kept until
 * the slot's next reference. */
void semqr__register_set_reference(semqr__register *r, int slot, const float *ref,
                                   size_t stride);

/* Registers the tile at mov (laid out as for the reference) to the
 * reference in `slot`: *out receives the shift and quality. A flat tile (no
 * variation at all), a flat reference or a slot never set gives quality 0 and
 * shift (0, 0). */
void semqr__register_tile(semqr__register *r, int slot, const float *mov, size_t stride,
                          semqr__shift *out);

/* The stage times of every semqr__register_tile call on r so far. */
semqr__register_times semqr__register_get_times(const semqr__register *r);

/* ---- stack registration (stack.c) --------------------------------------- */

typedef struct semqr__drift_options {
	int tile;          /* tile side in pixels (256); clamped to the frame's sides */
	int upsample;      /* refinement 1 / upsample px (20) */
	double lowpass;    /* spectral low-pass fc, cycles per pixel (0.15) */
	double overlap;    /* fraction of a tile shared with its neighbours, 0 .. 0.9 (0) */
	double min_quality;/* weaker peaks are rejected (SEMQR__REGISTER_MIN_QUALITY) */
	double outlier_px; /* smallest deviation from the median that rejects a tile (1) */
} semqr__drift_options;

/* Sets the defaults given in the comments. */
void semqr__drift_options_init(semqr__drift_options *o);

/* Times of a stack registration, in seconds. */
typedef struct semqr__drift_times {
	double read;         /* reading bands and converting them to float */
	semqr__register_times reg;
	double combine;      /* outlier rejection and plane fits */
} semqr__drift_times;

typedef struct semqr__drift semqr__drift;

/* Bytes semqr__drift_measure allocates at most for `pages` frames of width x
 * height at `bits` (the bands of one tile row as read and as floats, the
 * FFTW arrays and reference spectra of one tile row, the per-tile results);
 * options as for semqr__drift_measure. */
size_t semqr__drift_bytes(int width, int height, int bits, int pages,
                          const semqr__drift_options *opts);

/* Registers every page 1 .. pages-1 of scan to page 0 (a single page gives a
 * zero field). The tiles form an nx x ny grid, nx = 1 + floor((width -
 * tile) / (tile (1 - overlap))), spread at an integer step (as even as that
 * allows), the grid centred in the frame. Fails with
 * SEMQR_ERR_INVALID_ARGUMENT for options out of range, and passes on the
 * reader's errors. */
semqr_status semqr__drift_measure(semqr_scan *scan, const semqr__drift_options *opts,
                                  semqr__drift **out, semqr_error *err);

/* As semqr__drift_measure for frames in memory: frames[k] points to pixel
 * (0, 0) of frame k, rows `stride` pixels apart, uint8_t or uint16_t by
 * bits (8 or 16). */
semqr_status semqr__drift_measure_frames(const void *const *frames, int count, int width,
                                         int height, size_t stride, int bits,
                                         const semqr__drift_options *opts, semqr__drift **out,
                                         semqr_error *err);

void semqr__drift_destroy(semqr__drift *d);

/* Frames and tile grid of d. */
int semqr__drift_frames(const semqr__drift *d);
void semqr__drift_grid(const semqr__drift *d, int *nx, int *ny);

/* Tile (i, j) of frame k as measured: its centre (pixel-centre coordinates:
 * pixel (x, y) is centred at (x, y)), shift and quality, and whether it was
 * used (1) or replaced by the plane fit (0). */
void semqr__drift_tile(const semqr__drift *d, int frame, int i, int j, double *cx, double *cy,
                       semqr__shift *measured, int *used);

/* The shift of frame k at pixel-centre coordinates (x, y): the field
 * interpolated bilinearly between tile centres, constant beyond them. Frame
 * 0 gives (0, 0). */
void semqr__drift_shift_at(const semqr__drift *d, int frame, double x, double y, double *dx,
                           double *dy);

/* The drift of frame k as one number per axis: the median of its field's
 * nodes. Returns the number of tiles that were used (0 for frame 0, and for
 * a frame no tile registered: its field is then zero and the frame should
 * not be integrated). */
int semqr__drift_frame_shift(const semqr__drift *d, int frame, double *dx, double *dy);

/* The drift velocity in pixels per second: the least-squares slope of the
 * frames' shifts (frame 0 and every frame with a used tile) against their
 * start times k * frame_period_s (> 0). Needs two such frames; 0 otherwise. */
void semqr__drift_velocity(const semqr__drift *d, double frame_period_s, double *vx,
                           double *vy);

/* Frame k's field as the node grid kernels/integrate.cl interpolates:
 * nodes[2 * (j * nx + i) + {0, 1}] = (dx, dy) at node (i, j), node (0, 0)
 * at (*x0, *y0) and spacing (*step_x, *step_y) (1 along an axis with one
 * node). nodes holds 2 nx ny floats (semqr__drift_grid). */
void semqr__drift_field(const semqr__drift *d, int frame, float *nodes, float *x0, float *y0,
                        float *step_x, float *step_y);

/* Stage times of the measurement. */
semqr__drift_times semqr__drift_get_times(const semqr__drift *d);

#endif
