/* Reed-Solomon encoder and errors-and-erasures decoder (rs.c), and the block
 * interleaving built on them (interleave.c).
 *
 * The acceptance test runs over every distinct block structure (n, ec, budget)
 * of the 160 version/levels, budget = ec - misdecode protection p:
 *  - within capacity (2e + f <= budget) random codewords with e errors and f
 *    erasures (each erasure's value changed or left correct at random) must
 *    decode to the original with the right error and erasure counts;
 *  - beyond capacity (2e + f > budget) every success counts as a wrong
 *    payload, and the count must be zero. This can only hold where the code
 *    has redundancy left to detect the excess: after f erasures r = ec - f
 *    checks remain and the decoder accepts up to t = (budget - f) / 2 errors,
 *    so a random word is accepted with probability about
 *    V(n - f, t) / 256^r (V: Hamming ball volume over GF(256)), which reaches 1
 *    as f approaches ec (with f = ec every word is "consistent"). The asserted
 *    trials take f only where that bound is below 1e-9; the erasure-heavy rest
 *    is run too and its successes printed, asserting only that each claimed
 *    correction is a genuine codeword within the reported distance.
 * Trials per structure: IN_TRIALS + 6 edge cases within capacity, OUT_TRIALS
 * asserted beyond, HEAVY_TRIALS erasure-heavy beyond; 98 structures. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "support/testutil.h"

#define IN_TRIALS 300
#define OUT_TRIALS 300
#define HEAVY_TRIALS 60

/* lo..hi inclusive. */
static int uniform(test_rng *r, int lo, int hi)
{
	return lo + (int)test_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* 1 when c(alpha^i) = 0 for i < ec, computed with the reference product. */
static int is_codeword(const uint8_t *c, int n, int ec)
{
	uint8_t x = 1;
	for (int i = 0; i < ec; i++, x = test_gf_mul_ref(x, 2)) {
		uint8_t v = 0;
		for (int j = 0; j < n; j++)
			v = test_gf_mul_ref(v, x) ^ c[j];
		if (v)
			return 0;
	}
	return 1;
}

static void random_codeword(test_rng *r, int n, int ec, uint8_t *c)
{
	test_rng_bytes(r, c, (size_t)(n - ec));
	semqr__rs_encode(c, n - ec, ec, c + n - ec);
}

/* Picks k distinct positions of 0..n-1 into pos (partial Fisher-Yates). */
static void distinct_positions(test_rng *r, int n, int k, int *pos)
{
	int all[SEMQR_BLOCK_LEN_MAX];
	for (int j = 0; j < n; j++)
		all[j] = j;
	for (int i = 0; i < k; i++) {
		int j = uniform(r, i, n - 1);
		int t = all[i];
		all[i] = all[j];
		all[j] = t;
		pos[i] = all[i];
	}
}

/* ---- known vectors --------------------------------------------------------- */

/* ISO/IEC 18004 annex I: "01234567" as 1-M; and the widely reproduced
 * "HELLO WORLD" 1-M example. */
static void test_encode_known(void **state)
{
	(void)state;
	static const uint8_t d1[16] = {0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11,
	                               0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11};
	static const uint8_t e1[10] = {0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55};
	static const uint8_t d2[16] = {32, 91, 11, 120, 209, 114, 220, 77,
	                               67, 64, 236, 17, 236, 17, 236, 17};
	static const uint8_t e2[10] = {196, 35, 39, 119, 235, 215, 231, 226, 93, 23};
	uint8_t ec[10];
	semqr__rs_encode(d1, 16, 10, ec);
	assert_memory_equal(ec, e1, 10);
	semqr__rs_encode(d2, 16, 10, ec);
	assert_memory_equal(ec, e2, 10);
}

/* Every EC length the contract allows gives a codeword (zero syndromes by
 * the reference arithmetic), and a changed codeword never is one. */
static void test_encode_codewords(void **state)
{
	(void)state;
	test_rng r;
	test_rng_seed(&r, 0x9E3779B97F4A7C15u);
	uint8_t c[SEMQR_BLOCK_LEN_MAX];
	for (int ec = 1; ec <= 68; ec++)
		for (int trial = 0; trial < 4; trial++) {
			int n = uniform(&r, ec + 1, SEMQR_BLOCK_LEN_MAX);
			random_codeword(&r, n, ec, c);
			assert_true(is_codeword(c, n, ec));
			c[uniform(&r, 0, n - 1)] ^= (uint8_t)uniform(&r, 1, 255);
			assert_false(is_codeword(c, n, ec));
		}
}

/* ---- decoder contract checks ---------------------------------------------- */

static void test_decode_rejects_bad_arguments(void **state)
{
	(void)state;
	test_rng r;
	test_rng_seed(&r, 12345);
	uint8_t c[26], keep[26];
	int e, f;
	random_codeword(&r, 26, 7, c);
	c[3] ^= 0x55;
	memcpy(keep, c, sizeof c);
	int dup[2] = {5, 5}, out_of_range[1] = {26}, too_many[5] = {0, 1, 2, 3, 4};
	assert_int_equal(semqr__rs_decode(c, 26, 7, dup, 2, 4, &e, &f), -1);
	assert_int_equal(semqr__rs_decode(c, 26, 7, out_of_range, 1, 4, &e, &f), -1);
	assert_int_equal(semqr__rs_decode(c, 26, 7, too_many, 5, 4, &e, &f), -1);
	assert_memory_equal(c, keep, sizeof c);
	/* More erasures than the budget are refused even on an intact codeword. */
	uint8_t clean[26];
	random_codeword(&r, 26, 7, clean);
	memcpy(keep, clean, sizeof clean);
	assert_int_equal(semqr__rs_decode(clean, 26, 7, too_many, 5, 4, &e, &f), -1);
	assert_int_equal(semqr__rs_decode(clean, 26, 7, too_many, 4, 4, &e, &f), 0);
	assert_int_equal(e, 0);
	assert_int_equal(f, 4);
	assert_memory_equal(clean, keep, sizeof clean);
	memcpy(keep, c, sizeof c);
	/* The single error above is fine within the budget. */
	assert_int_equal(semqr__rs_decode(c, 26, 7, NULL, 0, 4, &e, &f), 0);
	assert_int_equal(e, 1);
	assert_int_equal(f, 0);
}

/* The largest block the contract allows: n = 255, ec = 68, 34 errors or any
 * mix up to 68 = 2e + f. */
static void test_decode_largest(void **state)
{
	(void)state;
	test_rng r;
	test_rng_seed(&r, 777);
	uint8_t c[255], orig[255];
	int pos[255];
	for (int trial = 0; trial < 40; trial++) {
		int f = uniform(&r, 0, 68), e = (68 - f) / 2, ne, nf;
		random_codeword(&r, 255, 68, orig);
		memcpy(c, orig, sizeof c);
		distinct_positions(&r, 255, e + f, pos);
		for (int k = 0; k < e + f; k++)
			c[pos[k]] ^= (uint8_t)uniform(&r, 1, 255);
		assert_int_equal(semqr__rs_decode(c, 255, 68, pos + e, f, 68, &ne, &nf), 0);
		assert_memory_equal(c, orig, sizeof c);
		assert_int_equal(ne, e);
		assert_int_equal(nf, f);
	}
}

/* ---- the acceptance test ----------------------------------------------------- */

typedef struct structure { int n, ec, budget; } structure;

static int all_structures(structure *out)
{
	int count = 0;
	for (int v = SEMQR_VERSION_MIN; v <= SEMQR_VERSION_MAX; v++)
		for (int lv = SEMQR_ECC_L; lv <= SEMQR_ECC_H; lv++) {
			semqr_block_layout l = semqr__block_layout(v, (semqr_ecc)lv);
			int budget = l.ec - semqr__misdecode_protection(v, (semqr_ecc)lv);
			for (int longer = 0; longer <= (l.short_count < l.blocks); longer++) {
				structure s = {l.short_data + longer + l.ec, l.ec, budget};
				int seen = 0;
				for (int k = 0; k < count; k++)
					seen |= out[k].n == s.n && out[k].ec == s.ec && out[k].budget == s.budget;
				if (!seen)
					out[count++] = s;
			}
		}
	return count;
}

/* log10 of the chance that a random word of the punctured code (f erasures)
 * lies within the decoder's remaining error radius of some codeword. */
static double log10_accept_bound(const structure *s, int f)
{
	int len = s->n - f, r = s->ec - f, t = (s->budget - f) / 2;
	double vol = 0, term = 1; /* term = C(len, i) 255^i */
	for (int i = 0; i <= t; i++) {
		vol += term;
		term = term * (len - i) / (i + 1) * 255;
	}
	return log10(vol) - r * log10(256.0);
}

typedef struct tally {
	long within, beyond, heavy, wrong_payloads, heavy_accepted;
} tally;

/* Applies e errors and f erasures to a copy of orig at fresh random positions;
 * each erased value is altered with probability changed_permille / 1000.
 * Error positions come first in pos, erasure positions after them. */
static void corrupt(test_rng *r, const uint8_t *orig, const structure *s, int e, int f,
                    int changed_permille, uint8_t *c, int *pos)
{
	memcpy(c, orig, (size_t)s->n);
	distinct_positions(r, s->n, e + f, pos);
	for (int k = 0; k < e; k++)
		c[pos[k]] ^= (uint8_t)uniform(r, 1, 255);
	for (int k = e; k < e + f; k++)
		if (uniform(r, 0, 999) < changed_permille)
			c[pos[k]] ^= (uint8_t)uniform(r, 1, 255);
}

static void expect_exact(const structure *s, const uint8_t *orig, uint8_t *c,
                         const int *erasures, int e, int f)
{
	int ne = -1, nf = -1;
	int rc = semqr__rs_decode(c, s->n, s->ec, erasures, f, s->budget, &ne, &nf);
	if (rc != 0 || memcmp(c, orig, (size_t)s->n) != 0 || ne != e || nf != f)
		fail_msg("n=%d ec=%d budget=%d e=%d f=%d: rc=%d errors=%d erased=%d", s->n, s->ec,
		         s->budget, e, f, rc, ne, nf);
}

/* Beyond capacity: returns 1 when the decoder claimed success (a wrong
 * payload). A success must still be a codeword within the claimed distance
 * of what was received; a failure must leave the block as received. */
static int beyond(const structure *s, uint8_t *c, const int *erasures, int f)
{
	uint8_t received[SEMQR_BLOCK_LEN_MAX];
	memcpy(received, c, (size_t)s->n);
	int ne, nf;
	if (semqr__rs_decode(c, s->n, s->ec, erasures, f, s->budget, &ne, &nf) != 0) {
		assert_memory_equal(c, received, (size_t)s->n);
		return 0;
	}
	assert_true(is_codeword(c, s->n, s->ec));
	assert_int_equal(nf, f);
	assert_true(2 * ne + nf <= s->budget);
	int outside = 0;
	for (int j = 0; j < s->n; j++) {
		int erased = 0;
		for (int k = 0; k < f; k++)
			erased |= erasures[k] == j;
		outside += !erased && c[j] != received[j];
	}
	assert_int_equal(outside, ne);
	return 1;
}

static void run_structure(const structure *s, test_rng *r, tally *t)
{
	uint8_t orig[SEMQR_BLOCK_LEN_MAX], c[SEMQR_BLOCK_LEN_MAX];
	int pos[SEMQR_BLOCK_LEN_MAX];
	int n = s->n, ec = s->ec, budget = s->budget;

	/* Edge cases. No damage at all: */
	random_codeword(r, n, ec, orig);
	memcpy(c, orig, (size_t)n);
	expect_exact(s, orig, c, NULL, 0, 0);
	/* Erasures only, all in the EC part, all altered: */
	int f = budget;
	for (int k = 0; k < f; k++) {
		pos[k] = n - ec + k;
		c[pos[k]] ^= (uint8_t)uniform(r, 1, 255);
	}
	expect_exact(s, orig, c, pos, 0, f);
	/* Errors only, all in the EC part: */
	int e = budget / 2;
	memcpy(c, orig, (size_t)n);
	for (int k = 0; k < e; k++)
		c[n - 1 - 2 * k] ^= (uint8_t)uniform(r, 1, 255);
	expect_exact(s, orig, c, NULL, e, 0);
	/* The maximal number of erasures on modules that are in fact correct: */
	corrupt(r, orig, s, 0, budget, 0, c, pos);
	expect_exact(s, orig, c, pos, 0, budget);
	/* Maximal f = budget, every erased value altered: */
	corrupt(r, orig, s, 0, budget, 1000, c, pos);
	expect_exact(s, orig, c, pos, 0, budget);
	/* Maximal errors with the erasure left over by an odd budget: */
	corrupt(r, orig, s, budget / 2, budget % 2, 1000, c, pos);
	expect_exact(s, orig, c, pos + budget / 2, budget / 2, budget % 2);
	t->within += 6;

	for (int trial = 0; trial < IN_TRIALS; trial++) {
		random_codeword(r, n, ec, orig);
		f = uniform(r, 0, budget);
		e = uniform(r, 0, (budget - f) / 2);
		corrupt(r, orig, s, e, f, 500, c, pos);
		expect_exact(s, orig, c, pos + e, e, f);
		t->within++;
	}

	/* Beyond capacity: the largest f for which detection is near certain. */
	int f_safe = -1;
	while (f_safe + 1 <= budget && log10_accept_bound(s, f_safe + 1) < -9)
		f_safe++;
	assert_true(f_safe >= 0); /* errors alone are always safely detectable */
	for (int trial = 0; trial < OUT_TRIALS + HEAVY_TRIALS; trial++) {
		int heavy = trial >= OUT_TRIALS;
		if (heavy && f_safe == budget)
			break;
		random_codeword(r, n, ec, orig);
		f = heavy ? uniform(r, f_safe + 1, budget) : uniform(r, 0, f_safe);
		int e_min = (budget - f) / 2 + 1;
		e = uniform(r, e_min, e_min + 3 < n - f ? e_min + 3 : n - f);
		corrupt(r, orig, s, e, f, 500, c, pos);
		int accepted = beyond(s, c, pos + e, f);
		if (heavy) {
			t->heavy++;
			t->heavy_accepted += accepted;
		} else {
			t->beyond++;
			t->wrong_payloads += accepted;
		}
	}
}

static void test_acceptance(void **state)
{
	(void)state;
	structure s[400];
	int count = all_structures(s);
	assert_true(count > 0 && count <= 400);
	test_rng r;
	test_rng_seed(&r, 0x5EED5EED12345678u);
	tally t = {0};
	for (int k = 0; k < count; k++)
		run_structure(&s[k], &r, &t);
	printf("RS acceptance: %d block structures; %ld within-capacity trials decoded exactly; "
	       "%ld beyond-capacity trials, wrong payloads: %ld; erasure-heavy beyond-capacity "
	       "trials (not asserted): %ld, accepted: %ld\n",
	       count, t.within, t.beyond, t.wrong_payloads, t.heavy, t.heavy_accepted);
	assert_int_equal(t.wrong_payloads, 0);
}

/* ---- interleaving ------------------------------------------------------------ */

/* For all 160 version/levels the map is a bijection onto the (block, index)
 * pairs of the layout, and semqr__interleave puts every codeword where the
 * map says, with EC codewords that make each block a codeword. */
static void test_interleave_all(void **state)
{
	(void)state;
	static int block_of[SEMQR_CODEWORDS_MAX], index_of[SEMQR_CODEWORDS_MAX];
	static uint8_t data[SEMQR_CODEWORDS_MAX], out[SEMQR_CODEWORDS_MAX];
	static uint8_t blocks[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX];
	static uint8_t seen[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX];
	test_rng r;
	test_rng_seed(&r, 42);
	for (int v = SEMQR_VERSION_MIN; v <= SEMQR_VERSION_MAX; v++)
		for (int lv = SEMQR_ECC_L; lv <= SEMQR_ECC_H; lv++) {
			semqr_ecc ecc = (semqr_ecc)lv;
			semqr_block_layout l = semqr__block_layout(v, ecc);
			int total = semqr__total_codewords(v), ndata = semqr__data_codewords(v, ecc);
			test_rng_bytes(&r, data, (size_t)ndata);
			semqr__interleave(v, ecc, data, out);
			semqr__deinterleave_map(v, ecc, block_of, index_of);

			memset(seen, 0, sizeof seen);
			for (int p = 0; p < total; p++) {
				int b = block_of[p], i = index_of[p];
				assert_true(b >= 0 && b < l.blocks);
				int len = l.short_data + (b >= l.short_count) + l.ec;
				assert_true(i >= 0 && i < len);
				assert_false(seen[b][i]);
				seen[b][i] = 1;
				blocks[b][i] = out[p];
				/* Data positions come first, EC positions after. */
				assert_true((p < ndata) == (i < len - l.ec));
			}
			int offset = 0;
			for (int b = 0; b < l.blocks; b++) {
				int nd = l.short_data + (b >= l.short_count);
				assert_memory_equal(blocks[b], data + offset, (size_t)nd);
				assert_true(is_codeword(blocks[b], nd + l.ec, l.ec));
				offset += nd;
			}
			assert_int_equal(offset, ndata);
		}
}

/* 5-Q by hand: blocks of 15, 15, 16, 16 data codewords and 18 EC each. With
 * data[i] = i the blocks start at 0, 15, 30 and 46, so the interleaved data
 * reads 0 15 30 46 1 16 31 47 ... 14 29 44 60, then 45 61 (the long blocks'
 * last codewords), then the EC codewords column by column from position 62. */
static void test_interleave_5q(void **state)
{
	(void)state;
	uint8_t data[62], out[134];
	int block_of[134], index_of[134];
	for (int i = 0; i < 62; i++)
		data[i] = (uint8_t)i;
	semqr_block_layout l = semqr__block_layout(5, SEMQR_ECC_Q);
	assert_int_equal(l.blocks, 4);
	assert_int_equal(l.short_count, 2);
	assert_int_equal(l.short_data, 15);
	assert_int_equal(l.ec, 18);
	semqr__interleave(5, SEMQR_ECC_Q, data, out);
	static const uint8_t head[8] = {0, 15, 30, 46, 1, 16, 31, 47};
	static const uint8_t tail[6] = {14, 29, 44, 60, 45, 61};
	assert_memory_equal(out, head, 8);
	assert_memory_equal(out + 56, tail, 6);

	uint8_t ec[4][18];
	semqr__rs_encode(data, 15, 18, ec[0]);
	semqr__rs_encode(data + 15, 15, 18, ec[1]);
	semqr__rs_encode(data + 30, 16, 18, ec[2]);
	semqr__rs_encode(data + 46, 16, 18, ec[3]);
	for (int i = 0; i < 18; i++)
		for (int b = 0; b < 4; b++)
			assert_int_equal(out[62 + 4 * i + b], ec[b][i]);

	semqr__deinterleave_map(5, SEMQR_ECC_Q, block_of, index_of);
	static const int p_check[][3] = { /* position, block, index */
		{0, 0, 0}, {3, 3, 0}, {4, 0, 1}, {59, 3, 14}, {60, 2, 15}, {61, 3, 15},
		{62, 0, 15}, {63, 1, 15}, {64, 2, 16}, {65, 3, 16}, {133, 3, 33},
	};
	for (size_t k = 0; k < sizeof p_check / sizeof p_check[0]; k++) {
		assert_int_equal(block_of[p_check[k][0]], p_check[k][1]);
		assert_int_equal(index_of[p_check[k][0]], p_check[k][2]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_known),
		cmocka_unit_test(test_encode_codewords),
		cmocka_unit_test(test_decode_rejects_bad_arguments),
		cmocka_unit_test(test_decode_largest),
		cmocka_unit_test(test_acceptance),
		cmocka_unit_test(test_interleave_all),
		cmocka_unit_test(test_interleave_5q),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
