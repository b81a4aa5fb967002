/* The streaming scan reader (include/semqr/scan.h): bands of every size from
 * strip and tile TIFFs, BigTIFF, conversions, frame-stack means, PNG and
 * PGM/PBM, vendor metadata of the real SEM files and of simulated ones (scan
 * timing), hostile files, and the memory bound on a tall image. Test files
 * are written at run time under SEMQR_TEST_TMP. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include <cmocka.h>

#include "semqr/image.h"
#include "semqr/scan.h"
#include "semqr/sim.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, sizeof buf[0], "%s/%s", SEMQR_TEST_TMP, name);
	return p;
}

static int setup(void **state)
{
	(void)state;
	mkdir(SEMQR_TEST_TMP, 0777);
	return 0;
}

/* The test pattern: distinct per page, row and column, full range. */
static uint32_t value(int page, uint32_t x, uint32_t y, int bits)
{
	if (bits == 16)
		return ((x * 977u + y * 131u + (uint32_t)page * 4099u) ^ (x * y)) & 0xffff;
	return (x * 3u + y * 5u + (uint32_t)page * 17u + (x * y) % 7u) & 0xff;
}

/* ---- writing TIFFs with libtiff ----------------------------------------- */

typedef struct tiff_cfg {
	uint32_t w, h;
	int bits;
	uint16_t compression;
	int tiled;
	uint32_t tw, th;   /* tile size */
	uint32_t rps;      /* rows per strip */
	int pages;
	int bigtiff;
	int thumbnail;     /* a reduced-resolution directory after page 0 */
} tiff_cfg;

static void set_common(TIFF *t, uint32_t w, uint32_t h, int bits, uint16_t compression)
{
	assert_true(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w));
	assert_true(TIFFSetField(t, TIFFTAG_IMAGELENGTH, h));
	assert_true(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits));
	assert_true(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1));
	assert_true(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK));
	assert_true(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG));
	assert_true(TIFFSetField(t, TIFFTAG_COMPRESSION, compression));
}

static void write_page(TIFF *t, const tiff_cfg *c, int page)
{
	size_t bpp = (size_t)c->bits / 8;
	set_common(t, c->w, c->h, c->bits, c->compression);
	if (c->pages > 1) {
		assert_true(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE));
		assert_true(TIFFSetField(t, TIFFTAG_PAGENUMBER, (uint16_t)page, (uint16_t)c->pages));
	}
	uint32_t bw = c->tiled ? c->tw : c->w, bh = c->tiled ? c->th : c->rps;
	uint8_t *buf = calloc((size_t)bw * bh, bpp);
	assert_non_null(buf);
	if (c->tiled) {
		assert_true(TIFFSetField(t, TIFFTAG_TILEWIDTH, c->tw));
		assert_true(TIFFSetField(t, TIFFTAG_TILELENGTH, c->th));
	} else {
		assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, c->rps));
	}
	for (uint32_t by = 0; by < c->h; by += bh) {
		for (uint32_t bx = 0; bx < c->w; bx += bw) {
			uint32_t rows = c->tiled ? bh : (c->h - by < bh ? c->h - by : bh);
			memset(buf, 0, (size_t)bw * bh * bpp);
			for (uint32_t r = 0; r < rows && by + r < c->h; r++) {
				for (uint32_t x = 0; x < bw && bx + x < c->w; x++) {
					uint32_t v = value(page, bx + x, by + r, c->bits);
					if (bpp == 1)
						buf[(size_t)r * bw + x] = (uint8_t)v;
					else
						((uint16_t *)buf)[(size_t)r * bw + x] = (uint16_t)v;
				}
			}
			tmsize_t n = (tmsize_t)((size_t)rows * bw * bpp);
			if (c->tiled)
				assert_true(TIFFWriteEncodedTile(t, TIFFComputeTile(t, bx, by, 0, 0), buf, n) ==
				            n);
			else
				assert_true(TIFFWriteEncodedStrip(t, TIFFComputeStrip(t, by, 0), buf, n) == n);
		}
	}
	free(buf);
	assert_true(TIFFWriteDirectory(t));
}

static void write_tiff(const char *path, const tiff_cfg *c)
{
	TIFF *t = TIFFOpen(path, c->bigtiff ? "w8" : "w");
	assert_non_null(t);
	for (int p = 0; p < c->pages; p++) {
		write_page(t, c, p);
		if (p == 0 && c->thumbnail) {
			set_common(t, 8, 8, 8, COMPRESSION_NONE);
			assert_true(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE));
			assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8));
			uint8_t thumb[64] = {0};
			assert_true(TIFFWriteEncodedStrip(t, 0, thumb, 64) == 64);
			assert_true(TIFFWriteDirectory(t));
		}
	}
	TIFFClose(t);
}

/* Writes one page of any photometric from interleaved samples. */
static void write_samples(const char *path, uint32_t w, uint32_t h, int bits, int spp,
                          uint16_t photometric, const uint16_t *cmap, const void *rows,
                          size_t rowbytes)
{
	TIFF *t = TIFFOpen(path, "w");
	assert_non_null(t);
	assert_true(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w));
	assert_true(TIFFSetField(t, TIFFTAG_IMAGELENGTH, h));
	assert_true(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits));
	assert_true(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp));
	assert_true(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photometric));
	assert_true(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG));
	assert_true(TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW));
	assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 3));
	if (cmap) {
		uint32_t n = 1u << bits;
		assert_true(TIFFSetField(t, TIFFTAG_COLORMAP, cmap, cmap + n, cmap + 2 * n));
	}
	for (uint32_t y = 0; y < h; y++)
		assert_true(TIFFWriteScanline(t, (uint8_t *)rows + y * rowbytes, y, 0) == 1);
	TIFFClose(t);
}

/* ---- writing TIFFs by hand (for hostile and vendor files) -------------- */

typedef struct raw_tiff {
	uint32_t w, h, rps;            /* 8-bit grey, uncompressed */
	const uint8_t *pixels;         /* stored last */
	size_t npixels;
	const uint32_t *counts;        /* StripByteCounts as stored (may lie) */
	uint16_t vendor_tag;           /* 0: none */
	const void *vendor;
	uint32_t vendor_len;
} raw_tiff;

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* Layout: header, directory, strip arrays, vendor text, then the pixels, so
 * that a short pixel array makes a file truncated mid-strip. Strip offsets
 * are where the strips would be (rps rows each), whatever the counts say. */
static void write_raw_tiff(const char *path, const raw_tiff *t)
{
	uint32_t nstrips = t->rps ? (uint32_t)(((uint64_t)t->h + t->rps - 1) / t->rps) : 1;
	if (nstrips > 64)
		nstrips = 64;   /* hostile sizes: the arrays stay small */
	int n = t->vendor_tag ? 10 : 9;
	size_t offsets_at = 8 + 2 + 12 * (size_t)n + 4, counts_at = offsets_at + 4 * nstrips;
	size_t vendor_at = counts_at + 4 * nstrips, pixels_at = vendor_at + t->vendor_len + 1;
	size_t size = pixels_at + t->npixels;
	uint8_t *b = calloc(1, size);
	assert_non_null(b);
	memcpy(b, "II*\0", 4);
	put32(b + 4, 8);
	memcpy(b + pixels_at, t->pixels, t->npixels);
	if (t->vendor_len)
		memcpy(b + vendor_at, t->vendor, t->vendor_len);
	for (uint32_t i = 0; i < nstrips; i++) {
		put32(b + offsets_at + 4 * i, (uint32_t)(pixels_at + (uint64_t)i * t->rps * t->w));
		put32(b + counts_at + 4 * i, t->counts[i]);
	}
	uint8_t *e = b + 8 + 2;
	put16(b + 8, (uint32_t)n);
#define ENTRY(tag, type, count, v)                                                              \
	do {                                                                                   \
		put16(e, tag);                                                                 \
		put16(e + 2, type);                                                            \
		put32(e + 4, count);                                                           \
		put32(e + 8, v);                                                               \
		e += 12;                                                                       \
	} while (0)
	ENTRY(256, 4, 1, t->w);
	ENTRY(257, 4, 1, t->h);
	ENTRY(258, 3, 1, 8);
	ENTRY(259, 3, 1, 1);
	ENTRY(262, 3, 1, 1);
	ENTRY(273, 4, nstrips, nstrips == 1 ? (uint32_t)pixels_at : (uint32_t)offsets_at);
	ENTRY(277, 3, 1, 1);
	ENTRY(278, 4, 1, t->rps);
	ENTRY(279, 4, nstrips, nstrips == 1 ? t->counts[0] : (uint32_t)counts_at);
	if (t->vendor_tag)
		ENTRY(t->vendor_tag, 2, t->vendor_len + 1, (uint32_t)vendor_at);
#undef ENTRY
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, size, fp), size);
	fclose(fp);
	free(b);
}

/* Sets StripByteCounts[strip] of a classic little-endian TIFF written by
 * libtiff (SHORT or LONG array, or one inline value). */
static void patch_strip_count(const char *path, uint32_t strip, uint32_t count)
{
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	uint8_t b[12];
	assert_int_equal(fread(b, 1, 8, fp), 8);
	uint32_t ifd = b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24;
	assert_int_equal(fseek(fp, (long)ifd, SEEK_SET), 0);
	assert_int_equal(fread(b, 1, 2, fp), 2);
	int n = b[0] | b[1] << 8;
	for (int i = 0; i < n; i++) {
		assert_int_equal(fread(b, 1, 12, fp), 12);
		if ((b[0] | b[1] << 8) != 279)
			continue;
		int type = b[2] | b[3] << 8;
		uint32_t cnt = b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24;
		uint32_t at = b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24;
		size_t size = type == 3 ? 2 : 4;
		long pos = cnt * size <= 4 ? (long)(ifd + 2 + 12 * (uint32_t)i + 8) : (long)at;
		assert_true(strip < cnt);
		uint8_t v[4];
		put32(v, count);
		if (type == 3)
			assert_true(count <= 0xffff);
		assert_int_equal(fseek(fp, pos + (long)(strip * size), SEEK_SET), 0);
		assert_int_equal(fwrite(v, 1, size, fp), size);
		fclose(fp);
		return;
	}
	fail_msg("%s: no StripByteCounts", path);
}

/* ---- reading and checking ------------------------------------------------ */

static semqr_scan *open_ok(const char *path, const semqr_scan_options *o, semqr_scan_info *in)
{
	semqr_scan *s = NULL;
	semqr_error err;
	semqr_status st = semqr_scan_open(path, o, &s, &err);
	if (st != SEMQR_OK)
		fail_msg("%s", err.message);
	semqr_scan_get_info(s, in);
	return s;
}

/* Reads page (or the mean) in bands of `band` rows, from the top, into a
 * buffer with a stride wider than the image, and compares with expect(). */
typedef uint32_t (*expect_fn)(const void *ctx, uint32_t x, uint32_t y);

static void check_bands(semqr_scan *s, int page, int band, expect_fn expect, const void *ctx)
{
	semqr_scan_info in;
	semqr_scan_get_info(s, &in);
	size_t stride = (size_t)in.width + 3, bpp = (size_t)in.bits / 8;
	uint8_t *buf = malloc(stride * (size_t)band * bpp);
	assert_non_null(buf);
	semqr_error err;
	for (int y0 = 0; y0 < in.height; y0 += band) {
		int rows = in.height - y0 < band ? in.height - y0 : band;
		semqr_status st = semqr_scan_read_rows(s, page, y0, rows, buf, stride, &err);
		if (st != SEMQR_OK)
			fail_msg("band %d at %d: %s", band, y0, err.message);
		for (int r = 0; r < rows; r++) {
			for (int x = 0; x < in.width; x++) {
				size_t i = (size_t)r * stride + (size_t)x;
				uint32_t got = bpp == 1 ? buf[i] : ((uint16_t *)buf)[i];
				uint32_t want = expect(ctx, (uint32_t)x, (uint32_t)(y0 + r));
				if (got != want)
					fail_msg("page %d band %d: pixel (%d, %d) is %u, expected %u", page, band,
					         x, y0 + r, got, want);
			}
		}
	}
	free(buf);
}

typedef struct pattern_ctx {
	int page, bits, pages;   /* page -1: the mean of `pages` pages */
} pattern_ctx;

static uint32_t expect_pattern(const void *ctx, uint32_t x, uint32_t y)
{
	const pattern_ctx *c = ctx;
	if (c->page >= 0)
		return value(c->page, x, y, c->bits);
	uint64_t sum = 0;
	for (int p = 0; p < c->pages; p++)
		sum += value(p, x, y, c->bits);
	return (uint32_t)((2 * sum + (uint64_t)c->pages) / (2 * (uint64_t)c->pages));
}

static uint32_t expect_image(const void *ctx, uint32_t x, uint32_t y)
{
	const semqr_image *img = ctx;
	size_t i = (size_t)y * img->stride + x;
	return img->bits == 8 ? ((const uint8_t *)img->pixels)[i] : ((const uint16_t *)img->pixels)[i];
}

static void expect_error(semqr_status st, const semqr_error *err, semqr_status code,
                         const char *needle1, const char *needle2)
{
	if (st != code)
		fail_msg("status %d, expected %d (%s)", (int)st, (int)code, err->message);
	assert_int_equal(err->code, code);
	if (needle1 && !strstr(err->message, needle1))
		fail_msg("message \"%s\" lacks \"%s\"", err->message, needle1);
	if (needle2 && !strstr(err->message, needle2))
		fail_msg("message \"%s\" lacks \"%s\"", err->message, needle2);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_strips_and_tiles(void **state)
{
	(void)state;
	static const struct {
		tiff_cfg c;
		const char *compression;
	} cases[] = {
		{{101, 75, 8, COMPRESSION_LZW, 0, 0, 0, 7, 1, 0, 0}, "LZW"},
		{{64, 53, 16, COMPRESSION_ADOBE_DEFLATE, 0, 0, 0, 5, 1, 0, 0}, "Deflate"},
		{{90, 40, 8, COMPRESSION_PACKBITS, 0, 0, 0, 40, 1, 0, 0}, "PackBits"},
		{{300, 200, 8, COMPRESSION_NONE, 0, 0, 0, 200, 1, 0, 0}, "none"},
		{{100, 75, 8, COMPRESSION_PACKBITS, 1, 16, 32, 0, 1, 0, 0}, "PackBits"},
		{{77, 131, 16, COMPRESSION_LZW, 1, 48, 16, 0, 1, 0, 0}, "LZW"},
		{{70, 50, 8, COMPRESSION_ADOBE_DEFLATE, 1, 32, 64, 0, 1, 0, 0}, "Deflate"},
	};
	static const int bands[] = {1, 2, 3, 7, 13, 64, 1 << 20};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const tiff_cfg *c = &cases[k].c;
		char name[64];
		snprintf(name, sizeof name, "layout%zu.tif", k);
		const char *path = tmp_path(name);
		write_tiff(path, c);
		semqr_scan_info in;
		semqr_scan *s = open_ok(path, NULL, &in);
		assert_int_equal(in.width, c->w);
		assert_int_equal(in.height, c->h);
		assert_int_equal(in.stored_height, c->h);
		assert_int_equal(in.bits, c->bits);
		assert_int_equal(in.pages, 1);
		assert_int_equal(in.tiled, c->tiled);
		assert_int_equal(in.bigtiff, 0);
		assert_string_equal(in.format, "TIFF");
		assert_string_equal(in.compression, cases[k].compression);
		assert_string_equal(in.vendor, "none");
		assert_string_equal(in.pixel_source, "none");
		assert_string_equal(in.data_bar_source, "none");
		assert_true(in.pixel_nm_x == 0 && in.pixel_nm_y == 0);
		assert_string_equal(in.timing_source, "none");
		assert_true(in.frame_time_s == 0 && in.line_time_s == 0 && in.dwell_s == 0);
		if (c->tiled) {
			assert_int_equal(in.block_width, c->tw);
		} else {
			assert_int_equal(in.block_width, c->w);
			/* Uncompressed single strips are cut smaller by libtiff. */
			if (c->compression != COMPRESSION_NONE)
				assert_int_equal(in.block_height, c->rps);
		}
		pattern_ctx ctx = {0, c->bits, 1};
		for (size_t b = 0; b < sizeof bands / sizeof bands[0]; b++) {
			int band = bands[b] > (int)c->h ? (int)c->h : bands[b];
			check_bands(s, 0, band, expect_pattern, &ctx);
		}
		/* Out of order: the middle, then the top, then the last row. */
		size_t bpp = (size_t)c->bits / 8;
		uint8_t *row = malloc(c->w * bpp * 3);
		assert_non_null(row);
		const uint32_t ys[] = {c->h / 2, 0, c->h - 1};
		for (int i = 0; i < 3; i++) {
			semqr_error err;
			assert_int_equal(semqr_scan_read_rows(s, 0, (int)ys[i], 1, row, c->w, &err), SEMQR_OK);
			for (uint32_t x = 0; x < c->w; x++)
				assert_int_equal(bpp == 1 ? row[x] : ((uint16_t *)row)[x],
				                 value(0, x, ys[i], c->bits));
		}
		free(row);
		semqr_scan_close(s);
	}
}

static void test_bigtiff(void **state)
{
	(void)state;
	const tiff_cfg c = {123, 97, 16, COMPRESSION_LZW, 1, 32, 32, 0, 2, 1, 0};
	const char *path = tmp_path("big.tif");
	write_tiff(path, &c);
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, NULL, &in);
	assert_int_equal(in.bigtiff, 1);
	assert_string_equal(in.format, "BigTIFF");
	assert_int_equal(in.pages, 2);
	for (int p = 0; p < 2; p++) {
		pattern_ctx ctx = {p, 16, 2};
		check_bands(s, p, 10, expect_pattern, &ctx);
	}
	semqr_scan_close(s);
}

typedef struct conv_ctx {
	const uint8_t *raw;
	int kind;   /* 0 MinIsWhite 8, 1 bilevel MinIsBlack, 2 bilevel MinIsWhite, 3 palette,
	               4 RGB 8, 5 RGB 16 */
	const uint16_t *cmap;
	uint32_t w;
} conv_ctx;

static uint32_t luma(uint32_t r, uint32_t g, uint32_t b)
{
	return (299 * r + 587 * g + 114 * b + 500) / 1000;
}

static uint32_t expect_conv(const void *ctx, uint32_t x, uint32_t y)
{
	const conv_ctx *c = ctx;
	switch (c->kind) {
	case 0:
		return 255 - c->raw[y * c->w + x];
	case 1:
	case 2: {
		int bit = c->raw[y * ((c->w + 7) / 8) + x / 8] >> (7 - x % 8) & 1;
		return (uint32_t)(bit ^ (c->kind == 2)) * 255;
	}
	case 3: {
		uint32_t k = c->raw[y * c->w + x];
		uint32_t v = luma(c->cmap[k], c->cmap[256 + k], c->cmap[512 + k]);
		return (v * 255 + 32767) / 65535;
	}
	case 4: {
		const uint8_t *p = c->raw + 3 * ((size_t)y * c->w + x);
		return luma(p[0], p[1], p[2]);
	}
	default: {
		const uint16_t *p = (const uint16_t *)c->raw + 3 * ((size_t)y * c->w + x);
		return luma(p[0], p[1], p[2]);
	}
	}
}

static void test_conversions(void **state)
{
	(void)state;
	const uint32_t w = 37, h = 11;
	uint8_t *raw = malloc(w * h * 6);
	uint16_t *cmap = malloc(3 * 256 * sizeof *cmap);
	assert_non_null(raw);
	assert_non_null(cmap);
	uint32_t seed = 99;
	for (size_t i = 0; i < w * h * 6; i++) {
		seed = seed * 1103515245u + 12345u;
		raw[i] = (uint8_t)(seed >> 16);
	}
	for (int k = 0; k < 256; k++) {
		cmap[k] = (uint16_t)(k * 257);
		cmap[256 + k] = (uint16_t)((255 - k) * 257);
		cmap[512 + k] = (uint16_t)(k * 97 % 65536);
	}
	static const struct {
		int bits, spp;
		uint16_t photometric;
		int out_bits;
	} kinds[] = {{8, 1, PHOTOMETRIC_MINISWHITE, 8}, {1, 1, PHOTOMETRIC_MINISBLACK, 8},
	             {1, 1, PHOTOMETRIC_MINISWHITE, 8}, {8, 1, PHOTOMETRIC_PALETTE, 8},
	             {8, 3, PHOTOMETRIC_RGB, 8},        {16, 3, PHOTOMETRIC_RGB, 16}};
	for (int k = 0; k < 6; k++) {
		const char *path = tmp_path("conv.tif");
		size_t rowbytes = ((size_t)w * (size_t)kinds[k].spp * (size_t)kinds[k].bits + 7) / 8;
		write_samples(path, w, h, kinds[k].bits, kinds[k].spp, kinds[k].photometric,
		              k == 3 ? cmap : NULL, raw, rowbytes);
		semqr_scan_info in;
		semqr_scan *s = open_ok(path, NULL, &in);
		assert_int_equal(in.bits, kinds[k].out_bits);
		conv_ctx ctx = {raw, k, cmap, w};
		check_bands(s, 0, 4, expect_conv, &ctx);
		semqr_scan_close(s);
	}
	free(raw);
	free(cmap);
}

static void test_stack_mean(void **state)
{
	(void)state;
	/* 8-bit strips with a thumbnail directory after page 0; 16-bit tiles;
	 * 2048 x 600 so that a whole-image band is cut into two chunks. */
	static const tiff_cfg cases[] = {
		{61, 45, 8, COMPRESSION_LZW, 0, 0, 0, 4, 3, 0, 1},
		{70, 33, 16, COMPRESSION_ADOBE_DEFLATE, 1, 16, 16, 0, 4, 0, 0},
		{2048, 600, 8, COMPRESSION_LZW, 0, 0, 0, 64, 3, 0, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const tiff_cfg *c = &cases[k];
		const char *path = tmp_path("stack.tif");
		write_tiff(path, c);
		semqr_scan_info in;
		semqr_scan *s = open_ok(path, NULL, &in);
		assert_int_equal(in.pages, c->pages);
		pattern_ctx mean = {-1, c->bits, c->pages};
		check_bands(s, SEMQR_SCAN_MEAN, 5, expect_pattern, &mean);
		check_bands(s, SEMQR_SCAN_MEAN, (int)c->h, expect_pattern, &mean);
		/* Single pages after the mean, each from the top again. */
		for (int p = c->pages - 1; p >= 0; p--) {
			pattern_ctx one = {p, c->bits, c->pages};
			check_bands(s, p, 9, expect_pattern, &one);
		}
		semqr_error err;
		uint8_t row[4096 * 2];
		expect_error(semqr_scan_read_rows(s, c->pages, 0, 1, row, c->w, &err), &err,
		             SEMQR_ERR_INVALID_ARGUMENT, "page", NULL);
		semqr_scan_close(s);
	}
	/* A 1-page file: the mean is the page. */
	const tiff_cfg one = {20, 10, 8, COMPRESSION_NONE, 0, 0, 0, 10, 1, 0, 0};
	write_tiff(tmp_path("one.tif"), &one);
	semqr_scan_info in;
	semqr_scan *s = open_ok(tmp_path("one.tif"), NULL, &in);
	pattern_ctx ctx = {0, 8, 1};
	check_bands(s, SEMQR_SCAN_MEAN, 3, expect_pattern, &ctx);
	semqr_scan_close(s);
}

/* Writes an 8-bit grey PNG with libpng, interlaced or not. */
static void write_png(const char *path, const semqr_image *img, int interlace)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng failed writing %s", path);
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
	             PNG_COLOR_TYPE_GRAY, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_bytep *rows = malloc((size_t)img->height * sizeof *rows);
	assert_non_null(rows);
	for (int y = 0; y < img->height; y++)
		rows[y] = (png_bytep)img->pixels + (size_t)y * img->stride;
	png_write_image(png, rows);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(rows);
	fclose(fp);
}

static void test_png_pgm(void **state)
{
	(void)state;
	semqr_error err;
	for (int bits = 8; bits <= 16; bits += 8) {
		semqr_image img;
		assert_int_equal(semqr_image_alloc(&img, 53, 41, bits, &err), SEMQR_OK);
		for (int y = 0; y < img.height; y++)
			for (int x = 0; x < img.width; x++) {
				uint32_t v = value(0, (uint32_t)x, (uint32_t)y, bits);
				if (bits == 8)
					((uint8_t *)img.pixels)[(size_t)y * img.stride + (size_t)x] = (uint8_t)v;
				else
					((uint16_t *)img.pixels)[(size_t)y * img.stride + (size_t)x] = (uint16_t)v;
			}
		static const char *const names[] = {"s.png", "s.pgm"};
		static const char *const formats[] = {"PNG", "PGM"};
		for (int f = 0; f < 2; f++) {
			const char *path = tmp_path(names[f]);
			assert_int_equal(semqr_image_write(path, &img, &err), SEMQR_OK);
			semqr_scan_info in;
			semqr_scan *s = open_ok(path, NULL, &in);
			assert_string_equal(in.format, formats[f]);
			assert_string_equal(in.timing_source, "none");
			assert_true(in.frame_time_s == 0);
			assert_int_equal(in.bits, bits);
			assert_int_equal(in.width, 53);
			assert_int_equal(in.height, 41);
			pattern_ctx ctx = {0, bits, 1};
			check_bands(s, 0, 1, expect_pattern, &ctx);
			check_bands(s, 0, 6, expect_pattern, &ctx);    /* restarts from the top */
			check_bands(s, SEMQR_SCAN_MEAN, 41, expect_pattern, &ctx);
			semqr_scan_close(s);
		}
		if (bits == 8) {
			/* Interlaced PNG, PBM and plain PGM: compared with semqr_image_read. */
			write_png(tmp_path("i.png"), &img, 1);
			assert_int_equal(semqr_image_write(tmp_path("s.pbm"), &img, &err), SEMQR_OK);
			FILE *fp = fopen(tmp_path("p2.pgm"), "w");
			assert_non_null(fp);
			fprintf(fp, "P2\n# plain\n53 41\n255\n");
			for (int i = 0; i < 53 * 41; i++)
				fprintf(fp, "%u\n", ((uint8_t *)img.pixels)[i]);
			fclose(fp);
			const char *paths[] = {tmp_path("i.png"), tmp_path("s.pbm"), tmp_path("p2.pgm")};
			const char *fmt[] = {"PNG", "PBM", "PGM"};
			for (int f = 0; f < 3; f++) {
				semqr_image ref;
				assert_int_equal(semqr_image_read(paths[f], &ref, &err), SEMQR_OK);
				semqr_scan_info in;
				semqr_scan *s = open_ok(paths[f], NULL, &in);
				assert_string_equal(in.format, fmt[f]);
				check_bands(s, 0, 5, expect_image, &ref);
				if (f != 1)   /* PBM is thresholded; the others are the image */
					check_bands(s, 0, 7, expect_image, &img);
				semqr_scan_close(s);
				semqr_image_free(&ref);
			}
		}
		semqr_image_free(&img);
	}
	/* A truncated PNG fails on the row where its data ends. */
	FILE *in = fopen(tmp_path("s.png"), "rb");
	assert_non_null(in);
	uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof buf, in);
	fclose(in);
	FILE *out = fopen(tmp_path("t.png"), "wb");
	assert_non_null(out);
	fwrite(buf, 1, n / 2, out);
	fclose(out);
	semqr_scan_info info;
	semqr_scan *s = open_ok(tmp_path("t.png"), NULL, &info);
	uint16_t rows[53 * 41];
	semqr_status st = semqr_scan_read_rows(s, 0, 0, 41, rows, 53, &err);
	expect_error(st, &err, SEMQR_ERR_FORMAT, "t.png: row", "truncated");
	semqr_scan_close(s);
}

/* The RGB of the RGBA-fallback test pattern. */
static void rgb_of(int page, uint32_t x, uint32_t y, uint32_t c[3])
{
	c[0] = value(page, x, y, 8);
	c[1] = (c[0] * 3u + (uint32_t)page * 40u + y) & 0xff;
	c[2] = (x * 11u + y * 2u) & 0xff;
}

/* BT.601 luma rounded to nearest (ties up), as scan.h specifies. */
static uint32_t expect_luma(const void *ctx, uint32_t x, uint32_t y)
{
	uint32_t c[3];
	rgb_of(*(const int *)ctx, x, y, c);
	return (299 * c[0] + 587 * c[1] + 114 * c[2] + 500) / 1000;
}

/* Layouts not converted row by row are read whole through libtiff's RGBA
 * interface: a 2-page stack of RGB in separate planes reads, page by page and
 * in bands, as the luma of its pixels. semqr_image_read takes page 0 alone,
 * so it reads a file whose later pages differ, which the scan refuses. A raw
 * PGM sample above maxval fails on its row. */
static void test_read_whole_layouts(void **state)
{
	(void)state;
	const uint32_t w = 37, h = 23;
	const char *path = tmp_path("planes.tif");
	TIFF *t = TIFFOpen(path, "w");
	assert_non_null(t);
	uint8_t row[37];
	for (int p = 0; p < 2; p++) {
		set_common(t, w, h, 8, COMPRESSION_ADOBE_DEFLATE);
		assert_true(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)3));
		assert_true(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB));
		assert_true(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_SEPARATE));
		assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)4));
		for (uint16_t k = 0; k < 3; k++)
			for (uint32_t y = 0; y < h; y++) {
				for (uint32_t x = 0; x < w; x++) {
					uint32_t c[3];
					rgb_of(p, x, y, c);
					row[x] = (uint8_t)c[k];
				}
				assert_int_equal(TIFFWriteScanline(t, row, y, k), 1);
			}
		assert_true(TIFFWriteDirectory(t));
	}
	TIFFClose(t);
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, NULL, &in);
	assert_int_equal(in.pages, 2);
	assert_int_equal(in.bits, 8);
	for (int p = 1; p >= 0; p--) {
		check_bands(s, p, 7, expect_luma, &p);
		check_bands(s, p, (int)h, expect_luma, &p);
	}
	semqr_scan_close(s);

	/* Pages of different sizes: image_read gives page 0. */
	path = tmp_path("pages_differ.tif");
	uint8_t *px = calloc(64 * 16, 1);
	assert_non_null(px);
	t = TIFFOpen(path, "w");
	assert_non_null(t);
	for (int p = 0; p < 2; p++) {
		uint32_t pw = p ? 64 : 32;
		for (uint32_t i = 0; i < pw * 16; i++)
			px[i] = (uint8_t)value(p, i % pw, i / pw, 8);
		set_common(t, pw, 16, 8, COMPRESSION_NONE);
		assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16));
		assert_true(TIFFWriteEncodedStrip(t, 0, px, (tmsize_t)pw * 16) == (tmsize_t)pw * 16);
		assert_true(TIFFWriteDirectory(t));
	}
	TIFFClose(t);
	free(px);
	semqr_error err;
	expect_error(semqr_scan_open(path, NULL, &s, &err), &err, SEMQR_ERR_FORMAT,
	             "pages_differ.tif: page 1", "unlike page 0");
	semqr_image img;
	assert_int_equal(semqr_image_read(path, &img, &err), SEMQR_OK);
	assert_int_equal(img.width, 32);
	assert_int_equal(img.height, 16);
	for (uint32_t y = 0; y < 16; y++)
		for (uint32_t x = 0; x < 32; x++)
			assert_int_equal(expect_image(&img, x, y), value(0, x, y, 8));
	semqr_image_free(&img);

	/* Raw PGM, maxval 100: row 0 is valid, row 1 holds 101 at x = 1. */
	path = tmp_path("over.pgm");
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite("P5 3 2 100\n\x00\x32\x64\x07\x65\x03", 1, 17, fp);
	fclose(fp);
	s = open_ok(path, NULL, &in);
	uint8_t band[6];
	assert_int_equal(semqr_scan_read_rows(s, 0, 0, 1, band, 3, &err), SEMQR_OK);
	assert_memory_equal(band, ((uint8_t[]){0, 128, 255}), 3);
	expect_error(semqr_scan_read_rows(s, 0, 1, 1, band, 3, &err), &err, SEMQR_ERR_FORMAT,
	             "over.pgm: sample 101 at (1, 1)", "maxval 100");
	semqr_scan_close(s);
	expect_error(semqr_image_read(path, &img, &err), &err, SEMQR_ERR_FORMAT, "over.pgm",
	             "exceeds maxval");
}

static void test_real_files(void **state)
{
	(void)state;
	/* Times as the files state them (seconds); 0 where they state none. */
	static const struct {
		const char *name, *vendor, *source_part;
		double nm;
		int height, stored;
		const char *bar_part;
		double frame_s, line_s, dwell_s;
		const char *timing_source;
	} files[] = {
		{"kit_as-cast_10k_InLens.tif", "Zeiss SmartSEM", "AP_IMAGE_PIXEL_SIZE", 11.16, 690, 768,
		 "heuristic", 48.7, 63.43e-3, 100e-9,
		 "Zeiss tag 34118 AP_FRAME_TIME, AP_LINE_TIME, DP_DWELL_TIME"},
		{"kit_atlas3d_InLens_slice6.tif", "Fibics", "51023", 44.72, 1023, 1023, "none", 0, 0,
		 1000e-9, "Fibics tag 51023 Scan/Dwell"},
		{"kit_zeiss_merlin_SE2.tif", "Zeiss SmartSEM", "AP_IMAGE_PIXEL_SIZE", 55.82, 768, 768,
		 "none", 10.8, 14.08e-3, 200e-9,
		 "Zeiss tag 34118 AP_FRAME_TIME, AP_LINE_TIME, DP_DWELL_TIME"},
		/* FrameTime and Dwelltime in [Scan]; LineTime only in [IScan], the
		 * scan of the ion beam that took the image ([Beam] Scan=IScan). */
		{"demarcolab_helios-pfib_ib_liftout.tif", "FEI/Thermo Fisher", "34682 [Scan]", 97.66,
		 1024, 1024, "none", 1.59539, 0.001558, 1e-6,
		 "FEI tag 34682 [Scan] FrameTime, Dwelltime; [IScan] LineTime"},
	};
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		char path[512];
		snprintf(path, sizeof path, "%s/datasets/real-sem/%s", SEMQR_SOURCE_DIR, files[k].name);
		semqr_scan_info in;
		semqr_scan *s = open_ok(path, NULL, &in);
		if (!(in.pixel_nm_x > files[k].nm - 0.01 && in.pixel_nm_x < files[k].nm + 0.01 &&
		      in.pixel_nm_y > files[k].nm - 0.01 && in.pixel_nm_y < files[k].nm + 0.01))
			fail_msg("%s: pixel %g x %g nm, expected %g", files[k].name, in.pixel_nm_x,
			         in.pixel_nm_y, files[k].nm);
		assert_string_equal(in.vendor, files[k].vendor);
		assert_non_null(strstr(in.pixel_source, files[k].source_part));
		assert_int_equal(in.height, files[k].height);
		assert_int_equal(in.stored_height, files[k].stored);
		assert_non_null(strstr(in.data_bar_source, files[k].bar_part));
		assert_int_equal(in.bits, 8);
		assert_string_equal(in.timing_source, files[k].timing_source);
		if (fabs(in.frame_time_s - files[k].frame_s) > 1e-9 * files[k].frame_s ||
		    fabs(in.line_time_s - files[k].line_s) > 1e-9 * files[k].line_s ||
		    fabs(in.dwell_s - files[k].dwell_s) > 1e-9 * files[k].dwell_s)
			fail_msg("%s: frame %g s, line %g s, dwell %g s; expected %g, %g, %g",
			         files[k].name, in.frame_time_s, in.line_time_s, in.dwell_s,
			         files[k].frame_s, files[k].line_s, files[k].dwell_s);
		/* The pixels equal those of the whole-image reader, rows 0..height-1. */
		semqr_image ref;
		semqr_error err;
		assert_int_equal(semqr_image_read(path, &ref, &err), SEMQR_OK);
		assert_int_equal(ref.height, in.stored_height);
		check_bands(s, 0, 100, expect_image, &ref);
		semqr_image_free(&ref);
		/* Rows past the image proper cannot be read. */
		uint8_t row[2048];
		expect_error(semqr_scan_read_rows(s, 0, in.height - 1, 2, row, 2048, &err), &err,
		             SEMQR_ERR_INVALID_ARGUMENT, files[k].name, "outside");
		semqr_scan_close(s);
	}
	/* Options: keep the data zone; override the pixel size. */
	char path[512];
	snprintf(path, sizeof path, "%s/datasets/real-sem/kit_as-cast_10k_InLens.tif",
	         SEMQR_SOURCE_DIR);
	semqr_scan_options o = {.pixel_nm = 2.5, .keep_data_bar = 1};
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, &o, &in);
	assert_int_equal(in.height, 768);
	assert_string_equal(in.data_bar_source, "none");
	assert_true(in.pixel_nm_x == 2.5 && in.pixel_nm_y == 2.5);
	assert_string_equal(in.pixel_source, "option");
	semqr_scan_close(s);
	o = (semqr_scan_options){.pixel_nm = -1};
	semqr_error err;
	expect_error(semqr_scan_open(path, &o, &s, &err), &err, SEMQR_ERR_INVALID_ARGUMENT,
	             "pixel size", NULL);
	assert_null(s);
}

/* A synthetic image: rows of (x + y) & 255. */
static uint8_t *grey_pixels(uint32_t w, uint32_t h)
{
	uint8_t *p = malloc((size_t)w * h);
	assert_non_null(p);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			p[(size_t)y * w + x] = (uint8_t)(x + y);
	return p;
}

static uint32_t expect_grey(const void *ctx, uint32_t x, uint32_t y)
{
	(void)ctx;
	return (x + y) & 255;
}

static void test_vendor_tags(void **state)
{
	(void)state;
	const uint32_t w = 64, h = 48, counts[6] = {512, 512, 512, 512, 512, 512};
	uint8_t *px = grey_pixels(w, h);
	/* FEI: 40 rows of image, 8 rows of data bar. */
	const char fei[] = "[Scan]\r\nPixelWidth=5e-009\r\nPixelHeight=6e-009\r\n"
	                   "[Image]\r\nResolutionX=64\r\nResolutionY=40\r\n";
	raw_tiff t = {w, h, 8, px, (size_t)w * h, counts, 34682, fei,
	              sizeof fei - 1};
	write_raw_tiff(tmp_path("fei.tif"), &t);
	semqr_scan_info in;
	semqr_scan *s = open_ok(tmp_path("fei.tif"), NULL, &in);
	assert_int_equal(in.height, 40);
	assert_int_equal(in.stored_height, 48);
	assert_string_equal(in.data_bar_source, "FEI tag 34682 [Image] ResolutionX, ResolutionY");
	assert_true(in.pixel_nm_x > 4.999 && in.pixel_nm_x < 5.001);
	assert_string_equal(in.timing_source, "none");
	assert_true(in.pixel_nm_y > 5.999 && in.pixel_nm_y < 6.001);
	check_bands(s, 0, 7, expect_grey, NULL);
	semqr_scan_close(s);
	semqr_scan_options keep = {.keep_data_bar = 1};
	s = open_ok(tmp_path("fei.tif"), &keep, &in);
	assert_int_equal(in.height, 48);
	check_bands(s, 0, 48, expect_grey, NULL);
	semqr_scan_close(s);

	/* FEI metadata of another image size (a crop): the height is not trusted. */
	const char crop[] = "[Image]\r\nResolutionX=1536\r\nResolutionY=40\r\n";
	t.vendor = crop;
	t.vendor_len = sizeof crop - 1;
	write_raw_tiff(tmp_path("crop.tif"), &t);
	s = open_ok(tmp_path("crop.tif"), NULL, &in);
	assert_int_equal(in.height, 48);
	assert_string_equal(in.vendor, "FEI/Thermo Fisher");
	assert_string_equal(in.pixel_source, "none");
	semqr_scan_close(s);

	/* Tescan, in the older tag's place: 50431. */
	const char tescan[] = "[MAIN]\r\nPixelSizeX=1.5e-08\r\nPixelSizeY=1.5e-08\r\n";
	t.vendor_tag = 50431;
	t.vendor = tescan;
	t.vendor_len = sizeof tescan - 1;
	write_raw_tiff(tmp_path("tescan.tif"), &t);
	s = open_ok(tmp_path("tescan.tif"), NULL, &in);
	assert_string_equal(in.vendor, "Tescan");
	assert_true(in.pixel_nm_x > 14.999 && in.pixel_nm_x < 15.001);
	semqr_scan_close(s);
	free(px);
}

/* Writes a simulated plate with the given metadata and checks that the scan
 * reads back the simulator's timing: line = width x dwell + flyback, frame =
 * height x line (semqr/sim.h). rel_tol covers the digits the writer keeps. */
static void check_sim_timing(bool fei, bool zeiss, const char *name, const char *source,
                             double rel_tol)
{
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.fei_metadata = fei;
	o.zeiss_metadata = zeiss;
	o.dwell_us = 0.3;
	o.flyback_us = 7;
	o.frames = 2;
	o.databar_rows = fei ? 16 : 0;
	int w, h;
	semqr_error err;
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, NULL, &err), SEMQR_OK);
	if (semqr_simulate(&o, tmp_path(name), NULL, &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	double line = w * 0.3e-6 + 7e-6, frame = h * line;
	semqr_scan_info in;
	semqr_scan *s = open_ok(tmp_path(name), NULL, &in);
	assert_int_equal(in.pages, 2);
	assert_int_equal(in.height, h);
	assert_string_equal(in.timing_source, source);
	print_message("%s: %dx%d, frame %.9g s read (simulated %.9g), line %.9g s (%.9g), "
	              "dwell %.9g s\n", name, w, h, in.frame_time_s, frame, in.line_time_s, line,
	              in.dwell_s);
	assert_true(fabs(in.frame_time_s - frame) <= rel_tol * frame);
	assert_true(fabs(in.line_time_s - line) <= rel_tol * line);
	assert_true(fabs(in.dwell_s - 0.3e-6) <= 1e-12);
	semqr_scan_close(s);
}

static void test_sim_timing(void **state)
{
	(void)state;
	/* FEI: %g keeps 6 digits; Zeiss: "%.4g Secs", "%.4g ms". */
	check_sim_timing(true, false, "sim_fei.tif",
	                 "FEI tag 34682 [Scan] FrameTime, LineTime, Dwelltime", 5e-6);
	check_sim_timing(false, true, "sim_zeiss.tif",
	                 "Zeiss tag 34118 AP_FRAME_TIME, AP_LINE_TIME, DP_DWELL_TIME", 5e-4);
	/* No metadata: nothing known. */
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.fei_metadata = false;
	semqr_error err;
	if (semqr_simulate(&o, tmp_path("sim_bare.tif"), NULL, &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	semqr_scan_info in;
	semqr_scan *s = open_ok(tmp_path("sim_bare.tif"), NULL, &in);
	assert_string_equal(in.timing_source, "none");
	assert_true(in.frame_time_s == 0 && in.line_time_s == 0 && in.dwell_s == 0);
	semqr_scan_close(s);
}

static void test_hostile(void **state)
{
	(void)state;
	semqr_error err;
	semqr_scan *s = NULL;
	const uint32_t w = 64, h = 48;
	uint8_t *px = grey_pixels(w, h);
	uint8_t band[64 * 48];

	/* Absurd dimensions. */
	uint32_t one[64];
	for (int i = 0; i < 64; i++)
		one[i] = 1;
	raw_tiff t = {0x7fffffff, 1, 1, px, 64, one, 0, NULL, 0};
	write_raw_tiff(tmp_path("wide.tif"), &t);
	expect_error(semqr_scan_open(tmp_path("wide.tif"), NULL, &s, &err), &err, SEMQR_ERR_FORMAT,
	             "wide.tif", "page 0");
	assert_null(s);
	/* Within the per-side limit, but one strip of 2^40 bytes in a tiny file. */
	t = (raw_tiff){1u << 20, 1u << 20, 1u << 20, px, 64, one, 0, NULL, 0};
	write_raw_tiff(tmp_path("huge.tif"), &t);
	expect_error(semqr_scan_open(tmp_path("huge.tif"), NULL, &s, &err), &err,
	             SEMQR_ERR_FORMAT, "huge.tif: page 0", NULL);
	/* 2^20 rows of 1 pixel: a 4096-byte strip array for a 3-kB file. */
	t = (raw_tiff){1, 1u << 20, 1, px, 64, one, 0, NULL, 0};
	write_raw_tiff(tmp_path("onecol.tif"), &t);
	if (semqr_scan_open(tmp_path("onecol.tif"), NULL, &s, &err) == SEMQR_OK) {
		semqr_status st = SEMQR_OK;
		for (int y = 0; st == SEMQR_OK && y < 1 << 20; y += 4096)
			st = semqr_scan_read_rows(s, 0, y, 1, band, 1, &err);
		expect_error(st, &err, SEMQR_ERR_FORMAT, "onecol.tif: page 0, strip", NULL);
		semqr_scan_close(s);
	} else {
		assert_int_equal(err.code, SEMQR_ERR_FORMAT);
	}

	/* All-zero byte counts in an uncompressed file: libtiff may rebuild
	 * them from the image size, which is right here; else an error. */
	uint32_t zeros[6] = {0};
	t = (raw_tiff){w, h, 8, px, (size_t)w * h, zeros, 0, NULL, 0};
	write_raw_tiff(tmp_path("zero.tif"), &t);
	semqr_status st = semqr_scan_open(tmp_path("zero.tif"), NULL, &s, &err);
	if (st == SEMQR_OK) {
		st = semqr_scan_read_rows(s, 0, 0, (int)h, band, w, &err);
		semqr_scan_close(s);
	}
	if (st == SEMQR_OK)
		assert_memory_equal(band, px, (size_t)w * h);
	else
		expect_error(st, &err, SEMQR_ERR_FORMAT, "zero.tif", "page 0");

	/* Byte counts of LZW strip 3 that lie: zero, past the end of the file,
	 * too short for its rows. */
	static const uint32_t lies[] = {0, 60000, 5};
	const tiff_cfg lzw = {64, 48, 8, COMPRESSION_LZW, 0, 0, 0, 8, 1, 0, 0};
	for (size_t k = 0; k < 3; k++) {
		const char *path = tmp_path("lie.tif");
		write_tiff(path, &lzw);
		patch_strip_count(path, 3, lies[k]);
		st = semqr_scan_open(path, NULL, &s, &err);
		if (st == SEMQR_OK) {
			st = semqr_scan_read_rows(s, 0, 0, (int)h, band, w, &err);
			semqr_scan_close(s);
		}
		expect_error(st, &err, SEMQR_ERR_FORMAT, "lie.tif: page 0", "strip");
	}

	/* An LZW strip overwritten with junk. */
	const tiff_cfg c = {200, 120, 8, COMPRESSION_LZW, 0, 0, 0, 10, 1, 0, 0};
	write_tiff(tmp_path("junk.tif"), &c);
	TIFF *tif = TIFFOpen(tmp_path("junk.tif"), "r");
	assert_non_null(tif);
	uint64_t off6 = TIFFGetStrileOffset(tif, 6), cnt6 = TIFFGetStrileByteCount(tif, 6);
	TIFFClose(tif);
	FILE *fp = fopen(tmp_path("junk.tif"), "r+b");
	assert_non_null(fp);
	uint8_t junk[4096];
	memset(junk, 0xff, sizeof junk);
	assert_int_equal(fseek(fp, (long)off6, SEEK_SET), 0);
	fwrite(junk, 1, cnt6 < sizeof junk ? cnt6 : sizeof junk, fp);
	fclose(fp);
	semqr_scan_info in;
	uint8_t *buf = malloc(200 * 120);
	assert_non_null(buf);
	s = open_ok(tmp_path("junk.tif"), NULL, &in);
	expect_error(semqr_scan_read_rows(s, 0, 0, 120, buf, 200, &err), &err, SEMQR_ERR_FORMAT,
	             "junk.tif: page 0, strip 6", NULL);
	/* The scan stays usable: rows before the damage still read. */
	assert_int_equal(semqr_scan_read_rows(s, 0, 0, 60, buf, 200, &err), SEMQR_OK);
	semqr_scan_close(s);

	/* Truncated mid-strip: the file ends 1000 bytes into strip 6. */
	uint8_t *big = grey_pixels(200, 120);
	uint32_t counts[12];
	for (int i = 0; i < 12; i++)
		counts[i] = 2000;
	t = (raw_tiff){200, 120, 10, big, 200 * 65, counts, 0, NULL, 0};
	write_raw_tiff(tmp_path("cut.tif"), &t);
	free(big);
	s = open_ok(tmp_path("cut.tif"), NULL, &in);
	expect_error(semqr_scan_read_rows(s, 0, 0, 120, buf, 200, &err), &err, SEMQR_ERR_FORMAT,
	             "cut.tif: page 0, strip 6", NULL);
	semqr_scan_close(s);
	free(buf);

	/* Pages of different sizes. */
	tif = TIFFOpen(tmp_path("mixed.tif"), "w");
	assert_non_null(tif);
	for (int p = 0; p < 2; p++) {
		uint32_t pw = p ? 32 : 64;
		set_common(tif, pw, 16, 8, COMPRESSION_NONE);
		assert_true(TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 16));
		assert_true(TIFFWriteEncodedStrip(tif, 0, px, (tmsize_t)pw * 16) == (tmsize_t)pw * 16);
		assert_true(TIFFWriteDirectory(tif));
	}
	TIFFClose(tif);
	expect_error(semqr_scan_open(tmp_path("mixed.tif"), NULL, &s, &err), &err,
	             SEMQR_ERR_FORMAT, "mixed.tif: page 1", "unlike page 0");

	/* Not an image, empty, missing. */
	fp = fopen(tmp_path("empty.tif"), "wb");
	assert_non_null(fp);
	fclose(fp);
	expect_error(semqr_scan_open(tmp_path("empty.tif"), NULL, &s, &err), &err,
	             SEMQR_ERR_FORMAT, "empty.tif", "empty");
	expect_error(semqr_scan_open(tmp_path("nonexistent.tif"), NULL, &s, &err), &err,
	             SEMQR_ERR_IO, "nonexistent.tif", NULL);
	fp = fopen(tmp_path("header.tif"), "wb");
	assert_non_null(fp);
	fwrite("II*\0\xff\xff\xff\x7f", 1, 8, fp);
	fclose(fp);
	expect_error(semqr_scan_open(tmp_path("header.tif"), NULL, &s, &err), &err,
	             SEMQR_ERR_FORMAT, "header.tif", NULL);
	free(px);
}

/* 300 seeded trials: a small LZW stack with 6 random bytes changed; opening
 * and reading every page and the mean must succeed or fail cleanly. */
static void test_mutations(void **state)
{
	(void)state;
	const tiff_cfg c = {40, 30, 8, COMPRESSION_LZW, 0, 0, 0, 6, 2, 0, 0};
	const char *src = tmp_path("fuzz_src.tif"), *path = tmp_path("fuzz.tif");
	write_tiff(src, &c);
	FILE *fp = fopen(src, "rb");
	assert_non_null(fp);
	uint8_t orig[16384];
	size_t n = fread(orig, 1, sizeof orig, fp);
	fclose(fp);
	assert_true(n > 100 && n < sizeof orig);
	uint32_t seed = 4242;
	int opened = 0;
	for (int trial = 0; trial < 300; trial++) {
		uint8_t buf[16384];
		memcpy(buf, orig, n);
		for (int k = 0; k < 6; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			buf[at] = (uint8_t)(seed >> 16);
		}
		fp = fopen(path, "wb");
		assert_non_null(fp);
		fwrite(buf, 1, n, fp);
		fclose(fp);
		semqr_scan *s;
		semqr_error err;
		if (semqr_scan_open(path, NULL, &s, &err) != SEMQR_OK) {
			assert_true(err.message[0] != 0);
			continue;
		}
		opened++;
		semqr_scan_info in;
		semqr_scan_get_info(s, &in);
		size_t bpp = (size_t)in.bits / 8;
		uint8_t *rows = malloc((size_t)in.width * 8 * bpp);
		assert_non_null(rows);
		for (int p = -1; p < in.pages && p < 4; p++)
			for (int y = 0; y < in.height && y < 64; y += 8) {
				int r = in.height - y < 8 ? in.height - y : 8;
				if (semqr_scan_read_rows(s, p, y, r, rows, (size_t)in.width, &err) != SEMQR_OK)
					assert_true(err.message[0] != 0);
			}
		free(rows);
		semqr_scan_close(s);
	}
	assert_true(opened > 0);
}

/* Bytes in use by malloc (arena and mmapped chunks). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void test_memory_bound(void **state)
{
	(void)state;
	/* 4096 x 65536 8-bit (256 MiB of pixels) in LZW strips of 16 rows;
	 * a quarter of that under ASan, where mallinfo2 does not see the
	 * allocations and only the content is checked. */
	const uint32_t w = 4096, h = UNDER_ASAN ? 16384 : 65536, rps = 16, band = 256;
	const char *path = tmp_path("tall.tif");
	TIFF *t = TIFFOpen(path, "w");
	assert_non_null(t);
	set_common(t, w, h, 8, COMPRESSION_LZW);
	assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps));
	uint8_t *strip = malloc((size_t)w * rps);
	assert_non_null(strip);
	for (uint32_t s0 = 0; s0 < h; s0 += rps) {
		for (uint32_t r = 0; r < rps; r++)
			for (uint32_t x = 0; x < w; x++)
				strip[(size_t)r * w + x] = (uint8_t)(x / 256 + s0 + r);
		assert_true(TIFFWriteEncodedStrip(t, s0 / rps, strip, (tmsize_t)w * rps) ==
		            (tmsize_t)w * rps);
	}
	free(strip);
	TIFFClose(t);

	uint8_t *buf = malloc((size_t)w * band);
	assert_non_null(buf);
	size_t base = heap_in_use(), peak = 0;
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, NULL, &in);
	assert_int_equal(in.height, h);
	assert_int_equal(in.block_height, rps);
	semqr_error err;
	for (uint32_t y0 = 0; y0 < h; y0 += band) {
		assert_int_equal(semqr_scan_read_rows(s, 0, (int)y0, (int)band, buf, w, &err), SEMQR_OK);
		for (uint32_t r = 0; r < band; r += 37)
			for (uint32_t x = 0; x < w; x += 101)
				assert_int_equal(buf[(size_t)r * w + x], (uint8_t)(x / 256 + y0 + r));
		size_t used = heap_in_use() - base;
		if (used > peak)
			peak = used;
	}
	semqr_scan_close(s);
	free(buf);
	/* The reader holds one decoded strip, one converted strip and libtiff's
	 * compressed strip and state: well under 1 MiB here, against 256 MiB
	 * for the image. The band buffer is the caller's (allocated before
	 * base). */
	if (!UNDER_ASAN) {
		print_message("memory bound: peak %zu bytes held by the reader for a %u-row image\n",
		              peak, (unsigned)h);
		assert_true(peak < (size_t)1 << 20);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strips_and_tiles),
		cmocka_unit_test(test_bigtiff),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_stack_mean),
		cmocka_unit_test(test_png_pgm),
		cmocka_unit_test(test_read_whole_layouts),
		cmocka_unit_test(test_real_files),
		cmocka_unit_test(test_vendor_tags),
		cmocka_unit_test(test_sim_timing),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_memory_bound),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
