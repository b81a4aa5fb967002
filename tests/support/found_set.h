/* Test support: the symbols a scan decode reports, kept in call order (a
 * semqr_scan_callback filling a test_found_set). */
#ifndef SEMQR_TEST_FOUND_SET_H
#define SEMQR_TEST_FOUND_SET_H

#include "semqr/decode.h"

#define TEST_FOUND_MAX 512         /* symbols a set holds */
#define TEST_FOUND_PAYLOAD_MAX 128 /* payload bytes, the NUL included */

typedef struct test_found {
	int decoded, version, tile_col, tile_row;
	char payload[TEST_FOUND_PAYLOAD_MAX]; /* NUL-terminated; "" for failures */
	double corners[4][2];                 /* corners_px */
} test_found;

typedef struct test_found_set {
	int n;       /* symbols reported */
	int decoded; /* of which decoded */
	test_found s[TEST_FOUND_MAX];
} test_found_set;

/* A semqr_scan_callback appending to the test_found_set `user` (cmocka
 * assertions: room in the set, a decoded symbol's data and a payload that
 * fits, a failure's non-empty reason). Zero the set's n and decoded first. */
void test_found_collect(void *user, const semqr_scan_symbol *sym);

#endif
