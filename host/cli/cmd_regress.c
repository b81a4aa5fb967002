/* semqr regress: decode scans, compare with their ground truth, print a table
 * (or one JSON document) and exit non-zero on any regression. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/json.h"
#include "semqr/regress.h"

/* Lines of missing, wrong or extra symbols the table lists per file and kind. */
#define DETAIL_MAX 10

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr regress [OPTIONS] PATH...\n"
	"Decodes scans and compares them with their ground truth (NAME.json beside\n"
	"NAME.tif, as semqr simulate writes it). PATH is a scan file, or a directory:\n"
	"its *.tif, *.tiff, *.png and *.pgm files (any case; not recursing into\n"
	"subdirectories, skipping names that start with '.'), each with NAME.json.\n"
	"A scan without its NAME.json, a NAME.json without a scan, unreadable or\n"
	"malformed ground truth, and a scan whose size or page count differs from\n"
	"its truth are errors, reported for that file; the others still run.\n\n"
	"A decoded symbol pairs with a truth symbol when its centre is within\n"
	"TOLERANCE x the symbol's side of the truth centre: same payload bytes is\n"
	"correct, another payload is wrong; a decoded symbol left unpaired is extra,\n"
	"a truth symbol left unpaired is missing (symbols partly outside the image\n"
	"are not expected). A file passes with no wrong and no extra symbol and a\n"
	"rate (correct / expected) of at least --min-rate.\n\n"
	"  --json             print one JSON document instead of the table\n"
	"  --min-rate R       decode rate a file needs to pass, 0..1 (default 1)\n"
	"  --tolerance T      pairing distance as a fraction of the symbol's side\n"
	"                     (default 0.5)\n"
	"  --device SPEC      OpenCL device (as semqr decode)\n"
	"  --tile N           core tile side in pixels, 64..16384 (default 2048)\n"
	"  --max-version V    largest QR version expected, 1..40 (default 10)\n"
	"  --module-nm NM     module pitch (default: the ground truth's, else 49)\n"
	"  -h, --help         show this help\n\n"
	"The table has one row per file: PASS, FAIL or ERROR, symbols expected,\n"
	"decoded, correct, missing, extra and wrong, the rate and the seconds spent\n"
	"reading and decoding; failing files list their missing, wrong and extra\n"
	"payloads below the row, errors their message; a summary line ends it.\n"
	"The JSON document is {\"files\": [...], \"summary\": {...}}; each file has\n"
	"\"file\", \"truth\", \"status\" (\"pass\", \"fail\", \"error\"), \"error\" (a message\n"
	"or null), \"expected\", \"decoded\", \"correct\", \"missing\", \"extra\", \"wrong\",\n"
	"\"bonus\" (symbols partly outside the image decoded anyway), \"failures\"\n"
	"(located but not decoded), \"rate\", \"seconds\", and the lists\n"
	"\"missing_symbols\", \"wrong_symbols\", \"extra_symbols\" of {\"index\" (in the\n"
	"truth), \"payload\", \"payload_hex\", \"center_px\", and for wrong symbols\n"
	"\"decoded\", \"decoded_hex\"}. The summary has \"files\", \"passed\", \"failed\",\n"
	"\"errors\", the symbol counts summed, \"rate\", \"seconds\", \"min_rate\" and\n"
	"\"tolerance\".\n"
	"Exit status: 0 when every file passes, 1 on any failure or error, 2 for\n"
	"usage errors.\n");
}

typedef struct totals {
	long files, passed, failed, errors;
	semqr_regress_counts sum;
	double seconds;
} totals;

static void add(totals *t, const semqr_regress_result *r)
{
	t->files++;
	if (r->status != SEMQR_OK) {
		t->errors++;
		return;
	}
	if (r->pass)
		t->passed++;
	else
		t->failed++;
	t->sum.expected += r->counts.expected;
	t->sum.decoded += r->counts.decoded;
	t->sum.correct += r->counts.correct;
	t->sum.missing += r->counts.missing;
	t->sum.extra += r->counts.extra;
	t->sum.wrong += r->counts.wrong;
	t->sum.bonus += r->counts.bonus;
	t->seconds += r->seconds;
}

static double total_rate(const totals *t)
{
	return t->sum.expected ? (double)t->sum.correct / (double)t->sum.expected : 1.0;
}

static const char *name_of(const semqr_regress_result *r)
{
	return r->scan_path ? r->scan_path : r->truth_path;
}

/* ---- table ------------------------------------------------------------------- */

static void table_header(int width)
{
	printf("%-*s  %-6s %8s %8s %8s %8s %6s %6s %6s %8s\n", width, "FILE", "STATUS",
	       "EXPECTED", "DECODED", "CORRECT", "MISSING", "EXTRA", "WRONG", "RATE", "SECONDS");
}

static void detail(const char *kind, long index, const uint8_t *p, size_t n,
                   const double *c)
{
	printf("    %-8s", kind);
	if (index >= 0)
		printf("#%ld ", index);
	semqr__json_string(stdout, p, n);
	printf(" at (%.1f, %.1f)", c[0], c[1]);
}

/* The missing, wrong and extra symbols of a failing file, DETAIL_MAX of each. */
static void table_details(const semqr_regress_result *r)
{
	long shown[3] = {0, 0, 0}, total[3] = {0, 0, 0};
	for (size_t i = 0; i < r->truth.count; i++) {
		const semqr_truth_symbol *t = &r->truth.symbols[i];
		int k = r->truth_match[i] == SEMQR_REGRESS_MISSING ? 0
		      : r->truth_match[i] == SEMQR_REGRESS_WRONG ? 1 : -1;
		if (k < 0 || total[k]++ >= DETAIL_MAX)
			continue;
		shown[k]++;
		detail(k ? "wrong" : "missing", (long)i, t->payload, t->payload_len, t->center_px);
		if (k) {
			const semqr_regress_found *f = &r->found[r->truth_found[i]];
			printf(", decoded ");
			semqr__json_string(stdout, f->payload, f->payload_len);
		}
		putchar('\n');
	}
	for (size_t j = 0; j < r->found_count; j++) {
		const semqr_regress_found *f = &r->found[j];
		if (f->match != SEMQR_REGRESS_EXTRA || total[2]++ >= DETAIL_MAX)
			continue;
		shown[2]++;
		detail("extra", -1, f->payload, f->payload_len, f->center_px);
		putchar('\n');
	}
	static const char *const kinds[3] = {"missing", "wrong", "extra"};
	for (int k = 0; k < 3; k++)
		if (total[k] > shown[k])
			printf("    ... and %ld more %s\n", total[k] - shown[k], kinds[k]);
}

static void table_row(int width, const semqr_regress_result *r)
{
	if (r->status != SEMQR_OK) {
		printf("%-*s  ERROR\n    %s\n", width, name_of(r), r->error);
		return;
	}
	const semqr_regress_counts *c = &r->counts;
	printf("%-*s  %-6s %8ld %8ld %8ld %8ld %6ld %6ld %6.3f %8.2f\n", width, name_of(r),
	       r->pass ? "PASS" : "FAIL", c->expected, c->decoded, c->correct, c->missing,
	       c->extra, c->wrong, c->rate, r->seconds);
	if (!r->pass)
		table_details(r);
}

static void table_summary(const totals *t)
{
	printf("summary: %ld file%s: %ld passed, %ld failed, %ld error%s; %ld symbols expected, "
	       "%ld correct (rate %.3f), %ld missing, %ld extra, %ld wrong; %.2f s\n",
	       t->files, t->files == 1 ? "" : "s", t->passed, t->failed, t->errors,
	       t->errors == 1 ? "" : "s", t->sum.expected, t->sum.correct, total_rate(t),
	       t->sum.missing, t->sum.extra, t->sum.wrong, t->seconds);
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_cstring_or_null(const char *s)
{
	if (s)
		semqr__json_cstring(stdout, s);
	else
		fputs("null", stdout);
}

static void json_symbol(long index, const uint8_t *p, size_t n, const double *c)
{
	printf("{\"index\":");
	if (index >= 0)
		printf("%ld", index);
	else
		fputs("null", stdout);
	fputs(",\"payload\":", stdout);
	semqr__json_string(stdout, p, n);
	fputs(",\"payload_hex\":", stdout);
	semqr__json_hex(stdout, p, n);
	printf(",\"center_px\":[%.3f,%.3f]", c[0], c[1]);
}

static void json_truth_list(const semqr_regress_result *r, semqr_regress_class cls)
{
	int first = 1;
	for (size_t i = 0; i < r->truth.count; i++) {
		if (r->truth_match[i] != cls)
			continue;
		const semqr_truth_symbol *t = &r->truth.symbols[i];
		fputs(first ? "" : ",", stdout);
		first = 0;
		json_symbol((long)i, t->payload, t->payload_len, t->center_px);
		if (cls == SEMQR_REGRESS_WRONG) {
			const semqr_regress_found *f = &r->found[r->truth_found[i]];
			fputs(",\"decoded\":", stdout);
			semqr__json_string(stdout, f->payload, f->payload_len);
			fputs(",\"decoded_hex\":", stdout);
			semqr__json_hex(stdout, f->payload, f->payload_len);
		}
		putchar('}');
	}
}

static void json_file(const semqr_regress_result *r, int first)
{
	const semqr_regress_counts *c = &r->counts;
	printf("%s\n{\"file\":", first ? "" : ",");
	json_cstring_or_null(r->scan_path);
	fputs(",\"truth\":", stdout);
	json_cstring_or_null(r->truth_path);
	printf(",\"status\":\"%s\",\"error\":",
	       r->status != SEMQR_OK ? "error" : r->pass ? "pass" : "fail");
	json_cstring_or_null(r->status != SEMQR_OK ? r->error : NULL);
	printf(",\"expected\":%ld,\"decoded\":%ld,\"correct\":%ld,\"missing\":%ld,\"extra\":%ld,"
	       "\"wrong\":%ld,\"bonus\":%ld,\"failures\":%ld,\"rate\":%.6f,\"seconds\":%.4f",
	       c->expected, c->decoded, c->correct, c->missing, c->extra, c->wrong, c->bonus,
	       r->failures, r->status == SEMQR_OK ? c->rate : 0.0, r->seconds);
	fputs(",\"missing_symbols\":[", stdout);
	json_truth_list(r, SEMQR_REGRESS_MISSING);
	fputs("],\"wrong_symbols\":[", stdout);
	json_truth_list(r, SEMQR_REGRESS_WRONG);
	fputs("],\"extra_symbols\":[", stdout);
	int first_extra = 1;
	for (size_t j = 0; j < r->found_count; j++) {
		const semqr_regress_found *f = &r->found[j];
		if (f->match != SEMQR_REGRESS_EXTRA)
			continue;
		fputs(first_extra ? "" : ",", stdout);
		first_extra = 0;
		json_symbol(-1, f->payload, f->payload_len, f->center_px);
		putchar('}');
	}
	fputs("]}", stdout);
}

static void json_summary(const totals *t, const semqr_regress_options *o)
{
	const semqr_regress_counts *c = &t->sum;
	printf("],\n\"summary\":{\"files\":%ld,\"passed\":%ld,\"failed\":%ld,\"errors\":%ld,"
	       "\"expected\":%ld,\"decoded\":%ld,\"correct\":%ld,\"missing\":%ld,\"extra\":%ld,"
	       "\"wrong\":%ld,\"bonus\":%ld,\"rate\":%.6f,\"seconds\":%.4f,\"min_rate\":%g,"
	       "\"tolerance\":%g}}\n",
	       t->files, t->passed, t->failed, t->errors, c->expected, c->decoded, c->correct,
	       c->missing, c->extra, c->wrong, c->bonus, total_rate(t), t->seconds, o->min_rate,
	       o->tolerance);
}

/* ---- the command ------------------------------------------------------------- */

/* Reports a path that could not be listed as an error row of its own. */
static void list_error(const char *path, const semqr_error *err, int json, int width, totals *t)
{
	semqr_regress_result r;
	memset(&r, 0, sizeof r);
	r.status = err->code;
	memcpy(r.error, err->message, sizeof r.error);
	size_t n = strlen(path) + 1;
	if ((r.scan_path = malloc(n)))
		memcpy(r.scan_path, path, n);
	fprintf(stderr, "semqr regress: %s\n", r.error);
	if (json)
		json_file(&r, !t->files);
	else
		table_row(width, &r);
	add(t, &r);
	semqr_regress_result_free(&r);
}

/* Runs the pairs of one PATH, printing as each file completes. */
static void run_pairs(const semqr_regress_pair *pairs, size_t n,
                      const semqr_regress_options *opts, int json, int width, totals *t)
{
	for (size_t i = 0; i < n; i++) {
		semqr_regress_result r;
		semqr_regress_file(pairs[i].scan, pairs[i].truth, opts, &r);
		if (r.status != SEMQR_OK)
			fprintf(stderr, "semqr regress: %s\n", r.error);
		if (json)
			json_file(&r, !t->files);
		else
			table_row(width, &r);
		fflush(stdout);
		add(t, &r);
		semqr_regress_result_free(&r);
	}
}

int semqr_cmd_regress(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"min-rate", required_argument, NULL, 'r'},
		{"tolerance", required_argument, NULL, 'T'},
		{"device", required_argument, NULL, 'd'},
		{"tile", required_argument, NULL, 't'},
		{"max-version", required_argument, NULL, 'V'},
		{"module-nm", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	semqr_regress_options opts;
	semqr_regress_options_init(&opts);
	int json = 0;

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		case 'r':
			if (cli_parse_double("regress", "--min-rate", optarg, 0.0, 1.0, &opts.min_rate))
				return 2;
			break;
		case 'T':
			if (cli_parse_double("regress", "--tolerance", optarg, 1e-3, 10.0,
			                     &opts.tolerance))
				return 2;
			break;
		case 'd': opts.decode.device = optarg; break;
		case 't':
			if (cli_parse_int("regress", "--tile", optarg, 64, 16384, &opts.decode.tile))
				return 2;
			break;
		case 'V':
			if (cli_parse_int("regress", "--max-version", optarg, 1, 40,
			                  &opts.decode.max_version))
				return 2;
			break;
		case 'n':
			if (cli_parse_double("regress", "--module-nm", optarg, 1e-3, 1e6,
			                     &opts.decode.module_nm))
				return 2;
			opts.module_nm_from_truth = false;
			break;
		case ':':
			fprintf(stderr, "semqr regress: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "semqr regress: unknown option '%s'\n\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "semqr regress: no scan or directory given\n\n");
		usage(stderr);
		return 2;
	}

	/* List everything first: the table's first column fits the longest name. */
	int npaths = argc - optind;
	semqr_regress_pair **pairs = calloc((size_t)npaths, sizeof *pairs);
	size_t *counts = calloc((size_t)npaths, sizeof *counts);
	semqr_error *errors = calloc((size_t)npaths, sizeof *errors);
	if (!pairs || !counts || !errors) {
		fprintf(stderr, "semqr regress: out of memory\n");
		free(pairs);
		free(counts);
		free(errors);
		return 1;
	}
	int width = 4;
	for (int p = 0; p < npaths; p++) {
		const char *path = argv[optind + p];
		if (semqr_regress_list(path, &pairs[p], &counts[p], &errors[p]) != SEMQR_OK &&
		    (int)strlen(path) > width)
			width = (int)strlen(path);
		for (size_t i = 0; i < counts[p]; i++) {
			const char *name = pairs[p][i].scan ? pairs[p][i].scan : pairs[p][i].truth;
			if ((int)strlen(name) > width)
				width = (int)strlen(name);
		}
	}
	if (width > 60)
		width = 60;

	totals t = {0};
	if (json)
		fputs("{\"files\":[", stdout);
	else
		table_header(width);
	for (int p = 0; p < npaths; p++) {
		if (errors[p].code != SEMQR_OK)
			list_error(argv[optind + p], &errors[p], json, width, &t);
		else
			run_pairs(pairs[p], counts[p], &opts, json, width, &t);
		semqr_regress_pairs_free(pairs[p], counts[p]);
	}
	if (json)
		json_summary(&t, &opts);
	else
		table_summary(&t);
	free(pairs);
	free(counts);
	free(errors);
	int status = t.passed == t.files ? 0 : 1;
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "semqr regress: cannot write the output\n");
		status = 1;
	}
	return status;
}
