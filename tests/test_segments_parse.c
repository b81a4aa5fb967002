/* Parsing of data bitstreams into payload, text and segments
 * (qr/decode_segments.h), on streams built bit by bit here. Where ISO/IEC
 * 18004:2015 gives an example bitstream (numeric 7.4.4, alphanumeric 7.4.5,
 * Kanji 7.4.6) the test uses its bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qr/decode_segments.h"

typedef struct stream {
	uint8_t buf[512];
	size_t bits;
} stream;

/* Appends the n low bits of v, most significant first. */
static void put(stream *s, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, s->bits++)
		if (v >> i & 1)
			s->buf[s->bits >> 3] |= (uint8_t)(0x80 >> (s->bits & 7));
}

static void put_bytes(stream *s, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(s, (uint8_t)bytes[i], 8);
}

/* Parses the stream padded to whole bytes (the pad bits are zero, which
 * reads as a terminator or as too few bits for a mode indicator). */
static semqr_status parse(const stream *s, int version, semqr_decoded *d, semqr_error *err)
{
	memset(d, 0, sizeof *d);
	return semqr__parse_segments(s->buf, (s->bits + 7) / 8, version, d, err);
}

static void expect_ok(const stream *s, int version, semqr_decoded *d)
{
	semqr_error err;
	semqr_status st = parse(s, version, d, &err);
	if (st != SEMQR_OK)
		fail_msg("parse failed: %s", err.message);
	assert_non_null(d->payload);
}

/* Asserts failure with a message containing `needle` and nothing allocated. */
static void expect_fail(const stream *s, int version, const char *needle)
{
	semqr_decoded d;
	semqr_error err;
	assert_int_equal(parse(s, version, &d, &err), SEMQR_ERR_DECODE);
	assert_int_equal(err.code, SEMQR_ERR_DECODE);
	if (!strstr(err.message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
	assert_null(d.payload);
	assert_null(d.text);
	assert_null(d.segments);
	assert_int_equal(d.segment_count, 0);
}

static void expect_payload(const semqr_decoded *d, const char *bytes, size_t n)
{
	assert_int_equal(d->payload_len, n);
	assert_memory_equal(d->payload, bytes, n);
}

static void expect_segment(const semqr_decoded *d, int i, semqr_mode mode, int eci,
                           size_t offset, size_t length, int char_count)
{
	assert_true(i < d->segment_count);
	assert_int_equal(d->segments[i].mode, mode);
	assert_int_equal(d->segments[i].eci, eci);
	assert_int_equal(d->segments[i].offset, offset);
	assert_int_equal(d->segments[i].length, length);
	assert_int_equal(d->segments[i].char_count, char_count);
}

/* 7.4.4: "01234567" is 0001 0000001000 0000001100 0101011001 1000011 (a
 * 2-digit tail); "0123456789012345" ends in a 1-digit tail. */
static void test_numeric(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 1, 4); put(&s, 8, 10);
	put(&s, 12, 10); put(&s, 345, 10); put(&s, 67, 7);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "01234567", 8);
	assert_string_equal(d.text, "01234567");
	assert_int_equal(d.segment_count, 1);
	expect_segment(&d, 0, SEMQR_MODE_NUMERIC, -1, 0, 8, 8);
	assert_int_equal(d.eci, -1);
	assert_int_equal(d.fnc1, 0);
	assert_false(d.structured_append);
	semqr_decoded_free(&d);

	stream t = {0};
	put(&t, 1, 4); put(&t, 16, 10);
	static const unsigned groups[] = { 12, 345, 678, 901, 234 };
	for (int i = 0; i < 5; i++)
		put(&t, groups[i], 10);
	put(&t, 5, 4);
	expect_ok(&t, 1, &d);
	expect_payload(&d, "0123456789012345", 16);
	semqr_decoded_free(&d);

	/* A 3-digit tail with a leading zero, and a zero-length segment. */
	stream u = {0};
	put(&u, 1, 4); put(&u, 3, 10); put(&u, 7, 10);
	put(&u, 1, 4); put(&u, 0, 10);
	expect_ok(&u, 1, &d);
	expect_payload(&d, "007", 3);
	assert_int_equal(d.segment_count, 2);
	expect_segment(&d, 1, SEMQR_MODE_NUMERIC, -1, 3, 0, 0);
	semqr_decoded_free(&d);
}

static void test_numeric_invalid(void **state)
{
	stream s = {0};
	put(&s, 1, 4); put(&s, 6, 10); put(&s, 123, 10); put(&s, 1003, 10);
	expect_fail(&s, 1, "segment 1: numeric group 1003 invalid");
	stream t = {0};
	put(&t, 1, 4); put(&t, 2, 10); put(&t, 100, 7);
	expect_fail(&t, 1, "numeric group 100");
	stream u = {0};
	put(&u, 1, 4); put(&u, 1, 10); put(&u, 10, 4);
	expect_fail(&u, 1, "numeric group 10");
	/* The second segment is the bad one. */
	stream v = {0};
	put(&v, 1, 4); put(&v, 1, 10); put(&v, 9, 4);
	put(&v, 1, 4); put(&v, 3, 10); put(&v, 1000, 10);
	expect_fail(&v, 1, "segment 2: numeric group 1000");
}

/* 7.4.5: "AC-42" is 0010 000000101 00111001110 11100111001 000010. */
static void test_alphanumeric(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 2, 4); put(&s, 5, 9);
	put(&s, 0x1CE, 11); put(&s, 0x739, 11); put(&s, 2, 6);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "AC-42", 5);
	assert_string_equal(d.text, "AC-42");
	expect_segment(&d, 0, SEMQR_MODE_ALPHANUMERIC, -1, 0, 5, 5);
	semqr_decoded_free(&d);

	/* At version 10 (11-bit counts): an even count, " $%*" (values 36..39),
	 * then an odd one, "+-./:" (40..44). */
	stream t = {0};
	put(&t, 2, 4); put(&t, 4, 11);
	put(&t, 36 * 45 + 37, 11); put(&t, 38 * 45 + 39, 11);
	put(&t, 2, 4); put(&t, 5, 11);
	put(&t, 40 * 45 + 41, 11); put(&t, 42 * 45 + 43, 11); put(&t, 44, 6);
	expect_ok(&t, 10, &d);
	expect_payload(&d, " $%*+-./:", 9);
	expect_segment(&d, 1, SEMQR_MODE_ALPHANUMERIC, -1, 4, 5, 5);
	semqr_decoded_free(&d);

	stream u = {0};
	put(&u, 2, 4); put(&u, 2, 9); put(&u, 2025, 11);
	expect_fail(&u, 1, "alphanumeric pair value 2025");
	stream v = {0};
	put(&v, 2, 4); put(&v, 1, 9); put(&v, 45, 6);
	expect_fail(&v, 1, "alphanumeric value 45");
}

static void test_byte(void **state)
{
	semqr_decoded d;
	/* Valid UTF-8 without ECI is taken as UTF-8. */
	stream s = {0};
	put(&s, 4, 4); put(&s, 4, 8); put_bytes(&s, "a\xC3\xA9z", 4);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "a\xC3\xA9z", 4);
	assert_string_equal(d.text, "a\xC3\xA9z");
	expect_segment(&d, 0, SEMQR_MODE_BYTE, -1, 0, 4, 4);
	semqr_decoded_free(&d);

	/* Invalid UTF-8 without ECI is ISO-8859-1; the payload stays raw. */
	stream t = {0};
	put(&t, 4, 4); put(&t, 2, 8); put_bytes(&t, "\xE9\xFF", 2);
	expect_ok(&t, 1, &d);
	expect_payload(&d, "\xE9\xFF", 2);
	assert_string_equal(d.text, "\xC3\xA9\xC3\xBF");
	semqr_decoded_free(&d);

	/* 16-bit count from version 10; binary bytes including NUL. */
	stream u = {0};
	put(&u, 4, 4); put(&u, 3, 16); put_bytes(&u, "\x00\x01\x7F", 3);
	expect_ok(&u, 10, &d);
	expect_payload(&d, "\x00\x01\x7F", 3);
	semqr_decoded_free(&d);
}

/* 7.4.6: Shift JIS 0x935F and 0xE4AA ("点茗") are 0xD9F and 0x1AAA. */
static void test_kanji(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 8, 4); put(&s, 2, 8); put(&s, 0xD9F, 13); put(&s, 0x1AAA, 13);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "\xE7\x82\xB9\xE8\x8C\x97", 6);
	assert_string_equal(d.text, "\xE7\x82\xB9\xE8\x8C\x97");
	expect_segment(&d, 0, SEMQR_MODE_KANJI, -1, 0, 6, 2);
	semqr_decoded_free(&d);

	/* Second byte 0xBF + 0x40 = 0xFF is no Shift JIS code; nor is 0x7F. */
	stream t = {0};
	put(&t, 8, 4); put(&t, 1, 8); put(&t, 0xBF, 13);
	expect_fail(&t, 1, "Kanji value");
	stream u = {0};
	put(&u, 8, 4); put(&u, 1, 8); put(&u, 0x3F, 13);
	expect_fail(&u, 1, "Shift JIS 0x817F");
	/* The largest 13-bit value is 0xEBBF, the last code of the second range,
	 * which JIS X 0208 leaves unassigned: the segment stays Shift JIS and
	 * the text is NULL. */
	stream v = {0};
	put(&v, 8, 4); put(&v, 2, 8); put(&v, 0xD9F, 13); put(&v, 0x1FFF, 13);
	expect_ok(&v, 1, &d);
	expect_payload(&d, "\x93\x5F\xEB\xBF", 4);
	expect_segment(&d, 0, SEMQR_MODE_KANJI, -1, 0, 4, 2);
	assert_null(d.text);
	semqr_decoded_free(&d);
}

/* ECI designators in their 1-, 2- and 3-byte forms; each applies to the
 * segments after it, and decoded.eci is the first one. */
static void test_eci(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 7, 4); put(&s, 3, 8);                    /* ECI 3: ISO-8859-1 */
	put(&s, 4, 4); put(&s, 1, 8); put(&s, 0xE9, 8);
	put(&s, 7, 4); put(&s, 26, 8);                   /* ECI 26: UTF-8 */
	put(&s, 4, 4); put(&s, 2, 8); put_bytes(&s, "\xC3\xA9", 2);
	put(&s, 1, 4); put(&s, 1, 10); put(&s, 7, 4);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "\xE9\xC3\xA9" "7", 4);
	assert_string_equal(d.text, "\xC3\xA9\xC3\xA9" "7");
	assert_int_equal(d.eci, 3);
	assert_int_equal(d.segment_count, 3);
	expect_segment(&d, 0, SEMQR_MODE_BYTE, 3, 0, 1, 1);
	expect_segment(&d, 1, SEMQR_MODE_BYTE, 26, 1, 2, 2);
	expect_segment(&d, 2, SEMQR_MODE_NUMERIC, 26, 3, 1, 1);
	semqr_decoded_free(&d);

	/* 2-byte form: 1000 = 10 000011 11101000; an unknown ECI leaves the
	 * text NULL but the payload intact. */
	stream t = {0};
	put(&t, 7, 4); put(&t, 0x83, 8); put(&t, 0xE8, 8);
	put(&t, 4, 4); put(&t, 1, 8); put(&t, 'x', 8);
	expect_ok(&t, 1, &d);
	assert_int_equal(d.eci, 1000);
	expect_segment(&d, 0, SEMQR_MODE_BYTE, 1000, 0, 1, 1);
	expect_payload(&d, "x", 1);
	assert_null(d.text);
	semqr_decoded_free(&d);

	/* 3-byte form: 100000 = 110 00001 10000110 10100000, and the largest,
	 * 999999 = 0x0F423F. */
	stream u = {0};
	put(&u, 7, 4); put(&u, 0xC186A0, 24);
	put(&u, 7, 4); put(&u, 0xCF423F, 24);
	put(&u, 2, 4); put(&u, 1, 9); put(&u, 10, 6);
	expect_ok(&u, 1, &d);
	assert_int_equal(d.eci, 100000);
	expect_segment(&d, 0, SEMQR_MODE_ALPHANUMERIC, 999999, 0, 1, 1);
	expect_payload(&d, "A", 1);
	semqr_decoded_free(&d);

	/* UTF-16BE (ECI 25) with an odd byte count cannot be converted. */
	stream v = {0};
	put(&v, 7, 4); put(&v, 25, 8);
	put(&v, 4, 4); put(&v, 3, 8); put_bytes(&v, "\x00" "A\x00", 3);
	expect_ok(&v, 1, &d);
	assert_null(d.text);
	semqr_decoded_free(&d);

	stream w = {0};
	put(&w, 7, 4); put(&w, 0xCF4240, 24);            /* 1000000 */
	expect_fail(&w, 1, "assignment 1000000 > 999999");
	stream x = {0};
	put(&x, 7, 4); put(&x, 0xE0, 8); put(&x, 0, 16);
	expect_fail(&x, 1, "first byte 0xE0 invalid");
	stream y = {0};
	put(&y, 7, 4); put(&y, 0xC1, 8);                 /* stream ends */
	expect_fail(&y, 1, "ECI designator at bit 0: data ends");
}

static void test_structured_append(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 3, 4); put(&s, 2, 4); put(&s, 3, 4); put(&s, 0xAA, 8);
	put(&s, 4, 4); put(&s, 2, 8); put_bytes(&s, "hi", 2);
	expect_ok(&s, 1, &d);
	assert_true(d.structured_append);
	assert_int_equal(d.sa_index, 2);
	assert_int_equal(d.sa_total, 4);
	assert_int_equal(d.sa_parity, 0xAA);
	expect_payload(&d, "hi", 2);
	assert_int_equal(d.segment_count, 1);
	semqr_decoded_free(&d);

	stream t = {0};
	put(&t, 3, 4); put(&t, 5, 4); put(&t, 2, 4); put(&t, 0, 8);
	expect_fail(&t, 1, "symbol 6 of 3");
	stream u = {0};
	put(&u, 3, 4); put(&u, 0, 4); put(&u, 1, 4); put(&u, 0, 8);
	put(&u, 3, 4); put(&u, 1, 4); put(&u, 1, 4); put(&u, 0, 8);
	expect_fail(&u, 1, "a second header");
	stream v = {0};
	put(&v, 3, 4); put(&v, 0, 8);
	expect_fail(&v, 1, "structured append header at bit 0: data ends");
}

/* FNC1 in first position: in alphanumeric segments "%%" is '%' and a single
 * '%' the GS separator. In second position an application indicator follows. */
static void test_fnc1(void **state)
{
	/* "A%%B%C" as alphanumeric values: A=10 %=38 B=11 C=12. */
	static const int chars[] = { 10, 38, 38, 11, 38, 12 };
	semqr_decoded d;
	for (int fnc1 = 0; fnc1 <= 2; fnc1++) {
		stream s = {0};
		if (fnc1 == 1)
			put(&s, 5, 4);
		if (fnc1 == 2) {
			put(&s, 9, 4); put(&s, 37, 8);
		}
		put(&s, 2, 4); put(&s, 6, 9);
		for (int i = 0; i < 6; i += 2)
			put(&s, (uint32_t)(chars[i] * 45 + chars[i + 1]), 11);
		put(&s, 1, 4); put(&s, 2, 10); put(&s, 42, 7);
		expect_ok(&s, 1, &d);
		assert_int_equal(d.fnc1, fnc1);
		assert_int_equal(d.fnc1_indicator, fnc1 == 2 ? 37 : -1);
		if (fnc1) {
			expect_payload(&d, "A%B\x1D" "C42", 7);
			expect_segment(&d, 0, SEMQR_MODE_ALPHANUMERIC, -1, 0, 5, 6);
			expect_segment(&d, 1, SEMQR_MODE_NUMERIC, -1, 5, 2, 2);
		} else {
			expect_payload(&d, "A%%B%C42", 8);
		}
		semqr_decoded_free(&d);
	}
	stream t = {0};
	put(&t, 9, 4); put(&t, 1, 4);
	expect_fail(&t, 1, "application indicator");
}

/* One segment of each data mode in a row; offsets and lengths in the
 * payload, a terminator, then pad codewords that must not be read as data. */
static void test_mixed_and_terminator(void **state)
{
	semqr_decoded d;
	stream s = {0};
	put(&s, 1, 4); put(&s, 3, 10); put(&s, 999, 10);
	put(&s, 2, 4); put(&s, 2, 9); put(&s, 35 * 45 + 0, 11);
	put(&s, 4, 4); put(&s, 2, 8); put_bytes(&s, "\xC3\xA9", 2);
	put(&s, 8, 4); put(&s, 1, 8); put(&s, 0xD9F, 13);
	put(&s, 0, 4);
	s.bits = (s.bits + 7) / 8 * 8;
	put(&s, 0xEC11EC11, 32);
	expect_ok(&s, 1, &d);
	expect_payload(&d, "999Z0\xC3\xA9\xE7\x82\xB9", 10);
	assert_string_equal(d.text, "999Z0\xC3\xA9\xE7\x82\xB9");
	assert_int_equal(d.segment_count, 4);
	expect_segment(&d, 0, SEMQR_MODE_NUMERIC, -1, 0, 3, 3);
	expect_segment(&d, 1, SEMQR_MODE_ALPHANUMERIC, -1, 3, 2, 2);
	expect_segment(&d, 2, SEMQR_MODE_BYTE, -1, 5, 2, 2);
	expect_segment(&d, 3, SEMQR_MODE_KANJI, -1, 7, 3, 1);
	semqr_decoded_free(&d);

	/* No terminator: two byte segments fill 56 bits exactly ... */
	stream t = {0};
	put(&t, 4, 4); put(&t, 2, 8); put_bytes(&t, "ab", 2);
	put(&t, 4, 4); put(&t, 2, 8); put_bytes(&t, "cd", 2);
	assert_int_equal(t.bits, 56);
	expect_ok(&t, 1, &d);
	expect_payload(&d, "abcd", 4);
	assert_int_equal(d.segment_count, 2);
	semqr_decoded_free(&d);
	/* ... and 3 bits left after the data, too few for a mode indicator. */
	stream u = {0};
	put(&u, 1, 4); put(&u, 2, 10); put(&u, 42, 7);
	assert_int_equal(u.bits, 21);
	expect_ok(&u, 1, &d);
	expect_payload(&d, "42", 2);
	semqr_decoded_free(&d);

	/* An empty message: text is "" and payload non-NULL. */
	stream e = {0};
	put(&e, 0, 32);
	expect_ok(&e, 1, &d);
	assert_int_equal(d.payload_len, 0);
	assert_string_equal(d.text, "");
	assert_int_equal(d.segment_count, 0);
	semqr_decoded_free(&d);
}

static void test_truncated_and_unknown(void **state)
{
	stream s = {0};
	put(&s, 4, 4); put(&s, 10, 8); put_bytes(&s, "abc", 3);
	expect_fail(&s, 1, "segment 1: data ends inside a byte segment (10 characters need 80 bits");
	stream t = {0};
	put(&t, 1, 4); put(&t, 5, 10); put(&t, 123, 10);
	expect_fail(&t, 1, "data ends inside a numeric segment");
	stream u = {0};
	put(&u, 8, 4); put(&u, 2, 8); put(&u, 0xD9F, 13);
	expect_fail(&u, 1, "data ends inside a kanji segment");
	/* The character count itself cut off: 4 + 4 bits in one byte. */
	stream v = {0};
	put(&v, 1, 4); put(&v, 0xF, 4);
	expect_fail(&v, 1, "data ends inside the character count of a numeric segment");
	/* Count lengths follow the version: 14-bit numeric count at 27+. */
	stream w = {0};
	put(&w, 1, 4); put(&w, 3, 14); put(&w, 42, 10);
	semqr_decoded d;
	expect_ok(&w, 27, &d);
	expect_payload(&d, "042", 3);
	semqr_decoded_free(&d);

	for (uint32_t mode = 6; mode <= 15; mode++) {
		if (mode == 7 || mode == 8 || mode == 9)
			continue;
		stream x = {0};
		put(&x, 4, 4); put(&x, 1, 8); put(&x, 'q', 8);
		put(&x, mode, 4); put(&x, 0, 12);
		char needle[64];
		snprintf(needle, sizeof needle, "bit 20: unknown mode indicator %u%u%u%u",
		         mode >> 3 & 1, mode >> 2 & 1, mode >> 1 & 1, mode & 1);
		expect_fail(&x, 1, needle);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_numeric_invalid),
		cmocka_unit_test(test_alphanumeric),
		cmocka_unit_test(test_byte),
		cmocka_unit_test(test_kanji),
		cmocka_unit_test(test_eci),
		cmocka_unit_test(test_structured_append),
		cmocka_unit_test(test_fnc1),
		cmocka_unit_test(test_mixed_and_terminator),
		cmocka_unit_test(test_truncated_and_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
