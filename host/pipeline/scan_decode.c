/* One tile of a scan through the whole chain: upload, the device stages,
 * read-back of the finder runs and mapping of the denoised and flattened
 * context for a slot, then on the CPU finder clustering, grouping, geometry,
 * soft sampling and decoding, and the report (layout and contracts in
 * pipeline/pipeline_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error_internal.h"
#include "pipeline/pipeline_internal.h"

/* The device stage writes semqr__finder_candidate, the locator reads
 * semqr__run_candidate: the same five 4-byte members in the same order. */
_Static_assert(sizeof(semqr__finder_candidate) == sizeof(semqr__run_candidate) &&
                   offsetof(semqr__finder_candidate, module) ==
                       offsetof(semqr__run_candidate, module) &&
                   offsetof(semqr__finder_candidate, axis) == offsetof(semqr__run_candidate, axis),
               "finder candidates and run candidates must share their layout");

double semqr__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Pixels of the largest tile buffer (scan pixels, the input) and of the
 * largest detect buffer (the device's float and binary images). */
static size_t buffer_pixels(const semqr__scan_plan *plan)
{
	return (size_t)plan->buf_w * (size_t)plan->buf_h;
}

static size_t detect_pixels(const semqr__scan_plan *plan)
{
	return (size_t)plan->dbuf_w * (size_t)plan->dbuf_h;
}

/* Host bytes of a slot's candidate, finder and triplet arrays. */
static size_t candidate_bytes(int capacity)
{
	return (size_t)capacity * sizeof(semqr__finder_candidate) +
	       ((size_t)capacity / 2 + 1) * sizeof(semqr__finder) +
	       ((size_t)capacity / 6 + 2) * sizeof(semqr__triplet);
}

size_t semqr__device_bytes(const semqr__scan_plan *plan)
{
	/* Input (mapped for the host), the binary image, the scratch (a float
	 * image), the candidates; the slots' float images count as theirs. */
	size_t in = (size_t)plan->bits / 8;
	return buffer_pixels(plan) * in + detect_pixels(plan) * (sizeof(float) + 1) +
	       (size_t)SEMQR__CANDIDATES_INITIAL * sizeof(semqr__finder_candidate);
}

size_t semqr__slot_bytes(const semqr__scan_plan *plan)
{
	/* The slot's pair of device images (mapped for the decoders), its
	 * candidate arrays and its soft matrix. */
	return detect_pixels(plan) * 2 * sizeof(float) + candidate_bytes(SEMQR__CANDIDATES_INITIAL) +
	       (size_t)SEMQR_SIZE_MAX * SEMQR_SIZE_MAX * sizeof(float);
}

static semqr_status device_buffer(semqr__cl_context *ctx, cl_mem_flags flags, size_t bytes,
                                  cl_mem *out, semqr_error *err)
{
	cl_int cst;
	*out = clCreateBuffer(semqr__cl_context_handle(ctx), flags, bytes, NULL, &cst);
	if (cst != CL_SUCCESS) {
		*out = NULL;
		return semqr__cl_fail(err, cst, "scan decoder on %s: clCreateBuffer(%zu bytes)",
		                      semqr__cl_device_info(ctx)->name, bytes);
	}
	return SEMQR_OK;
}

static void release(cl_mem *m)
{
	if (*m)
		clReleaseMemObject(*m);
	*m = NULL;
}

/* Maps the input buffer for the host to write the next tile into: d->host_in. */
static semqr_status map_input(semqr__tile_device *d, size_t bytes, semqr_error *err)
{
	cl_int cst;
	d->host_in = clEnqueueMapBuffer(semqr__cl_queue(d->ctx), d->in, CL_TRUE,
	                                CL_MAP_WRITE_INVALIDATE_REGION, 0, bytes, 0, NULL, NULL,
	                                &cst);
	if (cst != CL_SUCCESS) {
		d->host_in = NULL;
		return semqr__cl_fail(err, cst, "scan decoder on %s: clEnqueueMapBuffer(tile input)",
		                      semqr__cl_device_info(d->ctx)->name);
	}
	return SEMQR_OK;
}

/* Unmaps d->host_in (when mapped) before the device reads the input. */
static semqr_status unmap_input(semqr__tile_device *d, semqr_error *err)
{
	if (!d->host_in)
		return SEMQR_OK;
	cl_int cst =
	    clEnqueueUnmapMemObject(semqr__cl_queue(d->ctx), d->in, d->host_in, 0, NULL, NULL);
	d->host_in = NULL;
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst,
		                      "scan decoder on %s: clEnqueueUnmapMemObject(tile input)",
		                      semqr__cl_device_info(d->ctx)->name);
	return SEMQR_OK;
}

/* Unmaps slot k's pair of images when mapped (enqueued: the queue's next
 * commands run after it). */
static semqr_status unmap_pair(semqr__tile_device *d, int k, semqr_error *err)
{
	cl_mem mem[2] = {d->a[k], d->b[k]};
	void **map[2] = {&d->map_a[k], &d->map_b[k]};
	semqr_status st = SEMQR_OK;
	for (int m = 0; m < 2; m++) {
		if (!*map[m])
			continue;
		cl_int cst =
		    clEnqueueUnmapMemObject(semqr__cl_queue(d->ctx), mem[m], *map[m], 0, NULL, NULL);
		*map[m] = NULL;
		if (cst != CL_SUCCESS && st == SEMQR_OK)
			st = semqr__cl_fail(err, cst,
			                    "scan decoder on %s: clEnqueueUnmapMemObject(slot %d images)",
			                    semqr__cl_device_info(d->ctx)->name, k);
	}
	return st;
}

/* Maps slot k's pair of images, `bytes` of each, for reading (waits). */
static semqr_status map_pair(semqr__tile_device *d, int k, size_t bytes, semqr_error *err)
{
	cl_mem mem[2] = {d->a[k], d->b[k]};
	void **map[2] = {&d->map_a[k], &d->map_b[k]};
	for (int m = 0; m < 2; m++) {
		cl_int cst;
		*map[m] = clEnqueueMapBuffer(semqr__cl_queue(d->ctx), mem[m], CL_TRUE, CL_MAP_READ, 0,
		                             bytes, 0, NULL, NULL, &cst);
		if (cst != CL_SUCCESS) {
			*map[m] = NULL;
			return semqr__cl_fail(err, cst,
			                      "scan decoder on %s: clEnqueueMapBuffer(slot %d images)",
			                      semqr__cl_device_info(d->ctx)->name, k);
		}
	}
	return SEMQR_OK;
}

void semqr__device_destroy(semqr__tile_device *d)
{
	if (d->ctx) {
		semqr_error ignored;
		unmap_input(d, &ignored);
		for (int k = 0; d->map_a && k < d->slots; k++)
			unmap_pair(d, k, &ignored);
		clFinish(semqr__cl_queue(d->ctx));
	}
	release(&d->in);
	for (int k = 0; d->a && k < d->slots; k++) {
		release(&d->a[k]);
		release(&d->b[k]);
	}
	free(d->a);
	free(d->b);
	free(d->map_a);
	free(d->map_b);
	release(&d->bin);
	release(&d->scratch);
	release(&d->dcands);
	release(&d->count);
	semqr__cl_context_destroy(d->ctx);
	memset(d, 0, sizeof *d);
}

semqr_status semqr__device_create(const semqr__scan_plan *plan, const semqr_cl_device_info *dev,
                                  semqr__tile_device *d, semqr_error *err)
{
	memset(d, 0, sizeof *d);
	semqr_status st = semqr__cl_context_create(dev, &d->ctx, err);
	if (st != SEMQR_OK)
		return st;
	size_t px = detect_pixels(plan), in_bytes = buffer_pixels(plan) * (size_t)(plan->bits / 8);
	/* The scratch serves denoise and binarize, both of which need a float
	 * image of at most the detect buffer's size. */
	const cl_mem_flags rw = CL_MEM_READ_WRITE;
	d->slots = semqr__device_slots(plan);
	d->a = calloc((size_t)d->slots, sizeof *d->a);
	d->b = calloc((size_t)d->slots, sizeof *d->b);
	d->map_a = calloc((size_t)d->slots, sizeof *d->map_a);
	d->map_b = calloc((size_t)d->slots, sizeof *d->map_b);
	if (!d->a || !d->b || !d->map_a || !d->map_b) {
		semqr__device_destroy(d);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: no memory for %d slots",
		                   semqr__device_slots(plan));
	}
	for (int k = 0; k < d->slots && st == SEMQR_OK; k++)
		if ((st = device_buffer(d->ctx, rw | CL_MEM_ALLOC_HOST_PTR, px * sizeof(float), &d->a[k],
		                        err)) == SEMQR_OK)
			st = device_buffer(d->ctx, rw | CL_MEM_ALLOC_HOST_PTR, px * sizeof(float), &d->b[k],
			                   err);
	if (st != SEMQR_OK ||
	    (st = device_buffer(d->ctx, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, in_bytes, &d->in,
	                        err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, rw, px, &d->bin, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, rw, px * sizeof(float), &d->scratch, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, rw, sizeof(cl_int), &d->count, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, rw,
	                        (size_t)SEMQR__CANDIDATES_INITIAL * sizeof(semqr__finder_candidate),
	                        &d->dcands, err)) != SEMQR_OK ||
	    (st = map_input(d, in_bytes, err)) != SEMQR_OK) {
		semqr__device_destroy(d);
		return st;
	}
	d->capacity = SEMQR__CANDIDATES_INITIAL;
	return SEMQR_OK;
}

/* (Re)allocates a slot's candidate arrays for `capacity`. */
static semqr_status slot_capacity(semqr__tile_slot *s, int capacity, semqr_error *err)
{
	free(s->cands);
	free(s->finders);
	free(s->triplets);
	s->cands = malloc((size_t)capacity * sizeof *s->cands);
	s->finders = malloc(((size_t)capacity / 2 + 1) * sizeof *s->finders);
	s->triplets = malloc(((size_t)capacity / 6 + 2) * sizeof *s->triplets);
	s->capacity = capacity;
	if (!s->cands || !s->finders || !s->triplets) {
		s->capacity = 0;
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "scan decoder: no memory for %d finder candidates", capacity);
	}
	return SEMQR_OK;
}

void semqr__slot_free(semqr__tile_slot *s)
{
	free(s->cands);
	free(s->finders);
	free(s->triplets);
	free(s->dark);
	free(s->results);
	memset(s, 0, sizeof *s);
}

semqr_status semqr__slot_init(semqr__tile_slot *s, semqr_error *err)
{
	memset(s, 0, sizeof *s);
	s->dark = malloc((size_t)SEMQR_SIZE_MAX * SEMQR_SIZE_MAX * sizeof(float));
	semqr_status st = SEMQR_OK;
	if (!s->dark)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                 "scan decoder: no memory for a slot's soft matrix");
	if (st == SEMQR_OK)
		st = slot_capacity(s, SEMQR__CANDIDATES_INITIAL, err);
	if (st != SEMQR_OK)
		semqr__slot_free(s);
	return st;
}

/* Waits for everything enqueued on w's queue. */
static semqr_status finish(semqr__tile_device *w, const semqr__tile *tile, semqr_error *err)
{
	cl_int cst = clFinish(semqr__cl_queue(w->ctx));
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "scan decoder on %s: tile (%d, %d): clFinish",
		                      semqr__cl_device_info(w->ctx)->name, tile->col, tile->row);
	return SEMQR_OK;
}

/* The chain of device stages of one tile, enqueued back to back: each
 * kernel under its stage's label (cl/cl_internal.h: semqr__cl_stage), so
 * that the queue runs them without the host waiting in between and the
 * profiling events time them afterwards. Nothing here waits. A and B are
 * slot k's images. At scale 2 the tile is binned into the scratch (the load
 * stage), then flattened from it (the scratch, used by every tile, stays in
 * the caches; denoise and binarize reuse it later). */
static semqr_status enqueue_stages(semqr__tile_device *w, const semqr__scan_plan *plan,
                                   const semqr__tile *tile, int k, semqr_error *err)
{
	int sbw = tile->ctx_w + 2 * plan->pad, sbh = tile->ctx_h + 2 * plan->pad;
	int bw = tile->det_w + 2 * plan->dpad, bh = tile->det_h + 2 * plan->dpad;
	int rd = plan->rd, p = plan->dpad;
	semqr__plane in = {w->in, 0, sbw, sbw, sbh};
	semqr__plane binned = {w->scratch, 0, bw, bw, bh};
	semqr__plane b = {w->b[k], 0, bw, bw, bh};
	semqr__plane din = {w->b[k], (size_t)rd * (size_t)bw + (size_t)rd, bw, bw - 2 * rd,
	                    bh - 2 * rd};
	semqr__plane dout = din;
	dout.mem = w->a[k];
	size_t ctx_origin = (size_t)p * (size_t)bw + (size_t)p;
	semqr__plane grey = {w->a[k], ctx_origin, bw, tile->det_w, tile->det_h};
	semqr__plane bin = {w->bin, ctx_origin, bw, tile->det_w, tile->det_h};
	semqr_status st;
	if (plan->scale == 2) {
		semqr__cl_stage(w->ctx, SEMQR_STAGE_LOAD);
		st = semqr__stage_bin2(w->ctx, &in, plan->bits, 0.0f, 0.0f, &binned, err);
		if (st == SEMQR_OK) {
			semqr__cl_stage(w->ctx, SEMQR_STAGE_FLATTEN);
			st = semqr__stage_flatten(w->ctx, &binned, plan->flatten_block, 0, 1e-6f, &b,
			                          err);
		}
	} else {
		/* Load and flatten in one stage (its time counts as flatten's). */
		semqr__cl_stage(w->ctx, SEMQR_STAGE_FLATTEN);
		st = semqr__stage_load_flatten(w->ctx, &in, plan->bits, plan->flatten_block, 0, 1e-6f,
		                               &b, err);
	}
	if (st == SEMQR_OK) {
		semqr__cl_stage(w->ctx, SEMQR_STAGE_DENOISE);
		st = semqr__stage_denoise(w->ctx, &din, plan->sigma, rd, w->scratch, &dout, err);
	}
	if (st == SEMQR_OK) {
		semqr__cl_stage(w->ctx, SEMQR_STAGE_BINARIZE);
		st = semqr__stage_binarize(w->ctx, &grey, plan->rb, 0.0f, w->scratch, &bin, err);
	}
	if (st == SEMQR_OK) {
		semqr__cl_stage(w->ctx, SEMQR_STAGE_FINDER);
		st = semqr__stage_finder(w->ctx, &bin, &grey, &plan->finder, w->dcands, w->capacity,
		                         w->count, err);
	}
	semqr__cl_stage(w->ctx, -1);
	return st;
}

/* Grows the device's candidate buffer (and the slot's arrays) to hold
 * `found` and more, after an overflow. */
static semqr_status grow_candidates(semqr__tile_device *w, const semqr__tile *tile,
                                    semqr__tile_slot *slot, int found, semqr_error *err)
{
	if (found > INT32_MAX / 2)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "scan decoder: tile (%d, %d): %d finder candidates", tile->col,
		                   tile->row, found);
	int capacity = found + found / 4;
	release(&w->dcands);
	w->capacity = 0;
	semqr_status st =
	    device_buffer(w->ctx, CL_MEM_READ_WRITE,
	                  (size_t)capacity * sizeof(semqr__finder_candidate), &w->dcands, err);
	if (st != SEMQR_OK)
		return st;
	w->capacity = capacity;
	return slot_capacity(slot, capacity, err);
}

semqr_status semqr__device_run(semqr__tile_device *w, const semqr__scan_plan *plan,
                               const semqr__tile *tile, int k, semqr__tile_slot *slot,
                               semqr_scan_summary *sum, semqr_error *err)
{
	slot->tile = *tile;
	slot->found = 0;
	slot->grey = slot->flat = NULL;
	if (slot->capacity < w->capacity) {
		semqr_status st = slot_capacity(slot, w->capacity, err);
		if (st != SEMQR_OK)
			return st;
	}
	/* The tile is in the mapped input buffer: unmapping hands it over; the
	 * slot's images, mapped for its last tile's decoders, go back to the
	 * device as well. */
	double t = semqr__now();
	semqr_status st = unmap_input(w, err);
	if (st == SEMQR_OK)
		st = unmap_pair(w, k, err);
	if (st != SEMQR_OK)
		return st;
	double t_chain = semqr__now();
	sum->seconds[SEMQR_STAGE_UPLOAD] += t_chain - t;

	/* The whole chain and the finder runs' read-back, then one wait. */
	cl_int found = 0;
	st = enqueue_stages(w, plan, tile, k, err);
	if (st == SEMQR_OK)
		st = semqr__finder_read_enqueue(w->ctx, w->dcands, w->capacity, w->count, slot->cands,
		                                &found, err);
	if (st == SEMQR_OK)
		st = finish(w, tile, err);
	/* Finder runs overflowed: the buffers grow to what was found and the
	 * stage runs again (the binary image is still on the device). */
	while (st == SEMQR_OK && found > w->capacity) {
		st = grow_candidates(w, tile, slot, found, err);
		if (st != SEMQR_OK)
			break;
		int bw = tile->det_w + 2 * plan->dpad;
		size_t ctx_origin = (size_t)plan->dpad * (size_t)bw + (size_t)plan->dpad;
		semqr__plane grey = {w->a[k], ctx_origin, bw, tile->det_w, tile->det_h};
		semqr__plane bin = {w->bin, ctx_origin, bw, tile->det_w, tile->det_h};
		semqr__cl_stage(w->ctx, SEMQR_STAGE_FINDER);
		st = semqr__stage_finder(w->ctx, &bin, &grey, &plan->finder, w->dcands, w->capacity,
		                         w->count, err);
		semqr__cl_stage(w->ctx, -1);
		if (st == SEMQR_OK)
			st = semqr__finder_read_enqueue(w->ctx, w->dcands, w->capacity, w->count,
			                                slot->cands, &found, err);
		if (st == SEMQR_OK)
			st = finish(w, tile, err);
	}
	/* The contexts for the decoders, where the device left them: the
	 * buffer's rows of bw floats, the context dpad rows and columns in. */
	int bw = tile->det_w + 2 * plan->dpad, bh = tile->det_h + 2 * plan->dpad;
	if (st == SEMQR_OK)
		st = map_pair(w, k, (size_t)bw * (size_t)bh * sizeof(float), err);
	if (st == SEMQR_OK) {
		size_t ctx_origin = (size_t)plan->dpad * (size_t)bw + (size_t)plan->dpad;
		slot->grey = (const float *)w->map_a[k] + ctx_origin;
		slot->flat = (const float *)w->map_b[k] + ctx_origin;
		slot->stride = bw;
	}
	/* The input is free again: map it for the next tile. */
	if (st == SEMQR_OK)
		st = map_input(w, buffer_pixels(plan) * (size_t)(plan->bits / 8), err);
	semqr_error terr;
	semqr_status tst =
	    semqr__cl_stage_times(w->ctx, sum->seconds, SEMQR_STAGE_COUNT, NULL, &terr);
	if (st == SEMQR_OK && tst != SEMQR_OK) {
		st = tst;
		if (err)
			*err = terr;
	}
	if (st != SEMQR_OK)
		return st;
	slot->found = found;
	sum->seconds_device_wait += semqr__now() - t_chain;
	sum->candidates += found;
	return SEMQR_OK;
}

/* Fills the geometry of *s from the located symbol of triplet t, in scan
 * coordinates. */
static void describe(const semqr__located *loc, const semqr__finder *finders,
                     const semqr__triplet *t, const semqr__scan_plan *plan,
                     const semqr__tile *tile, semqr_scan_symbol *s)
{
	/* Locator pixels (detect pixels of the context) have their centres at
	 * integers, detect pixel i covering scan pixels ctx_x0 + s i .. + s - 1;
	 * scan pixels cover [x, x + 1): x = ctx_x0 + s u + s / 2. */
	double sc = plan->scale;
	double ox = tile->ctx_x0 + 0.5 * sc, oy = tile->ctx_y0 + 0.5 * sc;
	for (int k = 0; k < 4; k++) {
		s->corners_px[k][0] = sc * loc->corners[k][0] + ox;
		s->corners_px[k][1] = sc * loc->corners[k][1] + oy;
	}
	double cx, cy, half = 0.5 * loc->size;
	semqr__homography_apply(loc->h, half, half, &cx, &cy);
	s->center_px[0] = sc * cx + ox;
	s->center_px[1] = sc * cy + oy;
	const int idx[3] = {t->tl, t->tr, t->bl};
	for (int k = 0; k < 3; k++) {
		s->finders_px[k][0] = sc * finders[idx[k]].x + ox;
		s->finders_px[k][1] = sc * finders[idx[k]].y + oy;
	}
	double sides = 0.0;
	for (int k = 0; k < 4; k++)
		sides += hypot(s->corners_px[(k + 1) % 4][0] - s->corners_px[k][0],
		               s->corners_px[(k + 1) % 4][1] - s->corners_px[k][1]);
	s->module_px = sides / (4.0 * loc->size);
	s->has_nm = plan->pixel_nm > 0.0;
	s->center_nm[0] = s->center_px[0] * plan->pixel_nm;
	s->center_nm[1] = s->center_px[1] * plan->pixel_nm;
	s->module_nm = s->module_px * plan->pixel_nm;
	s->version = loc->version;
	s->polarity = loc->polarity;
	s->timing = loc->timing;
	s->tile_col = tile->col;
	s->tile_row = tile->row;
}

/* One located symbol of a tile, waiting to be reported: decoded, or a
 * failure still pending until the grouping ends (see tile_check). */
struct semqr__tile_result {
	semqr_scan_symbol s;
	semqr_decoded d;
	semqr_error e;
	semqr__triplet t; /* whose finders it takes */
};

/* Whether (x, y) lies inside the quadrilateral q (convex, either winding). */
static int in_quad(const double q[4][2], double x, double y)
{
	int pos = 0, neg = 0;
	for (int k = 0; k < 4; k++) {
		const double *a = q[k], *b = q[(k + 1) % 4];
		double c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
		pos |= c > 0.0;
		neg |= c < 0.0;
	}
	return !(pos && neg);
}

/* Whether the scan point (x, y) lies in the tile's core. */
static int in_core(const semqr__tile *tile, double x, double y)
{
	return x >= tile->core_x0 && x < tile->core_x1 && y >= tile->core_y0 && y < tile->core_y1;
}

/* Orders run candidates by axis, line, position along the line, polarity
 * and module size: the device stores them in whatever order its work-items
 * finish, and the clustering's output order (hence the report's) follows
 * its input's. */
static int by_line(const void *pa, const void *pb)
{
	const semqr__finder_candidate *a = pa, *b = pb;
	if (a->axis != b->axis)
		return a->axis < b->axis ? -1 : 1;
	float ka[4] = {a->y, a->x, (float)a->polarity, a->module};
	float kb[4] = {b->y, b->x, (float)b->polarity, b->module};
	for (int k = 0; k < 4; k++)
		if (ka[k] != kb[k])
			return ka[k] < kb[k] ? -1 : 1;
	return 0;
}

/* The counting-sort bucket of a candidate: its axis and whole y, clamped to
 * [0, height) (NaN to 0), so that bucket order agrees with by_line. */
static int line_bucket(const semqr__finder_candidate *c, int height)
{
	float y = c->y;
	int line = !(y >= 0.0f) ? 0 : !(y < (float)height) ? height - 1 : (int)y;
	return (c->axis != 0) * height + line;
}

/* Sorts n candidates by by_line in O(n) for the usual case: a counting
 * sort by line_bucket, then each bucket by by_line (insertion for the few
 * candidates a line usually holds, qsort beyond). Returns 0 when out of
 * memory, leaving c as it was. */
#define BUCKET_INSERTION_MAX 32
static int sort_candidates(semqr__finder_candidate *c, int n, int height)
{
	int buckets = 2 * height;
	int *start = calloc((size_t)buckets + 1, sizeof *start);
	semqr__finder_candidate *tmp = malloc((size_t)n * sizeof *tmp + 1);
	if (!start || !tmp) {
		free(start);
		free(tmp);
		return 0;
	}
	memcpy(tmp, c, (size_t)n * sizeof *tmp);
	for (int i = 0; i < n; i++)
		start[line_bucket(&tmp[i], height) + 1]++;
	for (int b = 0; b < buckets; b++)
		start[b + 1] += start[b];
	for (int i = 0; i < n; i++)
		c[start[line_bucket(&tmp[i], height)]++] = tmp[i];
	/* each start[b] moved on to bucket b + 1's first place */
	for (int b = 0, first = 0; b < buckets; first = start[b++]) {
		int k = start[b] - first;
		semqr__finder_candidate *p = c + first;
		if (k > BUCKET_INSERTION_MAX) {
			qsort(p, (size_t)k, sizeof *p, by_line);
			continue;
		}
		for (int i = 1; i < k; i++) {
			semqr__finder_candidate v = p[i];
			int j = i;
			while (j > 0 && by_line(&p[j - 1], &v) > 0) {
				p[j] = p[j - 1];
				j--;
			}
			p[j] = v;
		}
	}
	free(start);
	free(tmp);
	return 1;
}

/* The grouping's check in a tile. It decodes as it goes, so that a triplet
 * that locates but does not decode gives its finders back to the triplets
 * after it (a poorer triangle of the same symbol, or its finders with
 * another third one). A triplet is located when the locator finds its
 * timing patterns at the plan's min_timing and the module pitch it implies
 * (finder centres 4 v + 10 modules apart) lies in the plan's range for
 * symbols (finders of neighbouring symbols form right isosceles triangles
 * too, of the wrong scale); one whose timing falls short of min_timing by
 * less than WEAK_TIMING is weak: it counts only when it decodes in the
 * core (else it is treated as not located). Then:
 * - located by semqr__locate_symbol with its centre outside the tile's core
 *   (the tile whose core holds the centre reports it): accepted undecoded
 *   when strict (group.c's strict tolerances), rejected when loose;
 * - located with its centre in the core and decoded: accepted, the result
 *   stored in the slot;
 * - else semqr__locate_perspective is tried (a photograph: the three finder
 *   centres alone misplace the grid), accepted when it decodes in the core;
 * - else rejected; a strict triplet that semqr__locate_symbol located in
 *   the core is stored as a pending failure. After the grouping, the
 *   pending failures whose finders no accepted triplet took are kept, in
 *   the order they came, each taking its finders in turn, so that a symbol
 *   that does not decode is still reported, once. Loose triplets are never
 *   reported undecoded: the decode is what makes them credible.
 * Decoding means the first sampling and, for a strict symbol that would
 * otherwise be a failure, the retries (see attempt).
 * On a plate of clean symbols every triplet decodes at the first try, and
 * the work is that of locating and decoding each once. */
typedef struct tile_check {
	semqr__tile_slot *s;
	const semqr__scan_plan *plan;
	semqr__grey_image img, flat;
	int cap;            /* room in s->results */
	semqr_status st;    /* SEMQR_ERR_NO_MEMORY once the results could not grow */
	semqr_error *err;
} tile_check;

/* Room for two more results in c->s->results (an attempt and its retry); 0
 * (with c->st set) when there is none. */
static int result_room(tile_check *c)
{
	semqr__tile_slot *s = c->s;
	if (s->nresults + 2 <= c->cap)
		return 1;
	int cap = c->cap < 8 ? 8 : 2 * c->cap;
	semqr__tile_result *r = realloc(s->results, (size_t)cap * sizeof *r);
	if (!r) {
		c->st = semqr__fail(c->err, SEMQR_ERR_NO_MEMORY,
		                    "scan decoder: no memory for %d symbols", cap);
		return 0;
	}
	s->results = r;
	c->cap = cap;
	return 1;
}

/* Timing agreement below the plan's min_timing by at most this much makes a
 * weak symbol: sampled and decoded like the others when its centre is in
 * the core, but accepted only when it decodes (the decode is the evidence
 * its timing patterns did not give), never reported as a failure, and
 * never taking its finders when its centre is outside the core. */
#define WEAK_TIMING 0.1f

/* What became of one attempt at a triplet. */
enum { NOT_LOCATED, OUTSIDE_CORE, NOT_DECODED, DECODED };

/* One way of sampling a located symbol: from the flattened image or the
 * denoised one, its module grid moved by (du, dv) modules along u and v,
 * and the boundary between set and unset at `threshold` of the way from
 * the unset level to the set one (see semqr__soft_from_means_at and
 * semqr__sample_centre). */
typedef struct sampling {
	int denoised;
	double du, dv, threshold;
} sampling;

/* The first try: the flattened image, whose module edges the Gaussian has
 * not blurred, as located, boundary half way. */
static const sampling first_try = {0, 0.0, 0.0, 0.5};

/* The retries of a symbol that does not decode at once, in the order they
 * are tried. Measured on simulated plates at low dose (build/plates/dose
 * 2048 x 2048 at dose 40, seed 16, and 3072 x 3072 plates of symbols turned
 * at random at doses 30 and 50, seed 7): 46 symbols located but not decoded
 * at the first try were decoded by at least one of 27 alternatives. These
 * are ordered greedily, each next one rescuing most of the symbols those
 * before it did not, then by how many each rescues on its own (in the
 * comments: rescued on its own, and after those before it). The denoised
 * image wins at low dose: its Gaussian averages more noise away than the
 * samples of a module did (3 x 3 then: these counts predate the weighted
 * footprints of semqr__sample_module_means). The flattened image moved by
 * 0.2 module (8 directions), or with the boundary at 0.3, 0.4 or 0.7,
 * rescued none and is not tried. At default dose no symbol of the 16k, 32k and 64k plates
 * needed a retry. */
static const sampling retries[] = {
    {1, 0.0, 0.0, 0.5},  /* 39, 39 */
    {0, 0.0, 0.0, 0.55}, /*  8,  2 */
    {1, 0.0, 0.0, 0.4},  /* 22,  1 */
    {0, 0.0, -0.1, 0.5}, /*  8,  1 */
    {0, 0.0, 0.0, 0.45}, /*  4,  1 */
    {1, 0.0, 0.2, 0.5},  /*  2,  1 */
    {1, 0.0, 0.0, 0.3},  /*  8,  1 */
    {1, 0.0, 0.0, 0.6},  /* 14,  0 */
    {0, 0.1, 0.0, 0.5},  /*  5,  0 */
    {1, 0.2, 0.0, 0.5},  /*  2,  0 */
    {1, 0.0, -0.2, 0.5}, /*  2,  0 */
    {0, -0.1, 0.0, 0.5}, /*  2,  0 */
    {0, 0.0, 0.1, 0.5},  /*  2,  0 */
    {0, 0.0, 0.0, 0.6},  /*  2,  0 */
    {1, 0.0, 0.0, 0.7},  /*  1,  0 */
    {1, -0.2, 0.0, 0.5}, /*  1,  0 */
};

/* Whether every sample the module samplers take of a symbol of `size`
 * mapped by h lies inside img: the samples of a module reach 15/32 module
 * from its centre (the wide footprint, see semqr__sample_module_means), so
 * they span [1/32, size - 1/32] in u and v, and that square maps to a
 * convex quadrilateral (h keeps the symbol in front, see geometry.c),
 * inside the image when its four corners are. */
static int samples_inside(const semqr__grey_image *img, const double h[9], int size)
{
	const double reach = 1.0 / 32.0;
	for (int k = 0; k < 4; k++) {
		double u = k == 1 || k == 2 ? size - reach : reach, v = k >= 2 ? size - reach : reach;
		double x, y;
		semqr__homography_apply(h, u, v, &x, &y);
		if (!(x >= 0.0 && y >= 0.0 && x <= img->width - 1 && y <= img->height - 1))
			return 0;
	}
	return 1;
}

/* Samples loc as w says with the plan's sampler and decodes the soft
 * matrix into r (r->d zeroed when it does not decode). Returns 1 when the
 * decoder accepted it. A sampling that leaves the image is not decoded:
 * its missing modules would come as erasures (p = 0.5), which the decoder
 * fills without any check once they use up the correction budget (a chance
 * triangle of finders reaching past the edge of a plate decoded that way to
 * an empty payload of 36 erasures). Such a symbol is partly outside the
 * scan (the halos keep every other one inside its tile's context). */
static int sample_decode(tile_check *c, const semqr__located *loc, const sampling *w,
                         semqr__tile_result *r)
{
	semqr__located moved = *loc;
	/* H' (u, v, 1) = H (u + du, v + dv, 1): the third column takes the
	 * others' share. */
	for (int row = 0; row < 3; row++)
		moved.h[3 * row + 2] += moved.h[3 * row] * w->du + moved.h[3 * row + 1] * w->dv;
	float *dark = c->s->dark;
	const semqr__grey_image *img = w->denoised ? &c->img : &c->flat;
	if (!samples_inside(img, moved.h, loc->size)) {
		memset(&r->d, 0, sizeof r->d);
		semqr__fail(&r->e, SEMQR_ERR_DECODE,
		            "the module grid reaches beyond the image (symbol partly outside the "
		            "scan)");
		return 0;
	}
	if (c->plan->sampling == SEMQR_SAMPLING_CENTRE)
		semqr__sample_centre(img, &moved, w->threshold, dark);
	else
		semqr__sample_soft_at(img, &moved, w->threshold, dark);
	semqr_soft_matrix m = {loc->size, dark};
	semqr__clear(&r->e);
	if (semqr_decode_matrix(&m, &c->plan->decode, &r->d, &r->e) == SEMQR_OK)
		return 1;
	memset(&r->d, 0, sizeof r->d);
	return 0;
}

/* Locates triplet t (by its three finders, or in perspective), checks its
 * module pitch and, when its centre is in the core, samples and decodes it
 * into s->results[s->nresults + k], without counting it.
 * Retries: when the first sampling does not decode a symbol that would be
 * reported as a failure (strict triplet, timing at least min_timing), its
 * grid is first corrected inside the symbol (semqr__grid_refine, which the
 * locator applies only to the symbols it rescues; when it corrects
 * anything, the first sampling is taken again through the corrected grid,
 * which the retries then keep), then the
 * retries are tried in order until one decodes or plan->retry_ms of wall
 * time has passed since the first failed (the clock is read between tries,
 * so the budget is overrun by one try at most); the error kept is the first
 * try's. s->retried and s->rescued count the symbols retried and those a
 * retry decoded. Loose and weak triplets, accepted only when they decode,
 * get the first try alone: on the default-dose 64k plate they were 3441 of
 * the 4881 symbols that would have been retried (all chance alignments of
 * finder-like patterns, none rescued), while 45 of the 46 low-dose symbols
 * that retries rescued were strict with timing above min_timing.
 * Times: the locating (up to the core test) adds to s->seconds_locate, the
 * sampling and decoding (retries included, also in s->seconds_retry) to
 * s->seconds_decode; semqr__slot_locate counts the rest as grouping. */
static int attempt(tile_check *c, const semqr__finder *f, const semqr__triplet *t,
                   int perspective, int k)
{
	semqr__tile_slot *s = c->s;
	const semqr__scan_plan *plan = c->plan;
	double t0 = semqr__now();
	semqr__located loc;
	float floor = plan->min_timing - WEAK_TIMING;
	int ok = perspective ? semqr__locate_perspective(&c->img, f, t, plan->max_version, floor,
	                                                 &loc)
	                     : semqr__locate_symbol(&c->img, f, t, plan->max_version, floor, &loc);
	int weak = ok && loc.timing < plan->min_timing;
	if (ok) {
		const semqr__finder *a = &f[t->tl], *b = &f[t->tr], *d = &f[t->bl];
		double span =
		    0.5 * (hypot(b->x - a->x, b->y - a->y) + hypot(d->x - a->x, d->y - a->y));
		double module = plan->scale * span / (4.0 * loc.version + 10.0); /* scan px */
		ok = module >= plan->symbol_module_lo && module <= plan->symbol_module_hi;
	}
	if (!ok) {
		s->seconds_locate += semqr__now() - t0;
		return NOT_LOCATED;
	}
	semqr__tile_result *r = &s->results[s->nresults + k];
	memset(r, 0, sizeof *r);
	r->t = *t;
	r->t.version = loc.version;
	describe(&loc, f, t, plan, &s->tile, &r->s);
	double t1 = semqr__now();
	s->seconds_locate += t1 - t0;
	if (!in_core(&s->tile, r->s.center_px[0], r->s.center_px[1]))
		/* the tile whose core holds the centre reports it */
		return weak ? NOT_LOCATED : OUTSIDE_CORE;
	int decoded = sample_decode(c, &loc, &first_try, r);
	if (!decoded && !weak && !t->loose && plan->retry_ms > 0.0) {
		double start = semqr__now(), deadline = start + 1e-3 * plan->retry_ms;
		semqr_error first = r->e;
		s->retried++;
		if (!loc.grid.on && semqr__grid_refine(&c->img, &loc))
			decoded = sample_decode(c, &loc, &first_try, r);
		for (size_t i = 0; !decoded && i < sizeof retries / sizeof *retries &&
		                   semqr__now() < deadline;
		     i++)
			decoded = sample_decode(c, &loc, &retries[i], r);
		if (decoded)
			s->rescued++;
		else
			r->e = first;
		s->seconds_retry += semqr__now() - start;
	}
	if (decoded) {
		r->s.decoded = 1;
		r->s.version = r->d.version;
	}
	s->seconds_decode += semqr__now() - t1;
	return decoded ? DECODED : weak ? NOT_LOCATED : NOT_DECODED;
}

/* How far, in modules along each axis, the centre of a symbol that
 * semqr__locate_perspective locates can lie from the centre of its finders'
 * affine map: that map and the perspective one share the three finder
 * centres, and the fourth point moves by at most 6.25 modules (the timing
 * search), 3 more (the contrast search) and 2 more (the alignment pattern),
 * some 11.25 modules in all; the centre moves less than that point (about
 * a quarter of it), so this bound holds with room to spare. */
#define PERSPECTIVE_CENTRE_REACH 12.0

/* Whether a perspective attempt at t could give a symbol centred in the
 * tile's core, the only kind it could decode (see attempt): the centre of
 * the finders' affine map, half way between the top-right and bottom-left
 * finder centres, lies within PERSPECTIVE_CENTRE_REACH modules of the core.
 * On plates the triplets failing the plain attempt are mostly triangles of
 * finders of neighbouring symbols cut by the tile's context or the plate's
 * edge, far in the halo; on the 16384^2 plate at default physics they cost
 * a fifth of the decoder threads' time, none decoding. */
static int perspective_may_centre_in_core(const tile_check *c, const semqr__finder *f,
                                          const semqr__triplet *t)
{
	const semqr__tile *tile = &c->s->tile;
	double sc = c->plan->scale;
	const semqr__finder *b = &f[t->tr], *d = &f[t->bl];
	double x = sc * 0.5 * (b->x + d->x) + tile->ctx_x0 + 0.5 * sc;
	double y = sc * 0.5 * (b->y + d->y) + tile->ctx_y0 + 0.5 * sc;
	double reach = PERSPECTIVE_CENTRE_REACH * sc * f[t->tl].module;
	return x >= tile->core_x0 - reach && x < tile->core_x1 + reach &&
	       y >= tile->core_y0 - reach && y < tile->core_y1 + reach;
}

/* The grouping's check (semqr__triplet_check): locates and decodes the
 * triplet, in perspective when the plain grid fails. A symbol outside the
 * core (located with its timing patterns clear) is accepted unreported; it
 * and a decoded one cover their areas, so that the chance finder patterns
 * in their data are not tried as symbols of their own. */
static int check_triplet(void *user, const semqr__finder *f, semqr__triplet *t)
{
	tile_check *c = user;
	semqr__tile_slot *s = c->s;
	if (c->st != SEMQR_OK || !result_room(c))
		return 0;
	int first = attempt(c, f, t, 0, 0);
	if (first == OUTSIDE_CORE) {
		t->version = s->results[s->nresults].t.version;
		return t->loose ? 0 : SEMQR__TRIPLET_COVER;
	}
	if (first != DECODED && perspective_may_centre_in_core(c, f, t)) {
		/* Perspective: the finder centres alone mislead the grid. */
		if (attempt(c, f, t, 1, 1) == DECODED) {
			s->results[s->nresults] = s->results[s->nresults + 1];
			first = DECODED;
		}
	}
	if (first == DECODED || (first == NOT_DECODED && !t->loose)) {
		t->version = s->results[s->nresults].t.version;
		s->nresults++;
	}
	return first == DECODED ? SEMQR__TRIPLET_COVER : 0;
}

/* Keeps, of the pending failures among s->results, those whose finders are
 * free once the nt accepted triplets have taken theirs, in order, each
 * taking its finders; the others are dropped. used: nf bytes, zeroed. */
static void settle_failures(semqr__tile_slot *s, int nt, unsigned char *used)
{
	for (int i = 0; i < nt; i++) {
		const semqr__triplet *t = &s->triplets[i];
		used[t->tl] = used[t->tr] = used[t->bl] = 1;
	}
	int kept = 0;
	for (int i = 0; i < s->nresults; i++) {
		semqr__tile_result *r = &s->results[i];
		const semqr__triplet *t = &r->t;
		if (!r->s.decoded) {
			if (used[t->tl] || used[t->tr] || used[t->bl])
				continue;
			used[t->tl] = used[t->tr] = used[t->bl] = 1;
		}
		if (kept != i)
			s->results[kept] = *r;
		kept++;
	}
	s->nresults = kept;
}

/* The CPU stages; returns the status also stored in the slot. */
static semqr_status locate(semqr__tile_slot *s, const semqr__scan_plan *plan, semqr_error *err)
{
	const semqr__tile *tile = &s->tile;
	int nf = 0, nt = 0;
	if (!sort_candidates(s->cands, s->found, tile->det_h))
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "scan decoder: no memory to sort %d finder run candidates", s->found);
	const semqr__run_candidate *runs = (const semqr__run_candidate *)(const void *)s->cands;
	semqr_status st = semqr__finders_cluster(runs, s->found, s->finders, &nf, err);
	if (st != SEMQR_OK)
		return st;
	s->nfinders = nf;
	unsigned char *used = calloc((size_t)nf + 1, 1);
	if (!used)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: no memory for %d finders",
		                   nf);
	tile_check check = {s,    plan, {s->grey, s->stride, tile->det_w, tile->det_h},
	                    {s->flat, s->stride, tile->det_w, tile->det_h},
	                    0,    SEMQR_OK, err};
	st = semqr__group_symbols(s->finders, nf, plan->max_version, check_triplet, &check,
	                          s->triplets, &nt, err);
	if (st == SEMQR_OK)
		st = check.st;
	if (st == SEMQR_OK)
		settle_failures(s, nt, used);
	free(used);
	return st;
}

void semqr__slot_locate(semqr__tile_slot *s, const semqr__scan_plan *plan)
{
	s->results = NULL;
	s->nresults = 0;
	s->nfinders = 0;
	s->seconds_locate = s->seconds_decode = s->seconds_retry = 0.0;
	s->retried = s->rescued = 0;
	semqr__clear(&s->err);
	double t = semqr__now();
	s->status = locate(s, plan, &s->err);
	double group = semqr__now() - t - s->seconds_locate - s->seconds_decode;
	s->seconds_group = group > 0.0 ? group : 0.0;
}

semqr_status semqr__slot_emit(semqr__tile_slot *s, semqr_scan_callback cb, void *user,
                              semqr_scan_summary *sum, semqr_error *err)
{
	sum->finders += s->nfinders;
	sum->seconds[SEMQR_STAGE_LOCATE] += s->seconds_locate;
	sum->seconds[SEMQR_STAGE_DECODE] += s->seconds_decode;
	sum->seconds[SEMQR_STAGE_GROUP] += s->seconds_group;
	sum->retried += s->retried;
	sum->rescued += s->rescued;
	sum->seconds_retry += s->seconds_retry;
	double output = 0.0;
	semqr__tile_result *res = s->results;
	int nr = s->status == SEMQR_OK ? s->nresults : 0;
	/* A failure is reported only when its centre lies in no decoded symbol
	 * of the tile: symbols do not overlap, so such a "symbol" was made of
	 * finder-like patterns in another symbol's data. */
	for (int i = 0; i < nr; i++) {
		semqr__tile_result *r = &res[i];
		if (!r->s.decoded) {
			int inside = 0;
			for (int k = 0; k < nr && !inside; k++)
				inside = res[k].s.decoded &&
				         in_quad(res[k].s.corners_px, r->s.center_px[0], r->s.center_px[1]);
			if (inside)
				continue;
			r->s.reason = r->e.message;
			sum->failed++;
		} else {
			r->s.data = &r->d;
			sum->decoded++;
		}
		sum->located++;
		if (cb) {
			double t = semqr__now();
			cb(user, &r->s);
			output += semqr__now() - t;
		}
	}
	sum->seconds[SEMQR_STAGE_OUTPUT] += output;
	for (int i = 0; i < s->nresults; i++)
		semqr_decoded_free(&res[i].d);
	free(res);
	s->results = NULL;
	s->nresults = 0;
	if (s->status != SEMQR_OK && err)
		*err = s->err;
	return s->status;
}
