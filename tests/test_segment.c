/* Mode classification and least-bit-length segmentation (qr/segment.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "qr/segment.h"
#include "support/testutil.h"

#define KANJI_DOT "\xE7\x82\xB9" /* 点, Shift JIS 0x935F */

/* Character-count widths of ISO/IEC 18004 table 3, by mode (N, A, B, K) and
 * version range (1-9, 10-26, 27-40), kept here independently of tables.c. */
static const int count_bits[4][3] = { { 10, 12, 14 }, { 9, 11, 13 }, { 8, 16, 16 }, { 8, 10, 12 } };

static int range_of(int version)
{
	return version <= 9 ? 0 : version <= 26 ? 1 : 2;
}

static int mode_index(semqr_mode m)
{
	switch (m) {
	case SEMQR_MODE_NUMERIC: return 0;
	case SEMQR_MODE_ALPHANUMERIC: return 1;
	case SEMQR_MODE_BYTE: return 2;
	case SEMQR_MODE_KANJI: return 3;
	default: fail_msg("unexpected mode %d", (int)m);
	}
	return -1;
}

/* Bits of a segment by the standard's formulas: chars characters of mode
 * index m taking bytes payload bytes. */
static long ref_bits(int m, int chars, size_t bytes, int version)
{
	long data;
	switch (m) {
	case 0: data = 10L * (chars / 3) + (chars % 3 == 1 ? 4 : chars % 3 == 2 ? 7 : 0); break;
	case 1: data = 11L * (chars / 2) + 6L * (chars % 2); break;
	case 2: data = 8L * (long)bytes; break;
	default: data = 13L * chars; break;
	}
	return 4 + count_bits[m][range_of(version)] + data;
}

static const char alnum_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

static bool is_alnum(uint8_t c)
{
	return c != 0 && strchr(alnum_chars, c) != NULL;
}

/* Checks that segs tile data[0..len), that each segment's bytes are valid
 * for its mode and its character count right, and returns the sum of the
 * reference bit lengths. */
static long check_tiling(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                         const semqr_seg *segs, int n, int version)
{
	size_t pos = 0;
	long total = 0;
	for (int i = 0; i < n; i++) {
		const semqr_seg *s = &segs[i];
		assert_int_equal(s->offset, pos);
		assert_true(s->length > 0);
		int chars = 0;
		for (size_t j = s->offset; j < s->offset + s->length; chars++) {
			switch (s->mode) {
			case SEMQR_MODE_NUMERIC: assert_true(data[j] >= '0' && data[j] <= '9'); j++; break;
			case SEMQR_MODE_ALPHANUMERIC: assert_true(is_alnum(data[j])); j++; break;
			case SEMQR_MODE_BYTE: j++; break;
			case SEMQR_MODE_KANJI:
				assert_non_null(kanji);
				assert_true(kanji[j].len >= 2);
				j += kanji[j].len;
				assert_true(j <= s->offset + s->length);
				break;
			default: fail_msg("segment %d has mode %d", i, (int)s->mode);
			}
		}
		assert_int_equal(chars, s->chars);
		if (i > 0)
			assert_int_not_equal(segs[i - 1].mode, s->mode);
		total += ref_bits(mode_index(s->mode), s->chars, s->length, version);
		pos += s->length;
	}
	assert_int_equal(pos, len);
	return total;
}

/* Segments data optimally for version, checks the tiling and the reported
 * total, and returns the mode letters (N, A, B, K) in out. */
static long segment(const char *text, bool use_kanji, int version, char *modes_out)
{
	const uint8_t *data = (const uint8_t *)text;
	size_t len = strlen(text);
	semqr_kanji *kanji = NULL;
	if (use_kanji) {
		kanji = malloc((len ? len : 1) * sizeof *kanji);
		assert_non_null(kanji);
		semqr__find_kanji(data, len, kanji);
	}
	semqr_seg *segs = malloc((len ? len : 1) * sizeof *segs);
	assert_non_null(segs);
	long bits = -1;
	int n = semqr__segment_optimal(data, len, kanji, version, segs, &bits);
	assert_true(n >= 0);
	assert_int_equal(check_tiling(data, len, kanji, segs, n, version), bits);
	for (int i = 0; i < n; i++)
		modes_out[i] = "NABK"[mode_index(segs[i].mode)];
	modes_out[n] = '\0';
	free(segs);
	free(kanji);
	return bits;
}

static void test_alnum_value(void **state)
{
	for (int c = 0; c < 256; c++) {
		const char *p = c ? strchr(alnum_chars, c) : NULL;
		int want = p ? (int)(p - alnum_chars) : -1;
		assert_int_equal(semqr__alnum_value((uint8_t)c), want);
	}
}

static void test_segment_bits(void **state)
{
	/* ISO/IEC 18004 examples: "01234567" is 41 bits in version 1, "AC-42"
	 * is 41 bits; "点茗" in Kanji mode is 4 + 8 + 26. */
	assert_int_equal(semqr__segment_bits(SEMQR_MODE_NUMERIC, 8, 1), 41);
	assert_int_equal(semqr__segment_bits(SEMQR_MODE_ALPHANUMERIC, 5, 1), 41);
	assert_int_equal(semqr__segment_bits(SEMQR_MODE_KANJI, 2, 1), 38);
	for (int v = 1; v <= 40; v++)
		for (int m = 0; m < 4; m++)
			for (int chars = 0; chars < 12; chars++) {
				static const semqr_mode modes[4] = { SEMQR_MODE_NUMERIC, SEMQR_MODE_ALPHANUMERIC,
				                                     SEMQR_MODE_BYTE, SEMQR_MODE_KANJI };
				assert_int_equal(semqr__segment_bits(modes[m], chars, v),
				                 ref_bits(m, chars, (size_t)chars, v));
			}
}

/* Hand-worked segmentations; the bit totals are the sums of the segments'
 * formula lengths. */
static void test_crafted(void **state)
{
	static const struct {
		const char *text;
		bool kanji;
		int version;
		const char *modes;
		long bits;
	} cases[] = {
		{ "", true, 1, "", 0 },
		{ "123456789012ABCDEFGH", true, 1, "NA", 54 + 57 },
		/* A long digit run inside bytes is worth two switches... */
		{ "abc12345678901234567890def", true, 1, "BNB", 36 + 81 + 36 },
		/* ...a short one is not. */
		{ "ab12cd", true, 1, "B", 60 },
		/* Switching costs grow with the count widths: 7 digits between
		 * bytes pay off in versions 1-9 only. */
		{ "ab1234567cd", true, 1, "BNB", 94 },
		{ "ab1234567cd", true, 10, "B", 108 },
		{ "ab1234567cd", true, 27, "B", 108 },
		{ "a1234567890123", true, 27, "BN", 90 },
		/* Kanji runs. */
		{ KANJI_DOT KANJI_DOT KANJI_DOT "ABC", true, 1, "KA", 51 + 30 },
		{ KANJI_DOT KANJI_DOT KANJI_DOT KANJI_DOT "a", true, 1, "KB", 64 + 20 },
		{ "ABCDEFG" KANJI_DOT KANJI_DOT, true, 10, "AK", 94 },
		{ "a" KANJI_DOT "b", true, 1, "B", 52 },
		/* Without Kanji mode the same text is bytes. */
		{ KANJI_DOT KANJI_DOT KANJI_DOT "ABC", false, 1, "B", 108 },
		/* Pure runs. */
		{ "0123456789", true, 40, "N", 4 + 14 + 34 },
		{ "HELLO WORLD", true, 1, "A", 74 },
		{ "hello", true, 1, "B", 52 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char modes[64];
		long bits = segment(cases[i].text, cases[i].kanji, cases[i].version, modes);
		if (strcmp(modes, cases[i].modes) != 0 || bits != cases[i].bits)
			fail_msg("case %zu (\"%s\", v%d): got %s %ld bits, expected %s %ld", i,
			         cases[i].text, cases[i].version, modes, bits, cases[i].modes, cases[i].bits);
	}
}

/* ---- brute force ------------------------------------------------------- */

/* Characters of the random strings: 1 byte each except the kanji, 3. */
static const char *const alphabet[] = {
	"0", "1", "5", "9", "A", "Z", " ", ":", "a", "z", KANJI_DOT,
};

/* Least bits of a run of characters chars[a..b) over the modes that can
 * encode all of it (Kanji only when allowed), or -1 when none can. */
static long best_run(const int *chars, int a, int b, bool use_kanji, int version)
{
	bool numeric = true, alnum = true, kanji = use_kanji;
	size_t bytes = 0;
	for (int i = a; i < b; i++) {
		const char *c = alphabet[chars[i]];
		bytes += strlen(c);
		numeric = numeric && c[0] >= '0' && c[0] <= '9';
		alnum = alnum && is_alnum((uint8_t)c[0]);
		kanji = kanji && strlen(c) == 3;
	}
	long best = ref_bits(2, b - a, bytes, version);
	if (numeric && ref_bits(0, b - a, bytes, version) < best)
		best = ref_bits(0, b - a, bytes, version);
	if (alnum && ref_bits(1, b - a, bytes, version) < best)
		best = ref_bits(1, b - a, bytes, version);
	if (kanji && ref_bits(3, b - a, bytes, version) < best)
		best = ref_bits(3, b - a, bytes, version);
	return best;
}

/* Minimum over every segmentation: each of the 2^(n-1) ways to cut the
 * characters into runs, each run in its cheapest mode (runs are independent
 * once the cuts are fixed). */
static long brute_force(const int *chars, int n, bool use_kanji, int version)
{
	if (n == 0)
		return 0;
	long best = -1;
	for (unsigned cuts = 0; cuts < 1u << (n - 1); cuts++) {
		long total = 0;
		int start = 0;
		for (int i = 1; i <= n; i++) {
			if (i == n || (cuts >> (i - 1) & 1)) {
				total += best_run(chars, start, i, use_kanji, version);
				start = i;
			}
		}
		if (best < 0 || total < best)
			best = total;
	}
	return best;
}

/* 1500 random strings of 0..10 characters, each segmented for versions 1,
 * 10 and 27, with and without Kanji mode: the DP's total must equal the
 * brute-force minimum. Characters come in runs of one class to make mode
 * switches worth considering. */
static void test_brute_force(void **state)
{
	static const int versions[3] = { 1, 10, 27 };
	test_rng rng;
	test_rng_seed(&rng, 0x2545F491u);
	for (int trial = 0; trial < 1500; trial++) {
		int n = (int)test_rng_below(&rng, 11), chars[10];
		char text[64] = "";
		int cls = (int)test_rng_below(&rng, 5);
		for (int i = 0; i < n; i++) {
			if (test_rng_below(&rng, 3) == 0)
				cls = (int)test_rng_below(&rng, 5);
			/* classes: digits, upper, alnum punctuation, lower, kanji */
			static const int first[5] = { 0, 4, 6, 8, 10 }, count[5] = { 4, 2, 2, 2, 1 };
			chars[i] = first[cls] + (int)test_rng_below(&rng, (uint32_t)count[cls]);
			strcat(text, alphabet[chars[i]]);
		}
		for (int k = 0; k < 2; k++) {
			for (int r = 0; r < 3; r++) {
				char modes[64];
				long dp = segment(text, k == 1, versions[r], modes);
				long bf = brute_force(chars, n, k == 1, versions[r]);
				if (dp != bf)
					fail_msg("trial %d \"%s\" v%d kanji %d: DP %ld bits (%s), brute force %ld",
					         trial, text, versions[r], k, dp, modes, bf);
			}
		}
	}
}

/* The claim in segment.h: a segment that fits a symbol never exceeds its
 * count field. For each version, level and mode, the most characters that
 * fit the data capacity alone must be below 2^count_bits. */
static void test_count_fields_never_overflow(void **state)
{
	for (int v = 1; v <= 40; v++) {
		for (int e = 0; e < 4; e++) {
			long cap = 8L * semqr__data_codewords(v, (semqr_ecc)e);
			for (int m = 0; m < 4; m++) {
				int chars = 0;
				while (ref_bits(m, chars + 1, (size_t)chars + 1, v) <= cap)
					chars++;
				int width = count_bits[m][range_of(v)];
				if (chars >= 1 << width)
					fail_msg("version %d level %d mode %d: %d characters fit, count field %d bits",
					         v, e, m, chars, width);
			}
		}
	}
	/* The largest symbol's known capacities (ISO/IEC 18004 table 7, 40-L). */
	assert_int_equal(semqr__data_codewords(40, SEMQR_ECC_L), 2956);
}

static void test_segment_whole(void **state)
{
	const uint8_t *text = (const uint8_t *)"0123" KANJI_DOT "x";
	size_t len = strlen((const char *)text);
	semqr_kanji kanji[16];
	semqr__find_kanji(text, len, kanji);
	semqr_seg seg;
	size_t bad = 99;

	assert_int_equal(semqr__segment_whole(text, 4, NULL, SEMQR_MODE_NUMERIC, &seg, &bad), 0);
	assert_int_equal(seg.mode, SEMQR_MODE_NUMERIC);
	assert_int_equal(seg.chars, 4);
	assert_int_equal(seg.length, 4);
	assert_int_equal(semqr__segment_whole(text, len, NULL, SEMQR_MODE_NUMERIC, &seg, &bad), -1);
	assert_int_equal(bad, 4);
	assert_int_equal(semqr__segment_whole((const uint8_t *)"AB-c", 4, NULL,
	                                      SEMQR_MODE_ALPHANUMERIC, &seg, &bad), -1);
	assert_int_equal(bad, 3);
	assert_int_equal(semqr__segment_whole(text, len, NULL, SEMQR_MODE_BYTE, &seg, &bad), 0);
	assert_int_equal(seg.chars, (int)len);
	assert_int_equal(semqr__segment_whole(text + 4, 3, kanji + 4, SEMQR_MODE_KANJI, &seg, &bad), 0);
	assert_int_equal(seg.chars, 1);
	assert_int_equal(seg.length, 3);
	assert_int_equal(semqr__segment_whole(text + 4, 4, kanji + 4, SEMQR_MODE_KANJI, &seg, &bad), -1);
	assert_int_equal(bad, 3);
	assert_int_equal(semqr__segment_whole(text, 0, NULL, SEMQR_MODE_NUMERIC, &seg, &bad), 0);
	assert_int_equal(seg.chars, 0);
}

static void test_find_kanji(void **state)
{
	/* "A点" then a truncated 点 and a Greek alpha. */
	const uint8_t text[] = "A" KANJI_DOT "\xE7\x82" "\xCE\xB1";
	size_t len = sizeof text - 1;
	semqr_kanji kanji[16];
	semqr__find_kanji(text, len, kanji);
	static const uint8_t want_len[8] = { 0, 3, 0, 0, 0, 0, 2, 0 };
	for (size_t i = 0; i < len; i++)
		assert_int_equal(kanji[i].len, want_len[i]);
	assert_int_equal(kanji[1].sjis, 0x935F);
	assert_int_equal(kanji[6].sjis, 0x83BF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alnum_value),
		cmocka_unit_test(test_segment_bits),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_count_fields_never_overflow),
		cmocka_unit_test(test_segment_whole),
		cmocka_unit_test(test_find_kanji),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
