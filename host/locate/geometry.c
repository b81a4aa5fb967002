/* Geometry of a located symbol: version from its timing patterns, the affine
 * map of its three finder centres, upgraded to a homography with the
 * bottom-right alignment pattern, then the correction of the grid inside
 * the symbol (grid.c) (contracts in locate.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locate/locate.h"
#include "qr/qr_internal.h"

/* Grey value at module point (u, v). */
static double module_at(const semqr__grey_image *img, const double h[9], double u, double v,
                        int *ok)
{
	double x, y;
	semqr__homography_apply(h, u, v, &x, &y);
	return semqr__grey_bilinear(img, x, y, ok);
}

/* A hint that the cache line holding p will be read soon. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Most modules the locator reads at once (timing_score's two timing
 * patterns). */
#define CENTRES_MAX (2 * (SEMQR_SIZE_MAX - 16))

/* The grey values at the centres of the n <= CENTRES_MAX modules (i[k],
 * j[k]), each displaced by grid g when g is not NULL, into out[k]; *ok
 * cleared when one leaves the image. The positions first, with the pixels
 * each will read prefetched, then the values: a symbol's samples lie
 * scattered over its tile's image, mostly outside the caches, and so their
 * loads overlap instead of waiting one after the other. */
static void centres_at(const semqr__grey_image *img, const double h[9], const semqr__grid *g,
                       int n, const int *i, const int *j, double *out, int *ok)
{
	double x[CENTRES_MAX], y[CENTRES_MAX];
	for (int k = 0; k < n; k++) {
		double u = i[k] + 0.5, v = j[k] + 0.5;
		if (g) {
			double du, dv;
			semqr__grid_displacement(g, i[k], j[k], &du, &dv);
			u += du;
			v += dv;
		}
		semqr__homography_apply(h, u, v, &x[k], &y[k]);
		if (x[k] >= 0.0 && y[k] >= 0.0 && x[k] <= img->width - 1 && y[k] <= img->height - 1) {
			size_t row = (size_t)y[k];
			const float *p = img->data + row * (size_t)img->stride + (size_t)x[k];
			PREFETCH(p);
			if (row + 1 < (size_t)img->height)
				PREFETCH(p + img->stride);
		}
	}
	for (int k = 0; k < n; k++)
		out[k] = semqr__grey_bilinear(img, x[k], y[k], ok);
}

/* The affine map taking the finder centres of a symbol of `size` modules
 * to a (top-left), b (top-right) and c (bottom-left). */
static void affine_from_finders(const semqr__finder *a, const semqr__finder *b,
                                const semqr__finder *c, int size, double h[9])
{
	double span = size - 7.0;
	double ux = (b->x - a->x) / span, uy = (b->y - a->y) / span;
	double vx = (c->x - a->x) / span, vy = (c->y - a->y) / span;
	h[0] = ux;
	h[1] = vx;
	h[2] = a->x - 3.5 * (ux + vx);
	h[3] = uy;
	h[4] = vy;
	h[5] = a->y - 3.5 * (uy + vy);
	h[6] = 0.0;
	h[7] = 0.0;
	h[8] = 1.0;
}

/* Set and unset levels: the three finders' 3 x 3 centres and their ring of
 * unset modules (ring 2 around the centre), through h and g (NULL: none).
 * Returns 0 when a sample leaves the image. */
static int finder_levels(const semqr__grey_image *img, const double h[9], const semqr__grid *g,
                         int size, double *set, double *unset)
{
	static const int cx[3] = {3, -4, 3}, cy[3] = {3, 3, -4};
	int mi[75], mj[75], ring[75], n = 0, ok = 1;
	for (int f = 0; f < 3; f++) {
		int x0 = cx[f] < 0 ? size + cx[f] : cx[f], y0 = cy[f] < 0 ? size + cy[f] : cy[f];
		for (int dy = -2; dy <= 2; dy++)
			for (int dx = -2; dx <= 2; dx++, n++) {
				mi[n] = x0 + dx;
				mj[n] = y0 + dy;
				ring[n] = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
			}
	}
	double v[75], s1 = 0.0, s0 = 0.0;
	int n1 = 0, n0 = 0;
	centres_at(img, h, g, n, mi, mj, v, &ok);
	for (int k = 0; k < n; k++) {
		if (ring[k] <= 1) {
			s1 += v[k];
			n1++;
		} else {
			s0 += v[k];
			n0++;
		}
	}
	*set = s1 / n1;
	*unset = s0 / n0;
	return ok;
}

/* Correlation in [-1, 1] of the timing patterns (row and column 6, modules
 * 8..size-9) with their alternation, about the midpoint of the levels and
 * signed so that set modules count positive, read through h and grid
 * correction gc (NULL: none). -1 when samples leave the image
 * or the levels do not differ, and -1 without reading the levels when the
 * correlation is sure to fall below `floor` (give -2 for the correlation
 * itself): most triplets are chance alignments of finder-like patterns in
 * data, whose timing patterns are noise, and the levels cost more samples
 * than the timing patterns.
 * The bound holds whatever the midpoint and the sign: with e the
 * alternation (n values summing to c), g the samples, t their mean, the
 * correlation of e with g - m is at most sqrt(r^2 + (c / n)^2) for every m,
 * r the correlation of e with g - t (split e and g - m into their parts
 * along (1, ..., 1) and across it, and apply Cauchy-Schwarz to the two
 * parts). A margin of TIMING_MARGIN covers rounding, so that a correlation
 * at or above floor is never cut short. */
#define TIMING_MARGIN 1e-6
static double timing_score(const semqr__grey_image *img, const double h[9],
                           const semqr__grid *gc, int size, double floor)
{
	double g[CENTRES_MAX];
	/* modules 8 .. size - 9 of row 6, each followed by its mirror in
	 * column 6 */
	int mi[CENTRES_MAX], mj[CENTRES_MAX], n = 2 * (size - 16), ok = 1;
	if (size < 21 || size > SEMQR_SIZE_MAX)
		return -1.0; /* no version */
	for (int m = 0; m < n; m++) {
		mi[m] = m % 2 ? 6 : 8 + m / 2;
		mj[m] = m % 2 ? 8 + m / 2 : 6;
	}
	centres_at(img, h, gc, n, mi, mj, g, &ok);
	double sum = 0.0;
	for (int k = 0; k < n; k++)
		sum += g[k];
	if (!ok)
		return -1.0;
	if (floor > TIMING_MARGIN) {
		double mean = sum / n, eg = 0.0, gg = 0.0, c = 0.0;
		for (int i = 0; i < n; i++) {
			double e = (i / 2) % 2 == 0 ? 1.0 : -1.0, d = g[i] - mean;
			eg += e * d;
			gg += d * d;
			c += e;
		}
		double r2 = gg > 0.0 ? eg * eg / (n * gg) : 0.0;
		if (sqrt(r2 + (c / n) * (c / n)) < floor - TIMING_MARGIN)
			return -1.0;
	}
	double set, unset;
	if (!finder_levels(img, h, gc, size, &set, &unset) || set == unset)
		return -1.0;
	double mid = 0.5 * (set + unset), sign = set > unset ? 1.0 : -1.0;
	double num = 0.0, den = 0.0;
	for (int i = 0; i < n; i += 2) {
		double e = (i / 2) % 2 == 0 ? 1.0 : -1.0;
		double g1 = sign * (g[i] - mid);
		double g2 = sign * (g[i + 1] - mid);
		num += e * (g1 + g2);
		den += g1 * g1 + g2 * g2;
	}
	if (!(den > 0.0))
		return -1.0;
	return num / sqrt(den * n);
}

/* The alignment pattern searched on a grid of quarter-module points: its
 * (2 ALIGN_STEPS + 1)^2 candidate centres, each with 5 x 5 module samples a
 * module (4 points) apart, all on one ALIGN_GRID x ALIGN_GRID grid. */
#define ALIGN_STEPS 8 /* quarter-module steps either side of the prediction: 2 modules */
#define ALIGN_POSITIONS (2 * ALIGN_STEPS + 1)
#define ALIGN_GRID (2 * ALIGN_STEPS + 17) /* the positions, and 2 modules more either side */

/* Fills score[j][i] with the Pearson correlation of the 5 x 5 modules
 * centred at grid point (i + 8, j + 8) (candidate centre (i, j)) of the
 * samples g with the alignment pattern (set centre and outer ring, unset
 * ring), the set modules counted positive by `sign`; -2 when a sample left
 * the image (ok 0) or the samples are all equal. With template t (+1, or
 * -1 on the ring of 8) the correlation needs only the sums of the 25
 * samples, of their squares and of the 9 inner ones (sum of g t = all - 2
 * (inner - centre)): box sums over points 4 apart, taken along rows, then
 * along columns. */
static void alignment_scores(const double g[ALIGN_GRID][ALIGN_GRID],
                             const unsigned char ok[ALIGN_GRID][ALIGN_GRID], double sign,
                             double score[ALIGN_POSITIONS][ALIGN_POSITIONS])
{
	/* row sums at each candidate column i: of 5 points (all), of the
	 * middle 3 (inner), of squares, and of missing samples */
	double all[ALIGN_GRID][ALIGN_POSITIONS], inner[ALIGN_GRID][ALIGN_POSITIONS];
	double sq[ALIGN_GRID][ALIGN_POSITIONS];
	int missing[ALIGN_GRID][ALIGN_POSITIONS];
	for (int y = 0; y < ALIGN_GRID; y++)
		for (int i = 0; i < ALIGN_POSITIONS; i++) {
			double a = 0.0, in = 0.0, s = 0.0;
			int m = 0;
			for (int d = 0; d < 5; d++) {
				double v = sign * g[y][i + 4 * d];
				a += v;
				s += v * v;
				m += !ok[y][i + 4 * d];
				if (d >= 1 && d <= 3)
					in += v;
			}
			all[y][i] = a;
			inner[y][i] = in;
			sq[y][i] = s;
			missing[y][i] = m;
		}
	/* t: 17 modules +1 and 8 -1, so sum t = 9 and sum (t - mean)^2 = 25 -
	 * 81 / 25 */
	const double n = 25.0, st = 9.0, vt = n - st * st / n;
	for (int j = 0; j < ALIGN_POSITIONS; j++)
		for (int i = 0; i < ALIGN_POSITIONS; i++) {
			double sg = 0.0, sgg = 0.0, sin = 0.0;
			int m = 0;
			for (int d = 0; d < 5; d++) {
				sg += all[j + 4 * d][i];
				sgg += sq[j + 4 * d][i];
				m += missing[j + 4 * d][i];
				if (d >= 1 && d <= 3)
					sin += inner[j + 4 * d][i];
			}
			double centre = sign * g[j + 8][i + 8];
			double sgt = sg - 2.0 * (sin - centre);
			double vg = sgg - sg * sg / n;
			score[j][i] = m || !(vg > 0.0) ? -2.0 : (sgt - sg * st / n) / sqrt(vg * vt);
		}
}

/* Vertex of the parabola through (-1, a), (0, b), (1, c), clamped to +-1/2. */
static double parabola_peak(double a, double b, double c)
{
	double den = a - 2.0 * b + c;
	double d = den < 0.0 ? 0.5 * (a - c) / den : 0.0;
	return d < -0.5 ? -0.5 : d > 0.5 ? 0.5 : d;
}

/* Searches an alignment pattern of a symbol mapped by h within 2 modules of
 * module point (cu, cv); on success stores its centre in module coordinates
 * of h and returns its correlation, else returns -2. The 5 x 5 module
 * samples of the (2 ALIGN_STEPS + 1)^2 quarter-module positions all lie on
 * one grid of quarter-module points, each read once. */
static double find_alignment(const semqr__grey_image *img, const double h[9], double cu,
                             double cv, double sign, double *au, double *av)
{
	double g[ALIGN_GRID][ALIGN_GRID];
	unsigned char ok[ALIGN_GRID][ALIGN_GRID];
	/* Point (i, j) is module point (cu, cv) moved by (i, j) / 4 - 4 modules;
	 * cu, cv and the moves are multiples of 1/4, so the sums are exact and
	 * equal to those of a search position plus a module offset. Each row's
	 * positions first (h applied with its v terms taken once per row), then
	 * its values: the loads of a row overlap. */
	for (int j = 0; j < ALIGN_GRID; j++) {
		double v = cv + 0.25 * (j - ALIGN_STEPS) - 2.0;
		double xv = h[1] * v + h[2], yv = h[4] * v + h[5], wv = h[7] * v + h[8];
		double x[ALIGN_GRID], y[ALIGN_GRID];
		for (int i = 0; i < ALIGN_GRID; i++) {
			double u = cu + 0.25 * (i - ALIGN_STEPS) - 2.0, r = 1.0 / (h[6] * u + wv);
			x[i] = (h[0] * u + xv) * r;
			y[i] = (h[3] * u + yv) * r;
		}
		for (int i = 0; i < ALIGN_GRID; i++) {
			int inside = 1;
			g[j][i] = semqr__grey_bilinear(img, x[i], y[i], &inside);
			ok[j][i] = (unsigned char)inside;
		}
	}
	double score[ALIGN_POSITIONS][ALIGN_POSITIONS];
	alignment_scores(g, ok, sign, score);
	double best = -2.0;
	int bi = 0, bj = 0;
	for (int j = 0; j < ALIGN_POSITIONS; j++)
		for (int i = 0; i < ALIGN_POSITIONS; i++)
			if (score[j][i] > best) {
				best = score[j][i];
				bi = i;
				bj = j;
			}
	if (best <= -2.0)
		return -2.0;
	double di = 0.0, dj = 0.0;
	if (bi > 0 && bi < 2 * ALIGN_STEPS && score[bj][bi - 1] > -2.0 && score[bj][bi + 1] > -2.0)
		di = parabola_peak(score[bj][bi - 1], best, score[bj][bi + 1]);
	if (bj > 0 && bj < 2 * ALIGN_STEPS && score[bj - 1][bi] > -2.0 && score[bj + 1][bi] > -2.0)
		dj = parabola_peak(score[bj - 1][bi], best, score[bj + 1][bi]);
	*au = cu + 0.25 * (bi - ALIGN_STEPS + di);
	*av = cv + 0.25 * (bj - ALIGN_STEPS + dj);
	return best;
}

/* Solves the n x n system a x = b (a row-major, n <= 8) by Gaussian
 * elimination with partial pivoting; returns 0 when singular. */
static int solve(double a[8][8], double b[8], int n)
{
	for (int k = 0; k < n; k++) {
		int p = k;
		for (int i = k + 1; i < n; i++)
			if (fabs(a[i][k]) > fabs(a[p][k]))
				p = i;
		if (!(fabs(a[p][k]) > 1e-12))
			return 0;
		if (p != k) {
			for (int j = 0; j < n; j++) {
				double t = a[k][j];
				a[k][j] = a[p][j];
				a[p][j] = t;
			}
			double t = b[k];
			b[k] = b[p];
			b[p] = t;
		}
		for (int i = k + 1; i < n; i++) {
			double f = a[i][k] / a[k][k];
			for (int j = k; j < n; j++)
				a[i][j] -= f * a[k][j];
			b[i] -= f * b[k];
		}
	}
	for (int k = n - 1; k >= 0; k--) {
		double s = b[k];
		for (int j = k + 1; j < n; j++)
			s -= a[k][j] * b[j];
		b[k] = s / a[k][k];
	}
	return 1;
}

/* The homography taking module points (u[k], v[k]) to pixels (x[k], y[k]),
 * k < n (4 <= n), with h[8] = 1: exact for n = 4, least squares (of the
 * linearised equations) beyond. Points are normalised first (modules by the
 * size, pixels about the first point and by the first side) for
 * conditioning. Returns 0 when the points are degenerate. */
static int homography_n(const double *u, const double *v, const double *x, const double *y,
                        int n, int size, double h[9])
{
	double ox = x[0], oy = y[0];
	double l = hypot(x[1] - x[0], y[1] - y[0]);
	if (!(l > 0.0))
		return 0;
	double a[8][8] = {{0.0}}, b[8] = {0.0};
	for (int k = 0; k < n; k++) {
		double su = u[k] / size, sv = v[k] / size;
		double sx = (x[k] - ox) / l, sy = (y[k] - oy) / l;
		double r0[8] = {su, sv, 1.0, 0.0, 0.0, 0.0, -su * sx, -sv * sx};
		double r1[8] = {0.0, 0.0, 0.0, su, sv, 1.0, -su * sy, -sv * sy};
		if (n == 4) {
			memcpy(a[2 * k], r0, sizeof r0);
			memcpy(a[2 * k + 1], r1, sizeof r1);
			b[2 * k] = sx;
			b[2 * k + 1] = sy;
			continue;
		}
		for (int i = 0; i < 8; i++) {
			for (int j = 0; j < 8; j++)
				a[i][j] += r0[i] * r0[j] + r1[i] * r1[j];
			b[i] += r0[i] * sx + r1[i] * sy;
		}
	}
	if (!solve(a, b, 8))
		return 0;
	/* H = P^-1 H' M with M = diag(1/size, 1/size, 1), P^-1 = [l 0 ox; 0 l oy; 0 0 1]. */
	double g[9] = {b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], 1.0};
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < 3; r++)
			g[3 * r + c] /= size;
	for (int c = 0; c < 3; c++) {
		h[c] = l * g[c] + ox * g[6 + c];
		h[3 + c] = l * g[3 + c] + oy * g[6 + c];
		h[6 + c] = g[6 + c];
	}
	return 1;
}

/* Whether h keeps the symbol's corners in front (w > 0), i.e. the
 * quadrilateral is not folded through the horizon. */
static int proper(const double h[9], int size)
{
	for (int k = 0; k < 4; k++) {
		double u = (k == 1 || k == 2) ? size : 0.0, v = k >= 2 ? size : 0.0;
		if (!(h[6] * u + h[7] * v + h[8] > 0.0))
			return 0;
	}
	return 1;
}

/* The version within 1 of t's estimate whose timing patterns agree best
 * under the affine map of the finder centres: returns it (0 when none is in
 * 1..max_version) with its map in h and its score in *score; when that
 * score is below min_timing, both are only some version's and a value below
 * min_timing. */
static int best_version(const semqr__grey_image *img, const semqr__finder *finders,
                        const semqr__triplet *t, int max_version, double min_timing,
                        double h[9], double *score)
{
	const semqr__finder *a = &finders[t->tl], *b = &finders[t->tr], *c = &finders[t->bl];
	int version = 0;
	*score = -2.0;
	for (int v = t->version - 1; v <= t->version + 1; v++) {
		if (v < 1 || v > max_version)
			continue;
		double hv[9];
		affine_from_finders(a, b, c, 17 + 4 * v, hv);
		/* a version scoring below both min_timing and the best so far can
		 * neither win nor make the symbol located */
		double s = timing_score(img, hv, NULL, 17 + 4 * v, fmax(min_timing, *score));
		if (s > *score) {
			*score = s;
			version = v;
			memcpy(h, hv, sizeof hv);
		}
	}
	return version;
}

/* The homography taking the finder centres a, b, c of a symbol of `size`
 * where the affine map h does, and module point (size - 3.5, size - 3.5) to
 * where h puts that point moved by (s, t) modules (along u and v). Returns
 * 0 when it is degenerate or not proper. */
static int homography_moved(const semqr__finder *a, const semqr__finder *b,
                            const semqr__finder *c, const double h[9], int size, double s,
                            double t, double out[9])
{
	double u[4] = {3.5, size - 3.5, 3.5, size - 3.5};
	double v[4] = {3.5, 3.5, size - 3.5, size - 3.5};
	double x[4] = {a->x, b->x, c->x, 0.0}, y[4] = {a->y, b->y, c->y, 0.0};
	semqr__homography_apply(h, size - 3.5 + s, size - 3.5 + t, &x[3], &y[3]);
	return homography_n(u, v, x, y, 4, size, out) && proper(out, size);
}

/* Perspective: the fourth point (s, t) of homography_moved, searched on a
 * grid of 1-module steps within PERSPECTIVE_REACH modules, then refined by
 * half and quarter modules, for the best timing score less LEAN_COST per
 * module of |s| + |t|. Returns that score, with the map in h (the affine map
 * on entry) and the point in *ps, *pt. */
#define PERSPECTIVE_REACH 6
#define LEAN_COST 0.002 /* timing score per module of lean: the least lean wins ties */
static double perspective_search(const semqr__grey_image *img, const semqr__finder *a,
                                 const semqr__finder *b, const semqr__finder *c, int size,
                                 double h[9], double *ps, double *pt)
{
	double best = -2.0, bs = 0.0, bt = 0.0, hb[9];
	memcpy(hb, h, sizeof hb);
	for (int t = -PERSPECTIVE_REACH; t <= PERSPECTIVE_REACH; t++)
		for (int s = -PERSPECTIVE_REACH; s <= PERSPECTIVE_REACH; s++) {
			double hm[9];
			if (!homography_moved(a, b, c, h, size, s, t, hm))
				continue;
			double lean = LEAN_COST * (abs(s) + abs(t));
			double score = timing_score(img, hm, NULL, size, best + lean) - lean;
			if (score > best) {
				best = score;
				bs = s;
				bt = t;
				memcpy(hb, hm, sizeof hm);
			}
		}
	for (double step = 0.5; step >= 0.25; step *= 0.5) {
		double cs = bs, ct = bt;
		for (int j = -1; j <= 1; j++)
			for (int i = -1; i <= 1; i++) {
				double hm[9], ms = cs + i * step, mt = ct + j * step;
				if ((i == 0 && j == 0) ||
				    !homography_moved(a, b, c, h, size, ms, mt, hm))
					continue;
				double lean = LEAN_COST * (fabs(ms) + fabs(mt));
				double score =
				    timing_score(img, hm, NULL, size, best + lean) - lean;
				if (score > best) {
					best = score;
					bs = ms;
					bt = mt;
					memcpy(hb, hm, sizeof hm);
				}
			}
	}
	memcpy(h, hb, sizeof hb);
	*ps = bs;
	*pt = bt;
	return best;
}

/* Mean absolute difference of the grey values at the centres of
 * neighbouring modules (rows and columns): highest when every sample falls
 * inside its module, lower when the grid straddles module edges (neighbours
 * then blur into each other) or strays into the quiet zone. -1 when a
 * sample leaves the image. */
static double grid_contrast(const semqr__grey_image *img, const double h[9], int size)
{
	double sum = 0.0, prev = 0.0, row[SEMQR_SIZE_MAX];
	int ok = 1;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			double g = module_at(img, h, i + 0.5, j + 0.5, &ok);
			if (i > 0)
				sum += fabs(g - prev);
			if (j > 0)
				sum += fabs(g - row[i]);
			row[i] = g;
			prev = g;
		}
	return ok ? sum / (2.0 * size * (size - 1)) : -1.0;
}

/* The fourth point of homography_moved (on the affine map h of `size`)
 * within CONTRAST_REACH modules of (s, t) in both directions, in
 * half-module steps, for the best grid_contrast; the map into out. Returns
 * 0 when no map is proper. */
#define CONTRAST_REACH 3
static int contrast_search(const semqr__grey_image *img, const semqr__finder *a,
                           const semqr__finder *b, const semqr__finder *c, int size,
                           const double h[9], double s, double t, double out[9])
{
	double best = -2.0;
	for (int j = -2 * CONTRAST_REACH; j <= 2 * CONTRAST_REACH; j++)
		for (int i = -2 * CONTRAST_REACH; i <= 2 * CONTRAST_REACH; i++) {
			double hm[9];
			if (!homography_moved(a, b, c, h, size, s + 0.5 * i, t + 0.5 * j, hm))
				continue;
			double score = grid_contrast(img, hm, size);
			if (score > best) {
				best = score;
				memcpy(out, hm, sizeof hm);
			}
		}
	return best > -2.0;
}

/* Whether a finder is crossed by about as many runs as a real finder
 * pattern: every row and column through its 3-module centre gives one, 6
 * module sizes in all; a chance 1:1:3:1:1 pattern in data gives few. */
#define SUPPORT_MIN 2.5f /* runs per module size */
static int well_supported(const semqr__finder *f)
{
	return (float)f->support >= SUPPORT_MIN * f->module;
}

/* Every alignment pattern of a symbol of `version` (finder centres a, b,
 * c) searched within 2 modules of where h puts it; when the finder centres
 * and those found (correlation >= 0.5) are more than 4 points, h becomes
 * their least-squares homography (when proper). */
static void refine_alignments(const semqr__grey_image *img, const semqr__finder *a,
                              const semqr__finder *b, const semqr__finder *c, int version,
                              double sign, double h[9])
{
	int pos[7], np = semqr__alignment_positions(version, pos), size = 17 + 4 * version, n = 3;
	double u[52] = {3.5, size - 3.5, 3.5}, v[52] = {3.5, 3.5, size - 3.5};
	double x[52] = {a->x, b->x, c->x}, y[52] = {a->y, b->y, c->y};
	for (int j = 0; j < np; j++)
		for (int i = 0; i < np; i++) {
			int corner = (i == 0 || i == np - 1) && (j == 0 || j == np - 1);
			if (corner && !(i == np - 1 && j == np - 1))
				continue; /* under a finder */
			double au, av, cu = pos[i] + 0.5, cv = pos[j] + 0.5;
			if (find_alignment(img, h, cu, cv, sign, &au, &av) < 0.5)
				continue;
			u[n] = cu;
			v[n] = cv;
			semqr__homography_apply(h, au, av, &x[n], &y[n]);
			n++;
		}
	double hh[9];
	if (n > 4 && homography_n(u, v, x, y, n, size, hh) && proper(hh, size))
		memcpy(h, hh, sizeof hh);
}

/* Timing agreement short of min_timing by at most this much is not yet a
 * rejection when the three finders are well supported: distortion inside
 * the symbol (a charging jump halfway down it) can put half its timing
 * modules off any homography's grid, and such a symbol is located when its
 * grid correction brings the agreement to min_timing. On a 4096^2 plate
 * with 16 charging jumps of 2 to 5 px (tests/test_grid.c's, at 4096^2) the
 * scan decoder reads 273 of 289 symbols with it, 270 without; of 4 to 8 px,
 * the CPU chain of that test 242 instead of 225. */
#define RESCUE 0.25

/* semqr__locate_symbol and semqr__locate_perspective. */
static int locate(const semqr__grey_image *img, const semqr__finder *finders,
                  const semqr__triplet *t, int max_version, float min_timing, int perspective,
                  semqr__located *out)
{
	const semqr__finder *a = &finders[t->tl], *b = &finders[t->tr], *c = &finders[t->bl];
	double best = -2.0, h[9], bs = 0.0, bt = 0.0;
	int version = 0, strong = well_supported(a) && well_supported(b) && well_supported(c);
	double lowest = strong ? min_timing - RESCUE : min_timing;
	if (!perspective) {
		version = best_version(img, finders, t, max_version, lowest, h, &best);
	} else if (strong) {
		for (int v = t->version - 2; v <= t->version + 2; v++) {
			if (v < 1 || v > max_version)
				continue;
			double hv[9], s, t4;
			affine_from_finders(a, b, c, 17 + 4 * v, hv);
			double score = perspective_search(img, a, b, c, 17 + 4 * v, hv, &s, &t4);
			if (score > best) {
				best = score;
				version = v;
				memcpy(h, hv, sizeof hv);
				bs = s;
				bt = t4;
			}
		}
	}
	if (version == 0 || !(best >= lowest))
		return 0;
	int size = 17 + 4 * version;
	semqr__located loc;
	memset(&loc, 0, sizeof loc);
	loc.version = version;
	loc.size = size;
	loc.polarity = a->polarity;
	loc.timing = (float)best;
	double set, unset;
	finder_levels(img, h, NULL, size, &set, &unset);
	double sign = set > unset ? 1.0 : -1.0;
	if (version >= 2) {
		double au, av;
		if (find_alignment(img, h, size - 6.5, size - 6.5, sign, &au, &av) >= 0.5) {
			double u[4] = {3.5, size - 3.5, 3.5, size - 6.5};
			double v[4] = {3.5, 3.5, size - 3.5, size - 6.5};
			double x[4] = {a->x, b->x, c->x, 0.0}, y[4] = {a->y, b->y, c->y, 0.0};
			semqr__homography_apply(h, au, av, &x[3], &y[3]);
			double hh[9];
			if (homography_n(u, v, x, y, 4, size, hh) && proper(hh, size)) {
				memcpy(h, hh, sizeof h);
				loc.aligned = 1;
			}
		}
	}
	if (perspective && !loc.aligned) {
		double affine[9], hc[9];
		affine_from_finders(a, b, c, size, affine);
		if (contrast_search(img, a, b, c, size, affine, bs, bt, hc))
			memcpy(h, hc, sizeof hc);
	}
	if (perspective && version >= 7)
		refine_alignments(img, a, b, c, version, sign, h);
	memcpy(loc.h, h, sizeof h);
	for (int k = 0; k < 4; k++) {
		double x, y;
		double u = (k == 1 || k == 2) ? size : 0.0, v = k >= 2 ? size : 0.0;
		semqr__homography_apply(h, u, v, &x, &y);
		loc.corners[k][0] = (float)x;
		loc.corners[k][1] = (float)y;
	}
	if (!(best >= min_timing) &&
	    !(semqr__grid_refine(img, &loc) && semqr__timing_agreement(img, &loc) >= min_timing))
		return 0;
	*out = loc;
	return 1;
}

double semqr__timing_agreement(const semqr__grey_image *img, const semqr__located *loc)
{
	return timing_score(img, loc->h, loc->grid.on ? &loc->grid : NULL, loc->size, -2.0);
}

int semqr__locate_symbol(const semqr__grey_image *img, const semqr__finder *finders,
                         const semqr__triplet *t, int max_version, float min_timing,
                         semqr__located *out)
{
	return locate(img, finders, t, max_version, min_timing, 0, out);
}

int semqr__locate_perspective(const semqr__grey_image *img, const semqr__finder *finders,
                              const semqr__triplet *t, int max_version, float min_timing,
                              semqr__located *out)
{
	return locate(img, finders, t, max_version, min_timing, 1, out);
}
