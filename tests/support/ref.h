/* Test support: plain-C references of the device stages (kernels/NAME.cl), with
 * the same semantics and the same order of float operations, so that device
 * and reference differ only by the rounding OpenCL allows for / and sqrt;
 * plus helpers the kernel tests share (device, buffers, random numbers).
 *
 * Images are windows as in pipeline/stages.h, given here as a pointer to
 * pixel (0, 0) and a row stride in elements: pixel (x, y) is p[y * stride + x].
 * Inputs with a halo of r are read at offsets down to -r * stride - r, so the
 * caller's array must extend that far. The references allocate only where
 * noted and never write their inputs. */
#ifndef SEMQR_TEST_REF_H
#define SEMQR_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/stages.h"

/* ---- references ----------------------------------------------------------- */

/* flatten_load_* / flatten_anscombe_* (gain > 0 selects Anscombe, as
 * semqr__stage_load does). */
void ref_load_u8(const uint8_t *in, int in_stride, int width, int height, float gain, float offset,
                 float *out, int out_stride);
void ref_load_u16(const uint16_t *in, int in_stride, int width, int height, float gain,
                  float offset, float *out, int out_stride);

/* The flatten stage (block statistics, bilinear background, optional
 * normalisation). Allocates its block sums; returns 0, or -1 when out of
 * memory. */
int ref_flatten(const float *in, int in_stride, int width, int height, int block, int normalise,
                float floor_sd, float *out, int out_stride);

/* The denoise stage with semqr__denoise_weights(sigma, radius). Allocates the
 * row-pass image; returns 0 or -1. */
int ref_denoise(const float *in, int in_stride, int width, int height, float sigma, int radius,
                float *out, int out_stride);

/* The binarize stage. Allocates the row sums; returns 0 or -1. When
 * `threshold` is not NULL it receives, per pixel (stride width), the value
 * mean + offset that the pixel was compared with. */
int ref_binarize(const float *in, int in_stride, int width, int height, int radius, float offset,
                 uint8_t *out, int out_stride, float *threshold);

/* The finder stage: rows first (top to bottom), then columns (left to right),
 * each line's candidates in scan order. Stores the first `capacity` in out and
 * returns the number found. */
int ref_finder(const uint8_t *bin, int bin_stride, const float *grey, int grey_stride, int width,
               int height, const semqr__finder_params *p, semqr__finder_candidate *out,
               int capacity);

/* ---- helpers for the kernel tests ---------------------------------------- */

/* Opens a context on the default device (semqr_cl_select_device(NULL)); on
 * failure prints the error and returns NULL. */
semqr__cl_context *ref_cl_open(void);

/* A device buffer of `bytes` holding a copy of `data` (or uninitialised when
 * data is NULL); NULL on failure (printed). */
cl_mem ref_cl_buffer(semqr__cl_context *ctx, size_t bytes, const void *data);

/* Blocking read of `bytes` from the start of buf; 0 or -1 (printed). */
int ref_cl_read(semqr__cl_context *ctx, cl_mem buf, size_t bytes, void *out);

/* A host image laid out like a padded tile: a window of w x h elements of
 * `elem` bytes with `halo` pixels on every side, `extra` more columns of
 * stride, and one spare row above and below; pixel (x, y) of the window is
 * element origin + y * stride + x. */
typedef struct ref_image {
	unsigned char *data;
	size_t elem, count, origin;
	int stride, w, h;
} ref_image;

/* Allocates im's data (uninitialised); 0 or -1. */
int ref_image_init(ref_image *im, size_t elem, int w, int h, int halo, int extra);

/* Pointer to pixel (x, y) of the window (x, y may reach into the halo). */
void *ref_image_at(const ref_image *im, int x, int y);

/* Fills every element of im with the `elem` bytes at value. */
void ref_image_fill(ref_image *im, const void *value);

/* Copies the window into win (w x h, stride w) and returns 0 when every
 * element outside the window still equals `sentinel`, -1 otherwise. */
int ref_image_window(const ref_image *im, const void *sentinel, void *win);

/* A device copy of all of im's buffer; NULL on failure. The plane describing
 * the window is stored in *plane. */
cl_mem ref_image_upload(semqr__cl_context *ctx, const ref_image *im, semqr__plane *plane);

/* Reads all of im's buffer back from mem; 0 or -1. */
int ref_image_download(semqr__cl_context *ctx, cl_mem mem, ref_image *im);

/* A small seeded generator (xorshift64*): uniform 32-bit values, uniform floats
 * in [0, 1), and Gaussian deviates (Box-Muller). */
typedef struct ref_rng {
	uint64_t s;
} ref_rng;
void ref_rng_seed(ref_rng *r, uint64_t seed);
uint32_t ref_rng_u32(ref_rng *r);
float ref_rng_uniform(ref_rng *r);
float ref_rng_gauss(ref_rng *r);

/* Sorts candidates by (axis, polarity, y, x) for comparing sets. */
void ref_sort_candidates(semqr__finder_candidate *c, int n);

#endif
