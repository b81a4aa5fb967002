/* Test support: plain-C reference of kernels/sample.cl (the module means of
 * located symbols), with the same float operations in the same order, so
 * that device and reference differ only where a device's division is not
 * correctly rounded and the kernel's fma refinement lands on the other side
 * of a halfway point (see sample.cl): in practice never.
 *
 * The image is a window as in ref.h: pixel (x, y) is in[y * stride + x],
 * 0 <= x < width, 0 <= y < height (no halo is read). */
#ifndef SEMQR_TEST_REF_SAMPLE_H
#define SEMQR_TEST_REF_SAMPLE_H

#include "pipeline/stage_sample.h"

/* The kernel sample_means over syms[0..count) (records as made by
 * semqr__sample_symbol_init, offsets increasing from 0 without gaps):
 * writes the sum of size^2 means into out, symbol k's module (i, j) at
 * out[syms[k].offset + j * size + i]. */
void ref_sample_means(const float *in, int stride, int width, int height,
                      const semqr__sample_symbol *syms, int count, float *out);

#endif
