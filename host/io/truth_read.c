/* Reading ground truth JSON (semqr/truth.h) with jansson.
 *
 * The whole document is parsed first (jansson reports syntax errors with
 * line and column), then walked field by field; every check names the file
 * and the field's path ("symbols[3].corners[0][2]") in its message, so a bad
 * file can be fixed without a debugger. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error_internal.h"
#include "semqr/image.h"
#include "semqr/scan.h"
#include "semqr/truth.h"

#define FIELD_MAX 96

typedef struct reader {
	const char *path;
	semqr_error *err;
} reader;

/* Fails with SEMQR_ERR_FORMAT: "PATH: FIELD: why". */
__attribute__((format(printf, 3, 4)))
static semqr_status bad(const reader *r, const char *field, const char *fmt, ...)
{
	char why[SEMQR_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return semqr__fail(r->err, SEMQR_ERR_FORMAT, "%s: %s: %s", r->path, field, why);
}

/* What a value is, for messages: "a string", "null", ... */
static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

/* field = "prefix.key", or "key" when prefix is empty. */
static void field_name(char *field, const char *prefix, const char *key)
{
	if (snprintf(field, FIELD_MAX, "%s%s%s", prefix, *prefix ? "." : "", key) >= FIELD_MAX)
		strcpy(field + FIELD_MAX - 4, "...");
}

/* The member `key` of obj: NULL when absent, which is an error (returned in
 * *st) only when required. */
static json_t *member(const reader *r, const json_t *obj, const char *prefix, const char *key,
                      bool required, char *field, semqr_status *st)
{
	field_name(field, prefix, key);
	json_t *v = json_object_get(obj, key);
	*st = !v && required ? bad(r, field, "missing") : SEMQR_OK;
	return v;
}

/* A whole number in [min, max] (an integer, or a real with no fraction). */
static semqr_status whole(const reader *r, const json_t *v, const char *field, long min,
                          long max, int *out)
{
	double d;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < min || i > max)
			return bad(r, field, "%lld is outside %ld..%ld", (long long)i, min, max);
		*out = (int)i;
		return SEMQR_OK;
	}
	if (!json_is_real(v))
		return bad(r, field, "expected a whole number, found %s", kind(v));
	d = json_real_value(v);
	if (d != floor(d))
		return bad(r, field, "%.17g is not a whole number", d);
	if (d < (double)min || d > (double)max)
		return bad(r, field, "%.17g is outside %ld..%ld", d, min, max);
	*out = (int)d;
	return SEMQR_OK;
}

/* An optional or required whole-number member; *out keeps its value when
 * the optional member is absent. */
static semqr_status get_int(const reader *r, const json_t *obj, const char *prefix,
                            const char *key, bool required, long min, long max, int *out)
{
	char field[FIELD_MAX];
	semqr_status st;
	json_t *v = member(r, obj, prefix, key, required, field, &st);
	return v ? whole(r, v, field, min, max, out) : st;
}

/* A number >= min (jansson rejects numbers beyond a double's range, so it
 * is finite). */
static semqr_status number(const reader *r, const json_t *v, const char *field, double min,
                           double *out)
{
	if (!json_is_number(v))
		return bad(r, field, "expected a number, found %s", kind(v));
	double d = json_number_value(v);
	if (d < min)
		return bad(r, field, "%.17g is below %g", d, min);
	*out = d;
	return SEMQR_OK;
}

static semqr_status get_double(const reader *r, const json_t *obj, const char *prefix,
                               const char *key, double min, double *out)
{
	char field[FIELD_MAX];
	semqr_status st;
	json_t *v = member(r, obj, prefix, key, false, field, &st);
	return v ? number(r, v, field, min, out) : st;
}

static semqr_status get_bool(const reader *r, const json_t *obj, const char *prefix,
                             const char *key, bool *out)
{
	char field[FIELD_MAX];
	semqr_status st;
	json_t *v = member(r, obj, prefix, key, false, field, &st);
	if (!v)
		return st;
	if (!json_is_boolean(v))
		return bad(r, field, "expected true or false, found %s", kind(v));
	*out = json_is_true(v);
	return SEMQR_OK;
}

/* A required string member; *s points into the document. */
static semqr_status get_string(const reader *r, const json_t *obj, const char *prefix,
                               const char *key, const char **s, size_t *len)
{
	char field[FIELD_MAX];
	semqr_status st;
	json_t *v = member(r, obj, prefix, key, true, field, &st);
	if (!v)
		return st;
	if (!json_is_string(v))
		return bad(r, field, "expected a string, found %s", kind(v));
	*s = json_string_value(v);
	*len = json_string_length(v);
	return SEMQR_OK;
}

static int hex_value(char c)
{
	return c <= '9' ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* payload_hex: pairs of hexadecimal digits, decoded into a malloc'd buffer. */
static semqr_status read_payload(const reader *r, const json_t *sym, const char *prefix,
                                 semqr_truth_symbol *s)
{
	const char *hex;
	size_t len;
	semqr_status st = get_string(r, sym, prefix, "payload_hex", &hex, &len);
	if (st != SEMQR_OK)
		return st;
	char field[FIELD_MAX];
	field_name(field, prefix, "payload_hex");
	size_t i = 0;
	while (i < len && isxdigit((unsigned char)hex[i]))
		i++;
	if (i < len)
		return bad(r, field, "'%.40s%s' is not hexadecimal (character %zu)", hex,
		           len > 40 ? "..." : "", i);
	if (len % 2)
		return bad(r, field, "'%.40s%s' has an odd number of hexadecimal digits", hex,
		           len > 40 ? "..." : "");
	s->payload_len = len / 2;
	if (!s->payload_len)
		return SEMQR_OK;
	s->payload = malloc(s->payload_len);
	if (!s->payload)
		return semqr__fail(r->err, SEMQR_ERR_NO_MEMORY, "%s: %s: no memory for %zu bytes",
		                   r->path, field, s->payload_len);
	for (size_t k = 0; k < s->payload_len; k++)
		s->payload[k] = (uint8_t)(hex_value(hex[2 * k]) << 4 | hex_value(hex[2 * k + 1]));
	return SEMQR_OK;
}

static semqr_status read_level(const reader *r, const json_t *sym, const char *prefix,
                               semqr_ecc *ecc)
{
	static const char names[] = "LMQH";
	const char *s;
	size_t len;
	semqr_status st = get_string(r, sym, prefix, "level", &s, &len);
	if (st != SEMQR_OK)
		return st;
	const char *p = len == 1 && s[0] ? strchr(names, s[0]) : NULL;
	if (!p) {
		char field[FIELD_MAX];
		field_name(field, prefix, "level");
		return bad(r, field, "'%.20s' is not one of L, M, Q, H", s);
	}
	*ecc = (semqr_ecc)(p - names);
	return SEMQR_OK;
}

/* corners: `frames` lists of four [x, y] points; frame 0 goes to s. */
static semqr_status read_corners(const reader *r, const json_t *sym, const char *prefix,
                                 int frames, semqr_truth_symbol *s)
{
	char field[FIELD_MAX], item[FIELD_MAX + 32];
	semqr_status st;
	json_t *all = member(r, sym, prefix, "corners", true, field, &st);
	if (!all)
		return st;
	if (!json_is_array(all) || json_array_size(all) != (size_t)frames)
		return bad(r, field, "expected an array of %d list%s of four corners (one per frame), "
		           "found %s%s", frames, frames > 1 ? "s" : "", kind(all),
		           json_is_array(all) ? " of another length" : "");
	for (int f = 0; f < frames; f++) {
		json_t *list = json_array_get(all, (size_t)f);
		snprintf(item, sizeof item, "%s[%d]", field, f);
		if (!json_is_array(list) || json_array_size(list) != 4)
			return bad(r, item, "expected an array of four [x, y] points, found %s%s",
			           kind(list), json_is_array(list) ? " of another length" : "");
		for (int k = 0; k < 4; k++) {
			json_t *pt = json_array_get(list, (size_t)k);
			snprintf(item, sizeof item, "%s[%d][%d]", field, f, k);
			if (!json_is_array(pt) || json_array_size(pt) != 2)
				return bad(r, item, "expected an [x, y] pair of numbers, found %s%s",
				           kind(pt), json_is_array(pt) ? " of another length" : "");
			for (int c = 0; c < 2; c++) {
				double v;
				st = number(r, json_array_get(pt, (size_t)c), item, -HUGE_VAL, &v);
				if (st != SEMQR_OK)
					return st;
				if (f == 0)
					s->corners_px[k][c] = v;
			}
		}
	}
	return SEMQR_OK;
}

/* Centre and side of frame 0's quadrilateral. The diagonals p0-p2 and p1-p3
 * cross at p0 + t (p2 - p0) = p1 + u (p3 - p1); they cross inside both
 * (0 < t, u < 1) exactly when the quadrilateral is convex and not
 * degenerate, which every view of a square is. */
static semqr_status derive_geometry(const reader *r, const char *prefix, semqr_truth_symbol *s)
{
	const double (*p)[2] = s->corners_px;
	double ax = p[2][0] - p[0][0], ay = p[2][1] - p[0][1];
	double bx = p[3][0] - p[1][0], by = p[3][1] - p[1][1];
	double cx = p[1][0] - p[0][0], cy = p[1][1] - p[0][1];
	double den = ax * by - ay * bx;
	double t = (cx * by - cy * bx) / den, u = (cx * ay - cy * ax) / den;
	if (!(t > 0.0 && t < 1.0 && u > 0.0 && u < 1.0)) {
		char field[FIELD_MAX];
		field_name(field, prefix, "corners[0]");
		return bad(r, field, "the four corners do not form a convex quadrilateral");
	}
	s->center_px[0] = p[0][0] + t * ax;
	s->center_px[1] = p[0][1] + t * ay;
	double side = 0.0;
	for (int k = 0; k < 4; k++)
		side += hypot(p[(k + 1) % 4][0] - p[k][0], p[(k + 1) % 4][1] - p[k][1]);
	s->side_px = side / 4.0;
	return SEMQR_OK;
}

static semqr_status read_symbol(const reader *r, const json_t *sym, size_t i, int frames,
                                semqr_truth_symbol *s)
{
	char prefix[FIELD_MAX];
	snprintf(prefix, sizeof prefix, "symbols[%zu]", i);
	if (!json_is_object(sym))
		return bad(r, prefix, "expected an object, found %s", kind(sym));
	s->mask = -1;
	s->inside = true;
	semqr_status st = read_payload(r, sym, prefix, s);
	if (st == SEMQR_OK)
		st = get_int(r, sym, prefix, "version", true, 1, 40, &s->version);
	if (st == SEMQR_OK)
		st = read_level(r, sym, prefix, &s->ecc);
	if (st == SEMQR_OK)
		st = get_int(r, sym, prefix, "mask", false, 0, 7, &s->mask);
	if (st == SEMQR_OK)
		st = get_bool(r, sym, prefix, "mirrored", &s->mirrored);
	if (st == SEMQR_OK)
		st = get_bool(r, sym, prefix, "inside", &s->inside);
	if (st == SEMQR_OK)
		st = get_double(r, sym, prefix, "module_nm", 0.0, &s->module_nm);
	if (st == SEMQR_OK)
		st = read_corners(r, sym, prefix, frames, s);
	if (st == SEMQR_OK)
		st = derive_geometry(r, prefix, s);
	return st;
}

static semqr_status read_image(const reader *r, const json_t *root, semqr_truth *t)
{
	char field[FIELD_MAX];
	semqr_status st;
	json_t *img = member(r, root, "", "image", true, field, &st);
	if (!img)
		return st;
	if (!json_is_object(img))
		return bad(r, field, "expected an object, found %s", kind(img));
	t->frames = 1;
	t->bits = 8;
	st = get_int(r, img, "image", "width", true, 1, SEMQR_IMAGE_DIM_MAX, &t->width);
	if (st == SEMQR_OK)
		st = get_int(r, img, "image", "height", true, 1, SEMQR_IMAGE_DIM_MAX, &t->height);
	if (st == SEMQR_OK)
		st = get_int(r, img, "image", "frames", false, 1, SEMQR_SCAN_PAGES_MAX, &t->frames);
	if (st == SEMQR_OK)
		st = get_int(r, img, "image", "bits", false, 8, 16, &t->bits);
	if (st == SEMQR_OK && t->bits != 8 && t->bits != 16)
		st = bad(r, "image.bits", "%d is neither 8 nor 16", t->bits);
	if (st == SEMQR_OK)
		st = get_double(r, img, "image", "pixel_nm", 0.0, &t->pixel_nm);
	return st;
}

static semqr_status read_document(const reader *r, const json_t *root, semqr_truth *t)
{
	if (!json_is_object(root))
		return semqr__fail(r->err, SEMQR_ERR_FORMAT,
		                   "%s: expected a JSON object at the top level, found %s", r->path,
		                   kind(root));
	semqr_status st = read_image(r, root, t);
	if (st != SEMQR_OK)
		return st;
	char field[FIELD_MAX];
	json_t *syms = member(r, root, "", "symbols", true, field, &st);
	if (!syms)
		return st;
	if (!json_is_array(syms))
		return bad(r, field, "expected an array, found %s", kind(syms));
	size_t n = json_array_size(syms);
	int declared = -1;
	st = get_int(r, root, "", "symbol_count", false, 0, INT32_MAX, &declared);
	if (st != SEMQR_OK)
		return st;
	if (declared >= 0 && (size_t)declared != n)
		return bad(r, "symbol_count", "%d, but `symbols` lists %zu", declared, n);
	if (n) {
		t->symbols = calloc(n, sizeof *t->symbols);
		if (!t->symbols)
			return semqr__fail(r->err, SEMQR_ERR_NO_MEMORY, "%s: no memory for %zu symbols",
			                   r->path, n);
	}
	for (size_t i = 0; i < n; i++) {
		t->count = i + 1; /* so that semqr_truth_free releases a partial symbol */
		st = read_symbol(r, json_array_get(syms, i), i, t->frames, &t->symbols[i]);
		if (st != SEMQR_OK)
			return st;
	}
	return SEMQR_OK;
}

semqr_status semqr_truth_load(const char *path, semqr_truth *truth, semqr_error *err)
{
	memset(truth, 0, sizeof *truth);
	FILE *f = fopen(path, "rb");
	if (!f)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot open the ground truth: %s", path,
		                   strerror(errno));
	json_error_t jerr;
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	int read_failed = ferror(f);
	fclose(f);
	if (read_failed) {
		json_decref(root);
		return semqr__fail(err, SEMQR_ERR_IO, "%s: read error", path);
	}
	if (!root)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s:%d:%d: %s", path, jerr.line,
		                   jerr.column, jerr.text);
	reader r = {path, err};
	semqr_status st = read_document(&r, root, truth);
	json_decref(root);
	if (st != SEMQR_OK) {
		semqr_truth_free(truth);
		return st;
	}
	semqr__clear(err);
	return SEMQR_OK;
}

void semqr_truth_free(semqr_truth *truth)
{
	if (!truth)
		return;
	for (size_t i = 0; i < truth->count; i++)
		free(truth->symbols[i].payload);
	free(truth->symbols);
	memset(truth, 0, sizeof *truth);
}
