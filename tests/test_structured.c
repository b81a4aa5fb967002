/* Structured append: semqr_sa_set joins decoded symbols into messages.
 * - Messages split by semqr_encode_structured (2..16 parts, seeded random
 *   bytes) come back whole after decoding, whatever order the parts arrive in.
 * - Sets that are incomplete, ambiguous (two different symbols with one
 *   header and index) or whose parity does not match are never joined.
 * - Two sets and unrelated symbols mixed together give exactly the two. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "semqr/semqr.h"
#include "support/testutil.h"

typedef struct joined {
	int count;
	uint8_t message[2][4096];
	size_t len[2];
	int total[2], parity[2];
} joined;

static void collect(void *user, const uint8_t *message, size_t len, int total, int parity)
{
	joined *j = user;
	if (j->count < 2 && len <= sizeof j->message[0]) {
		memcpy(j->message[j->count], message, len);
		j->len[j->count] = len;
		j->total[j->count] = total;
		j->parity[j->count] = parity;
	}
	j->count++;
}

/* Encodes data as `parts` symbols and decodes each into out[0..parts). */
static void split(const uint8_t *data, size_t len, int parts, semqr_decoded *out)
{
	static semqr_symbol sym[SEMQR_STRUCTURED_APPEND_MAX];
	static float dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr_error err;
	assert_int_equal(semqr_encode_structured(data, len, parts, NULL, sym, &err), SEMQR_OK);
	for (int k = 0; k < parts; k++) {
		semqr_symbol_to_soft(&sym[k], dark);
		semqr_soft_matrix m = {sym[k].size, dark};
		assert_int_equal(semqr_decode_matrix(&m, NULL, &out[k], &err), SEMQR_OK);
		assert_true(out[k].structured_append);
	}
}

static void release(semqr_decoded *d, int n)
{
	for (int k = 0; k < n; k++)
		semqr_decoded_free(&d[k]);
}

/* 60 seeded messages of 20..600 bytes over 2..16 parts, parts added in a
 * shuffled order, each joined exactly. */
static void roundtrip(void **state)
{
	(void)state;
	test_rng r;
	test_rng_seed(&r, 0x5a5a);
	static uint8_t data[600];
	semqr_decoded d[SEMQR_STRUCTURED_APPEND_MAX];
	for (int trial = 0; trial < 60; trial++) {
		int parts = 2 + (int)test_rng_below(&r, 15);
		size_t len = 20 + test_rng_below(&r, 581);
		test_rng_bytes(&r, data, len);
		split(data, len, parts, d);
		int order[SEMQR_STRUCTURED_APPEND_MAX];
		for (int k = 0; k < parts; k++)
			order[k] = k;
		for (int k = parts - 1; k > 0; k--) {
			int o = (int)test_rng_below(&r, (uint32_t)k + 1), t = order[k];
			order[k] = order[o];
			order[o] = t;
		}
		semqr_sa_set *set = semqr_sa_set_create();
		assert_non_null(set);
		for (int k = 0; k < parts; k++)
			assert_int_equal(semqr_sa_set_add(set, &d[order[k]], NULL), SEMQR_OK);
		joined j = {0};
		assert_int_equal(semqr_sa_set_merge(set, collect, &j), 1);
		assert_int_equal(j.count, 1);
		assert_int_equal(j.total[0], parts);
		assert_int_equal(j.len[0], len);
		assert_memory_equal(j.message[0], data, len);
		semqr_sa_set_free(set);
		release(d, parts);
	}
}

static void never_joined(void **state)
{
	(void)state;
	const char *msg = "structured append keeps long messages together";
	size_t len = strlen(msg);
	semqr_decoded d[4], other[4];
	split((const uint8_t *)msg, len, 4, d);
	joined j = {0};

	/* Incomplete: index 2 missing. */
	semqr_sa_set *set = semqr_sa_set_create();
	for (int k = 0; k < 4; k++)
		if (k != 2)
			semqr_sa_set_add(set, &d[k], NULL);
	assert_int_equal(semqr_sa_set_merge(set, collect, &j), 0);
	/* The same symbol twice is harmless once the set is complete. */
	semqr_sa_set_add(set, &d[1], NULL);
	semqr_sa_set_add(set, &d[2], NULL);
	assert_int_equal(semqr_sa_set_merge(set, collect, &j), 1);
	semqr_sa_set_free(set);

	/* Ambiguous: another symbol with the same header and index 0 but
	 * different bytes. */
	set = semqr_sa_set_create();
	for (int k = 0; k < 4; k++)
		semqr_sa_set_add(set, &d[k], NULL);
	semqr_decoded forged = d[0];
	uint8_t bytes[64];
	memcpy(bytes, d[0].payload, d[0].payload_len);
	bytes[0] ^= 1;
	forged.payload = bytes;
	semqr_sa_set_add(set, &forged, NULL);
	j.count = 0;
	assert_int_equal(semqr_sa_set_merge(set, collect, &j), 0);
	semqr_sa_set_free(set);

	/* Parity mismatch: a complete set whose bytes do not XOR to the parity. */
	set = semqr_sa_set_create();
	semqr_sa_set_add(set, &forged, NULL);
	for (int k = 1; k < 4; k++)
		semqr_sa_set_add(set, &d[k], NULL);
	assert_int_equal(semqr_sa_set_merge(set, collect, &j), 0);
	semqr_sa_set_free(set);

	/* Two sets and symbols without a header, mixed. */
	const char *msg2 = "a second message, split in four as well";
	split((const uint8_t *)msg2, strlen(msg2), 4, other);
	semqr_decoded plain = {0};
	uint8_t hello[] = "plain";
	plain.payload = hello;
	plain.payload_len = 5;
	set = semqr_sa_set_create();
	for (int k = 3; k >= 0; k--) {
		semqr_sa_set_add(set, &other[k], NULL);
		semqr_sa_set_add(set, &plain, NULL);
		semqr_sa_set_add(set, &d[k], NULL);
	}
	j.count = 0;
	assert_int_equal(semqr_sa_set_merge(set, collect, &j), 2);
	int first = j.len[0] == len ? 0 : 1;
	assert_int_equal(j.len[first], len);
	assert_memory_equal(j.message[first], msg, len);
	assert_int_equal(j.len[1 - first], strlen(msg2));
	assert_memory_equal(j.message[1 - first], msg2, strlen(msg2));
	semqr_sa_set_free(set);
	release(d, 4);
	release(other, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(never_joined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
