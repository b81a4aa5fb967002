/* A frame stack read as one registered mean image (contracts in
 * pipeline/stack_rows.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "pipeline/pipeline_internal.h"
#include "pipeline/stack_rows.h"
#include "pipeline/stage_integrate.h"

#define CHUNK_MAX 1024

struct semqr__stack_rows {
	semqr_scan *scan;
	const semqr__drift *drift;
	semqr__cl_context *ctx;
	int scan_width, height, bits, pages, chunk;
	int width; /* columns per request at most */
	semqr__stack_margins margin;
	int nx, ny;           /* the drift field's node grid */
	int *frames;          /* pages integrated, frame 0 first */
	int nframes;
	float *nodes;         /* 2 nx ny, one frame's field at a time */
	void *window;         /* host copy of a frame window: (chunk + 2 margin.y) rows of
	                         at most slab(width) columns */
	float *sum, *weight;  /* host copies of the chunk's sums: chunk rows of width */
	cl_mem dwindow, dsum, dweight;
};

static size_t window_rows(int chunk, semqr__stack_margins m)
{
	return (size_t)chunk + 2 * (size_t)m.y;
}

/* Frame columns a request of `width` columns reads at most. */
static size_t slab(int width, int scan_width, semqr__stack_margins m)
{
	size_t w = (size_t)width + 2 * (size_t)m.x;
	return w < (size_t)scan_width ? w : (size_t)scan_width;
}

size_t semqr__stack_rows_bytes(int width, int scan_width, int bits, semqr__stack_margins m,
                               int chunk_rows)
{
	size_t b = (size_t)bits / 8, c = (size_t)chunk_rows;
	/* window on host and device, sum and weight on host and device */
	return 2 * slab(width, scan_width, m) * window_rows(chunk_rows, m) * b +
	       4 * (size_t)width * c * sizeof(float);
}

int semqr__stack_rows_chunk(int width, int scan_width, int bits, semqr__stack_margins m,
                            size_t budget)
{
	size_t fixed = semqr__stack_rows_bytes(width, scan_width, bits, m, 0);
	size_t per_row = semqr__stack_rows_bytes(width, scan_width, bits, m, 1) - fixed;
	if (budget <= fixed)
		return 0;
	size_t c = (budget - fixed) / per_row;
	if (c < SEMQR__STACK_CHUNK_MIN)
		return 0;
	return c > CHUNK_MAX ? CHUNK_MAX : (int)c;
}

int semqr__stack_rows_margins(const semqr__drift *drift, semqr__stack_margins *m)
{
	int nx, ny, frames = semqr__drift_frames(drift);
	semqr__drift_grid(drift, &nx, &ny);
	size_t nodes = (size_t)nx * (size_t)ny;
	float *f = malloc(2 * nodes * sizeof *f);
	if (!f)
		return -1;
	double most_x = 0.0, most_y = 0.0;
	/* The field interpolates its nodes bilinearly and is constant beyond
	 * them, so no shift exceeds the largest node. */
	for (int k = 1; k < frames; k++) {
		float x0, y0, sx, sy;
		semqr__drift_field(drift, k, f, &x0, &y0, &sx, &sy);
		for (size_t i = 0; i < nodes; i++) {
			most_x = fmax(most_x, fabs((double)f[2 * i]));
			most_y = fmax(most_y, fabs((double)f[2 * i + 1]));
		}
	}
	free(f);
	m->x = (int)ceil(most_x) + 2;
	m->y = (int)ceil(most_y) + 2;
	return 0;
}

void semqr__stack_rows_destroy(semqr__stack_rows *s)
{
	if (!s)
		return;
	if (s->dwindow)
		clReleaseMemObject(s->dwindow);
	if (s->dsum)
		clReleaseMemObject(s->dsum);
	if (s->dweight)
		clReleaseMemObject(s->dweight);
	semqr__cl_context_destroy(s->ctx);
	free(s->frames);
	free(s->nodes);
	free(s->window);
	free(s->sum);
	free(s->weight);
	free(s);
}

semqr_status semqr__stack_rows_create(semqr_scan *scan, const semqr__drift *drift,
                                      const semqr_cl_device_info *dev, int width, int chunk_rows,
                                      semqr__stack_rows **out, semqr_error *err)
{
	*out = NULL;
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	if (chunk_rows < SEMQR__STACK_CHUNK_MIN || info.pages != semqr__drift_frames(drift) ||
	    width < 1 || width > info.width)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "stack reader: chunks of %d rows (at least %d) and %d columns "
		                   "(1..%d), drift of %d frames for a scan of %d pages",
		                   chunk_rows, SEMQR__STACK_CHUNK_MIN, width, info.width,
		                   semqr__drift_frames(drift), info.pages);
	semqr__stack_rows *s = calloc(1, sizeof *s);
	if (!s)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "stack reader: out of memory");
	s->scan = scan;
	s->drift = drift;
	s->scan_width = info.width;
	s->height = info.height;
	s->bits = info.bits;
	s->pages = info.pages;
	s->width = width;
	s->chunk = chunk_rows;
	semqr__drift_grid(drift, &s->nx, &s->ny);
	if (semqr__stack_rows_margins(drift, &s->margin) < 0) {
		free(s);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "stack reader: out of memory");
	}

	size_t b = (size_t)s->bits / 8;
	size_t win = slab(width, s->scan_width, s->margin) * window_rows(s->chunk, s->margin) * b;
	size_t acc = (size_t)width * (size_t)s->chunk * sizeof(float);
	s->frames = malloc((size_t)s->pages * sizeof *s->frames);
	s->nodes = malloc((size_t)s->nx * (size_t)s->ny * 2 * sizeof *s->nodes);
	s->window = malloc(win);
	s->sum = malloc(acc);
	s->weight = malloc(acc);
	if (!s->frames || !s->nodes || !s->window || !s->sum || !s->weight) {
		semqr__stack_rows_destroy(s);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "stack reader: no memory for chunks of %d rows of %d pixels",
		                   chunk_rows, width);
	}
	for (int k = 0; k < s->pages; k++) {
		double dx, dy;
		if (k == 0 || semqr__drift_frame_shift(drift, k, &dx, &dy) > 0)
			s->frames[s->nframes++] = k;
	}
	semqr_status st = semqr__cl_context_create(dev, &s->ctx, err);
	if (st != SEMQR_OK) {
		semqr__stack_rows_destroy(s);
		return st;
	}
	cl_context c = semqr__cl_context_handle(s->ctx);
	cl_int e1, e2, e3;
	s->dwindow = clCreateBuffer(c, CL_MEM_READ_ONLY, win, NULL, &e1);
	s->dsum = clCreateBuffer(c, CL_MEM_READ_WRITE, acc, NULL, &e2);
	s->dweight = clCreateBuffer(c, CL_MEM_READ_WRITE, acc, NULL, &e3);
	cl_int e = e1 != CL_SUCCESS ? e1 : e2 != CL_SUCCESS ? e2 : e3;
	if (e != CL_SUCCESS) {
		semqr__stack_rows_destroy(s);
		return semqr__cl_fail(err, e,
		                      "stack reader on %s: clCreateBuffer for chunks of %d rows of "
		                      "%d pixels",
		                      dev->name, chunk_rows, width);
	}
	*out = s;
	return SEMQR_OK;
}

int semqr__stack_rows_frames(const semqr__stack_rows *s)
{
	return s->nframes;
}

/* Adds frame `page` to the device sums of columns [x0, x0 + w) of chunk
 * rows [y0, y0 + rows): the frame's part those need is read and handed to
 * the integrate stage as a frame whose origin is the part's first column. */
static semqr_status add_frame(semqr__stack_rows *s, int page, int x0, int w, int y0, int rows,
                              double *read_s, semqr_error *err)
{
	int sx0 = x0 - s->margin.x > 0 ? x0 - s->margin.x : 0;
	int sx1 = x0 + w + s->margin.x < s->scan_width ? x0 + w + s->margin.x : s->scan_width;
	int wy0 = y0 - s->margin.y > 0 ? y0 - s->margin.y : 0;
	int wy1 = y0 + rows + s->margin.y < s->height ? y0 + rows + s->margin.y : s->height;
	int sw = sx1 - sx0;
	size_t bytes = (size_t)sw * (size_t)(wy1 - wy0) * (size_t)(s->bits / 8);
	double t0 = semqr__now();
	semqr_status st = semqr_scan_read_region(s->scan, page, sx0, wy0, sw, wy1 - wy0, s->window,
	                                         (size_t)sw, err);
	*read_s += semqr__now() - t0;
	if (st != SEMQR_OK)
		return st;
	cl_int e = clEnqueueWriteBuffer(semqr__cl_queue(s->ctx), s->dwindow, CL_TRUE, 0, bytes,
	                                s->window, 0, NULL, NULL);
	if (e != CL_SUCCESS)
		return semqr__cl_fail(
		    err, e,
		    "stack reader on %s: writing columns %d..%d of rows %d..%d of "
		    "page %d",
		    semqr__cl_device_info(s->ctx)->name, sx0, sx1 - 1, wy0, wy1 - 1, page);
	semqr__shift_field field = {s->nx, s->ny, 0, 0, 1, 1, s->nodes};
	semqr__drift_field(s->drift, page, s->nodes, &field.x0, &field.y0, &field.step_x,
	                   &field.step_y);
	field.x0 -= (float)sx0;
	semqr__plane src = {s->dwindow, 0, sw, sw, wy1 - wy0};
	semqr__plane sum = {s->dsum, 0, w, w, rows};
	semqr__plane weight = {s->dweight, 0, w, w, rows};
	return semqr__stage_integrate(s->ctx, &src, s->bits, wy0, s->height, &field, x0 - sx0, y0,
	                              &sum, &weight, err);
}

/* Integrates columns [x0, x0 + w) of chunk rows [y0, y0 + rows) and writes
 * their mean to dst. */
static semqr_status chunk(semqr__stack_rows *s, int x0, int w, int y0, int rows, uint16_t *dst,
                          size_t dst_stride, double *read_s, semqr_error *err)
{
	cl_command_queue q = semqr__cl_queue(s->ctx);
	size_t n = (size_t)w * (size_t)rows;
	const float zero = 0.0f;
	cl_int e = clEnqueueFillBuffer(q, s->dsum, &zero, sizeof zero, 0, n * sizeof(float), 0,
	                               NULL, NULL);
	if (e == CL_SUCCESS)
		e = clEnqueueFillBuffer(q, s->dweight, &zero, sizeof zero, 0, n * sizeof(float), 0,
		                        NULL, NULL);
	if (e != CL_SUCCESS)
		return semqr__cl_fail(err, e, "stack reader on %s: clearing the sums of rows %d..%d",
		                      semqr__cl_device_info(s->ctx)->name, y0, y0 + rows - 1);
	for (int k = 0; k < s->nframes; k++) {
		semqr_status st = add_frame(s, s->frames[k], x0, w, y0, rows, read_s, err);
		if (st != SEMQR_OK)
			return st;
	}
	e = clEnqueueReadBuffer(q, s->dsum, CL_FALSE, 0, n * sizeof(float), s->sum, 0, NULL, NULL);
	if (e == CL_SUCCESS)
		e = clEnqueueReadBuffer(q, s->dweight, CL_TRUE, 0, n * sizeof(float), s->weight, 0,
		                        NULL, NULL);
	if (e != CL_SUCCESS)
		return semqr__cl_fail(err, e, "stack reader on %s: reading the sums of rows %d..%d",
		                      semqr__cl_device_info(s->ctx)->name, y0, y0 + rows - 1);
	/* Frame 0 is unshifted, so every weight is at least 1. */
	float scale = s->bits == 8 ? 256.0f : 1.0f;
	for (int y = 0; y < rows; y++) {
		const float *sr = s->sum + (size_t)y * (size_t)w;
		const float *wr = s->weight + (size_t)y * (size_t)w;
		uint16_t *o = dst + (size_t)y * dst_stride;
		for (int x = 0; x < w; x++) {
			float v = sr[x] * scale / wr[x] + 0.5f;
			o[x] = (uint16_t)(v < 65535.0f ? v : 65535.0f);
		}
	}
	return SEMQR_OK;
}

semqr_status semqr__stack_rows_read(semqr__stack_rows *s, int x0, int y0, int width, int rows,
                                    uint16_t *dst, size_t dst_stride, double *read_s,
                                    double *integrate_s, semqr_error *err)
{
	if (x0 < 0 || width < 1 || width > s->width || x0 + width > s->scan_width || y0 < 0 ||
	    rows < 0 || y0 + rows > s->height || dst_stride < (size_t)width)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "stack reader: columns %d..%d (at most %d) of rows %d..%d of a "
		                   "%d x %d scan, stride %zu",
		                   x0, x0 + width - 1, s->width, y0, y0 + rows - 1, s->scan_width,
		                   s->height, dst_stride);
	double t0 = semqr__now(), read = 0.0;
	semqr_status st = SEMQR_OK;
	for (int a = y0; a < y0 + rows && st == SEMQR_OK; a += s->chunk) {
		int n = y0 + rows - a < s->chunk ? y0 + rows - a : s->chunk;
		st = chunk(s, x0, width, a, n, dst + (size_t)(a - y0) * dst_stride, dst_stride,
		           &read, err);
	}
	*read_s += read;
	*integrate_s += semqr__now() - t0 - read;
	return st;
}
