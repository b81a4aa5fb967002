/* Finder patterns from run candidates: a spatial hash of points, and the
 * clustering of row and column candidates that cross at a finder's centre
 * (contracts in locate.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "locate/locate.h"

/* ---- spatial hash ----------------------------------------------------------- */

/* Mixes a cell's coordinates into a bucket number (multiply-xorshift). */
static uint32_t cell_hash(int32_t cx, int32_t cy)
{
	uint32_t h = (uint32_t)cx * 0x9E3779B1u ^ (uint32_t)cy * 0x85EBCA77u;
	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	h ^= h >> 12;
	return h;
}

int32_t semqr__spatial_hash_cell(const semqr__spatial_hash *h, float coord)
{
	float c = floorf(coord / h->cell);
	/* Clamped well inside int32, so that callers may add small spans. */
	if (!(c > -1073741824.0f))
		return -1073741824;
	if (c > 1073741824.0f)
		return 1073741824;
	return (int32_t)c;
}

semqr_status semqr__spatial_hash_build(semqr__spatial_hash *h, const float *x, const float *y,
                                       int step, int n, float cell, semqr_error *err)
{
	memset(h, 0, sizeof *h);
	h->cell = cell;
	uint32_t slots = 1;
	while (slots < 2u * (uint32_t)n && slots < (1u << 30))
		slots <<= 1;
	h->mask = slots - 1;
	size_t pts = n > 0 ? (size_t)n : 1;
	h->start = calloc((size_t)slots + 1, sizeof *h->start);
	h->index = malloc(pts * sizeof *h->index);
	h->cx = malloc(pts * sizeof *h->cx);
	h->cy = malloc(pts * sizeof *h->cy);
	if (!h->start || !h->index || !h->cx || !h->cy) {
		semqr__spatial_hash_free(h);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "locate: spatial hash of %d points: out of memory", n);
	}
	/* Counting sort by bucket: counts, running ends, then filled from the
	 * back so that each start[b] ends at its bucket's beginning. */
	for (int i = 0; i < n; i++) {
		h->cx[i] = semqr__spatial_hash_cell(h, x[(size_t)i * (size_t)step]);
		h->cy[i] = semqr__spatial_hash_cell(h, y[(size_t)i * (size_t)step]);
		h->start[cell_hash(h->cx[i], h->cy[i]) & h->mask]++;
	}
	for (uint32_t b = 1; b <= slots; b++)
		h->start[b] += h->start[b - 1];
	for (int i = n - 1; i >= 0; i--)
		h->index[--h->start[cell_hash(h->cx[i], h->cy[i]) & h->mask]] = i;
	return SEMQR_OK;
}

void semqr__spatial_hash_free(semqr__spatial_hash *h)
{
	free(h->start);
	free(h->index);
	free(h->cx);
	free(h->cy);
	memset(h, 0, sizeof *h);
}

void semqr__spatial_hash_bucket(const semqr__spatial_hash *h, int32_t cx, int32_t cy, int *begin,
                                int *end)
{
	uint32_t b = cell_hash(cx, cy) & h->mask;
	*begin = h->start[b];
	*end = h->start[b + 1];
}

/* ---- clustering ------------------------------------------------------------- */

/* Linking: centres within LINK_REACH smaller modules, modules within a factor
 * MODULE_RATIO, same polarity. The candidates that take part (usable, module
 * at most MAX_SPAN times the median, which bounds the cells a search visits)
 * are sorted into a grid of square cells over their bounding box, LINK_REACH
 * median modules wide (wider when the box would need more than 4 n + 4096
 * cells: far-flung candidates cost cells, not time), row by row and within a
 * cell by increasing index. Links are symmetric, so every candidate looks
 * for links only to the candidates after it in the cells within its reach
 * (each pair is tested once), walking each cell from its end down to its
 * own index. It visits at most MAX_CHECKS grid entries, which bounds the
 * time on degenerate input (thousands of candidates at one spot: each still
 * links to the last ones there, which link to each other) and never binds
 * on a real finder (a few dozen candidates in its cells). */
#define LINK_REACH 1.5f
#define MODULE_RATIO 1.5f
#define MAX_CHECKS 1024
#define MAX_SPAN 16.0f

/* k-th smallest of v[0..n-1] (reorders v); Hoare partition quickselect. */
static float select_kth(float *v, int n, int k)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		float pivot = v[lo + (hi - lo) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				float t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static int find_root(int *parent, int i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

/* Sums over one cluster's candidates of one axis: count, module, and the
 * moments of (across, along), across being the line index (y for rows). */
typedef struct axis_sums {
	int n;
	double m, a, b, aa, ab;
} axis_sums;

typedef struct cluster {
	axis_sums axis[2];
	int first;
} cluster;


static int usable(const semqr__run_candidate *c)
{
	return isfinite(c->x) && isfinite(c->y) && isfinite(c->module) && c->module > 0.0f
	       && (c->polarity == 0 || c->polarity == 1) && (c->axis == 0 || c->axis == 1);
}

/* The line along which the candidates of one axis lie: along = mean_b + slope
 * (across - mean_a), slope clamped to [-1, 1] and 0 when the lines span less
 * than about one pixel. */
static void fit_line(const axis_sums *s, double *mean_a, double *mean_b, double *slope)
{
	*mean_a = s->a / s->n;
	*mean_b = s->b / s->n;
	double saa = s->aa - s->a * *mean_a;
	double sab = s->ab - s->a * *mean_b;
	*slope = saa > 0.25 * s->n ? sab / saa : 0.0;
	if (*slope > 1.0)
		*slope = 1.0;
	if (*slope < -1.0)
		*slope = -1.0;
}

/* A cluster of one axis only is a finder when its lines cover at least
 * ONE_AXIS_LINES of its module sizes: a finder whose runs across the other
 * axis all failed the run test (noise widening one ring past the stage's
 * tolerance) is still crossed by most of the 3 module sizes of lines
 * through its centre; a chance 1:1:3:1:1 run in data rarely repeats over
 * that many lines. Its centre is then the mean line, and along the lines
 * the mean of the run centres. */
#define ONE_AXIS_LINES 1.5

/* Turns one cluster into a finder; returns 0 when it is not one. */
static int make_finder(const cluster *c, int polarity, semqr__finder *f)
{
	const axis_sums *r = &c->axis[0], *k = &c->axis[1];
	if (r->n == 0 || k->n == 0) {
		const axis_sums *one = r->n ? r : k;
		double m = one->m / one->n;
		if (one->n < ONE_AXIS_LINES * m)
			return 0;
		double across = one->a / one->n, along = one->b / one->n;
		f->x = (float)(one == r ? along : across);
		f->y = (float)(one == r ? across : along);
		f->module = (float)m;
		f->polarity = polarity;
		f->support = one->n;
		return 1;
	}
	double mr = r->m / r->n, mc = k->m / k->n;
	if (mr > MODULE_RATIO * mc || mc > MODULE_RATIO * mr)
		return 0;
	/* Rows: x = xr + a (y - yr); columns: y = yc + b (x - xc). */
	double yr, xr, a, xc, yc, b;
	fit_line(r, &yr, &xr, &a);
	fit_line(k, &xc, &yc, &b);
	double det = 1.0 - a * b;
	double x, y;
	if (det < 0.5) {
		x = xr;
		y = yc;
	} else {
		x = (xr + a * (yc - yr - b * xc)) / det;
		y = yc + b * (x - xc);
	}
	double m = (r->m + k->m) / (r->n + k->n);
	if (fabs(x - xc) > LINK_REACH * m || fabs(y - yr) > LINK_REACH * m)
		return 0;
	f->x = (float)x;
	f->y = (float)y;
	f->module = (float)m;
	f->polarity = polarity;
	f->support = r->n + k->n;
	return 1;
}

/* A candidate in the linking grid. */
typedef struct entry {
	float x, y, module;
	int index, polarity;
} entry;

/* The cell of coordinate v on an axis of `cells` cells from origin o, with
 * inv the reciprocal of the cells' side, clamped to the grid. Monotonic in
 * v, so the cells between those of v - r and v + r hold every point within
 * r of v. */
static int grid_cell(float v, float o, float inv, int cells)
{
	float c = (v - o) * inv;
	return !(c >= 0.0f) ? 0 : c >= (float)cells ? cells - 1 : (int)c;
}

/* Links the candidates within reach of each other (see above) in the
 * union-find forest parent (each root the smallest index of its tree).
 * Returns 0 when out of memory. */
static int link_candidates(const semqr__run_candidate *cands, int n, float max_module, float cell,
                           int *parent)
{
	float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
	int parts = 0;
	for (int i = 0; i < n; i++) {
		parent[i] = i;
		const semqr__run_candidate *c = &cands[i];
		if (!usable(c) || c->module > max_module)
			continue;
		x0 = c->x < x0 ? c->x : x0;
		x1 = c->x > x1 ? c->x : x1;
		y0 = c->y < y0 ? c->y : y0;
		y1 = c->y > y1 ? c->y : y1;
		parts++;
	}
	if (parts == 0)
		return 1;
	/* Cells: at most 4 n + 4096, the side grown as needed (the spans are
	 * finite: differences of finite floats, in double). */
	double wx = (double)x1 - x0, wy = (double)y1 - y0, side = cell;
	while ((floor(wx / side) + 1.0) * (floor(wy / side) + 1.0) > 4.0 * n + 4096.0)
		side *= 2.0;
	float inv = (float)(1.0 / side);
	int gw = (int)floor(wx / side) + 1, gh = (int)floor(wy / side) + 1;
	int *start = calloc((size_t)gw * (size_t)gh + 1, sizeof *start);
	int *cellof = malloc((size_t)n * sizeof *cellof);
	entry *e = malloc((size_t)parts * sizeof *e);
	if (!start || !cellof || !e) {
		free(start);
		free(cellof);
		free(e);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const semqr__run_candidate *c = &cands[i];
		cellof[i] = -1;
		if (!usable(c) || c->module > max_module)
			continue;
		cellof[i] = grid_cell(c->y, y0, inv, gh) * gw + grid_cell(c->x, x0, inv, gw);
		start[cellof[i] + 1]++;
	}
	for (int k = 0; k < gw * gh; k++)
		start[k + 1] += start[k];
	/* Filled in increasing index: start[k] moves to cell k's end. */
	for (int i = 0; i < n; i++)
		if (cellof[i] >= 0) {
			const semqr__run_candidate *c = &cands[i];
			e[start[cellof[i]]++] = (entry){c->x, c->y, c->module, i, c->polarity};
		}
	for (int k = gw * gh; k > 0; k--)
		start[k] = start[k - 1];
	start[0] = 0;

	for (int i = 0; i < n; i++) {
		if (cellof[i] < 0)
			continue;
		const semqr__run_candidate *ci = &cands[i];
		float mi = ci->module, reach = LINK_REACH * mi;
		int cx0 = grid_cell(ci->x - reach, x0, inv, gw), cx1 = grid_cell(ci->x + reach, x0, inv, gw);
		int cy0 = grid_cell(ci->y - reach, y0, inv, gh), cy1 = grid_cell(ci->y + reach, y0, inv, gh);
		int checks = 0, ri = find_root(parent, i);
		for (int cy = cy0; cy <= cy1 && checks < MAX_CHECKS; cy++)
			for (int cx = cx0; cx <= cx1 && checks < MAX_CHECKS; cx++) {
				int k = cy * gw + cx;
				for (int p = start[k + 1] - 1; p >= start[k] && checks < MAX_CHECKS;
				     p--, checks++) {
					const entry *ej = &e[p];
					if (ej->index <= i)
						break;
					if (ej->polarity != ci->polarity)
						continue;
					float mmin = ej->module < mi ? ej->module : mi;
					float mmax = ej->module < mi ? mi : ej->module;
					float dx = ej->x - ci->x, dy = ej->y - ci->y;
					float r = LINK_REACH * mmin;
					if (mmax > MODULE_RATIO * mmin || dx * dx + dy * dy > r * r)
						continue;
					/* i's root changes only by its own links */
					int rj = find_root(parent, ej->index);
					if (ri != rj) {
						parent[ri > rj ? ri : rj] = ri < rj ? ri : rj;
						ri = ri < rj ? ri : rj;
					}
				}
			}
	}
	free(start);
	free(cellof);
	free(e);
	return 1;
}

semqr_status semqr__finders_cluster(const semqr__run_candidate *cands, int n, semqr__finder *out,
                                    int *count, semqr_error *err)
{
	*count = 0;
	if (n <= 0)
		return SEMQR_OK;
	int *parent = malloc((size_t)n * sizeof *parent);
	float *modules = malloc((size_t)n * sizeof *modules);
	cluster *cl = calloc((size_t)n, sizeof *cl);
	if (!parent || !modules || !cl) {
		free(parent);
		free(modules);
		free(cl);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "locate: clustering %d finder candidates: out of memory", n);
	}
	int valid = 0;
	for (int i = 0; i < n; i++)
		if (usable(&cands[i]))
			modules[valid++] = cands[i].module;
	if (valid == 0) {
		free(parent);
		free(modules);
		free(cl);
		return SEMQR_OK;
	}
	float median = select_kth(modules, valid, valid / 2);
	free(modules);
	float max_module = MAX_SPAN * median;

	if (!link_candidates(cands, n, max_module, LINK_REACH * median, parent)) {
		free(parent);
		free(cl);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "locate: clustering %d finder candidates: out of memory", n);
	}

	/* Roots are the smallest index of their component (links always point
	 * to the smaller root), hence each cluster's first candidate. */
	for (int i = 0; i < n; i++) {
		const semqr__run_candidate *c = &cands[i];
		if (!usable(c) || c->module > max_module)
			continue;
		cluster *k = &cl[find_root(parent, i)];
		axis_sums *s = &k->axis[c->axis];
		double across = c->axis == 0 ? c->y : c->x;
		double along = c->axis == 0 ? c->x : c->y;
		s->n++;
		s->m += c->module;
		s->a += across;
		s->b += along;
		s->aa += across * across;
		s->ab += across * along;
	}
	int found = 0;
	for (int i = 0; i < n; i++)
		if (parent[i] == i && usable(&cands[i]) && cands[i].module <= max_module
		    && make_finder(&cl[i], cands[i].polarity, &out[found]))
			found++;
	*count = found;
	free(parent);
	free(cl);
	return SEMQR_OK;
}
