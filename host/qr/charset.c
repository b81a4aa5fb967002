/* Character-set conversions for the codec, on top of iconv.
 *
 * Every conversion opens its own iconv descriptor and closes it before
 * returning, so the functions share no state and are safe on any thread.
 * Kanji mode uses the charset of ECI 20 (glibc's "SHIFT_JIS", the JIS X 0208
 * mapping) in both directions; a character is offered to Kanji mode only when
 * the conversion round-trips, so that a decoder converting with the same
 * charset returns the original UTF-8 bytes.
 */
#include <iconv.h>
#include <string.h>

#include "qr/charset.h"

/* AIM ECI assignments 0..30 and their iconv names; NULL where reserved. */
static const char *const eci_charsets[] = {
	[0] = "CP437",       [1] = "ISO-8859-1",  [2] = "CP437",       [3] = "ISO-8859-1",
	[4] = "ISO-8859-2",  [5] = "ISO-8859-3",  [6] = "ISO-8859-4",  [7] = "ISO-8859-5",
	[8] = "ISO-8859-6",  [9] = "ISO-8859-7",  [10] = "ISO-8859-8", [11] = "ISO-8859-9",
	[12] = "ISO-8859-10", [13] = "ISO-8859-11", [15] = "ISO-8859-13",
	[16] = "ISO-8859-14", [17] = "ISO-8859-15", [18] = "ISO-8859-16",
	[20] = "SHIFT_JIS",  [21] = "CP1250",     [22] = "CP1251",     [23] = "CP1252",
	[24] = "CP1256",     [25] = "UTF-16BE",   [26] = "UTF-8",      [27] = "US-ASCII",
	[28] = "BIG5",       [29] = "GB18030",    [30] = "EUC-KR",
};

const char *semqr__eci_charset(int eci)
{
	if (eci < 0 || (size_t)eci >= sizeof eci_charsets / sizeof eci_charsets[0])
		return NULL;
	return eci_charsets[eci];
}

/* Length of the well-formed UTF-8 character at in[0..n), or 0 when the bytes
 * there do not start one (stray continuation byte, overlong form, surrogate,
 * code point above U+10FFFF, or truncation). */
static size_t utf8_char_len(const uint8_t *in, size_t n)
{
	uint8_t b = in[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

	if (b < 0x80)
		return 1;
	if (b < 0xC2) {
		return 0; /* continuation byte, or lead of an overlong 2-byte form */
	} else if (b < 0xE0) {
		len = 2;
	} else if (b < 0xF0) {
		len = 3;
		if (b == 0xE0)
			lo = 0xA0; /* overlong */
		else if (b == 0xED)
			hi = 0x9F; /* surrogates U+D800..U+DFFF */
	} else if (b < 0xF5) {
		len = 4;
		if (b == 0xF0)
			lo = 0x90; /* overlong */
		else if (b == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || in[1] < lo || in[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((in[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

bool semqr__utf8_valid(const uint8_t *in, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t len = utf8_char_len(in + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* Converts in[0..n) from `from` to `to` into out[0..cap); returns the number
 * of bytes written, or -1 when the charset is unknown, the input is invalid
 * or incomplete, or the output does not fit. */
static long convert(const char *to, const char *from, const uint8_t *in, size_t n,
                    uint8_t *out, size_t cap)
{
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return -1;
	char *ip = (char *)in;
	char *op = (char *)out;
	size_t il = n, ol = cap;
	size_t r = iconv(cd, &ip, &il, &op, &ol);
	if (r != (size_t)-1)
		r = iconv(cd, NULL, NULL, &op, &ol); /* flush any shift state */
	iconv_close(cd);
	if (r == (size_t)-1 || il != 0)
		return -1;
	return (long)(cap - ol);
}

int semqr__to_utf8(const char *charset, const uint8_t *in, size_t n,
                   uint8_t *out, size_t cap, size_t *len)
{
	if (*len > cap)
		return -1;
	long w = convert("UTF-8", charset, in, n, out + *len, cap - *len);
	if (w < 0)
		return -1;
	*len += (size_t)w;
	return 0;
}

int semqr__utf8_to_kanji(const uint8_t *in, size_t n, uint16_t *sjis)
{
	size_t len = n ? utf8_char_len(in, n) : 0;
	if (len < 2)
		return 0; /* invalid, or ASCII, which Shift JIS keeps in one byte */

	const char *charset = semqr__eci_charset(20);
	uint8_t code[4], back[4];
	if (convert(charset, "UTF-8", in, len, code, sizeof code) != 2)
		return 0;
	uint16_t c = (uint16_t)(code[0] << 8 | code[1]);
	if (!((c >= 0x8140 && c <= 0x9FFC) || (c >= 0xE040 && c <= 0xEBBF)))
		return 0;
	/* Reject one-way mappings (glibc sends U+FFE0 to 0x8191, which comes
	 * back as U+00A2): Kanji mode must reproduce the original bytes. */
	if (convert("UTF-8", charset, code, 2, back, sizeof back) != (long)len ||
	    memcmp(back, in, len) != 0)
		return 0;
	*sjis = c;
	return (int)len;
}
