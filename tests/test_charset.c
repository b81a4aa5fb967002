/* Character-set helpers: ECI table, UTF-8 validation, conversion to UTF-8,
 * and the UTF-8 to Kanji-mode mapping. */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qr/charset.h"

/* Every ECI the header promises has a name iconv accepts, in both
 * directions; reserved and out-of-range assignments have none. */
static void test_eci_table(void **state)
{
	static const int known[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18,
	                             20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30 };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		const char *name = semqr__eci_charset(known[i]);
		assert_non_null(name);
		iconv_t cd = iconv_open("UTF-8", name);
		assert_true(cd != (iconv_t)-1);
		iconv_close(cd);
	}
	assert_string_equal(semqr__eci_charset(3), "ISO-8859-1");
	assert_string_equal(semqr__eci_charset(20), "SHIFT_JIS");
	assert_string_equal(semqr__eci_charset(26), "UTF-8");
	assert_string_equal(semqr__eci_charset(0), "CP437");
	static const int unknown[] = { -1, 14, 19, 31, 899, 1000, 999999 };
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		assert_null(semqr__eci_charset(unknown[i]));
}

static void test_utf8_valid(void **state)
{
	static const struct { const char *s; size_t n; bool valid; } cases[] = {
		{ "", 0, true },
		{ "plain ASCII", 11, true },
		{ "\xC3\xA9", 2, true },                 /* U+00E9 */
		{ "\xE7\x82\xB9", 3, true },             /* U+70B9 */
		{ "\xF0\x9F\x98\x80", 4, true },         /* U+1F600 */
		{ "\xF4\x8F\xBF\xBF", 4, true },         /* U+10FFFF */
		{ "\xED\x9F\xBF", 3, true },             /* U+D7FF */
		{ "\xEE\x80\x80", 3, true },             /* U+E000 */
		{ "\x00", 1, true },                     /* NUL is a character */
		{ "\x80", 1, false },                    /* stray continuation */
		{ "\xC0\x80", 2, false },                /* overlong NUL */
		{ "\xC1\xBF", 2, false },                /* overlong */
		{ "\xE0\x9F\xBF", 3, false },            /* overlong 3-byte */
		{ "\xF0\x8F\xBF\xBF", 4, false },        /* overlong 4-byte */
		{ "\xED\xA0\x80", 3, false },            /* surrogate U+D800 */
		{ "\xED\xBF\xBF", 3, false },            /* surrogate U+DFFF */
		{ "\xF4\x90\x80\x80", 4, false },        /* U+110000 */
		{ "\xF5\x80\x80\x80", 4, false },
		{ "\xFF", 1, false },
		{ "\xE7\x82", 2, false },                /* truncated */
		{ "a\xC3", 2, false },                   /* truncated at end */
		{ "\xC3\x41", 2, false },                /* bad continuation */
		{ "\xE7\x82\xB9\xE7\x82\xB9x", 7, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool got = semqr__utf8_valid((const uint8_t *)cases[i].s, cases[i].n);
		if (got != cases[i].valid)
			fail_msg("case %zu: expected %d", i, cases[i].valid);
	}
}

static void test_to_utf8(void **state)
{
	uint8_t out[16];
	size_t len = 0;

	assert_int_equal(semqr__to_utf8("ISO-8859-1", (const uint8_t *)"caf\xE9", 4, out,
	                                sizeof out, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "caf\xC3\xA9", 5);

	/* Appends after what is there: Shift JIS 0x93FA 0x967B is "日本". */
	assert_int_equal(semqr__to_utf8("SHIFT_JIS", (const uint8_t *)"\x93\xFA\x96\x7B", 4, out,
	                                sizeof out, &len), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(out + 5, "\xE6\x97\xA5\xE6\x9C\xAC", 6);

	len = 0;
	assert_int_equal(semqr__to_utf8("UTF-16BE", (const uint8_t *)"\x00\x41\x70\xB9", 4, out,
	                                sizeof out, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "A\xE7\x82\xB9", 4);

	/* No room: 3 output bytes needed, 2 available. */
	len = 0;
	assert_int_equal(semqr__to_utf8("SHIFT_JIS", (const uint8_t *)"\x93\xFA", 2, out, 2, &len), -1);
	/* Invalid or truncated input. */
	len = 0;
	assert_int_equal(semqr__to_utf8("SHIFT_JIS", (const uint8_t *)"\x93", 1, out,
	                                sizeof out, &len), -1);
	len = 0;
	assert_int_equal(semqr__to_utf8("UTF-8", (const uint8_t *)"\xC3", 1, out,
	                                sizeof out, &len), -1);
	/* Unknown charset. */
	len = 0;
	assert_int_equal(semqr__to_utf8("NO-SUCH-CHARSET", (const uint8_t *)"a", 1, out,
	                                sizeof out, &len), -1);
	/* Empty input converts to nothing. */
	len = 3;
	assert_int_equal(semqr__to_utf8("CP437", (const uint8_t *)"", 0, out, sizeof out, &len), 0);
	assert_int_equal(len, 3);
}

static void expect_kanji(const char *utf8, int bytes, uint16_t sjis)
{
	uint16_t got = 0;
	int n = semqr__utf8_to_kanji((const uint8_t *)utf8, strlen(utf8), &got);
	if (n != bytes || (bytes && got != sjis))
		fail_msg("\"%s\": got %d bytes, 0x%04X; expected %d, 0x%04X", utf8, n, got, bytes, sjis);
}

static void test_utf8_to_kanji(void **state)
{
	/* The two characters of ISO/IEC 18004's Kanji example. */
	expect_kanji("\xE7\x82\xB9", 3, 0x935F);       /* 点 U+70B9 */
	expect_kanji("\xE8\x8C\x97", 3, 0xE4AA);       /* 茗 U+8317 */
	expect_kanji("\xE7\x82\xB9" "A", 3, 0x935F);   /* only the first character */
	expect_kanji("\xCE\xB1", 2, 0x83BF);           /* Greek alpha, 2 UTF-8 bytes */
	expect_kanji("\xE3\x80\x80", 3, 0x8140);       /* ideographic space, first code */
	expect_kanji("\xE7\x86\x99", 3, 0xEAA4);       /* 熙 U+7199, last JIS X 0208 code */
	expect_kanji("A", 0, 0);                       /* ASCII: one Shift JIS byte */
	expect_kanji("\xEF\xBD\xB1", 0, 0);            /* half-width katakana U+FF71: 0xB1 */
	expect_kanji("\xEF\xBF\xA0", 0, 0);            /* U+FFE0 maps one way only */
	expect_kanji("\xF0\x9F\x98\x80", 0, 0);        /* emoji: not in JIS X 0208 */
	expect_kanji("\xC3\xA9", 0, 0);                /* é: not in JIS X 0208 */
	expect_kanji("\xE2\x91\xA0", 0, 0);            /* circled 1: CP932 0x8740 only */
	expect_kanji("\xE7\x82", 0, 0);                /* truncated */
	expect_kanji("\x82\xB9", 0, 0);                /* starts with a continuation byte */

	uint16_t got = 0;
	assert_int_equal(semqr__utf8_to_kanji((const uint8_t *)"\xE7\x82\xB9", 2, &got), 0);
	assert_int_equal(semqr__utf8_to_kanji((const uint8_t *)"", 0, &got), 0);
}

/* Every Shift JIS code in Kanji mode's ranges that converts to UTF-8 comes
 * back to the same code: 6879 codes with glibc, each through two
 * conversions. */
static void test_kanji_round_trip(void **state)
{
	int mapped = 0;
	for (int c = 0x8140; c <= 0xEBBF; c++) {
		if (c > 0x9FFC && c < 0xE040)
			continue;
		uint8_t sj[2] = { (uint8_t)(c >> 8), (uint8_t)c };
		uint8_t utf8[8];
		size_t len = 0;
		if (semqr__to_utf8("SHIFT_JIS", sj, 2, utf8, sizeof utf8, &len) != 0)
			continue;
		uint16_t back = 0;
		int n = semqr__utf8_to_kanji(utf8, len, &back);
		if (n != (int)len || back != c)
			fail_msg("0x%04X -> %zu UTF-8 bytes -> %d bytes, 0x%04X", c, len, n, back);
		mapped++;
	}
	/* JIS X 0208 has 6879 characters; all of them lie in these ranges. */
	assert_int_equal(mapped, 6879);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eci_table),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_to_utf8),
		cmocka_unit_test(test_utf8_to_kanji),
		cmocka_unit_test(test_kanji_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
