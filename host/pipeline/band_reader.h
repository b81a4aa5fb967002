/* Internal: the scan decoder's reader thread.
 *
 * The scan is decoded as a sequence of bands of full-width rows, band r
 * holding rows [y0[r], y1[r]) with y0 and y1 non-decreasing. A reader
 * fills the bands ahead of their use on a thread of its own, so that
 * reading (and decompressing, or integrating a frame stack) overlaps the
 * device stages and the decoders: two band buffers alternate; band r lives
 * in buffer r % 2, and is filled by copying the rows it shares with band
 * r - 1 (still in the other buffer, which is only read meanwhile) and
 * reading the rest through `read_rows` (then, optionally, handing the band
 * to `fix`, which may change the new rows in place). Band r + 1 can therefore be filled
 * while band r is used, and band r + 2 once band r is released.
 *
 * The consumer calls semqr__band_reader_wait(r) for r = 0, 1, ... in order
 * and semqr__band_reader_release(r) when done with band r, before waiting
 * for band r + 2. read_rows runs on the reader's thread only, one call at a
 * time, with increasing y0. */
#ifndef SEMQR_PIPELINE_BAND_READER_H
#define SEMQR_PIPELINE_BAND_READER_H

#include <stddef.h>

#include "semqr/error.h"

/* Reads rows y0 .. y0 + rows - 1 into dst (rows stride pixels apart). */
typedef semqr_status (*semqr__read_rows_fn)(void *user, int y0, int rows, void *dst,
                                            size_t stride, semqr_error *err);

/* Post-processes a filled band: rows [y0, y0 + rows) at data (row i at
 * data + i row_bytes), of which rows first_new .. rows - 1 were just read and
 * the rows before were copied from the previous band (already processed). */
typedef void (*semqr__band_fix_fn)(void *user, unsigned char *data, size_t row_bytes, int y0,
                                   int rows, int first_new);

/* A band as the consumer sees it: rows [y0, y0 + rows), row i at data + i
 * row_bytes. */
typedef struct semqr__band {
	const unsigned char *data;
	size_t row_bytes;
	int y0, rows;
} semqr__band;

typedef struct semqr__band_reader semqr__band_reader;

/* Bytes of the two band buffers for bands of at most max_rows rows. */
size_t semqr__band_reader_bytes(size_t row_bytes, int max_rows);

/* Allocates the buffers and starts the thread, which begins with band 0.
 * y0 and y1 (count entries, copied) give the bands; no band has more than
 * max_rows rows; width is the row length in pixels (the stride passed to
 * read_rows) and row_bytes its size; fix may be NULL. Both callbacks get
 * `user` and run on the reader's thread. Fails with SEMQR_ERR_NO_MEMORY
 * naming the sizes. */
semqr_status semqr__band_reader_start(const int *y0, const int *y1, int count, int max_rows,
                                      int width, size_t row_bytes, semqr__read_rows_fn read_rows,
                                      semqr__band_fix_fn fix, void *user,
                                      semqr__band_reader **out, semqr_error *err);

/* Waits until band r is filled and describes it in *band. Returns the
 * reader's error instead when reading band r (or an earlier one) failed. */
semqr_status semqr__band_reader_wait(semqr__band_reader *br, int r, semqr__band *band,
                                     semqr_error *err);

/* Gives band r's buffer back to the reader (for band r + 2). */
void semqr__band_reader_release(semqr__band_reader *br, int r);

/* Stops the thread (abandoning bands not yet read), joins it and frees
 * everything; NULL is ignored. */
void semqr__band_reader_stop(semqr__band_reader *br);

#endif
