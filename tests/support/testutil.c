/* Test support for the codec and image tests (see testutil.h). */
#include "support/testutil.h"

#include <stdbool.h>

void test_rng_seed(test_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9E3779B97F4A7C15u;
}

uint32_t test_rng_u32(test_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 32);
}

uint32_t test_rng_below(test_rng *r, uint32_t n)
{
	return test_rng_u32(r) % n;
}

void test_rng_bytes(test_rng *r, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)test_rng_u32(r);
}

int test_popcount(uint32_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* x runs through a * x^i reduced modulo 0x11D; r sums those where bit i of
 * b is set. */
uint8_t test_gf_mul_ref(uint8_t a, uint8_t b)
{
	unsigned r = 0, x = a;
	for (; b; b >>= 1, x <<= 1) {
		if (x & 0x100)
			x ^= 0x11D;
		if (b & 1)
			r ^= x;
	}
	return (uint8_t)r;
}

/* Long division: cancels every set bit from the top down to gen's degree. */
uint32_t test_gf2_mod(uint32_t v, uint32_t gen)
{
	int deg = 31;
	while (!(gen >> deg & 1))
		deg--;
	for (int bit = 31; bit >= deg; bit--)
		if (v >> bit & 1)
			v ^= gen << (bit - deg);
	return v;
}

semqr_status test_encode_forced(const uint8_t *data, size_t len, int version, semqr_ecc ecc,
                                int mask, semqr_mode mode, semqr_symbol *out, semqr_error *err)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	o.min_version = o.max_version = version;
	o.ecc = ecc;
	o.boost_ecc = false;
	o.mask = mask;
	o.mode = mode;
	return semqr_encode(data, len, &o, out, err);
}

void test_codeword_map_build(int version, semqr_ecc ecc, test_codeword_map *map)
{
	static int block_of[SEMQR_CODEWORDS_MAX], index_of[SEMQR_CODEWORDS_MAX];
	map->lay = semqr__block_layout(version, ecc);
	map->budget = map->lay.ec - semqr__misdecode_protection(version, ecc);
	semqr__data_order(version, map->order);
	semqr__deinterleave_map(version, ecc, block_of, index_of);
	for (int i = 0; i < semqr__total_codewords(version); i++)
		map->at[block_of[i]][index_of[i]] = i;
}

/* Codewords (data and EC) of block b. */
static int block_len(const test_codeword_map *map, int b)
{
	return map->lay.short_data + (b >= map->lay.short_count) + map->lay.ec;
}

/* Swaps a[i] with a random one of a[i..n-1] and returns the new a[i]: step i
 * of a Fisher-Yates shuffle, so that i = 0, 1, ... pick distinct entries. */
static int pick(test_rng *r, int *a, int i, int n)
{
	int j = i + (int)test_rng_below(r, (uint32_t)(n - i));
	int t = a[i];
	a[i] = a[j];
	a[j] = t;
	return a[i];
}

/* Damages codeword k of block b as test_corrupt_block describes. */
void test_corrupt_codeword(const test_codeword_map *map, test_rng *r, float *dark, int b, int k,
                           bool marked)
{
	const int *mod = &map->order[8 * map->at[b][k]];
	int flips = 1 + (int)test_rng_below(r, 8);
	int bits[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	for (int i = 0; i < flips; i++) {
		int m = mod[pick(r, bits, i, 8)];
		dark[m] = 1.0f - dark[m];
	}
	if (marked)
		for (int i = 0; i < 8; i++)
			dark[mod[i]] =
			    dark[mod[i]] > 0.5f ? 0.5f + TEST_UNSURE : 0.5f - TEST_UNSURE;
}

void test_corrupt_block(const test_codeword_map *map, test_rng *r, float *dark, int b, int count,
                        int marked)
{
	int idx[SEMQR_BLOCK_LEN_MAX];
	int n = block_len(map, b);
	for (int i = 0; i < n; i++)
		idx[i] = i;
	for (int i = 0; i < count; i++)
		test_corrupt_codeword(map, r, dark, b, pick(r, idx, i, n), i < marked);
}
