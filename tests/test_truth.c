/* The ground truth reader (semqr/truth.h):
 * - every datasets/NAME.json loads; the values of clean.json are those the file
 *   states; in every dataset each symbol's centre (where the diagonals of
 *   its frame-0 corners cross) lies where its center_nm / pixel_nm puts it,
 *   and its side is the version's module count times module_nm / pixel_nm;
 * - geometry on hand-made quadrilaterals: a turned square's centre and side,
 *   a trapezoid whose diagonals cross away from the mean of its corners;
 * - defaults of the optional fields, and payload_hex in either case;
 * - hostile files written at run time (truncated, wrong types, missing
 *   fields, numbers out of range or beyond a double, non-hex payloads,
 *   malformed corners, duplicate keys, a missing or empty file): each fails
 *   with the expected status and a message naming the file and the field
 *   (or line and column), and leaves the truth empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>

#include "semqr/truth.h"
#include "support/run.h"

#define TMP SEMQR_TEST_TMP
#define DATASETS SEMQR_SOURCE_DIR "/datasets"

static void write_text(const char *path, const char *text)
{
	assert_int_equal(test_write_file(path, text, strlen(text)), 0);
}

static void load_ok(const char *path, semqr_truth *t)
{
	semqr_error err = {0};
	if (semqr_truth_load(path, t, &err) != SEMQR_OK)
		fail_msg("%s", err.message);
	assert_int_equal(err.code, SEMQR_OK);
}

/* ---- the checked-in datasets ------------------------------------------------ */

static void test_clean_values(void **state)
{
	semqr_truth t;
	load_ok(DATASETS "/clean.json", &t);
	assert_int_equal(t.width, 238);
	assert_int_equal(t.height, 238);
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.bits, 8);
	assert_true(t.pixel_nm == 8.0);
	assert_int_equal(t.count, 1);
	const semqr_truth_symbol *s = &t.symbols[0];
	assert_int_equal(s->payload_len, 8);
	assert_memory_equal(s->payload, "P1-R0-C0", 8);
	assert_int_equal(s->version, 3);
	assert_int_equal(s->ecc, SEMQR_ECC_M);
	assert_int_equal(s->mask, 4);
	assert_false(s->mirrored);
	assert_true(s->inside);
	assert_true(s->module_nm == 49.0);
	assert_true(s->corners_px[0][0] == 30.23521699186713);
	assert_true(s->corners_px[0][1] == 30.165811657652625);
	assert_true(s->corners_px[2][0] == 207.89330611329149);
	assert_true(s->corners_px[3][1] == 207.75645770758547);
	semqr_truth_free(&t);
	assert_null(t.symbols);
	assert_int_equal(t.count, 0);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Checks the symbols of one dataset against its center_nm, module_nm and
 * image.pixel_nm, read here with jansson directly, not by the reader. The
 * centre may move by drift, jumps and vibration between the design
 * (center_nm) and frame 0 as scanned: drift.tif has the most, under 1 px. */
static void check_dataset_symbols(const char *path, const semqr_truth *t)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	assert_non_null(root);
	double pixel_nm = json_number_value(json_object_get(json_object_get(root, "image"),
	                                                     "pixel_nm"));
	json_t *syms = json_object_get(root, "symbols");
	assert_int_equal(json_array_size(syms), t->count);
	for (size_t i = 0; i < t->count; i++) {
		const semqr_truth_symbol *s = &t->symbols[i];
		json_t *js = json_array_get(syms, i);
		json_t *c = json_object_get(js, "center_nm");
		double cx = json_number_value(json_array_get(c, 0)) / pixel_nm;
		double cy = json_number_value(json_array_get(c, 1)) / pixel_nm;
		if (hypot(s->center_px[0] - cx, s->center_px[1] - cy) > 1.0)
			fail_msg("%s: symbol %zu: centre (%g, %g), design (%g, %g)", path, i,
			         s->center_px[0], s->center_px[1], cx, cy);
		double side = (17 + 4 * s->version) *
		              json_number_value(json_object_get(js, "module_nm")) / pixel_nm;
		if (fabs(s->side_px - side) > 1.0)
			fail_msg("%s: symbol %zu: side %g, design %g", path, i, s->side_px, side);
		const char *text = json_string_value(json_object_get(js, "payload"));
		assert_int_equal(strlen(text), s->payload_len);
		assert_memory_equal(text, s->payload, s->payload_len);
	}
	json_decref(root);
}

static void test_every_dataset(void **state)
{
	DIR *d = opendir(DATASETS);
	assert_non_null(d);
	int files = 0;
	long symbols = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".json"))
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", DATASETS, e->d_name);
		semqr_truth t;
		load_ok(path, &t);
		files++;
		symbols += (long)t.count;
		if (!strcmp(e->d_name, "no-symbol.json")) {
			assert_int_equal(t.count, 0);
			assert_int_equal(t.width, 1024);
			assert_true(t.pixel_nm == 55.82);
		}
		if (!strcmp(e->d_name, "stack8.json"))
			assert_int_equal(t.frames, 8);
		if (!strcmp(e->d_name, "scan16.json"))
			assert_int_equal(t.bits, 16);
		for (size_t i = 0; i < t.count; i++) {
			/* All datasets are 3-M symbols of 49 nm modules. */
			assert_int_equal(t.symbols[i].version, 3);
			assert_int_equal(t.symbols[i].ecc, SEMQR_ECC_M);
			assert_true(t.symbols[i].inside);
		}
		check_dataset_symbols(path, &t);
		semqr_truth_free(&t);
	}
	closedir(d);
	/* The table of datasets/README.md: eight single symbols, no-symbol,
	 * 2 x 2 and 10 x 10. */
	assert_int_equal(files, 11);
	assert_int_equal(symbols, 8 + 0 + 4 + 100);
}

/* ---- hand-made files ------------------------------------------------------ */

/* A minimal valid document: image, and one symbol with the given corners
 * (a JSON list of four points) and extra symbol fields. */
static void write_symbol_file(const char *path, const char *corners, const char *extra)
{
	char text[2048];
	snprintf(text, sizeof text,
	         "{\"image\": {\"width\": 200, \"height\": 100},\n"
	         " \"symbols\": [{\"payload_hex\": \"4A4b00ff\", \"version\": 2, \"level\": \"Q\",\n"
	         "   \"corners\": [%s]%s}]}\n",
	         corners, extra);
	write_text(path, text);
}

static void test_geometry(void **state)
{
	const char *path = TMP "/geometry.json";
	/* A square of side 60 turned by 30 degrees about (100, 50). */
	const double pi = 3.14159265358979323846, a = 30 * pi / 180;
	double p[4][2];
	static const int sx[4] = {-1, 1, 1, -1}, sy[4] = {-1, -1, 1, 1};
	for (int k = 0; k < 4; k++) {
		double x = 30.0 * sx[k], y = 30.0 * sy[k];
		p[k][0] = 100 + x * cos(a) - y * sin(a);
		p[k][1] = 50 + x * sin(a) + y * cos(a);
	}
	char corners[512];
	snprintf(corners, sizeof corners, "[[%.17g, %.17g], [%.17g, %.17g], [%.17g, %.17g], "
	         "[%.17g, %.17g]]", p[0][0], p[0][1], p[1][0], p[1][1], p[2][0], p[2][1],
	         p[3][0], p[3][1]);
	write_symbol_file(path, corners, "");
	semqr_truth t;
	load_ok(path, &t);
	assert_int_equal(t.count, 1);
	assert_true(fabs(t.symbols[0].center_px[0] - 100) < 1e-9);
	assert_true(fabs(t.symbols[0].center_px[1] - 50) < 1e-9);
	assert_true(fabs(t.symbols[0].side_px - 60) < 1e-9);
	semqr_truth_free(&t);

	/* Trapezoid (0,0) (4,0) (3,2) (1,2): the diagonals cross at (2, 4/3),
	 * not at the corners' mean (2, 1). Sides 4, sqrt(5), 2, sqrt(5). */
	write_symbol_file(path, "[[0, 0], [4, 0], [3, 2], [1, 2]]", "");
	load_ok(path, &t);
	assert_true(fabs(t.symbols[0].center_px[0] - 2.0) < 1e-12);
	assert_true(fabs(t.symbols[0].center_px[1] - 4.0 / 3.0) < 1e-12);
	assert_true(fabs(t.symbols[0].side_px - (6.0 + 2.0 * sqrt(5.0)) / 4.0) < 1e-12);
	semqr_truth_free(&t);
}

static void test_defaults_and_hex(void **state)
{
	const char *path = TMP "/defaults.json";
	write_symbol_file(path, "[[0, 0], [10, 0], [10, 10], [0, 10]]", "");
	semqr_truth t;
	load_ok(path, &t);
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.bits, 8);
	assert_true(t.pixel_nm == 0.0);
	const semqr_truth_symbol *s = &t.symbols[0];
	static const uint8_t bytes[4] = {0x4a, 0x4b, 0x00, 0xff};
	assert_int_equal(s->payload_len, 4);
	assert_memory_equal(s->payload, bytes, 4);
	assert_int_equal(s->version, 2);
	assert_int_equal(s->ecc, SEMQR_ECC_Q);
	assert_int_equal(s->mask, -1);
	assert_false(s->mirrored);
	assert_true(s->inside);
	assert_true(s->module_nm == 0.0);
	semqr_truth_free(&t);

	/* Explicit optional fields, a whole real as an integer, an empty payload,
	 * two frames (frame 0 kept). */
	write_text(path, "{\"image\": {\"width\": 5e1, \"height\": 40, \"frames\": 2, \"bits\": 16,"
	                 " \"pixel_nm\": 2.5}, \"symbol_count\": 1,"
	                 " \"symbols\": [{\"payload_hex\": \"\", \"version\": 40, \"level\": \"H\","
	                 " \"mask\": 7, \"mirrored\": true, \"inside\": false, \"module_nm\": 30,"
	                 " \"corners\": [[[1, 1], [9, 1], [9, 9], [1, 9]],"
	                 " [[2, 2], [10, 2], [10, 10], [2, 10]]]}]}");
	load_ok(path, &t);
	assert_int_equal(t.width, 50);
	assert_int_equal(t.frames, 2);
	assert_int_equal(t.bits, 16);
	assert_true(t.pixel_nm == 2.5);
	s = &t.symbols[0];
	assert_int_equal(s->payload_len, 0);
	assert_int_equal(s->version, 40);
	assert_int_equal(s->ecc, SEMQR_ECC_H);
	assert_int_equal(s->mask, 7);
	assert_true(s->mirrored);
	assert_false(s->inside);
	assert_true(s->module_nm == 30.0);
	assert_true(s->center_px[0] == 5.0 && s->center_px[1] == 5.0);
	semqr_truth_free(&t);
}

/* ---- hostile files ------------------------------------------------------ */

typedef struct bad_case {
	const char *text;          /* the file's content */
	const char *want[3];       /* substrings the message must contain (NULL ends) */
} bad_case;

#define IMG "\"image\": {\"width\": 10, \"height\": 10}"
#define SQ "[[[0, 0], [8, 0], [8, 8], [0, 8]]]"
#define SYM(fields) "{" IMG ", \"symbols\": [{" fields "}]}"
#define OKSYM(extra) SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", " \
                         "\"corners\": " SQ extra)

static const bad_case bad_cases[] = {
	/* syntax: jansson's line and column */
	{"{\"image\": {\"width\": 10,", {":1:", "end of file", NULL}},
	{"{\n  \"image\": {\"width\": 10},\n  \"symbols\": [1 2]\n}", {":3:", NULL}},
	{"", {":1:", NULL}},
	{"{\"image\": {\"width\": 1, \"width\": 2}}", {"duplicate", NULL}},
	{"{\"image\": {\"width\": 99999999999999999999999}}", {"too big", NULL}},
	{"{\"image\": {\"width\": 1e999}}", {"overflow", NULL}},
	{"{\"image\": {\"width\": NaN}}", {":1:", NULL}},
	/* structure */
	{"[1, 2]", {"top level", "an array", NULL}},
	{"{\"symbols\": []}", {"image: missing", NULL}},
	{"{\"image\": 5, \"symbols\": []}", {"image: expected an object", "an integer", NULL}},
	{"{\"image\": {\"height\": 10}, \"symbols\": []}", {"image.width: missing", NULL}},
	{"{\"image\": {\"width\": \"10\", \"height\": 10}, \"symbols\": []}",
	 {"image.width: expected a whole number", "a string", NULL}},
	{"{\"image\": {\"width\": 0, \"height\": 10}, \"symbols\": []}",
	 {"image.width: 0 is outside 1..", NULL}},
	{"{\"image\": {\"width\": 3000000000, \"height\": 10}, \"symbols\": []}",
	 {"image.width: 3000000000 is outside", NULL}},
	{"{\"image\": {\"width\": 12.5, \"height\": 10}, \"symbols\": []}",
	 {"image.width: 12.5 is not a whole number", NULL}},
	{"{\"image\": {\"width\": 1e300, \"height\": 10}, \"symbols\": []}",
	 {"image.width", "outside", NULL}},
	{"{\"image\": {\"width\": 10, \"height\": 10, \"bits\": 12}, \"symbols\": []}",
	 {"image.bits: 12 is neither 8 nor 16", NULL}},
	{"{\"image\": {\"width\": 10, \"height\": 10, \"pixel_nm\": -1}, \"symbols\": []}",
	 {"image.pixel_nm: -1 is below 0", NULL}},
	{"{" IMG "}", {"symbols: missing", NULL}},
	{"{" IMG ", \"symbols\": {}}", {"symbols: expected an array", NULL}},
	{"{" IMG ", \"symbol_count\": 2, \"symbols\": []}", {"symbol_count: 2", "lists 0", NULL}},
	{"{" IMG ", \"symbols\": [null]}", {"symbols[0]: expected an object", "null", NULL}},
	/* symbol fields */
	{SYM("\"version\": 1, \"level\": \"L\", \"corners\": " SQ), {"symbols[0].payload_hex: missing", NULL}},
	{SYM("\"payload_hex\": 41, \"version\": 1, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].payload_hex: expected a string", NULL}},
	{SYM("\"payload_hex\": \"4g\", \"version\": 1, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].payload_hex", "'4g' is not hexadecimal (character 1)", NULL}},
	{SYM("\"payload_hex\": \"414\", \"version\": 1, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].payload_hex", "odd number", NULL}},
	{SYM("\"payload_hex\": \"41 42\", \"version\": 1, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].payload_hex", "not hexadecimal", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 41, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].version: 41 is outside 1..40", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": null, \"level\": \"L\", \"corners\": " SQ),
	 {"symbols[0].version: expected a whole number, found null", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"X\", \"corners\": " SQ),
	 {"symbols[0].level: 'X' is not one of L, M, Q, H", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"LM\", \"corners\": " SQ),
	 {"symbols[0].level", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\""),
	 {"symbols[0].corners: missing", NULL}},
	{OKSYM(", \"mask\": 8"), {"symbols[0].mask: 8 is outside 0..7", NULL}},
	{OKSYM(", \"mirrored\": \"yes\""), {"symbols[0].mirrored: expected true or false", NULL}},
	{OKSYM(", \"inside\": 1"), {"symbols[0].inside: expected true or false", NULL}},
	{OKSYM(", \"module_nm\": \"49\""), {"symbols[0].module_nm: expected a number", NULL}},
	/* corners */
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", \"corners\": []"),
	 {"symbols[0].corners: expected an array of 1 list", "of another length", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	     "\"corners\": [[[0, 0], [8, 0], [8, 8]]]"),
	 {"symbols[0].corners[0]: expected an array of four", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	     "\"corners\": [[[0, 0], [8, 0], [8, \"8\"], [0, 8]]]"),
	 {"symbols[0].corners[0][2]: expected a number, found a string", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	     "\"corners\": [[[0, 0], [8, 0], [8, 8, 8], [0, 8]]]"),
	 {"symbols[0].corners[0][2]: expected an [x, y] pair", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	     "\"corners\": [[[0, 0], [8, 8], [8, 0], [0, 8]]]"),
	 {"symbols[0].corners[0]", "convex", NULL}},
	{SYM("\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	     "\"corners\": [[[0, 0], [0, 0], [0, 0], [0, 0]]]"),
	 {"symbols[0].corners[0]", "convex", NULL}},
	{"{\"image\": {\"width\": 10, \"height\": 10, \"frames\": 2}, \"symbols\": [{"
	 "\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", \"corners\": " SQ "}]}",
	 {"symbols[0].corners: expected an array of 2 lists", "one per frame", NULL}},
	/* a later symbol: the index is named and the earlier one freed */
	{"{" IMG ", \"symbols\": [{\"payload_hex\": \"41\", \"version\": 1, \"level\": \"L\", "
	 "\"corners\": " SQ "}, {\"payload_hex\": \"4\", \"version\": 1, \"level\": \"L\", "
	 "\"corners\": " SQ "}]}",
	 {"symbols[1].payload_hex", NULL}},
};

static void test_bad_files(void **state)
{
	const char *path = TMP "/bad.json";
	for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
		write_text(path, bad_cases[c].text);
		semqr_truth t;
		semqr_error err = {0};
		semqr_status st = semqr_truth_load(path, &t, &err);
		if (st != SEMQR_ERR_FORMAT)
			fail_msg("case %zu (%s): status %d, message '%s'", c, bad_cases[c].text, st,
			         err.message);
		assert_int_equal(err.code, SEMQR_ERR_FORMAT);
		if (strncmp(err.message, path, strlen(path)))
			fail_msg("case %zu: message does not start with the path: %s", c, err.message);
		for (int k = 0; k < 3 && bad_cases[c].want[k]; k++)
			if (!strstr(err.message, bad_cases[c].want[k]))
				fail_msg("case %zu (%s): message '%s' lacks '%s'", c, bad_cases[c].text,
				         err.message, bad_cases[c].want[k]);
		assert_null(t.symbols);
		assert_int_equal(t.count, 0);
	}
}

static void test_missing_file(void **state)
{
	semqr_truth t;
	semqr_error err = {0};
	assert_int_equal(semqr_truth_load(TMP "/no-such-file.json", &t, &err), SEMQR_ERR_IO);
	assert_non_null(strstr(err.message, TMP "/no-such-file.json"));
	assert_non_null(strstr(err.message, "No such file"));
	assert_int_equal(t.count, 0);
	/* A directory is not a file. */
	assert_int_not_equal(semqr_truth_load(TMP, &t, &err), SEMQR_OK);
	assert_non_null(strstr(err.message, TMP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_values),
		cmocka_unit_test(test_every_dataset),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_defaults_and_hex),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_missing_file),
	};
	test_mkdir(TMP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
