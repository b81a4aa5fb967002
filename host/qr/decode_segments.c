/* The data bitstream of a decoded symbol into payload, text and segments
 * (ISO/IEC 18004:2015 sections 7.4.2-7.4.8).
 *
 * One pass over the bits appends every data segment's characters to the
 * payload and records the segment; ECI, structured append and FNC1 headers
 * only change state. The text is then built from the payload segment by
 * segment. Every value read is range-checked, and a character count is
 * checked against the bits that remain before any character is read, so an
 * invalid stream is rejected with the segment and the reason.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "qr/charset.h"
#include "qr/decode_segments.h"
#include "qr/qr_internal.h"

#define ECI_MAX 999999
#define ECI_ISO_8859_1 3
#define ECI_SHIFT_JIS 20

static const char alnum_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

typedef struct parser {
	const uint8_t *data;
	size_t bits, pos;        /* stream length and read position, in bits */
	int version;
	uint8_t *payload;        /* capacity: see payload_bound() */
	size_t len;
	size_t cap;
	semqr_segment *segs;
	int nseg, seg_cap;
	int eci;                 /* ECI in force, -1 for none */
	bool kanji_raw;          /* a Kanji segment kept as Shift JIS bytes */
	semqr_decoded *out;
	semqr_error *err;
} parser;

static size_t remaining(const parser *p)
{
	return p->bits - p->pos;
}

/* Reads n <= 24 bits, most significant first; the caller has checked that
 * they remain. */
static uint32_t take(parser *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++, p->pos++)
		v = v << 1 | (uint32_t)(p->data[p->pos >> 3] >> (7 - (p->pos & 7)) & 1);
	return v;
}

/* Every payload byte costs at least 10/3 bits of the stream (three digits in
 * a 10-bit numeric group; alphanumeric pairs cost 11 bits, bytes 8, Kanji 13
 * bits for at most 3 UTF-8 bytes), so bits / 3 bytes hold any payload. */
static size_t payload_bound(size_t bits)
{
	return bits / 3 + 1;
}

/* Bits taken by `count` characters of a data mode. */
static size_t data_bits(semqr_mode mode, size_t count)
{
	switch (mode) {
	case SEMQR_MODE_NUMERIC:
		return 10 * (count / 3) + (count % 3 == 2 ? 7 : count % 3 == 1 ? 4 : 0);
	case SEMQR_MODE_ALPHANUMERIC:
		return 11 * (count / 2) + 6 * (count % 2);
	case SEMQR_MODE_BYTE:
		return 8 * count;
	default: /* SEMQR_MODE_KANJI */
		return 13 * count;
	}
}

static semqr_status read_numeric(parser *p, int seg, int count)
{
	for (int i = 0; i < count;) {
		int digits = count - i >= 3 ? 3 : count - i;
		uint32_t v = take(p, digits == 3 ? 10 : digits == 2 ? 7 : 4);
		if (v >= (digits == 3 ? 1000u : digits == 2 ? 100u : 10u))
			return semqr__fail(p->err, SEMQR_ERR_DECODE,
			                   "segment %d: numeric group %u invalid for %d digit%s",
			                   seg, (unsigned)v, digits, digits > 1 ? "s" : "");
		for (int k = digits - 1; k >= 0; k--, v /= 10)
			p->payload[p->len + (size_t)k] = (uint8_t)('0' + v % 10);
		p->len += (size_t)digits;
		i += digits;
	}
	return SEMQR_OK;
}

/* With FNC1 in force, "%%" stands for '%' and a single '%' for the GS
 * separator 0x1D (section 7.4.8.1): rewrites payload[start..len) in place. */
static void fnc1_percent(parser *p, size_t start)
{
	size_t o = start;
	for (size_t i = start; i < p->len; i++) {
		if (p->payload[i] != '%') {
			p->payload[o++] = p->payload[i];
		} else if (i + 1 < p->len && p->payload[i + 1] == '%') {
			p->payload[o++] = '%';
			i++;
		} else {
			p->payload[o++] = 0x1D;
		}
	}
	p->len = o;
}

static semqr_status read_alphanumeric(parser *p, int seg, int count)
{
	size_t start = p->len;
	for (int i = 0; i < count; i += 2) {
		if (count - i >= 2) {
			uint32_t v = take(p, 11);
			if (v >= 45 * 45)
				return semqr__fail(p->err, SEMQR_ERR_DECODE,
				                   "segment %d: alphanumeric pair value %u invalid (>= 2025)",
				                   seg, (unsigned)v);
			p->payload[p->len++] = (uint8_t)alnum_chars[v / 45];
			p->payload[p->len++] = (uint8_t)alnum_chars[v % 45];
		} else {
			uint32_t v = take(p, 6);
			if (v >= 45)
				return semqr__fail(p->err, SEMQR_ERR_DECODE,
				                   "segment %d: alphanumeric value %u invalid (>= 45)",
				                   seg, (unsigned)v);
			p->payload[p->len++] = (uint8_t)alnum_chars[v];
		}
	}
	if (p->out->fnc1)
		fnc1_percent(p, start);
	return SEMQR_OK;
}

static void read_bytes(parser *p, int count)
{
	for (int i = 0; i < count; i++)
		p->payload[p->len++] = (uint8_t)take(p, 8);
}

/* A 13-bit Kanji value v is hi * 0xC0 + lo for the Shift JIS code
 * (hi << 8 | lo) + 0x8140 when hi < 0x1F, else + 0xC140 (section 7.4.6);
 * the largest value, 0x1FFF, gives 0xEBBF, the end of the second range. The
 * second byte must be a Shift JIS trail byte (0x40..0xFC except 0x7F). The
 * codes are converted to UTF-8; codes without a Unicode mapping keep the
 * segment as Shift JIS bytes. */
static semqr_status read_kanji(parser *p, int seg, int count)
{
	uint8_t *sjis = malloc(2 * (size_t)count + 1);
	if (!sjis)
		return semqr__fail(p->err, SEMQR_ERR_NO_MEMORY, "segment %d: out of memory", seg);
	for (int i = 0; i < count; i++) {
		uint32_t v = take(p, 13);
		uint32_t w = (v / 0xC0) << 8 | v % 0xC0;
		uint32_t code = w + (w < 0x1F00 ? 0x8140 : 0xC140);
		uint32_t trail = code & 0xFF;
		if (trail == 0x7F || trail > 0xFC) {
			free(sjis);
			return semqr__fail(p->err, SEMQR_ERR_DECODE,
			                   "segment %d: Kanji value 0x%04X (Shift JIS 0x%04X) invalid",
			                   seg, (unsigned)v, (unsigned)code);
		}
		sjis[2 * i] = (uint8_t)(code >> 8);
		sjis[2 * i + 1] = (uint8_t)trail;
	}
	size_t len = p->len;
	if (semqr__to_utf8(semqr__eci_charset(ECI_SHIFT_JIS), sjis, 2 * (size_t)count,
	                   p->payload, p->cap, &len) == 0) {
		p->len = len;
	} else {
		memcpy(p->payload + p->len, sjis, 2 * (size_t)count);
		p->len += 2 * (size_t)count;
		p->kanji_raw = true;
	}
	free(sjis);
	return SEMQR_OK;
}

static semqr_status add_segment(parser *p, semqr_mode mode, size_t offset, int count)
{
	if (p->nseg == p->seg_cap) {
		int cap = p->seg_cap ? 2 * p->seg_cap : 4;
		semqr_segment *s = realloc(p->segs, (size_t)cap * sizeof *s);
		if (!s)
			return semqr__fail(p->err, SEMQR_ERR_NO_MEMORY, "segment %d: out of memory",
			                   p->nseg + 1);
		p->segs = s;
		p->seg_cap = cap;
	}
	p->segs[p->nseg++] = (semqr_segment){
		.mode = mode, .eci = p->eci, .offset = offset,
		.length = p->len - offset, .char_count = count,
	};
	return SEMQR_OK;
}

/* A numeric, alphanumeric, byte or Kanji segment after its mode indicator. */
static semqr_status read_data_segment(parser *p, semqr_mode mode)
{
	int seg = p->nseg + 1;
	int cc_bits = semqr__char_count_bits(mode, p->version);
	if (remaining(p) < (size_t)cc_bits)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "segment %d: data ends inside the character count of a %s segment",
		                   seg, semqr_mode_name(mode));
	int count = (int)take(p, cc_bits);
	size_t need = data_bits(mode, (size_t)count);
	if (need > remaining(p))
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "segment %d: data ends inside a %s segment "
		                   "(%d characters need %zu bits, %zu remain)",
		                   seg, semqr_mode_name(mode), count, need, remaining(p));
	size_t offset = p->len;
	semqr_status st = SEMQR_OK;
	switch (mode) {
	case SEMQR_MODE_NUMERIC: st = read_numeric(p, seg, count); break;
	case SEMQR_MODE_ALPHANUMERIC: st = read_alphanumeric(p, seg, count); break;
	case SEMQR_MODE_BYTE: read_bytes(p, count); break;
	default: st = read_kanji(p, seg, count); break;
	}
	if (st != SEMQR_OK)
		return st;
	return add_segment(p, mode, offset, count);
}

/* ECI designator (section 7.4.2.2): 0bbbbbbb, 10bbbbbb bbbbbbbb or
 * 110bbbbb bbbbbbbb bbbbbbbb, the value at most 999999. */
static semqr_status read_eci(parser *p, size_t at)
{
	if (remaining(p) < 8)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "ECI designator at bit %zu: data ends inside it", at);
	uint32_t first = take(p, 8);
	int more = (first & 0x80) == 0 ? 0 : (first & 0xC0) == 0x80 ? 1 : (first & 0xE0) == 0xC0 ? 2 : -1;
	if (more < 0)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "ECI designator at bit %zu: first byte 0x%02X invalid", at,
		                   (unsigned)first);
	if (remaining(p) < 8 * (size_t)more)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "ECI designator at bit %zu: data ends inside it", at);
	uint32_t value = first & (0x7Fu >> more);
	value = value << (8 * more) | take(p, 8 * more);
	if (value > ECI_MAX)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "ECI designator at bit %zu: assignment %u > %d", at,
		                   (unsigned)value, ECI_MAX);
	p->eci = (int)value;
	if (p->out->eci < 0)
		p->out->eci = p->eci;
	return SEMQR_OK;
}

/* Structured append header (section 8): 4-bit position, 4-bit total - 1,
 * 8-bit parity. */
static semqr_status read_structured_append(parser *p, size_t at)
{
	semqr_decoded *d = p->out;
	if (remaining(p) < 16)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "structured append header at bit %zu: data ends inside it", at);
	if (d->structured_append)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "structured append header at bit %zu: a second header", at);
	int index = (int)take(p, 4);
	int total = (int)take(p, 4) + 1;
	int parity = (int)take(p, 8);
	if (index >= total)
		return semqr__fail(p->err, SEMQR_ERR_DECODE,
		                   "structured append header at bit %zu: symbol %d of %d", at,
		                   index + 1, total);
	d->structured_append = true;
	d->sa_index = index;
	d->sa_total = total;
	d->sa_parity = parity;
	return SEMQR_OK;
}

/* FNC1 in second position carries an 8-bit application indicator. */
static semqr_status read_fnc1(parser *p, semqr_mode mode, size_t at)
{
	if (mode == SEMQR_MODE_FNC1_SECOND) {
		if (remaining(p) < 8)
			return semqr__fail(p->err, SEMQR_ERR_DECODE,
			                   "FNC1 at bit %zu: data ends inside the application indicator",
			                   at);
		p->out->fnc1_indicator = (int)take(p, 8);
	}
	p->out->fnc1 = mode == SEMQR_MODE_FNC1_FIRST ? 1 : 2;
	return SEMQR_OK;
}

static semqr_status read_stream(parser *p)
{
	while (remaining(p) >= 4) {
		size_t at = p->pos;
		uint32_t mode = take(p, 4);
		semqr_status st;
		switch (mode) {
		case 0: /* terminator */
			return SEMQR_OK;
		case SEMQR_MODE_NUMERIC:
		case SEMQR_MODE_ALPHANUMERIC:
		case SEMQR_MODE_BYTE:
		case SEMQR_MODE_KANJI:
			st = read_data_segment(p, (semqr_mode)mode);
			break;
		case SEMQR_MODE_ECI:
			st = read_eci(p, at);
			break;
		case SEMQR_MODE_STRUCTURED_APPEND:
			st = read_structured_append(p, at);
			break;
		case SEMQR_MODE_FNC1_FIRST:
		case SEMQR_MODE_FNC1_SECOND:
			st = read_fnc1(p, (semqr_mode)mode, at);
			break;
		default:
			return semqr__fail(p->err, SEMQR_ERR_DECODE,
			                   "bit %zu: unknown mode indicator %u%u%u%u", at,
			                   (unsigned)(mode >> 3 & 1), (unsigned)(mode >> 2 & 1),
			                   (unsigned)(mode >> 1 & 1), (unsigned)(mode & 1));
		}
		if (st != SEMQR_OK)
			return st;
	}
	return SEMQR_OK;
}

/* The payload as UTF-8 text, segment by segment: numeric, alphanumeric and
 * (converted) Kanji bytes as they are; byte segments from the character set
 * of their ECI, or without ECI as UTF-8 when valid, else ISO-8859-1. Leaves
 * *text NULL when a segment cannot be converted (unknown ECI, bytes invalid
 * in its character set, Kanji kept as Shift JIS). Any byte converts to at
 * most 3 UTF-8 bytes (4-byte sequences come from 4 input bytes). */
static semqr_status make_text(parser *p, char **text)
{
	*text = NULL;
	if (p->kanji_raw)
		return SEMQR_OK;
	size_t cap = 3 * p->len + 1;
	uint8_t *t = malloc(cap);
	if (!t)
		return semqr__fail(p->err, SEMQR_ERR_NO_MEMORY, "text: out of memory");
	size_t n = 0;
	for (int i = 0; i < p->nseg; i++) {
		const semqr_segment *s = &p->segs[i];
		const uint8_t *in = p->payload + s->offset;
		bool ok = true;
		if (s->mode != SEMQR_MODE_BYTE || (s->eci < 0 && semqr__utf8_valid(in, s->length))) {
			memcpy(t + n, in, s->length);
			n += s->length;
		} else {
			const char *charset = semqr__eci_charset(s->eci < 0 ? ECI_ISO_8859_1 : s->eci);
			ok = charset && semqr__to_utf8(charset, in, s->length, t, cap - 1, &n) == 0;
		}
		if (!ok) {
			free(t);
			return SEMQR_OK;
		}
	}
	t[n] = '\0';
	*text = (char *)t;
	return SEMQR_OK;
}

semqr_status semqr__parse_segments(const uint8_t *data, size_t len, int version,
                                   semqr_decoded *out, semqr_error *err)
{
	parser p = {
		.data = data, .bits = 8 * len, .version = version,
		.eci = -1, .out = out, .err = err,
	};
	out->payload = NULL;
	out->payload_len = 0;
	out->text = NULL;
	out->segments = NULL;
	out->segment_count = 0;
	out->eci = -1;
	out->fnc1 = 0;
	out->fnc1_indicator = -1;
	out->structured_append = false;
	out->sa_index = out->sa_total = out->sa_parity = 0;

	p.cap = payload_bound(p.bits);
	p.payload = malloc(p.cap);
	if (!p.payload)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "payload: out of memory");
	char *text = NULL;
	semqr_status st = read_stream(&p);
	if (st == SEMQR_OK)
		st = make_text(&p, &text);
	if (st != SEMQR_OK) {
		free(p.payload);
		free(p.segs);
		out->eci = -1;
		out->fnc1 = 0;
		out->fnc1_indicator = -1;
		out->structured_append = false;
		out->sa_index = out->sa_total = out->sa_parity = 0;
		return st;
	}
	out->payload = p.payload;
	out->payload_len = p.len;
	out->text = text;
	out->segments = p.segs;
	out->segment_count = p.nseg;
	return SEMQR_OK;
}
