/* semqr — regression runs: decoding scans and comparing with their ground truth.
 *
 * Each scan NAME.tif (.tiff, .png, .pgm) is decoded with semqr_decode_scan
 * and its decoded symbols are matched against the ground truth NAME.json
 * beside it (semqr/truth.h).
 *
 * Matching. A decoded symbol and a truth symbol can pair when the decoded
 * centre lies within tolerance x side of the truth centre (side: the truth
 * symbol's mean side in pixels; tolerance 0.5 by default: half a symbol).
 * Pairs with equal payload bytes are taken first, then pairs with different
 * payloads, each in order of increasing distance, every symbol at most once
 * (greedy; ties broken by the lower decoded, then truth, index). So:
 *   correct  a decoded symbol paired with a truth symbol of the same payload;
 *   wrong    a decoded symbol paired with a truth symbol of another payload
 *            (the symbol was misread, or something else was read there);
 *   extra    a decoded symbol left unpaired (nothing expected there, or a
 *            second report of a symbol already paired);
 *   missing  a truth symbol inside the image left unpaired.
 * Truth symbols partly outside the image ("inside": false) are not expected:
 * unpaired they count nowhere, paired correctly they count as bonus, paired
 * wrongly as wrong. Hence, per file,
 *     decoded  = correct + bonus + wrong + extra,
 *     expected = correct + missing + (wrong paired with inside symbols),
 *     rate     = correct / expected (1 when nothing is expected),
 * and a file passes when it has no wrong and no extra symbol and rate >=
 * min_rate. Symbols located but not decoded (failures) are counted for
 * information only; the truth symbols they stand for are missing.
 */
#ifndef SEMQR_REGRESS_H
#define SEMQR_REGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "semqr/decode.h"
#include "semqr/error.h"
#include "semqr/scan.h"
#include "semqr/truth.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum semqr_regress_class {
	SEMQR_REGRESS_CORRECT = 0, /* paired with the same payload */
	SEMQR_REGRESS_WRONG,       /* paired with another payload */
	SEMQR_REGRESS_EXTRA,       /* decoded, unpaired */
	SEMQR_REGRESS_MISSING,     /* truth inside the image, unpaired */
	SEMQR_REGRESS_OUTSIDE      /* truth partly outside the image, unpaired: not expected */
} semqr_regress_class;

/* A decoded symbol as the matcher sees it. */
typedef struct semqr_regress_found {
	uint8_t *payload;          /* payload_len bytes (owned by whoever filled it) */
	size_t payload_len;
	int version;
	double center_px[2];       /* scan pixels (semqr_scan_symbol.center_px) */
	semqr_regress_class match; /* set by semqr_regress_match: CORRECT, WRONG or EXTRA */
	long truth;                /* the truth symbol paired with, -1 when EXTRA */
} semqr_regress_found;

typedef struct semqr_regress_counts {
	long expected;             /* truth symbols inside the image */
	long decoded;              /* decoded symbols */
	long correct, wrong, extra, missing;
	long bonus;                /* truth symbols outside the image decoded correctly */
	double rate;               /* correct / expected; 1 when expected is 0 */
} semqr_regress_counts;

/* Pairs found[0..found_count) with truth->symbols as described above:
 * sets found[j].match and .truth, truth_match[i] (truth->count entries) and
 * truth_found[i] (the decoded symbol paired with, -1 when none), and fills
 * *counts. tolerance > 0. Fails only for lack of memory. */
semqr_status semqr_regress_match(const semqr_truth *truth, semqr_regress_found *found,
                                 size_t found_count, double tolerance,
                                 semqr_regress_class *truth_match, long *truth_found,
                                 semqr_regress_counts *counts, semqr_error *err);

typedef struct semqr_regress_options {
	double min_rate;           /* a file passes with rate >= min_rate, in [0, 1] (default 1) */
	double tolerance;          /* pairing distance as a fraction of the symbol's side (0.5) */
	semqr_scan_options scan;   /* how scans are opened (default: all zero) */
	semqr_scan_decode_options decode; /* semqr_scan_decode_options_init */
	/* true (default): when every truth symbol of a file gives the same
	 * module_nm, decode that file with it instead of decode.module_nm (the
	 * operator knows the pitch that was written). */
	bool module_nm_from_truth;
} semqr_regress_options;

/* Fills *opts with the defaults documented above. */
void semqr_regress_options_init(semqr_regress_options *opts);

/* The outcome of one scan. */
typedef struct semqr_regress_result {
	char *scan_path;           /* malloc'd copies; either may be NULL (see */
	char *truth_path;          /* semqr_regress_list) */
	semqr_status status;       /* SEMQR_OK: decoded and compared; otherwise the */
	char error[SEMQR_ERROR_MESSAGE_MAX]; /* file could not be, and this says why */
	semqr_truth truth;
	semqr_regress_class *truth_match; /* truth.count entries each */
	long *truth_found;
	semqr_regress_found *found; /* decoded symbols in the decoder's order (payloads owned) */
	size_t found_count;
	long failures;             /* symbols located but not decoded */
	semqr_regress_counts counts;
	bool pass;                 /* status is SEMQR_OK and the file passes */
	double seconds;            /* wall-clock time of opening and decoding the scan */
} semqr_regress_result;

/* Decodes the scan at scan_path and compares it with the ground truth at
 * truth_path, filling *result (zeroed first; free it with
 * semqr_regress_result_free whatever happens). Returns result->status: an
 * error when a path is NULL, the truth cannot be read, the scan cannot be
 * opened or decoded, or the scan's size or page count differs from the
 * truth's image; the message in result->error names the file. A scan that
 * decodes badly is not an error: it is a result that does not pass. */
semqr_status semqr_regress_file(const char *scan_path, const char *truth_path,
                                const semqr_regress_options *opts,
                                semqr_regress_result *result);

void semqr_regress_result_free(semqr_regress_result *result);

/* A scan and its ground truth. */
typedef struct semqr_regress_pair {
	char *scan;                /* NULL: a NAME.json without a scan beside it */
	char *truth;               /* NAME.json beside the scan (which may not exist) */
} semqr_regress_pair;

/* Lists what to run for `path`: for a scan file, itself and NAME.json beside
 * it; for a directory, its entries (not recursing into subdirectories;
 * names starting with '.' are skipped) that are regular files (or links to
 * them) named *.tif, *.tiff, *.png or *.pgm (any case), each with NAME.json,
 * and every NAME.json that has no such scan (as a pair without scan, so that
 * a deleted scan is noticed), sorted by name. A directory without any is an
 * error (SEMQR_ERR_IO, naming it), as is a path that does not exist or is
 * neither. *pairs is malloc'd; free it with semqr_regress_pairs_free. */
semqr_status semqr_regress_list(const char *path, semqr_regress_pair **pairs, size_t *count,
                                semqr_error *err);

void semqr_regress_pairs_free(semqr_regress_pair *pairs, size_t count);

#ifdef __cplusplus
}
#endif
#endif
