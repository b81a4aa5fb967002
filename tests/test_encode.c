/* The encoder: bit buffer, bit streams, capacities, version and level choice,
 * masks, structured append and errors.
 *
 * Symbols are read back with reference code written independently of the
 * library wherever that is cheap (here, and the GF(2) and GF(256) arithmetic
 * of support/testutil.c): mask patterns, format and version information (BCH
 * codes and module positions), de-interleaving, the Reed-Solomon EC
 * codewords, and a bit-stream parser. Only the placement
 * order (semqr__data_order) and the capacity tables (block layout, codeword
 * counts) are taken from the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qr/bitbuf.h"
#include "qr/charset.h"
#include "qr/qr_internal.h"
#include "support/testutil.h"

#define KANJI_DOT "\xE7\x82\xB9" /* 点, Shift JIS 0x935F */
#define KANJI_MEI "\xE8\x8C\x97" /* 茗, Shift JIS 0xE4AA */

/* ---- reference code ---------------------------------------------------- */

/* Mask patterns of ISO/IEC 18004 table 10 (x = column j, y = row i). */
static int ref_mask(int mask, int x, int y)
{
	switch (mask) {
	case 0: return (x + y) % 2 == 0;
	case 1: return y % 2 == 0;
	case 2: return x % 3 == 0;
	case 3: return (x + y) % 3 == 0;
	case 4: return (y / 2 + x / 3) % 2 == 0;
	case 5: return (x * y) % 2 + (x * y) % 3 == 0;
	case 6: return ((x * y) % 2 + (x * y) % 3) % 2 == 0;
	default: return ((x + y) % 2 + (x * y) % 3) % 2 == 0;
	}
}

/* Format word: level bits (L 01, M 00, Q 11, H 10), mask, BCH(15,5) with
 * generator 0x537, XOR 0x5412. */
static uint32_t ref_format(semqr_ecc ecc, int mask)
{
	static const uint32_t level_bits[4] = { 1, 0, 3, 2 };
	uint32_t data = level_bits[ecc] << 3 | (uint32_t)mask;
	return (data << 10 | test_gf2_mod(data << 10, 0x537)) ^ 0x5412;
}

static int module(const semqr_symbol *s, int x, int y)
{
	return s->modules[y * s->size + x];
}

/* The two copies of the format word as drawn (figure 25): copy 1 around the
 * top-left finder, bit 0 at (8, 0) up to bit 14 at (0, 8) skipping the
 * timing modules; copy 2 with bits 0-7 leftwards from (size-1, 8) and bits
 * 8-14 downwards from (8, size-7). */
static void read_format(const semqr_symbol *s, uint32_t *copy1, uint32_t *copy2)
{
	int n = s->size;
	uint32_t a = 0, b = 0;
	for (int i = 0; i < 15; i++) {
		int x, y;
		if (i < 6) { x = 8; y = i; }
		else if (i < 8) { x = 8; y = i + 1; }
		else if (i == 8) { x = 7; y = 8; }
		else { x = 14 - i; y = 8; }
		a |= (uint32_t)module(s, x, y) << i;
		if (i < 8) { x = n - 1 - i; y = 8; }
		else { x = 8; y = n - 15 + i; }
		b |= (uint32_t)module(s, x, y) << i;
	}
	*copy1 = a;
	*copy2 = b;
}

/* The two copies of the version word (version >= 7): bit i at
 * (size - 11 + i % 3, i / 3) and transposed. */
static void read_version(const semqr_symbol *s, uint32_t *copy1, uint32_t *copy2)
{
	uint32_t a = 0, b = 0;
	for (int i = 0; i < 18; i++) {
		a |= (uint32_t)module(s, s->size - 11 + i % 3, i / 3) << i;
		b |= (uint32_t)module(s, i / 3, s->size - 11 + i % 3) << i;
	}
	*copy1 = a;
	*copy2 = b;
}

/* EC codewords of data[0..n) with generator prod_{i<ec} (x - alpha^i):
 * the remainder of data(x) * x^ec. */
static void ref_rs(const uint8_t *data, int n, int ec, uint8_t *out)
{
	uint8_t gen[70] = { 1 }; /* gen[0] is the leading coefficient */
	uint8_t alpha_i = 1;
	for (int i = 0; i < ec; i++, alpha_i = test_gf_mul_ref(alpha_i, 2)) {
		for (int j = i + 1; j > 0; j--)
			gen[j] ^= test_gf_mul_ref(gen[j - 1], alpha_i);
	}
	uint8_t rem[70] = { 0 };
	for (int i = 0; i < n; i++) {
		uint8_t f = data[i] ^ rem[0];
		memmove(rem, rem + 1, (size_t)(ec - 1));
		rem[ec - 1] = 0;
		for (int j = 0; j < ec; j++)
			rem[j] ^= test_gf_mul_ref(gen[j + 1], f);
	}
	memcpy(out, rem, (size_t)ec);
}

static int order_buf[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];

/* Reads the codewords of s along the placement order, removes the mask,
 * checks every block's EC codewords against ref_rs and writes the data
 * codewords, blocks concatenated, to data. Returns their count. */
static int read_data(const semqr_symbol *s, uint8_t *data)
{
	uint8_t cw[SEMQR_CODEWORDS_MAX] = { 0 };
	int total = semqr__total_codewords(s->version);
	int nmod = semqr__data_order(s->version, order_buf);
	assert_true(nmod >= total * 8);
	for (int i = 0; i < total * 8; i++) {
		int x = order_buf[i] % s->size, y = order_buf[i] / s->size;
		int bit = s->modules[order_buf[i]] ^ ref_mask(s->mask, x, y);
		cw[i >> 3] |= (uint8_t)(bit << (7 - (i & 7)));
	}
	/* Interleaving: data codeword i of every block in turn (short blocks
	 * have one fewer), then EC codeword i of every block. */
	semqr_block_layout L = semqr__block_layout(s->version, s->ecc);
	int start[SEMQR_BLOCKS_MAX + 1];
	start[0] = 0;
	for (int b = 0; b < L.blocks; b++)
		start[b + 1] = start[b] + L.short_data + (b >= L.short_count);
	int k = 0;
	for (int i = 0; i <= L.short_data; i++)
		for (int b = 0; b < L.blocks; b++)
			if (i < start[b + 1] - start[b])
				data[start[b] + i] = cw[k++];
	assert_int_equal(k, start[L.blocks]);
	assert_int_equal(k, semqr__data_codewords(s->version, s->ecc));
	for (int b = 0; b < L.blocks; b++) {
		uint8_t ec[70];
		ref_rs(data + start[b], start[b + 1] - start[b], L.ec, ec);
		for (int i = 0; i < L.ec; i++)
			assert_int_equal(cw[k + i * L.blocks + b], ec[i]);
	}
	assert_int_equal(k + L.ec * L.blocks, total);
	return k;
}

/* Checks the parts of s that the encoder decides: size, both format copies
 * (level and mask), both version copies, finder corners and timing. */
static void check_symbol(const semqr_symbol *s)
{
	assert_true(s->version >= 1 && s->version <= 40);
	assert_int_equal(s->size, 17 + 4 * s->version);
	assert_true(s->mask >= 0 && s->mask <= 7);
	uint32_t f1, f2;
	read_format(s, &f1, &f2);
	assert_int_equal(f1, ref_format(s->ecc, s->mask));
	assert_int_equal(f2, ref_format(s->ecc, s->mask));
	assert_int_equal(module(s, 8, s->size - 8), 1);
	if (s->version >= 7) {
		uint32_t v1, v2, want = (uint32_t)s->version << 12;
		want |= test_gf2_mod(want, 0x1F25);
		read_version(s, &v1, &v2);
		assert_int_equal(v1, want);
		assert_int_equal(v2, want);
	}
	/* Finder centres are dark 3x3 blocks ringed by light then dark. */
	const int corners[3][2] = { { 3, 3 }, { s->size - 4, 3 }, { 3, s->size - 4 } };
	for (int c = 0; c < 3; c++)
		for (int dy = -3; dy <= 3; dy++)
			for (int dx = -3; dx <= 3; dx++) {
				int r = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
				assert_int_equal(module(s, corners[c][0] + dx, corners[c][1] + dy), r != 2);
			}
	for (int i = 8; i < s->size - 8; i++) {
		assert_int_equal(module(s, i, 6), i % 2 == 0);
		assert_int_equal(module(s, 6, i), i % 2 == 0);
	}
}

/* A parsed bit stream. */
typedef struct parsed {
	bool sa;
	int sa_index, sa_total, sa_parity;
	int eci;            /* first ECI designator, -1 for none */
	int nseg;
	semqr_mode modes[64];
	uint8_t payload[8192];
	size_t len;
	long data_end;      /* bit position where the terminator starts */
} parsed;

/* Parses data[0..n) of a symbol of `version`: segments until the terminator
 * or the end; Kanji converted to UTF-8; after the terminator, zero bits to a
 * byte boundary and then pad codewords 0xEC 0x11 alternately are required. */
static void parse(const uint8_t *data, int n, int version, parsed *p)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	static const int cc[4][3] = { { 10, 12, 14 }, { 9, 11, 13 }, { 8, 16, 16 }, { 8, 10, 12 } };
	int range = version <= 9 ? 0 : version <= 26 ? 1 : 2;
	semqr_bitreader r;
	semqr__bitreader_init(&r, data, (size_t)n);
	memset(p, 0, sizeof *p);
	p->eci = -1;
	for (;;) {
		p->data_end = (long)r.pos;
		if (semqr__bitreader_remaining(&r) < 4)
			break;
		long mode = semqr__bitreader_read(&r, 4);
		if (mode == 0)
			break;
		if (mode == SEMQR_MODE_STRUCTURED_APPEND) {
			assert_false(p->sa);
			assert_int_equal(p->nseg, 0);
			p->sa = true;
			p->sa_index = (int)semqr__bitreader_read(&r, 4);
			p->sa_total = (int)semqr__bitreader_read(&r, 4) + 1;
			p->sa_parity = (int)semqr__bitreader_read(&r, 8);
			continue;
		}
		if (mode == SEMQR_MODE_ECI) {
			long e = semqr__bitreader_read(&r, 8);
			if ((e & 0xC0) == 0x80)
				e = (e & 0x3F) << 8 | semqr__bitreader_read(&r, 8);
			else if ((e & 0xE0) == 0xC0)
				e = (e & 0x1F) << 16 | semqr__bitreader_read(&r, 16);
			else
				assert_int_equal(e & 0x80, 0);
			if (p->eci < 0)
				p->eci = (int)e;
			continue;
		}
		int m = mode == 1 ? 0 : mode == 2 ? 1 : mode == 4 ? 2 : mode == 8 ? 3 : -1;
		if (m < 0)
			fail_msg("unexpected mode indicator %ld", mode);
		long count = semqr__bitreader_read(&r, cc[m][range]);
		assert_true(count >= 0);
		p->modes[p->nseg++] = (semqr_mode)mode;
		for (long i = 0; i < count;) {
			if (m == 0) {
				int g = count - i >= 3 ? 3 : (int)(count - i);
				long v = semqr__bitreader_read(&r, 3 * g + 1);
				char digits[4];
				snprintf(digits, sizeof digits, "%0*ld", g, v);
				assert_int_equal(strlen(digits), g);
				memcpy(p->payload + p->len, digits, (size_t)g);
				p->len += (size_t)g;
				i += g;
			} else if (m == 1) {
				if (count - i >= 2) {
					long v = semqr__bitreader_read(&r, 11);
					assert_true(v >= 0 && v < 45 * 45);
					p->payload[p->len++] = (uint8_t)alnum[v / 45];
					p->payload[p->len++] = (uint8_t)alnum[v % 45];
					i += 2;
				} else {
					long v = semqr__bitreader_read(&r, 6);
					assert_true(v >= 0 && v < 45);
					p->payload[p->len++] = (uint8_t)alnum[v];
					i++;
				}
			} else if (m == 2) {
				long v = semqr__bitreader_read(&r, 8);
				assert_true(v >= 0);
				p->payload[p->len++] = (uint8_t)v;
				i++;
			} else {
				long v = semqr__bitreader_read(&r, 13);
				assert_true(v >= 0);
				long c = (v / 0xC0) << 8 | (v % 0xC0);
				c += c < 0x1F00 ? 0x8140 : 0xC140;
				uint8_t sj[2] = { (uint8_t)(c >> 8), (uint8_t)c };
				assert_int_equal(semqr__to_utf8("SHIFT_JIS", sj, 2, p->payload,
				                                sizeof p->payload, &p->len), 0);
				i++;
			}
		}
	}
	/* Terminator (up to 4 zero bits), zero bits to a byte boundary, pads. */
	long bits = 8L * n;
	long pos = p->data_end;
	long term = bits - pos < 4 ? bits - pos : 4;
	long padded = (pos + term + 7) / 8 * 8;
	for (long i = pos; i < padded; i++)
		assert_int_equal(data[i >> 3] >> (7 - (i & 7)) & 1, 0);
	for (long i = padded / 8; i < n; i++)
		assert_int_equal(data[i], (i - padded / 8) % 2 == 0 ? 0xEC : 0x11);
}

/* Encodes, checks the symbol and parses it back. */
static semqr_status encode_parse(const void *data, size_t len, const semqr_encode_options *o,
                                 semqr_symbol *s, parsed *p)
{
	semqr_error err;
	semqr_status st = semqr_encode(data, len, o, s, &err);
	if (st != SEMQR_OK)
		return st;
	assert_int_equal(err.code, SEMQR_OK);
	check_symbol(s);
	uint8_t cw[SEMQR_CODEWORDS_MAX];
	int n = read_data(s, cw);
	parse(cw, n, s->version, p);
	return st;
}

static semqr_symbol sym;
static parsed par;

/* ---- tests ------------------------------------------------------------- */

static void test_bitbuf(void **state)
{
	static semqr_bitbuf b;
	semqr__bitbuf_init(&b);
	semqr__bitbuf_append(&b, 0x5, 3);     /* 101 */
	semqr__bitbuf_append(&b, 0x0, 0);
	semqr__bitbuf_append(&b, 0x1FF, 9);   /* 1 1111 1111 */
	semqr__bitbuf_append(&b, 0xF0, 4);    /* only the low 4 bits: 0000 */
	assert_int_equal(b.len, 16);
	assert_int_equal(b.bytes[0], 0xBF);   /* 1011 1111 */
	assert_int_equal(b.bytes[1], 0xF0);   /* 1111 0000 */
	assert_false(b.overflow);

	semqr_bitreader r;
	semqr__bitreader_init(&r, b.bytes, 2);
	assert_int_equal(semqr__bitreader_remaining(&r), 16);
	assert_int_equal(semqr__bitreader_read(&r, 3), 5);
	assert_int_equal(semqr__bitreader_read(&r, 9), 0x1FF);
	assert_int_equal(semqr__bitreader_read(&r, 0), 0);
	assert_int_equal(semqr__bitreader_read(&r, 5), -1);  /* 4 left */
	assert_int_equal(semqr__bitreader_remaining(&r), 4);
	assert_int_equal(semqr__bitreader_read(&r, 4), 0);
	assert_int_equal(semqr__bitreader_remaining(&r), 0);

	/* Fill to capacity with 31-bit values, then overflow. */
	semqr__bitbuf_init(&b);
	for (int i = 0; i < SEMQR_BITBUF_MAX_BITS / 31; i++)
		semqr__bitbuf_append(&b, 0x7FFFFFFF, 31);
	int left = SEMQR_BITBUF_MAX_BITS - b.len;
	semqr__bitbuf_append(&b, 0, left + 1);
	assert_true(b.overflow);
	assert_int_equal(b.len, SEMQR_BITBUF_MAX_BITS - left);
	semqr__bitbuf_append(&b, 0, 1); /* stays overflowed, writes nothing */
	assert_true(b.overflow);
	assert_int_equal(b.len, SEMQR_BITBUF_MAX_BITS - left);
	semqr__bitbuf_init(&b);
	for (int i = 0; i < SEMQR_BITBUF_MAX_BITS; i++)
		semqr__bitbuf_append(&b, 1, 1);
	assert_false(b.overflow);
	assert_int_equal(b.bytes[sizeof b.bytes - 1], 0xFF);
}

static void test_options_init(void **state)
{
	semqr_encode_options o;
	memset(&o, 0x55, sizeof o);
	semqr_encode_options_init(&o);
	assert_int_equal(o.min_version, 1);
	assert_int_equal(o.max_version, 40);
	assert_int_equal(o.ecc, SEMQR_ECC_M);
	assert_true(o.boost_ecc);
	assert_int_equal(o.mask, -1);
	assert_int_equal(o.mode, SEMQR_MODE_AUTO);
	assert_int_equal(o.eci, -1);
	assert_true(o.kanji);
	assert_int_equal(o.sa_total, 0);
}

/* ISO/IEC 18004 annex I: "01234567" as 1-M. */
static void test_annex_i(void **state)
{
	static const uint8_t want_data[16] = { 0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11,
	                                       0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11 };
	static const uint8_t want_ec[10] = { 0xA5, 0x24, 0xD4, 0xC1, 0xED,
	                                     0x36, 0xC7, 0x87, 0x2C, 0x55 };
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	o.boost_ecc = false;
	assert_int_equal(encode_parse("01234567", 8, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 1);
	assert_int_equal(sym.ecc, SEMQR_ECC_M);
	uint8_t data[SEMQR_CODEWORDS_MAX];
	assert_int_equal(read_data(&sym, data), 16);
	assert_memory_equal(data, want_data, 16);
	uint8_t ec[10];
	ref_rs(want_data, 16, 10, ec);
	assert_memory_equal(ec, want_ec, 10);
	assert_int_equal(par.nseg, 1);
	assert_int_equal(par.modes[0], SEMQR_MODE_NUMERIC);
	assert_int_equal(par.data_end, 41);

	/* The chosen mask has the least penalty, the lower mask on ties; every
	 * forced mask carries the same data. */
	long penalty[8];
	int best = 0;
	for (int m = 0; m < 8; m++) {
		static semqr_symbol forced;
		o.mask = m;
		assert_int_equal(semqr_encode((const uint8_t *)"01234567", 8, &o, &forced, NULL), SEMQR_OK);
		assert_int_equal(forced.mask, m);
		check_symbol(&forced);
		uint8_t d[SEMQR_CODEWORDS_MAX];
		read_data(&forced, d);
		assert_memory_equal(d, want_data, 16);
		penalty[m] = semqr__penalty(&forced);
		if (penalty[m] < penalty[best])
			best = m;
	}
	assert_int_equal(sym.mask, best);
}

/* Reads the data codewords of the symbol just encoded into a bit reader. */
static uint8_t stream[SEMQR_CODEWORDS_MAX];

static semqr_bitreader encode_stream(const char *text, const semqr_encode_options *o)
{
	assert_int_equal(encode_parse(text, strlen(text), o, &sym, &par), SEMQR_OK);
	int n = read_data(&sym, stream);
	semqr_bitreader r;
	semqr__bitreader_init(&r, stream, (size_t)n);
	return r;
}

/* The standard's examples of alphanumeric and Kanji encoding (7.4.5, 7.4.6). */
static void test_mode_bits(void **state)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	semqr_bitreader r = encode_stream("AC-42", &o);
	assert_int_equal(semqr__bitreader_read(&r, 4), 2);
	assert_int_equal(semqr__bitreader_read(&r, 9), 5);
	assert_int_equal(semqr__bitreader_read(&r, 11), 0x1CE);  /* 00111001110 */
	assert_int_equal(semqr__bitreader_read(&r, 11), 0x739);  /* 11100111001 */
	assert_int_equal(semqr__bitreader_read(&r, 6), 2);       /* 000010 */
	assert_int_equal(semqr__bitreader_read(&r, 4), 0);

	r = encode_stream(KANJI_DOT KANJI_MEI, &o);
	assert_int_equal(semqr__bitreader_read(&r, 4), 8);
	assert_int_equal(semqr__bitreader_read(&r, 8), 2);
	assert_int_equal(semqr__bitreader_read(&r, 13), 0x0D9F); /* 0 1101 1001 1111 */
	assert_int_equal(semqr__bitreader_read(&r, 13), 0x1AAA); /* 1 1010 1010 1010 */
	assert_int_equal(semqr__bitreader_read(&r, 4), 0);
	assert_int_equal(par.len, 6);
	assert_memory_equal(par.payload, KANJI_DOT KANJI_MEI, 6);

	/* A mixed string comes back byte for byte. */
	const char *mixed = "abc12345678901234567890def" KANJI_DOT KANJI_DOT KANJI_DOT "XYZ";
	r = encode_stream(mixed, &o);
	assert_int_equal(par.len, strlen(mixed));
	assert_memory_equal(par.payload, mixed, par.len);
	assert_int_equal(par.nseg, 5);
}

/* Kanji mode is used only when allowed: not with kanji = false, and not with
 * an ECI other than 20. */
static void test_kanji_policy(void **state)
{
	static const struct { bool kanji; int eci; semqr_mode want; } cases[] = {
		{ true, -1, SEMQR_MODE_KANJI }, { true, 20, SEMQR_MODE_KANJI },
		{ true, 26, SEMQR_MODE_BYTE }, { true, 3, SEMQR_MODE_BYTE },
		{ false, -1, SEMQR_MODE_BYTE }, { false, 20, SEMQR_MODE_BYTE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		semqr_encode_options o;
		semqr_encode_options_init(&o);
		o.kanji = cases[i].kanji;
		o.eci = cases[i].eci;
		encode_stream(KANJI_DOT KANJI_MEI, &o);
		assert_int_equal(par.nseg, 1);
		assert_int_equal(par.modes[0], cases[i].want);
		assert_int_equal(par.eci, cases[i].eci);
		assert_memory_equal(par.payload, KANJI_DOT KANJI_MEI, 6);
	}
}

/* ECI designators in 8, 16 and 24 bits (7.4.2.2). */
static void test_eci_bits(void **state)
{
	static const struct { int eci; int bits; uint32_t word; } cases[] = {
		{ 0, 8, 0x00 }, { 3, 8, 0x03 }, { 127, 8, 0x7F },
		{ 128, 16, 0x8080 }, { 16383, 16, 0xBFFF },
		{ 16384, 24, 0xC04000 }, { 999999, 24, 0xCF423F },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		semqr_encode_options o;
		semqr_encode_options_init(&o);
		o.eci = cases[i].eci;
		semqr_bitreader r = encode_stream("A", &o);
		assert_int_equal(semqr__bitreader_read(&r, 4), 7);
		assert_int_equal(semqr__bitreader_read(&r, cases[i].bits), cases[i].word);
		assert_int_equal(semqr__bitreader_read(&r, 4), 2);
		assert_int_equal(semqr__bitreader_read(&r, 9), 1);
		assert_int_equal(semqr__bitreader_read(&r, 6), 10);
		assert_int_equal(par.eci, cases[i].eci);
	}
}

/* Structured append header (7.4.2.3 / section 8): first in the stream,
 * before an ECI. */
static void test_structured_header(void **state)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	o.sa_index = 2;
	o.sa_total = 5;
	o.sa_parity = 0xA7;
	o.eci = 26;
	semqr_bitreader r = encode_stream("XYZ", &o);
	assert_int_equal(semqr__bitreader_read(&r, 4), 3);
	assert_int_equal(semqr__bitreader_read(&r, 4), 2);
	assert_int_equal(semqr__bitreader_read(&r, 4), 4);
	assert_int_equal(semqr__bitreader_read(&r, 8), 0xA7);
	assert_int_equal(semqr__bitreader_read(&r, 4), 7);
	assert_int_equal(semqr__bitreader_read(&r, 8), 26);
	assert_int_equal(semqr__bitreader_read(&r, 4), 2);
	assert_int_equal(semqr__bitreader_read(&r, 9), 3);
	assert_true(par.sa);
	assert_int_equal(par.sa_index, 2);
	assert_int_equal(par.sa_total, 5);
	assert_int_equal(par.sa_parity, 0xA7);
}

static char *repeat(const char *unit, int count)
{
	size_t n = strlen(unit);
	char *s = malloc(n * (size_t)count + 1);
	assert_non_null(s);
	for (int i = 0; i < count; i++)
		memcpy(s + n * (size_t)i, unit, n);
	s[n * (size_t)count] = '\0';
	return s;
}

/* Capacities of ISO/IEC 18004 table 7: `count` repetitions of `unit` fit
 * version `version` at `ecc` exactly (boost off); one more needs the next
 * version, or does not fit at all after 40, where the message must name the
 * bits needed and the 40-L/H capacity. */
static void test_capacity(void **state)
{
	static const struct {
		const char *unit;
		int count;
		semqr_ecc ecc;
		int version;
		const char *too_long; /* expected in the message when version is 40 */
	} cases[] = {
		{ "7", 7089, SEMQR_ECC_L, 40, "23652 data bits" },
		{ "A", 4296, SEMQR_ECC_L, 40, "23651 data bits" },
		{ "a", 2953, SEMQR_ECC_L, 40, "23652 data bits" },
		{ KANJI_DOT, 1817, SEMQR_ECC_L, 40, "23650 data bits" },
		{ "a", 1273, SEMQR_ECC_H, 40, "10212 data bits" },
		{ "1", 41, SEMQR_ECC_L, 1, NULL },
		{ "1", 17, SEMQR_ECC_H, 1, NULL },
		{ "A", 25, SEMQR_ECC_L, 1, NULL },
		{ "a", 17, SEMQR_ECC_L, 1, NULL },
		{ "a", 14, SEMQR_ECC_M, 1, NULL },
		{ KANJI_DOT, 10, SEMQR_ECC_L, 1, NULL },
		{ "a", 230, SEMQR_ECC_L, 9, NULL },
		{ "a", 271, SEMQR_ECC_L, 10, NULL },
		{ "1", 3283, SEMQR_ECC_L, 26, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		semqr_encode_options o;
		semqr_encode_options_init(&o);
		o.ecc = cases[i].ecc;
		o.boost_ecc = false;
		char *s = repeat(cases[i].unit, cases[i].count + 1);
		size_t fit = strlen(cases[i].unit) * (size_t)cases[i].count;
		assert_int_equal(encode_parse(s, fit, &o, &sym, &par), SEMQR_OK);
		if (sym.version != cases[i].version)
			fail_msg("case %zu: version %d, expected %d", i, sym.version, cases[i].version);
		assert_int_equal(sym.ecc, cases[i].ecc);
		assert_int_equal(par.len, fit);
		assert_memory_equal(par.payload, s, fit);

		semqr_error err;
		semqr_status st = semqr_encode((const uint8_t *)s, strlen(s), &o, &sym, &err);
		if (cases[i].version == 40) {
			assert_int_equal(st, SEMQR_ERR_DATA_TOO_LONG);
			assert_int_equal(err.code, SEMQR_ERR_DATA_TOO_LONG);
			if (!strstr(err.message, cases[i].too_long) ||
			    !strstr(err.message, cases[i].ecc == SEMQR_ECC_L ? "40-L, the largest allowed, holds 23648"
			                                                    : "40-H, the largest allowed, holds 10208"))
				fail_msg("case %zu: message \"%s\"", i, err.message);
		} else {
			assert_int_equal(st, SEMQR_OK);
			assert_int_equal(sym.version, cases[i].version + 1);
		}
		free(s);
	}
}

static void test_version_choice(void **state)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	assert_int_equal(encode_parse("HELLO WORLD", 11, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 1);

	/* min_version raises the version; min == max forces it. */
	o.min_version = 5;
	assert_int_equal(encode_parse("A", 1, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 5);
	o.min_version = o.max_version = 27;
	assert_int_equal(encode_parse("A", 1, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 27);
	assert_int_equal(par.len, 1);

	/* Too long for max_version 1 at M: 15 bytes are 132 bits, 1-M holds 128. */
	semqr_encode_options_init(&o);
	o.max_version = 1;
	semqr_error err;
	assert_int_equal(semqr_encode((const uint8_t *)"aaaaaaaaaaaaaaa", 15, &o, &sym, &err),
	                 SEMQR_ERR_DATA_TOO_LONG);
	if (!strstr(err.message, "132 data bits") || !strstr(err.message, "1-M, the largest allowed, holds 128"))
		fail_msg("message \"%s\"", err.message);

	/* Empty data: version 1, nothing but terminator and pads. */
	semqr_encode_options_init(&o);
	assert_int_equal(encode_parse(NULL, 0, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 1);
	assert_int_equal(par.nseg, 0);
	assert_int_equal(par.len, 0);
}

static void test_boost(void **state)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	/* 41 bits fit 1-H (72 bits). */
	assert_int_equal(encode_parse("01234567", 8, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 1);
	assert_int_equal(sym.ecc, SEMQR_ECC_H);
	/* 20 bytes (172 bits) need 2-M; 2-Q holds 176, 2-H 128. */
	assert_int_equal(encode_parse("aaaaaaaaaaaaaaaaaaaa", 20, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.version, 2);
	assert_int_equal(sym.ecc, SEMQR_ECC_Q);
	o.boost_ecc = false;
	assert_int_equal(encode_parse("aaaaaaaaaaaaaaaaaaaa", 20, &o, &sym, &par), SEMQR_OK);
	assert_int_equal(sym.ecc, SEMQR_ECC_M);
}

static void test_mask_forced(void **state)
{
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	for (int m = 0; m < 8; m++) {
		o.mask = m;
		o.min_version = 7 + m; /* with version information */
		assert_int_equal(encode_parse("MASK TEST 123", 13, &o, &sym, &par), SEMQR_OK);
		assert_int_equal(sym.mask, m);
		assert_int_equal(sym.version, 7 + m);
		assert_memory_equal(par.payload, "MASK TEST 123", 13);
	}
}

/* 300 short numeric payloads (t * 7919): the automatic mask is the first of
 * those with the least penalty. Ties are rare (2 in the first 200 with the
 * current penalty code) but must occur here for the rule to be tested. */
static void test_mask_choice(void **state)
{
	int ties = 0;
	for (int t = 0; t < 300; t++) {
		char text[16];
		snprintf(text, sizeof text, "%d", t * 7919);
		semqr_encode_options o;
		semqr_encode_options_init(&o);
		assert_int_equal(semqr_encode((const uint8_t *)text, strlen(text), &o, &sym, NULL), SEMQR_OK);
		int chosen = sym.mask, best = 0, at_best = 0;
		long penalty[8];
		for (int m = 0; m < 8; m++) {
			o.mask = m;
			assert_int_equal(semqr_encode((const uint8_t *)text, strlen(text), &o, &sym, NULL),
			                 SEMQR_OK);
			penalty[m] = semqr__penalty(&sym);
			if (penalty[m] < penalty[best])
				best = m;
		}
		for (int m = 0; m < 8; m++)
			at_best += penalty[m] == penalty[best];
		ties += at_best > 1;
		if (chosen != best)
			fail_msg("\"%s\": mask %d chosen, %d has the least penalty", text, chosen, best);
	}
	assert_true(ties > 0);
}

static void expect_error(const char *data, size_t len, const semqr_encode_options *o,
                         semqr_status code, const char *needle)
{
	semqr_error err;
	semqr_status st = semqr_encode((const uint8_t *)data, len, o, &sym, &err);
	if (st != code || err.code != code || !strstr(err.message, needle))
		fail_msg("status %d, message \"%s\"; expected %d with \"%s\"", st, err.message, code, needle);
}

static void test_errors(void **state)
{
	const semqr_status bad = SEMQR_ERR_INVALID_ARGUMENT;
	semqr_encode_options o;
#define WITH(field, value, needle)                  \
	do {                                            \
		semqr_encode_options_init(&o);              \
		o.field = value;                            \
		expect_error("1", 1, &o, bad, needle);      \
	} while (0)
	WITH(min_version, 0, "min_version 0");
	WITH(min_version, 41, "min_version 41");
	WITH(max_version, 41, "max_version 41");
	WITH(ecc, (semqr_ecc)4, "ecc 4");
	WITH(ecc, (semqr_ecc)-1, "ecc -1");
	WITH(mask, 8, "mask 8");
	WITH(mask, -2, "mask -2");
	WITH(mode, SEMQR_MODE_ECI, "mode 7");
	WITH(mode, SEMQR_MODE_STRUCTURED_APPEND, "mode 3");
	WITH(eci, -2, "eci -2");
	WITH(eci, 1000000, "eci 1000000");
	WITH(sa_total, 1, "sa_total 1");
	WITH(sa_total, 17, "sa_total 17");
	WITH(sa_total, -1, "sa_total -1");
#undef WITH
	semqr_encode_options_init(&o);
	o.min_version = 10;
	o.max_version = 9;
	expect_error("1", 1, &o, bad, "max_version 9");
	semqr_encode_options_init(&o);
	o.sa_total = 3;
	o.sa_index = 3;
	expect_error("1", 1, &o, bad, "sa_index 3");
	o.sa_index = -1;
	expect_error("1", 1, &o, bad, "sa_index -1");
	o.sa_index = 0;
	o.sa_parity = 256;
	expect_error("1", 1, &o, bad, "sa_parity 256");

	/* Data invalid for a forced mode, or for ECI 26. */
	semqr_encode_options_init(&o);
	o.mode = SEMQR_MODE_NUMERIC;
	expect_error("12a4", 4, &o, bad, "byte 2");
	o.mode = SEMQR_MODE_ALPHANUMERIC;
	expect_error("AB-c", 4, &o, bad, "byte 3");
	o.mode = SEMQR_MODE_KANJI;
	expect_error(KANJI_DOT "A", 4, &o, bad, "byte 3");
	expect_error(KANJI_DOT "\xEF\xBF\xA0", 6, &o, bad, "byte 3");
	o.eci = 26;
	expect_error(KANJI_DOT, 3, &o, bad, "eci 26");
	semqr_encode_options_init(&o);
	o.eci = 26;
	expect_error("ab\xC3", 3, &o, bad, "byte 2");
	expect_error("ab\xED\xA0\x80", 5, &o, bad, "byte 2");

	/* NULL pointers. */
	semqr_error err;
	assert_int_equal(semqr_encode(NULL, 1, NULL, &sym, &err), bad);
	assert_int_equal(semqr_encode((const uint8_t *)"a", 1, NULL, NULL, &err), bad);
	assert_int_equal(semqr_encode_structured((const uint8_t *)"ab", 2, 1, NULL, &sym, &err), bad);
	assert_non_null(strstr(err.message, "count 1"));
	assert_int_equal(semqr_encode_structured((const uint8_t *)"ab", 2, 17, NULL, &sym, &err), bad);
	assert_non_null(strstr(err.message, "count 17"));

	/* Errors without an error struct, and the forced modes that succeed. */
	assert_int_equal(semqr_encode((const uint8_t *)"a", 1, &o, NULL, NULL), bad);
	static const struct { semqr_mode mode; const char *text; } ok[] = {
		{ SEMQR_MODE_NUMERIC, "0123456789" }, { SEMQR_MODE_ALPHANUMERIC, "0123 ABC" },
		{ SEMQR_MODE_BYTE, "0123" }, { SEMQR_MODE_KANJI, KANJI_DOT KANJI_MEI },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		semqr_encode_options_init(&o);
		o.mode = ok[i].mode;
		assert_int_equal(encode_parse(ok[i].text, strlen(ok[i].text), &o, &sym, &par), SEMQR_OK);
		assert_int_equal(par.nseg, 1);
		assert_int_equal(par.modes[0], ok[i].mode);
		assert_memory_equal(par.payload, ok[i].text, strlen(ok[i].text));
	}
}

/* Splits `len` bytes into `count` symbols and checks headers, parity, part
 * sizes (within `slack` bytes of len / count) and the reassembled message. */
static void check_structured(const uint8_t *msg, size_t len, int count, size_t slack, bool utf8)
{
	static semqr_symbol parts[16];
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	o.sa_total = 99; /* ignored */
	o.boost_ecc = false;
	semqr_error err;
	assert_int_equal(semqr_encode_structured(msg, len, count, &o, parts, &err), SEMQR_OK);
	int parity = 0;
	for (size_t i = 0; i < len; i++)
		parity ^= msg[i];
	size_t pos = 0;
	for (int k = 0; k < count; k++) {
		check_symbol(&parts[k]);
		uint8_t cw[SEMQR_CODEWORDS_MAX];
		parse(cw, read_data(&parts[k], cw), parts[k].version, &par);
		assert_true(par.sa);
		assert_int_equal(par.sa_index, k);
		assert_int_equal(par.sa_total, count);
		assert_int_equal(par.sa_parity, parity);
		size_t ideal = len / (size_t)count;
		if (par.len + slack < ideal || par.len > ideal + 1 + slack)
			fail_msg("part %d: %zu bytes of %zu in %d parts", k, par.len, len, count);
		if (utf8)
			assert_true(semqr__utf8_valid(par.payload, par.len));
		assert_true(pos + par.len <= len);
		assert_memory_equal(par.payload, msg + pos, par.len);
		pos += par.len;
	}
	assert_int_equal(pos, len);
}

static void test_structured(void **state)
{
	uint8_t msg[400];
	for (int i = 0; i < 100; i++)
		msg[i] = (uint8_t)('a' + i % 26);
	check_structured(msg, 100, 3, 0, true);   /* 33 + 33 + 34 */
	check_structured(msg, 100, 16, 0, true);
	check_structured(msg, 2, 2, 0, true);
	/* UTF-8 of 1-, 2- and 3-byte characters: cut only between them. */
	char *text = repeat("x\xCE\xB1" KANJI_DOT, 40);
	check_structured((const uint8_t *)text, strlen(text), 7, 2, true);
	free(text);
	text = repeat(KANJI_DOT, 10);
	check_structured((const uint8_t *)text, strlen(text), 4, 2, true);
	free(text);
	/* Not UTF-8: equal byte counts regardless of what the bytes are. */
	for (int i = 0; i < 301; i++)
		msg[i] = (uint8_t)(0x80 + i % 128);
	check_structured(msg, 301, 5, 0, false);
	/* A part that does not fit names the part. */
	semqr_encode_options o;
	semqr_encode_options_init(&o);
	o.max_version = 1;
	static semqr_symbol parts[2];
	semqr_error err;
	assert_int_equal(semqr_encode_structured(msg, 301, 2, &o, parts, &err), SEMQR_ERR_DATA_TOO_LONG);
	assert_non_null(strstr(err.message, "part 1 of 2"));
}

/* 300 random payloads of 0..400 bytes built from runs of digits, upper
 * case, lower case, kanji and arbitrary bytes, at a random level with boost
 * on or off and a random version floor: each symbol must read back (format,
 * version, EC codewords, padding) to the same payload, at the level asked
 * for or above. */
static void test_random_round_trip(void **state)
{
	static uint8_t msg[512];
	test_rng r;
	test_rng_seed(&r, 0x9E3779B9u);
	for (int trial = 0; trial < 300; trial++) {
		size_t len = 0, target = test_rng_below(&r, 401);
		while (len < target) {
			int cls = (int)test_rng_below(&r, 5), run = 1 + (int)test_rng_below(&r, 20);
			for (int i = 0; i < run && len + 3 <= sizeof msg; i++) {
				uint32_t x = test_rng_u32(&r); /* one draw per character */
				switch (cls) {
				case 0: msg[len++] = (uint8_t)('0' + x % 10); break;
				case 1: msg[len++] = (uint8_t)('A' + x % 26); break;
				case 2: msg[len++] = (uint8_t)('a' + x % 26); break;
				case 3: memcpy(msg + len, x % 2 ? KANJI_DOT : KANJI_MEI, 3); len += 3; break;
				default: msg[len++] = (uint8_t)x; break;
				}
			}
		}
		semqr_encode_options o;
		semqr_encode_options_init(&o);
		o.ecc = (semqr_ecc)test_rng_below(&r, 4);
		o.boost_ecc = test_rng_below(&r, 2);
		o.min_version = 1 + (int)test_rng_below(&r, 40);
		/* 512 bytes fit 40-H, so every payload fits. */
		assert_int_equal(encode_parse(msg, len, &o, &sym, &par), SEMQR_OK);
		assert_true(sym.version >= o.min_version);
		assert_true(sym.ecc >= o.ecc);
		if (!o.boost_ecc)
			assert_int_equal(sym.ecc, o.ecc);
		if (par.len != len || memcmp(par.payload, msg, len) != 0)
			fail_msg("trial %d: payload of %zu bytes read back as %zu", trial, len, par.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitbuf),
		cmocka_unit_test(test_options_init),
		cmocka_unit_test(test_annex_i),
		cmocka_unit_test(test_mode_bits),
		cmocka_unit_test(test_kanji_policy),
		cmocka_unit_test(test_eci_bits),
		cmocka_unit_test(test_structured_header),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_version_choice),
		cmocka_unit_test(test_boost),
		cmocka_unit_test(test_mask_forced),
		cmocka_unit_test(test_mask_choice),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_structured),
		cmocka_unit_test(test_random_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
