/* Test support: the scan decoder's payloads scored against a simulator
 * ground truth (semqr/truth.h). */
#ifndef SEMQR_TEST_TRUTH_COUNT_H
#define SEMQR_TEST_TRUTH_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/decode.h"
#include "semqr/truth.h"

/* Whether payload (len bytes) is the payload of one of truth's symbols. */
int test_truth_has_payload(const semqr_truth *truth, const uint8_t *payload, size_t len);

/* Decoded symbols whose payload is in the truth (right) and not (wrong). */
typedef struct test_truth_count {
	const semqr_truth *truth;
	int right, wrong;
} test_truth_count;

/* A semqr_scan_callback counting into the test_truth_count `user`; symbols
 * that did not decode are ignored. */
void test_truth_count_symbol(void *user, const semqr_scan_symbol *s);

#endif
