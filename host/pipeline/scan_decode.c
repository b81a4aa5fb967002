/* One tile of a scan through the whole chain: upload, the device stages,
 * read-back of the finder runs and of the denoised and flattened context
 * into a slot, then on the CPU finder clustering, grouping, geometry, soft
 * sampling and decoding, and the report (layout and contracts in
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

static size_t buffer_pixels(const semqr__scan_plan *plan)
{
	return (size_t)plan->buf_w * (size_t)plan->buf_h;
}

static size_t context_pixels(const semqr__scan_plan *plan)
{
	return (size_t)(plan->buf_w - 2 * plan->pad) * (size_t)(plan->buf_h - 2 * plan->pad);
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
	/* Input, two float images, the binary image, the scratch (a float
	 * image), the candidates; and the host copy of the input. */
	size_t px = buffer_pixels(plan), in = (size_t)plan->bits / 8;
	return px * (2 * in + 3 * sizeof(float) + 1) +
	       (size_t)SEMQR__CANDIDATES_INITIAL * sizeof(semqr__finder_candidate);
}

size_t semqr__slot_bytes(const semqr__scan_plan *plan)
{
	return context_pixels(plan) * 2 * sizeof(float) + candidate_bytes(SEMQR__CANDIDATES_INITIAL) +
	       (size_t)SEMQR_SIZE_MAX * SEMQR_SIZE_MAX * sizeof(float);
}

static semqr_status device_buffer(semqr__cl_context *ctx, size_t bytes, cl_mem *out,
                                  semqr_error *err)
{
	cl_int cst;
	*out = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_WRITE, bytes, NULL, &cst);
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

void semqr__device_destroy(semqr__tile_device *d)
{
	release(&d->in);
	release(&d->a);
	release(&d->b);
	release(&d->bin);
	release(&d->scratch);
	release(&d->dcands);
	release(&d->count);
	semqr__cl_context_destroy(d->ctx);
	free(d->host_in);
	memset(d, 0, sizeof *d);
}

semqr_status semqr__device_create(const semqr__scan_plan *plan, const semqr_cl_device_info *dev,
                                  semqr__tile_device *d, semqr_error *err)
{
	memset(d, 0, sizeof *d);
	semqr_status st = semqr__cl_context_create(dev, &d->ctx, err);
	if (st != SEMQR_OK)
		return st;
	size_t px = buffer_pixels(plan), in = (size_t)plan->bits / 8;
	/* The scratch serves denoise and binarize, both of which need a float
	 * image of at most the buffer's size. */
	if ((st = device_buffer(d->ctx, px * in, &d->in, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, px * sizeof(float), &d->a, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, px * sizeof(float), &d->b, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, px, &d->bin, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, px * sizeof(float), &d->scratch, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx, sizeof(cl_int), &d->count, err)) != SEMQR_OK ||
	    (st = device_buffer(d->ctx,
	                        (size_t)SEMQR__CANDIDATES_INITIAL * sizeof(semqr__finder_candidate),
	                        &d->dcands, err)) != SEMQR_OK) {
		semqr__device_destroy(d);
		return st;
	}
	d->capacity = SEMQR__CANDIDATES_INITIAL;
	if (!(d->host_in = malloc(px * in))) {
		semqr__device_destroy(d);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "scan decoder: no memory for a tile of %d x %d pixels", plan->buf_w,
		                   plan->buf_h);
	}
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
	free(s->grey);
	free(s->flat);
	free(s->cands);
	free(s->finders);
	free(s->triplets);
	free(s->dark);
	free(s->results);
	memset(s, 0, sizeof *s);
}

semqr_status semqr__slot_init(const semqr__scan_plan *plan, semqr__tile_slot *s,
                              semqr_error *err)
{
	memset(s, 0, sizeof *s);
	size_t px = context_pixels(plan);
	s->grey = malloc(px * sizeof(float));
	s->flat = malloc(px * sizeof(float));
	s->dark = malloc((size_t)SEMQR_SIZE_MAX * SEMQR_SIZE_MAX * sizeof(float));
	semqr_status st = SEMQR_OK;
	if (!s->grey || !s->flat || !s->dark)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                 "scan decoder: no memory for the contexts of %d x %d pixels",
		                 plan->buf_w - 2 * plan->pad, plan->buf_h - 2 * plan->pad);
	if (st == SEMQR_OK)
		st = slot_capacity(s, SEMQR__CANDIDATES_INITIAL, err);
	if (st != SEMQR_OK)
		semqr__slot_free(s);
	return st;
}

/* Waits for the queue and adds the time since *t to seconds[stage]. */
static semqr_status finish_stage(semqr__tile_device *w, semqr_scan_summary *sum,
                                 semqr_scan_stage stage, double *t, semqr_error *err)
{
	cl_int cst = clFinish(semqr__cl_queue(w->ctx));
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "scan decoder on %s: %s stage: clFinish",
		                      semqr__cl_device_info(w->ctx)->name,
		                      semqr_scan_stage_name(stage));
	double now = semqr__now();
	sum->seconds[stage] += now - *t;
	*t = now;
	return SEMQR_OK;
}

semqr_status semqr__device_run(semqr__tile_device *w, const semqr__scan_plan *plan,
                               const semqr__tile *tile, semqr__tile_slot *slot,
                               semqr_scan_summary *sum, semqr_error *err)
{
	slot->tile = *tile;
	slot->found = 0;
	int *found = &slot->found;
	cl_command_queue q = semqr__cl_queue(w->ctx);
	int bw = tile->ctx_w + 2 * plan->pad, bh = tile->ctx_h + 2 * plan->pad;
	size_t in_bytes = (size_t)bw * (size_t)bh * (size_t)(plan->bits / 8);
	double t = semqr__now();
	cl_int cst = clEnqueueWriteBuffer(q, w->in, CL_TRUE, 0, in_bytes, w->host_in, 0, NULL, NULL);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "scan decoder: tile (%d, %d): clEnqueueWriteBuffer",
		                      tile->col, tile->row);
	sum->seconds[SEMQR_STAGE_UPLOAD] += semqr__now() - t;
	t = semqr__now();

	semqr__plane in = {w->in, 0, bw, bw, bh};
	semqr__plane a = {w->a, 0, bw, bw, bh};
	semqr__plane b = {w->b, 0, bw, bw, bh};
	semqr_status st = semqr__stage_load(w->ctx, &in, plan->bits, 0.0f, 0.0f, &a, err);
	if (st == SEMQR_OK)
		st = finish_stage(w, sum, SEMQR_STAGE_LOAD, &t, err);
	if (st == SEMQR_OK)
		st = semqr__stage_flatten(w->ctx, &a, plan->flatten_block, 0, 1e-6f, &b, err);
	if (st == SEMQR_OK)
		st = finish_stage(w, sum, SEMQR_STAGE_FLATTEN, &t, err);
	if (st != SEMQR_OK)
		return st;

	int rd = plan->rd, p = plan->pad;
	semqr__plane din = {w->b, (size_t)rd * (size_t)bw + (size_t)rd, bw, bw - 2 * rd,
	                    bh - 2 * rd};
	semqr__plane dout = din;
	dout.mem = w->a;
	st = semqr__stage_denoise(w->ctx, &din, plan->sigma, rd, w->scratch, &dout, err);
	if (st == SEMQR_OK)
		st = finish_stage(w, sum, SEMQR_STAGE_DENOISE, &t, err);
	if (st != SEMQR_OK)
		return st;

	size_t ctx_origin = (size_t)p * (size_t)bw + (size_t)p;
	semqr__plane grey = {w->a, ctx_origin, bw, tile->ctx_w, tile->ctx_h};
	semqr__plane bin = {w->bin, ctx_origin, bw, tile->ctx_w, tile->ctx_h};
	st = semqr__stage_binarize(w->ctx, &grey, plan->rb, 0.0f, w->scratch, &bin, err);
	if (st == SEMQR_OK)
		st = finish_stage(w, sum, SEMQR_STAGE_BINARIZE, &t, err);
	if (st != SEMQR_OK)
		return st;

	/* Finder runs; on overflow the buffers grow to what was found and the
	 * stage runs again (the binary image is still on the device). The slot's
	 * arrays hold at least as many as the device's. */
	for (;;) {
		if (slot->capacity < w->capacity &&
		    (st = slot_capacity(slot, w->capacity, err)) != SEMQR_OK)
			return st;
		st = semqr__stage_finder(w->ctx, &bin, &grey, &plan->finder, w->dcands, w->capacity,
		                         w->count, err);
		if (st == SEMQR_OK)
			st = semqr__finder_read(w->ctx, w->dcands, w->capacity, w->count, slot->cands,
			                        found, err);
		if (st != SEMQR_OK)
			return st;
		if (*found <= w->capacity)
			break;
		if (*found > INT32_MAX / 2)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "scan decoder: tile (%d, %d): %d finder candidates", tile->col,
			                   tile->row, *found);
		int capacity = *found + *found / 4;
		release(&w->dcands);
		w->capacity = 0;
		if ((st = device_buffer(w->ctx, (size_t)capacity * sizeof(semqr__finder_candidate),
		                        &w->dcands, err)) != SEMQR_OK)
			return st;
		w->capacity = capacity;
	}
	/* The denoised and flattened contexts for the locator, dense rows of
	 * ctx_w. */
	size_t buf_origin[3] = {(size_t)p * sizeof(float), (size_t)p, 0};
	size_t host_origin[3] = {0, 0, 0};
	size_t region[3] = {(size_t)tile->ctx_w * sizeof(float), (size_t)tile->ctx_h, 1};
	cl_mem from[2] = {w->a, w->b};
	float *to[2] = {slot->grey, slot->flat};
	for (int k = 0; k < 2; k++) {
		cst = clEnqueueReadBufferRect(q, from[k], CL_TRUE, buf_origin, host_origin, region,
		                              (size_t)bw * sizeof(float), 0,
		                              (size_t)tile->ctx_w * sizeof(float), 0, to[k], 0, NULL,
		                              NULL);
		if (cst != CL_SUCCESS)
			return semqr__cl_fail(err, cst,
			                      "scan decoder: tile (%d, %d): clEnqueueReadBufferRect (%s)",
			                      tile->col, tile->row, k ? "flattened" : "denoised");
	}
	sum->seconds[SEMQR_STAGE_FINDER] += semqr__now() - t;
	sum->candidates += *found;
	return SEMQR_OK;
}

/* Fills the geometry of *s from the located symbol of triplet t, in scan
 * coordinates. */
static void describe(const semqr__located *loc, const semqr__finder *finders,
                     const semqr__triplet *t, const semqr__scan_plan *plan,
                     const semqr__tile *tile, semqr_scan_symbol *s)
{
	/* Locator pixels have their centres at integers; scan pixels cover
	 * [x, x + 1): add a half pixel. */
	double ox = tile->ctx_x0 + 0.5, oy = tile->ctx_y0 + 0.5;
	for (int k = 0; k < 4; k++) {
		s->corners_px[k][0] = loc->corners[k][0] + ox;
		s->corners_px[k][1] = loc->corners[k][1] + oy;
	}
	double cx, cy, half = 0.5 * loc->size;
	semqr__homography_apply(loc->h, half, half, &cx, &cy);
	s->center_px[0] = cx + ox;
	s->center_px[1] = cy + oy;
	const int idx[3] = {t->tl, t->tr, t->bl};
	for (int k = 0; k < 3; k++) {
		s->finders_px[k][0] = finders[idx[k]].x + ox;
		s->finders_px[k][1] = finders[idx[k]].y + oy;
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

/* The triplet check of the scan decoder: the locator's timing-pattern check
 * (semqr__check_triplet_in_image), and then the module pitch the triplet
 * implies (finder centres 4 v + 10 modules apart) within the plan's range
 * for symbols, so that finders of neighbouring symbols, which form right
 * isosceles triangles too, do not make a symbol of the wrong scale. */
typedef struct tile_check {
	semqr__image_check image;
	float module_lo, module_hi;
} tile_check;

static int check_triplet(void *user, const semqr__finder *f, semqr__triplet *t)
{
	tile_check *c = user;
	if (!semqr__check_triplet_in_image(&c->image, f, t))
		return 0;
	const semqr__finder *a = &f[t->tl], *b = &f[t->tr], *d = &f[t->bl];
	double span = 0.5 * (hypot(b->x - a->x, b->y - a->y) + hypot(d->x - a->x, d->y - a->y));
	double module = span / (4.0 * t->version + 10.0);
	return module >= c->module_lo && module <= c->module_hi;
}

/* One located symbol of a tile, waiting to be reported. */
struct semqr__tile_result {
	semqr_scan_symbol s;
	semqr_decoded d;
	semqr_error e;
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

/* The CPU stages; returns the status also stored in the slot. */
static semqr_status locate(semqr__tile_slot *s, const semqr__scan_plan *plan, semqr_error *err)
{
	const semqr__tile *tile = &s->tile;
	double t = semqr__now();
	int nf = 0, nt = 0;
	qsort(s->cands, (size_t)s->found, sizeof *s->cands, by_line);
	const semqr__run_candidate *runs = (const semqr__run_candidate *)(const void *)s->cands;
	semqr_status st = semqr__finders_cluster(runs, s->found, s->finders, &nf, err);
	if (st != SEMQR_OK)
		return st;
	s->nfinders = nf;
	semqr__grey_image img = {s->grey, tile->ctx_w, tile->ctx_w, tile->ctx_h};
	semqr__grey_image flat = {s->flat, tile->ctx_w, tile->ctx_w, tile->ctx_h};
	tile_check check = {{&img, plan->max_version, plan->min_timing}, plan->symbol_module_lo,
	                    plan->symbol_module_hi};
	if ((st = semqr__group_symbols(s->finders, nf, plan->max_version, check_triplet, &check,
	                               s->triplets, &nt, err)) != SEMQR_OK)
		return st;
	s->seconds_locate += semqr__now() - t;

	s->results = calloc((size_t)nt + 1, sizeof *s->results);
	if (!s->results)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: no memory for %d symbols",
		                   nt);
	for (int i = 0; i < nt; i++) {
		t = semqr__now();
		semqr__located loc;
		int ok = semqr__locate_symbol(&img, s->finders, &s->triplets[i], plan->max_version,
		                              plan->min_timing, &loc);
		double t1 = semqr__now();
		s->seconds_locate += t1 - t;
		if (!ok)
			continue;
		semqr__tile_result *r = &s->results[s->nresults];
		memset(r, 0, sizeof *r);
		describe(&loc, s->finders, &s->triplets[i], plan, tile, &r->s);
		if (!in_core(tile, r->s.center_px[0], r->s.center_px[1]))
			continue; /* the tile whose core holds the centre reports it */
		semqr__sample_soft(&flat, &loc, s->dark);
		semqr_soft_matrix m = {loc.size, s->dark};
		if (semqr_decode_matrix(&m, &plan->decode, &r->d, &r->e) == SEMQR_OK) {
			r->s.decoded = 1;
			r->s.version = r->d.version;
		} else {
			memset(&r->d, 0, sizeof r->d);
		}
		s->nresults++;
		s->seconds_decode += semqr__now() - t1;
	}
	return SEMQR_OK;
}

void semqr__slot_locate(semqr__tile_slot *s, const semqr__scan_plan *plan)
{
	s->results = NULL;
	s->nresults = 0;
	s->nfinders = 0;
	s->seconds_locate = s->seconds_decode = 0.0;
	semqr__clear(&s->err);
	s->status = locate(s, plan, &s->err);
}

semqr_status semqr__slot_emit(semqr__tile_slot *s, semqr_scan_callback cb, void *user,
                              semqr_scan_summary *sum, semqr_error *err)
{
	sum->finders += s->nfinders;
	sum->seconds[SEMQR_STAGE_LOCATE] += s->seconds_locate;
	sum->seconds[SEMQR_STAGE_DECODE] += s->seconds_decode;
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
		if (cb)
			cb(user, &r->s);
	}
	for (int i = 0; i < s->nresults; i++)
		semqr_decoded_free(&res[i].d);
	free(res);
	s->results = NULL;
	s->nresults = 0;
	if (s->status != SEMQR_OK && err)
		*err = s->err;
	return s->status;
}
