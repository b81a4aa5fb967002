/* JSON string output with byte-exact escaping (see json.h). */
#include <string.h>

#include "io/json.h"

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if there is none
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	uint32_t cp = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void semqr__json_string(FILE *f, const void *data, size_t n)
{
	const uint8_t *s = data;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len = utf8_sequence(s + i, n - i);
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7F || len == 0) {
			fprintf(f, "\\u%04x", c);
			len = 1;
		} else {
			fwrite(s + i, 1, len, f);
		}
		i += len ? len : 1;
	}
	fputc('"', f);
}

void semqr__json_cstring(FILE *f, const char *s)
{
	semqr__json_string(f, s, strlen(s));
}

void semqr__json_hex(FILE *f, const void *data, size_t n)
{
	const uint8_t *s = data;
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", s[i]);
	fputc('"', f);
}
