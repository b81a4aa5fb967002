/* Regression runs (semqr/regress.h):
 * - matching on synthetic lists: exact pairs in any order, a missing symbol,
 *   an extra one far from any truth and a second report of a paired symbol,
 *   a wrong payload at a truth position (wrong, not missing), the same
 *   payload taking precedence over a nearer different one, the tolerance
 *   boundary, symbols outside the image (not expected; bonus when decoded),
 *   payloads differing only in length, and the invariants of the counts;
 * - matching on random plates against classes known by construction (20
 *   seeded plates of 20 x 20 symbols), exercising the sorted-strip search;
 * - listing: scans (links included) with NAME.json, truth without a scan,
 *   no recursion, hidden files and other names skipped, sorted; errors for
 *   a missing path and a directory without scans;
 * - end to end through semqr_decode_scan on links to datasets the decoder
 *   reads (clean, inverted, tiled-bigtiff): they pass; ground truth edited
 *   at run time gives wrong, missing + extra, a rate below --min-rate, a
 *   bonus symbol outside the image, and a size mismatch error;
 * - the CLI: table and JSON output, exit status 0 / 1 / 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "semqr/regress.h"
#include "support/run.h"
#include "support/testutil.h"

#define TMP SEMQR_TEST_TMP
#define DATASETS SEMQR_SOURCE_DIR "/datasets"

/* ---- synthetic matching --------------------------------------------------- */

/* A truth of n symbols whose payloads point at caller-owned strings; free
 * with free(t->symbols) (not semqr_truth_free). */
static void truth_init(semqr_truth *t, size_t n)
{
	memset(t, 0, sizeof *t);
	t->width = t->height = 10000;
	t->count = n;
	t->symbols = calloc(n, sizeof *t->symbols);
	assert_non_null(t->symbols);
}

static void set_truth(semqr_truth *t, size_t i, const char *payload, double x, double y,
                      double side, bool inside)
{
	semqr_truth_symbol *s = &t->symbols[i];
	s->payload = (uint8_t *)payload;
	s->payload_len = strlen(payload);
	s->center_px[0] = x;
	s->center_px[1] = y;
	s->side_px = side;
	s->inside = inside;
	s->version = 1;
}

static semqr_regress_found found_at(const char *payload, double x, double y)
{
	return (semqr_regress_found){(uint8_t *)payload, strlen(payload), 1, {x, y},
	                             SEMQR_REGRESS_CORRECT, 12345};
}

typedef struct matched {
	semqr_regress_class cls[8];
	long idx[8];
	semqr_regress_counts c;
} matched;

static void run_match(const semqr_truth *t, semqr_regress_found *f, size_t n, double tol,
                      matched *m)
{
	semqr_error err = {0};
	assert_true(t->count <= 8);
	assert_int_equal(semqr_regress_match(t, f, n, tol, m->cls, m->idx, &m->c, &err), SEMQR_OK);
	/* The invariants of semqr/regress.h. */
	long wrong_inside = 0;
	for (size_t i = 0; i < t->count; i++)
		wrong_inside += m->cls[i] == SEMQR_REGRESS_WRONG && t->symbols[i].inside;
	assert_int_equal(m->c.decoded, (long)n);
	assert_int_equal(m->c.decoded, m->c.correct + m->c.bonus + m->c.wrong + m->c.extra);
	assert_int_equal(m->c.expected, m->c.correct + m->c.missing + wrong_inside);
	/* Both sides agree on every pair. */
	for (size_t j = 0; j < n; j++) {
		if (f[j].match == SEMQR_REGRESS_EXTRA) {
			assert_int_equal(f[j].truth, -1);
			continue;
		}
		assert_true(f[j].truth >= 0 && (size_t)f[j].truth < t->count);
		assert_int_equal(m->idx[f[j].truth], (long)j);
		assert_int_equal(m->cls[f[j].truth], f[j].match);
	}
}

static void test_match_exact(void **state)
{
	semqr_truth t;
	truth_init(&t, 3);
	set_truth(&t, 0, "A", 100, 100, 60, true);
	set_truth(&t, 1, "B", 300, 100, 60, true);
	set_truth(&t, 2, "C", 100, 300, 60, true);
	semqr_regress_found f[3] = {found_at("C", 103, 298), found_at("A", 99, 101),
	                            found_at("B", 310, 95)};
	matched m;
	run_match(&t, f, 3, 0.5, &m);
	assert_int_equal(m.c.expected, 3);
	assert_int_equal(m.c.correct, 3);
	assert_int_equal(m.c.missing + m.c.extra + m.c.wrong + m.c.bonus, 0);
	assert_true(m.c.rate == 1.0);
	assert_int_equal(m.idx[0], 1);
	assert_int_equal(m.idx[1], 2);
	assert_int_equal(m.idx[2], 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(m.cls[i], SEMQR_REGRESS_CORRECT);

	/* Nothing decoded, nothing expected: rate 1. */
	semqr_truth empty;
	truth_init(&empty, 0);
	run_match(&empty, f, 0, 0.5, &m);
	assert_int_equal(m.c.expected, 0);
	assert_true(m.c.rate == 1.0);
	/* Decoded symbols with no truth at all are extra. */
	run_match(&empty, f, 3, 0.5, &m);
	assert_int_equal(m.c.extra, 3);
	free(empty.symbols);
	free(t.symbols);
}

static void test_match_missing_extra_wrong(void **state)
{
	semqr_truth t;
	truth_init(&t, 3);
	set_truth(&t, 0, "A", 100, 100, 60, true);
	set_truth(&t, 1, "B", 300, 100, 60, true);
	set_truth(&t, 2, "C", 100, 300, 60, true);
	/* A decoded twice, B misread as X, C not decoded, Y where nothing is. */
	semqr_regress_found f[4] = {found_at("A", 101, 100), found_at("X", 300, 104),
	                            found_at("A", 104, 100), found_at("Y", 500, 500)};
	matched m;
	run_match(&t, f, 4, 0.5, &m);
	assert_int_equal(m.c.correct, 1);
	assert_int_equal(m.c.wrong, 1);
	assert_int_equal(m.c.missing, 1);
	assert_int_equal(m.c.extra, 2);
	assert_true(fabs(m.c.rate - 1.0 / 3.0) < 1e-12);
	assert_int_equal(m.cls[0], SEMQR_REGRESS_CORRECT);
	assert_int_equal(m.idx[0], 0); /* the nearer report of A */
	assert_int_equal(m.cls[1], SEMQR_REGRESS_WRONG);
	assert_int_equal(m.idx[1], 1);
	assert_int_equal(m.cls[2], SEMQR_REGRESS_MISSING);
	assert_int_equal(m.idx[2], -1);
	assert_int_equal(f[2].match, SEMQR_REGRESS_EXTRA);
	assert_int_equal(f[3].match, SEMQR_REGRESS_EXTRA);
	free(t.symbols);
}

static void test_match_precedence_and_tolerance(void **state)
{
	semqr_truth t;
	truth_init(&t, 1);
	set_truth(&t, 0, "A", 100, 100, 60, true);
	/* A wrong payload right on the centre, the right one 25 px away (reach
	 * 30): the right payload pairs, the other is extra. */
	semqr_regress_found f[2] = {found_at("Z", 100, 100), found_at("A", 125, 100)};
	matched m;
	run_match(&t, f, 2, 0.5, &m);
	assert_int_equal(m.cls[0], SEMQR_REGRESS_CORRECT);
	assert_int_equal(m.idx[0], 1);
	assert_int_equal(f[0].match, SEMQR_REGRESS_EXTRA);
	assert_int_equal(m.c.extra, 1);

	/* Boundary: 29.9 px pairs, 30.1 px does not (missing + extra). */
	f[0] = found_at("A", 100, 129.9);
	run_match(&t, f, 1, 0.5, &m);
	assert_int_equal(m.c.correct, 1);
	f[0] = found_at("A", 100, 130.1);
	run_match(&t, f, 1, 0.5, &m);
	assert_int_equal(m.c.correct, 0);
	assert_int_equal(m.c.missing, 1);
	assert_int_equal(m.c.extra, 1);
	/* ... unless the tolerance is wider. */
	run_match(&t, f, 1, 0.6, &m);
	assert_int_equal(m.c.correct, 1);

	/* Payloads equal up to a shorter length are different. */
	f[0] = found_at("AA", 100, 100);
	run_match(&t, f, 1, 0.5, &m);
	assert_int_equal(m.c.wrong, 1);
	/* Empty payloads are equal. */
	set_truth(&t, 0, "", 100, 100, 60, true);
	f[0] = found_at("", 100, 100);
	run_match(&t, f, 1, 0.5, &m);
	assert_int_equal(m.c.correct, 1);
	free(t.symbols);
}

static void test_match_outside(void **state)
{
	semqr_truth t;
	truth_init(&t, 3);
	set_truth(&t, 0, "A", 100, 100, 60, true);
	set_truth(&t, 1, "B", 5, 300, 60, false);
	set_truth(&t, 2, "C", 300, 5, 60, false);
	semqr_regress_found f[2] = {found_at("A", 100, 100), found_at("B", 8, 300)};
	matched m;
	run_match(&t, f, 2, 0.5, &m);
	assert_int_equal(m.c.expected, 1);
	assert_int_equal(m.c.correct, 1);
	assert_int_equal(m.c.bonus, 1);
	assert_int_equal(m.c.missing, 0);
	assert_true(m.c.rate == 1.0);
	assert_int_equal(m.cls[1], SEMQR_REGRESS_CORRECT);
	assert_int_equal(m.cls[2], SEMQR_REGRESS_OUTSIDE);
	/* Misread outside the image: still wrong. */
	f[1] = found_at("Q", 8, 300);
	run_match(&t, f, 2, 0.5, &m);
	assert_int_equal(m.c.wrong, 1);
	assert_int_equal(m.c.expected, 1);
	free(t.symbols);
}

/* Random plates: 20 x 20 truth symbols at a 100 px pitch with 60 px sides
 * (reach 30 px, so a decoded centre is within reach of at most one truth
 * symbol and each outcome is known by construction). Each symbol is, at
 * random: decoded (offset < 27 px), not decoded, misread, decoded twice,
 * or decoded 40..60 px away (extra, and missing); plus random extras at
 * cell corners (71 px from every centre). 20 seeded trials. */
static void test_match_random_plates(void **state)
{
	enum { N = 20, SYMS = N * N, FOUND_MAX = 2 * SYMS + 50 };
	static char payload[SYMS][16], wrong[SYMS][16];
	for (int i = 0; i < SYMS; i++) {
		snprintf(payload[i], sizeof payload[i], "S%d", i);
		snprintf(wrong[i], sizeof wrong[i], "W%d", i);
	}
	semqr_regress_found *f = malloc(FOUND_MAX * sizeof *f);
	semqr_regress_class *cls = malloc(SYMS * sizeof *cls);
	long *idx = malloc(SYMS * sizeof *idx);
	int *kind = malloc(SYMS * sizeof *kind);
	assert_true(f && cls && idx && kind);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		test_rng rng;
		test_rng_seed(&rng, seed);
		semqr_truth t;
		truth_init(&t, SYMS);
		size_t n = 0;
		long want[4] = {0}; /* correct, missing, wrong, extra */
		for (int i = 0; i < SYMS; i++) {
			double x = 100.0 * (i % N) + 50, y = 100.0 * (i / N) + 50;
			set_truth(&t, (size_t)i, payload[i], x, y, 60, true);
			double a = test_rng_below(&rng, 628) / 100.0;
			double r = test_rng_below(&rng, 27);
			kind[i] = (int)test_rng_below(&rng, 5);
			switch (kind[i]) {
			case 0: /* decoded */
				f[n++] = found_at(payload[i], x + r * cos(a), y + r * sin(a));
				want[0]++;
				break;
			case 1: /* not decoded */
				want[1]++;
				break;
			case 2: /* misread */
				f[n++] = found_at(wrong[i], x + r * cos(a), y + r * sin(a));
				want[2]++;
				break;
			case 3: /* twice: the second report 1 px farther */
				f[n++] = found_at(payload[i], x + (r + 1) * cos(a), y + (r + 1) * sin(a));
				f[n++] = found_at(payload[i], x + r * cos(a), y + r * sin(a));
				want[0]++;
				want[3]++;
				break;
			default: /* too far away */
				r = 40 + test_rng_below(&rng, 21);
				f[n++] = found_at(payload[i], x + r * cos(a), y + r * sin(a));
				want[1]++;
				want[3]++;
				break;
			}
		}
		for (uint32_t k = test_rng_below(&rng, 50); k > 0; k--) {
			f[n++] = found_at("noise", 100.0 * (1 + test_rng_below(&rng, N - 1)),
			                  100.0 * (1 + test_rng_below(&rng, N - 1)));
			want[3]++;
		}
		/* Shuffle the decoded list (Fisher-Yates). */
		for (size_t j = n; j > 1; j--) {
			size_t k = test_rng_below(&rng, (uint32_t)j);
			semqr_regress_found tmp = f[j - 1];
			f[j - 1] = f[k];
			f[k] = tmp;
		}
		semqr_regress_counts c;
		semqr_error err = {0};
		assert_int_equal(semqr_regress_match(&t, f, n, 0.5, cls, idx, &c, &err), SEMQR_OK);
		assert_int_equal(c.expected, SYMS);
		assert_int_equal(c.correct, want[0]);
		assert_int_equal(c.missing, want[1]);
		assert_int_equal(c.wrong, want[2]);
		assert_int_equal(c.extra, want[3]);
		for (int i = 0; i < SYMS; i++) {
			static const semqr_regress_class expect[5] = {
				SEMQR_REGRESS_CORRECT, SEMQR_REGRESS_MISSING, SEMQR_REGRESS_WRONG,
				SEMQR_REGRESS_CORRECT, SEMQR_REGRESS_MISSING};
			assert_int_equal(cls[i], expect[kind[i]]);
			if (idx[i] < 0)
				continue;
			const semqr_regress_found *p = &f[idx[i]];
			assert_int_equal(p->truth, i);
			if (kind[i] == 3) { /* the nearer report pairs */
				double d = hypot(p->center_px[0] - t.symbols[i].center_px[0],
				                 p->center_px[1] - t.symbols[i].center_px[1]);
				for (size_t j = 0; j < n; j++)
					if (f[j].payload == (const uint8_t *)payload[i] && j != (size_t)idx[i])
						assert_true(hypot(f[j].center_px[0] - t.symbols[i].center_px[0],
						                  f[j].center_px[1] - t.symbols[i].center_px[1]) > d);
			}
		}
		free(t.symbols);
	}
	free(f);
	free(cls);
	free(idx);
	free(kind);
}

/* ---- listing ---------------------------------------------------------------- */

static void touch(const char *path)
{
	assert_int_equal(test_write_file(path, "x", 1), 0);
}

static void test_list(void **state)
{
	const char *dir = TMP "/list";
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(test_mkdir(TMP "/list/sub"), 0);
	touch(TMP "/list/b.json");
	touch(TMP "/list/b.PNG");
	touch(TMP "/list/a.tiff");
	touch(TMP "/list/orphan.json");
	touch(TMP "/list/.hidden.tif");
	touch(TMP "/list/README.md");
	touch(TMP "/list/sub/deep.tif");
	touch(TMP "/list/sub/deep.json");
	assert_int_equal(symlink(DATASETS "/clean.tif", TMP "/list/c.pgm"), 0);
	assert_int_equal(symlink(TMP "/nowhere.tif", TMP "/list/dangling.tif"), 0);

	semqr_regress_pair *p;
	size_t n;
	semqr_error err = {0};
	assert_int_equal(semqr_regress_list(dir, &p, &n, &err), SEMQR_OK);
	assert_int_equal(n, 4);
	assert_string_equal(p[0].scan, TMP "/list/a.tiff");
	assert_string_equal(p[0].truth, TMP "/list/a.json");
	assert_string_equal(p[1].scan, TMP "/list/b.PNG");
	assert_string_equal(p[1].truth, TMP "/list/b.json");
	assert_string_equal(p[2].scan, TMP "/list/c.pgm");
	assert_string_equal(p[2].truth, TMP "/list/c.json");
	assert_null(p[3].scan);
	assert_string_equal(p[3].truth, TMP "/list/orphan.json");
	semqr_regress_pairs_free(p, n);

	/* A file lists itself. */
	assert_int_equal(semqr_regress_list(TMP "/list/sub/deep.tif", &p, &n, &err), SEMQR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].truth, TMP "/list/sub/deep.json");
	semqr_regress_pairs_free(p, n);

	assert_int_equal(semqr_regress_list(TMP "/list/nothing", &p, &n, &err), SEMQR_ERR_IO);
	assert_non_null(strstr(err.message, TMP "/list/nothing"));
	assert_null(p);
	assert_int_equal(test_mkdir(TMP "/list/empty"), 0);
	touch(TMP "/list/empty/notes.txt");
	assert_int_equal(semqr_regress_list(TMP "/list/empty", &p, &n, &err), SEMQR_ERR_IO);
	assert_non_null(strstr(err.message, TMP "/list/empty: no scans"));
}

/* ---- end to end --------------------------------------------------------------- */

#define E2E TMP "/e2e"

static void link_dataset(const char *dir, const char *name, int with_truth)
{
	char from[1024], to[1024];
	snprintf(from, sizeof from, "%s/%s.tif", DATASETS, name);
	snprintf(to, sizeof to, "%s/%s.tif", dir, name);
	assert_int_equal(symlink(from, to), 0);
	if (!with_truth)
		return;
	snprintf(from, sizeof from, "%s/%s.json", DATASETS, name);
	snprintf(to, sizeof to, "%s/%s.json", dir, name);
	assert_int_equal(symlink(from, to), 0);
}

/* Writes a truth file for clean.tif: its image size (width + dwidth) and
 * symbol, with the payload replaced by `hex` (NULL: kept) and shifted by
 * dx, plus `more` further symbols ("" for none) as JSON text. */
static void write_clean_variant(const char *path, int dwidth, const char *hex, double dx,
                                const char *more)
{
	semqr_truth t;
	semqr_error err = {0};
	assert_int_equal(semqr_truth_load(DATASETS "/clean.json", &t, &err), SEMQR_OK);
	const semqr_truth_symbol *s = &t.symbols[0];
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"image\": {\"width\": %d, \"height\": %d}, \"symbols\": [{\"payload_hex\": \"",
	        t.width + dwidth, t.height);
	if (hex)
		fputs(hex, f);
	else
		for (size_t i = 0; i < s->payload_len; i++)
			fprintf(f, "%02x", s->payload[i]);
	fprintf(f, "\", \"version\": %d, \"level\": \"M\", \"corners\": [[", s->version);
	for (int k = 0; k < 4; k++)
		fprintf(f, "%s[%.17g, %.17g]", k ? ", " : "", s->corners_px[k][0] + dx,
		        s->corners_px[k][1]);
	fprintf(f, "]]}%s]}\n", more);
	assert_int_equal(fclose(f), 0);
	semqr_truth_free(&t);
}

/* A second symbol far from the real one; `inside` as given. */
#define FAR_SYMBOL(inside) ", {\"payload_hex\": \"41\", \"version\": 3, \"level\": \"M\", " \
	"\"inside\": " inside ", \"corners\": [[[0, 150], [80, 150], [80, 230], [0, 230]]]}"

static int e2e_setup(void **state)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", E2E);
	if (system(cmd) || test_mkdir(E2E "/pass") || test_mkdir(E2E "/edited"))
		return -1;
	return 0;
}

/* Runs one file, skipping the test when there is no OpenCL device. */
static void regress_one(const char *scan, const char *truth, const semqr_regress_options *o,
                        semqr_regress_result *r)
{
	semqr_status st = semqr_regress_file(scan, truth, o, r);
	if (st == SEMQR_ERR_NO_PLATFORM) {
		semqr_regress_result_free(r);
		skip();
	}
}

static void test_end_to_end_pass(void **state)
{
	link_dataset(E2E "/pass", "clean", 1);
	link_dataset(E2E "/pass", "inverted", 1);
	link_dataset(E2E "/pass", "tiled-bigtiff", 1);
	semqr_regress_pair *p;
	size_t n;
	semqr_error err = {0};
	assert_int_equal(semqr_regress_list(E2E "/pass", &p, &n, &err), SEMQR_OK);
	assert_int_equal(n, 3);
	static const long expected[3] = {1, 1, 4};
	for (size_t i = 0; i < n; i++) {
		semqr_regress_result r;
		regress_one(p[i].scan, p[i].truth, NULL, &r);
		if (r.status != SEMQR_OK)
			fail_msg("%s", r.error);
		if (!r.pass)
			fail_msg("%s: %ld correct, %ld missing, %ld extra, %ld wrong", p[i].scan,
			         r.counts.correct, r.counts.missing, r.counts.extra, r.counts.wrong);
		assert_int_equal(r.counts.expected, expected[i]);
		assert_int_equal(r.counts.correct, expected[i]);
		assert_int_equal(r.found_count, (size_t)expected[i]);
		assert_true(r.seconds > 0.0);
		semqr_regress_result_free(&r);
	}
	semqr_regress_pairs_free(p, n);
}

static void test_end_to_end_edited(void **state)
{
	const char *d = E2E "/edited";
	semqr_regress_options o;
	semqr_regress_options_init(&o);
	semqr_regress_result r;

	/* The payload changed in the truth: wrong. */
	link_dataset(d, "clean", 0);
	write_clean_variant(E2E "/edited/clean.json", 0, "50312d52302d4331", 0, "");
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_int_equal(r.status, SEMQR_OK);
	assert_false(r.pass);
	assert_int_equal(r.counts.wrong, 1);
	assert_int_equal(r.counts.missing, 0);
	assert_int_equal(r.truth_match[0], SEMQR_REGRESS_WRONG);
	semqr_regress_result_free(&r);

	/* The symbol moved 100 px away in the truth: missing and extra. */
	write_clean_variant(E2E "/edited/clean.json", 0, NULL, 100, "");
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_int_equal(r.status, SEMQR_OK);
	assert_false(r.pass);
	assert_int_equal(r.counts.missing, 1);
	assert_int_equal(r.counts.extra, 1);
	semqr_regress_result_free(&r);

	/* A second expected symbol that is not there: rate 1/2, which passes
	 * only with min_rate <= 0.5. */
	write_clean_variant(E2E "/edited/clean.json", 0, NULL, 0, FAR_SYMBOL("true"));
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_false(r.pass);
	assert_true(r.counts.rate == 0.5);
	semqr_regress_result_free(&r);
	o.min_rate = 0.5;
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_true(r.pass);
	semqr_regress_result_free(&r);
	o.min_rate = 1.0;

	/* ... and when it lies partly outside the image it is not expected. */
	write_clean_variant(E2E "/edited/clean.json", 0, NULL, 0, FAR_SYMBOL("false"));
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_true(r.pass);
	assert_int_equal(r.counts.expected, 1);
	assert_int_equal(r.truth_match[1], SEMQR_REGRESS_OUTSIDE);
	semqr_regress_result_free(&r);

	/* The truth describes another image size: an error naming both files. */
	write_clean_variant(E2E "/edited/clean.json", 2, NULL, 0, "");
	regress_one(E2E "/edited/clean.tif", E2E "/edited/clean.json", &o, &r);
	assert_int_equal(r.status, SEMQR_ERR_FORMAT);
	assert_false(r.pass);
	assert_non_null(strstr(r.error, E2E "/edited/clean.tif is 238 x 238"));
	assert_non_null(strstr(r.error, E2E "/edited/clean.json describes 240 x 238"));
	semqr_regress_result_free(&r);

	/* No truth: an error naming both. */
	semqr_regress_file(E2E "/edited/clean.tif", E2E "/edited/none.json", &o, &r);
	assert_int_equal(r.status, SEMQR_ERR_IO);
	assert_non_null(strstr(r.error, "clean.tif: no ground truth"));
	assert_non_null(strstr(r.error, "none.json"));
	semqr_regress_result_free(&r);
}

/* ---- the CLI -------------------------------------------------------------------- */

static int cli(const char *args, uint8_t **out)
{
	char cmd[2048];
	size_t len;
	snprintf(cmd, sizeof cmd, "'%s' regress %s 2>/dev/null", SEMQR_CLI, args);
	return test_run(cmd, out, &len);
}

static int count_lines_with(const char *text, const char *word)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, word)); p++)
		n++;
	return n;
}

static void test_cli(void **state)
{
	uint8_t *out;
	int rc = cli(E2E "/pass", &out);
	if (strstr((char *)out, "no OpenCL") || strstr((char *)out, "platform")) {
		free(out);
		skip();
	}
	if (rc != 0)
		fail_msg("exit %d:\n%s", rc, (char *)out);
	assert_int_equal(count_lines_with((char *)out, " PASS "), 3);
	assert_non_null(strstr((char *)out, "summary: 3 files: 3 passed, 0 failed, 0 errors; "
	                                    "6 symbols expected, 6 correct (rate 1.000)"));
	free(out);

	assert_int_equal(cli("--json " E2E "/pass", &out), 0);
	json_error_t jerr;
	json_t *doc = json_loads((char *)out, 0, &jerr);
	if (!doc)
		fail_msg("not JSON (%d:%d %s):\n%s", jerr.line, jerr.column, jerr.text, (char *)out);
	json_t *sum = json_object_get(doc, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "passed")), 3);
	assert_int_equal(json_integer_value(json_object_get(sum, "correct")), 6);
	json_t *files = json_object_get(doc, "files");
	assert_int_equal(json_array_size(files), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 2), "status")),
	                    "pass");
	json_decref(doc);
	free(out);

	/* A failing file: exit 1, the row, the wrong payload below it. */
	write_clean_variant(E2E "/edited/clean.json", 0, "50312d52302d4331", 0, "");
	assert_int_equal(cli(E2E "/edited/clean.tif " E2E "/pass/clean.tif", &out), 1);
	assert_non_null(strstr((char *)out, " FAIL "));
	assert_non_null(strstr((char *)out, "wrong   #0 \"P1-R0-C1\""));
	assert_non_null(strstr((char *)out, "decoded \"P1-R0-C0\""));
	assert_non_null(strstr((char *)out, "2 files: 1 passed, 1 failed, 0 errors"));
	free(out);
	assert_int_equal(cli("--json " E2E "/edited/clean.tif", &out), 1);
	doc = json_loads((char *)out, 0, &jerr);
	assert_non_null(doc);
	json_t *w = json_array_get(json_object_get(json_array_get(json_object_get(doc, "files"),
	                                                          0), "wrong_symbols"), 0);
	assert_string_equal(json_string_value(json_object_get(w, "payload_hex")),
	                    "50312d52302d4331");
	assert_string_equal(json_string_value(json_object_get(w, "decoded_hex")),
	                    "50312d52302d4330");
	json_decref(doc);
	free(out);

	/* Errors and usage. */
	assert_int_equal(cli(E2E "/no-such-dir", &out), 1);
	assert_non_null(strstr((char *)out, "ERROR"));
	assert_non_null(strstr((char *)out, E2E "/no-such-dir: No such file"));
	free(out);
	assert_int_equal(cli("", &out), 2);
	free(out);
	assert_int_equal(cli("--min-rate 2 " E2E "/pass", &out), 2);
	free(out);
	assert_int_equal(cli("--bogus " E2E "/pass", &out), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_missing_extra_wrong),
		cmocka_unit_test(test_match_precedence_and_tolerance),
		cmocka_unit_test(test_match_outside),
		cmocka_unit_test(test_match_random_plates),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_end_to_end_pass),
		cmocka_unit_test(test_end_to_end_edited),
		cmocka_unit_test(test_cli),
	};
	test_mkdir(TMP);
	if (e2e_setup(NULL))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
