/* The scene: a plate of QR symbols milled into a film, as brightness at any
 * point in nanometres. (The symbols themselves are made in symbol.c.)
 *
 * Layout. Cell (r, c) of the grid spans origin + [c, c+1) x [r, r+1) pitches,
 * the grid centred on the image; the automatic pitch holds a symbol with its
 * quiet zone at every allowed rotation, plus the jitter.
 *
 * Brightness, in film units (film = 1): a point inside a milled module has
 *     milled + rim * exp(-d / rim_nm),  milled = 1 -+ contrast,
 * with d the distance to the nearest unmilled point of the 3 x 3 module
 * neighbourhood (or to the neighbourhood's border when all nine are milled,
 * which only shortens a rim already below exp(-module / rim_nm)). The rim of
 * each of the 256 neighbourhoods is tabulated at 16 x 16 points per module.
 * Missing modules are grey: halfway between film and milled, without rim.
 * Scratches multiply by 1 - depth within half their width of the segment;
 * particles add level * exp(-r^2 / 2 sigma^2). A texture from a real SEM
 * image multiplies everything.
 *
 * A pixel integrates the scene over its area by supersample^2 point samples;
 * the probe blur comes later (instrument.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "qr/qr_internal.h"
#include "semqr/image.h"
#include "sim/sim_internal.h"

/* ---- layout ------------------------------------------------------------- */

/* Half the axis-aligned extent of a side-1 square over the allowed rotations:
 * (|cos a| + |sin a|) / 2 peaks at 45 degrees (mod 90), so it is sqrt(2) / 2
 * when the range of angles holds such a point, else largest at an end. */
static double rotation_extent(const semqr_sim_options *o)
{
	double lo = o->rotation_deg - o->rotation_range_deg;
	double hi = o->rotation_deg + o->rotation_range_deg;
	if (floor((hi - 45) / 90) >= ceil((lo - 45) / 90))
		return sqrt(2.0) / 2;
	double a = lo * SIM_PI / 180, b = hi * SIM_PI / 180;
	return fmax(fabs(cos(a)) + fabs(sin(a)), fabs(cos(b)) + fabs(sin(b))) / 2;
}

semqr_status semqr__sim_layout(semqr__sim *sim, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	sim->size = semqr__size(o->version);
	double side = sim->size * o->module_nm;
	double ext = rotation_extent(o);
	if (o->pitch_um > 0) {
		sim->pitch_nm = o->pitch_um * 1000;
	} else {
		double need = (sim->size + 2 * o->quiet_modules) * o->module_nm * 2 * ext +
		              2 * o->jitter_nm;
		sim->pitch_nm = ceil(need / 100 - 1e-9) * 100;
	}
	double damage = 0;
	if (o->particles > 0)
		damage = 4 * o->particle_sigma_nm;
	if (o->scratches > 0 && o->scratch_length_nm / 2 + o->scratch_width_nm > damage)
		damage = o->scratch_length_nm / 2 + o->scratch_width_nm;
	sim->symbol_reach_nm = side * ext + o->jitter_nm + damage + o->module_nm;

	double px = o->pixel_nm;
	if (o->rows < 0) {
		sim->rows = sim->cols = 0;
	} else if (o->rows == 0) {
		sim->cols = (int)floor(o->width * px / sim->pitch_nm);
		sim->rows = (int)floor(o->height * px / sim->pitch_nm);
		if (sim->rows == 0 || sim->cols == 0)
			sim->rows = sim->cols = 0;
	} else {
		sim->rows = o->rows;
		sim->cols = o->cols;
	}
	sim->width = o->width ? o->width : (int)ceil(sim->cols * sim->pitch_nm / px - 1e-9);
	sim->height = o->height ? o->height : (int)ceil(sim->rows * sim->pitch_nm / px - 1e-9);
	if (sim->width < 1 || sim->height < 1 || sim->width > SEMQR_IMAGE_DIM_MAX ||
	    sim->height > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "simulate: image size %d x %d (grid %d x %d at pitch %g nm, "
		                   "pixel %g nm) is outside 1..%d", sim->width, sim->height,
		                   sim->rows, sim->cols, sim->pitch_nm, px, SEMQR_IMAGE_DIM_MAX);
	sim->origin_x_nm = (sim->width * px - sim->cols * sim->pitch_nm) / 2;
	sim->origin_y_nm = (sim->height * px - sim->rows * sim->pitch_nm) / 2;
	sim->symbols = (long)sim->rows * sim->cols;
	return SEMQR_OK;
}

/* ---- levels, rim table, texture ---------------------------------------- */

/* Distance from (u, v) to the unit square at (sx, sy). */
static double square_distance(double u, double v, int sx, int sy)
{
	double dx = u < sx ? sx - u : u > sx + 1 ? u - sx - 1 : 0;
	double dy = v < sy ? sy - v : v > sy + 1 ? v - sy - 1 : 0;
	return sqrt(dx * dx + dy * dy);
}

static void fill_rim_table(semqr__sim *sim)
{
	const semqr_sim_options *o = &sim->o;
	const int res = SIM_RIM_RES;
	for (int nb = 0; nb < 256; nb++) {
		for (int a = 0; a < res; a++) {
			for (int b = 0; b < res; b++) {
				double u = (b + 0.5) / res, v = (a + 0.5) / res;
				double d = fmin(fmin(u + 1, 2 - u), fmin(v + 1, 2 - v));
				for (int k = 0; k < 8; k++)
					if (!(nb >> k & 1))
						d = fmin(d, square_distance(u, v, sim_neighbour_dx[k],
						                            sim_neighbour_dy[k]));
				sim->rim_table[(nb * res + a) * res + b] =
					(float)(sim->milled + o->rim * exp(-d * o->module_nm / o->rim_nm));
			}
		}
	}
}

static semqr_status load_texture(semqr__sim *sim, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	semqr_image img = {0};
	semqr_status st = semqr_image_read(o->texture_path, &img, err);
	if (st != SEMQR_OK)
		return st;
	size_t n = (size_t)img.width * img.height;
	sim->texture = malloc(n * sizeof *sim->texture);
	if (!sim->texture) {
		semqr_image_free(&img);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: texture %s: no memory for "
		                   "%d x %d samples", o->texture_path, img.width, img.height);
	}
	double sum = 0;
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < img.width; x++) {
			size_t i = (size_t)y * img.stride + x;
			double v = img.bits == 8 ? ((const uint8_t *)img.pixels)[i]
			                         : ((const uint16_t *)img.pixels)[i];
			sim->texture[(size_t)y * img.width + x] = (float)v;
			sum += v;
		}
	double mean = sum / n;
	sim->tex_w = img.width;
	sim->tex_h = img.height;
	semqr_image_free(&img);
	if (!(mean > 0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: texture %s is black "
		                   "everywhere: nothing to modulate with", o->texture_path);
	for (size_t i = 0; i < n; i++)
		sim->texture[i] = (float)(1 + o->texture_strength * (sim->texture[i] / mean - 1));
	double tpx = o->texture_pixel_nm > 0 ? o->texture_pixel_nm : o->pixel_nm;
	sim->tex_px_per_nm = 1 / tpx;
	return SEMQR_OK;
}

static semqr_status open_payload_file(semqr__sim *sim, semqr_error *err)
{
	const char *path = sim->o.payload_file;
	FILE *f = fopen(path, "rb");
	if (!f)
		return semqr__fail(err, SEMQR_ERR_IO, "simulate: payload file %s: cannot open", path);
	int fd = dup(fileno(f));
	long end = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		end = ftell(f);
	fclose(f);
	if (fd < 0 || end <= 0) {
		if (fd >= 0)
			close(fd);
		return semqr__fail(err, end == 0 ? SEMQR_ERR_INVALID_ARGUMENT : SEMQR_ERR_IO,
		                   "simulate: payload file %s: %s", path,
		                   end == 0 ? "empty: no chunk to encode" : "cannot size it");
	}
	sim->payload_fd = fd;
	sim->payload_size = (uint64_t)end;
	return SEMQR_OK;
}

semqr_status semqr__sim_scene_prepare(semqr__sim *sim, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	double sign = o->polarity == SEMQR_SIM_MILLED_DARK ? -1 : 1;
	sim->milled = (float)(1 + sign * o->contrast);
	sim->missing = (float)((1 + sim->milled) / 2);
	sim->rim_table = malloc(256 * SIM_RIM_RES * SIM_RIM_RES * sizeof *sim->rim_table);
	if (!sim->rim_table)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for the rim table");
	fill_rim_table(sim);
	if (o->texture_path) {
		semqr_status st = load_texture(sim, err);
		if (st != SEMQR_OK)
			return st;
	}
	if (o->payload == SEMQR_SIM_PAYLOAD_FILE && sim->symbols > 0)
		return open_payload_file(sim, err);
	return SEMQR_OK;
}

/* ---- brightness of a row of pixels -------------------------------------- */

/* Texture factor at scene point (x, y) nm: bilinear, mirrored repeat. */
static float texture_at(const semqr__sim *sim, double x, double y)
{
	double tx = x * sim->tex_px_per_nm - 0.5, ty = y * sim->tex_px_per_nm - 0.5;
	double fx = floor(tx), fy = floor(ty);
	double ax = tx - fx, ay = ty - fy;
	long w = sim->tex_w, h = sim->tex_h;
	long ix[2], iy[2];
	for (int k = 0; k < 2; k++) {
		long vx = ((long)fx + k) % (2 * w), vy = ((long)fy + k) % (2 * h);
		if (vx < 0)
			vx += 2 * w;
		if (vy < 0)
			vy += 2 * h;
		ix[k] = vx < w ? vx : 2 * w - 1 - vx;
		iy[k] = vy < h ? vy : 2 * h - 1 - vy;
	}
	const float *t = sim->texture;
	double top = t[iy[0] * w + ix[0]] * (1 - ax) + t[iy[0] * w + ix[1]] * ax;
	double bot = t[iy[1] * w + ix[0]] * (1 - ax) + t[iy[1] * w + ix[1]] * ax;
	return (float)(top * (1 - ay) + bot * ay);
}

/* Brightness factor of the symbol's modules at module coordinates (u, v) of
 * the rendered matrix: 1 outside the symbol. */
static inline float module_factor(const semqr__sim *sim, const sim_symbol *s, float u, float v)
{
	if (!(u >= 0 && v >= 0 && u < s->size && v < s->size))
		return 1.0f;
	int iu = (int)u, iv = (int)v;
	unsigned w = s->cell[iv * s->size + iu];
	if (w & SIM_CELL_MISSING)
		return sim->missing;
	if (!(w & SIM_CELL_MILLED))
		return 1.0f;
	int a = (int)((v - iv) * SIM_RIM_RES), b = (int)((u - iu) * SIM_RIM_RES);
	a = a < SIM_RIM_RES ? a : SIM_RIM_RES - 1;
	b = b < SIM_RIM_RES ? b : SIM_RIM_RES - 1;
	return sim->rim_table[((w & SIM_CELL_NEIGHBOURS) * SIM_RIM_RES + a) * SIM_RIM_RES + b];
}

/* True when the samples of a pixel, spanning (u0, v0) + a (dux, dvx) + b (duy,
 * dvy) for a, b in [0, 1], all fall in one unmilled module or all beyond one
 * edge of the symbol: the pixel then shows plain film. */
static bool plain_footprint(const sim_symbol *s, float u0, float v0, float dux, float dvx,
                            float duy, float dvy)
{
	float us[4] = {u0, u0 + dux, u0 + duy, u0 + dux + duy};
	float vs[4] = {v0, v0 + dvx, v0 + dvy, v0 + dvx + dvy};
	float umin = us[0], umax = us[0], vmin = vs[0], vmax = vs[0];
	for (int k = 1; k < 4; k++) {
		umin = us[k] < umin ? us[k] : umin;
		umax = us[k] > umax ? us[k] : umax;
		vmin = vs[k] < vmin ? vs[k] : vmin;
		vmax = vs[k] > vmax ? vs[k] : vmax;
	}
	if (umax < 0 || vmax < 0 || umin >= s->size || vmin >= s->size)
		return true;
	if (umin < 0 || vmin < 0 || umax >= s->size || vmax >= s->size)
		return false;
	int iu = (int)umin, iv = (int)vmin;
	if ((int)umax != iu || (int)vmax != iv)
		return false;
	return !(s->cell[iv * s->size + iu] & (SIM_CELL_MILLED | SIM_CELL_MISSING));
}

/* Scratches and particles at scene point (x, y) applied to factor f. */
static float damage_factor(const semqr__sim *sim, const sim_symbol *s, double x, double y,
                           float f)
{
	const semqr_sim_options *o = &sim->o;
	for (int k = 0; k < s->nscratches; k++) {
		const sim_scratch *c = &s->scratch[k];
		double dx = c->x1 - c->x0, dy = c->y1 - c->y0;
		double len2 = dx * dx + dy * dy;
		double t = len2 > 0 ? ((x - c->x0) * dx + (y - c->y0) * dy) / len2 : 0;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
		double ex = x - c->x0 - t * dx, ey = y - c->y0 - t * dy;
		if (4 * (ex * ex + ey * ey) < o->scratch_width_nm * o->scratch_width_nm)
			f *= (float)(1 - o->scratch_depth);
	}
	for (int k = 0; k < s->nparticles; k++) {
		double dx = x - s->particle[k].x, dy = y - s->particle[k].y;
		double r2 = (dx * dx + dy * dy) / (o->particle_sigma_nm * o->particle_sigma_nm);
		if (r2 < 16)
			f += (float)(o->particle_level * exp(-0.5 * r2));
	}
	return f;
}

void semqr__sim_ideal_row(const semqr__sim *sim, const sim_cache *c, int x0, int n,
                          const float *qx, const float *qy, float *dev, float *out)
{
	const semqr_sim_options *o = &sim->o;
	const double px = o->pixel_nm;
	const int ss = o->supersample;
	const float film = (float)o->film_level;

	double ymin = INFINITY, ymax = -INFINITY, dxmax = 0;
	for (int i = 0; i < n; i++) {
		double cx = qx[i] + 0.5 * px, cy = qy[i] + 0.5 * px;
		out[i] = sim->texture ? film * texture_at(sim, cx, cy) : film;
		dev[i] = 0;
		double dx = fabs(qx[i] - (double)(x0 + i) * px);
		ymin = qy[i] < ymin ? qy[i] : ymin;
		ymax = qy[i] + px > ymax ? qy[i] + px : ymax;
		dxmax = dx > dxmax ? dx : dxmax;
	}

	for (long k = 0; k < (long)c->count * c->cols; k++) {
		const sim_symbol *s = &c->sym[k];
		if (s->by1 < ymin || s->by0 > ymax)
			continue;
		long i0 = (long)floor((s->bx0 - dxmax) / px) - 1 - x0;
		long i1 = (long)ceil((s->bx1 + dxmax) / px) + 1 - x0;
		i0 = i0 < 0 ? 0 : i0;
		i1 = i1 > n ? n : i1;
		if (i0 >= i1)
			continue;
		/* Module coordinates: m = R(-angle) (q - centre) / module + size / 2. */
		double inv = 1 / o->module_nm, h = s->size / 2.0;
		double ca = s->cos_a * inv, sa = s->sin_a * inv;
		double step = px / ss;
		float du_x = (float)(ca * step), dv_x = (float)(-sa * step);
		float du_y = (float)(sa * step), dv_y = (float)(ca * step);
		bool damaged = s->nparticles || s->nscratches;
		float norm = 1.0f / (float)(ss * ss);
		for (long i = i0; i < i1; i++) {
			double rx = qx[i] + 0.5 * step - s->cx, ry = qy[i] + 0.5 * step - s->cy;
			float u0 = (float)(rx * ca + ry * sa + h), v0 = (float)(-rx * sa + ry * ca + h);
			if (!damaged && plain_footprint(s, u0, v0, (ss - 1) * du_x, (ss - 1) * dv_x,
			                                (ss - 1) * du_y, (ss - 1) * dv_y))
				continue;
			float sum = 0;
			for (int b = 0; b < ss; b++) {
				float ub = u0 + b * du_y, vb = v0 + b * dv_y;
				for (int a = 0; a < ss; a++) {
					float f = module_factor(sim, s, ub + a * du_x, vb + a * dv_x);
					if (damaged)
						f = damage_factor(sim, s, qx[i] + (a + 0.5) * step,
						                  qy[i] + (b + 0.5) * step, f);
					sum += f - 1.0f;
				}
			}
			dev[i] += sum * norm;
		}
	}
	for (int i = 0; i < n; i++)
		out[i] *= 1.0f + dev[i];
}
