/* semqr_decode_matrix on symbols from semqr_encode with controlled damage:
 * argument checks, format and version information errors, Reed-Solomon
 * errors and soft erasures up to and beyond the correction budget, mirrored
 * symbols; names and option defaults. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "support/testutil.h"

#define CELLS (SEMQR_SIZE_MAX * SEMQR_SIZE_MAX)

static test_rng rng; /* seeded by each test that draws from it */

static semqr_symbol symbol;
static float dark[CELLS];
/* Alphanumeric, 10 characters: fits every version and level, 1-H exactly. */
static const char message[] = "QR-CODE 42";

/* Encodes `message` at exactly version-level with the given mask into the
 * globals symbol and dark. */
static void make_symbol(int version, semqr_ecc ecc, int mask)
{
	semqr_error err;
	if (test_encode_forced((const uint8_t *)message, strlen(message), version, ecc, mask,
	                       SEMQR_MODE_AUTO, &symbol, &err) != SEMQR_OK)
		fail_msg("encode: %s", err.message);
	semqr_symbol_to_soft(&symbol, dark);
}

static semqr_status decode(const semqr_decode_options *opts, semqr_decoded *d, semqr_error *err)
{
	semqr_soft_matrix m = { symbol.size, dark };
	return semqr_decode_matrix(&m, opts, d, err);
}

/* Decodes the globals and asserts the exact message. */
static void expect_message(const semqr_decode_options *opts, semqr_decoded *d)
{
	semqr_error err;
	if (decode(opts, d, &err) != SEMQR_OK)
		fail_msg("decode: %s", err.message);
	assert_int_equal(err.code, SEMQR_OK);
	assert_int_equal(d->payload_len, strlen(message));
	assert_memory_equal(d->payload, message, strlen(message));
	assert_string_equal(d->text, message);
	assert_int_equal(d->version, symbol.version);
	assert_int_equal(d->ecc, symbol.ecc);
	assert_int_equal(d->mask, symbol.mask);
}

/* Decoding fails with a message containing `needle` and an empty result. */
static void expect_failure(const semqr_decode_options *opts, semqr_status code,
                           const char *needle)
{
	semqr_decoded d;
	semqr_error err;
	assert_int_equal(decode(opts, &d, &err), code);
	assert_int_equal(err.code, code);
	if (!strstr(err.message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
	assert_null(d.payload);
	assert_null(d.text);
	assert_null(d.segments);
}

/* ---- codewords in the matrix -------------------------------------------- */

static test_codeword_map map;

/* Maps the codewords of the global symbol. */
static void map_symbol(void)
{
	test_codeword_map_build(symbol.version, symbol.ecc, &map);
}

/* Corrupts `count` distinct random codewords of block b; `marked` counts of
 * them (the first chosen) are marked unreliable. */
static void corrupt_block(int b, int count, int marked)
{
	test_corrupt_block(&map, &rng, dark, b, count, marked);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_names_and_defaults(void **state)
{
	semqr_decode_options o = { false, false, false };
	semqr_decode_options_init(&o);
	assert_true(o.try_mirrored);
	assert_true(o.use_erasures);
	assert_true(o.use_padding);
	assert_string_equal(semqr_ecc_name(SEMQR_ECC_L), "L");
	assert_string_equal(semqr_ecc_name(SEMQR_ECC_H), "H");
	assert_string_equal(semqr_mode_name(SEMQR_MODE_NUMERIC), "numeric");
	assert_string_equal(semqr_mode_name(SEMQR_MODE_ALPHANUMERIC), "alphanumeric");
	assert_string_equal(semqr_mode_name(SEMQR_MODE_BYTE), "byte");
	assert_string_equal(semqr_mode_name(SEMQR_MODE_KANJI), "kanji");
	assert_string_equal(semqr_mode_name(SEMQR_MODE_ECI), "ECI");
	assert_string_equal(semqr_mode_name((semqr_mode)6), "unknown");
	semqr_decoded zero;
	memset(&zero, 0, sizeof zero);
	semqr_decoded_free(&zero);

	make_symbol(2, SEMQR_ECC_M, 3);
	for (int i = 0; i < symbol.size * symbol.size; i++)
		assert_true(dark[i] == (symbol.modules[i] ? 1.0f : 0.0f));
}

static void test_invalid_arguments(void **state)
{
	static const int bad_sizes[] = { 0, -21, 17, 20, 22, 23, 24, 178, 181 };
	static float zeros[CELLS];
	semqr_decoded d;
	semqr_error err;
	for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		semqr_soft_matrix m = { bad_sizes[i], zeros };
		assert_int_equal(semqr_decode_matrix(&m, NULL, &d, &err), SEMQR_ERR_INVALID_ARGUMENT);
		assert_non_null(strstr(err.message, "size"));
	}
	semqr_soft_matrix none = { 21, NULL };
	assert_int_equal(semqr_decode_matrix(&none, NULL, &d, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_decode_matrix(NULL, NULL, &d, NULL), SEMQR_ERR_INVALID_ARGUMENT);
	semqr_soft_matrix m = { 21, zeros };
	assert_int_equal(semqr_decode_matrix(&m, NULL, NULL, &err), SEMQR_ERR_INVALID_ARGUMENT);

	make_symbol(1, SEMQR_ECC_M, 0);
	static const float bad_values[] = { -0.01f, 1.5f, NAN };
	for (size_t i = 0; i < 3; i++) {
		dark[3 * 21 + 5] = bad_values[i];
		expect_failure(NULL, SEMQR_ERR_INVALID_ARGUMENT, "module (5, 3)");
	}
}

/* Undamaged symbols of several versions: every reported field. */
static void test_clean(void **state)
{
	static const int versions[] = { 1, 3, 6, 7, 12, 40 };
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		for (int e = SEMQR_ECC_L; e <= SEMQR_ECC_H; e++) {
			int v = versions[i];
			make_symbol(v, (semqr_ecc)e, (int)(i + (size_t)e) % 8);
			map_symbol();
			semqr_decoded d;
			expect_message(NULL, &d);
			assert_false(d.mirrored);
			assert_int_equal(d.format_distance, 0);
			assert_int_equal(d.version_distance, v >= 7 ? 0 : -1);
			assert_int_equal(d.block_count, map.lay.blocks);
			for (int b = 0; b < d.block_count; b++) {
				assert_int_equal(d.ec_capacity[b], map.budget);
				assert_int_equal(d.errors[b], 0);
				assert_int_equal(d.erasures[b], 0);
			}
			assert_int_equal(d.errors_total, 0);
			assert_int_equal(d.erasures_total, 0);
			assert_true(d.ec_unused == 1.0);
			assert_int_equal(d.eci, -1);
			assert_int_equal(d.fnc1, 0);
			assert_false(d.structured_append);
			assert_true(d.segment_count >= 1);
			size_t total = 0;
			for (int s = 0; s < d.segment_count; s++) {
				assert_int_equal(d.segments[s].offset, total);
				total += d.segments[s].length;
			}
			assert_int_equal(total, d.payload_len);
			semqr_decoded_free(&d);
			assert_null(d.payload);
		}
	}
}

/* The first 4-bit pattern (over 15 bits) that leaves `word` more than 3 bits
 * from every format word, avoiding the bits in `avoid`. */
static uint32_t unreadable_flips(uint32_t word, uint32_t avoid)
{
	for (uint32_t f = 0; f < 1u << 15; f++) {
		semqr_ecc ecc;
		int mask;
		if (test_popcount(f) == 4 && !(f & avoid) && semqr__format_decode(word ^ f, &ecc, &mask) < 0)
			return f;
	}
	fail_msg("no unreadable 4-bit pattern");
	return 0;
}

static void set_bits(const int pos[], int nbits, uint32_t flips, float wrong_p)
{
	for (int i = 0; i < nbits; i++)
		if (flips >> i & 1)
			dark[pos[i]] = dark[pos[i]] > 0.5f ? 1.0f - wrong_p : wrong_p;
}

static void test_format_information(void **state)
{
	static const int versions[] = { 1, 8 };
	semqr_decode_options direct;
	semqr_decode_options_init(&direct);
	direct.try_mirrored = false;
	for (int i = 0; i < 2; i++) {
		int pos1[15], pos2[15];
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		semqr__format_positions(symbol.version, pos1, pos2);
		uint32_t word = semqr__format_bits(symbol.ecc, symbol.mask);
		semqr_decoded d;

		/* Copy 1 names another format exactly (the same level, another
		 * mask): it fails the Reed-Solomon check and copy 2's is taken. */
		uint32_t other = semqr__format_bits(symbol.ecc, (symbol.mask + 1) % 8);
		set_bits(pos1, 15, word ^ other, 1.0f);
		expect_message(NULL, &d);
		assert_int_equal(d.format_distance, 0);
		semqr_decoded_free(&d);

		/* The same 3 bits wrong in both copies (and so in their
		 * combination): decodes at distance 3. */
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		set_bits(pos1, 15, 0x0111, 1.0f);
		set_bits(pos2, 15, 0x0111, 1.0f);
		expect_message(NULL, &d);
		assert_int_equal(d.format_distance, 3);
		semqr_decoded_free(&d);

		/* 3 different bits in each copy. */
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		set_bits(pos1, 15, 0x7000, 1.0f);
		set_bits(pos2, 15, 0x000E, 1.0f);
		expect_message(NULL, &d);
		assert_true(d.format_distance <= 3);
		semqr_decoded_free(&d);

		/* Copy 1 unreadable, copy 2 clean. */
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		uint32_t f1 = unreadable_flips(word, 0);
		set_bits(pos1, 15, f1, 1.0f);
		expect_message(NULL, &d);
		assert_int_equal(d.format_distance, 0);
		semqr_decoded_free(&d);

		/* Both copies unreadable but wrong only weakly (p 0.4 / 0.6) in
		 * different bits: the soft combination is exact. */
		uint32_t f2 = unreadable_flips(word, f1);
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		set_bits(pos1, 15, f1, 0.6f);
		set_bits(pos2, 15, f2, 0.6f);
		expect_message(&direct, &d);
		assert_int_equal(d.format_distance, 0);
		semqr_decoded_free(&d);

		/* The same 4 bits wrong and sure in both copies: unreadable. */
		make_symbol(versions[i], SEMQR_ECC_Q, 5);
		set_bits(pos1, 15, f1, 1.0f);
		set_bits(pos2, 15, f1, 1.0f);
		expect_failure(&direct, SEMQR_ERR_DECODE,
		               "format information unreadable (both copies and their soft "
		               "combination > 3 bit errors)");
		expect_failure(NULL, SEMQR_ERR_DECODE, "transposed: ");
	}
}

static void test_version_information(void **state)
{
	static const int versions[] = { 7, 21, 40 };
	for (int i = 0; i < 3; i++) {
		int pos1[18], pos2[18];
		semqr_decoded d;
		make_symbol(versions[i], SEMQR_ECC_M, 1);
		semqr__version_positions(symbol.version, pos1, pos2);

		set_bits(pos1, 18, 0x20301, 1.0f);
		set_bits(pos2, 18, 0x01C00, 1.0f);
		expect_message(NULL, &d);
		assert_int_equal(d.version_distance, 3);
		semqr_decoded_free(&d);

		/* Both copies beyond 3 errors: the size decides, the distance says
		 * how far the better copy is. */
		make_symbol(versions[i], SEMQR_ECC_M, 1);
		set_bits(pos1, 18, 0x3F000, 1.0f);
		set_bits(pos2, 18, 0x0001F, 1.0f);
		expect_message(NULL, &d);
		assert_int_equal(d.version_distance, 5);
		semqr_decoded_free(&d);

		/* Both copies name another version exactly. */
		make_symbol(versions[i], SEMQR_ECC_M, 1);
		int other = versions[i] == 40 ? 39 : versions[i] + 1;
		uint32_t diff = semqr__version_bits(versions[i]) ^ semqr__version_bits(other);
		set_bits(pos1, 18, diff, 1.0f);
		set_bits(pos2, 18, diff, 1.0f);
		expect_message(NULL, &d);
		int n = test_popcount(diff);
		assert_int_equal(d.version_distance, n);
		assert_true(n >= 8);
		semqr_decoded_free(&d);
	}
}

/* Version 5-Q: 4 blocks of 33 or 34 codewords with 18 EC codewords each, so
 * errors alone correct 9 codewords per block, erasures up to 16 (the
 * budget less the 2 check codewords every erasure decoding leaves). */
static void test_erasures(void **state)
{
	/* The Reed-Solomon stage alone: no padding assumed (test_padding). */
	semqr_decode_options rs, no_erasures;
	semqr_decode_options_init(&rs);
	rs.use_padding = false;
	no_erasures = rs;
	no_erasures.use_erasures = false;
	semqr_decoded d;
	test_rng_seed(&rng, 0x5EED0001);

	/* 12 wrong codewords in block 2, all marked unreliable. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	map_symbol();
	assert_int_equal(map.budget, 18);
	corrupt_block(1, 12, 12);
	expect_message(&rs, &d);
	assert_true(d.erasures[1] > 0);
	assert_true(2 * d.errors[1] + d.erasures[1] <= 16);
	assert_int_equal(d.erasures_total, d.erasures[1]);
	assert_true(d.ec_unused < 1.0 - 12.0 / 18.0 + 1e-9);
	semqr_decoded_free(&d);
	expect_failure(&no_erasures, SEMQR_ERR_DECODE, "block 2 (33 codewords, 18 EC)");

	/* The same hard (not marked): beyond errors-only, and erasure trials on
	 * equally reliable codewords cannot help. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(1, 12, 0);
	expect_failure(&rs, SEMQR_ERR_DECODE, "1 of 4 Reed-Solomon blocks beyond correction");

	/* 16 marked wrong codewords in every block: the whole erasure budget. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	for (int b = 0; b < 4; b++)
		corrupt_block(b, 16, 16);
	expect_message(&rs, &d);
	for (int b = 0; b < 4; b++)
		assert_true(d.erasures[b] > 0 && 2 * d.errors[b] + d.erasures[b] <= 16);
	assert_true(d.ec_unused > 0.0);
	semqr_decoded_free(&d);

	/* 18 marked: the whole budget would leave no check, so it fails. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(1, 18, 18);
	expect_failure(&rs, SEMQR_ERR_DECODE, "block 2 (33 codewords, 18 EC)");

	/* 10 marked plus 3 unmarked wrong codewords: 2 * 3 + 10 = 16. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(3, 13, 10);
	expect_message(&rs, &d);
	assert_int_equal(d.errors[3], 3);
	assert_int_equal(d.erasures[3], 10);
	semqr_decoded_free(&d);

	/* 16 marked codewords of which 11 are wrong (5 are right but unsure):
	 * beyond errors alone (9), within the erasures. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(0, 16, 16);
	int restored = 0;
	for (int k = 0; k < 33 && restored < 5; k++) {
		const int *mod = &map.order[8 * map.at[0][k]];
		bool marked = fabsf(dark[mod[0]] - 0.5f) < 0.1f;
		bool wrong = false;
		for (int j = 0; j < 8; j++)
			wrong |= (dark[mod[j]] > 0.5f) != symbol.modules[mod[j]];
		if (!marked || !wrong)
			continue;
		for (int j = 0; j < 8; j++)
			dark[mod[j]] = symbol.modules[mod[j]] ? 0.5f + TEST_UNSURE : 0.5f - TEST_UNSURE;
		restored++;
	}
	assert_int_equal(restored, 5);
	expect_message(&rs, &d);
	assert_true(d.erasures[0] > 0);
	semqr_decoded_free(&d);

	/* One more than the erasure budget, marked: fails, naming the block. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(2, 17, 17);
	expect_failure(&rs, SEMQR_ERR_DECODE, "block 3 (34 codewords, 18 EC)");
	/* 10 marked plus 4 unmarked: 2 * 4 + 10 = 18 > 16. */
	make_symbol(5, SEMQR_ECC_Q, 6);
	corrupt_block(2, 14, 10);
	expect_failure(&rs, SEMQR_ERR_DECODE, "beyond correction");
}

/* Random damage beyond the budget of one block never yields a payload.
 * 200 trials over versions 1-L (misdecode protection 3), 2-M and 5-Q, each
 * with budget / 2 + 1 .. budget + 3 corrupted codewords in one block, a random
 * share of them marked unreliable so that 2 * unmarked + marked > budget. */
static void test_beyond_capacity(void **state)
{
	static const struct { int v; semqr_ecc e; } syms[] = {
		{ 1, SEMQR_ECC_L }, { 2, SEMQR_ECC_M }, { 5, SEMQR_ECC_Q },
	};
	/* The Reed-Solomon stage alone: no padding assumed (test_padding). */
	semqr_decode_options rs;
	semqr_decode_options_init(&rs);
	rs.use_padding = false;
	test_rng_seed(&rng, 0x5EED0002);
	int trials = 0;
	for (int t = 0; t < 200; t++) {
		make_symbol(syms[t % 3].v, syms[t % 3].e, t % 8);
		map_symbol();
		int b = (int)test_rng_below(&rng, (uint32_t)map.lay.blocks);
		int count =
		    map.budget / 2 + 1 + (int)test_rng_below(&rng, (uint32_t)(map.budget / 2 + 3));
		int marked = (int)test_rng_below(&rng, (uint32_t)count + 1);
		if (2 * (count - marked) + marked <= map.budget)
			marked = 2 * count - map.budget - 1;
		corrupt_block(b, count, marked);
		semqr_decoded d;
		semqr_error err;
		assert_int_not_equal(decode(&rs, &d, &err), SEMQR_OK);
		assert_null(d.payload);
		trials++;
	}
	print_message("%d symbols damaged beyond their budget, none decoded\n", trials);
}

/* Padding-aware decoding (decode.c, decode_padded). "QR-CODE 42" takes 9 of
 * the 44 data codewords of a 3-M symbol (68 bits and the terminator), the
 * other 35 are pads. With 6 wrong codewords outside the pads and 10 in
 * them (16 in all, beyond errors-only's 13) it decodes with the pads, all
 * 16 counted as errors, and fails without. The same in a 5-Q symbol (four
 * blocks, budget 18): 3 wrong EC codewords and every data codeword of block
 * 3 (pads) wrong. A message that fills the capacity has no pads: 16 wrong
 * codewords fail with padding on. And it never decodes wrong: 1500 trials
 * of the short 3-M message with 14 to 40 random codewords wrong, and 500
 * with all 70 replaced by random bytes, decode either the exact message or
 * nothing. */
static void test_padding(void **state)
{
	semqr_decode_options no_padding;
	semqr_decode_options_init(&no_padding);
	no_padding.use_padding = false;
	semqr_decoded d;
	test_rng_seed(&rng, 0x5EED0003);

	make_symbol(3, SEMQR_ECC_M, 2);
	map_symbol();
	assert_int_equal(map.lay.blocks, 1);
	int outside[35], inside[35];
	for (int i = 0; i < 35; i++) {
		outside[i] = i < 9 ? i : 44 + (i - 9); /* the message's 9, the 26 EC */
		inside[i] = 9 + i;                     /* the pads */
	}
	for (int i = 0; i < 6; i++)
		test_corrupt_codeword(&map, &rng, dark, 0, outside[5 * i + 1], false);
	for (int i = 0; i < 10; i++)
		test_corrupt_codeword(&map, &rng, dark, 0, inside[3 * i + 2], false);
	expect_failure(&no_padding, SEMQR_ERR_DECODE, "beyond correction");
	expect_message(NULL, &d);
	assert_true(d.pad_codewords > 0 && d.pad_codewords <= 35);
	assert_int_equal(d.errors_total, 16);
	semqr_decoded_free(&d);

	make_symbol(5, SEMQR_ECC_Q, 6);
	map_symbol();
	assert_int_equal(map.lay.blocks, 4);
	int data3 = map.lay.short_data + (3 >= map.lay.short_count);
	for (int k = 0; k < data3; k++)
		test_corrupt_codeword(&map, &rng, dark, 3, k, false);
	for (int k = 0; k < 3; k++)
		test_corrupt_codeword(&map, &rng, dark, 3, data3 + 5 * k, false);
	expect_failure(&no_padding, SEMQR_ERR_DECODE, "block 4");
	expect_message(NULL, &d);
	assert_true(d.pad_codewords > 0);
	assert_int_equal(d.errors[3], data3 + 3);
	semqr_decoded_free(&d);

	/* 42 bytes: 4 + 8 + 336 bits of 352, no pad codeword. */
	static const char full[] = "0123456789abcdefghijklmnopqrstuvwxyz!?-+*/";
	semqr_error err;
	if (test_encode_forced((const uint8_t *)full, strlen(full), 3, SEMQR_ECC_M, 2,
	                       SEMQR_MODE_BYTE, &symbol, &err) != SEMQR_OK)
		fail_msg("encode: %s", err.message);
	semqr_symbol_to_soft(&symbol, dark);
	map_symbol();
	for (int i = 0; i < 16; i++)
		test_corrupt_codeword(&map, &rng, dark, 0, 4 * i + 1, false);
	assert_int_not_equal(decode(NULL, &d, &err), SEMQR_OK);
	assert_null(d.payload);

	int decoded = 0, failed = 0;
	for (int t = 0; t < 2000; t++) {
		make_symbol(3, SEMQR_ECC_M, t % 8);
		map_symbol();
		int count = t < 1500 ? 14 + (int)test_rng_below(&rng, 27) : 70;
		test_corrupt_block(&map, &rng, dark, 0, count, 0);
		if (t >= 1500) /* random bytes: every data module a coin flip */
			for (int k = 0; k < 70; k++)
				for (int bit = 0; bit < 8; bit++)
					dark[map.order[8 * map.at[0][k] + bit]] =
					    test_rng_below(&rng, 2) ? 1.0f : 0.0f;
		semqr_status st = decode(NULL, &d, &err);
		if (st == SEMQR_OK) {
			assert_true(t < 1500);
			assert_int_equal(d.payload_len, strlen(message));
			assert_memory_equal(d.payload, message, strlen(message));
			semqr_decoded_free(&d);
			decoded++;
		} else {
			assert_null(d.payload);
			failed++;
		}
	}
	print_message("padding: %d of 2000 damaged symbols decoded (all exact), %d not\n", decoded,
	              failed);
	assert_true(decoded > 100 && failed > 500);
}

/* Padding-aware decoding across block structures: versions 1, 7, 13, 20,
 * 27, 34 and 40 at every level, the short message, and in every block with
 * room for it budget / 2 + 2 wrong pad codewords (data codewords from index
 * 12 on in data order, past the message and its terminator) and one wrong
 * EC codeword: beyond errors-only in each such block, within reach once the
 * pads are known. Each symbol with such a block decodes exactly with pads
 * assumed (those blocks' errors counted with their pads) and fails without.
 * Level H and small versions' first block have fewer pads than that; 21 of
 * the 28 symbols have such blocks, 13 of them in every block. The first
 * pads of every such block are the wrong ones: a run of wrong pads right
 * after the message, which misleads the likelihood walk (decode.c) and
 * leaves the message's own header to name the pads. */
static void test_padding_layouts(void **state)
{
	semqr_decode_options no_padding;
	semqr_decode_options_init(&no_padding);
	no_padding.use_padding = false;
	static const int versions[] = {1, 7, 13, 20, 27, 34, 40};
	test_rng_seed(&rng, 0x5EED0004);
	int symbols = 0, every_block = 0;
	for (size_t vi = 0; vi < sizeof versions / sizeof *versions; vi++)
		for (int e = 0; e < 4; e++) {
			make_symbol(versions[vi], (semqr_ecc)e, (int)(vi + (size_t)e) % 8);
			map_symbol();
			int want = map.budget / 2 + 2, hit[SEMQR_BLOCKS_MAX], hits = 0;
			for (int b = 0, start = 0; b < map.lay.blocks; b++) {
				int data = map.lay.short_data + (b >= map.lay.short_count);
				int first = start >= 12 ? 0 : 12 - start; /* the block's first pad */
				hit[b] = data - first >= want;
				if (hit[b]) {
					for (int k = 0; k < want; k++)
						test_corrupt_codeword(&map, &rng, dark, b, first + k, false);
					test_corrupt_codeword(&map, &rng, dark, b, data + map.lay.ec / 2,
					                      false);
					hits++;
				}
				start += data;
			}
			if (!hits)
				continue;
			expect_failure(&no_padding, SEMQR_ERR_DECODE, "beyond correction");
			semqr_decoded d;
			expect_message(NULL, &d);
			assert_true(d.pad_codewords > 0);
			for (int b = 0; b < map.lay.blocks; b++)
				assert_int_equal(d.errors[b], hit[b] ? want + 1 : 0);
			semqr_decoded_free(&d);
			symbols++;
			every_block += hits == map.lay.blocks;
		}
	print_message("padding: %d symbols of versions 1-40 with blocks beyond errors-only (%d in "
	              "every block), all decoded\n",
	              symbols, every_block);
	assert_int_equal(symbols, 21);
	assert_int_equal(every_block, 13);
}

/* Soft noise over whole symbols: every module is damaged (p uniform in
 * [0, 1]) with a probability drawn per trial from [0, 0.15], the others keep
 * their value blurred by up to 0.1 towards 0.5. Whatever decodes must be the
 * exact message; both outcomes occur, and some decodings need erasures.
 * 300 trials over versions 1..10 and all levels. */
static void test_soft_noise(void **state)
{
	test_rng_seed(&rng, 0x5EED0004);
	int ok = 0, failed = 0, with_erasures = 0;
	for (int t = 0; t < 300; t++) {
		make_symbol(1 + t % 10, (semqr_ecc)(t / 10 % 4), t % 8);
		uint32_t rate = test_rng_below(&rng, 150); /* per mille */
		for (int i = 0; i < symbol.size * symbol.size; i++) {
			if (test_rng_below(&rng, 1000) < rate)
				dark[i] = (float)test_rng_below(&rng, 1001) / 1000.0f;
			else
				dark[i] = fabsf(dark[i] - (float)test_rng_below(&rng, 101) / 1000.0f);
		}
		semqr_decoded d;
		semqr_error err;
		if (decode(NULL, &d, &err) != SEMQR_OK) {
			assert_null(d.payload);
			failed++;
			continue;
		}
		assert_int_equal(d.payload_len, strlen(message));
		assert_memory_equal(d.payload, message, strlen(message));
		ok++;
		with_erasures += d.erasures_total > 0;
		semqr_decoded_free(&d);
	}
	print_message("soft noise: %d decoded (%d using erasures), %d failed\n", ok,
	              with_erasures, failed);
	assert_true(ok > 0 && failed > 0 && with_erasures > 0);
}

static void test_mirrored(void **state)
{
	static const int versions[] = { 1, 10 };
	for (int i = 0; i < 2; i++) {
		make_symbol(versions[i], SEMQR_ECC_H, 2);
		int n = symbol.size;
		for (int y = 0; y < n; y++)
			for (int x = 0; x < y; x++) {
				float t = dark[y * n + x];
				dark[y * n + x] = dark[x * n + y];
				dark[x * n + y] = t;
			}
		semqr_decoded d;
		expect_message(NULL, &d);
		assert_true(d.mirrored);
		semqr_decoded_free(&d);
		semqr_decode_options o;
		semqr_decode_options_init(&o);
		o.try_mirrored = false;
		semqr_error err;
		assert_int_equal(decode(&o, &d, &err), SEMQR_ERR_DECODE);
		assert_null(d.payload);
	}
}

/* Matrices without a symbol: all unknown, and 40 random ones. */
static void test_no_symbol(void **state)
{
	make_symbol(1, SEMQR_ECC_M, 0);
	for (int i = 0; i < 21 * 21; i++)
		dark[i] = 0.5f;
	semqr_decoded d;
	semqr_error err;
	assert_int_equal(decode(NULL, &d, &err), SEMQR_ERR_DECODE);
	test_rng_seed(&rng, 0x5EED0003);
	for (int t = 0; t < 40; t++) {
		for (int i = 0; i < 21 * 21; i++)
			dark[i] = (float)test_rng_below(&rng, 1001) / 1000.0f;
		assert_int_equal(decode(NULL, &d, &err), SEMQR_ERR_DECODE);
		assert_true(err.message[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_defaults),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_format_information),
		cmocka_unit_test(test_version_information),
		cmocka_unit_test(test_erasures),
		cmocka_unit_test(test_beyond_capacity),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_padding_layouts),
		cmocka_unit_test(test_soft_noise),
		cmocka_unit_test(test_mirrored),
		cmocka_unit_test(test_no_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
