/* Internal: character-set conversions used by the codec (iconv underneath).
 * Each function is thread-safe (an iconv descriptor per call) and writes at
 * most `cap` bytes. */
#ifndef SEMQR_CHARSET_H
#define SEMQR_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* iconv name of the character set of ECI assignment `eci`, or NULL when semqr
 * does not know it. Covers at least 0..3 and 1 (ISO-8859-1, CP437 for 0/2),
 * 4..13 and 15..18 (ISO-8859-2..15 as in AIM ECI), 20 (Shift JIS),
 * 21..23 (Windows-1250..1252), 24 (Windows-1256), 25 (UTF-16BE), 26 (UTF-8),
 * 27 (US-ASCII), 28 (Big5), 29 (GB18030), 30 (EUC-KR). */
const char *semqr__eci_charset(int eci);

/* True when in[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool semqr__utf8_valid(const uint8_t *in, size_t n);

/* Converts in[0..n) from charset to UTF-8, appending to out[*len..cap).
 * Returns 0 and advances *len, or -1 (invalid input or no room; *len and
 * the bytes past it unspecified). */
int semqr__to_utf8(const char *charset, const uint8_t *in, size_t n,
                   uint8_t *out, size_t cap, size_t *len);

/* Shift JIS code of one UTF-8 character starting at in[0..n): when the
 * character is in JIS X 0208 and its Shift JIS code lies in 0x8140..0x9FFC or
 * 0xE040..0xEBBF (the ranges QR's Kanji mode encodes), returns the number of
 * UTF-8 bytes consumed (2..4) and sets *sjis; otherwise returns 0. */
int semqr__utf8_to_kanji(const uint8_t *in, size_t n, uint16_t *sjis);

#endif
