/* The acceptance test: every version 1-40 at every level L, M, Q, H, encoded
 * and decoded back exactly for each mode (numeric, alphanumeric, byte,
 * Kanji, and a mixed payload in automatic mode), filled to capacity; then the
 * same symbols with random damage up to the correction budget of every block
 * as plain errors, and up to the erasure budget as errors marked unreliable
 * (erasures), still decode exactly.
 *
 * Trials: 40 versions x 4 levels x 5 payloads = 800 round trips, and for each
 * version and level 2 damaged decodings (160 + 160), payloads and damage from
 * a seeded generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "support/testutil.h"

#define CELLS (SEMQR_SIZE_MAX * SEMQR_SIZE_MAX)
#define PAYLOADS 5 /* numeric, alphanumeric, byte, Kanji, mixed */

static test_rng rng; /* seeded by test_all_versions */

/* A random value 0..n-1. */
static uint32_t rnd(uint32_t n)
{
	return test_rng_below(&rng, n);
}

static const char alnum_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
/* Kanji and kana of JIS X 0208, 3 UTF-8 bytes each. */
static const char kanji_chars[] = "日本語漢字東京大阪京都北海道名古屋福岡横浜神戸"
                                  "点茗あいうえおかきくけこアイウエオ";

static uint8_t payload[8192];
static size_t payload_len;
static semqr_symbol symbol;
static float dark[CELLS];

static void add(const char *bytes, size_t n)
{
	memcpy(payload + payload_len, bytes, n);
	payload_len += n;
}

static void add_kanji(void)
{
	add(kanji_chars + 3 * rnd((uint32_t)(sizeof kanji_chars - 1) / 3), 3);
}

/* Most characters of `mode` one segment holds at version-level: data bits
 * less mode indicator and count, and no more than the count can say. */
static int capacity(int version, semqr_ecc ecc, semqr_mode mode)
{
	int cc = semqr__char_count_bits(mode, version);
	int bits = 8 * semqr__data_codewords(version, ecc) - 4 - cc;
	int n;
	switch (mode) {
	case SEMQR_MODE_NUMERIC:
		n = 3 * (bits / 10) + (bits % 10 >= 7 ? 2 : bits % 10 >= 4 ? 1 : 0);
		break;
	case SEMQR_MODE_ALPHANUMERIC:
		n = 2 * (bits / 11) + (bits % 11 >= 6);
		break;
	case SEMQR_MODE_BYTE:
		n = bits / 8;
		break;
	default:
		n = bits / 13;
		break;
	}
	return n < (1 << cc) - 1 ? n : (1 << cc) - 1;
}

/* Capacities of ISO/IEC 18004:2015 table 7, to check the computation. */
static void test_capacity_table(void **state)
{
	static const struct { int v; semqr_ecc e; int n, a, b, k; } rows[] = {
		{ 1, SEMQR_ECC_L, 41, 25, 17, 10 },
		{ 1, SEMQR_ECC_H, 17, 10, 7, 4 },
		{ 10, SEMQR_ECC_M, 513, 311, 213, 131 },
		{ 40, SEMQR_ECC_L, 7089, 4296, 2953, 1817 },
		{ 40, SEMQR_ECC_H, 3057, 1852, 1273, 784 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		assert_int_equal(capacity(rows[i].v, rows[i].e, SEMQR_MODE_NUMERIC), rows[i].n);
		assert_int_equal(capacity(rows[i].v, rows[i].e, SEMQR_MODE_ALPHANUMERIC), rows[i].a);
		assert_int_equal(capacity(rows[i].v, rows[i].e, SEMQR_MODE_BYTE), rows[i].b);
		assert_int_equal(capacity(rows[i].v, rows[i].e, SEMQR_MODE_KANJI), rows[i].k);
	}
}

/* A random payload of n characters for a single-mode symbol. */
static void single_mode_payload(semqr_mode mode, int n)
{
	payload_len = 0;
	for (int i = 0; i < n; i++) {
		if (mode == SEMQR_MODE_NUMERIC)
			payload[payload_len++] = (uint8_t)('0' + rnd(10));
		else if (mode == SEMQR_MODE_ALPHANUMERIC)
			payload[payload_len++] = (uint8_t)alnum_chars[rnd(45)];
		else if (mode == SEMQR_MODE_BYTE)
			payload[payload_len++] = (uint8_t)rnd(256);
		else
			add_kanji();
	}
}

/* A mixed payload of at most `max` bytes: runs of digits, upper-case
 * alphanumerics, lower-case text with an accented letter, and Kanji. */
static void mixed_payload(size_t max)
{
	payload_len = 0;
	for (;;) {
		int kind = (int)rnd(4), len = 2 + (int)rnd(12);
		if (payload_len + 3 * (size_t)len > max)
			break;
		for (int i = 0; i < len; i++) {
			if (kind == 0)
				payload[payload_len++] = (uint8_t)('0' + rnd(10));
			else if (kind == 1)
				payload[payload_len++] = (uint8_t)alnum_chars[10 + rnd(35)];
			else if (kind == 3)
				add_kanji();
			else if (rnd(8) != 0)
				payload[payload_len++] = (uint8_t)('a' + rnd(26));
			else
				add("\xC3\xA9", 2); /* U+00E9 */
		}
	}
}

static semqr_status encode(int version, semqr_ecc ecc, int mask, semqr_mode mode,
                           semqr_error *err)
{
	return test_encode_forced(payload, payload_len, version, ecc, mask, mode, &symbol, err);
}

/* Decodes `dark` and asserts the exact payload at the symbol's version,
 * level and mask. */
static void expect_payload(semqr_decoded *d)
{
	semqr_soft_matrix m = { symbol.size, dark };
	semqr_error err;
	if (semqr_decode_matrix(&m, NULL, d, &err) != SEMQR_OK)
		fail_msg("version %d-%s mask %d: %s", symbol.version, semqr_ecc_name(symbol.ecc),
		         symbol.mask, err.message);
	assert_int_equal(d->version, symbol.version);
	assert_int_equal(d->ecc, symbol.ecc);
	assert_int_equal(d->mask, symbol.mask);
	assert_false(d->mirrored);
	assert_int_equal(d->payload_len, payload_len);
	assert_memory_equal(d->payload, payload, payload_len);
}

/* ---- damage --------------------------------------------------------------- */

static test_codeword_map map; /* of the symbol being damaged */

static long corrupted, corrected_errors, filled_erasures;

/* Plain errors: up to budget / 2 codewords in every block (exactly that many
 * in even blocks, a random number in odd ones); each block must report
 * exactly its corrupted codewords as errors. */
static void damage_errors(void)
{
	int want[SEMQR_BLOCKS_MAX];
	semqr_symbol_to_soft(&symbol, dark);
	for (int b = 0; b < map.lay.blocks; b++) {
		want[b] = b % 2 == 0 ? map.budget / 2 : (int)rnd((uint32_t)map.budget / 2 + 1);
		test_corrupt_block(&map, &rng, dark, b, want[b], 0);
		corrupted += want[b];
	}
	semqr_decoded d;
	expect_payload(&d);
	for (int b = 0; b < map.lay.blocks; b++) {
		assert_int_equal(d.errors[b], want[b]);
		assert_int_equal(d.erasures[b], 0);
		assert_int_equal(d.ec_capacity[b], map.budget);
	}
	corrected_errors += d.errors_total;
	assert_true(d.ec_unused <= 1.0 - 2.0 * (map.budget / 2) / map.budget + 1e-9);
	semqr_decoded_free(&d);
}

/* Marked errors: the whole erasure budget (the budget less the
 * SEMQR__ERASURE_SPARE check codewords erasure decodings leave) in every
 * block, each marked unreliable; more than errors alone could correct
 * wherever that budget exceeds half the budget (all but 1-L). */
static void damage_erasures(void)
{
	int count = map.budget - SEMQR__ERASURE_SPARE;
	semqr_symbol_to_soft(&symbol, dark);
	for (int b = 0; b < map.lay.blocks; b++)
		test_corrupt_block(&map, &rng, dark, b, count, count);
	corrupted += (long)count * map.lay.blocks;
	semqr_decoded d;
	expect_payload(&d);
	for (int b = 0; b < map.lay.blocks; b++) {
		if (count > map.budget / 2)
			assert_true(d.erasures[b] > 0);
		/* errors alone within the budget, or erasures within their own */
		assert_true(2 * d.errors[b] + d.erasures[b] <= (d.erasures[b] ? count : map.budget));
	}
	filled_erasures += d.erasures_total;
	assert_true(d.ec_unused >= 0.0);
	semqr_decoded_free(&d);
}

/* ---- the sweep -------------------------------------------------------------- */

static void test_all_versions(void **state)
{
	static const semqr_mode modes[PAYLOADS] = {
		SEMQR_MODE_NUMERIC, SEMQR_MODE_ALPHANUMERIC, SEMQR_MODE_BYTE, SEMQR_MODE_KANJI,
		SEMQR_MODE_AUTO,
	};
	int round_trips = 0, mixed_segments = 0;
	size_t bytes = 0;
	test_rng_seed(&rng, 0x5EED0010);
	for (int v = SEMQR_VERSION_MIN; v <= SEMQR_VERSION_MAX; v++) {
		for (int e = SEMQR_ECC_L; e <= SEMQR_ECC_H; e++) {
			semqr_ecc ecc = (semqr_ecc)e;
			for (int p = 0; p < PAYLOADS; p++) {
				int mask = (v + e + p) % 8;
				semqr_error err;
				semqr_status st;
				if (modes[p] == SEMQR_MODE_AUTO) {
					/* Shrink until the automatic segmentation fits. */
					size_t max = (size_t)semqr__data_codewords(v, ecc) * 3 / 2;
					do {
						mixed_payload(max);
						st = encode(v, ecc, mask, modes[p], &err);
						max = max * 15 / 16;
					} while (st == SEMQR_ERR_DATA_TOO_LONG);
				} else {
					single_mode_payload(modes[p], capacity(v, ecc, modes[p]));
					st = encode(v, ecc, mask, modes[p], &err);
				}
				if (st != SEMQR_OK)
					fail_msg("encode %d-%s %s: %s", v, semqr_ecc_name(ecc),
					         semqr_mode_name(modes[p]), err.message);
				semqr_symbol_to_soft(&symbol, dark);
				semqr_decoded d;
				expect_payload(&d);
				assert_int_equal(d.errors_total, 0);
				if (modes[p] != SEMQR_MODE_AUTO) {
					assert_int_equal(d.segment_count, 1);
					assert_int_equal(d.segments[0].mode, modes[p]);
					assert_int_equal(d.segments[0].char_count, capacity(v, ecc, modes[p]));
				} else {
					mixed_segments += d.segment_count;
				}
				semqr_decoded_free(&d);
				round_trips++;
				bytes += payload_len;

				/* Damage one of the five symbols of each version-level. */
				if (p == (v + e) % PAYLOADS) {
					test_codeword_map_build(v, ecc, &map);
					damage_errors();
					damage_erasures();
				}
			}
		}
	}
	print_message("%d round trips (%zu payload bytes), %d segments in 160 mixed payloads; "
	              "%ld codewords corrupted in 320 damaged symbols: %ld corrected as errors, "
	              "%ld erasures filled\n",
	              round_trips, bytes, mixed_segments, corrupted, corrected_errors,
	              filled_erasures);
	assert_int_equal(round_trips, 800);
	assert_true(mixed_segments > 2 * 160);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity_table),
		cmocka_unit_test(test_all_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
