/* Internal: writing JSON values to a stdio stream. Strings are written as
 * valid JSON whatever their bytes: control characters, quote and backslash
 * are escaped, well-formed UTF-8 passes through, and each byte of an invalid
 * UTF-8 sequence is written as the escape \u00NN of its value. */
#ifndef SEMQR_JSON_H
#define SEMQR_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "..." for bytes s[0..n). */
void semqr__json_string(FILE *f, const void *s, size_t n);
/* "..." for a NUL-terminated string. */
void semqr__json_cstring(FILE *f, const char *s);
/* "0a1b..." lower-case hexadecimal of bytes s[0..n). */
void semqr__json_hex(FILE *f, const void *s, size_t n);

#endif
