/* Grid correction inside one symbol: how far every module row and column
 * lies from where the homography puts it, measured at the edges between
 * modules (contract and model in locate.h: semqr__grid, semqr__grid_refine).
 *
 * Measuring (decide, measure). Every module's centre is read at the current
 * grid (one bilinear sample) and decided: the function modules whose values
 * are known take them, the others are set when they lie on the set side of
 * the midpoint of the known modules' levels l0 (unset) and l1 (set).
 * Wherever two neighbouring modules are decided differently (or a module
 * and the quiet zone around the symbol, unset) there is an edge, and its
 * offset e along the line crossing it (the edge lies e modules further
 * along than the grid puts it) is read from the mean m of two samples a
 * quarter module before and after it:
 *     e = s (m - (l0 + l1) / 2) / (l1 - l0),
 * s = +1 when the module before the edge is set, -1 when the one after is.
 * The image the locator reads is smoothed (by the probe and the scan
 * decoder's denoising), so m moves smoothly with e over most of +-1/2: by
 * 0.86 e near 0 for a Gaussian blur of 0.37 module, 0.95 e for 0.29; the
 * passes below take up what that leaves. e is clamped to +-1/2: an edge
 * cannot tell more.
 *
 * Fitting (fit). An edge between columns i - 1 and i (boundary i, 0..size)
 * on row j reads
 *     e = r[j] + b[i] + beta s + gamma s (n - 2):
 * the row's offset from the current grid, the boundary's (columns lying
 * unevenly along the rows) and a bias common to all edges of the symbol:
 * beta s moves every edge into
 * the set side (the bright rim of milled modules; a midpoint a little off),
 * gamma s (n - 2) moves it by how many of the four modules beside it, on
 * the rows above and below, are set (n: the blur leaks them into the
 * samples; on simulated plates gamma is 0.05-0.08 and takes the per-edge
 * spread of e on noiseless images from 0.085 to 0.05 module). Offsets and
 * bias are fitted by alternating robust means (the mean of the values within
 * TRIM of a centre found by narrowing windows: an edge read where there is
 * none, from a wrong decision, reads about +-1/2 and drops out) and least
 * squares for beta and gamma, the boundaries' mean held at 0 (the rows carry
 * any common offset). The symbol's outline (boundaries 0 and size) reads
 * outwards by about 0.05 module on simulated plates, so its edges inform the
 * rows only. A row or boundary with fewer than MIN_EDGES edges takes its
 * neighbours' values; then an outlier filter along the symbol replaces a
 * value further than OUTLIER from the median of the five around it (a step
 * between rows, a charging jump, passes). A column's du_col moves by the
 * mean of its two boundaries'. Edges between rows give dv_col and the row
 * boundaries (whose means move dv_row) alike.
 *
 * Which terms (semqr__grid_refine, pass). The scan's time runs along y: when
 * a step along v moves y more than a step along u, each module row is
 * scanned at about one time and its own shifts (du_row, dv_row) follow the
 * drift as it changes (free: any value per row); columns lying unevenly
 * along the rows (du_col) can only come from the fast axis, smooth along it
 * (a quadratic fitted to the boundaries' offsets, weighted by their edges;
 * left free, the boundaries' own spread made corrections of up to 0.29
 * module on clean symbols); a column shifted along v by itself (dv_col) has
 * no cause and is not used. A symbol turned a quarter turn the other way round.
 * A term is used only when, on the first pass, it stands out of the noise:
 * some row (for a free boundary term: some two neighbouring boundaries, as
 * applied; a lone boundary off is more often their spread than a jump) lies
 * further than MIN_CORRECTION + Z standard errors from 0, the standard error
 * being the edges' residual spread over the square root of the edges the
 * row kept (for the quadratic: over all boundary edges, times sqrt(3)). A
 * symbol where no term is used is left as it was, after one pass.
 *
 * Passes. Each pass measures at the grid the previous ones left, so the
 * decisions improve where rows were far off and the readings' shortfall
 * shrinks; PASSES in all.
 *
 * Whole modules (whole_steps). An offset beyond half a module reads as its
 * alias on the other side: a charging jump just above the bottom-left finder
 * puts the rows above it most of the jump away from the homography, which
 * runs through the finders on both sides of it. For every free term in use,
 * a shift of -1, 0 or +1 module per row (or column) is chosen by dynamic
 * programming, trading the agreement of that row's known modules (finders,
 * separators, timing and alignment patterns) with their values against
 * STEP_COST per module of step between neighbouring rows; then
 * PASSES_AFTER_STEPS passes refine. On simulated plates with charging jumps
 * of 4 to 8 px at 6.1 px per module this decoded 242 of 289 symbols where
 * the passes alone decoded 217 (before the terms were chosen by the scan
 * direction).
 *
 * Kept when every sample the samplers take of the corrected grid lies in
 * the image and the timing agreement does not fall by more than
 * TIMING_SLACK: the timing patterns lie along one row and one column, so
 * they hardly see a row moved along the rows (the correction of a charging
 * jump typically changed the agreement by -0.05 to +0.1), but a correction
 * that tears the grid shows there.
 *
 * Cost: per pass one sample per module and two per edge (about 3 size^2
 * samples in all, where the soft sampler takes 25 size^2), and fits linear
 * in the number of edges. Memory: one allocation per call, sized by the
 * symbol. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locate/locate.h"

#define PASSES 3             /* passes of measuring and moving */
#define PASSES_AFTER_STEPS 2 /* more when whole-module steps moved a row */
#define FIT_ROUNDS 3         /* alternations of the fit (1 on the first pass) */
#define MIN_EDGES 3          /* edges for a row, column or boundary of its own */
#define TRIM 0.2             /* modules about the centre kept by robust_mean */
#define OUTLIER 0.1          /* modules from the median of five neighbours */
#define MAX_SHIFT 1.0        /* modules: no displacement component beyond */
#define MIN_CORRECTION 0.1   /* modules: terms that move nothing by this are not used */
#define Z 2.0                /* standard errors beyond MIN_CORRECTION for a term to be used */
#define STEP_COST 3.0        /* agreement per module of step between neighbouring rows */
#define TIMING_SLACK 0.05    /* of timing agreement a kept correction may lose */

/* One edge: on line `line` (a module row for edges between columns, a
 * column for edges between rows) at boundary `cross` (0..size), its sign s
 * (+1: the module before it set), its reading e in modules and the gamma
 * term's s (n - 2). */
typedef struct edge {
	int line, cross;
	float s, e, x;
} edge;

/* What a call works in; arrays sized by the symbol. */
typedef struct work {
	int size;
	uint8_t *known, *value, *dec; /* size^2: known function modules, their values, decisions */
	float *grey;                  /* size^2: module centres */
	edge *edges;                  /* edges of one direction, at most size (size + 1) */
	int count;
	int *line_start;              /* size + 1: edges of line l at [line_start[l], [l + 1]) */
	int *order, *cross_start;     /* edges by boundary: order[cross_start[c] .. [c + 1]) */
	int *cursor;                  /* size + 1: scratch of the counting sort */
	double *tmp;                  /* size + 6: a line's values, the outlier filter's window */
	double *line_off, *bound_off; /* size, size + 1: the fit */
	int *line_kept, *bound_kept;  /* size, size + 1: the edges each mean kept */
} work;

/* Allocates w's arrays for a symbol of `size` in one block; 0 on failure. */
static int work_init(work *w, int size)
{
	size_t n = (size_t)size, sq = n * n, ne = n * (n + 1);
	size_t bytes[] = {sq,
	                  sq,
	                  sq,
	                  sq * sizeof(float),
	                  ne * sizeof(edge),
	                  (n + 1) * sizeof(int),
	                  ne * sizeof(int),
	                  (n + 2) * sizeof(int),
	                  (n + 1) * sizeof(int),
	                  (n + 6) * sizeof(double),
	                  n * sizeof(double),
	                  (n + 1) * sizeof(double),
	                  n * sizeof(int),
	                  (n + 1) * sizeof(int)};
	enum { PARTS = sizeof bytes / sizeof *bytes };
	size_t total = 0;
	for (int k = 0; k < PARTS; k++)
		total += (bytes[k] + 15) & ~(size_t)15;
	unsigned char *p = malloc(total);
	if (!p)
		return 0;
	void *part[PARTS];
	for (int k = 0; k < PARTS; k++) {
		part[k] = p;
		p += (bytes[k] + 15) & ~(size_t)15;
	}
	w->size = size;
	w->known = part[0];
	w->value = part[1];
	w->dec = part[2];
	w->grey = part[3];
	w->edges = part[4];
	w->line_start = part[5];
	w->order = part[6];
	w->cross_start = part[7];
	w->cursor = part[8];
	w->tmp = part[9];
	w->line_off = part[10];
	w->bound_off = part[11];
	w->line_kept = part[12];
	w->bound_kept = part[13];
	return 1;
}

static void work_free(work *w)
{
	free(w->known); /* the block's start */
}

/* Bilinear grey at module point (u, v) through h (ok cleared when it leaves
 * the image). */
static double grey_at(const semqr__grey_image *img, const double h[9], double u, double v, int *ok)
{
	double x, y;
	semqr__homography_apply(h, u, v, &x, &y);
	return semqr__grey_bilinear(img, x, y, ok);
}

/* Reads every module centre under h and g and decides it; the levels into
 * *l0, *l1. Returns 0 when a centre leaves the image or the levels are
 * equal. */
static int decide(const semqr__grey_image *img, const double h[9], const semqr__grid *g, work *w,
                  double *l0, double *l1)
{
	int size = w->size, ok = 1, n[2] = {0, 0};
	double sum[2] = {0.0, 0.0};
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			int k = j * size + i;
			double du, dv;
			semqr__grid_displacement(g, i, j, &du, &dv);
			double v = grey_at(img, h, i + 0.5 + du, j + 0.5 + dv, &ok);
			w->grey[k] = (float)v;
			if (w->known[k]) {
				sum[w->value[k]] += v;
				n[w->value[k]]++;
			}
		}
	if (!ok || n[0] == 0 || n[1] == 0)
		return 0;
	*l0 = sum[0] / n[0];
	*l1 = sum[1] / n[1];
	if (!(*l1 != *l0))
		return 0;
	double mid = 0.5 * (*l0 + *l1), sign = *l1 > *l0 ? 1.0 : -1.0;
	for (int k = 0; k < size * size; k++)
		w->dec[k] = w->known[k] ? w->value[k] : sign * (w->grey[k] - mid) > 0.0;
	return 1;
}

/* The index of the module at position `pos` of line `line` in direction
 * dir (0: the line is a row, positions are columns; 1: the reverse). */
static int module_index(int size, int dir, int line, int pos)
{
	return dir == 0 ? line * size + pos : pos * size + line;
}

/* The edges of direction dir (0: between columns, along rows; 1: between
 * rows, along columns) under the decisions, read under h and g, into
 * w->edges with their line and boundary indices. Returns 0 when a sample
 * leaves the image. */
static int measure(const semqr__grey_image *img, const double h[9], const semqr__grid *g, work *w,
                   int dir, double l0, double l1)
{
	int size = w->size, n = 0, ok = 1;
	double mid = 0.5 * (l0 + l1), scale = 1.0 / (l1 - l0);
	for (int line = 0; line < size; line++) {
		w->line_start[line] = n;
		for (int c = 0; c <= size; c++) {
			int before = c > 0 ? w->dec[module_index(size, dir, line, c - 1)] : 0;
			int after = c < size ? w->dec[module_index(size, dir, line, c)] : 0;
			if (before == after)
				continue;
			/* the boundary moves as the mean of the modules on either side */
			double du = 0.0, dv = 0.0;
			int sides = 0;
			for (int p = c - 1; p <= c; p++) {
				if (p < 0 || p >= size)
					continue;
				double a, b;
				semqr__grid_displacement(g, dir == 0 ? p : line,
				                         dir == 0 ? line : p, &a, &b);
				du += a;
				dv += b;
				sides++;
			}
			du /= sides;
			dv /= sides;
			double m = 0.0, across = line + 0.5;
			for (double t = c - 0.25; t < c + 0.5; t += 0.5)
				m += dir == 0 ? grey_at(img, h, t + du, across + dv, &ok)
				              : grey_at(img, h, across + du, t + dv, &ok);
			double s = before ? 1.0 : -1.0, e = s * (0.5 * m - mid) * scale;
			int beside = 0;
			for (int other = line - 1; other <= line + 1; other += 2)
				if (other >= 0 && other < size)
					beside +=
					    (c > 0 &&
					     w->dec[module_index(size, dir, other, c - 1)]) +
					    (c < size && w->dec[module_index(size, dir, other, c)]);
			w->edges[n++] = (edge){line, c, (float)s, (float)fmax(-0.5, fmin(0.5, e)),
			                       (float)(s * (beside - 2))};
		}
	}
	w->line_start[size] = n;
	w->count = n;
	/* by boundary: a counting sort */
	memset(w->cross_start, 0, (size_t)(size + 2) * sizeof *w->cross_start);
	for (int k = 0; k < n; k++)
		w->cross_start[w->edges[k].cross + 1]++;
	for (int c = 0; c <= size; c++)
		w->cross_start[c + 1] += w->cross_start[c];
	memcpy(w->cursor, w->cross_start, (size_t)(size + 1) * sizeof *w->cursor);
	for (int k = 0; k < n; k++)
		w->order[w->cursor[w->edges[k].cross]++] = k;
	return ok;
}

/* ---- robust statistics ------------------------------------------------- */

/* The mean of the values of v[0..n) within `reach` of c, or c when there
 * are none; their number in *kept. */
static double mean_near(const double *v, int n, double c, double reach, int *kept)
{
	double sum = 0.0;
	int k = 0;
	for (int i = 0; i < n; i++)
		if (fabs(v[i] - c) <= reach) {
			sum += v[i];
			k++;
		}
	*kept = k;
	return k ? sum / k : c;
}

/* A robust mean of v[0..n) (n >= 1): the mean of the values within TRIM of
 * a centre found by narrowing windows (the mean, then the mean within 4
 * TRIM of it, then within 2 TRIM); their number in *kept. */
static double robust_mean(const double *v, int n, int *kept)
{
	double c = mean_near(v, n, 0.0, INFINITY, kept);
	c = mean_near(v, n, c, 4.0 * TRIM, kept);
	c = mean_near(v, n, c, 2.0 * TRIM, kept);
	return mean_near(v, n, c, TRIM, kept);
}

/* Replaces the NAN entries of v[0..n) by linear interpolation between the
 * nearest finite ones (the nearest one beyond the ends). Returns the number
 * of finite entries (0 leaves v as it was). */
static int fill_gaps(double *v, int n)
{
	int prev = -1, finite = 0;
	for (int k = 0; k < n; k++) {
		if (!isfinite(v[k]))
			continue;
		finite++;
		for (int g = prev + 1; g < k; g++)
			v[g] =
			    prev < 0 ? v[k] : v[prev] + (v[k] - v[prev]) * (g - prev) / (k - prev);
		prev = k;
	}
	for (int g = prev + 1; finite > 0 && g < n; g++)
		v[g] = v[prev];
	return finite;
}

/* A Hampel filter along v[0..n) (n >= 3), in place: an entry further than
 * OUTLIER from the median of the five around it (the three nearest at the
 * ends) becomes that median. Steps between rows and slopes pass unchanged;
 * tmp holds n + 5. */
static void drop_outliers(double *v, int n, double *tmp)
{
	double *copy = tmp + 5;
	memcpy(copy, v, (size_t)n * sizeof *v);
	for (int k = 0; k < n; k++) {
		int lo = k - 2, hi = k + 2, m = 0;
		if (lo < 0 || hi >= n) {
			lo = k - 1 < 0 ? 0 : k - 1 > n - 3 ? n - 3 : k - 1;
			hi = lo + 2;
		}
		for (int i = lo; i <= hi; i++) {
			int s = m++;
			for (; s > 0 && tmp[s - 1] > copy[i]; s--)
				tmp[s] = tmp[s - 1];
			tmp[s] = copy[i];
		}
		if (fabs(copy[k] - tmp[m / 2]) > OUTLIER)
			v[k] = tmp[m / 2];
	}
}

/* ---- the fit ------------------------------------------------------------- */

/* The bias of edge e's reading (see the banner). */
static double edge_bias(const double c[2], const edge *e)
{
	return c[0] * e->s + c[1] * e->x;
}

/* e's reading less its line's and boundary's offsets (a NAN boundary
 * counting 0) and its bias. */
static double residual(const edge *e, const double *a, const double *b, const double c[2])
{
	return e->e - a[e->line] - (isfinite(b[e->cross]) ? b[e->cross] : 0.0) - edge_bias(c, e);
}

/* The bias coefficients by least squares over the edges whose residual
 * lies within TRIM. */
static void fit_bias(const work *w, const double *a, const double *b, double c[2])
{
	double m00 = 0.0, m01 = 0.0, m11 = 0.0, r0 = 0.0, r1 = 0.0;
	for (int k = 0; k < w->count; k++) {
		const edge *e = &w->edges[k];
		double r = residual(e, a, b, c);
		if (!isfinite(r) || fabs(r) > TRIM)
			continue;
		r += edge_bias(c, e);
		m00 += e->s * e->s;
		m01 += e->s * e->x;
		m11 += e->x * e->x;
		r0 += e->s * r;
		r1 += e->x * r;
	}
	double det = m00 * m11 - m01 * m01;
	if (det > 1e-9 * (m00 * m11 + 1.0)) {
		c[0] = (m11 * r0 - m01 * r1) / det;
		c[1] = (m00 * r1 - m01 * r0) / det;
	} else if (m00 > 0.0) {
		c[0] = r0 / m00;
		c[1] = 0.0;
	}
}

/* The robust mean over the edges of line l (by_line) or boundary l of the
 * reading less the bias and the other term (off, NAN counting 0); the
 * edges kept in *kept. NAN (and 0 kept) with fewer than MIN_EDGES edges. */
static double term_mean(const work *w, int l, int by_line, const double c[2], const double *off,
                        int *kept)
{
	const int *range = by_line ? w->line_start : w->cross_start;
	int n = 0;
	for (int k = range[l]; k < range[l + 1]; k++) {
		const edge *e = &w->edges[by_line ? k : w->order[k]];
		double o = off[by_line ? e->cross : e->line];
		w->tmp[n++] = e->e - edge_bias(c, e) - (isfinite(o) ? o : 0.0);
	}
	*kept = 0;
	return n >= MIN_EDGES ? robust_mean(w->tmp, n, kept) : NAN;
}

/* Keeps the two largest values offered in top[0] >= top[1]. */
static void keep_top(double top[2], double v)
{
	if (v > top[0]) {
		top[1] = top[0];
		top[0] = v;
	} else if (v > top[1]) {
		top[1] = v;
	}
}

/* Replaces b[0..n] by the quadratic in k fitted to it by least squares,
 * entry k weighted by kept[k]; returns the total weight (at least 1). */
static int quadratic(double *b, const int *kept, int n)
{
	double m[3][4] = {{0.0}};
	int total = 0;
	for (int k = 0; k <= n; k++) {
		double x = (double)k / n, p[3] = {1.0, x, x * x};
		for (int r = 0; r < 3; r++) {
			for (int c = 0; c < 3; c++)
				m[r][c] += kept[k] * p[r] * p[c];
			m[r][3] += kept[k] * p[r] * b[k];
		}
		total += kept[k];
	}
	/* Gauss-Jordan on the 3 x 3 normal equations; a singular one (too few
	 * boundaries) gives 0 */
	double q[3] = {0.0, 0.0, 0.0};
	int ok = 1;
	for (int c = 0; c < 3 && ok; c++) {
		int piv = c;
		for (int r = c + 1; r < 3; r++)
			if (fabs(m[r][c]) > fabs(m[piv][c]))
				piv = r;
		ok = fabs(m[piv][c]) > 1e-9 * (total + 1.0);
		for (int j = 0; ok && j < 4; j++) {
			double t = m[c][j];
			m[c][j] = m[piv][j];
			m[piv][j] = t;
		}
		for (int r = 0; ok && r < 3; r++)
			if (r != c) {
				double f = m[r][c] / m[c][c];
				for (int j = c; j < 4; j++)
					m[r][j] -= f * m[c][j];
			}
	}
	for (int c = 0; ok && c < 3; c++)
		q[c] = m[c][3] / m[c][c];
	for (int k = 0; k <= n; k++) {
		double x = (double)k / n;
		b[k] = q[0] + q[1] * x + q[2] * x * x;
	}
	return total > 0 ? total : 1;
}

/* Fits w's edges (see the banner) in `rounds` alternations into
 * w->line_off and w->bound_off, gaps filled and outliers dropped. *ma and
 * *mb receive how far the lines' term and the boundaries' term (as applied:
 * the means of neighbouring boundaries) reach beyond Z standard errors: the
 * largest, respectively second largest, |offset| - Z sqrt(var / kept), var
 * the residual variance of the edges kept, kept the edges the offset's
 * mean kept (filled values count for nothing). Returns 0 when fewer than
 * half the lines have MIN_EDGES edges. */
static int fit(work *w, int rounds, int smooth, double *ma, double *mb)
{
	int size = w->size;
	double *a = w->line_off, *b = w->bound_off, c[2] = {0.0, 0.0};
	for (int k = 0; k <= size; k++) {
		b[k] = NAN;
		w->bound_kept[k] = 0;
	}
	for (int round = 0;; round++) {
		for (int l = 0; l < size; l++)
			a[l] = term_mean(w, l, 1, c, b, &w->line_kept[l]);
		if (round == rounds)
			break;
		double sum = 0.0;
		int valid = 0;
		for (int k = 1; k < size; k++) { /* not the outline (see the banner) */
			b[k] = term_mean(w, k, 0, c, a, &w->bound_kept[k]);
			if (isfinite(b[k])) {
				sum += b[k];
				valid++;
			}
		}
		for (int k = 1; k < size; k++)
			b[k] -= sum / valid;
		fit_bias(w, a, b, c);
	}
	double ss = 0.0;
	int n = 0;
	for (int k = 0; k < w->count; k++) {
		double r = residual(&w->edges[k], a, b, c);
		if (isfinite(r) && fabs(r) <= TRIM) {
			ss += r * r;
			n++;
		}
	}
	double var = n > 1 ? ss / (n - 1) : INFINITY;
	if (2 * fill_gaps(a, size) < size)
		return 0;
	if (fill_gaps(b, size + 1) == 0)
		memset(b, 0, (size_t)(size + 1) * sizeof *b);
	drop_outliers(a, size, w->tmp);
	double top_a[2] = {-INFINITY, -INFINITY}, top_b[2] = {-INFINITY, -INFINITY};
	for (int l = 0; l < size; l++)
		if (w->line_kept[l] > 0)
			keep_top(top_a, fabs(a[l]) - Z * sqrt(var / w->line_kept[l]));
	*ma = top_a[0];
	if (smooth) {
		int kept = quadratic(b, w->bound_kept, size);
		for (int k = 0; k < size; k++)
			keep_top(top_b, fabs(0.5 * (b[k] + b[k + 1])) - Z * sqrt(3.0 * var / kept));
		*mb = top_b[0];
		return 1;
	}
	drop_outliers(b, size + 1, w->tmp);
	for (int k = 0; k < size; k++) {
		int kept = w->bound_kept[k] + w->bound_kept[k + 1];
		if (kept > 0)
			keep_top(top_b, fabs(0.5 * (b[k] + b[k + 1])) - Z * sqrt(var / kept));
	}
	*mb = top_b[1];
	return 1;
}

/* ---- passes ---------------------------------------------------------- */

static float clamp_shift(double v)
{
	return (float)fmax(-MAX_SHIFT, fmin(MAX_SHIFT, v));
}

/* The four terms of the correction: [dir][0] the lines' own (du_row for
 * dir 0, dv_col for 1), [dir][1] the boundaries' (du_col, dv_row); as
 * allowed, 0, 1 (FREE) or SMOOTH (a quadratic along the symbol). */
typedef int terms[2][2];
enum { FREE = 1, SMOOTH = 2 };

/* One pass: measures both directions at g and moves g by what was fitted,
 * in the terms in use; the first pass chooses them (see the banner).
 * Returns 0 when the grid leaves the image or too little was measured. */
static int pass(const semqr__grey_image *img, const double h[9], semqr__grid *g, work *w,
                const terms allowed, int first, terms use)
{
	double l0, l1;
	if (!decide(img, h, g, w, &l0, &l1))
		return 0;
	int size = w->size;
	for (int dir = 0; dir < 2; dir++) {
		double ma, mb;
		if (!measure(img, h, g, w, dir, l0, l1) ||
		    !fit(w, first ? 1 : FIT_ROUNDS, allowed[dir][1] == SMOOTH, &ma, &mb))
			return 0;
		if (first) {
			use[dir][0] = allowed[dir][0] && ma >= MIN_CORRECTION;
			use[dir][1] = allowed[dir][1] && mb >= MIN_CORRECTION;
		}
		const double *a = w->line_off, *b = w->bound_off;
		float *line = dir == 0 ? g->du_row : g->dv_col;
		float *across = dir == 0 ? g->du_col : g->dv_row;
		for (int k = 0; k < size; k++) {
			if (use[dir][0])
				line[k] = clamp_shift(line[k] + a[k]);
			if (use[dir][1])
				across[k] = clamp_shift(across[k] + 0.5 * (b[k] + b[k + 1]));
		}
	}
	return 1;
}

/* Agreement in [-1, 1] of grey v with a known module of value `set`: its
 * distance from the levels' midpoint towards the value's level, in half
 * level differences, clamped. */
static double agreement(double v, int set, double l0, double l1)
{
	double a = (v - 0.5 * (l0 + l1)) / (0.5 * (l1 - l0));
	return fmax(-1.0, fmin(1.0, set ? a : -a));
}

/* Whole-module steps of the term arr of g (indexed by module row when
 * by_row, else by module column; moving u when along_u, else v): the
 * steps k_t in {-1, 0, 1} for every row t minimising
 *     sum_t -E_t(k_t) + STEP_COST sum_t>0 |arr[t] + k_t - arr[t-1] - k_t-1|,
 * E_t(k) the summed agreement of the known modules of row t with their
 * values when moved k more modules, by dynamic programming; arr moves by
 * them (clamped to MAX_SHIFT). Returns 1 when some step is not 0, 0 when
 * none is or a sample leaves the image. */
static int whole_steps(const semqr__grey_image *img, const double h[9], const semqr__grid *g,
                       const work *w, float *arr, int by_row, int along_u, double l0, double l1)
{
	int size = w->size, ok = 1;
	double cost[SEMQR_SIZE_MAX][3];
	signed char from[SEMQR_SIZE_MAX][3];
	for (int t = 0; t < size; t++) {
		double e[3] = {0.0, 0.0, 0.0};
		for (int m = 0; m < size; m++) {
			int i = by_row ? m : t, j = by_row ? t : m, k = j * size + i;
			if (!w->known[k])
				continue;
			double du, dv;
			semqr__grid_displacement(g, i, j, &du, &dv);
			for (int s = -1; s <= 1; s++)
				e[s + 1] +=
				    agreement(grey_at(img, h, i + 0.5 + du + (along_u ? s : 0),
				                      j + 0.5 + dv + (along_u ? 0 : s), &ok),
				              w->value[k], l0, l1);
		}
		for (int s = 0; s < 3; s++) {
			double best = t == 0 ? 0.0 : INFINITY;
			from[t][s] = 1;
			for (int q = 0; t > 0 && q < 3; q++) {
				double c =
				    cost[t - 1][q] + STEP_COST * fabs(arr[t] + s - arr[t - 1] - q);
				if (c < best) {
					best = c;
					from[t][s] = (signed char)q;
				}
			}
			cost[t][s] = best - e[s];
		}
	}
	if (!ok)
		return 0;
	int s = 1, moved = 0;
	for (int q = 0; q < 3; q++)
		if (cost[size - 1][q] < cost[size - 1][s])
			s = q;
	for (int t = size - 1; t >= 0; t--) {
		if (s != 1) {
			arr[t] = clamp_shift(arr[t] + s - 1);
			moved = 1;
		}
		s = from[t][s];
	}
	return moved;
}

/* Whether every sample of the module samplers (offsets up to 5/16 module
 * from the displaced centres) lies inside the image. */
static int samples_inside(const semqr__grey_image *img, const double h[9], const semqr__grid *g,
                          int size)
{
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			double du, dv;
			semqr__grid_displacement(g, i, j, &du, &dv);
			for (int k = 0; k < 4; k++) {
				double u = i + 0.5 + du + (k & 1 ? 0.3125 : -0.3125);
				double v = j + 0.5 + dv + (k & 2 ? 0.3125 : -0.3125), x, y;
				semqr__homography_apply(h, u, v, &x, &y);
				if (!(x >= 0.0 && y >= 0.0 && x <= img->width - 1 &&
				      y <= img->height - 1))
					return 0;
			}
		}
	return 1;
}

int semqr__grid_refine(const semqr__grey_image *img, semqr__located *loc)
{
	int size = loc->size;
	memset(&loc->grid, 0, sizeof loc->grid);
	work w;
	if (!work_init(&w, size))
		return 0;
	semqr__known_modules(loc->version, w.known, w.value);
	semqr__grid g;
	memset(&g, 0, sizeof g);
	/* The scan's slow axis (y) runs along the symbol's columns when a step
	 * along v moves y more than a step along u: then each module row is
	 * scanned at about one time, and its own shifts (du_row, dv_row) follow
	 * the drift while it changes, columns lying unevenly along the rows
	 * (du_col) can only come from the fast axis (smooth), and a column of
	 * its own shifted along v (dv_col) from nothing. A symbol turned a
	 * quarter turn the other way round. */
	double x0, y0, xu, yu, xv, yv, c = 0.5 * size;
	semqr__homography_apply(loc->h, c, c, &x0, &y0);
	semqr__homography_apply(loc->h, c + 1.0, c, &xu, &yu);
	semqr__homography_apply(loc->h, c, c + 1.0, &xv, &yv);
	int rows = fabs(yv - y0) >= fabs(yu - y0);
	terms allowed = {{rows ? FREE : 0, rows ? SMOOTH : FREE},
	                 {rows ? 0 : FREE, rows ? FREE : SMOOTH}};
	terms use = {{0, 0}, {0, 0}};
	int ok = pass(img, loc->h, &g, &w, allowed, 1, use) &&
	         (use[0][0] || use[0][1] || use[1][0] || use[1][1]);
	for (int p = 1; ok && p < PASSES; p++)
		ok = pass(img, loc->h, &g, &w, allowed, 0, use);
	double l0, l1;
	if (ok && decide(img, loc->h, &g, &w, &l0, &l1)) {
		int moved = 0;
		if (use[0][0])
			moved |= whole_steps(img, loc->h, &g, &w, g.du_row, 1, 1, l0, l1);
		if (use[1][1] && allowed[1][1] == FREE)
			moved |= whole_steps(img, loc->h, &g, &w, g.dv_row, 1, 0, l0, l1);
		if (use[1][0])
			moved |= whole_steps(img, loc->h, &g, &w, g.dv_col, 0, 0, l0, l1);
		if (use[0][1] && allowed[0][1] == FREE)
			moved |= whole_steps(img, loc->h, &g, &w, g.du_col, 0, 1, l0, l1);
		for (int p = 0; ok && moved && p < PASSES_AFTER_STEPS; p++)
			ok = pass(img, loc->h, &g, &w, allowed, 0, use);
	}
	work_free(&w);
	if (!ok || !samples_inside(img, loc->h, &g, size))
		return 0;
	double before = semqr__timing_agreement(img, loc);
	semqr__located moved = *loc;
	moved.grid = g;
	moved.grid.on = 1;
	if (!(semqr__timing_agreement(img, &moved) >= before - TIMING_SLACK))
		return 0;
	loc->grid = moved.grid;
	return 1;
}
