/* The scan decoder's reader thread (contracts in pipeline/band_reader.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "pipeline/band_reader.h"

struct semqr__band_reader {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast on every change of filled, released, quit, st */
	pthread_t thread;
	int *y0, *y1, count, width;
	size_t row_bytes;
	unsigned char *buf[2];
	semqr__read_rows_fn read_rows;
	semqr__band_fix_fn fix;
	void *user;
	/* Under mu: */
	int filled;   /* bands 0 .. filled - 1 are ready */
	int released; /* bands 0 .. released - 1 were given back */
	int quit;
	semqr_status st; /* the reader's error, with err */
	semqr_error err;
};

size_t semqr__band_reader_bytes(size_t row_bytes, int max_rows)
{
	return 2 * row_bytes * (size_t)max_rows;
}

/* Fills buffer r % 2 with band r: the rows shared with band r - 1 copied
 * from the other buffer, the rest read. */
static semqr_status fill(semqr__band_reader *br, int r, semqr_error *err)
{
	unsigned char *dst = br->buf[r % 2];
	int from = br->y0[r];
	if (r > 0) {
		int p0 = br->y0[r - 1], p1 = br->y1[r - 1];
		if (from >= p0 && from < p1) {
			int to = br->y1[r] < p1 ? br->y1[r] : p1;
			memcpy(dst, br->buf[(r - 1) % 2] + (size_t)(from - p0) * br->row_bytes,
			       (size_t)(to - from) * br->row_bytes);
			from = to;
		}
	}
	if (br->y1[r] <= from)
		return SEMQR_OK;
	semqr_status st = br->read_rows(br->user, from, br->y1[r] - from,
	                                dst + (size_t)(from - br->y0[r]) * br->row_bytes,
	                                (size_t)br->width, err);
	if (st == SEMQR_OK && br->fix)
		br->fix(br->user, dst, br->row_bytes, br->y0[r], br->y1[r] - br->y0[r],
		        from - br->y0[r]);
	return st;
}

static void *reader_main(void *arg)
{
	semqr__band_reader *br = arg;
	for (int r = 0; r < br->count; r++) {
		pthread_mutex_lock(&br->mu);
		while (!br->quit && r - br->released >= 2)
			pthread_cond_wait(&br->cv, &br->mu);
		int quit = br->quit;
		pthread_mutex_unlock(&br->mu);
		if (quit)
			break;
		semqr_error err;
		semqr_status st = fill(br, r, &err);
		pthread_mutex_lock(&br->mu);
		if (st == SEMQR_OK) {
			br->filled = r + 1;
		} else {
			br->st = st;
			br->err = err;
		}
		pthread_cond_broadcast(&br->cv);
		pthread_mutex_unlock(&br->mu);
		if (st != SEMQR_OK)
			break;
	}
	return NULL;
}

static void free_reader(semqr__band_reader *br)
{
	free(br->y0);
	free(br->y1);
	free(br->buf[0]);
	free(br->buf[1]);
	pthread_cond_destroy(&br->cv);
	pthread_mutex_destroy(&br->mu);
	free(br);
}

semqr_status semqr__band_reader_start(const int *y0, const int *y1, int count, int max_rows,
                                      int width, size_t row_bytes, semqr__read_rows_fn read_rows,
                                      semqr__band_fix_fn fix, void *user,
                                      semqr__band_reader **out, semqr_error *err)
{
	*out = NULL;
	semqr__band_reader *br = calloc(1, sizeof *br);
	if (!br)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan reader thread: out of memory");
	pthread_mutex_init(&br->mu, NULL);
	pthread_cond_init(&br->cv, NULL);
	size_t n = count > 0 ? (size_t)count : 1;
	br->y0 = malloc(n * sizeof *br->y0);
	br->y1 = malloc(n * sizeof *br->y1);
	br->buf[0] = malloc(row_bytes * (size_t)max_rows);
	br->buf[1] = malloc(row_bytes * (size_t)max_rows);
	if (!br->y0 || !br->y1 || !br->buf[0] || !br->buf[1]) {
		free_reader(br);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "scan reader thread: no memory for two bands of %d rows of %zu "
		                   "bytes",
		                   max_rows, row_bytes);
	}
	memcpy(br->y0, y0, (size_t)count * sizeof *y0);
	memcpy(br->y1, y1, (size_t)count * sizeof *y1);
	br->count = count;
	br->width = width;
	br->row_bytes = row_bytes;
	br->read_rows = read_rows;
	br->fix = fix;
	br->user = user;
	int rc = pthread_create(&br->thread, NULL, reader_main, br);
	if (rc != 0) {
		free_reader(br);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan reader thread: cannot start: %s",
		                   strerror(rc));
	}
	*out = br;
	return SEMQR_OK;
}

semqr_status semqr__band_reader_wait(semqr__band_reader *br, int r, semqr__band *band,
                                     semqr_error *err)
{
	pthread_mutex_lock(&br->mu);
	while (br->filled <= r && br->st == SEMQR_OK)
		pthread_cond_wait(&br->cv, &br->mu);
	semqr_status st = br->filled > r ? SEMQR_OK : br->st;
	if (st != SEMQR_OK && err)
		*err = br->err;
	pthread_mutex_unlock(&br->mu);
	if (st == SEMQR_OK)
		*band = (semqr__band){br->buf[r % 2], br->row_bytes, br->y0[r], br->y1[r] - br->y0[r]};
	return st;
}

void semqr__band_reader_release(semqr__band_reader *br, int r)
{
	pthread_mutex_lock(&br->mu);
	if (r + 1 > br->released)
		br->released = r + 1;
	pthread_cond_broadcast(&br->cv);
	pthread_mutex_unlock(&br->mu);
}

void semqr__band_reader_stop(semqr__band_reader *br)
{
	if (!br)
		return;
	pthread_mutex_lock(&br->mu);
	br->quit = 1;
	pthread_cond_broadcast(&br->cv);
	pthread_mutex_unlock(&br->mu);
	pthread_join(br->thread, NULL);
	free_reader(br);
}
