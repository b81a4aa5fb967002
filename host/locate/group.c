/* Grouping finder patterns into symbols: right isosceles triangles of
 * finders of one polarity and module size, found through a spatial hash and,
 * for each corner finder, its neighbours bucketed by direction (contract in
 * locate.h). */
#include <math.h>
#include <stdlib.h>

#include "common/error_internal.h"
#include "locate/locate.h"

#define MODULE_RATIO 1.4f   /* largest ratio of module sizes within a symbol */
#define SIDE_TOLERANCE 0.12f /* |AB| and |AC| differ by less than this fraction */
#define COS_TOLERANCE 0.12f /* |cos| of the corner angle: 90 degrees within 7 */
#define SIDE_LOOSE 0.40f     /* the same for loose triangles (perspective) */
#define COS_LOOSE 0.34f      /* 90 degrees within 20 */
#define REACH_MIN 11.0f      /* version 1 spans 14 modules between finder centres */
#define REACH_SLACK 3.0f     /* modules beyond version max_version's 4 v + 10 */
#define KEEP 8               /* candidates kept per corner finder */

static int usable(const semqr__finder *f)
{
	return isfinite(f->x) && isfinite(f->y) && isfinite(f->module) && f->module > 0.0f;
}

/* Grouped in the first pass (see locate.h). */
#define STRONG_SUPPORT 2.0f
static int strong(const semqr__finder *f)
{
	return (float)f->support >= STRONG_SUPPORT * f->module;
}

/* The module size of a finder seen along a symbol axis of direction (dx,
 * dy): a finder turned by t measures m / max(|cos t|, |sin t|) along rows
 * and columns, so that factor is undone. */
static float axis_module(float module, float dx, float dy)
{
	float len = sqrtf(dx * dx + dy * dy);
	if (!(len > 0.0f))
		return module;
	float ax = fabsf(dx), ay = fabsf(dy);
	return module * (ax > ay ? ax : ay) / len;
}

static float ratio(float a, float b)
{
	return a > b ? a / b : b / a;
}

/* Scores the right-handed triangle (a, b, c) with its corner at a, d1 and d2
 * the lengths |ab| and |ac| as sqrtf(dx * dx + dy * dy) of the differences
 * from a (the caller has them); returns 0 when it is no candidate, else 1
 * with t's version, score, span and loose set. Modules are finite. */
static int score_triangle(const semqr__finder *a, const semqr__finder *b, const semqr__finder *c,
                          float d1, float d2, int max_version, semqr__triplet *t)
{
	float px = b->x - a->x, py = b->y - a->y;
	float qx = c->x - a->x, qy = c->y - a->y;
	if (!(d1 > 0.0f) || !(d2 > 0.0f) || px * qy - py * qx <= 0.0f)
		return 0;
	float side = fabsf(d1 - d2) / (0.5f * (d1 + d2));
	float cosine = fabsf(px * qx + py * qy) / (d1 * d2);
	float mbc = b->module > c->module ? b->module : c->module;
	float mmax = a->module > mbc ? a->module : mbc;
	mbc = b->module < c->module ? b->module : c->module;
	float mmin = a->module < mbc ? a->module : mbc;
	if (side >= SIDE_LOOSE || cosine >= COS_LOOSE || mmax >= MODULE_RATIO * mmin)
		return 0;
	t->loose = side >= SIDE_TOLERANCE || cosine >= COS_TOLERANCE;
	float m = axis_module((a->module + b->module + c->module) / 3.0f, px, py);
	float span = 0.5f * (d1 + d2) / m;
	if (span < REACH_MIN || span > 4.0f * (float)max_version + 10.0f + REACH_SLACK)
		return 0;
	int v = (int)lroundf((span - 10.0f) / 4.0f);
	v = v < 1 ? 1 : v > max_version ? max_version : v;
	t->version = v;
	t->span = span;
	t->score = side + cosine + 0.5f * (mmax / mmin - 1.0f)
	           + fabsf(span - (4.0f * (float)v + 10.0f)) / 8.0f;
	return 1;
}

/* Acceptance order: good triangles (strict, score below GOOD), then the
 * other strict ones, then the loose ones (a symbol seen in perspective: a
 * loose triangle never takes finders a strict one could have), and within
 * each tier by span + 40 score, in modules: smallest first, with a score of
 * 0.1 worth 4 modules. Finders of neighbouring symbols on a plate
 * form exact right isosceles triangles too, but always larger than the
 * symbols' own (by a gap and a finder at least: 11 modules), so the symbols'
 * own triangles take their finders first; a symbol's two finders with a
 * stray one make a triangle of about its size but a poorer score. */
#define GOOD 0.15f
static float order_key(const semqr__triplet *t)
{
	return (t->loose ? 2e6f : t->score < GOOD ? 0.0f : 1e6f) + t->span + 40.0f * t->score;
}

static int by_order(const void *pa, const void *pb)
{
	const semqr__triplet *a = pa, *b = pb;
	float ka = order_key(a), kb = order_key(b);
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->tl != b->tl)
		return a->tl < b->tl ? -1 : 1;
	if (a->tr != b->tr)
		return a->tr < b->tr ? -1 : 1;
	return a->bl < b->bl ? -1 : a->bl > b->bl;
}

/* Inserts t into the list best[0..*n) kept in acceptance order (by_order),
 * at most KEEP: the candidates a corner keeps are the ones the acceptance
 * would take first. (Kept by score alone, a corner finder of a plate lost
 * its own symbol's triangle to larger ones through the finders of
 * neighbouring symbols, exact right isosceles triangles too whose spans
 * happen to lie nearer 4 v + 10 modules.) */
static void keep_best(semqr__triplet *best, int *n, const semqr__triplet *t)
{
	int i = *n < KEEP ? (*n)++ : KEEP;
	if (i == KEEP && by_order(t, &best[KEEP - 1]) >= 0)
		return;
	if (i == KEEP)
		i = KEEP - 1;
	while (i > 0 && by_order(&best[i - 1], t) > 0) {
		best[i] = best[i - 1];
		i--;
	}
	best[i] = *t;
}

/* The direction of (dx, dy) as a number in [0, 4) increasing with its
 * angle (counterclockwise in the frame where (1, 0) turns into (0, 1)), one
 * per quadrant: cheaper than atan2f and enough to sort directions by. Not
 * for (0, 0). */
static float pseudo_angle(float dx, float dy)
{
	if (dy >= 0.0f)
		return dx >= 0.0f ? dy / (dx + dy) : 1.0f - dx / (dy - dx);
	return dx < 0.0f ? 2.0f - dy / (-dx - dy) : 3.0f + dx / (dx - dy);
}

/* Sectors of directions around a corner finder, by pseudo_angle. */
#define SECTORS 64
static int sector_of(float dx, float dy)
{
	int s = (int)(pseudo_angle(dx, dy) * (SECTORS / 4.0f));
	return s < 0 ? 0 : s > SECTORS - 1 ? SECTORS - 1 : s;
}

/* A finder near a corner finder A: its index, direction sector and distance
 * from A. */
typedef struct neighbour {
	int index, sector;
	float dist;
} neighbour;

/* Where score_triangle can accept C, with margins far beyond rounding:
 * sides within 40 % of their mean means 2 / 3 < |AC| / |AB| < 3 / 2, and
 * |cos| < 0.34 with (A, B, C) right-handed means AC turned from AB by 70.1
 * to 109.9 degrees (so C lies within 0.66 |AB| of A + R(B - A)). */
#define NEAR_LO 0.6f                     /* |AC| / |AB| */
#define NEAR_HI 1.6f
#define COS_TURN_LO 0.37460659f          /* cos and sin of 68 degrees */
#define SIN_TURN 0.92718385f             /* = sin 112 degrees; cos 112 = -cos 68 */

/* Collects the best candidates with corner a into best[0..*nbest), using
 * raw and nb (room for n neighbours each) and start (SECTORS + 1 ints).
 * The partners B are the finders of the wide hash cells within reach of A
 * (filtered as locate.h states), each C any finder within 0.74 |AB| of
 * A + R(B - A) that score_triangle accepts (all lie within 0.66 |AB|, see
 * above). The finders that can be either
 * (same polarity, module within a factor 1.01 x 1.4, within 1.6 reach of A)
 * are collected once, bucketed by direction from A into SECTORS sectors;
 * for each B only the sectors from 68 to 112 degrees beyond AB are scanned,
 * and only the finders there at 0.6 to 1.6 |AB| from A are scored: every C
 * score_triangle accepts is among them. Triangles are thus found in another
 * order than the cells give, but the best KEEP and their order do not
 * depend on it (keep_best keeps a strict total order). */
static void corner_candidates(const semqr__finder *f, const unsigned char *allowed,
                              int pass, int a, int max_version,
                              const semqr__spatial_hash *wide, neighbour *raw, neighbour *nb,
                              int *start, semqr__triplet *best, int *nbest)
{
	const semqr__finder *fa = &f[a];
	float reach = (4.0f * (float)max_version + 10.0f + REACH_SLACK) * fa->module;
	float far = NEAR_HI * reach;
	int32_t x0 = semqr__spatial_hash_cell(wide, fa->x - reach);
	int32_t x1 = semqr__spatial_hash_cell(wide, fa->x + reach);
	int32_t y0 = semqr__spatial_hash_cell(wide, fa->y - reach);
	int32_t y1 = semqr__spatial_hash_cell(wide, fa->y + reach);
	int32_t fx0 = semqr__spatial_hash_cell(wide, fa->x - far);
	int32_t fx1 = semqr__spatial_hash_cell(wide, fa->x + far);
	int32_t fy0 = semqr__spatial_hash_cell(wide, fa->y - far);
	int32_t fy1 = semqr__spatial_hash_cell(wide, fa->y + far);
	/* The neighbours in raw, then by sector in nb (a counting sort). */
	int nn = 0;
	for (int32_t cy = fy0; cy <= fy1; cy++)
		for (int32_t cx = fx0; cx <= fx1; cx++) {
			int begin, end;
			semqr__spatial_hash_bucket(wide, cx, cy, &begin, &end);
			for (int p = begin; p < end; p++) {
				int j = wide->index[p];
				if (j == a || !allowed[j] || wide->cx[j] != cx || wide->cy[j] != cy)
					continue;
				const semqr__finder *fj = &f[j];
				if (fj->polarity != fa->polarity || !usable(fj)
				    || ratio(fa->module, fj->module) >= 1.01f * MODULE_RATIO)
					continue;
				float dx = fj->x - fa->x, dy = fj->y - fa->y;
				float d = sqrtf(dx * dx + dy * dy);
				if (d > 0.0f && d <= far)
					raw[nn++] = (neighbour){j, sector_of(dx, dy), d};
			}
		}
	for (int s = 0; s <= SECTORS; s++)
		start[s] = 0;
	for (int i = 0; i < nn; i++)
		start[raw[i].sector + 1]++;
	for (int s = 0; s < SECTORS; s++)
		start[s + 1] += start[s];
	for (int i = 0; i < nn; i++)
		nb[start[raw[i].sector]++] = raw[i];
	/* each start[s] moved on to the next sector's first place */
	for (int s = SECTORS; s > 0; s--)
		start[s] = start[s - 1];
	start[0] = 0;
	*nbest = 0;
	for (int i = 0; i < start[SECTORS]; i++) {
		int b = nb[i].index;
		if (wide->cx[b] < x0 || wide->cx[b] > x1 || wide->cy[b] < y0 || wide->cy[b] > y1)
			continue;
		const semqr__finder *fb = &f[b];
		if (ratio(fa->module, fb->module) >= MODULE_RATIO)
			continue;
		float px = fb->x - fa->x, py = fb->y - fa->y;
		float d = sqrtf(px * px + py * py);
		float m = axis_module(fa->module, px, py);
		if (d < (REACH_MIN / MODULE_RATIO) * m || d > reach)
			continue;
		/* the sectors from AB turned by 68 degrees to AB turned by 112 */
		int s =
		    sector_of(COS_TURN_LO * px - SIN_TURN * py, SIN_TURN * px + COS_TURN_LO * py);
		int last =
		    sector_of(-COS_TURN_LO * px - SIN_TURN * py, SIN_TURN * px - COS_TURN_LO * py);
		for (;; s = (s + 1) % SECTORS) {
			for (int k = start[s]; k < start[s + 1]; k++) {
				int c = nb[k].index;
				if (c == b || nb[k].dist < NEAR_LO * d || nb[k].dist > NEAR_HI * d)
					continue;
				semqr__triplet t = {a, b, c, 0, 0.0f, 0.0f, 0};
				if (pass == 1 && strong(fa) && strong(fb) && strong(&f[c]))
					continue; /* offered in pass 0 */
				if (score_triangle(fa, fb, &f[c], d, nb[k].dist, max_version, &t))
					keep_best(best, nbest, &t);
			}
			if (s == last)
				break;
		}
	}
}

/* Marks used the weak finders within the symbol of the strict triplet t, as
 * locate.h states: those at A + s (B - A) + t (C - A) with s and t in
 * [-e, 1 + e], e = 3 / (size - 7), found through the hash's cells over that
 * parallelogram's bounding box. */
static void cover(const semqr__finder *f, const semqr__spatial_hash *h, const semqr__triplet *t,
                  unsigned char *used)
{
	const semqr__finder *a = &f[t->tl], *b = &f[t->tr], *c = &f[t->bl];
	double px = b->x - a->x, py = b->y - a->y, qx = c->x - a->x, qy = c->y - a->y;
	double det = px * qy - py * qx;
	if (!(det > 0.0))
		return;
	double lo = -3.0 / (4.0 * t->version + 10.0), hi = 1.0 - lo;
	double xs[4], ys[4];
	for (int k = 0; k < 4; k++) {
		double s = (k & 1) ? hi : lo, r = (k & 2) ? hi : lo;
		xs[k] = a->x + s * px + r * qx;
		ys[k] = a->y + s * py + r * qy;
	}
	double x0 = fmin(fmin(xs[0], xs[1]), fmin(xs[2], xs[3]));
	double x1 = fmax(fmax(xs[0], xs[1]), fmax(xs[2], xs[3]));
	double y0 = fmin(fmin(ys[0], ys[1]), fmin(ys[2], ys[3]));
	double y1 = fmax(fmax(ys[0], ys[1]), fmax(ys[2], ys[3]));
	int32_t cx0 = semqr__spatial_hash_cell(h, (float)x0), cx1 = semqr__spatial_hash_cell(h, (float)x1);
	int32_t cy0 = semqr__spatial_hash_cell(h, (float)y0), cy1 = semqr__spatial_hash_cell(h, (float)y1);
	for (int32_t cy = cy0; cy <= cy1; cy++)
		for (int32_t cx = cx0; cx <= cx1; cx++) {
			int begin, end;
			semqr__spatial_hash_bucket(h, cx, cy, &begin, &end);
			for (int p = begin; p < end; p++) {
				int j = h->index[p];
				if (used[j] || strong(&f[j]) || h->cx[j] != cx || h->cy[j] != cy)
					continue;
				/* (s, r): f[j] in the frame of AB and AC */
				double dx = f[j].x - a->x, dy = f[j].y - a->y;
				double s = (dx * qy - dy * qx) / det, r = (px * dy - py * dx) / det;
				if (s >= lo && s <= hi && r >= lo && r <= hi)
					used[j] = 1;
			}
		}
}

semqr_status semqr__group_symbols(const semqr__finder *finders, int n, int max_version,
                                  semqr__triplet_check check, void *user, semqr__triplet *out,
                                  int *count, semqr_error *err)
{
	*count = 0;
	if (max_version < 1 || max_version > 40)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "locate: grouping finders: max_version %d is outside 1..40",
		                   max_version);
	if (n < 3)
		return SEMQR_OK;
	semqr__triplet *cand = malloc((size_t)n * KEEP * sizeof *cand);
	neighbour *nb = malloc((size_t)n * 2 * sizeof *nb);
	unsigned char *used = calloc((size_t)n, 1), *allowed = malloc((size_t)n);
	if (!cand || !nb || !used || !allowed) {
		free(cand);
		free(nb);
		free(used);
		free(allowed);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "locate: grouping %d finders: out of memory", n);
	}
	/* Cells of half the reach of the mean module of the usable finders (a
	 * query visits about 5 x 5 of them for partners, 8 x 8 for
	 * neighbours). Corner finders with modules beyond 16 times that mean
	 * are left out, bounding the cells any query visits. */
	double sum = 0.0;
	int valid = 0;
	for (int i = 0; i < n; i++)
		if (usable(&finders[i])) {
			sum += finders[i].module;
			valid++;
		}
	semqr__spatial_hash wide = {0};
	semqr_status st = SEMQR_OK;
	int found = 0;
	if (valid >= 3) {
		float mean = (float)(sum / valid);
		float reach = (4.0f * (float)max_version + 10.0f + REACH_SLACK) * mean;
		int step = (int)(sizeof *finders / sizeof(float));
		st = semqr__spatial_hash_build(&wide, &finders[0].x, &finders[0].y, step, n,
		                               0.5f * reach, err);
		int start[SECTORS + 1];
		for (int pass = 0; st == SEMQR_OK && pass < 2; pass++) {
			int any = 0;
			for (int i = 0; i < n; i++) {
				allowed[i] = !used[i] && (pass == 1 || strong(&finders[i]));
				any |= allowed[i] && !strong(&finders[i]);
			}
			if (pass == 1 && !any)
				break;
			int ncand = 0;
			for (int a = 0; a < n; a++) {
				if (!allowed[a] || !usable(&finders[a]) || finders[a].module > 16.0f * mean)
					continue;
				int nbest;
				corner_candidates(finders, allowed, pass, a, max_version, &wide, nb,
				                  nb + n, start, &cand[ncand], &nbest);
				ncand += nbest;
			}
			qsort(cand, (size_t)ncand, sizeof *cand, by_order);
			for (int i = 0; i < ncand; i++) {
				semqr__triplet t = cand[i];
				if (used[t.tl] || used[t.tr] || used[t.bl])
					continue;
				int verdict = check ? check(user, finders, &t) : SEMQR__TRIPLET_ACCEPT;
				if (!verdict)
					continue;
				used[t.tl] = used[t.tr] = used[t.bl] = 1;
				if (verdict == SEMQR__TRIPLET_COVER && !t.loose)
					cover(finders, &wide, &t, used);
				out[found++] = t;
			}
		}
	}
	*count = st == SEMQR_OK ? found : 0;
	semqr__spatial_hash_free(&wide);
	free(cand);
	free(nb);
	free(used);
	free(allowed);
	return st;
}
