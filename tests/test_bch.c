/* Format (15,5) and version (18,6) BCH words (bch.c).
 * - Encoding matches the tables of ISO/IEC 18004 annexes C and D, and every
 *   word is a multiple of its generator polynomial (after unmasking).
 * - Decoding: every valid word decodes at distance 0; every pattern of 1..3
 *   flipped bits on every valid word decodes back to it with the right
 *   distance (exhaustive: 32 * 575 format and 34 * 987 version patterns);
 *   with 4 flips (exhaustive) and 5..7 flips (seeded, 20000 random patterns
 *   per code) the result must be exactly the nearest valid word when that is
 *   within 3, and a failure otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "support/testutil.h"

/* Annex C, table C.1: the masked format word of each 5-bit data value
 * (error-correction indicator L=01, M=00, Q=11, H=10, then the mask). */
static const uint32_t FORMAT_WORDS[32] = {
	0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0,
	0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976,
	0x1689, 0x13BE, 0x1CE7, 0x19D0, 0x0762, 0x0255, 0x0D0C, 0x083B,
	0x355F, 0x3068, 0x3F31, 0x3A06, 0x24B4, 0x2183, 0x2EDA, 0x2BED,
};

/* Annex D, table D.1: version information of versions 7..40. */
static const uint32_t VERSION_WORDS[34] = {
	0x07C94, 0x085BC, 0x09A99, 0x0A4D3, 0x0BBF6, 0x0C762, 0x0D847, 0x0E60D, 0x0F928,
	0x10B78, 0x1145D, 0x12A17, 0x13532, 0x149A6, 0x15683, 0x168C9, 0x177EC, 0x18EC4,
	0x191E1, 0x1AFAB, 0x1B08E, 0x1CC1A, 0x1D33F, 0x1ED75, 0x1F250, 0x209D5, 0x216F0,
	0x228BA, 0x2379F, 0x24B0B, 0x2542E, 0x26A64, 0x27541, 0x28C69,
};

static const semqr_ecc ECC_OF_INDICATOR[4] = {SEMQR_ECC_M, SEMQR_ECC_L, SEMQR_ECC_H, SEMQR_ECC_Q};

/* Index of the word of words[0..n) nearest to bits in Hamming distance (the
 * first on a tie), its distance in *distance. */
static int nearest(const uint32_t *words, int n, uint32_t bits, int *distance)
{
	int best = 0;
	*distance = test_popcount(bits ^ words[0]);
	for (int i = 1; i < n; i++)
		if (test_popcount(bits ^ words[i]) < *distance) {
			*distance = test_popcount(bits ^ words[i]);
			best = i;
		}
	return best;
}

/* Least Hamming distance between two of words[0..n). */
static int min_distance(const uint32_t *words, int n)
{
	int dmin = 32;
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (test_popcount(words[a] ^ words[b]) < dmin)
				dmin = test_popcount(words[a] ^ words[b]);
	return dmin;
}

static void test_format_encode(void **state)
{
	(void)state;
	for (int d = 0; d < 32; d++) {
		semqr_ecc ecc = ECC_OF_INDICATOR[d >> 3];
		uint32_t w = semqr__format_bits(ecc, d & 7);
		assert_int_equal(w, FORMAT_WORDS[d]);
		assert_int_equal(test_gf2_mod(w ^ 0x5412, 0x537), 0);
		assert_int_equal((w ^ 0x5412) >> 10, d);
	}
	/* The examples quoted in the brief, by level with mask 0. */
	assert_int_equal(semqr__format_bits(SEMQR_ECC_L, 0), 0x77C4);
	assert_int_equal(semqr__format_bits(SEMQR_ECC_M, 0), 0x5412);
	assert_int_equal(semqr__format_bits(SEMQR_ECC_Q, 0), 0x355F);
	assert_int_equal(semqr__format_bits(SEMQR_ECC_H, 0), 0x1689);
}

static void test_version_encode(void **state)
{
	(void)state;
	for (int v = 7; v <= 40; v++) {
		uint32_t w = semqr__version_bits(v);
		assert_int_equal(w, VERSION_WORDS[v - 7]);
		assert_int_equal(test_gf2_mod(w, 0x1F25), 0);
		assert_int_equal(w >> 12, v);
	}
}

/* The codes' minimum distances, which make decoding within 3 unambiguous. */
static void test_min_distance(void **state)
{
	(void)state;
	assert_int_equal(min_distance(FORMAT_WORDS, 32), 7);
	assert_int_equal(min_distance(VERSION_WORDS, 34), 8);
}

/* Decodes bits and checks the result against a brute-force nearest search
 * over the annex table; `expect` is the word index when known (-1 if not). */
static void check_format(uint32_t bits, int expect)
{
	int best;
	int best_d = nearest(FORMAT_WORDS, 32, bits, &best);
	semqr_ecc ecc = SEMQR_ECC_L;
	int mask = -1;
	int dist = semqr__format_decode(bits, &ecc, &mask);
	if (best > 3) {
		if (dist != -1)
			fail_msg("format 0x%04x: nearest at %d, decoded at %d", (unsigned)bits, best, dist);
		return;
	}
	if (expect >= 0)
		assert_int_equal(best_d, expect);
	if (dist != best || ecc != ECC_OF_INDICATOR[best_d >> 3] || mask != (best_d & 7))
		fail_msg("format 0x%04x: expected word %d at %d, got %d (ecc %d mask %d)",
		         (unsigned)bits, best_d, best, dist, (int)ecc, mask);
}

static void check_version(uint32_t bits, int expect)
{
	int best;
	int best_v = 7 + nearest(VERSION_WORDS, 34, bits, &best);
	int version = -1;
	int dist = semqr__version_decode(bits, &version);
	if (best > 3) {
		if (dist != -1)
			fail_msg("version 0x%05x: nearest at %d, decoded at %d", (unsigned)bits, best, dist);
		return;
	}
	if (expect >= 0)
		assert_int_equal(best_v, expect);
	if (dist != best || version != best_v)
		fail_msg("version 0x%05x: expected %d at %d, got %d at %d", (unsigned)bits, best_v,
		         best, version, dist);
}

static void test_format_decode_up_to_3(void **state)
{
	(void)state;
	for (int d = 0; d < 32; d++) {
		uint32_t w = FORMAT_WORDS[d];
		check_format(w, d);
		for (int a = 0; a < 15; a++) {
			check_format(w ^ 1u << a, d);
			for (int b = a + 1; b < 15; b++) {
				check_format(w ^ 1u << a ^ 1u << b, d);
				for (int c = b + 1; c < 15; c++)
					check_format(w ^ 1u << a ^ 1u << b ^ 1u << c, d);
			}
		}
	}
}

static void test_version_decode_up_to_3(void **state)
{
	(void)state;
	for (int v = 7; v <= 40; v++) {
		uint32_t w = VERSION_WORDS[v - 7];
		check_version(w, v);
		for (int a = 0; a < 18; a++) {
			check_version(w ^ 1u << a, v);
			for (int b = a + 1; b < 18; b++) {
				check_version(w ^ 1u << a ^ 1u << b, v);
				for (int c = b + 1; c < 18; c++)
					check_version(w ^ 1u << a ^ 1u << b ^ 1u << c, v);
			}
		}
	}
}

/* A random pattern of k distinct bits below `width`. */
static uint32_t random_flips(test_rng *r, int k, int width)
{
	uint32_t flips = 0;
	while (test_popcount(flips) < k)
		flips |= 1u << test_rng_below(r, (uint32_t)width);
	return flips;
}

/* 4 flips exhaustively; 5..7 flips at random (fixed seed). */
static void test_decode_beyond_3(void **state)
{
	(void)state;
	for (int d = 0; d < 32; d++)
		for (uint32_t e = 0; e < 1u << 15; e++)
			if (test_popcount(e) == 4)
				check_format(FORMAT_WORDS[d] ^ e, -1);
	for (int v = 7; v <= 40; v++)
		for (uint32_t e = 0; e < 1u << 18; e++)
			if (test_popcount(e) == 4)
				check_version(VERSION_WORDS[v - 7] ^ e, -1);

	test_rng r;
	test_rng_seed(&r, 2463534242u);
	int decoded = 0, failed = 0;
	for (int trial = 0; trial < 20000; trial++) {
		int k = 5 + trial % 3;
		uint32_t fw = FORMAT_WORDS[trial % 32] ^ random_flips(&r, k, 15);
		check_format(fw, -1);
		check_version(VERSION_WORDS[trial % 34] ^ random_flips(&r, k, 18), -1);
		semqr_ecc ecc;
		int mask;
		if (semqr__format_decode(fw, &ecc, &mask) >= 0)
			decoded++;
		else
			failed++;
	}
	/* Both outcomes occur, so the comparison above saw each branch. */
	assert_true(decoded > 0 && failed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_encode),
		cmocka_unit_test(test_version_encode),
		cmocka_unit_test(test_min_distance),
		cmocka_unit_test(test_format_decode_up_to_3),
		cmocka_unit_test(test_version_decode_up_to_3),
		cmocka_unit_test(test_decode_beyond_3),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
