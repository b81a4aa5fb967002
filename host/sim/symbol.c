/* The symbols of the plate, one at a time: payload, matrix (the encoder),
 * pose, damage; and the cache of the grid rows a strip needs.
 *
 * Symbol (r, c) sits in grid cell (r, c), shifted by a uniform jitter in
 * +-jitter_nm per axis and rotated by rotation_deg plus a uniform angle in
 * +-rotation_range_deg. Every random choice of a symbol is keyed by (row,
 * col), so any symbol can be made alone, in any order: strips build only the
 * grid rows they meet, and the ground truth makes them one by one.
 *
 * Payloads: a template with {plate} {row} {col} {index}; random bytes keyed
 * by the index; or chunk `index` of a file (chunk_length bytes from
 * index * chunk_length, wrapping around at the end of the file).
 * Damage: flipped data modules spread uniformly; a compact patch of missing
 * (grey) data modules; scratches and particles placed uniformly over the
 * symbol's square.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "qr/qr_internal.h"
#include "sim/sim_internal.h"

/* ---- one symbol --------------------------------------------------------- */

/* Expands the template for symbol (row, col); -1 on an unknown field or an
 * output longer than SIM_PAYLOAD_MAX. */
static int expand_template(const semqr__sim *sim, int row, int col, long index, uint8_t *out,
                           size_t *len)
{
	const char *t = sim->o.payload_template;
	size_t n = 0;
	while (*t) {
		char num[32];
		const char *piece = num;
		size_t plen;
		if (t[0] == '{' && t[1] == '{') {
			piece = "{", plen = 1, t += 2;
		} else if (t[0] == '}' && t[1] == '}') {
			piece = "}", plen = 1, t += 2;
		} else if (t[0] == '{') {
			const char *close = strchr(t, '}');
			if (!close)
				return -1;
			size_t k = (size_t)(close - t - 1);
			long v;
			if (k == 5 && !strncmp(t + 1, "plate", 5))
				v = sim->o.plate;
			else if (k == 3 && !strncmp(t + 1, "row", 3))
				v = row;
			else if (k == 3 && !strncmp(t + 1, "col", 3))
				v = col;
			else if (k == 5 && !strncmp(t + 1, "index", 5))
				v = index;
			else
				return -1;
			plen = (size_t)snprintf(num, sizeof num, "%ld", v);
			t = close + 1;
		} else {
			piece = t, plen = 1, t++;
		}
		if (n + plen > SIM_PAYLOAD_MAX)
			return -1;
		memcpy(out + n, piece, plen);
		n += plen;
	}
	*len = n;
	return 0;
}

static semqr_status make_payload(const semqr__sim *sim, sim_symbol *s, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	switch (o->payload) {
	case SEMQR_SIM_PAYLOAD_TEMPLATE:
		if (expand_template(sim, s->row, s->col, s->index, s->payload, &s->payload_len))
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: payload template "
			                   "\"%s\": unknown {field} (known: plate, row, col, index), "
			                   "unbalanced brace, or longer than %d bytes",
			                   o->payload_template, SIM_PAYLOAD_MAX);
		return SEMQR_OK;
	case SEMQR_SIM_PAYLOAD_RANDOM: {
		semqr__rng r = semqr__rng_at(o->seed, SIM_STREAM_PAYLOAD, (uint64_t)s->index, 0, 0);
		for (int i = 0; i < o->random_length; i++)
			s->payload[i] = (uint8_t)(semqr__rng_next(&r) >> 56);
		s->payload_len = (size_t)o->random_length;
		return SEMQR_OK;
	}
	case SEMQR_SIM_PAYLOAD_FILE: {
		uint64_t pos = (uint64_t)s->index * (uint64_t)o->chunk_length % sim->payload_size;
		size_t got = 0;
		while (got < (size_t)o->chunk_length) {
			size_t want = (size_t)o->chunk_length - got;
			if (want > sim->payload_size - pos)
				want = (size_t)(sim->payload_size - pos);
			ssize_t k = pread(sim->payload_fd, s->payload + got, want, (off_t)pos);
			if (k <= 0)
				return semqr__fail(err, SEMQR_ERR_IO, "simulate: payload file %s: read "
				                   "failed at byte %llu", o->payload_file,
				                   (unsigned long long)pos);
			got += (size_t)k;
			pos = (pos + (uint64_t)k) % sim->payload_size;
		}
		s->payload_len = got;
		return SEMQR_OK;
	}
	}
	return SEMQR_OK;
}

/* Flips nflip distinct data modules chosen uniformly, and marks a compact
 * patch of nmissing data modules (those nearest a random data module, ties by
 * index) as missing; records both. */
static semqr_status damage_modules(const semqr__sim *sim, sim_symbol *s, semqr_symbol *q,
                                   semqr__rng *r, uint8_t *missing_map, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	int n = s->size * s->size;
	uint8_t *is_func = malloc((size_t)n);
	int *data = malloc((size_t)n * sizeof *data);
	if (!is_func || !data) {
		free(is_func);
		free(data);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for damage");
	}
	semqr__function_map(s->version, is_func);
	int ndata = 0;
	for (int i = 0; i < n; i++)
		if (!is_func[i])
			data[ndata++] = i;
	s->nflipped = o->flip_modules < ndata ? o->flip_modules : ndata;
	/* Partial Fisher-Yates: the first nflipped entries become the sample. */
	for (int k = 0; k < s->nflipped; k++) {
		int j = k + (int)(semqr__rng_uniform(r) * (ndata - k));
		int t = data[k];
		data[k] = data[j];
		data[j] = t;
		s->flipped[k] = data[k];
		q->modules[data[k]] ^= 1;
	}
	s->nmissing = o->missing_modules < ndata ? o->missing_modules : ndata;
	if (s->nmissing > 0) {
		int centre = data[(int)(semqr__rng_uniform(r) * ndata)];
		int cx = centre % s->size, cy = centre / s->size;
		/* Selection by increasing (distance^2, index): repeated minimum search,
		 * fine for the few hundred modules a patch has. */
		for (int k = 0; k < s->nmissing; k++) {
			int best = -1;
			long best_key = 0;
			for (int j = 0; j < ndata; j++) {
				int i = data[j];
				if (missing_map[i])
					continue;
				long dx = i % s->size - cx, dy = i / s->size - cy;
				long key = (dx * dx + dy * dy) * 100000L + i;
				if (best < 0 || key < best_key)
					best = i, best_key = key;
			}
			missing_map[best] = 1;
			s->missing[k] = best;
		}
	}
	free(is_func);
	free(data);
	return SEMQR_OK;
}

static void place_damage_primitives(const semqr__sim *sim, sim_symbol *s, semqr__rng *r)
{
	const semqr_sim_options *o = &sim->o;
	int np = (int)semqr__rng_poisson(r, o->particles);
	s->nparticles = np < SIM_PARTICLES_MAX ? np : SIM_PARTICLES_MAX;
	for (int k = 0; k < s->nparticles; k++) {
		double mx = semqr__rng_uniform(r) * s->size, my = semqr__rng_uniform(r) * s->size;
		semqr__sim_module_to_scene(sim, s, mx, my, &s->particle[k].x, &s->particle[k].y);
	}
	int ns = (int)semqr__rng_poisson(r, o->scratches);
	s->nscratches = ns < SIM_SCRATCHES_MAX ? ns : SIM_SCRATCHES_MAX;
	for (int k = 0; k < s->nscratches; k++) {
		double mx = semqr__rng_uniform(r) * s->size, my = semqr__rng_uniform(r) * s->size;
		double a = semqr__rng_uniform(r) * SIM_PI, h = o->scratch_length_nm / 2;
		double x, y;
		semqr__sim_module_to_scene(sim, s, mx, my, &x, &y);
		s->scratch[k] = (sim_scratch){x - h * cos(a), y - h * sin(a), x + h * cos(a),
		                              y + h * sin(a)};
	}
}

static void bounding_box(const semqr__sim *sim, sim_symbol *s)
{
	const semqr_sim_options *o = &sim->o;
	double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
	for (int k = 0; k < 4; k++) {
		double x, y;
		semqr__sim_module_to_scene(sim, s, (k & 1) * s->size, (k >> 1) * s->size, &x, &y);
		x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
	}
	for (int k = 0; k < s->nparticles; k++) {
		double e = 4 * o->particle_sigma_nm;
		x0 = fmin(x0, s->particle[k].x - e), x1 = fmax(x1, s->particle[k].x + e);
		y0 = fmin(y0, s->particle[k].y - e), y1 = fmax(y1, s->particle[k].y + e);
	}
	for (int k = 0; k < s->nscratches; k++) {
		const sim_scratch *c = &s->scratch[k];
		double e = o->scratch_width_nm;
		x0 = fmin(x0, fmin(c->x0, c->x1) - e), x1 = fmax(x1, fmax(c->x0, c->x1) + e);
		y0 = fmin(y0, fmin(c->y0, c->y1) - e), y1 = fmax(y1, fmax(c->y0, c->y1) + e);
	}
	s->bx0 = x0, s->by0 = y0, s->bx1 = x1, s->by1 = y1;
}

void semqr__sim_module_to_scene(const semqr__sim *sim, const sim_symbol *s, double mx,
                                double my, double *qx, double *qy)
{
	double m = sim->o.module_nm, h = s->size / 2.0;
	if (sim->o.mirrored) {
		double t = mx;
		mx = my;
		my = t;
	}
	double ux = (mx - h) * m, uy = (my - h) * m;
	*qx = s->cx + ux * s->cos_a - uy * s->sin_a;
	*qy = s->cy + ux * s->sin_a + uy * s->cos_a;
}

void semqr__sim_symbol_free(sim_symbol *s)
{
	free(s->cell);
	free(s->flipped);
	free(s->missing);
	s->cell = NULL;
	s->flipped = s->missing = NULL;
}

semqr_status semqr__sim_symbol_make(const semqr__sim *sim, int row, int col, sim_symbol *s,
                                    semqr_symbol *q, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	s->row = row;
	s->col = col;
	s->index = (long)row * sim->cols + col;
	semqr_status st = make_payload(sim, s, err);
	if (st != SEMQR_OK)
		return st;
	semqr_encode_options eo;
	semqr_encode_options_init(&eo);
	eo.min_version = eo.max_version = o->version;
	eo.ecc = o->ecc;
	eo.boost_ecc = false;
	eo.mask = o->mask;
	st = semqr_encode(s->payload, s->payload_len, &eo, q, err);
	if (st != SEMQR_OK) {
		char why[SEMQR_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof why, "%s", err ? err->message : "");
		return semqr__fail(err, st, "simulate: symbol row %d col %d (%zu payload bytes, "
		                   "version %d-%s): %s", row, col, s->payload_len, o->version,
		                   semqr_ecc_name(o->ecc), why);
	}
	s->version = q->version;
	s->size = q->size;
	s->mask = q->mask;
	s->ecc = q->ecc;
	int n = s->size * s->size;
	if (!s->cell) {
		s->cell = malloc((size_t)n * sizeof *s->cell);
		s->flipped = malloc((size_t)n * sizeof *s->flipped);
		s->missing = malloc((size_t)n * sizeof *s->missing);
		if (!s->cell || !s->flipped || !s->missing) {
			semqr__sim_symbol_free(s);
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for a "
			                   "symbol of %d x %d modules", s->size, s->size);
		}
	}

	/* Pose first, damage second: each from its own key. */
	semqr__rng pr = semqr__rng_at(o->seed, SIM_STREAM_POSE, (uint64_t)row, (uint64_t)col, 0);
	double angle = o->rotation_deg + (2 * semqr__rng_uniform(&pr) - 1) * o->rotation_range_deg;
	double jx = (2 * semqr__rng_uniform(&pr) - 1) * o->jitter_nm;
	double jy = (2 * semqr__rng_uniform(&pr) - 1) * o->jitter_nm;
	s->angle = angle * SIM_PI / 180;
	s->cos_a = cos(s->angle);
	s->sin_a = sin(s->angle);
	s->cx = sim->origin_x_nm + (col + 0.5) * sim->pitch_nm + jx;
	s->cy = sim->origin_y_nm + (row + 0.5) * sim->pitch_nm + jy;

	/* missing_map shares the cell buffer's memory until the cells are built. */
	uint8_t *missing_map = calloc((size_t)n, 1);
	if (!missing_map)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for damage");
	semqr__rng dr = semqr__rng_at(o->seed, SIM_STREAM_DAMAGE, (uint64_t)row, (uint64_t)col, 0);
	st = damage_modules(sim, s, q, &dr, missing_map, err);
	if (st != SEMQR_OK) {
		free(missing_map);
		return st;
	}
	place_damage_primitives(sim, s, &dr);
	bounding_box(sim, s);

	/* Cell words of the rendered matrix (transposed when mirrored). */
	for (int y = 0; y < s->size; y++) {
		for (int x = 0; x < s->size; x++) {
			int li = o->mirrored ? x * s->size + y : y * s->size + x;
			uint16_t w = 0;
			if (missing_map[li])
				w = SIM_CELL_MISSING;
			else if (q->modules[li])
				w = SIM_CELL_MILLED;
			for (int k = 0; k < 8; k++) {
				int nx = x + sim_neighbour_dx[k], ny = y + sim_neighbour_dy[k];
				if (nx < 0 || ny < 0 || nx >= s->size || ny >= s->size)
					continue;
				int nl = o->mirrored ? nx * s->size + ny : ny * s->size + nx;
				if (q->modules[nl] && !missing_map[nl])
					w |= (uint16_t)(1u << k);
			}
			s->cell[y * s->size + x] = w;
		}
	}
	free(missing_map);
	return SEMQR_OK;
}

/* ---- the cache of grid rows --------------------------------------------- */

void semqr__sim_cache_free(sim_cache *c)
{
	for (long i = 0; i < (long)c->count * c->cols; i++)
		semqr__sim_symbol_free(&c->sym[i]);
	free(c->sym);
	free(c->scratch);
	*c = (sim_cache){0};
}

semqr_status semqr__sim_cache_cover(const semqr__sim *sim, sim_cache *c, double y0_nm,
                                    double y1_nm, semqr_error *err)
{
	double reach = sim->symbol_reach_nm;
	double lo = ceil((y0_nm - reach - sim->origin_y_nm) / sim->pitch_nm - 0.5);
	double hi = floor((y1_nm + reach - sim->origin_y_nm) / sim->pitch_nm - 0.5);
	lo = fmax(lo, 0);
	hi = fmin(hi, sim->rows - 1);
	int first = (int)lo, count = hi >= lo ? (int)(hi - lo) + 1 : 0;
	if (first == c->first && count == c->count)
		return SEMQR_OK;
	if (!c->scratch && !(c->scratch = malloc(sizeof *c->scratch)))
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for a symbol");
	int cols = sim->cols;
	sim_symbol *sym = count ? calloc((size_t)count * cols, sizeof *sym) : NULL;
	if (count && !sym)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for %d x %d "
		                   "symbols", count, cols);
	/* Move the rows already built, free the others. */
	for (int r = 0; r < c->count; r++) {
		int nr = c->first + r - first;
		for (int k = 0; k < cols; k++) {
			sim_symbol *old = &c->sym[(size_t)r * cols + k];
			if (nr >= 0 && nr < count)
				sym[(size_t)nr * cols + k] = *old;
			else
				semqr__sim_symbol_free(old);
		}
	}
	int old_first = c->first, old_count = c->count;
	free(c->sym);
	c->sym = sym;
	c->first = first;
	c->count = count;
	c->cols = cols;
	for (int r = 0; r < count; r++) {
		int gr = first + r;
		if (gr >= old_first && gr < old_first + old_count)
			continue;
		for (int k = 0; k < cols; k++) {
			semqr_status st = semqr__sim_symbol_make(sim, gr, k, &sym[(size_t)r * cols + k],
			                                         c->scratch, err);
			if (st != SEMQR_OK) {
				semqr__sim_cache_free(c);
				return st;
			}
		}
	}
	return SEMQR_OK;
}
