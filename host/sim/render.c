/* Rendering: the image strip by strip, frame by frame.
 *
 * A strip of R rows needs the ideal scene on R + 2 pad rows and W + 2 pad
 * columns (pad = the probe's radius), each sampled at its own pixel time, so
 * strips overlap by their halo and never depend on one another. Threads
 * render consecutive strips at once; the sink receives them in order. Every
 * value is a pure function of (options, frame, row, column), so strip height
 * and thread count never change a byte.
 *
 * Memory per thread, in bytes, for width W and strip height R (pad P):
 *     4 (R + 2P)(W + 2P)  ideal scene
 *   + 4 R (W + 2P)        vertical pass of the probe
 *   + 4 R W               probe output
 *   + 2 R W               samples (16-bit)
 *   + 12 (W + 2P)         positions and scratch of one row
 *   + the symbols of the grid rows the strip reaches (semqr__sim_strip_reach;
 *     some 16 KB each at version 3).
 * Automatic strips hold about 4 Mi scene samples: some 40 MB per thread.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "sim/sim_internal.h"

#define AUTO_STRIP_SAMPLES (4L << 20)

void semqr__sim_release(semqr__sim *sim)
{
	free(sim->jump);
	free(sim->rim_table);
	free(sim->texture);
	free(sim->core_x.taps);
	free(sim->core_y.taps);
	free(sim->core_2d);
	free(sim->halo.taps);
	if (sim->payload_fd >= 0)
		close(sim->payload_fd);
	memset(sim, 0, sizeof *sim);
	sim->payload_fd = -1;
}

semqr_status semqr__sim_prepare(const semqr_sim_options *opts, semqr__sim *sim,
                                semqr_error *err)
{
	memset(sim, 0, sizeof *sim);
	sim->payload_fd = -1;
	if (!opts)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: no options");
	semqr_status st = semqr__sim_check_options(opts, err);
	if (st != SEMQR_OK)
		return st;
	sim->o = *opts;
	if ((st = semqr__sim_layout(sim, err)) != SEMQR_OK ||
	    (st = semqr__sim_instrument_prepare(sim, err)) != SEMQR_OK ||
	    (st = semqr__sim_scene_prepare(sim, err)) != SEMQR_OK) {
		semqr__sim_release(sim);
		return st;
	}
	return SEMQR_OK;
}

semqr_status semqr_sim_geometry(const semqr_sim_options *opts, int *width, int *height,
                                long *symbols, semqr_error *err)
{
	semqr__sim sim;
	memset(&sim, 0, sizeof sim);
	sim.payload_fd = -1;
	semqr_status st = semqr__sim_check_options(opts, err);
	if (st != SEMQR_OK)
		return st;
	sim.o = *opts;
	if ((st = semqr__sim_layout(&sim, err)) != SEMQR_OK)
		return st;
	if (width)
		*width = sim.width;
	if (height)
		*height = sim.height;
	if (symbols)
		*symbols = sim.symbols;
	return SEMQR_OK;
}

/* ---- one strip ---------------------------------------------------------- */

typedef struct worker {
	const semqr__sim *sim;
	float *ideal, *tmp, *blurred, *qx, *qy, *dev;
	void *samples;
	sim_cache cache;
	/* the job */
	int frame, y0, rows;
	semqr_status status;
	semqr_error err;
} worker;

static void worker_free(worker *w)
{
	free(w->ideal);
	free(w->tmp);
	free(w->blurred);
	free(w->qx);
	free(w->qy);
	free(w->dev);
	free(w->samples);
	semqr__sim_cache_free(&w->cache);
}

static semqr_status worker_init(worker *w, const semqr__sim *sim, int rows_max,
                                semqr_error *err)
{
	memset(w, 0, sizeof *w);
	w->sim = sim;
	size_t sw = (size_t)sim->width + 2 * sim->pad;
	w->ideal = malloc((size_t)(rows_max + 2 * sim->pad) * sw * sizeof(float));
	w->tmp = malloc((size_t)rows_max * sw * sizeof(float));
	w->blurred = malloc((size_t)rows_max * sim->width * sizeof(float));
	w->qx = malloc(sw * sizeof(float));
	w->qy = malloc(sw * sizeof(float));
	w->dev = malloc(sw * sizeof(float));
	w->samples = malloc((size_t)rows_max * sim->width * (sim->o.bits / 8));
	if (!w->ideal || !w->tmp || !w->blurred || !w->qx || !w->qy || !w->dev || !w->samples) {
		worker_free(w);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for strips of "
		                   "%d rows of %d pixels", rows_max, sim->width);
	}
	return SEMQR_OK;
}

/* Moves a blurred row by the line's jitter: row(x) becomes row(x + jit),
 * Catmull-Rom cubic interpolation, the end pixels repeated (see
 * instrument.c); tmp holds n floats. */
static void jitter_row(float *row, int n, double jit, float *tmp)
{
	if (jit == 0.0)
		return;
	double fl = floor(jit);
	int k = (int)fl;
	float t = (float)(jit - fl), t2 = t * t, t3 = t2 * t;
	float c0 = -0.5f * t3 + t2 - 0.5f * t, c1 = 1.5f * t3 - 2.5f * t2 + 1.0f;
	float c2 = -1.5f * t3 + 2.0f * t2 + 0.5f * t, c3 = 0.5f * t3 - 0.5f * t2;
	memcpy(tmp, row, (size_t)n * sizeof *tmp);
	for (int x = 0; x < n; x++) {
		int i = x + k;
		int a = i - 1 < 0 ? 0 : i - 1 >= n ? n - 1 : i - 1;
		int b = i < 0 ? 0 : i >= n ? n - 1 : i;
		int c = i + 1 < 0 ? 0 : i + 1 >= n ? n - 1 : i + 1;
		int d = i + 2 < 0 ? 0 : i + 2 >= n ? n - 1 : i + 2;
		row[x] = c0 * tmp[a] + c1 * tmp[b] + c2 * tmp[c] + c3 * tmp[d];
	}
}

static semqr_status render_strip(worker *w)
{
	const semqr__sim *sim = w->sim;
	const int W = sim->width, P = sim->pad, sw = W + 2 * P;
	double y0_nm, y1_nm;
	semqr__sim_strip_reach(sim, w->frame, w->y0, w->y0 + w->rows, &y0_nm, &y1_nm);
	semqr_status st = semqr__sim_cache_cover(sim, &w->cache, y0_nm, y1_nm, &w->err);
	if (st != SEMQR_OK)
		return st;
	for (int j = 0; j < w->rows + 2 * P; j++) {
		int y = w->y0 - P + j;
		semqr__sim_row_positions(sim, w->frame, y, -P, sw, w->qx, w->qy);
		semqr__sim_ideal_row(sim, &w->cache, -P, sw, w->qx, w->qy, w->dev,
		                     w->ideal + (size_t)j * sw);
	}
	semqr__sim_blur(sim, w->ideal, w->rows, w->tmp, w->blurred);
	for (int j = 0; j < w->rows; j++)
		jitter_row(w->blurred + (size_t)j * W, W,
		           semqr__sim_line_jitter(sim, w->frame, w->y0 + j), w->tmp);
	size_t row_bytes = (size_t)W * (sim->o.bits / 8);
	for (int j = 0; j < w->rows; j++)
		semqr__sim_detect_row(sim, w->frame, w->y0 + j, w->blurred + (size_t)j * W,
		                      (uint8_t *)w->samples + j * row_bytes);
	return SEMQR_OK;
}

static void *worker_run(void *arg)
{
	worker *w = arg;
	w->status = render_strip(w);
	return NULL;
}

/* ---- the whole image ---------------------------------------------------- */

static int strip_rows(const semqr__sim *sim)
{
	if (sim->o.strip_rows > 0)
		return sim->o.strip_rows < sim->height ? sim->o.strip_rows : sim->height;
	long sw = sim->width + 2L * sim->pad;
	long rows = AUTO_STRIP_SAMPLES / sw - 2L * sim->pad;
	rows = rows < 16 ? 16 : rows > 256 ? 256 : rows;
	return rows < sim->height ? (int)rows : sim->height;
}

semqr_status semqr__sim_render(const semqr__sim *sim, semqr_sim_sink sink, void *user,
                               semqr_error *err)
{
	const int R = strip_rows(sim);
	int nthreads = sim->o.threads;
	int strips = (sim->height + R - 1) / R;
	if (nthreads > strips)
		nthreads = strips;
	worker *w = calloc((size_t)nthreads, sizeof *w);
	if (!w)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for workers");
	semqr_status st = SEMQR_OK;
	int ready = 0;
	for (; ready < nthreads && st == SEMQR_OK; ready++)
		st = worker_init(&w[ready], sim, R, err);
	if (st != SEMQR_OK)
		ready--;
	for (int f = 0; f < sim->o.frames && st == SEMQR_OK; f++) {
		for (int s0 = 0; s0 < strips && st == SEMQR_OK; s0 += nthreads) {
			int batch = strips - s0 < nthreads ? strips - s0 : nthreads;
			pthread_t tid[64];
			int started[64] = {0};
			for (int k = 0; k < batch; k++) {
				w[k].frame = f;
				w[k].y0 = (s0 + k) * R;
				w[k].rows = sim->height - w[k].y0 < R ? sim->height - w[k].y0 : R;
				w[k].status = SEMQR_OK;
				if (k > 0 && pthread_create(&tid[k], NULL, worker_run, &w[k]) == 0)
					started[k] = 1;
			}
			for (int k = 0; k < batch; k++)
				if (!started[k])
					worker_run(&w[k]); /* the calling thread, or a thread that failed */
			for (int k = 1; k < batch; k++)
				if (started[k])
					pthread_join(tid[k], NULL);
			for (int k = 0; k < batch && st == SEMQR_OK; k++) {
				if (w[k].status != SEMQR_OK) {
					st = w[k].status;
					if (err)
						*err = w[k].err;
					break;
				}
				st = sink(user, f, w[k].y0, w[k].rows, sim->width, w[k].samples, err);
			}
		}
	}
	for (int k = 0; k < ready; k++)
		worker_free(&w[k]);
	free(w);
	return st;
}

semqr_status semqr_sim_render(const semqr_sim_options *opts, semqr_sim_sink sink, void *user,
                              semqr_error *err)
{
	if (!sink)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: no sink for the strips");
	semqr__sim sim;
	semqr_status st = semqr__sim_prepare(opts, &sim, err);
	if (st != SEMQR_OK)
		return st;
	st = semqr__sim_render(&sim, sink, user, err);
	semqr__sim_release(&sim);
	return st;
}
