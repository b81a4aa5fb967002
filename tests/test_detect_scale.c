/* The scan decoder's detect scale (semqr_scan_decode_options.detect_scale,
 * host/pipeline/pipeline_internal.h): tiles binned 2 x 2 on the device
 * before the finder and locator stages, coordinates mapped back to scan
 * pixels.
 *
 * On datasets/plate100.tif (2500 x 2500, 100 symbols at default physics,
 * 6.1 px modules): scale 2 decodes the same 100 payloads as scale 1, each
 * once, with every corner within 3 px (half a module) of the ground truth
 * and the median of the symbols' largest corner errors within 0.25 px of
 * scale 1's (measured: largest 2.49 px at scale 2, 2.32 at scale 1;
 * medians 0.88 and 0.97), and no mean shift over all corners beyond 0.2 px
 * in x or y from scale 1's (a mistaken pixel-centre convention would shift
 * every corner by 0.5 px or more); scale 1 and 2 corners differ by up to
 * 1.6 px, the two scales' errors adding. Tiled (25 tiles of 512 px)
 * against whole (one tile) at scale 2:
 * the same symbols, each once, corners within 0.5 px; scale 2 after the
 * line-shift corrector and on a registered stack (datasets/stack8.tif)
 * decodes what scale 1 does (corners within 3.5 px of scale 1's). The
 * automatic choice: 2 on plate100, 1 when
 * the pixel size is unknown (a photograph), the modules too small or the
 * scan too noisy (datasets/low-dose.tif);
 * bad values and a scale that leaves modules under the finder's 2 px fail.
 *
 * Finders seen on few lines. Binned, a finder is crossed by half as many
 * lines, so one whose runs pass the 1:1:3:1:1 test on few of them is more
 * often left with none along one axis, and is then a finder only by 1.5
 * modules of lines along the other (locate/finders.c): with the binarize
 * window of scale 1 (radius two modules, where the lines passing are
 * fewest) the 32768 x 32768 benchmark plate lost 6 of its 18769 symbols
 * that way, never located, and so did 2048 x 2048 plates at default
 * physics at 6 of 400 seeds, one symbol each (seeds 33 and 56 here); with
 * the radius of 1.25 modules at scale 2 (pipeline/scheduler.c) all 64
 * decode at every one of the 400 seeds.
 * Needs an OpenCL device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "semqr/decode.h"
#include "semqr/semqr.h"
#include "semqr/sim.h"
#include "semqr/truth.h"
#include "support/found_set.h"
#include "support/run.h"
#include "support/truth_count.h"

/* Decodes datasets/NAME into *set with detect scale `scale` (0: automatic),
 * tile side `tile`, line shifts when `lines`; pixel_nm > 0 overrides the
 * metadata. Returns the status. */
static semqr_status decode(const char *name, int scale, int tile, int lines, double pixel_nm,
                           test_found_set *set, semqr_scan_summary *sum, semqr_error *err)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/datasets/%s", SEMQR_SOURCE_DIR, name);
	semqr_scan_options so = {pixel_nm, 0};
	semqr_scan *scan = NULL;
	semqr_status st = semqr_scan_open(path, &so, &scan, err);
	if (st != SEMQR_OK)
		return st;
	semqr_scan_decode_options o;
	semqr_scan_decode_options_init(&o);
	o.detect_scale = scale;
	o.tile = tile;
	o.line_shifts = lines;
	set->n = set->decoded = 0;
	st = semqr_decode_scan(scan, &o, test_found_collect, set, sum, err);
	semqr_scan_close(scan);
	return st;
}

static void check_ok(semqr_status st, const semqr_error *err)
{
	if (st != SEMQR_OK)
		fprintf(stderr, "%s\n", err->message);
	assert_int_equal(st, SEMQR_OK);
}

/* The symbol of b with a's i-th payload; asserts there is exactly one. */
static const test_found *match(const test_found_set *b, const char *payload)
{
	const test_found *hit = NULL;
	int hits = 0;
	for (int j = 0; j < b->n; j++)
		if (b->s[j].payload[0] && !strcmp(b->s[j].payload, payload)) {
			hit = &b->s[j];
			hits++;
		}
	assert_int_equal(hits, 1);
	return hit;
}

/* Every decoded symbol of a is decoded once in b, with corners within tol
 * px; b decodes no more than a. Returns the mean corner shift b - a. */
static void compare(const test_found_set *a, const test_found_set *b, double tol, double shift[2])
{
	double worst = 0.0, sx = 0.0, sy = 0.0;
	int n = 0;
	assert_int_equal(b->decoded, a->decoded);
	for (int i = 0; i < a->n; i++) {
		if (!a->s[i].payload[0])
			continue;
		const test_found *m = match(b, a->s[i].payload);
		for (int k = 0; k < 4; k++) {
			double dx = m->corners[k][0] - a->s[i].corners[k][0];
			double dy = m->corners[k][1] - a->s[i].corners[k][1];
			worst = fmax(worst, hypot(dx, dy));
			sx += dx;
			sy += dy;
			n++;
		}
	}
	shift[0] = n ? sx / n : 0.0;
	shift[1] = n ? sy / n : 0.0;
	printf("%d decoded; corners: largest difference %.3f px, mean shift (%.3f, %.3f)\n",
	       b->decoded, worst, shift[0], shift[1]);
	assert_true(worst <= tol);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The largest corner error against datasets/plate100.json of each decoded
 * symbol of set, into err[] (set->decoded entries); returns their median. */
static double truth_errors(const test_found_set *set, double *errs)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/datasets/plate100.json", SEMQR_SOURCE_DIR);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	assert_non_null(root);
	json_t *syms = json_object_get(root, "symbols");
	int n = 0;
	for (int i = 0; i < set->n; i++) {
		if (!set->s[i].payload[0])
			continue;
		json_t *corners = NULL;
		for (size_t k = 0; k < json_array_size(syms) && !corners; k++) {
			json_t *sym = json_array_get(syms, k);
			if (!strcmp(json_string_value(json_object_get(sym, "payload")),
			            set->s[i].payload))
				corners = json_array_get(json_object_get(sym, "corners"), 0);
		}
		assert_non_null(corners);
		double worst = 0.0;
		for (size_t q = 0; q < 4; q++) {
			json_t *p = json_array_get(corners, q);
			worst = fmax(worst, hypot(set->s[i].corners[q][0] -
			                              json_number_value(json_array_get(p, 0)),
			                          set->s[i].corners[q][1] -
			                              json_number_value(json_array_get(p, 1))));
		}
		errs[n++] = worst;
	}
	json_decref(root);
	qsort(errs, (size_t)n, sizeof *errs, by_value);
	printf("corner errors against the truth: largest %.3f px, median %.3f px\n",
	       n ? errs[n - 1] : 0.0, n ? errs[n / 2] : 0.0);
	return n ? errs[n / 2] : 0.0;
}

static void test_scale2_equals_scale1(void **state)
{
	(void)state;
	static test_found_set one, two;
	semqr_scan_summary s1, s2;
	semqr_error err;
	check_ok(decode("plate100.tif", 1, 2048, 0, 0.0, &one, &s1, &err), &err);
	check_ok(decode("plate100.tif", 2, 2048, 0, 0.0, &two, &s2, &err), &err);
	assert_int_equal(s1.detect_scale, 1);
	assert_int_equal(s2.detect_scale, 2);
	assert_int_equal(one.decoded, 100);
	double shift[2];
	compare(&one, &two, 3.5, shift);
	assert_true(fabs(shift[0]) <= 0.2 && fabs(shift[1]) <= 0.2);
	double e1[TEST_FOUND_MAX], e2[TEST_FOUND_MAX];
	double m1 = truth_errors(&one, e1), m2 = truth_errors(&two, e2);
	assert_true(e2[two.decoded - 1] <= 3.0);
	assert_true(fabs(m2 - m1) <= 0.25);
}

static void test_scale2_tiled_equals_whole(void **state)
{
	(void)state;
	static test_found_set whole, tiled;
	semqr_scan_summary sw, st;
	semqr_error err;
	check_ok(decode("plate100.tif", 2, 2500, 0, 0.0, &whole, &sw, &err), &err);
	check_ok(decode("plate100.tif", 2, 512, 0, 0.0, &tiled, &st, &err), &err);
	assert_int_equal(sw.tiles, 1);
	assert_int_equal(st.tiles, 25);
	assert_int_equal(whole.decoded, 100);
	double shift[2];
	compare(&whole, &tiled, 0.5, shift);
}

/* Line shifts corrected, then binned; and a registered stack, binned. */
static void test_scale2_lines_and_stack(void **state)
{
	(void)state;
	static test_found_set one, two;
	semqr_scan_summary s1, s2;
	semqr_error err;
	double shift[2];
	check_ok(decode("plate100.tif", 1, 2048, 1, 0.0, &one, &s1, &err), &err);
	check_ok(decode("plate100.tif", 2, 2048, 1, 0.0, &two, &s2, &err), &err);
	assert_int_equal(one.decoded, 100);
	compare(&one, &two, 3.5, shift);
	check_ok(decode("stack8.tif", 1, 2048, 0, 0.0, &one, &s1, &err), &err);
	check_ok(decode("stack8.tif", 2, 2048, 0, 0.0, &two, &s2, &err), &err);
	assert_string_equal(s2.stack, "register");
	assert_int_equal(one.decoded, 1);
	compare(&one, &two, 3.5, shift);
}

static void test_auto_and_errors(void **state)
{
	(void)state;
	static test_found_set set;
	semqr_scan_summary sum;
	semqr_error err;
	/* Default physics, 6.1 px modules, about 97 quanta per pixel measured. */
	check_ok(decode("plate100.tif", 0, 2048, 0, 0.0, &set, &sum, &err), &err);
	assert_int_equal(sum.detect_scale, 2);
	assert_true(sum.noise_quanta >= SEMQR_DETECT_SCALE2_QUANTA);
	/* A photograph, no pixel size: the module size in pixels is not known. */
	check_ok(decode("zxing-qr/qrcode-1/1.png", 0, 2048, 0, 0.0, &set, &sum, &err), &err);
	assert_true(sum.pixel_nm == 0.0);
	assert_int_equal(sum.detect_scale, 1);
	/* 20 quanta per pixel: too noisy. */
	check_ok(decode("low-dose.tif", 0, 2048, 0, 0.0, &set, &sum, &err), &err);
	assert_true(sum.noise_quanta < SEMQR_DETECT_SCALE2_QUANTA);
	assert_int_equal(sum.detect_scale, 1);
	/* 5.4 px modules (9 nm pixels): under SEMQR_DETECT_SCALE2_MODULE_PX. */
	check_ok(decode("plate100.tif", 0, 2048, 0, 9.0, &set, &sum, &err), &err);
	assert_int_equal(sum.detect_scale, 1);
	/* Bad values; 2.45 px modules (20 nm pixels) binned would search runs
	 * of at most 1.96 px, under the finder's 2 px. */
	assert_int_equal(decode("plate100.tif", 3, 2048, 0, 0.0, &set, &sum, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(decode("plate100.tif", -1, 2048, 0, 0.0, &set, &sum, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(decode("plate100.tif", 2, 2048, 0, 20.0, &set, &sum, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "detect scale 2"));
}

/* Plates of 2048 x 2048 pixels filled with symbols at default physics
 * (datasets/generate.sh plate 2k, at other seeds) of which scale 2 with the
 * binarize window of scale 1 left one symbol unlocated: all 64 decode. */
static void test_scale2_finders_on_few_lines(void **state)
{
	(void)state;
	static const uint64_t seeds[] = {33, 56};
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
		char tiff[1024], json[1024];
		snprintf(tiff, sizeof tiff, "%s/plate-2k-s%u.tif", SEMQR_TEST_TMP,
		         (unsigned)seeds[i]);
		snprintf(json, sizeof json, "%s/plate-2k-s%u.json", SEMQR_TEST_TMP,
		         (unsigned)seeds[i]);
		semqr_sim_options so;
		semqr_sim_options_init(&so);
		so.width = so.height = 2048;
		so.rows = so.cols = 0;
		so.seed = seeds[i];
		semqr_error err;
		semqr_truth truth;
		check_ok(semqr_simulate(&so, tiff, json, &err), &err);
		check_ok(semqr_truth_load(json, &truth, &err), &err);
		semqr_scan *scan = NULL;
		check_ok(semqr_scan_open(tiff, NULL, &scan, &err), &err);
		semqr_scan_decode_options o;
		semqr_scan_decode_options_init(&o);
		o.detect_scale = 2;
		test_truth_count count = {&truth, 0, 0};
		semqr_scan_summary sum;
		check_ok(semqr_decode_scan(scan, &o, test_truth_count_symbol, &count, &sum, &err),
		         &err);
		semqr_scan_close(scan);
		printf("seed %u: %d of %zu decoded at scale 2, %d wrong, %lu finders\n",
		       (unsigned)seeds[i], count.right, truth.count, count.wrong,
		       (unsigned long)sum.finders);
		assert_int_equal(truth.count, 64);
		assert_int_equal(count.right, 64);
		assert_int_equal(count.wrong, 0);
		semqr_truth_free(&truth);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scale2_equals_scale1),
	    cmocka_unit_test(test_scale2_tiled_equals_whole),
	    cmocka_unit_test(test_scale2_lines_and_stack),
	    cmocka_unit_test(test_auto_and_errors),
	    cmocka_unit_test(test_scale2_finders_on_few_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
