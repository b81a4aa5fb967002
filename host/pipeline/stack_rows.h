/* Internal: a frame stack read as one image, its frames aligned and
 * averaged on the device.
 *
 * The scan decoder reads a multi-page scan through this when its frames are
 * to be registered (semqr_stack_mode SEMQR_STACK_REGISTER): the drift field
 * of every frame relative to frame 0 is measured first (drift/register.h),
 * then each request for columns [x0, x0 + width) of scan rows [y0, y0 +
 * rows) is answered chunk by chunk of at most `chunk_rows` rows: for every
 * frame that registered, the part of that frame the shifted chunk needs
 * (the chunk grown by the frame margins: the largest shift of any frame
 * along each axis, plus two pixels for the interpolation, and clipped to
 * the frame) is read, written to the device and added to a float sum and
 * weight by the integrate stage (kernels/integrate.cl: bilinear,
 * out-of-frame samples add no weight); the sum and weight are read back and
 * the mean is delivered as 16-bit grey: the mean of 8-bit frames times 256
 * (so that averaging gains the extra bits instead of rounding them away),
 * of 16-bit frames as it is, rounded to nearest. Frames none of whose tiles
 * registered are left out.
 *
 * The part of a frame read is handed to the integrate stage as a frame of
 * its own whose origin is its first column (the output window and the
 * field's nodes are translated by as much): no valid sample of the output
 * reaches beyond the margins, and where the part ends at the frame's edge
 * that edge is the frame's, so the result is that of the whole frame, up to
 * the float rounding of the coordinates (finer in the smaller coordinates of
 * the part). A request of the full width is exactly the whole frame's.
 *
 * Memory: the host and device buffers of one chunk, at most `budget` bytes
 * (semqr__stack_rows_bytes), whatever the scan's height, and for requests
 * narrower than the scan whatever its width. Regions are read from each
 * page with increasing y0 for the same columns, as the scan reader
 * prefers. A reader is used by one thread at a time. */
#ifndef SEMQR_PIPELINE_STACK_ROWS_H
#define SEMQR_PIPELINE_STACK_ROWS_H

#include <stdint.h>

#include "cl/cl_internal.h"
#include "drift/register.h"
#include "semqr/scan.h"

typedef struct semqr__stack_rows semqr__stack_rows;

/* Smallest chunk accepted: fewer rows would read the frames' margins more
 * often than the rows themselves. */
#define SEMQR__STACK_CHUNK_MIN 16

/* How far the samples of any frame reach beyond the columns (x) and rows
 * (y) they are for: its field's largest |dx| or |dy|, rounded up, plus 2. */
typedef struct semqr__stack_margins {
	int x, y;
} semqr__stack_margins;

/* Rows per chunk for requests of at most `width` columns of a scan
 * scan_width pixels wide at `bits` whose frames reach by margins m, within
 * `budget` bytes: at most 1024, at least SEMQR__STACK_CHUNK_MIN; 0 when
 * even that does not fit. */
int semqr__stack_rows_chunk(int width, int scan_width, int bits, semqr__stack_margins m,
                            size_t budget);

/* Bytes of host and device memory a reader for requests of at most `width`
 * columns, with chunks of chunk_rows rows, holds. */
size_t semqr__stack_rows_bytes(int width, int scan_width, int bits, semqr__stack_margins m,
                               int chunk_rows);

/* The margins of every frame of `drift` in *m; -1 when out of memory, else
 * 0. */
int semqr__stack_rows_margins(const semqr__drift *drift, semqr__stack_margins *m);

/* Creates the reader of `scan` (pages > 1, registered as `drift`, which the
 * reader borrows and must outlive it) on device `dev`, in an OpenCL context
 * and queue of its own (so that it can run on another thread than the tile
 * stages), for requests of at most `width` columns, with chunks of
 * chunk_rows rows (from semqr__stack_rows_chunk). Fails on allocation and
 * OpenCL errors, naming the sizes. */
semqr_status semqr__stack_rows_create(semqr_scan *scan, const semqr__drift *drift,
                                      const semqr_cl_device_info *dev, int width, int chunk_rows,
                                      semqr__stack_rows **out, semqr_error *err);

/* Writes columns x0 .. x0 + width - 1 (at most the reader's width) of the
 * averaged rows y0 .. y0 + rows - 1 (within the scan) to dst, whose rows
 * start dst_stride pixels apart. Adds the seconds spent reading the frames
 * to *read_s and the rest (upload, integration, read-back and division) to
 * *integrate_s. */
semqr_status semqr__stack_rows_read(semqr__stack_rows *s, int x0, int y0, int width, int rows,
                                    uint16_t *dst, size_t dst_stride, double *read_s,
                                    double *integrate_s, semqr_error *err);

/* Frames integrated: frame 0 and every frame that registered. */
int semqr__stack_rows_frames(const semqr__stack_rows *s);

void semqr__stack_rows_destroy(semqr__stack_rows *s);

#endif
