/* Internal: the scan decoder's reader thread.
 *
 * The scan is decoded as a sequence of bands laid out on a grid: column
 * groups g = 0 .. groups - 1, each a range of columns, and row bands
 * r = 0 .. rows - 1 with non-decreasing first and last rows; band b holds
 * the columns of group b / rows and the rows of row band b % rows, so the
 * bands of one group come top to bottom, then those of the next group. A
 * reader fills the bands ahead of their use on a thread of its own, so that
 * reading (and decompressing, or integrating a frame stack) overlaps the
 * device stages and the decoders: two band buffers alternate; band b lives
 * in buffer b % 2, its rows packed (the group's width in pixels each), and
 * is filled by copying the rows it shares with band b - 1 when both belong
 * to the same group (band b - 1 is still in the other buffer, which is only
 * read meanwhile) and reading the rest through `read` (then, optionally,
 * handing the band to `fix`, which may change the new rows in place). Band
 * b + 1 can therefore be filled while band b is used, and band b + 2 once
 * band b is released.
 *
 * The consumer calls semqr__band_reader_wait(b) for b = 0, 1, ... in order
 * and semqr__band_reader_release(b) when done with band b, before waiting
 * for band b + 2. `read` runs on the reader's thread only, one call at a
 * time, with increasing y0 within a group. */
#ifndef SEMQR_PIPELINE_BAND_READER_H
#define SEMQR_PIPELINE_BAND_READER_H

#include <stddef.h>

#include "semqr/error.h"

/* The bands: columns [x0[g], x1[g]) of group g (groups >= 1 entries), rows
 * [y0[r], y1[r]) of row band r (rows >= 1 entries). */
typedef struct semqr__band_grid {
	const int *x0, *x1;
	int groups;
	const int *y0, *y1;
	int rows;
} semqr__band_grid;

/* Reads columns x0 .. x0 + width - 1 of rows y0 .. y0 + rows - 1 into dst
 * (rows stride pixels apart). */
typedef semqr_status (*semqr__read_region_fn)(void *user, int x0, int y0, int width, int rows,
                                              void *dst, size_t stride, semqr_error *err);

/* Post-processes a filled band of columns [x0, x0 + width) and rows [y0, y0
 * + rows) at data (row i at data + i row_bytes), of which rows first_new ..
 * rows - 1 were just read and the rows before were copied from the previous
 * band (already processed). */
typedef void (*semqr__band_fix_fn)(void *user, unsigned char *data, size_t row_bytes, int x0,
                                   int width, int y0, int rows, int first_new);

/* A band as the consumer sees it: columns [x0, x0 + width) of rows [y0, y0
 * + rows), row i at data + i row_bytes (width pixels). */
typedef struct semqr__band {
	const unsigned char *data;
	size_t row_bytes;
	int x0, width, y0, rows;
} semqr__band;

typedef struct semqr__band_reader semqr__band_reader;

/* Bytes of the two band buffers for `grid` at pixel_bytes per pixel: each
 * holds the widest group's columns of the highest row band. */
size_t semqr__band_reader_bytes(const semqr__band_grid *grid, size_t pixel_bytes);

/* Allocates the buffers and starts the thread, which begins with band 0.
 * The grid's arrays are copied; fix may be NULL. Both callbacks get `user`
 * and run on the reader's thread. Fails with SEMQR_ERR_NO_MEMORY naming
 * the sizes. */
semqr_status semqr__band_reader_start(const semqr__band_grid *grid, size_t pixel_bytes,
                                      semqr__read_region_fn read, semqr__band_fix_fn fix,
                                      void *user, semqr__band_reader **out, semqr_error *err);

/* Waits until band b is filled and describes it in *band. Returns the
 * reader's error instead when reading band b (or an earlier one) failed. */
semqr_status semqr__band_reader_wait(semqr__band_reader *br, int b, semqr__band *band,
                                     semqr_error *err);

/* Gives band b's buffer back to the reader (for band b + 2). */
void semqr__band_reader_release(semqr__band_reader *br, int b);

/* Stops the thread (abandoning bands not yet read), joins it and frees
 * everything; NULL is ignored. */
void semqr__band_reader_stop(semqr__band_reader *br);

#endif
