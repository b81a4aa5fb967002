/* Grouping finder patterns into symbols: right isosceles triangles of
 * finders of one polarity and module size, found through two spatial hashes
 * (contract in locate.h). */
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

/* The module size of a finder seen along a symbol axis of direction (dx,
 * dy): a finder turned by t measures m / max(|cos t|, |sin t|) along rows
 * and columns, so that factor is undone. */
static float axis_module(float module, float dx, float dy)
{
	float len = sqrtf(dx * dx + dy * dy);
	if (!(len > 0.0f))
		return module;
	return module * fmaxf(fabsf(dx), fabsf(dy)) / len;
}

static float ratio(float a, float b)
{
	return a > b ? a / b : b / a;
}

/* Scores the right-handed triangle (a, b, c) with its corner at a; returns 0
 * when it is no candidate, else 1 with t's version, score, span and loose
 * set. */
static int score_triangle(const semqr__finder *a, const semqr__finder *b, const semqr__finder *c,
                          int max_version, semqr__triplet *t)
{
	float px = b->x - a->x, py = b->y - a->y;
	float qx = c->x - a->x, qy = c->y - a->y;
	float d1 = sqrtf(px * px + py * py), d2 = sqrtf(qx * qx + qy * qy);
	if (!(d1 > 0.0f) || !(d2 > 0.0f) || px * qy - py * qx <= 0.0f)
		return 0;
	float side = fabsf(d1 - d2) / (0.5f * (d1 + d2));
	float cosine = fabsf(px * qx + py * qy) / (d1 * d2);
	float mmax = fmaxf(a->module, fmaxf(b->module, c->module));
	float mmin = fminf(a->module, fminf(b->module, c->module));
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

/* Collects the best candidates with corner a into best[0..*nbest). */
static void corner_candidates(const semqr__finder *f, int a, int max_version,
                              const semqr__spatial_hash *wide, const semqr__spatial_hash *fine,
                              semqr__triplet *best, int *nbest)
{
	const semqr__finder *fa = &f[a];
	float reach = (4.0f * (float)max_version + 10.0f + REACH_SLACK) * fa->module;
	int32_t x0 = semqr__spatial_hash_cell(wide, fa->x - reach);
	int32_t x1 = semqr__spatial_hash_cell(wide, fa->x + reach);
	int32_t y0 = semqr__spatial_hash_cell(wide, fa->y - reach);
	int32_t y1 = semqr__spatial_hash_cell(wide, fa->y + reach);
	*nbest = 0;
	for (int32_t cy = y0; cy <= y1; cy++)
		for (int32_t cx = x0; cx <= x1; cx++) {
			int begin, end;
			semqr__spatial_hash_bucket(wide, cx, cy, &begin, &end);
			for (int p = begin; p < end; p++) {
				int b = wide->index[p];
				if (b == a || wide->cx[b] != cx || wide->cy[b] != cy)
					continue;
				const semqr__finder *fb = &f[b];
				if (fb->polarity != fa->polarity || !usable(fb)
				    || ratio(fa->module, fb->module) >= MODULE_RATIO)
					continue;
				float px = fb->x - fa->x, py = fb->y - fa->y;
				float d = sqrtf(px * px + py * py);
				float m = axis_module(fa->module, px, py);
				if (d < (REACH_MIN / MODULE_RATIO) * m || d > reach)
					continue;
				/* C near a + (-py, px), within the loose side and angle
				 * tolerances; from the fine hash unless that means more
				 * than 4 x 4 cells. */
				float ex = fa->x - py, ey = fa->y + px;
				float r = (SIDE_LOOSE + COS_LOOSE) * d;
				const semqr__spatial_hash *g = r > 2.0f * fine->cell ? wide : fine;
				int32_t u0 = semqr__spatial_hash_cell(g, ex - r);
				int32_t u1 = semqr__spatial_hash_cell(g, ex + r);
				int32_t v0 = semqr__spatial_hash_cell(g, ey - r);
				int32_t v1 = semqr__spatial_hash_cell(g, ey + r);
				for (int32_t gy = v0; gy <= v1; gy++)
					for (int32_t gx = u0; gx <= u1; gx++) {
						int cb, ce;
						semqr__spatial_hash_bucket(g, gx, gy, &cb, &ce);
						for (int q = cb; q < ce; q++) {
							int c = g->index[q];
							if (c == a || c == b || g->cx[c] != gx
							    || g->cy[c] != gy || f[c].polarity != fa->polarity
							    || !usable(&f[c]))
								continue;
							semqr__triplet t = {a, b, c, 0, 0.0f, 0.0f, 0};
							if (score_triangle(fa, fb, &f[c], max_version, &t))
								keep_best(best, nbest, &t);
						}
					}
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
	unsigned char *used = calloc((size_t)n, 1);
	if (!cand || !used) {
		free(cand);
		free(used);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "locate: grouping %d finders: out of memory", n);
	}
	/* Cell sizes from the mean module of the usable finders: wide cells of
	 * half the reach for enumerating partners (a query visits about 5 x 5
	 * of them), fine cells of 4 modules for the third finder. Finders with
	 * modules beyond 16 times that mean are left out, bounding the cells any
	 * query visits. */
	double sum = 0.0;
	int valid = 0;
	for (int i = 0; i < n; i++)
		if (usable(&finders[i])) {
			sum += finders[i].module;
			valid++;
		}
	semqr__spatial_hash wide = {0}, fine = {0};
	semqr_status st = SEMQR_OK;
	int ncand = 0;
	if (valid >= 3) {
		float mean = (float)(sum / valid);
		float reach = (4.0f * (float)max_version + 10.0f + REACH_SLACK) * mean;
		int step = (int)(sizeof *finders / sizeof(float));
		st = semqr__spatial_hash_build(&wide, &finders[0].x, &finders[0].y, step, n,
		                               0.5f * reach, err);
		if (st == SEMQR_OK)
			st = semqr__spatial_hash_build(&fine, &finders[0].x, &finders[0].y, step, n,
			                               4.0f * mean, err);
		for (int a = 0; st == SEMQR_OK && a < n; a++) {
			if (!usable(&finders[a]) || finders[a].module > 16.0f * mean)
				continue;
			int nbest;
			corner_candidates(finders, a, max_version, &wide, &fine, &cand[ncand], &nbest);
			ncand += nbest;
		}
	}
	if (st == SEMQR_OK) {
		qsort(cand, (size_t)ncand, sizeof *cand, by_order);
		int found = 0;
		for (int i = 0; i < ncand; i++) {
			semqr__triplet t = cand[i];
			if (used[t.tl] || used[t.tr] || used[t.bl])
				continue;
			if (check && !check(user, finders, &t))
				continue;
			used[t.tl] = used[t.tr] = used[t.bl] = 1;
			out[found++] = t;
		}
		*count = found;
	}
	semqr__spatial_hash_free(&wide);
	semqr__spatial_hash_free(&fine);
	free(cand);
	free(used);
	return st;
}
