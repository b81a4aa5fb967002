/* Stack registration: every frame against frame 0 over a grid of tiles, and
 * the robust shift field made of it (contracts in drift/register.h).
 *
 * Order of work: for each row of tiles, the band of rows it covers is read
 * from frame 0 and every tile of it becomes a reference (one slot per tile),
 * then the same band of each later frame is read and its tiles registered.
 * Bands are read with increasing y0 per page, as the scan reader prefers.
 * Once all rows are done, each frame's tiles are combined: weak peaks and
 * outliers are replaced by a least-squares plane through the others. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error_internal.h"
#include "drift/register.h"

struct semqr__drift {
	int frames, nx, ny, tw, th;
	double cx0, cy0, step_x, step_y; /* centre of tile (0, 0) and grid spacing */
	semqr__shift *meas;              /* [frame][j][i] as measured */
	unsigned char *used;             /* [frame][j][i]: 1 when it shapes the field */
	float *field;                    /* [frame][j][i][2]: the final node values */
	semqr__drift_times times;
};

/* Where bands come from: a scan, or frames in memory. */
typedef struct source {
	semqr_scan *scan;
	const void *const *frames;
	size_t stride;
	int width, bits;
	void *raw; /* a band at the native depth, for the scan */
} source;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void semqr__drift_options_init(semqr__drift_options *o)
{
	o->tile = 256;
	o->upsample = 20;
	o->lowpass = 0.15;
	o->overlap = 0;
	o->min_quality = SEMQR__REGISTER_MIN_QUALITY;
	o->outlier_px = 1;
}

/* Reads rows y0 .. y0 + rows - 1 of frame k as floats into out (stride
 * width). */
static semqr_status read_band(source *s, int k, int y0, int rows, float *out, semqr_error *err)
{
	size_t w = (size_t)s->width;
	const void *base;
	size_t stride;
	if (s->scan) {
		semqr_status st = semqr_scan_read_rows(s->scan, k, y0, rows, s->raw, w, err);
		if (st != SEMQR_OK)
			return st;
		base = s->raw;
		stride = w;
		y0 = 0;
	} else {
		base = s->frames[k];
		stride = s->stride;
	}
	for (int y = 0; y < rows; y++) {
		size_t row = (size_t)(y0 + y) * stride;
		float *o = out + (size_t)y * w;
		if (s->bits == 8) {
			const uint8_t *p = (const uint8_t *)base + row;
			for (size_t x = 0; x < w; x++)
				o[x] = p[x];
		} else {
			const uint16_t *p = (const uint16_t *)base + row;
			for (size_t x = 0; x < w; x++)
				o[x] = p[x];
		}
	}
	return SEMQR_OK;
}

/* Tiles along one axis of `side` pixels: count, first origin and step. */
static void layout(int side, int tile, double overlap, int *count, int *first, int *step)
{
	int nominal = (int)lround(tile * (1 - overlap));
	if (nominal < 1)
		nominal = 1;
	int n = 1 + (side - tile) / nominal;
	int st = n > 1 ? (side - tile) / (n - 1) : 0;
	*count = n;
	*step = st;
	*first = (side - (tile + (n - 1) * st)) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n-1] (n >= 1), sorting v. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Least-squares fit of val = p0 + p1 u + p2 v over the n points, with the
 * terms in u or v dropped when `use_u` or `use_v` is 0 or the points do not
 * determine them (collinear): solved by Gaussian elimination with partial
 * pivoting on the normal equations, then retried with fewer terms. */
static void fit_plane(const double *u, const double *v, const double *val, int n, int use_u,
                      int use_v, double p[3])
{
	for (int attempt = 0; attempt < 3; attempt++) {
		double a[3][4] = {{0}};
		int on[3] = {1, use_u, use_v};
		for (int k = 0; k < n; k++) {
			double b[3] = {1, u[k], v[k]};
			for (int r = 0; r < 3; r++)
				for (int c = 0; c < 3; c++)
					a[r][c] += on[r] && on[c] ? b[r] * b[c] : 0;
			for (int r = 0; r < 3; r++)
				a[r][3] += on[r] ? b[r] * val[k] : 0;
		}
		for (int r = 0; r < 3; r++)
			if (!on[r])
				a[r][r] = 1;
		int ok = 1;
		for (int c = 0; c < 3 && ok; c++) {
			int piv = c;
			for (int r = c + 1; r < 3; r++)
				if (fabs(a[r][c]) > fabs(a[piv][c]))
					piv = r;
			if (fabs(a[piv][c]) < 1e-9 * (n + 1)) {
				ok = 0;
				break;
			}
			for (int k = 0; k < 4; k++) {
				double t = a[c][k];
				a[c][k] = a[piv][k];
				a[piv][k] = t;
			}
			for (int r = 0; r < 3; r++)
				if (r != c) {
					double f = a[r][c] / a[c][c];
					for (int k = c; k < 4; k++)
						a[r][k] -= f * a[c][k];
				}
		}
		if (ok) {
			for (int r = 0; r < 3; r++)
				p[r] = a[r][3] / a[r][r];
			return;
		}
		/* Drop the v term first, then u as well. */
		if (use_v)
			use_v = 0;
		else
			use_u = 0;
	}
	p[0] = p[1] = p[2] = 0;
}

/* Builds frame k's field from its measurements (see register.h). */
static void combine(semqr__drift *d, int k, const semqr__drift_options *o, double *scratch)
{
	size_t nt = (size_t)d->nx * (size_t)d->ny, nx = (size_t)d->nx;
	const semqr__shift *m = d->meas + (size_t)k * nt;
	unsigned char *used = d->used + (size_t)k * nt;
	float *f = d->field + (size_t)k * nt * 2;
	double *ax = scratch, *ay = scratch + nt, *au = scratch + 2 * nt, *av = scratch + 3 * nt;
	int n = 0;
	for (size_t t = 0; t < nt; t++)
		if (m[t].quality >= o->min_quality) {
			ax[n] = m[t].dx;
			ay[n++] = m[t].dy;
		}
	memset(used, 0, nt);
	if (k == 0 || n == 0) {
		memset(f, 0, nt * 2 * sizeof *f);
		return;
	}
	double mx = median(ax, n), my = median(ay, n);
	for (int i = 0; i < n; i++)
		ax[i] = hypot(ax[i] - mx, ay[i] - my);
	double limit = fmax(o->outlier_px, 4 * 1.4826 * median(ax, n));
	n = 0;
	for (size_t t = 0; t < nt; t++)
		if (m[t].quality >= o->min_quality && hypot(m[t].dx - mx, m[t].dy - my) <= limit) {
			used[t] = 1;
			au[n] = (double)(t % nx);
			av[n] = (double)(t / nx);
			ax[n] = m[t].dx;
			ay[n++] = m[t].dy;
		}
	double px[3], py[3];
	fit_plane(au, av, ax, n, d->nx > 1, d->ny > 1, px);
	fit_plane(au, av, ay, n, d->nx > 1, d->ny > 1, py);
	for (size_t t = 0; t < nt; t++) {
		double i = (double)(t % nx), j = (double)(t / nx);
		f[2 * t] = (float)(used[t] ? m[t].dx : px[0] + px[1] * i + px[2] * j);
		f[2 * t + 1] = (float)(used[t] ? m[t].dy : py[0] + py[1] * i + py[2] * j);
	}
}

static semqr_status measure(source *s, int count, int width, int height,
                            const semqr__drift_options *o, semqr__drift **out,
                            semqr_error *err)
{
	*out = NULL;
	if (count < 1 || width < 2 || height < 2 || o->tile < 2 ||
	    !(o->overlap >= 0 && o->overlap <= 0.9) || !(o->outlier_px >= 0) ||
	    !(o->min_quality >= 0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "drift measurement: %d frames of %d x %d, tile %d, overlap %g, "
		                   "outlier %g px, min quality %g: out of range",
		                   count, width, height, o->tile, o->overlap, o->outlier_px,
		                   o->min_quality);
	semqr__drift *d = calloc(1, sizeof *d);
	if (!d)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "drift measurement: out of memory");
	d->frames = count;
	d->tw = o->tile < width ? o->tile : width;
	d->th = o->tile < height ? o->tile : height;
	int fx, fy, sx, sy;
	layout(width, d->tw, o->overlap, &d->nx, &fx, &sx);
	layout(height, d->th, o->overlap, &d->ny, &fy, &sy);
	d->cx0 = fx + 0.5 * (d->tw - 1);
	d->cy0 = fy + 0.5 * (d->th - 1);
	d->step_x = sx > 0 ? sx : 1;
	d->step_y = sy > 0 ? sy : 1;
	size_t nt = (size_t)d->nx * (size_t)d->ny, cells = nt * (size_t)count;
	d->meas = calloc(cells, sizeof *d->meas);
	d->used = calloc(cells, 1);
	d->field = calloc(cells * 2, sizeof *d->field);
	size_t band = (size_t)width * (size_t)d->th;
	float *ref = malloc(band * sizeof *ref), *mov = malloc(band * sizeof *mov);
	double *scratch = malloc(4 * nt * sizeof *scratch);
	if (s->scan)
		s->raw = malloc(band * (size_t)(s->bits / 8));
	semqr__register *reg = NULL;
	semqr_status st = SEMQR_OK;
	if (!d->meas || !d->used || !d->field || !ref || !mov || !scratch ||
	    (s->scan && !s->raw))
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                 "drift measurement: out of memory for %d x %d tiles of %d x %d",
		                 d->nx, d->ny, d->tw, d->th);
	if (st == SEMQR_OK)
		st = semqr__register_create(d->tw, d->th, o->upsample, o->lowpass, d->nx, &reg, err);
	for (int j = 0; j < d->ny && st == SEMQR_OK && count > 1; j++) {
		int y0 = fy + j * sy;
		double t0 = now();
		st = read_band(s, 0, y0, d->th, ref, err);
		d->times.read += now() - t0;
		for (int i = 0; i < d->nx && st == SEMQR_OK; i++)
			semqr__register_set_reference(reg, i, ref + fx + i * sx, (size_t)width);
		for (int k = 1; k < count && st == SEMQR_OK; k++) {
			t0 = now();
			st = read_band(s, k, y0, d->th, mov, err);
			d->times.read += now() - t0;
			for (int i = 0; i < d->nx && st == SEMQR_OK; i++)
				semqr__register_tile(reg, i, mov + fx + i * sx, (size_t)width,
				                     &d->meas[(size_t)k * nt + (size_t)j * (size_t)d->nx +
				                              (size_t)i]);
		}
	}
	if (reg)
		d->times.reg = semqr__register_get_times(reg);
	if (st == SEMQR_OK) {
		double t0 = now();
		for (int k = 0; k < count; k++)
			combine(d, k, o, scratch);
		d->times.combine = now() - t0;
	}
	semqr__register_destroy(reg);
	free(ref);
	free(mov);
	free(scratch);
	free(s->raw);
	s->raw = NULL;
	if (st != SEMQR_OK) {
		semqr__drift_destroy(d);
		return st;
	}
	*out = d;
	return SEMQR_OK;
}

size_t semqr__drift_bytes(int width, int height, int bits, int pages,
                          const semqr__drift_options *o)
{
	int tw = o->tile < width ? o->tile : width, th = o->tile < height ? o->tile : height;
	int nx, ny, first, step;
	layout(width, tw, o->overlap, &nx, &first, &step);
	layout(height, th, o->overlap, &ny, &first, &step);
	size_t band = (size_t)width * (size_t)th;
	size_t spectrum = (size_t)th * (size_t)(tw / 2 + 1) * 2 * sizeof(float);
	size_t cells = (size_t)nx * (size_t)ny * (size_t)pages;
	return band * (2 * sizeof(float) + (size_t)bits / 8) /* ref, mov, raw */
	       + spectrum * ((size_t)nx + 3)                /* references, spec, cross, work */
	       + 2 * (size_t)tw * (size_t)th * sizeof(float) /* tile, corr */
	       + cells * (sizeof(semqr__shift) + 1 + 2 * sizeof(float)) /* meas, used, field */
	       + 4 * (size_t)nx * (size_t)ny * sizeof(double);           /* scratch */
}

semqr_status semqr__drift_measure(semqr_scan *scan, const semqr__drift_options *opts,
                                  semqr__drift **out, semqr_error *err)
{
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	source s = {scan, NULL, 0, info.width, info.bits, NULL};
	return measure(&s, info.pages, info.width, info.height, opts, out, err);
}

semqr_status semqr__drift_measure_frames(const void *const *frames, int count, int width,
                                         int height, size_t stride, int bits,
                                         const semqr__drift_options *opts, semqr__drift **out,
                                         semqr_error *err)
{
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "drift measurement: %d-bit frames (8 or 16)", bits);
	source s = {NULL, frames, stride, width, bits, NULL};
	return measure(&s, count, width, height, opts, out, err);
}

void semqr__drift_destroy(semqr__drift *d)
{
	if (!d)
		return;
	free(d->meas);
	free(d->used);
	free(d->field);
	free(d);
}

int semqr__drift_frames(const semqr__drift *d)
{
	return d->frames;
}

void semqr__drift_grid(const semqr__drift *d, int *nx, int *ny)
{
	*nx = d->nx;
	*ny = d->ny;
}

void semqr__drift_tile(const semqr__drift *d, int frame, int i, int j, double *cx, double *cy,
                       semqr__shift *measured, int *used)
{
	size_t t = (size_t)frame * (size_t)d->nx * (size_t)d->ny + (size_t)j * (size_t)d->nx +
	           (size_t)i;
	*cx = d->cx0 + i * d->step_x;
	*cy = d->cy0 + j * d->step_y;
	*measured = d->meas[t];
	*used = d->used[t];
}

/* Position of coordinate v on a grid axis of n nodes: the node index i0 and
 * the weight of node i0 + 1, constant beyond the end nodes. */
static void axis(double v, double first, double step, int n, int *i0, double *frac)
{
	double g = (v - first) / step;
	if (n == 1 || g <= 0) {
		*i0 = 0;
		*frac = 0;
	} else if (g >= n - 1) {
		*i0 = n - 2;
		*frac = 1;
	} else {
		*i0 = (int)g;
		*frac = g - *i0;
	}
}

void semqr__drift_shift_at(const semqr__drift *d, int frame, double x, double y, double *dx,
                           double *dy)
{
	int i0, j0;
	double fx, fy;
	axis(x, d->cx0, d->step_x, d->nx, &i0, &fx);
	axis(y, d->cy0, d->step_y, d->ny, &j0, &fy);
	const float *f = d->field + (size_t)frame * (size_t)d->nx * (size_t)d->ny * 2;
	int i1 = d->nx > 1 ? i0 + 1 : i0, j1 = d->ny > 1 ? j0 + 1 : j0;
	for (int c = 0; c < 2; c++) {
		double a = f[2 * (j0 * d->nx + i0) + c], b = f[2 * (j0 * d->nx + i1) + c];
		double e = f[2 * (j1 * d->nx + i0) + c], g = f[2 * (j1 * d->nx + i1) + c];
		double top = a + (b - a) * fx, bottom = e + (g - e) * fx;
		*(c ? dy : dx) = top + (bottom - top) * fy;
	}
}

int semqr__drift_frame_shift(const semqr__drift *d, int frame, double *dx, double *dy)
{
	int nt = d->nx * d->ny, used = 0;
	double *v = malloc(2 * (size_t)nt * sizeof *v);
	const float *f = d->field + (size_t)frame * (size_t)nt * 2;
	for (int t = 0; t < nt; t++)
		used += d->used[(size_t)frame * (size_t)nt + (size_t)t];
	if (!v) {
		*dx = f[0];
		*dy = f[1];
		return used;
	}
	for (int t = 0; t < nt; t++) {
		v[t] = f[2 * t];
		v[nt + t] = f[2 * t + 1];
	}
	*dx = median(v, nt);
	*dy = median(v + nt, nt);
	free(v);
	return used;
}

void semqr__drift_velocity(const semqr__drift *d, double frame_period_s, double *vx, double *vy)
{
	double st = 0, sxx = 0, sx = 0, sy = 0, stx = 0, sty = 0;
	int n = 0;
	for (int k = 0; k < d->frames; k++) {
		double dx, dy;
		if (k > 0 && semqr__drift_frame_shift(d, k, &dx, &dy) == 0)
			continue;
		if (k == 0)
			dx = dy = 0;
		double t = k * frame_period_s;
		st += t;
		sxx += t * t;
		sx += dx;
		sy += dy;
		stx += t * dx;
		sty += t * dy;
		n++;
	}
	double den = n * sxx - st * st;
	*vx = n >= 2 && den > 0 ? (n * stx - st * sx) / den : 0;
	*vy = n >= 2 && den > 0 ? (n * sty - st * sy) / den : 0;
}

void semqr__drift_field(const semqr__drift *d, int frame, float *nodes, float *x0, float *y0,
                        float *step_x, float *step_y)
{
	size_t nt = (size_t)d->nx * (size_t)d->ny;
	memcpy(nodes, d->field + (size_t)frame * nt * 2, nt * 2 * sizeof *nodes);
	*x0 = (float)d->cx0;
	*y0 = (float)d->cy0;
	*step_x = (float)d->step_x;
	*step_y = (float)d->step_y;
}

semqr__drift_times semqr__drift_get_times(const semqr__drift *d)
{
	return d->times;
}
