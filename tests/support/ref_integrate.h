/* Test support: plain-C reference of kernels/integrate.cl (drift-corrected
 * frame integration), with the same float operations in the same order, so
 * that device and reference agree exactly (only +, -, *, floor, min and max
 * are used, all exact or correctly rounded in OpenCL).
 *
 * The frame has src_w x src_h pixels; the source window holds its rows
 * win_y0 .. win_y0 + win_h - 1: frame pixel (x, y) is
 * src[(y - win_y0) * stride + x] (uint8_t or uint16_t by bits), rows outside
 * the window read from its nearest row. */
#ifndef SEMQR_TEST_REF_INTEGRATE_H
#define SEMQR_TEST_REF_INTEGRATE_H

#include "pipeline/stage_integrate.h"

/* Adds the shifted source to sum and weight (width x height, rows
 * sum_stride and weight_stride apart), as semqr__stage_integrate does. */
void ref_integrate(const void *src, int bits, int src_stride, int src_w, int src_h,
                   int win_y0, int win_h, const semqr__shift_field *field, int out_x0, int out_y0, int width,
                   int height, float *sum, int sum_stride, float *weight, int weight_stride);

#endif
