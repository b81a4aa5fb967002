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
	int *x0, *x1, groups; /* the grid's copies */
	int *y0, *y1, rows;
	size_t pixel_bytes;
	unsigned char *buf[2];
	semqr__read_region_fn read;
	semqr__band_fix_fn fix;
	void *user;
	/* Under mu: */
	int filled;   /* bands 0 .. filled - 1 are ready */
	int released; /* bands 0 .. released - 1 were given back */
	int quit;
	semqr_status st; /* the reader's error, with err */
	semqr_error err;
};

/* The largest difference hi[i] - lo[i] over n entries. */
static int widest(const int *lo, const int *hi, int n)
{
	int most = 0;
	for (int i = 0; i < n; i++)
		most = hi[i] - lo[i] > most ? hi[i] - lo[i] : most;
	return most;
}

/* Pixels of one band buffer. */
static size_t buffer_pixels(const semqr__band_grid *g)
{
	return (size_t)widest(g->x0, g->x1, g->groups) * (size_t)widest(g->y0, g->y1, g->rows);
}

size_t semqr__band_reader_bytes(const semqr__band_grid *grid, size_t pixel_bytes)
{
	return 2 * buffer_pixels(grid) * pixel_bytes;
}

/* Fills buffer b % 2 with band b: the rows shared with band b - 1 (when of
 * the same group) copied from the other buffer, the rest read. */
static semqr_status fill(semqr__band_reader *br, int b, semqr_error *err)
{
	unsigned char *dst = br->buf[b % 2];
	int g = b / br->rows, r = b % br->rows;
	int x0 = br->x0[g], width = br->x1[g] - x0, y0 = br->y0[r], y1 = br->y1[r], from = y0;
	size_t row_bytes = (size_t)width * br->pixel_bytes;
	if (r > 0) {
		int p0 = br->y0[r - 1], p1 = br->y1[r - 1];
		if (from >= p0 && from < p1) {
			int to = y1 < p1 ? y1 : p1;
			memcpy(dst, br->buf[(b - 1) % 2] + (size_t)(from - p0) * row_bytes,
			       (size_t)(to - from) * row_bytes);
			from = to;
		}
	}
	if (y1 <= from)
		return SEMQR_OK;
	semqr_status st = br->read(br->user, x0, from, width, y1 - from,
	                           dst + (size_t)(from - y0) * row_bytes, (size_t)width, err);
	if (st == SEMQR_OK && br->fix)
		br->fix(br->user, dst, row_bytes, x0, width, y0, y1 - y0, from - y0);
	return st;
}

static void *reader_main(void *arg)
{
	semqr__band_reader *br = arg;
	for (int b = 0; b < br->groups * br->rows; b++) {
		pthread_mutex_lock(&br->mu);
		while (!br->quit && b - br->released >= 2)
			pthread_cond_wait(&br->cv, &br->mu);
		int quit = br->quit;
		pthread_mutex_unlock(&br->mu);
		if (quit)
			break;
		semqr_error err;
		semqr_status st = fill(br, b, &err);
		pthread_mutex_lock(&br->mu);
		if (st == SEMQR_OK) {
			br->filled = b + 1;
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
	free(br->x0);
	free(br->x1);
	free(br->y0);
	free(br->y1);
	free(br->buf[0]);
	free(br->buf[1]);
	pthread_cond_destroy(&br->cv);
	pthread_mutex_destroy(&br->mu);
	free(br);
}

/* A malloc'd copy of n ints, or NULL. */
static int *copy_ints(const int *v, int n)
{
	int *c = malloc((size_t)n * sizeof *c);
	if (c)
		memcpy(c, v, (size_t)n * sizeof *c);
	return c;
}

semqr_status semqr__band_reader_start(const semqr__band_grid *grid, size_t pixel_bytes,
                                      semqr__read_region_fn read, semqr__band_fix_fn fix,
                                      void *user, semqr__band_reader **out, semqr_error *err)
{
	*out = NULL;
	semqr__band_reader *br = calloc(1, sizeof *br);
	if (!br)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan reader thread: out of memory");
	pthread_mutex_init(&br->mu, NULL);
	pthread_cond_init(&br->cv, NULL);
	size_t pixels = buffer_pixels(grid);
	br->x0 = copy_ints(grid->x0, grid->groups);
	br->x1 = copy_ints(grid->x1, grid->groups);
	br->y0 = copy_ints(grid->y0, grid->rows);
	br->y1 = copy_ints(grid->y1, grid->rows);
	br->buf[0] = malloc(pixels * pixel_bytes);
	br->buf[1] = malloc(pixels * pixel_bytes);
	if (!br->x0 || !br->x1 || !br->y0 || !br->y1 || !br->buf[0] || !br->buf[1]) {
		free_reader(br);
		return semqr__fail(
		    err, SEMQR_ERR_NO_MEMORY,
		    "scan reader thread: no memory for two bands of %zu pixels of %zu "
		    "bytes",
		    pixels, pixel_bytes);
	}
	br->groups = grid->groups;
	br->rows = grid->rows;
	br->pixel_bytes = pixel_bytes;
	br->read = read;
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

semqr_status semqr__band_reader_wait(semqr__band_reader *br, int b, semqr__band *band,
                                     semqr_error *err)
{
	pthread_mutex_lock(&br->mu);
	while (br->filled <= b && br->st == SEMQR_OK)
		pthread_cond_wait(&br->cv, &br->mu);
	semqr_status st = br->filled > b ? SEMQR_OK : br->st;
	if (st != SEMQR_OK && err)
		*err = br->err;
	pthread_mutex_unlock(&br->mu);
	if (st == SEMQR_OK) {
		int g = b / br->rows, r = b % br->rows, width = br->x1[g] - br->x0[g];
		*band = (semqr__band){br->buf[b % 2], (size_t)width * br->pixel_bytes,
		                      br->x0[g],      width,
		                      br->y0[r],      br->y1[r] - br->y0[r]};
	}
	return st;
}

void semqr__band_reader_release(semqr__band_reader *br, int b)
{
	pthread_mutex_lock(&br->mu);
	if (b + 1 > br->released)
		br->released = b + 1;
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
