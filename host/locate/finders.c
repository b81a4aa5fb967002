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
 * MODULE_RATIO. Links are symmetric, so every candidate looks for links to
 * the candidates after it only (each pair is tested once): a bucket holds
 * its candidates in increasing order, and the search walks it from the end
 * down to its own index. It visits at most MAX_CHECKS hash entries, which
 * bounds the time on degenerate input (thousands of candidates at one spot:
 * each still links to the last ones there, which link to each other) and
 * never binds on a real finder (a few dozen candidates in its cells). Candidates
 * with modules beyond MAX_SPAN times the median are ignored, which bounds
 * the cells a query visits. */
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

	semqr__spatial_hash h;
	semqr_status st = semqr__spatial_hash_build(&h, &cands[0].x, &cands[0].y,
	                                            (int)(sizeof *cands / sizeof(float)), n,
	                                            LINK_REACH * median, err);
	if (st != SEMQR_OK) {
		free(parent);
		free(cl);
		return st;
	}
	for (int i = 0; i < n; i++)
		parent[i] = i;

	for (int i = 0; i < n; i++) {
		const semqr__run_candidate *ci = &cands[i];
		if (!usable(ci) || ci->module > max_module)
			continue;
		float reach = LINK_REACH * ci->module;
		int32_t x0 = semqr__spatial_hash_cell(&h, ci->x - reach);
		int32_t x1 = semqr__spatial_hash_cell(&h, ci->x + reach);
		int32_t y0 = semqr__spatial_hash_cell(&h, ci->y - reach);
		int32_t y1 = semqr__spatial_hash_cell(&h, ci->y + reach);
		int checks = 0;
		for (int32_t cy = y0; cy <= y1 && checks < MAX_CHECKS; cy++)
			for (int32_t cx = x0; cx <= x1 && checks < MAX_CHECKS; cx++) {
				int begin, end;
				semqr__spatial_hash_bucket(&h, cx, cy, &begin, &end);
				for (int p = end - 1; p >= begin && checks < MAX_CHECKS; p--, checks++) {
					int j = h.index[p];
					if (j <= i)
						break;
					if (h.cx[j] != cx || h.cy[j] != cy)
						continue;
					const semqr__run_candidate *cj = &cands[j];
					if (!usable(cj) || cj->polarity != ci->polarity
					    || cj->module > max_module)
						continue;
					float mmin = fminf(ci->module, cj->module);
					float mmax = fmaxf(ci->module, cj->module);
					float dx = cj->x - ci->x, dy = cj->y - ci->y;
					float r = LINK_REACH * mmin;
					if (mmax > MODULE_RATIO * mmin || dx * dx + dy * dy > r * r)
						continue;
					int ri = find_root(parent, i), rj = find_root(parent, j);
					if (ri != rj)
						parent[ri > rj ? ri : rj] = ri < rj ? ri : rj;
				}
			}
	}
	semqr__spatial_hash_free(&h);

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
