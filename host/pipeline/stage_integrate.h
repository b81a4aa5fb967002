/* Internal: host wrapper of kernels/integrate.cl, drift-corrected frame
 * integration on the device (the definition, borders included, is in
 * integrate.cl). Conventions (windows, blocking, errors) as in
 * pipeline/stages.h.
 *
 * A stack is integrated by zeroing a float sum and a float weight window of
 * the reference frame's size, then calling semqr__stage_integrate once per
 * frame with that frame's shift field (drift/register.h: semqr__drift_field
 * gives it; frame 0 has a zero field); the mean image is sum / weight
 * wherever weight > 0. The weight counts frames, exactly, up to 2^24. */
#ifndef SEMQR_PIPELINE_STAGE_INTEGRATE_H
#define SEMQR_PIPELINE_STAGE_INTEGRATE_H

#include "pipeline/stages.h"

/* Largest source side: the kernel's border coordinates must be exact
 * floats. */
#define SEMQR__INTEGRATE_SIDE_MAX (1 << 24)

/* A shift field: nx x ny >= 1 x 1 nodes, node (i, j) at (x0 + i step_x,
 * y0 + j step_y) in the source's pixel coordinates with the shift
 * (nodes[2 (j nx + i)], nodes[2 (j nx + i) + 1]); steps > 0 (ignored along
 * an axis with one node). nodes is read during the call only. */
typedef struct semqr__shift_field {
	int nx, ny;
	float x0, y0, step_x, step_y;
	const float *nodes;
} semqr__shift_field;

/* Enqueues the addition of a uchar (bits 8) or ushort (bits 16) frame of
 * src->width x frame_h pixels, shifted by `field`, to the float windows `sum`
 * and `weight` (same size), whose pixel (0, 0) is frame position (out_x0,
 * out_y0). The window `src` (no halo needed) holds frame rows src_y0 ..
 * src_y0 + src->height - 1, all columns; the result is that of the whole
 * frame when those rows include every row the valid samples touch (rows
 * out_y0 + dy - 1 .. out_y0 + sum->height + dy + 1 over the field's dy
 * covers them). */
semqr_status semqr__stage_integrate(semqr__cl_context *ctx, const semqr__plane *src, int bits,
                                    int src_y0, int frame_h,
                                    const semqr__shift_field *field, int out_x0, int out_y0,
                                    const semqr__plane *sum, const semqr__plane *weight,
                                    semqr_error *err);

#endif
