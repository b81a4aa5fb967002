/* The QR encoder: payload bytes to a masked module matrix.
 *
 * ISO/IEC 18004:2015 section 7.1, in order:
 * 1. Segments: one segment of a forced mode, or for each range of versions
 *    sharing character-count widths (1-9, 10-26, 27-40) the segmentation of
 *    least bit length (segment.c).
 * 2. Version: the smallest allowed one whose data codewords at the requested
 *    level hold the header (structured append, ECI) and the segments; then
 *    the level is raised while the same version still holds them.
 * 3. Bit stream: structured append header, ECI designator, segments, a
 *    terminator of up to four zero bits, zero bits to a byte boundary, and
 *    the pad codewords 0xEC 0x11 alternately up to the data capacity.
 * 4. Codewords: Reed-Solomon EC per block and interleaving (interleave.c).
 * 5. Matrix: function patterns, the codeword bits along the placement order
 *    (remainder bits zero), and the mask given or the one of least penalty,
 *    ties going to the lower mask.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "qr/bitbuf.h"
#include "qr/charset.h"
#include "qr/qr_internal.h"
#include "qr/segment.h"

/* A payload longer than this needs more than the 23648 data bits of 40-L
 * even as digits, the densest mode (4 + 14 + 10 * 7090 / 3 > 23648). */
#define PAYLOAD_MAX 7089

/* Scratch space too large for the stack. */
typedef struct workspace {
	semqr_bitbuf bits;
	uint8_t codewords[SEMQR_CODEWORDS_MAX];
	int order[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	uint8_t is_func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr_symbol trial;
} workspace;

void semqr_encode_options_init(semqr_encode_options *opts)
{
	*opts = (semqr_encode_options){
		.min_version = SEMQR_VERSION_MIN,
		.max_version = SEMQR_VERSION_MAX,
		.ecc = SEMQR_ECC_M,
		.boost_ecc = true,
		.mask = -1,
		.mode = SEMQR_MODE_AUTO,
		.eci = -1,
		.kanji = true,
		.sa_index = 0,
		.sa_total = 0,
		.sa_parity = 0,
	};
}

static semqr_status check_options(const semqr_encode_options *o, semqr_error *err)
{
	const semqr_status bad = SEMQR_ERR_INVALID_ARGUMENT;
	if (o->min_version < SEMQR_VERSION_MIN || o->min_version > SEMQR_VERSION_MAX)
		return semqr__fail(err, bad, "semqr_encode: min_version %d is outside 1..40",
		                   o->min_version);
	if (o->max_version < o->min_version || o->max_version > SEMQR_VERSION_MAX)
		return semqr__fail(err, bad, "semqr_encode: max_version %d is outside min_version..40 (%d..40)",
		                   o->max_version, o->min_version);
	if ((unsigned)o->ecc > SEMQR_ECC_H)
		return semqr__fail(err, bad, "semqr_encode: ecc %d is not a level (0..3 for L, M, Q, H)",
		                   (int)o->ecc);
	if (o->mask < -1 || o->mask > 7)
		return semqr__fail(err, bad, "semqr_encode: mask %d is outside -1..7", o->mask);
	if (o->mode != SEMQR_MODE_AUTO && o->mode != SEMQR_MODE_NUMERIC &&
	    o->mode != SEMQR_MODE_ALPHANUMERIC && o->mode != SEMQR_MODE_BYTE &&
	    o->mode != SEMQR_MODE_KANJI)
		return semqr__fail(err, bad, "semqr_encode: mode %d is not auto, numeric, alphanumeric, byte or kanji",
		                   (int)o->mode);
	if (o->eci < -1 || o->eci > 999999)
		return semqr__fail(err, bad, "semqr_encode: eci %d is outside -1..999999", o->eci);
	if (o->mode == SEMQR_MODE_KANJI && o->eci != -1 && o->eci != 20)
		return semqr__fail(err, bad, "semqr_encode: mode kanji cannot be used with eci %d "
		                   "(Kanji mode is Shift JIS: only eci 20 or none)", o->eci);
	if (o->sa_total != 0) {
		if (o->sa_total < 2 || o->sa_total > SEMQR_STRUCTURED_APPEND_MAX)
			return semqr__fail(err, bad, "semqr_encode: sa_total %d is outside 2..16 (or 0 for none)",
			                   o->sa_total);
		if (o->sa_index < 0 || o->sa_index >= o->sa_total)
			return semqr__fail(err, bad, "semqr_encode: sa_index %d is outside 0..%d (sa_total %d)",
			                   o->sa_index, o->sa_total - 1, o->sa_total);
		if (o->sa_parity < 0 || o->sa_parity > 255)
			return semqr__fail(err, bad, "semqr_encode: sa_parity %d is outside 0..255", o->sa_parity);
	}
	return SEMQR_OK;
}

/* Offset of the first byte of data[0..len) that does not belong to a
 * well-formed UTF-8 character, or len when there is none. The length of the
 * character each lead byte announces is checked by semqr__utf8_valid. */
static size_t utf8_error_offset(const uint8_t *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = data[i] < 0x80 ? 1 : data[i] < 0xE0 ? 2 : data[i] < 0xF0 ? 3 : 4;
		if (n > len - i || !semqr__utf8_valid(data + i, n))
			return i;
		i += n;
	}
	return len;
}

/* Bits written before the segments: structured append header (mode,
 * index, total - 1, parity) and ECI designator (mode and 8, 16 or 24 bits). */
static int header_bits(const semqr_encode_options *o)
{
	int bits = o->sa_total ? 4 + 4 + 4 + 8 : 0;
	if (o->eci >= 0)
		bits += 4 + (o->eci < 128 ? 8 : o->eci < 16384 ? 16 : 24);
	return bits;
}

static void write_header(semqr_bitbuf *b, const semqr_encode_options *o)
{
	if (o->sa_total) {
		semqr__bitbuf_append(b, SEMQR_MODE_STRUCTURED_APPEND, 4);
		semqr__bitbuf_append(b, (uint32_t)o->sa_index, 4);
		semqr__bitbuf_append(b, (uint32_t)(o->sa_total - 1), 4);
		semqr__bitbuf_append(b, (uint32_t)o->sa_parity, 8);
	}
	if (o->eci >= 0) {
		uint32_t e = (uint32_t)o->eci;
		semqr__bitbuf_append(b, SEMQR_MODE_ECI, 4);
		if (e < 128)
			semqr__bitbuf_append(b, e, 8);          /* 0bbbbbbb */
		else if (e < 16384)
			semqr__bitbuf_append(b, 0x8000 | e, 16);   /* 10bbbbbb bbbbbbbb */
		else
			semqr__bitbuf_append(b, 0xC00000 | e, 24); /* 110bbbbb bbbbbbbb bbbbbbbb */
	}
}

static void write_segment(semqr_bitbuf *b, const semqr_seg *s, const uint8_t *data,
                          const semqr_kanji *kanji, int version)
{
	const uint8_t *p = data + s->offset;
	size_t n = s->length;
	semqr__bitbuf_append(b, (uint32_t)s->mode, 4);
	semqr__bitbuf_append(b, (uint32_t)s->chars, semqr__char_count_bits(s->mode, version));
	switch (s->mode) {
	case SEMQR_MODE_NUMERIC:
		/* Groups of 3 digits in 10 bits; a final 2 in 7, a final 1 in 4. */
		for (size_t i = 0; i < n; i += 3) {
			size_t g = n - i < 3 ? n - i : 3;
			uint32_t v = 0;
			for (size_t j = 0; j < g; j++)
				v = v * 10 + (uint32_t)(p[i + j] - '0');
			semqr__bitbuf_append(b, v, (int)(3 * g + 1));
		}
		break;
	case SEMQR_MODE_ALPHANUMERIC:
		/* Pairs as 45 * first + second in 11 bits; a final one in 6. */
		for (size_t i = 0; i < n; i += 2) {
			if (n - i >= 2)
				semqr__bitbuf_append(b, (uint32_t)(45 * semqr__alnum_value(p[i]) +
				                                   semqr__alnum_value(p[i + 1])), 11);
			else
				semqr__bitbuf_append(b, (uint32_t)semqr__alnum_value(p[i]), 6);
		}
		break;
	case SEMQR_MODE_KANJI:
		/* Shift JIS less 0x8140 (or 0xC140 above 0x9FFC), then high byte
		 * * 0xC0 + low byte, in 13 bits. */
		for (size_t i = 0; i < n; i += kanji[s->offset + i].len) {
			uint32_t c = kanji[s->offset + i].sjis;
			c -= c <= 0x9FFC ? 0x8140 : 0xC140;
			semqr__bitbuf_append(b, (c >> 8) * 0xC0 + (c & 0xFF), 13);
		}
		break;
	default:
		for (size_t i = 0; i < n; i++)
			semqr__bitbuf_append(b, p[i], 8);
		break;
	}
}

/* Segments for the versions sharing `version`'s count-field widths: returns
 * the segment count (or -1, out of memory) and sets *bits to the total length
 * of header and segments. */
static int segment_range(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                         const semqr_encode_options *o, int version, semqr_seg *segs, long *bits)
{
	int n;
	if (o->mode == SEMQR_MODE_AUTO) {
		n = semqr__segment_optimal(data, len, kanji, version, segs, bits);
	} else {
		size_t bad; /* validated by the caller */
		semqr__segment_whole(data, len, kanji, o->mode, &segs[0], &bad);
		n = 1;
		*bits = semqr__segment_bits(o->mode, segs[0].chars, version);
	}
	*bits += header_bits(o);
	return n;
}

/* Sets the mask of s, draws its function patterns (whose format information
 * depends on the mask) and masks its data modules. */
static void finish_symbol(semqr_symbol *s, const uint8_t *is_func, int mask)
{
	s->mask = mask;
	semqr__draw_function_patterns(s);
	semqr__apply_mask(s, is_func, mask);
}

/* Steps 3-5 for the chosen version and level. */
static void build_symbol(const uint8_t *data, const semqr_kanji *kanji, const semqr_seg *segs,
                         int nsegs, const semqr_encode_options *o, int version, semqr_ecc ecc,
                         workspace *w, semqr_symbol *out)
{
	int capacity = 8 * semqr__data_codewords(version, ecc);
	semqr_bitbuf *b = &w->bits;

	/* The segments were sized against capacity <= SEMQR_BITBUF_MAX_BITS,
	 * so no append below overflows. */
	semqr__bitbuf_init(b);
	write_header(b, o);
	for (int i = 0; i < nsegs; i++)
		write_segment(b, &segs[i], data, kanji, version);
	semqr__bitbuf_append(b, 0, capacity - b->len < 4 ? capacity - b->len : 4);
	semqr__bitbuf_append(b, 0, (8 - b->len % 8) % 8);
	for (uint32_t pad = 0xEC; b->len < capacity; pad ^= 0xEC ^ 0x11)
		semqr__bitbuf_append(b, pad, 8);

	semqr__interleave(version, ecc, b->bytes, w->codewords);

	out->version = version;
	out->size = semqr__size(version);
	out->ecc = ecc;
	memset(out->modules, 0, sizeof out->modules);
	semqr__function_map(version, w->is_func);
	/* The order has raw_modules >= 8 * total_codewords entries; the
	 * remainder bits past the codewords stay zero until masked. */
	semqr__data_order(version, w->order);
	for (int i = 0; i < 8 * semqr__total_codewords(version); i++)
		out->modules[w->order[i]] = (w->codewords[i >> 3] >> (7 - (i & 7))) & 1;

	int mask = o->mask;
	if (mask < 0) {
		long best = 0;
		for (int m = 0; m < 8; m++) {
			w->trial = *out;
			finish_symbol(&w->trial, w->is_func, m);
			long p = semqr__penalty(&w->trial);
			if (m == 0 || p < best) {
				best = p;
				mask = m;
			}
		}
	}
	finish_symbol(out, w->is_func, mask);
}

semqr_status semqr_encode(const uint8_t *data, size_t len, const semqr_encode_options *opts,
                          semqr_symbol *out, semqr_error *err)
{
	semqr_encode_options defaults;
	if (!opts) {
		semqr_encode_options_init(&defaults);
		opts = &defaults;
	}
	if (!out || (!data && len))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_encode: %s is NULL",
		                   out ? "data" : "out");
	semqr_status st = check_options(opts, err);
	if (st != SEMQR_OK)
		return st;

	if (opts->eci == 26) {
		size_t at = utf8_error_offset(data, len);
		if (at < len)
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "semqr_encode: eci 26 requires UTF-8, but byte %zu (0x%02X) "
			                   "does not begin a valid UTF-8 character", at, data[at]);
	}
	if (opts->mode == SEMQR_MODE_NUMERIC || opts->mode == SEMQR_MODE_ALPHANUMERIC) {
		semqr_seg seg;
		size_t at;
		if (semqr__segment_whole(data, len, NULL, opts->mode, &seg, &at) < 0)
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "semqr_encode: byte %zu (0x%02X) cannot be encoded in %s mode",
			                   at, data[at], semqr_mode_name(opts->mode));
	}
	int maxv = opts->max_version;
	int max_capacity = 8 * semqr__data_codewords(maxv, opts->ecc);
	if (len > PAYLOAD_MAX)
		return semqr__fail(err, SEMQR_ERR_DATA_TOO_LONG,
		                   "semqr_encode: %zu bytes need at least %zu data bits; "
		                   "version %d-%s, the largest allowed, holds %d",
		                   len, (size_t)header_bits(opts) + 4 +
		                   (size_t)semqr__char_count_bits(SEMQR_MODE_NUMERIC, maxv) + (10 * len + 2) / 3,
		                   maxv, semqr_ecc_name(opts->ecc), max_capacity);

	bool use_kanji = opts->mode == SEMQR_MODE_KANJI ||
	                 (opts->mode == SEMQR_MODE_AUTO && opts->kanji &&
	                  (opts->eci == -1 || opts->eci == 20));
	semqr_kanji *kanji = NULL;
	semqr_seg *segs = malloc((len ? len : 1) * sizeof *segs);
	workspace *w = malloc(sizeof *w);
	if (use_kanji && len)
		kanji = malloc(len * sizeof *kanji);
	if (!segs || !w || (use_kanji && len && !kanji)) {
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "semqr_encode: no memory for %zu bytes", len);
		goto done;
	}
	if (kanji)
		semqr__find_kanji(data, len, kanji);
	if (opts->mode == SEMQR_MODE_KANJI) {
		semqr_seg seg;
		size_t at;
		if (semqr__segment_whole(data, len, kanji, SEMQR_MODE_KANJI, &seg, &at) < 0) {
			st = semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                 "semqr_encode: byte %zu (0x%02X) does not begin a UTF-8 character "
			                 "in Kanji mode's Shift JIS range", at, data[at]);
			goto done;
		}
	}

	/* Ranges of versions with the same count widths, ascending: the first
	 * version that fits is the smallest. */
	static const int range_end[3] = { 9, 26, 40 };
	int version = 0, nsegs = 0;
	long bits = 0;
	for (int r = 0, lo = 1; r < 3 && !version; lo = range_end[r++] + 1) {
		int from = lo > opts->min_version ? lo : opts->min_version;
		int to = range_end[r] < maxv ? range_end[r] : maxv;
		if (from > to)
			continue;
		nsegs = segment_range(data, len, kanji, opts, from, segs, &bits);
		if (nsegs < 0) {
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                 "semqr_encode: no memory to segment %zu bytes", len);
			goto done;
		}
		for (int v = from; v <= to && !version; v++)
			if (bits <= 8L * semqr__data_codewords(v, opts->ecc))
				version = v;
	}
	if (!version) {
		st = semqr__fail(err, SEMQR_ERR_DATA_TOO_LONG,
		                 "semqr_encode: %zu bytes need %ld data bits in version %d; "
		                 "version %d-%s, the largest allowed, holds %d",
		                 len, bits, maxv, maxv, semqr_ecc_name(opts->ecc), max_capacity);
		goto done;
	}

	semqr_ecc ecc = opts->ecc;
	while (opts->boost_ecc && ecc < SEMQR_ECC_H &&
	       bits <= 8L * semqr__data_codewords(version, (semqr_ecc)(ecc + 1)))
		ecc = (semqr_ecc)(ecc + 1);

	build_symbol(data, kanji, segs, nsegs, opts, version, ecc, w, out);
	semqr__clear(err);
	st = SEMQR_OK;
done:
	free(kanji);
	free(segs);
	free(w);
	return st;
}

/* Start of part k of count over data[0..len): k * len / count, moved to the
 * nearest UTF-8 character start (the earlier one on a tie) when utf8. */
static size_t part_start(const uint8_t *data, size_t len, int count, int k, bool utf8)
{
	size_t ideal = len / (size_t)count * (size_t)k + len % (size_t)count * (size_t)k / (size_t)count;
	if (!utf8)
		return ideal;
	size_t back = ideal, ahead = ideal;
	while (back > 0 && back < len && (data[back] & 0xC0) == 0x80)
		back--;
	while (ahead < len && (data[ahead] & 0xC0) == 0x80)
		ahead++;
	return ideal - back <= ahead - ideal ? back : ahead;
}

semqr_status semqr_encode_structured(const uint8_t *data, size_t len, int count,
                                     const semqr_encode_options *opts,
                                     semqr_symbol *out, semqr_error *err)
{
	if (!out || (!data && len))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_encode_structured: %s is NULL",
		                   out ? "data" : "out");
	if (count < 2 || count > SEMQR_STRUCTURED_APPEND_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_encode_structured: count %d is outside 2..16", count);
	semqr_encode_options o;
	if (opts)
		o = *opts;
	else
		semqr_encode_options_init(&o);

	int parity = 0;
	for (size_t i = 0; i < len; i++)
		parity ^= data[i];
	bool utf8 = semqr__utf8_valid(data, len);

	o.sa_total = count;
	o.sa_parity = parity;
	for (int k = 0; k < count; k++) {
		size_t start = part_start(data, len, count, k, utf8);
		size_t end = part_start(data, len, count, k + 1, utf8);
		semqr_error part_err;
		o.sa_index = k;
		semqr_status st = semqr_encode(len ? data + start : data, end - start, &o, &out[k],
		                               &part_err);
		if (st != SEMQR_OK)
			return semqr__fail(err, st, "semqr_encode_structured: part %d of %d (bytes %zu..%zu): %s",
			                   k + 1, count, start, end, part_err.message);
	}
	semqr__clear(err);
	return SEMQR_OK;
}
