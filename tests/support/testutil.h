/* Test support for the codec and image tests: a seeded random generator,
 * reference arithmetic independent of the library's tables, encoding at a
 * forced version, and the position of every codeword in a symbol's matrix
 * for damaging chosen codewords of a soft matrix. */
#ifndef SEMQR_TEST_TESTUTIL_H
#define SEMQR_TEST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "qr/qr_internal.h"

/* ---- random numbers -------------------------------------------------------- */

/* Marsaglia's xorshift64 (shifts 13, 7, 17): period 2^64 - 1 over the
 * nonzero states. Deterministic for a given seed, so tests that use it are
 * reproducible; not for anything but tests. */
typedef struct test_rng {
	uint64_t s;
} test_rng;

/* Starts r at state `seed` (0, which xorshift never leaves, is replaced by a
 * fixed nonzero state). */
void test_rng_seed(test_rng *r, uint64_t seed);

/* Advances r one step and returns the high 32 bits of the new state (the
 * better-mixed half). */
uint32_t test_rng_u32(test_rng *r);

/* A value in 0..n-1 (n >= 1): test_rng_u32 modulo n. Not exactly uniform:
 * the relative bias is below n / 2^32, negligible for test sizes. */
uint32_t test_rng_below(test_rng *r, uint32_t n);

/* Fills out[0..n-1] with one step each (the low 8 bits of test_rng_u32). */
void test_rng_bytes(test_rng *r, uint8_t *out, size_t n);

/* ---- reference arithmetic -------------------------------------------------- */

/* Product in GF(256) with x^8 + x^4 + x^3 + x^2 + 1 (0x11D) by carry-less
 * shift-and-add, without the library's log/antilog tables. */
uint8_t test_gf_mul_ref(uint8_t a, uint8_t b);

/* Number of set bits of v (Hamming weight). */
int test_popcount(uint32_t v);

/* Remainder of the GF(2) polynomial v (bit i = coefficient of x^i) divided
 * by gen (gen != 0). */
uint32_t test_gf2_mod(uint32_t v, uint32_t gen);

/* ---- encoding ----------------------------------------------------------------- */

/* semqr_encode of data[0..len) at exactly `version` and level `ecc` (no
 * boost), with mask 0..7 or -1 (chosen by penalty) and the given mode
 * (SEMQR_MODE_AUTO or a forced one); the other options are the defaults.
 * Returns what semqr_encode returns. */
semqr_status test_encode_forced(const uint8_t *data, size_t len, int version, semqr_ecc ecc,
                                int mask, semqr_mode mode, semqr_symbol *out, semqr_error *err);

/* ---- codewords in the matrix ------------------------------------------------- */

/* Distance from 0.5 of p(dark) for a module marked unreliable: just on the
 * hard side of its value. */
#define TEST_UNSURE 0.01f

/* Where the codewords of one version-level lie in the matrix. Codeword k
 * (data codewords first, then EC) of block b is the interleaved codeword
 * at[b][k]; interleaved codeword i has its 8 bits, most significant first,
 * at modules order[8 * i .. 8 * i + 7]. Large (about 200 KB): keep it static. */
typedef struct test_codeword_map {
	semqr_block_layout lay;
	int budget; /* 2 * errors + erasures correctable per block: ec less misdecode protection */
	int order[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	int at[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX];
} test_codeword_map;

/* Fills *map for version 1..40 at level ecc from the library's layout,
 * placement order and de-interleaving map. */
void test_codeword_map_build(int version, semqr_ecc ecc, test_codeword_map *map);

/* Corrupts codeword k of block b in the soft matrix dark (values 0..1,
 * indexed as the symbol's modules): 1..8 distinct random bits flip (p -> 1 -
 * p); when `marked`, all eight modules then move to 0.5 +- TEST_UNSURE on
 * the side of their new hard value. */
void test_corrupt_codeword(const test_codeword_map *map, test_rng *r, float *dark, int b, int k,
                           bool marked);

/* Corrupts `count` distinct random codewords (0 <= count <= block length) of
 * block b in the soft matrix dark (values 0..1, indexed as the symbol's
 * modules): in each, 1..8 distinct random bits flip (p -> 1 - p). The first
 * `marked` of them are then marked unreliable: all eight modules move to
 * 0.5 +- TEST_UNSURE on the side of their new hard value. */
void test_corrupt_block(const test_codeword_map *map, test_rng *r, float *dark, int b, int count,
                        int marked);

#endif
