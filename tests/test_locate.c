/* Symbol finding (host/locate): the spatial hash, finder clustering and
 * grouping on synthetic inputs, then the whole CPU chain on rendered noisy
 * plates: ref_load_u8 -> ref_denoise -> ref_binarize -> ref_finder ->
 * semqr__finders_cluster -> semqr__group_symbols -> semqr__locate_symbol ->
 * semqr__sample_soft -> semqr_decode_matrix.
 *
 * Plates are rendered here: symbols from semqr_encode, laid out in a grid,
 * turned, scaled to 4-8 px per module with sub-pixel offsets, optionally
 * mirrored, in both polarities (milled modules dark on light film or light
 * on dark), at 4 x 4 supersampling per pixel, then blurred (Gaussian sigma
 * 1 px), given Gaussian noise and quantised to 8 bits. Noise levels follow
 * the mission's SEM figures: sigma 10-18 grey levels, contrast-to-noise 3-7.
 * All randomness is seeded; trial counts are stated per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "locate/locate.h"
#include "semqr/qr.h"
#include "support/ref.h"

#define PI 3.14159265358979323846

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the candidate layout is the device stage's ------------------------- */

static void test_candidate_layout(void **state)
{
	assert_int_equal(sizeof(semqr__run_candidate), sizeof(semqr__finder_candidate));
	assert_int_equal(offsetof(semqr__run_candidate, x), offsetof(semqr__finder_candidate, x));
	assert_int_equal(offsetof(semqr__run_candidate, y), offsetof(semqr__finder_candidate, y));
	assert_int_equal(offsetof(semqr__run_candidate, module),
	                 offsetof(semqr__finder_candidate, module));
	assert_int_equal(offsetof(semqr__run_candidate, polarity),
	                 offsetof(semqr__finder_candidate, polarity));
	assert_int_equal(offsetof(semqr__run_candidate, axis),
	                 offsetof(semqr__finder_candidate, axis));
}

/* ---- spatial hash ----------------------------------------------------------- */

/* 2000 random points (some far out, some coincident); for 200 random query
 * discs, the points the hash's cells give, filtered by distance, are exactly
 * those a brute-force scan finds. */
static void test_spatial_hash(void **state)
{
	enum { N = 2000 };
	static float xy[2 * N];
	ref_rng rng;
	ref_rng_seed(&rng, 11);
	for (int i = 0; i < N; i++) {
		float spread = i % 10 == 0 ? 1e6f : 500.0f;
		xy[2 * i] = (ref_rng_uniform(&rng) - 0.5f) * spread;
		xy[2 * i + 1] = i % 7 == 0 ? 3.0f : (ref_rng_uniform(&rng) - 0.5f) * spread;
	}
	semqr__spatial_hash h;
	semqr_error err;
	assert_int_equal(semqr__spatial_hash_build(&h, &xy[0], &xy[1], 2, N, 7.5f, &err), SEMQR_OK);
	static unsigned char seen[N];
	for (int q = 0; q < 200; q++) {
		float qx = (ref_rng_uniform(&rng) - 0.5f) * 500.0f;
		float qy = (ref_rng_uniform(&rng) - 0.5f) * 500.0f;
		float r = 1.0f + 30.0f * ref_rng_uniform(&rng);
		memset(seen, 0, sizeof seen);
		int got = 0;
		for (int32_t cy = semqr__spatial_hash_cell(&h, qy - r);
		     cy <= semqr__spatial_hash_cell(&h, qy + r); cy++)
			for (int32_t cx = semqr__spatial_hash_cell(&h, qx - r);
			     cx <= semqr__spatial_hash_cell(&h, qx + r); cx++) {
				int b, e;
				semqr__spatial_hash_bucket(&h, cx, cy, &b, &e);
				for (int p = b; p < e; p++) {
					int i = h.index[p];
					if (h.cx[i] != cx || h.cy[i] != cy)
						continue;
					float dx = xy[2 * i] - qx, dy = xy[2 * i + 1] - qy;
					if (dx * dx + dy * dy <= r * r) {
						assert_false(seen[i]);
						seen[i] = 1;
						got++;
					}
				}
			}
		int want = 0;
		for (int i = 0; i < N; i++) {
			float dx = xy[2 * i] - qx, dy = xy[2 * i + 1] - qy;
			if (dx * dx + dy * dy <= r * r) {
				assert_true(seen[i]);
				want++;
			}
		}
		assert_int_equal(got, want);
	}
	semqr__spatial_hash_free(&h);
	/* Zero points. */
	assert_int_equal(semqr__spatial_hash_build(&h, xy, xy + 1, 2, 0, 1.0f, &err), SEMQR_OK);
	int b, e;
	semqr__spatial_hash_bucket(&h, 0, 0, &b, &e);
	assert_int_equal(b, e);
	semqr__spatial_hash_free(&h);
}

/* ---- clustering ------------------------------------------------------------- */

/* Appends the candidates a finder of module m turned by angle t at (cx, cy)
 * produces: rows through its central three modules, centred on the chord
 * midpoints (which move by tan t per row), module m / cos t along the line,
 * plus jitter of `jitter` px. */
static int finder_candidates(semqr__run_candidate *c, float cx, float cy, float m, float t,
                             int polarity, float jitter, ref_rng *rng)
{
	int n = 0;
	float reach = 1.4f * m * cosf(t);
	for (int axis = 0; axis < 2; axis++) {
		float across0 = axis == 0 ? cy : cx, along0 = axis == 0 ? cx : cy;
		/* Chord midpoints of rows shift by -tan t per row, of columns by +tan t. */
		float slope = axis == 0 ? -tanf(t) : tanf(t);
		for (int line = (int)ceilf(across0 - reach); line <= (int)floorf(across0 + reach);
		     line++) {
			semqr__run_candidate *k = &c[n++];
			float along = along0 + slope * ((float)line - across0)
			              + jitter * ref_rng_gauss(rng);
			k->x = axis == 0 ? along : (float)line;
			k->y = axis == 0 ? (float)line : along;
			k->module = m / cosf(t) * (1.0f + 0.03f * ref_rng_gauss(rng));
			k->polarity = polarity;
			k->axis = axis;
		}
	}
	return n;
}

/* 300 finders (module 3-9 px, turned by up to +-40 degrees, jitter 0.2 px,
 * both polarities, every tenth one with a finder of the other polarity at the
 * same centre) in shuffled candidate order, plus 200 isolated row-only
 * candidates: exactly the finders come out, each within 0.3 px of its
 * centre, with the right polarity, support and module size. */
static void test_cluster_finders(void **state)
{
	enum { F = 300, MAXC = F * 120 + 200 };
	semqr__run_candidate *c = malloc(MAXC * sizeof *c);
	semqr__finder *out = malloc((MAXC / 2 + 1) * sizeof *out);
	float fx[F + F / 10], fy[F + F / 10], fm[F + F / 10];
	int fp[F + F / 10], fs[F + F / 10], nf = 0;
	assert_non_null(c);
	assert_non_null(out);
	ref_rng rng;
	ref_rng_seed(&rng, 5);
	int n = 0;
	for (int i = 0; i < F; i++) {
		float cx = 40.0f + 60.0f * (float)(i % 20) + 10.0f * ref_rng_uniform(&rng);
		float cy = 40.0f + 60.0f * (float)(i / 20) + 10.0f * ref_rng_uniform(&rng);
		float m = 3.0f + 6.0f * ref_rng_uniform(&rng);
		float t = (ref_rng_uniform(&rng) - 0.5f) * 1.4f;
		for (int p = 0; p < (i % 10 == 0 ? 2 : 1); p++) {
			int k = finder_candidates(c + n, cx, cy, m, t, (i + p) % 2, 0.2f, &rng);
			fx[nf] = cx;
			fy[nf] = cy;
			fm[nf] = m / cosf(t);
			fp[nf] = (i + p) % 2;
			fs[nf] = k;
			nf++;
			n += k;
		}
	}
	for (int i = 0; i < 200; i++) {
		semqr__run_candidate *k = &c[n++];
		k->x = 10.0f + 1200.0f * ref_rng_uniform(&rng);
		k->y = 1000.0f + 300.0f * ref_rng_uniform(&rng);
		k->module = 5.0f;
		k->polarity = (int32_t)(ref_rng_u32(&rng) & 1);
		k->axis = 0;
	}
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(ref_rng_u32(&rng) % (uint32_t)(i + 1));
		semqr__run_candidate t = c[i];
		c[i] = c[j];
		c[j] = t;
	}
	int count = -1;
	semqr_error err;
	assert_int_equal(semqr__finders_cluster(c, n, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, nf);
	double worst = 0.0;
	for (int i = 0; i < nf; i++) {
		int match = -1;
		for (int k = 0; k < count; k++)
			if (out[k].polarity == fp[i] && fabsf(out[k].x - fx[i]) < 2.0f
			    && fabsf(out[k].y - fy[i]) < 2.0f)
				match = k;
		assert_true(match >= 0);
		double d = hypot(out[match].x - fx[i], out[match].y - fy[i]);
		worst = d > worst ? d : worst;
		assert_true(d < 0.3);
		assert_int_equal(out[match].support, fs[i]);
		assert_true(fabsf(out[match].module - fm[i]) < 0.05f * fm[i]);
	}
	printf("cluster: %d finders from %d candidates, worst centre error %.3f px\n", count, n,
	       worst);
	free(c);
	free(out);
}

/* Degenerate input: no candidates; 100 000 candidates at one point (one
 * finder, bounded time); two such spots 3e7 pixels apart (two finders: the
 * linking grid's cells grow to keep their number bounded); non-finite
 * coordinates, non-positive modules and invalid polarity or axis values are
 * ignored. */
static void test_cluster_degenerate(void **state)
{
	enum { N = 100000 };
	semqr__run_candidate *c = malloc(N * sizeof *c);
	semqr__finder *out = malloc((N / 2 + 1) * sizeof *out);
	assert_non_null(c);
	assert_non_null(out);
	int count = -1;
	semqr_error err;
	assert_int_equal(semqr__finders_cluster(c, 0, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 0);
	for (int i = 0; i < N; i++)
		c[i] = (semqr__run_candidate){100.0f, 100.0f, 4.0f, 1, i % 2};
	double t0 = now();
	assert_int_equal(semqr__finders_cluster(c, N, out, &count, &err), SEMQR_OK);
	printf("cluster: %d candidates at one point: %.3f s\n", N, now() - t0);
	assert_int_equal(count, 1);
	assert_true(out[0].x == 100.0f && out[0].y == 100.0f);
	assert_int_equal(out[0].support, N);

	for (int i = 0; i < N; i++)
		c[i] = i < N / 2 ? (semqr__run_candidate){100.0f, 100.0f, 4.0f, 1, i % 2}
		                 : (semqr__run_candidate){3e7f, 5e6f, 4.0f, 1, i % 2};
	assert_int_equal(semqr__finders_cluster(c, N, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 2);
	for (int k = 0; k < 2; k++) {
		int far = out[k].x > 1e6f;
		assert_true(out[k].x == (far ? 3e7f : 100.0f) && out[k].y == (far ? 5e6f : 100.0f));
		assert_int_equal(out[k].support, N / 2);
	}

	const float bad[4] = {NAN, INFINITY, -INFINITY, 0.0f};
	for (int i = 0; i < 64; i++) {
		c[i] = (semqr__run_candidate){50.0f, 50.0f, 4.0f, 0, i % 2};
		switch (i % 6) {
		case 0: c[i].x = bad[i / 6 % 3]; break;
		case 1: c[i].y = bad[i / 6 % 3]; break;
		case 2: c[i].module = bad[i / 6 % 4]; break;
		case 3: c[i].module = -1.0f; break;
		case 4: c[i].polarity = 2; break;
		default: c[i].axis = -1; break;
		}
	}
	assert_int_equal(semqr__finders_cluster(c, 64, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 0);
	free(c);
	free(out);
}

/* ---- grouping --------------------------------------------------------------- */

/* Lays out symbols as finder triplets on a grid (gap 4 modules, module
 * 4 +- 0.5 px, versions 1..vmax): with `aligned` all turned by one angle, as
 * on a plate, else each by its own; every third one mirrored (its top-right
 * and bottom-left finders swap places). Finder centres get 0.3 px jitter.
 * f receives 3 per symbol (tl, tr, bl in the symbol's own labels), shuffled:
 * perm[k] is the slot of finder k. */
static void layout_triplets(int side, int vmax, int aligned, ref_rng *rng, semqr__finder *f,
                            int *perm)
{
	int n = side * side;
	double pitch = (17.0 + 4.0 * vmax + 4.0) * 4.5;
	double base = 0.3;
	for (int s = 0; s < n; s++) {
		int v = 1 + (int)(ref_rng_u32(rng) % (uint32_t)vmax);
		double m = 4.0 + ref_rng_uniform(rng) - 0.5;
		double t = aligned ? base : 2.0 * PI * ref_rng_uniform(rng);
		double span = (4.0 * v + 10.0) * m;
		double ox = (s % side) * pitch * 1.5, oy = (s / side) * pitch * 1.5;
		double ux = cos(t), uy = sin(t), vx = -sin(t), vy = cos(t);
		if (s % 3 == 0) {
			double tx = ux, ty = uy;
			ux = vx;
			uy = vy;
			vx = tx;
			vy = ty;
		}
		double px[3] = {ox, ox + span * ux, ox + span * vx};
		double py[3] = {oy, oy + span * uy, oy + span * vy};
		for (int k = 0; k < 3; k++) {
			semqr__finder *g = &f[perm[3 * s + k]];
			g->x = (float)(px[k] + 0.3 * ref_rng_gauss(rng));
			g->y = (float)(py[k] + 0.3 * ref_rng_gauss(rng));
			g->module = (float)(m / fmax(fabs(cos(t)), fabs(sin(t))));
			g->polarity = 1;
			g->support = 20;
		}
	}
}

/* 10 000 symbols (versions 1..10, layouts as above: plate-aligned and
 * randomly turned), 30 000 finders: every symbol is grouped with its own
 * finders and corner, nothing else is grouped. Times are printed for
 * max_version 10 and 40 (not asserted). */
static void check_grouping(int aligned, int max_version)
{
	enum { SIDE = 100, N = SIDE * SIDE * 3 };
	semqr__finder *f = malloc(N * sizeof *f);
	int *perm = malloc(N * sizeof *perm);
	int *owner = malloc(N * sizeof *owner);
	semqr__triplet *out = malloc((N / 3 + 1) * sizeof *out);
	assert_true(f && perm && owner && out);
	ref_rng rng;
	ref_rng_seed(&rng, 77 + (uint64_t)aligned);
	for (int i = 0; i < N; i++)
		perm[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(ref_rng_u32(&rng) % (uint32_t)(i + 1));
		int t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int i = 0; i < N; i++)
		owner[perm[i]] = i;
	layout_triplets(SIDE, 10, aligned, &rng, f, perm);
	int count = -1;
	semqr_error err;
	double t0 = now();
	assert_int_equal(semqr__group_symbols(f, N, max_version, NULL, NULL, out, &count, &err),
	                 SEMQR_OK);
	printf("group: %d finders (%s), max_version %d: %d symbols in %.3f s\n", N,
	       aligned ? "plate-aligned" : "random turns", max_version, count, now() - t0);
	assert_int_equal(count, N / 3);
	for (int i = 0; i < count; i++) {
		int s = owner[out[i].tl] / 3;
		assert_int_equal(owner[out[i].tl] % 3, 0);
		assert_int_equal(owner[out[i].tr] / 3, s);
		assert_int_equal(owner[out[i].bl] / 3, s);
		/* Right-handed framing: a mirrored symbol has its labels swapped. */
		assert_int_equal(owner[out[i].tr] % 3, s % 3 == 0 ? 2 : 1);
	}
	free(f);
	free(perm);
	free(owner);
	free(out);
}

static void test_group_triplets(void **state)
{
	check_grouping(1, 10);
	check_grouping(0, 10);
	check_grouping(1, 40);
}

/* Degenerate input: fewer than three finders; 3000 finders at one point;
 * an invalid max_version. */
static void test_group_degenerate(void **state)
{
	enum { N = 3000 };
	semqr__finder *f = malloc(N * sizeof *f);
	semqr__triplet *out = malloc((N / 3 + 1) * sizeof *out);
	assert_true(f && out);
	for (int i = 0; i < N; i++)
		f[i] = (semqr__finder){10.0f, 10.0f, 4.0f, 0, 10};
	int count = -1;
	semqr_error err;
	assert_int_equal(semqr__group_symbols(f, 2, 40, NULL, NULL, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 0);
	double t0 = now();
	assert_int_equal(semqr__group_symbols(f, N, 40, NULL, NULL, out, &count, &err), SEMQR_OK);
	printf("group: %d finders at one point: %.3f s\n", N, now() - t0);
	assert_int_equal(count, 0);
	assert_int_equal(semqr__group_symbols(f, N, 41, NULL, NULL, out, &count, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "max_version"));
	free(f);
	free(out);
}

/* Loose triangles (a symbol in perspective) and the tiers. Finders A (the
 * corner), B (150 px to the right), C (110 px below) make a loose triangle
 * (sides 31 % apart), grouped with loose set; D (150 px below A) makes a
 * strict one with A and B. With D present, the check sees A, B, D first
 * (strict before loose); a check that rejects it (as the scan decoder's does
 * for a triplet that does not decode) leaves the finders to A, B, C. */
typedef struct check_log {
	int calls, bl[4], loose[4];
	int reject_bl;
} check_log;

static int log_check(void *user, const semqr__finder *f, semqr__triplet *t)
{
	(void)f;
	check_log *log = user;
	if (log->calls < 4) {
		log->bl[log->calls] = t->bl;
		log->loose[log->calls] = t->loose;
	}
	log->calls++;
	return t->bl != log->reject_bl;
}

static void test_group_loose(void **state)
{
	semqr__finder f[4] = {{100.0f, 100.0f, 5.0f, 1, 30},
	                      {250.0f, 100.0f, 5.0f, 1, 30},
	                      {100.0f, 210.0f, 5.0f, 1, 30},
	                      {100.0f, 250.0f, 5.0f, 1, 30}};
	semqr__triplet out[2];
	int count = -1;
	semqr_error err;
	assert_int_equal(semqr__group_symbols(f, 3, 10, NULL, NULL, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 1);
	assert_int_equal(out[0].tl, 0);
	assert_int_equal(out[0].tr, 1);
	assert_int_equal(out[0].bl, 2);
	assert_int_equal(out[0].loose, 1);

	check_log log = {0, {0}, {0}, 3};
	assert_int_equal(semqr__group_symbols(f, 4, 10, log_check, &log, out, &count, &err),
	                 SEMQR_OK);
	assert_true(log.calls >= 2);
	assert_int_equal(log.bl[0], 3);
	assert_int_equal(log.loose[0], 0);
	assert_int_equal(count, 1);
	assert_int_equal(out[0].bl, 2);
	assert_int_equal(out[0].loose, 1);

	/* Beyond the loose tolerances (sides 50 % apart): nothing. */
	f[2].y = 100.0f + 100.0f;
	assert_int_equal(semqr__group_symbols(f, 3, 10, NULL, NULL, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 0);
}

/* A check's SEMQR__TRIPLET_COVER and the two passes. A, B, C (indices
 * 0..2) frame a version 3 symbol of 5 px modules (finder centres 110 px
 * apart). D, G, H form an equal triangle whose corner D, a weak finder
 * (support 5 < 2 x 5), lies inside it; J, K, L one turned by 180 degrees
 * whose corner lies just left of it, 0.2 of the span beyond A (the
 * symbol's edge is 3.5 / 22 = 0.16 beyond A, the cover reaches 0.14).
 * Strong triangles come first (A's and J's), then D's. Accepting A, B, C
 * plainly leaves D's triangle to be offered and accepted; covering it
 * takes D out, never offered, while J's triangle still is. A strong D is
 * not covered (and offered in the first pass), nor is anything by a loose
 * triangle. */
typedef struct cover_log {
	int verdict, calls, offered[8];
} cover_log;

static int cover_check(void *user, const semqr__finder *f, semqr__triplet *t)
{
	(void)f;
	cover_log *log = user;
	if (log->calls < 8)
		log->offered[log->calls] = t->tl;
	log->calls++;
	return t->tl == 0 ? log->verdict : SEMQR__TRIPLET_ACCEPT;
}

static void test_group_cover(void **state)
{
	(void)state;
	semqr__finder f[9] = {{100.0f, 100.0f, 5.0f, 1, 30}, {210.0f, 100.0f, 5.0f, 1, 30},
	                      {100.0f, 210.0f, 5.0f, 1, 30}, {150.0f, 150.0f, 5.0f, 1, 5},
	                      {260.0f, 150.0f, 5.0f, 1, 30}, {150.0f, 260.0f, 5.0f, 1, 30},
	                      {78.0f, 150.0f, 5.0f, 1, 30},  {-32.0f, 150.0f, 5.0f, 1, 30},
	                      {78.0f, 40.0f, 5.0f, 1, 30}};
	semqr__triplet out[4];
	int count = -1;
	semqr_error err;
	for (int verdict = SEMQR__TRIPLET_ACCEPT; verdict <= SEMQR__TRIPLET_COVER; verdict++) {
		cover_log log = {verdict, 0, {0}};
		assert_int_equal(semqr__group_symbols(f, 9, 10, cover_check, &log, out, &count, &err),
		                 SEMQR_OK);
		int seen_d = 0, seen_j = 0;
		for (int i = 0; i < log.calls && i < 8; i++) {
			seen_d |= log.offered[i] == 3;
			seen_j |= log.offered[i] == 6;
		}
		assert_int_equal(log.offered[0], 0);
		assert_int_equal(log.offered[1], 6);
		assert_int_equal(out[0].tl, 0);
		assert_int_equal(seen_j, 1);
		assert_int_equal(seen_d, verdict == SEMQR__TRIPLET_ACCEPT);
		assert_int_equal(count, verdict == SEMQR__TRIPLET_ACCEPT ? 3 : 2);
	}
	/* A strong D: never covered, its triangle offered (and accepted). */
	f[3].support = 30;
	cover_log strong_log = {SEMQR__TRIPLET_COVER, 0, {0}};
	assert_int_equal(
	    semqr__group_symbols(f, 9, 10, cover_check, &strong_log, out, &count, &err), SEMQR_OK);
	assert_int_equal(count, 3);
	f[3].support = 5;
	/* The same corner seen loose (sides 30 % apart): nothing is covered. */
	f[2].y = 100.0f + 80.0f;
	cover_log log = {SEMQR__TRIPLET_COVER, 0, {0}};
	assert_int_equal(semqr__group_symbols(f, 9, 10, cover_check, &log, out, &count, &err),
	                 SEMQR_OK);
	int seen_d = 0;
	for (int i = 0; i < log.calls && i < 8; i++)
		seen_d |= log.offered[i] == 3;
	assert_int_equal(seen_d, 1);
}

/* The grouping against a brute-force reference of the contract in locate.h
 * (its float expressions as group.c evaluates them): for every corner A
 * every partner B and every C within 0.74 |AB| of A + R(B - A), the
 * candidates kept are each corner's first 8 in acceptance order, and with
 * a check that rejects everything, the check sees exactly all of them, in
 * acceptance order. The cloud: 1200 finders at random in 1200 x 1200 px
 * (modules 3 to 5 px, both polarities), 80 jittered triangles of random turn
 * and size among them, and finders that are not usable (not finite, module
 * 0); max_version 3 and 12. */
static float ref_ratio(float a, float b)
{
	return a > b ? a / b : b / a;
}

static float ref_axis_module(float module, float dx, float dy)
{
	float len = sqrtf(dx * dx + dy * dy);
	return len > 0.0f ? module * fmaxf(fabsf(dx), fabsf(dy)) / len : module;
}

static int ref_usable(const semqr__finder *f)
{
	return isfinite(f->x) && isfinite(f->y) && isfinite(f->module) && f->module > 0.0f;
}

static int ref_score(const semqr__finder *a, const semqr__finder *b, const semqr__finder *c,
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
	if (side >= 0.40f || cosine >= 0.34f || mmax >= 1.4f * mmin)
		return 0;
	t->loose = side >= 0.12f || cosine >= 0.12f;
	float m = ref_axis_module((a->module + b->module + c->module) / 3.0f, px, py);
	float span = 0.5f * (d1 + d2) / m;
	if (span < 11.0f || span > 4.0f * (float)max_version + 10.0f + 3.0f)
		return 0;
	int v = (int)lroundf((span - 10.0f) / 4.0f);
	v = v < 1 ? 1 : v > max_version ? max_version : v;
	t->version = v;
	t->span = span;
	t->score = side + cosine + 0.5f * (mmax / mmin - 1.0f)
	           + fabsf(span - (4.0f * (float)v + 10.0f)) / 8.0f;
	return 1;
}

static int ref_by_order(const void *pa, const void *pb)
{
	const semqr__triplet *a = pa, *b = pb;
	float ka = (a->loose ? 2e6f : a->score < 0.15f ? 0.0f : 1e6f) + a->span + 40.0f * a->score;
	float kb = (b->loose ? 2e6f : b->score < 0.15f ? 0.0f : 1e6f) + b->span + 40.0f * b->score;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->tl != b->tl)
		return a->tl < b->tl ? -1 : 1;
	if (a->tr != b->tr)
		return a->tr < b->tr ? -1 : 1;
	return a->bl < b->bl ? -1 : a->bl > b->bl;
}

/* All candidates by brute force into out (each corner's first 8), in
 * acceptance order; returns their number. */
static int ref_group(const semqr__finder *f, int n, int max_version, semqr__triplet *out)
{
	double sum = 0.0;
	int valid = 0;
	for (int i = 0; i < n; i++)
		if (ref_usable(&f[i])) {
			sum += f[i].module;
			valid++;
		}
	float mean = (float)(sum / valid);
	semqr__triplet *all = malloc((size_t)n * n * sizeof *all);
	assert_non_null(all);
	int total = 0;
	for (int a = 0; a < n; a++) {
		const semqr__finder *fa = &f[a];
		if (!ref_usable(fa) || fa->module > 16.0f * mean)
			continue;
		float reach = (4.0f * (float)max_version + 13.0f) * fa->module;
		int mine = 0;
		for (int b = 0; b < n; b++) {
			const semqr__finder *fb = &f[b];
			if (b == a || fb->polarity != fa->polarity || !ref_usable(fb)
			    || ref_ratio(fa->module, fb->module) >= 1.4f)
				continue;
			float px = fb->x - fa->x, py = fb->y - fa->y;
			float d = sqrtf(px * px + py * py);
			if (d < (11.0f / 1.4f) * ref_axis_module(fa->module, px, py) || d > reach)
				continue;
			for (int c = 0; c < n; c++) {
				const semqr__finder *fc = &f[c];
				if (c == a || c == b || fc->polarity != fa->polarity
				    || !ref_usable(fc)
				    || hypotf(fc->x - (fa->x - py), fc->y - (fa->y + px)) > 0.74f * d)
					continue;
				semqr__triplet t = {a, b, c, 0, 0.0f, 0.0f, 0};
				if (ref_score(fa, fb, fc, max_version, &t))
					all[total + mine++] = t;
			}
		}
		qsort(&all[total], (size_t)mine, sizeof *all, ref_by_order);
		total += mine < 8 ? mine : 8;
	}
	qsort(all, (size_t)total, sizeof *all, ref_by_order);
	memcpy(out, all, (size_t)total * sizeof *all);
	free(all);
	return total;
}

typedef struct seen_log {
	semqr__triplet *t;
	int n, room;
} seen_log;

static int reject_all(void *user, const semqr__finder *f, semqr__triplet *t)
{
	(void)f;
	seen_log *log = user;
	if (log->n < log->room)
		log->t[log->n] = *t;
	log->n++;
	return 0;
}

static void test_group_reference(void **state)
{
	enum { N = 1200, TRIANGLES = 80, ROOM = N * 8 };
	semqr__finder *f = malloc(N * sizeof *f);
	semqr__triplet *want = malloc(ROOM * sizeof *want);
	semqr__triplet *got = malloc(ROOM * sizeof *got);
	semqr__triplet *out = malloc((N / 3 + 1) * sizeof *out);
	assert_true(f && want && got && out);
	ref_rng rng;
	ref_rng_seed(&rng, 2026);
	for (int i = 0; i < N; i++)
		f[i] = (semqr__finder){
		    1200.0f * ref_rng_uniform(&rng), 1200.0f * ref_rng_uniform(&rng),
		    3.0f + 2.0f * ref_rng_uniform(&rng), (int)(ref_rng_u32(&rng) & 1), 10};
	for (int s = 0; s < TRIANGLES; s++) {
		semqr__finder *a = &f[3 * s], *b = a + 1, *c = a + 2;
		double t = 2.0 * PI * ref_rng_uniform(&rng);
		double side = (12.0 + 40.0 * ref_rng_uniform(&rng)) * a->module;
		b->x = a->x + (float)(side * cos(t) + 2.0 * ref_rng_gauss(&rng));
		b->y = a->y + (float)(side * sin(t) + 2.0 * ref_rng_gauss(&rng));
		c->x = a->x - (float)(side * sin(t) + 2.0 * ref_rng_gauss(&rng));
		c->y = a->y + (float)(side * cos(t) + 2.0 * ref_rng_gauss(&rng));
		b->polarity = c->polarity = a->polarity;
	}
	f[N - 1].x = NAN;
	f[N - 2].module = 0.0f;
	f[N - 3].y = INFINITY;
	for (int max_version = 3; max_version <= 12; max_version += 9) {
		int nwant = ref_group(f, N, max_version, want);
		seen_log log = {got, 0, ROOM};
		int count = -1;
		semqr_error err;
		assert_int_equal(
		    semqr__group_symbols(f, N, max_version, reject_all, &log, out, &count, &err),
		    SEMQR_OK);
		printf("group: %d finders at random, max_version %d: %d candidates\n", N,
		       max_version, nwant);
		assert_true(nwant > 1000);
		assert_int_equal(count, 0);
		assert_int_equal(log.n, nwant);
		for (int i = 0; i < nwant; i++) {
			assert_int_equal(got[i].tl, want[i].tl);
			assert_int_equal(got[i].tr, want[i].tr);
			assert_int_equal(got[i].bl, want[i].bl);
			assert_int_equal(got[i].version, want[i].version);
			assert_int_equal(got[i].loose, want[i].loose);
			assert_true(got[i].score == want[i].score && got[i].span == want[i].span);
		}
	}
	free(f);
	free(want);
	free(got);
	free(out);
}

/* ---- rendered plates ---------------------------------------------------------- */

typedef struct truth {
	char payload[64];
	int mirrored;
	double corner[4][2]; /* pixels of module corners (0,0), (size,0), (size,size), (0,size) */
} truth;

typedef struct plate_spec {
	int rows, cols;
	int version;          /* forced version of every symbol */
	double module;        /* px per module */
	double angle;         /* radians */
	double jitter_angle;  /* extra per-symbol turn, radians (0 for a plate) */
	int gap;              /* modules between symbols */
	int mirror_every;     /* every k-th symbol mirrored (0 none) */
	int inverse;          /* milled modules light on dark film */
	double contrast;      /* of full scale */
	double noise;         /* sigma, grey levels */
	uint64_t seed;
} plate_spec;

typedef struct plate {
	int w, h;
	uint8_t *pixels;
	truth *sym;
	int nsym;
} plate;

/* Gaussian blur of sigma 1 px (radius 3), separable, edges clamped. */
static void blur(float *img, int w, int h)
{
	float k[7], sum = 0.0f;
	for (int i = -3; i <= 3; i++)
		sum += k[i + 3] = expf(-0.5f * (float)(i * i));
	for (int i = 0; i < 7; i++)
		k[i] /= sum;
	float *tmp = malloc((size_t)w * (size_t)h * sizeof *tmp);
	assert_non_null(tmp);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float a = 0.0f;
			for (int i = -3; i <= 3; i++) {
				int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
				a += k[i + 3] * img[(size_t)y * w + xx];
			}
			tmp[(size_t)y * w + x] = a;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float a = 0.0f;
			for (int i = -3; i <= 3; i++) {
				int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
				a += k[i + 3] * tmp[(size_t)yy * w + x];
			}
			img[(size_t)y * w + x] = a;
		}
	free(tmp);
}

/* Adds amp times the dark-module coverage of symbol s to scene, mapped by
 * pixel = o + scale R(t) (u', v'), (u', v') = (u, v), or (v, u) mirrored. */
static void render_symbol(float *scene, int w, int h, const semqr_symbol *s, const double o[2],
                          double scale, double t, int mirrored, float amp, truth *tr)
{
	double c = cos(t), sn = sin(t);
	double xmin = 1e30, xmax = -1e30, ymin = 1e30, ymax = -1e30;
	for (int k = 0; k < 4; k++) {
		double u = (k == 1 || k == 2) ? s->size : 0, v = k >= 2 ? s->size : 0;
		if (mirrored) {
			double tmp = u;
			u = v;
			v = tmp;
		}
		double x = o[0] + scale * (c * u - sn * v), y = o[1] + scale * (sn * u + c * v);
		tr->corner[k][0] = x;
		tr->corner[k][1] = y;
		xmin = fmin(xmin, x);
		xmax = fmax(xmax, x);
		ymin = fmin(ymin, y);
		ymax = fmax(ymax, y);
	}
	for (int y = (int)floor(ymin) - 1; y <= (int)ceil(ymax) + 1; y++)
		for (int x = (int)floor(xmin) - 1; x <= (int)ceil(xmax) + 1; x++) {
			if (x < 0 || y < 0 || x >= w || y >= h)
				continue;
			int cover = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					double dx = x + (sx + 0.5) / 4.0 - 0.5 - o[0];
					double dy = y + (sy + 0.5) / 4.0 - 0.5 - o[1];
					double u = (c * dx + sn * dy) / scale, v = (-sn * dx + c * dy) / scale;
					if (mirrored) {
						double tmp = u;
						u = v;
						v = tmp;
					}
					int i = (int)floor(u), j = (int)floor(v);
					if (i >= 0 && j >= 0 && i < s->size && j < s->size
					    && s->modules[j * s->size + i])
						cover++;
				}
			scene[(size_t)y * w + x] += amp * (float)cover / 16.0f;
		}
}

/* Renders a plate per spec into p (pixels and truth malloc'd). */
static void make_plate(const plate_spec *sp, plate *p)
{
	ref_rng rng;
	ref_rng_seed(&rng, sp->seed);
	int size = 17 + 4 * sp->version;
	double pitch = (size + sp->gap) * sp->module;
	double ext = pitch * (sp->rows > sp->cols ? sp->rows : sp->cols) + 12.0 * sp->module;
	/* The plate's bounding square, turned by up to 45 degrees, fits in sqrt 2. */
	int dim = (int)ceil(ext * 1.42);
	p->w = p->h = dim;
	p->nsym = sp->rows * sp->cols;
	p->sym = calloc((size_t)p->nsym, sizeof *p->sym);
	float *scene = malloc((size_t)dim * dim * sizeof *scene);
	p->pixels = malloc((size_t)dim * dim);
	assert_true(p->sym && scene && p->pixels);
	double full = 255.0 * sp->contrast;
	float film = sp->inverse ? 90.0f : 160.0f;
	float amp = (float)(sp->inverse ? full : -full);
	for (size_t i = 0; i < (size_t)dim * dim; i++)
		scene[i] = film;
	double c = cos(sp->angle), s = sin(sp->angle);
	double half = 0.5 * pitch * sp->cols, halfy = 0.5 * pitch * sp->rows;
	semqr_encode_options eo;
	semqr_encode_options_init(&eo);
	eo.min_version = eo.max_version = sp->version;
	eo.ecc = SEMQR_ECC_M;
	eo.boost_ecc = false;
	semqr_symbol *sym = malloc(sizeof *sym);
	assert_non_null(sym);
	for (int k = 0; k < p->nsym; k++) {
		truth *tr = &p->sym[k];
		snprintf(tr->payload, sizeof tr->payload, "P%llu-%d-%u", (unsigned long long)sp->seed, k,
		         ref_rng_u32(&rng) % 1000u);
		semqr_error err;
		assert_int_equal(semqr_encode((const uint8_t *)tr->payload, strlen(tr->payload), &eo,
		                              sym, &err),
		                 SEMQR_OK);
		/* Plate frame position of the symbol's top-left corner, about the centre. */
		double gx = (k % sp->cols) * pitch - half + 0.5 * sp->gap * sp->module;
		double gy = (k / sp->cols) * pitch - halfy + 0.5 * sp->gap * sp->module;
		double o[2] = {0.5 * dim + c * gx - s * gy + ref_rng_uniform(&rng),
		               0.5 * dim + s * gx + c * gy + ref_rng_uniform(&rng)};
		double t = sp->angle + sp->jitter_angle * (2.0 * ref_rng_uniform(&rng) - 1.0);
		tr->mirrored = sp->mirror_every && k % sp->mirror_every == sp->mirror_every - 1;
		double scale = sp->module * (1.0 + 0.02 * (ref_rng_uniform(&rng) - 0.5));
		render_symbol(scene, dim, dim, sym, o, scale, t, tr->mirrored, amp, tr);
	}
	free(sym);
	blur(scene, dim, dim);
	for (size_t i = 0; i < (size_t)dim * dim; i++) {
		double v = scene[i] + sp->noise * ref_rng_gauss(&rng);
		p->pixels[i] = (uint8_t)(v < 0.0 ? 0 : v > 255.0 ? 255 : lround(v));
	}
	free(scene);
}

static void free_plate(plate *p)
{
	free(p->pixels);
	free(p->sym);
}

/* A copy of the w x h image `in` with r pixels of replicated edge on every
 * side; returns the allocation, *win the pointer to pixel (0, 0). */
static float *pad(const float *in, int w, int h, int r, float **win)
{
	int stride = w + 2 * r;
	float *p = malloc((size_t)stride * (size_t)(h + 2 * r) * sizeof *p);
	assert_non_null(p);
	for (int y = -r; y < h + r; y++)
		for (int x = -r; x < w + r; x++) {
			int xx = x < 0 ? 0 : x >= w ? w - 1 : x;
			int yy = y < 0 ? 0 : y >= h ? h - 1 : y;
			p[(size_t)(y + r) * stride + (x + r)] = in[(size_t)yy * w + xx];
		}
	*win = p + (size_t)r * stride + r;
	return p;
}

typedef struct scan_stats {
	int candidates, finders, located, decoded, matched, wrong, mirrored_wrong;
	double corner_max, corner_sum;
	int corner_n;
} scan_stats;

/* Which grey image the sampler reads. */
enum { SAMPLE_LOADED, SAMPLE_DENOISED };

/* Runs the chain on p's pixels for symbols of about module_px; found[k] is
 * set when truth k was located (top-left corner within 3 px) and decoded to
 * its payload. A decoded payload that is not its truth's counts as wrong. */

/* The grouping check the plate tests use: a triplet is accepted when
 * semqr__locate_symbol finds it in the image (timing agreement at least
 * min_timing), taking the version it chose. */
typedef struct image_check {
	const semqr__grey_image *img;
	int max_version;
	float min_timing;
} image_check;

static int check_in_image(void *user, const semqr__finder *finders, semqr__triplet *t)
{
	const image_check *c = user;
	semqr__located loc;
	if (!semqr__locate_symbol(c->img, finders, t, c->max_version, c->min_timing, &loc))
		return 0;
	t->version = loc.version;
	return 1;
}

static void scan_plate(const plate *p, float module_px, int max_version, int sample_from,
                       int *found, scan_stats *st)
{
	int w = p->w, h = p->h;
	size_t np = (size_t)w * (size_t)h;
	memset(st, 0, sizeof *st);
	float *loaded = malloc(np * sizeof *loaded), *denoised = malloc(np * sizeof *denoised);
	uint8_t *bin = malloc(np);
	assert_true(loaded && denoised && bin);
	ref_load_u8(p->pixels, w, w, h, 0.0f, 0.0f, loaded, w);
	float sigma = semqr__denoise_sigma(module_px);
	int rd = semqr__denoise_radius(sigma);
	float *win;
	float *padded = pad(loaded, w, h, rd, &win);
	assert_int_equal(ref_denoise(win, w + 2 * rd, w, h, sigma, rd, denoised, w), 0);
	free(padded);
	int rb = (int)lroundf(1.25f * module_px);
	rb = rb < 1 ? 1 : rb > SEMQR__BINARIZE_RADIUS_MAX ? SEMQR__BINARIZE_RADIUS_MAX : rb;
	padded = pad(denoised, w, h, rb, &win);
	assert_int_equal(ref_binarize(win, w + 2 * rb, w, h, rb, 0.0f, bin, w, NULL), 0);
	free(padded);
	semqr__finder_params fp = {0.5f, 2.0f, 3.0f * module_px};
	int n = ref_finder(bin, w, denoised, w, w, h, &fp, NULL, 0);
	semqr__finder_candidate *fc = malloc(((size_t)n + 1) * sizeof *fc);
	assert_non_null(fc);
	assert_int_equal(ref_finder(bin, w, denoised, w, w, h, &fp, fc, n), n);
	free(bin);
	st->candidates = n;
	semqr__run_candidate *rc = malloc(((size_t)n + 1) * sizeof *rc);
	semqr__finder *fi = malloc(((size_t)n / 2 + 1) * sizeof *fi);
	assert_true(rc && fi);
	memcpy(rc, fc, (size_t)n * sizeof *rc);
	free(fc);
	semqr_error err;
	int nf = 0;
	assert_int_equal(semqr__finders_cluster(rc, n, fi, &nf, &err), SEMQR_OK);
	free(rc);
	st->finders = nf;
	semqr__grey_image geo = {denoised, w, w, h};
	semqr__grey_image smp = {sample_from == SAMPLE_LOADED ? loaded : denoised, w, w, h};
	image_check chk = {&geo, max_version, 0.5f};
	semqr__triplet *tri = malloc(((size_t)nf / 3 + 1) * sizeof *tri);
	assert_non_null(tri);
	int nt = 0;
	assert_int_equal(semqr__group_symbols(fi, nf, max_version, check_in_image,
	                                      &chk, tri, &nt, &err),
	                 SEMQR_OK);
	float *dark = malloc(SEMQR_SIZE_MAX * SEMQR_SIZE_MAX * sizeof *dark);
	assert_non_null(dark);
	for (int i = 0; i < nt; i++) {
		semqr__located loc;
		if (!semqr__locate_symbol(&geo, fi, &tri[i], max_version, 0.5f, &loc))
			continue;
		st->located++;
		/* The locator cuts short timing correlations sure to fall below
		 * min_timing: one just at it must still be located, the same. */
		semqr__located again;
		assert_true(semqr__locate_symbol(&geo, fi, &tri[i], max_version,
		                                 nextafterf(loc.timing, -1.0f), &again));
		assert_memory_equal(&again, &loc, sizeof loc);
		int match = -1;
		for (int k = 0; k < p->nsym; k++)
			if (hypot(loc.corners[0][0] - p->sym[k].corner[0][0],
			          loc.corners[0][1] - p->sym[k].corner[0][1])
			    < 3.0)
				match = k;
		if (match >= 0) {
			const truth *tr = &p->sym[match];
			for (int c = 0; c < 4; c++) {
				int tc = tr->mirrored && (c == 1 || c == 3) ? 4 - c : c;
				double e = hypot(loc.corners[c][0] - tr->corner[tc][0],
				                 loc.corners[c][1] - tr->corner[tc][1]);
				st->corner_max = e > st->corner_max ? e : st->corner_max;
				st->corner_sum += e;
				st->corner_n++;
			}
		}
		semqr__sample_soft(&smp, &loc, dark);
		semqr_soft_matrix m = {loc.size, dark};
		semqr_decoded d;
		if (semqr_decode_matrix(&m, NULL, &d, &err) != SEMQR_OK)
			continue;
		st->decoded++;
		if (match >= 0 && d.payload_len == strlen(p->sym[match].payload)
		    && memcmp(d.payload, p->sym[match].payload, d.payload_len) == 0) {
			if (!found[match])
				st->matched++;
			found[match] = 1;
			if (d.mirrored != (p->sym[match].mirrored != 0))
				st->mirrored_wrong++;
		} else {
			st->wrong++;
		}
		semqr_decoded_free(&d);
	}
	free(dark);
	free(tri);
	free(fi);
	free(loaded);
	free(denoised);
}

/* Renders, scans, prints and returns the stats of one plate. */
static scan_stats run_plate(const plate_spec *sp, int sample_from, const char *what)
{
	plate p;
	make_plate(sp, &p);
	int *found = calloc((size_t)p.nsym, sizeof *found);
	assert_non_null(found);
	scan_stats st;
	double t0 = now();
	scan_plate(&p, (float)sp->module, 10, sample_from, found, &st);
	printf("%s: %dx%d px, %d symbols v%d, %.2f px/module, CNR %.1f: %d candidates, %d finders, "
	       "%d located, %d decoded to their payload, %d wrong; corners mean %.2f max %.2f px "
	       "(%.2f s)\n",
	       what, p.w, p.h, p.nsym, sp->version, sp->module, 255.0 * sp->contrast / sp->noise,
	       st.candidates, st.finders, st.located, st.matched, st.wrong,
	       st.corner_n ? st.corner_sum / st.corner_n : 0.0, st.corner_max, now() - t0);
	free(found);
	free_plate(&p);
	return st;
}

/* Asserts a plate fully read: every symbol decoded to its payload, none
 * wrong, mirroring reported right, corners within 1.2 px of the truth. */
static void assert_all_read(const plate_spec *sp, const scan_stats *st)
{
	assert_int_equal(st->matched, sp->rows * sp->cols);
	assert_int_equal(st->wrong, 0);
	assert_int_equal(st->mirrored_wrong, 0);
	assert_true(st->corner_max <= 1.2);
}

/* 4 x 4 version-2 symbols, dark on light film, 5.3 px/module, turned 17
 * degrees, contrast 0.2, noise 12 (CNR 4.3). */
static void test_plate_dark_on_light(void **state)
{
	plate_spec sp = {4, 4, 2, 5.3, 17.0 * PI / 180.0, 0.0, 4, 0, 0, 0.2, 12.0, 101};
	scan_stats st = run_plate(&sp, SAMPLE_LOADED, "dark on light");
	assert_all_read(&sp, &st);
}

/* 4 x 4 version-3 symbols, light on dark, 6.3 px/module, turned -33 degrees,
 * contrast 0.3, noise 16 (CNR 4.8). */
static void test_plate_light_on_dark(void **state)
{
	plate_spec sp = {4, 4, 3, 6.3, -33.0 * PI / 180.0, 0.0, 4, 0, 1, 0.3, 16.0, 102};
	scan_stats st = run_plate(&sp, SAMPLE_LOADED, "light on dark");
	assert_all_read(&sp, &st);
}

/* 3 x 3 version-1 symbols, every second one mirrored, 4.6 px/module, turned
 * 71 degrees, both polarities (two plates), CNR 5. */
static void test_plate_mirrored(void **state)
{
	for (int inverse = 0; inverse < 2; inverse++) {
		plate_spec sp = {3, 3, 1, 4.6, 71.0 * PI / 180.0, 0.0, 4, 2, inverse, 0.25, 12.75,
		                 103 + (uint64_t)inverse};
		scan_stats st = run_plate(&sp, SAMPLE_LOADED, inverse ? "mirrored, inverse" : "mirrored");
		assert_all_read(&sp, &st);
	}
}

/* Twelve single-symbol images at turns 0, 30, ..., 330 degrees plus 7,
 * 4 to 8 px/module, versions 1-4, alternating polarity, CNR 4.5. */
static void test_rotations(void **state)
{
	for (int k = 0; k < 12; k++) {
		plate_spec sp = {1, 1, 1 + k % 4, 4.0 + 4.0 * (k % 5) / 4.0,
		                 (30.0 * k + 7.0) * PI / 180.0, 0.0, 4, 0, k % 2, 0.25, 14.0,
		                 200 + (uint64_t)k};
		char what[32];
		snprintf(what, sizeof what, "turn %d", 30 * k + 7);
		scan_stats st = run_plate(&sp, SAMPLE_LOADED, what);
		assert_all_read(&sp, &st);
	}
}

/* A dense plate: 12 x 12 = 144 version-1 symbols, 4 px/module, gap 4
 * modules, turned 3 degrees with +-1 degree per symbol, CNR 5: all 144
 * located and decoded. */
static void test_dense_plate(void **state)
{
	plate_spec sp = {12, 12, 1, 4.0, 3.0 * PI / 180.0, PI / 180.0, 4, 0, 0, 0.25, 12.75, 300};
	scan_stats st = run_plate(&sp, SAMPLE_LOADED, "dense plate");
	assert_all_read(&sp, &st);
}

/* No symbol: pure noise, and random dark blobs (rectangles of 1-8 modules
 * at 5 px/module, blurred, noise 12): nothing decodes. */
static void test_no_symbol(void **state)
{
	enum { W = 700 };
	ref_rng rng;
	ref_rng_seed(&rng, 400);
	plate p = {W, W, malloc(W * W), NULL, 0};
	float *scene = malloc(W * W * sizeof *scene);
	assert_true(p.pixels && scene);
	for (int blobs = 0; blobs < 2; blobs++) {
		for (int i = 0; i < W * W; i++)
			scene[i] = 150.0f;
		for (int b = 0; blobs && b < 3000; b++) {
			int x0 = (int)(ref_rng_u32(&rng) % W), y0 = (int)(ref_rng_u32(&rng) % W);
			int bw = 5 * (1 + (int)(ref_rng_u32(&rng) % 8));
			int bh = 5 * (1 + (int)(ref_rng_u32(&rng) % 8));
			for (int y = y0; y < y0 + bh && y < W; y++)
				for (int x = x0; x < x0 + bw && x < W; x++)
					scene[y * W + x] = 100.0f;
		}
		blur(scene, W, W);
		for (int i = 0; i < W * W; i++) {
			double v = scene[i] + 12.0 * ref_rng_gauss(&rng);
			p.pixels[i] = (uint8_t)(v < 0.0 ? 0 : v > 255.0 ? 255 : lround(v));
		}
		scan_stats st;
		scan_plate(&p, 5.0f, 10, SAMPLE_LOADED, NULL, &st);
		printf("no symbol (%s): %d candidates, %d finders, %d located, %d decoded\n",
		       blobs ? "blobs" : "noise", st.candidates, st.finders, st.located, st.decoded);
		assert_int_equal(st.decoded, 0);
	}
	free(scene);
	free(p.pixels);
}

/* Decode rates against contrast-to-noise (printed; asserted only at CNR >= 3,
 * where every symbol must read, and that nothing ever decodes wrong): 4 x 4
 * version-2 plates at 5 px/module, turned 23 degrees, contrast 0.2, noise
 * sigma from CNR 1.5 to 7, sampling the loaded and the denoised image
 * (20 plates, 320 symbols). */
static void test_noise_sweep(void **state)
{
	static const double cnr[] = {1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 7.0};
	int total[2] = {0, 0};
	for (int from = 0; from < 2; from++)
		for (size_t k = 0; k < sizeof cnr / sizeof *cnr; k++) {
			plate_spec sp = {4, 4, 2, 5.0, 23.0 * PI / 180.0, 0.0, 4, 0, (int)k % 2, 0.2,
			                 255.0 * 0.2 / cnr[k], 500 + k};
			char what[64];
			snprintf(what, sizeof what, "sweep CNR %.1f, sampling %s", cnr[k],
			         from == SAMPLE_LOADED ? "loaded" : "denoised");
			scan_stats st = run_plate(&sp, from, what);
			assert_int_equal(st.wrong, 0);
			if (cnr[k] >= 3.0)
				assert_int_equal(st.matched, 16);
			total[from] += st.matched;
		}
	printf("sweep: %d of %d read sampling the loaded image, %d sampling the denoised one\n",
	       total[0], 16 * (int)(sizeof cnr / sizeof *cnr), total[1]);
}

/* ---- perspective ---------------------------------------------------------- */

/* Inverse of the 3 x 3 matrix m (row-major) into r, by the adjugate. */
static void invert3(const double m[9], double r[9])
{
	double a = m[4] * m[8] - m[5] * m[7], b = m[5] * m[6] - m[3] * m[8];
	double c = m[3] * m[7] - m[4] * m[6];
	double det = m[0] * a + m[1] * b + m[2] * c;
	assert_true(fabs(det) > 1e-12);
	r[0] = a / det;
	r[1] = (m[2] * m[7] - m[1] * m[8]) / det;
	r[2] = (m[1] * m[5] - m[2] * m[4]) / det;
	r[3] = b / det;
	r[4] = (m[0] * m[8] - m[2] * m[6]) / det;
	r[5] = (m[2] * m[3] - m[0] * m[5]) / det;
	r[6] = c / det;
	r[7] = (m[1] * m[6] - m[0] * m[7]) / det;
	r[8] = (m[0] * m[4] - m[1] * m[3]) / det;
}

/* One symbol of `version` photographed in perspective: module -> pixel
 * homography H = S R P, P = [1 0 0; 0 1 0; g h 1] (g, h per module: the
 * symbol leans), R a turn by t, S a scale of `module` px and a shift to the
 * image centre. Rendered dark (40) on light (200) with 4 x 4 supersampling,
 * blurred (sigma 1 px), Gaussian noise of sigma 6 (seeded). The finders are
 * given as the cluster stage would make them: centres H(3.5, 3.5) etc.,
 * module the local size of a module (mean along u and v) along the image
 * axes, support 40.
 * Asserts that the three finders group, that semqr__locate_perspective
 * locates the symbol with its version and every corner within `tolerance`
 * modules, and that its sampling decodes to the payload; prints how far off
 * the affine semqr__locate_symbol is (not asserted). */
static void check_perspective(int version, double g, double hv, double t, uint64_t seed,
                              double tolerance, int must_decode)
{
	enum { W = 420 };
	const double module = 7.0;
	semqr_encode_options eo;
	semqr_encode_options_init(&eo);
	eo.min_version = eo.max_version = version;
	eo.ecc = SEMQR_ECC_M;
	eo.boost_ecc = false;
	char payload[32];
	snprintf(payload, sizeof payload, "persp-%d", version);
	semqr_symbol *sym = malloc(sizeof *sym);
	assert_non_null(sym);
	semqr_error err;
	assert_int_equal(semqr_encode((const uint8_t *)payload, strlen(payload), &eo, sym, &err),
	                 SEMQR_OK);
	int size = sym->size;
	/* H: the symbol's centre at the image centre under P is not needed
	 * exactly; the shift puts module (size / 2, size / 2) near it. */
	double c = cos(t), sn = sin(t);
	double h[9] = {module * c, -module * sn, 0.0, module * sn, module * c, 0.0, g, hv, 1.0};
	double w = g * 0.5 * size + hv * 0.5 * size + 1.0;
	double mx = (h[0] + h[1]) * 0.5 * size / w, my = (h[3] + h[4]) * 0.5 * size / w;
	for (int k = 0; k < 3; k++) {
		h[k] += (0.5 * W - mx) * h[6 + k];
		h[3 + k] += (0.5 * W - my) * h[6 + k];
	}
	double inv[9];
	invert3(h, inv);
	float *img = malloc((size_t)W * W * sizeof *img);
	assert_non_null(img);
	for (int y = 0; y < W; y++)
		for (int x = 0; x < W; x++) {
			int cover = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					double px = x + (sx + 0.5) / 4.0 - 0.5, py = y + (sy + 0.5) / 4.0 - 0.5;
					double ww = inv[6] * px + inv[7] * py + inv[8];
					double u = (inv[0] * px + inv[1] * py + inv[2]) / ww;
					double v = (inv[3] * px + inv[4] * py + inv[5]) / ww;
					int i = (int)floor(u), j = (int)floor(v);
					if (i >= 0 && j >= 0 && i < size && j < size && sym->modules[j * size + i])
						cover++;
				}
			img[(size_t)y * W + x] = 200.0f - 160.0f * (float)cover / 16.0f;
		}
	blur(img, W, W);
	ref_rng rng;
	ref_rng_seed(&rng, seed);
	for (size_t i = 0; i < (size_t)W * W; i++)
		img[i] += 6.0f * ref_rng_gauss(&rng);

	semqr__finder f[3];
	const double fu[3] = {3.5, size - 3.5, 3.5}, fv[3] = {3.5, 3.5, size - 3.5};
	for (int k = 0; k < 3; k++) {
		double x0, y0, x1, y1, x2, y2, x3, y3, x4, y4;
		semqr__homography_apply(h, fu[k], fv[k], &x0, &y0);
		semqr__homography_apply(h, fu[k] + 0.5, fv[k], &x1, &y1);
		semqr__homography_apply(h, fu[k] - 0.5, fv[k], &x2, &y2);
		semqr__homography_apply(h, fu[k], fv[k] + 0.5, &x3, &y3);
		semqr__homography_apply(h, fu[k], fv[k] - 0.5, &x4, &y4);
		double m = 0.5 * (hypot(x1 - x2, y1 - y2) + hypot(x3 - x4, y3 - y4));
		f[k] = (semqr__finder){(float)x0, (float)y0,
		                       (float)(m / fmax(fabs(c), fabs(sn))), 0, 40};
	}
	semqr__triplet tri[2];
	int count = -1;
	assert_int_equal(semqr__group_symbols(f, 3, 40, NULL, NULL, tri, &count, &err), SEMQR_OK);
	assert_int_equal(count, 1);
	assert_int_equal(tri[0].tl, 0);

	semqr__grey_image gi = {img, W, W, W};
	double corner[4][2];
	for (int k = 0; k < 4; k++)
		semqr__homography_apply(h, (k == 1 || k == 2) ? size : 0, k >= 2 ? size : 0,
		                        &corner[k][0], &corner[k][1]);
	semqr__located loc;
	double affine_err = -1.0, err_max = 0.0;
	if (semqr__locate_symbol(&gi, f, &tri[0], 40, 0.45f, &loc))
		for (int k = 0; k < 4; k++)
			affine_err = fmax(affine_err, hypot(loc.corners[k][0] - corner[k][0],
			                                    loc.corners[k][1] - corner[k][1]));
	assert_int_equal(semqr__locate_perspective(&gi, f, &tri[0], 40, 0.45f, &loc), 1);
	assert_int_equal(loc.version, version);
	for (int k = 0; k < 4; k++)
		err_max = fmax(err_max, hypot(loc.corners[k][0] - corner[k][0],
		                              loc.corners[k][1] - corner[k][1]));
	char affine[32] = "not located";
	if (affine_err >= 0.0)
		snprintf(affine, sizeof affine, "corners within %.2f px", affine_err);
	printf("perspective v%d (lean %.3f, %.3f per module): corners within %.2f px "
	       "(affine: %s)\n",
	       version, g, hv, err_max, affine);
	assert_true(err_max < tolerance * module);
	float *dark = malloc((size_t)size * size * sizeof *dark);
	assert_non_null(dark);
	semqr__sample_soft(&gi, &loc, dark);
	semqr_soft_matrix mtx = {size, dark};
	semqr_decoded d;
	semqr_status st = semqr_decode_matrix(&mtx, NULL, &d, &err);
	printf("perspective v%d: %s\n", version, st == SEMQR_OK ? "decoded" : err.message);
	if (must_decode)
		assert_int_equal(st, SEMQR_OK);
	if (st == SEMQR_OK) {
		assert_int_equal(d.payload_len, strlen(payload));
		assert_memory_equal(d.payload, payload, d.payload_len);
		semqr_decoded_free(&d);
	}

	/* Finders with few runs (a chance pattern) are not tried. */
	f[1].support = 2;
	assert_int_equal(semqr__locate_perspective(&gi, f, &tri[0], 40, 0.45f, &loc), 0);
	free(dark);
	free(img);
	free(sym);
}

/* Four symbols (one trial each, seeded): version 1 (no alignment pattern:
 * the grid contrast places the far corner), 2 and 4 (the bottom-right
 * alignment pattern) and 7 (every alignment pattern, least squares), each
 * leaning so that its shortest side is 18-23 % shorter than its longest;
 * the triangles of versions 2 and 7 are loose (sides 23 % apart). All are
 * located within half a module; versions 2, 4 and 7 must decode. Version
 * 1's far corner lies 0.32 module off, and its sampling needs the whole
 * budget of 1-M (8 codewords) in erasures, more than the decoder spends
 * (it keeps 2 check codewords: host/qr/decode.c), so it is not asserted. */
static void test_perspective(void **state)
{
	check_perspective(1, 0.012, 0.006, 0.3, 901, 0.5, 0);
	check_perspective(2, 0.012, 0.0, -0.2, 902, 0.5, 1);
	check_perspective(4, 0.008, 0.004, 0.5, 903, 0.5, 1);
	check_perspective(7, 0.005, -0.001, 0.1, 904, 0.5, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_candidate_layout),
	    cmocka_unit_test(test_spatial_hash),
	    cmocka_unit_test(test_cluster_finders),
	    cmocka_unit_test(test_cluster_degenerate),
	    cmocka_unit_test(test_group_triplets),
	    cmocka_unit_test(test_group_degenerate),
	    cmocka_unit_test(test_group_loose),
	    cmocka_unit_test(test_group_cover),
	    cmocka_unit_test(test_group_reference),
	    cmocka_unit_test(test_plate_dark_on_light),
	    cmocka_unit_test(test_plate_light_on_dark),
	    cmocka_unit_test(test_plate_mirrored),
	    cmocka_unit_test(test_rotations),
	    cmocka_unit_test(test_dense_plate),
	    cmocka_unit_test(test_no_symbol),
	    cmocka_unit_test(test_noise_sweep),
	    cmocka_unit_test(test_perspective),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
