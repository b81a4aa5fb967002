/* The scan decoder in column groups (host/pipeline/scheduler.c): tiles
 * processed group after group, each group read top to bottom in bands of its
 * own columns, must report what full-width bands report.
 *
 * The plate: simulated, 2600 x 1100 pixels at default physics (version-3
 * symbols of 49 nm modules at 8 nm per pixel), cut into tiles of 512 px:
 * 6 x 3 tiles, so that groups of one tile column have boundaries every
 * 512 px and many symbols straddle them. A tile's buffer holds the same
 * pixels whatever group its band belongs to, so the symbols (payloads,
 * corners, failures) must be exactly those of the full-width decode, only
 * in group order. This is checked for uncompressed strips (read by columns),
 * LZW strips (whole strips decoded per group), tiles, with groups forced
 * through the internal entry semqr__decode_scan_grouped and through the
 * memory budget; a band callback keeps the full width. A registered frame
 * stack and the line-shift correction, whose per-band work depends on the
 * band's columns, must decode the same payloads in groups as at full
 * width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"
#include "semqr/decode.h"
#include "semqr/sim.h"
#include "semqr/truth.h"
#include "support/found_set.h"
#include "support/run.h"

enum { W = 2600, H = 1100, TILE = 512 };

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	snprintf(p, sizeof buf[0], "%s/%s", SEMQR_TEST_TMP, name);
	return p;
}

/* Simulates the plate (or a variant of it) to tiff; its truth to *truth
 * when not NULL. */
static void simulate(const semqr_sim_options *o, const char *tiff, semqr_truth *truth)
{
	const char *json = tmp_path("plate.json");
	semqr_error err;
	if (semqr_simulate(o, tiff, json, &err) != SEMQR_OK)
		fail_msg("%s", err.message);
	if (truth && semqr_truth_load(json, truth, &err) != SEMQR_OK)
		fail_msg("%s", err.message);
}

static void plate_options(semqr_sim_options *o)
{
	semqr_sim_options_init(o);
	o->rows = o->cols = 0;
	o->width = W;
	o->height = H;
	o->seed = 31;
}

static void decode_options(semqr_scan_decode_options *o)
{
	semqr_scan_decode_options_init(o);
	o->tile = TILE;
	o->threads = 1;
	/* Every retry sampling fits, whatever the machine's load. */
	o->retry_ms = 60000.0;
}

/* Decodes tiff with group_cols (0: automatic) into *set. */
static semqr_status decode(const char *tiff, const semqr_scan_decode_options *o, int group_cols,
                           test_found_set *set, semqr_scan_summary *sum, semqr_error *err)
{
	semqr_scan *scan;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan, err), SEMQR_OK);
	set->n = set->decoded = 0;
	semqr_status st =
	    semqr__decode_scan_grouped(scan, o, group_cols, test_found_collect, set, sum, err);
	semqr_scan_close(scan);
	return st;
}

static void decode_ok(const char *tiff, const semqr_scan_decode_options *o, int group_cols,
                      test_found_set *set, semqr_scan_summary *sum)
{
	semqr_error err;
	if (decode(tiff, o, group_cols, set, sum, &err) != SEMQR_OK)
		fail_msg("%s: %s", tiff, err.message);
}

/* Whether a and b report the same symbols exactly, in any order. */
static void assert_same_symbols(const test_found_set *a, const test_found_set *b,
                                const char *what)
{
	if (a->n != b->n)
		fail_msg("%s: %d symbols, against %d at full width", what, b->n, a->n);
	for (int i = 0; i < a->n; i++) {
		int hits = 0;
		for (int j = 0; j < b->n; j++)
			hits += a->s[i].decoded == b->s[j].decoded &&
			        a->s[i].version == b->s[j].version &&
			        !strcmp(a->s[i].payload, b->s[j].payload) &&
			        !memcmp(a->s[i].corners, b->s[j].corners, sizeof a->s[i].corners);
		if (hits != 1)
			fail_msg("%s: symbol \"%s\" at (%.1f, %.1f) reported %d times", what,
			         a->s[i].payload, a->s[i].corners[0][0], a->s[i].corners[0][1],
			         hits);
	}
}

/* Tiles in group order: with groups of `cols` tile columns, the groups of
 * the symbols' tiles never decrease, nor the rows within a group. */
static void assert_group_order(const test_found_set *set, int cols)
{
	for (int i = 1; i < set->n; i++) {
		const test_found *p = &set->s[i - 1], *q = &set->s[i];
		int gp = p->tile_col / cols, gq = q->tile_col / cols;
		assert_true(gq > gp || (gq == gp && q->tile_row >= p->tile_row));
	}
}

/* Truth symbols lying across a vertical line at one of the multiples of
 * `step` pixels, all decoded in `set`. Returns their number. */
static int straddlers_decoded(const semqr_truth *t, int step, const test_found_set *set)
{
	int n = 0;
	for (size_t i = 0; i < t->count; i++) {
		const semqr_truth_symbol *s = &t->symbols[i];
		if (!s->inside)
			continue;
		double lo = INFINITY, hi = -INFINITY;
		for (int k = 0; k < 4; k++) {
			lo = fmin(lo, s->corners_px[k][0]);
			hi = fmax(hi, s->corners_px[k][0]);
		}
		if (floor(lo / step) == floor(hi / step))
			continue;
		n++;
		char payload[TEST_FOUND_PAYLOAD_MAX] = "";
		assert_true(s->payload_len < TEST_FOUND_PAYLOAD_MAX);
		memcpy(payload, s->payload, s->payload_len);
		int hits = 0;
		for (int j = 0; j < set->n; j++)
			hits += set->s[j].decoded && !strcmp(set->s[j].payload, payload);
		if (hits != 1)
			fail_msg("symbol \"%s\" across x = %g reported %d times", payload,
			         step * floor(hi / step), hits);
	}
	return n;
}

static test_found_set whole, grouped;

/* Uncompressed strips: full width by default; groups of 1 and of 3 tile
 * columns (asked for 4: two groups, spread evenly) give the same symbols. */
static void test_strips_by_columns(void **state)
{
	(void)state;
	semqr_sim_options so;
	plate_options(&so);
	const char *tiff = tmp_path("plate.tif");
	semqr_truth truth;
	simulate(&so, tiff, &truth);
	semqr_scan_decode_options o;
	decode_options(&o);
	semqr_scan_summary sw, sg;
	decode_ok(tiff, &o, 0, &whole, &sw);
	assert_int_equal(sw.tiles, 18);
	assert_group_order(&whole, 6);
	printf("full width: %d located, %d decoded, %.1f MiB planned\n", whole.n, whole.decoded,
	       (double)sw.memory_bytes / 1048576.0);
	assert_true(whole.decoded >= 30);
	/* Asked for 4 tile columns, 6 make two groups of 3. */
	static const int forced[] = {1, 2, 4}, cols[] = {1, 2, 3}, across_min[] = {5, 2, 0};
	for (int k = 0; k < 3; k++) {
		decode_ok(tiff, &o, forced[k], &grouped, &sg);
		char what[64];
		snprintf(what, sizeof what, "groups of %d tile columns", cols[k]);
		assert_int_equal(sg.tiles, 18);
		assert_same_symbols(&whole, &grouped, what);
		assert_group_order(&grouped, cols[k]);
		int across = straddlers_decoded(&truth, cols[k] * TILE, &grouped);
		printf("%s: %.1f MiB planned; %d symbols across group boundaries, all decoded\n",
		       what, (double)sg.memory_bytes / 1048576.0, across);
		assert_true(across >= across_min[k]);
		assert_true(sg.memory_bytes < sw.memory_bytes);
	}
	/* Tile order differs: two groups do not come row by row. */
	int row_major = 1;
	for (int i = 1; i < grouped.n; i++)
		row_major &= grouped.s[i].tile_row >= grouped.s[i - 1].tile_row;
	assert_false(row_major);
	semqr_truth_free(&truth);
}

/* The memory budget narrows the groups: a budget that only groups of one
 * tile column fit is met, with the same symbols; a budget nothing fits
 * fails naming the groups. */
static void test_budget_forces_groups(void **state)
{
	(void)state;
	const char *tiff = tmp_path("plate.tif");
	semqr_scan_decode_options o;
	decode_options(&o);
	semqr_scan_summary s1, sb;
	decode_ok(tiff, &o, 1, &grouped, &s1);
	o.memory_budget = s1.memory_bytes;
	semqr_scan *scan;
	semqr_error err;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan, &err), SEMQR_OK);
	grouped.n = grouped.decoded = 0;
	if (semqr_decode_scan(scan, &o, test_found_collect, &grouped, &sb, &err) != SEMQR_OK)
		fail_msg("%s", err.message);
	printf("budget %.1f MiB: %.1f MiB planned, %d threads\n",
	       (double)o.memory_budget / 1048576.0, (double)sb.memory_bytes / 1048576.0,
	       sb.threads);
	assert_true(sb.memory_bytes <= o.memory_budget);
	assert_int_equal(sb.threads, 1);
	assert_same_symbols(&whole, &grouped, "groups chosen by the budget");
	assert_group_order(&grouped, 1);
	o.memory_budget = (size_t)1 << 20;
	semqr_status st = semqr_decode_scan(scan, &o, test_found_collect, &grouped, &sb, &err);
	assert_int_equal(st, SEMQR_ERR_INVALID_ARGUMENT);
	if (!strstr(err.message, "column groups of 1 tile columns") ||
	    !strstr(err.message, "exceed the memory budget of 1.0 MiB"))
		fail_msg("message: %s", err.message);
	semqr_scan_close(scan);
}

/* LZW strips (whole strips decoded for any columns) and tiles: the
 * automatic choice keeps LZW at full width; forced groups give the same
 * symbols from both. */
static void test_compressed_and_tiled(void **state)
{
	(void)state;
	semqr_scan_decode_options o;
	decode_options(&o);
	semqr_scan_summary sum;
	for (int k = 0; k < 2; k++) {
		semqr_sim_options so;
		plate_options(&so);
		if (k == 0) {
			so.compression = SEMQR_SIM_COMPRESS_LZW;
		} else {
			so.tiled = true;
			so.tile_size = 256;
		}
		const char *tiff = tmp_path(k == 0 ? "plate-lzw.tif" : "plate-tiled.tif");
		simulate(&so, tiff, NULL);
		semqr_scan *scan;
		semqr_error err;
		assert_int_equal(semqr_scan_open(tiff, NULL, &scan, &err), SEMQR_OK);
		semqr_scan_info in;
		semqr_scan_get_info(scan, &in);
		semqr_scan_close(scan);
		assert_int_equal(in.column_reads, k);
		if (k == 0) {
			decode_ok(tiff, &o, 0, &grouped, &sum);
			assert_same_symbols(&whole, &grouped, "LZW strips, automatic");
		}
		decode_ok(tiff, &o, 2, &grouped, &sum);
		assert_same_symbols(&whole, &grouped,
		                    k == 0 ? "LZW strips in groups" : "tiles in groups");
		assert_group_order(&grouped, 2);
	}
}

/* A band callback is handed full rows: it keeps the full width, bands come
 * top to bottom over every row. */
typedef struct band_log {
	int calls, next_row, bad;
} band_log;

static void on_band(void *user, int y0, int rows, const void *pixels, int bits, size_t stride)
{
	band_log *l = user;
	l->calls++;
	l->bad += stride != (size_t)W || bits != 8 || !pixels || y0 > l->next_row;
	if (y0 + rows > l->next_row)
		l->next_row = y0 + rows;
}

static void test_band_callback_full_width(void **state)
{
	(void)state;
	const char *tiff = tmp_path("plate.tif");
	semqr_scan_decode_options o;
	decode_options(&o);
	band_log log = {0, 0, 0};
	o.band = on_band;
	o.band_user = &log;
	semqr_scan_summary sum;
	decode_ok(tiff, &o, 1, &grouped, &sum);
	assert_int_equal(log.calls, 3);
	assert_int_equal(log.bad, 0);
	assert_int_equal(log.next_row, H);
	assert_group_order(&grouped, 6);
	assert_same_symbols(&whole, &grouped, "with a band callback");
}

/* Payloads decoded, sorted, for comparing sets. */
static int payload_cmp(const void *a, const void *b)
{
	return strcmp(((const test_found *)a)->payload, ((const test_found *)b)->payload);
}

static void assert_same_payloads(test_found_set *a, test_found_set *b, const char *what)
{
	qsort(a->s, (size_t)a->n, sizeof a->s[0], payload_cmp);
	qsort(b->s, (size_t)b->n, sizeof b->s[0], payload_cmp);
	if (a->decoded != b->decoded)
		fail_msg("%s: %d decoded in groups, %d at full width", what, b->decoded,
		         a->decoded);
	for (int i = 0, j = 0; i < a->n; i++) {
		if (!a->s[i].decoded)
			continue;
		while (!b->s[j].decoded)
			j++;
		assert_string_equal(a->s[i].payload, b->s[j].payload);
		j++;
	}
}

/* A registered 3-frame stack drifting 4 px over the stack, and a plate
 * with 2 px of line jitter corrected: the same payloads in groups of one
 * tile column as at full width. */
static void test_stack_and_lines(void **state)
{
	(void)state;
	static test_found_set a, b;
	semqr_scan_summary sa, sb;
	semqr_sim_options so;
	plate_options(&so);
	so.width = 1600;
	so.height = 900;
	so.frames = 3;
	so.dwell_us = 2;
	so.drift_nm_per_min[0] = 400;
	so.drift_nm_per_min[1] = -200;
	const char *stack = tmp_path("stack.tif");
	simulate(&so, stack, NULL);
	semqr_scan_decode_options o;
	decode_options(&o);
	decode_ok(stack, &o, 0, &a, &sa);
	decode_ok(stack, &o, 1, &b, &sb);
	printf("registered stack: %d decoded at full width, %d in groups; %d frames\n", a.decoded,
	       b.decoded, sb.frames_integrated);
	assert_int_equal(sa.frames_integrated, 3);
	assert_int_equal(sb.frames_integrated, 3);
	assert_true(a.decoded >= 15);
	assert_group_order(&b, 1);
	assert_same_payloads(&a, &b, "registered stack");

	plate_options(&so);
	so.width = 1600;
	so.height = 900;
	so.line_jitter_px = 2.0;
	const char *jitter = tmp_path("jitter.tif");
	simulate(&so, jitter, NULL);
	o.line_shifts = 1;
	decode_ok(jitter, &o, 0, &a, &sa);
	decode_ok(jitter, &o, 1, &b, &sb);
	printf("line jitter 2 px: %d decoded at full width (%.2f px RMS), %d in groups (%.2f px "
	       "RMS)\n",
	       a.decoded, sa.line_shift_rms_px, b.decoded, sb.line_shift_rms_px);
	assert_true(sb.line_shift_rms_px > 1.0);
	assert_group_order(&b, 1);
	assert_same_payloads(&a, &b, "line shifts corrected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strips_by_columns),
	    cmocka_unit_test(test_budget_forces_groups),
	    cmocka_unit_test(test_compressed_and_tiled),
	    cmocka_unit_test(test_band_callback_full_width),
	    cmocka_unit_test(test_stack_and_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
