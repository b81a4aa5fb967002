/* Image files, rendering, SVG and text output (host/io/).
 *
 * - Round trips: every writable format at 8 and 16 bits and odd sizes, from
 *   images with a stride wider than their width, read back pixel for pixel.
 * - Colour and odd layouts: PNG and TIFF files made here with libpng and
 *   libtiff directly (RGB, RGBA, palette, 1/2-bit, 16-bit, interlaced, tiled,
 *   compressed, separate planes) read as the BT.601 luma, alpha composited
 *   onto white, computed here in floating point.
 * - Netpbm variants written by hand (plain P1/P2, odd maxvals, comments).
 * - Broken files in tests/data and mutated files (every truncation and
 *   FUZZ_TRIALS random mutations of 1-4 bytes of each of 13 small valid files
 *   covering every reader path): never a crash, failures name the path, and
 *   nothing is printed on stderr.
 * - Rendering, SVG and text of a hand-made symbol parsed back module by
 *   module. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>
#include <tiffio.h>

#include "io/io_internal.h"
#include "support/run.h"
#include "support/testutil.h"

#define FUZZ_TRIALS 1000 /* random mutations per fuzzed file */

/* Under AddressSanitizer a huge allocation requested by a mutated header must
 * fail with NULL, as it does under the C library, instead of aborting. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* A path in the scratch directory; the last 32 results stay valid. */
static const char *tmp_path(const char *name)
{
	static char paths[32][512];
	static int k;
	char *p = paths[k++ % 32];
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	snprintf(p, sizeof paths[0], "%s/%s", SEMQR_TEST_TMP, name);
	return p;
}

static const char *data_path(const char *name)
{
	static char paths[4][512];
	static int k;
	char *p = paths[k++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", SEMQR_TEST_DATA, name);
	return p;
}

/* An image whose stride exceeds its width, to check that writers use it;
 * the padding holds a value no row should show. */
static void make_padded(semqr_image *img, int w, int h, int bits, test_rng *r)
{
	img->width = w;
	img->height = h;
	img->bits = bits;
	img->stride = (size_t)w + 3;
	img->pixels = malloc(img->stride * (size_t)h * (size_t)bits / 8);
	assert_non_null(img->pixels);
	uint32_t max = bits == 16 ? 65535 : 255;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < (int)img->stride; x++) {
			uint32_t v = test_rng_u32(r) & max;
			if ((x + y) % 5 == 0) /* extremes and the half-scale edge */
				v = (uint32_t[]){0, max, max / 2, max / 2 + 1}[(x + y) / 5 % 4];
			semqr__set_pixel(img, x, y, x >= w ? max / 3 : v);
		}
}

static void assert_same_pixels(const semqr_image *a, const semqr_image *b)
{
	assert_int_equal(a->width, b->width);
	assert_int_equal(a->height, b->height);
	assert_int_equal(a->bits, b->bits);
	for (int y = 0; y < a->height; y++)
		for (int x = 0; x < a->width; x++)
			if (semqr__pixel(a, x, y) != semqr__pixel(b, x, y))
				fail_msg("pixel (%d, %d): %u != %u", x, y, semqr__pixel(a, x, y),
				         semqr__pixel(b, x, y));
}

static void read_ok(const char *path, semqr_image *img)
{
	semqr_error err;
	semqr_status st = semqr_image_read(path, img, &err);
	if (st != SEMQR_OK)
		fail_msg("%s: %s", path, err.message);
	assert_int_equal(err.code, SEMQR_OK);
}

/* ---- allocation --------------------------------------------------------- */

static void test_alloc(void **state)
{
	semqr_image img;
	semqr_error err;
	assert_int_equal(semqr_image_alloc(&img, 3, 7, 16, &err), SEMQR_OK);
	assert_int_equal(img.width, 3);
	assert_int_equal(img.height, 7);
	assert_int_equal(img.bits, 16);
	assert_int_equal(img.stride, 3);
	for (int i = 0; i < 21; i++)
		assert_int_equal(((uint16_t *)img.pixels)[i], 0);
	semqr_image_free(&img);
	assert_null(img.pixels);
	semqr_image_free(&img); /* safe on a zeroed image */

	assert_int_equal(semqr_image_alloc(&img, 0, 5, 8, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_image_alloc(&img, 5, SEMQR_IMAGE_DIM_MAX + 1, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_image_alloc(&img, 5, 5, 12, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "12 bits"));
	assert_null(img.pixels);
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trips(void **state)
{
	static const char *const ext[] = {"png", "pgm", "tif", "tiff", "PNG"};
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}};
	test_rng r;
	test_rng_seed(&r, 0x1234567887654321u);
	for (size_t e = 0; e < sizeof ext / sizeof ext[0]; e++)
		for (int bits = 8; bits <= 16; bits += 8)
			for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
				semqr_image src, back;
				make_padded(&src, sizes[s][0], sizes[s][1], bits, &r);
				char name[64];
				snprintf(name, sizeof name, "rt_%d_%dx%d.%s", bits, sizes[s][0],
				         sizes[s][1], ext[e]);
				const char *path = tmp_path(name);
				semqr_error err;
				if (semqr_image_write(path, &src, &err) != SEMQR_OK)
					fail_msg("%s", err.message);
				read_ok(path, &back);
				assert_int_equal(back.stride, (size_t)back.width);
				assert_same_pixels(&src, &back);
				free(src.pixels);
				semqr_image_free(&back);
			}
}

/* PBM keeps one bit: dark below half scale. */
static void test_pbm_threshold(void **state)
{
	test_rng r;
	test_rng_seed(&r, 42);
	static const int sizes[][2] = {{1, 1}, {3, 7}, {257, 5}};
	for (int bits = 8; bits <= 16; bits += 8)
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			semqr_image src, back;
			make_padded(&src, sizes[s][0], sizes[s][1], bits, &r);
			const char *path = tmp_path("threshold.pbm");
			semqr_error err;
			assert_int_equal(semqr_image_write(path, &src, &err), SEMQR_OK);
			read_ok(path, &back);
			assert_int_equal(back.bits, 8);
			assert_int_equal(back.width, src.width);
			assert_int_equal(back.height, src.height);
			uint32_t half = bits == 16 ? 32768 : 128;
			for (int y = 0; y < src.height; y++)
				for (int x = 0; x < src.width; x++)
					assert_int_equal(semqr__pixel(&back, x, y),
					                 semqr__pixel(&src, x, y) < half ? 0 : 255);
			free(src.pixels);
			semqr_image_free(&back);
		}
}

/* ---- Netpbm variants ---------------------------------------------------- */

static void check_values(const char *name, const char *contents, size_t len, int w, int h, int bits,
                         const uint32_t *expect)
{
	const char *path = tmp_path(name);
	assert_int_equal(test_write_file(path, contents, len), 0);
	semqr_image img;
	read_ok(path, &img);
	assert_int_equal(img.width, w);
	assert_int_equal(img.height, h);
	assert_int_equal(img.bits, bits);
	for (int i = 0; i < w * h; i++)
		if (semqr__pixel(&img, i % w, i / w) != expect[i])
			fail_msg("%s: pixel %d is %u, expected %u", name, i,
			         semqr__pixel(&img, i % w, i / w), expect[i]);
	semqr_image_free(&img);
}

static void test_pnm_variants(void **state)
{
	static const char p1[] = "P1\n# plain bitmap\n3 2\n1 0 1\n011\n";
	check_values("plain.pbm", p1, sizeof p1 - 1, 3, 2, 8, (uint32_t[]){0, 255, 0, 255, 0, 0});

	/* maxval 100: v * 255 / 100 rounded. */
	static const char p2[] = "P2 2 2 # comment\n100\n0 100\n50 33\n";
	check_values("plain.pgm", p2, sizeof p2 - 1, 2, 2, 8, (uint32_t[]){0, 255, 128, 84});

	/* maxval 1000 is 16-bit: v * 65535 / 1000 rounded. */
	static const char p2w[] = "P2\n3 1\n1000\n0 1000 1\n";
	check_values("plain16.pgm", p2w, sizeof p2w - 1, 3, 1, 16, (uint32_t[]){0, 65535, 66});

	/* Raw 16-bit, maxval 65535, big-endian. */
	static const char p5[] = "P5\n2 1\n65535\n\x12\x34\xff\xfe";
	check_values("raw16.pgm", p5, sizeof p5 - 1, 2, 1, 16, (uint32_t[]){0x1234, 0xfffe});

	/* Raw 8-bit, maxval 15; a comment between the fields. */
	static const char p5s[] = "P5 3\n#x\n1 15\n\x00\x0f\x07";
	check_values("raw15.pgm", p5s, sizeof p5s - 1, 3, 1, 8, (uint32_t[]){0, 255, 119});

	/* Raw bitmap, 10 pixels wide: rows padded to 2 bytes. */
	static const char p4[] = "P4\n10 2\n\xa5\xc0\x00\x40";
	check_values("raw.pbm", p4, sizeof p4 - 1, 10, 2, 8,
	             (uint32_t[]){0,   255, 0,   255, 255, 0,   255, 0,   0,   0,
	                          255, 255, 255, 255, 255, 255, 255, 255, 255, 0});

	/* Failures: sample above maxval, PPM, short plain data. */
	static const struct {
		const char *name, *data;
		semqr_status code;
		const char *what;
	} bad[] = {
	    {"over.pgm", "P2 1 1 10 11\n", SEMQR_ERR_FORMAT, "exceeds maxval"},
	    {"colour.ppm", "P6 1 1 255\nabc", SEMQR_ERR_UNSUPPORTED, "P6"},
	    {"short.pbm", "P1 3 3 0 1 0 1 0 1 0 1\n", SEMQR_ERR_FORMAT, "truncated"},
	    {"maxval0.pgm", "P5 1 1 0\n", SEMQR_ERR_FORMAT, "maxval"},
	    {"hugewidth.pgm", "P5 99999999999 1 255\n", SEMQR_ERR_FORMAT, "width exceeds"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *path = tmp_path(bad[i].name);
		assert_int_equal(test_write_file(path, bad[i].data, strlen(bad[i].data)), 0);
		semqr_image img;
		semqr_error err;
		assert_int_equal(semqr_image_read(path, &img, &err), bad[i].code);
		assert_int_equal(err.code, bad[i].code);
		if (!strstr(err.message, bad[i].what) || strncmp(err.message, path, strlen(path)))
			fail_msg("%s: message \"%s\"", bad[i].name, err.message);
		assert_null(img.pixels);
	}
}

/* ---- colour PNG --------------------------------------------------------- */

typedef struct png_spec {
	int width, height, depth, colour_type, interlace;
	const uint8_t *rows; /* packed as PNG stores them (16-bit big-endian) */
	const png_color *palette;
	int palette_len;
	const png_color_16 *trns_grey; /* tRNS for a grey image */
} png_spec;

static void write_png(const char *path, const png_spec *s)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng failed writing %s", path);
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->depth,
	             s->colour_type, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	if (s->palette)
		png_set_PLTE(png, info, s->palette, s->palette_len);
	if (s->trns_grey)
		png_set_tRNS(png, info, NULL, 0, s->trns_grey);
	png_write_info(png, info);
	size_t rowbytes = png_get_rowbytes(png, info);
	png_bytep *rows = malloc((size_t)s->height * sizeof *rows);
	for (int y = 0; y < s->height; y++)
		rows[y] = (png_bytep)s->rows + (size_t)y * rowbytes;
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(rows);
	assert_int_equal(fclose(fp), 0);
}

static void write_png_rows(const char *path, int w, int h, int depth, int colour_type,
                           int interlace, const uint8_t *rows)
{
	write_png(path, &(png_spec){.width = w,
	                            .height = h,
	                            .depth = depth,
	                            .colour_type = colour_type,
	                            .interlace = interlace,
	                            .rows = rows});
}

static double luma(double r, double g, double b)
{
	return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* Grey (at full scale max) composited onto white, rounded. */
static long over_white(double v, double a, double max)
{
	return lround(v * a / max + max * (1 - a / max));
}

/* Random colour samples whose luma is not a tie (x.5), where the reader's
 * integer rounding and lround would legitimately differ. */
static void random_rgb(test_rng *r, uint32_t max, uint32_t *c)
{
	do {
		for (int i = 0; i < 3; i++)
			c[i] = test_rng_below(r, max + 1);
	} while ((299 * c[0] + 587 * c[1] + 114 * c[2]) % 1000 == 500);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void test_png_colour(void **state)
{
	test_rng r;
	test_rng_seed(&r, 7);
	const int w = 9, h = 5, n = w * h;
	uint8_t rows[9 * 5 * 8];
	uint32_t c[9 * 5][4];
	semqr_image img;

	/* RGB 8-bit: exact luma. */
	for (int i = 0; i < n; i++) {
		random_rgb(&r, 255, c[i]);
		for (int k = 0; k < 3; k++)
			rows[3 * i + k] = (uint8_t)c[i][k];
	}
	const char *path = tmp_path("rgb8.png");
	write_png_rows(path, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows);
	read_ok(path, &img);
	assert_int_equal(img.bits, 8);
	for (int i = 0; i < n; i++)
		assert_int_equal(semqr__pixel(&img, i % w, i / w),
		                 lround(luma(c[i][0], c[i][1], c[i][2])));
	semqr_image_free(&img);

	/* RGBA 8-bit, interlaced: straight alpha onto white. The reader rounds
	 * the luma before compositing, so it may differ from the one-step value
	 * by 1. Alpha 0 and 255 are included. */
	for (int i = 0; i < n; i++) {
		random_rgb(&r, 255, c[i]);
		c[i][3] = i == 0 ? 0 : i == 1 ? 255 : test_rng_below(&r, 256);
		for (int k = 0; k < 4; k++)
			rows[4 * i + k] = (uint8_t)c[i][k];
	}
	path = tmp_path("rgba8.png");
	write_png_rows(path, w, h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, rows);
	read_ok(path, &img);
	assert_int_equal(img.bits, 8);
	assert_int_equal(semqr__pixel(&img, 0, 0), 255);
	for (int i = 0; i < n; i++) {
		long want = over_white(luma(c[i][0], c[i][1], c[i][2]), c[i][3], 255);
		assert_in_range(semqr__pixel(&img, i % w, i / w), want - 1, want + 1);
	}
	semqr_image_free(&img);

	/* RGB 16-bit stays 16-bit: exact luma. */
	for (int i = 0; i < n; i++) {
		random_rgb(&r, 65535, c[i]);
		for (int k = 0; k < 3; k++)
			put16(rows + 6 * i + 2 * k, c[i][k]);
	}
	path = tmp_path("rgb16.png");
	write_png_rows(path, w, h, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rows);
	read_ok(path, &img);
	assert_int_equal(img.bits, 16);
	for (int i = 0; i < n; i++)
		assert_int_equal(semqr__pixel(&img, i % w, i / w),
		                 lround(luma(c[i][0], c[i][1], c[i][2])));
	semqr_image_free(&img);

	/* Grey + alpha 16-bit. */
	for (int i = 0; i < n; i++) {
		c[i][0] = test_rng_below(&r, 65536);
		c[i][3] = test_rng_below(&r, 65536);
		put16(rows + 4 * i, c[i][0]);
		put16(rows + 4 * i + 2, c[i][3]);
	}
	path = tmp_path("ga16.png");
	write_png_rows(path, w, h, 16, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, rows);
	read_ok(path, &img);
	assert_int_equal(img.bits, 16);
	for (int i = 0; i < n; i++) {
		long want = over_white(c[i][0], c[i][3], 65535);
		assert_in_range(semqr__pixel(&img, i % w, i / w), want - 1, want + 1);
	}
	semqr_image_free(&img);

	/* 2-bit palette: 9 pixels per row in 3 bytes. */
	static const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {200, 100, 50}};
	int idx[9 * 5];
	memset(rows, 0, sizeof rows);
	for (int i = 0; i < n; i++) {
		int x = i % w, y = i / w;
		idx[i] = (int)test_rng_below(&r, 4);
		rows[y * 3 + x / 4] |= (uint8_t)(idx[i] << (6 - 2 * (x % 4)));
	}
	path = tmp_path("pal2.png");
	write_png(path, &(png_spec){.width = w,
	                            .height = h,
	                            .depth = 2,
	                            .colour_type = PNG_COLOR_TYPE_PALETTE,
	                            .rows = rows,
	                            .palette = pal,
	                            .palette_len = 4});
	read_ok(path, &img);
	assert_int_equal(img.bits, 8);
	for (int i = 0; i < n; i++) {
		const png_color *p = &pal[idx[i]];
		assert_int_equal(semqr__pixel(&img, i % w, i / w),
		                 lround(luma(p->red, p->green, p->blue)));
	}
	semqr_image_free(&img);

	/* 1-bit grey expands to 0 / 255. */
	memset(rows, 0, sizeof rows);
	for (int i = 0; i < n; i++)
		if (i % 3 == 0)
			rows[(i / w) * 2 + (i % w) / 8] |= (uint8_t)(0x80 >> (i % w % 8));
	path = tmp_path("grey1.png");
	write_png_rows(path, w, h, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, rows);
	read_ok(path, &img);
	for (int i = 0; i < n; i++)
		assert_int_equal(semqr__pixel(&img, i % w, i / w), i % 3 == 0 ? 255 : 0);
	semqr_image_free(&img);

	/* 8-bit grey with a tRNS colour key: keyed pixels become white. */
	for (int i = 0; i < n; i++)
		rows[i] = (uint8_t)(i % 2 ? 77 : i);
	png_color_16 key = {.gray = 77};
	path = tmp_path("trns.png");
	write_png(path, &(png_spec){.width = w,
	                            .height = h,
	                            .depth = 8,
	                            .colour_type = PNG_COLOR_TYPE_GRAY,
	                            .rows = rows,
	                            .trns_grey = &key});
	read_ok(path, &img);
	for (int i = 0; i < n; i++)
		assert_int_equal(semqr__pixel(&img, i % w, i / w), i % 2 ? 255 : i);
	semqr_image_free(&img);
}

/* ---- colour and tiled TIFF ---------------------------------------------- */

typedef struct tiff_spec {
	int width, height, spp, bits, photometric, planar, compression;
	int tile;  /* tile side (multiple of 16), or 0 for strips */
	int extra; /* EXTRASAMPLE_* of one extra sample, or -1 */
	int sample_format;
	const uint16_t *map; /* palette: 3 * 2^bits entries (r, then g, then b) */
	const uint8_t *data; /* contiguous: rows of packed samples;
	                        separate: one such plane per sample */
} tiff_spec;

static void write_tiff(const char *path, const tiff_spec *s)
{
	TIFF *tif = TIFFOpen(path, "w");
	assert_non_null(tif);
	TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)s->width);
	TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)s->height);
	TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)s->spp);
	TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)s->bits);
	TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)s->photometric);
	TIFFSetField(tif, TIFFTAG_PLANARCONFIG, (uint16_t)s->planar);
	TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)s->compression);
	if (s->sample_format)
		TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, (uint16_t)s->sample_format);
	if (s->extra >= 0) {
		uint16_t type = (uint16_t)s->extra;
		TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)1, &type);
	}
	if (s->map) {
		size_t n = (size_t)1 << s->bits;
		TIFFSetField(tif, TIFFTAG_COLORMAP, s->map, s->map + n, s->map + 2 * n);
	}
	int planes = s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1;
	size_t rowbytes = ((size_t)s->width * (size_t)(s->spp / planes) * (size_t)s->bits + 7) / 8;
	size_t planebytes = rowbytes * (size_t)s->height;
	if (s->tile) {
		TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)s->tile);
		TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)s->tile);
		size_t tsize = (size_t)TIFFTileSize(tif), trow = (size_t)TIFFTileRowSize(tif);
		size_t bpp = (size_t)s->spp * (size_t)s->bits / 8; /* whole bytes in tiled tests */
		uint8_t *buf = malloc(tsize);
		for (int ty = 0; ty < s->height; ty += s->tile)
			for (int tx = 0; tx < s->width; tx += s->tile) {
				memset(buf, 0, tsize);
				for (int y = ty; y < ty + s->tile && y < s->height; y++)
					for (int x = tx; x < tx + s->tile && x < s->width; x++) {
						size_t to = (size_t)(y - ty) * trow +
						            (size_t)(x - tx) * bpp;
						size_t from =
						    (size_t)y * rowbytes + (size_t)x * bpp;
						memcpy(buf + to, s->data + from, bpp);
					}
				tmsize_t wrote =
				    TIFFWriteTile(tif, buf, (uint32_t)tx, (uint32_t)ty, 0, 0);
				assert_true(wrote > 0);
			}
		free(buf);
	} else {
		TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)2);
		for (int p = 0; p < planes; p++)
			for (int y = 0; y < s->height; y++) {
				uint8_t *row = (uint8_t *)s->data + (size_t)p * planebytes +
				               (size_t)y * rowbytes;
				assert_int_equal(
				    TIFFWriteScanline(tif, row, (uint32_t)y, (uint16_t)p), 1);
			}
	}
	TIFFClose(tif);
}

static void test_tiff_colour(void **state)
{
	test_rng r;
	test_rng_seed(&r, 99);
	enum { W = 37, H = 21, N = W * H };
	static uint8_t data[N * 8];
	static uint32_t c[N][4];
	semqr_image img;
	const char *path;

	/* RGB 8-bit, LZW, strips of 2 rows; then the same tiled 16x16. */
	for (int i = 0; i < N; i++) {
		random_rgb(&r, 255, c[i]);
		for (int k = 0; k < 3; k++)
			data[3 * i + k] = (uint8_t)c[i][k];
	}
	for (int tile = 0; tile <= 16; tile += 16) {
		path = tmp_path(tile ? "rgb8_tiled.tif" : "rgb8_lzw.tif");
		write_tiff(path, &(tiff_spec){W, H, 3, 8, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG,
		                              tile ? COMPRESSION_NONE : COMPRESSION_LZW, tile, -1,
		                              0, NULL, data});
		read_ok(path, &img);
		assert_int_equal(img.bits, 8);
		for (int i = 0; i < N; i++)
			assert_int_equal(semqr__pixel(&img, i % W, i / W),
			                 lround(luma(c[i][0], c[i][1], c[i][2])));
		semqr_image_free(&img);
	}

	/* RGB 8-bit as separate planes (read through libtiff's RGBA interface). */
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 3; k++)
			data[(size_t)k * N + (size_t)i] = (uint8_t)c[i][k];
	path = tmp_path("rgb8_planes.tif");
	write_tiff(path, &(tiff_spec){W, H, 3, 8, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE,
	                              COMPRESSION_NONE, 0, -1, 0, NULL, data});
	read_ok(path, &img);
	for (int i = 0; i < N; i++)
		assert_int_equal(semqr__pixel(&img, i % W, i / W),
		                 lround(luma(c[i][0], c[i][1], c[i][2])));
	semqr_image_free(&img);

	/* RGBA 8-bit: unassociated alpha, associated alpha, and unassociated
	 * alpha in separate planes (through libtiff's RGBA interface, which
	 * premultiplies: hence a tolerance of 1 everywhere). */
	for (int variant = 0; variant < 3; variant++) {
		int assoc = variant == 1, planes = variant == 2;
		for (int i = 0; i < N; i++) {
			random_rgb(&r, 255, c[i]);
			c[i][3] = test_rng_below(&r, 256);
			if (assoc) /* premultiplied colour */
				for (int k = 0; k < 3; k++)
					c[i][k] = (c[i][k] * c[i][3] + 127) / 255;
			for (int k = 0; k < 4; k++)
				data[planes ? (size_t)k * N + (size_t)i
				            : 4 * (size_t)i + (size_t)k] = (uint8_t)c[i][k];
		}
		path = tmp_path("rgba8.tif");
		write_tiff(path,
		           &(tiff_spec){W, H, 4, 8, PHOTOMETRIC_RGB,
		                        planes ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG,
		                        COMPRESSION_ADOBE_DEFLATE, 0,
		                        assoc ? EXTRASAMPLE_ASSOCALPHA : EXTRASAMPLE_UNASSALPHA, 0,
		                        NULL, data});
		read_ok(path, &img);
		for (int i = 0; i < N; i++) {
			double v = luma(c[i][0], c[i][1], c[i][2]);
			long want = assoc ? lround(v + 255 - c[i][3]) : over_white(v, c[i][3], 255);
			want = want > 255 ? 255 : want;
			assert_in_range(semqr__pixel(&img, i % W, i / W), want - 1, want + 1);
		}
		semqr_image_free(&img);
	}

	/* RGB 16-bit stays 16-bit. */
	for (int i = 0; i < N; i++) {
		random_rgb(&r, 65535, c[i]);
		for (int k = 0; k < 3; k++)
			memcpy(data + 6 * i + 2 * k, &(uint16_t){(uint16_t)c[i][k]}, 2);
	}
	path = tmp_path("rgb16.tif");
	write_tiff(path, &(tiff_spec){W, H, 3, 16, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG,
	                              COMPRESSION_NONE, 0, -1, 0, NULL, data});
	read_ok(path, &img);
	assert_int_equal(img.bits, 16);
	for (int i = 0; i < N; i++)
		assert_int_equal(semqr__pixel(&img, i % W, i / W),
		                 lround(luma(c[i][0], c[i][1], c[i][2])));
	semqr_image_free(&img);

	/* Grey 16-bit, tiled 16x16 (partial edge tiles), deflate. */
	for (int i = 0; i < N; i++) {
		c[i][0] = test_rng_below(&r, 65536);
		memcpy(data + 2 * i, &(uint16_t){(uint16_t)c[i][0]}, 2);
	}
	path = tmp_path("grey16_tiled.tif");
	write_tiff(path, &(tiff_spec){W, H, 1, 16, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
	                              COMPRESSION_ADOBE_DEFLATE, 16, -1, 0, NULL, data});
	read_ok(path, &img);
	assert_int_equal(img.bits, 16);
	for (int i = 0; i < N; i++)
		assert_int_equal(semqr__pixel(&img, i % W, i / W), c[i][0]);
	semqr_image_free(&img);

	/* 4-bit palette with a 16-bit colour map. */
	uint16_t map[3 * 16];
	for (int k = 0; k < 3 * 16; k++)
		map[k] = (uint16_t)test_rng_u32(&r);
	int rowbytes = (W + 1) / 2;
	memset(data, 0, sizeof data);
	for (int i = 0; i < N; i++) {
		c[i][0] = test_rng_below(&r, 16);
		data[(i / W) * rowbytes + (i % W) / 2] |= (uint8_t)(c[i][0] << (i % W % 2 ? 0 : 4));
	}
	path = tmp_path("pal4.tif");
	write_tiff(path, &(tiff_spec){W, H, 1, 4, PHOTOMETRIC_PALETTE, PLANARCONFIG_CONTIG,
	                              COMPRESSION_PACKBITS, 0, -1, 0, map, data});
	read_ok(path, &img);
	assert_int_equal(img.bits, 8);
	for (int i = 0; i < N; i++) {
		int k = (int)c[i][0];
		long want = lround(luma(map[k], map[16 + k], map[32 + k]) * 255 / 65535);
		assert_in_range(semqr__pixel(&img, i % W, i / W), want - 1, want + 1);
	}
	semqr_image_free(&img);

	/* 1-bit MinIsWhite, CCITT group 4: bit 1 is black. */
	rowbytes = (W + 7) / 8;
	memset(data, 0, sizeof data);
	for (int i = 0; i < N; i++)
		if ((i % W) * (i / W) % 3 == 1)
			data[(i / W) * rowbytes + (i % W) / 8] |= (uint8_t)(0x80 >> (i % W % 8));
	path = tmp_path("bilevel_g4.tif");
	write_tiff(path, &(tiff_spec){W, H, 1, 1, PHOTOMETRIC_MINISWHITE, PLANARCONFIG_CONTIG,
	                              COMPRESSION_CCITTFAX4, 0, -1, 0, NULL, data});
	read_ok(path, &img);
	for (int i = 0; i < N; i++)
		assert_int_equal(semqr__pixel(&img, i % W, i / W),
		                 (i % W) * (i / W) % 3 == 1 ? 0 : 255);
	semqr_image_free(&img);

	/* 2-bit MinIsBlack scales by 85. */
	rowbytes = (W + 3) / 4;
	memset(data, 0, sizeof data);
	for (int i = 0; i < N; i++) {
		c[i][0] = test_rng_below(&r, 4);
		data[(i / W) * rowbytes + (i % W) / 4] |=
		    (uint8_t)(c[i][0] << (6 - 2 * (i % W % 4)));
	}
	path = tmp_path("grey2.tif");
	write_tiff(path, &(tiff_spec){W, H, 1, 2, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
	                              COMPRESSION_NONE, 0, -1, 0, NULL, data});
	read_ok(path, &img);
	for (int i = 0; i < N; i++)
		assert_int_equal(semqr__pixel(&img, i % W, i / W), c[i][0] * 85);
	semqr_image_free(&img);

	/* 32-bit float grey is refused with libtiff's reason. */
	memset(data, 0, sizeof data);
	path = tmp_path("float.tif");
	write_tiff(path, &(tiff_spec){W, H, 1, 32, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
	                              COMPRESSION_NONE, 0, -1, SAMPLEFORMAT_IEEEFP, NULL, data});
	semqr_error err;
	assert_int_equal(semqr_image_read(path, &img, &err), SEMQR_ERR_UNSUPPORTED);
	assert_int_equal(strncmp(err.message, path, strlen(path)), 0);
	assert_null(img.pixels);
}

/* ---- broken files ------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	uint8_t *b = malloc(*n);
	assert_int_equal(fread(b, 1, *n, f), *n);
	fclose(f);
	return b;
}

/* Tests of files that libpng and libtiff complain about run with stderr
 * sent to a log file (set up and restored around the test by cmocka, even
 * when it fails), and assert at the end that the log stayed empty. */
static int saved_stderr = -1;

static const char *stderr_log(void)
{
	return tmp_path("stderr.log");
}

static int redirect_stderr(void **state)
{
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = open(stderr_log(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (saved_stderr < 0 || fd < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	return 0;
}

static int restore_stderr(void **state)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	return 0;
}

static void assert_stderr_empty(void)
{
	fflush(stderr);
	struct stat sb;
	assert_int_equal(stat(stderr_log(), &sb), 0);
	if (sb.st_size != 0)
		fail_msg("%lld bytes printed on stderr (see %s)", (long long)sb.st_size,
		         stderr_log());
}

static void expect_broken(const char *path, const char *what)
{
	semqr_image img = {.width = 99};
	semqr_error err;
	semqr_status st = semqr_image_read(path, &img, &err);
	if (st != SEMQR_ERR_FORMAT && st != SEMQR_ERR_IO)
		fail_msg("%s: status %d (%s)", path, st, err.message);
	assert_int_equal(err.code, st);
	assert_null(img.pixels);
	assert_int_equal(img.width, 0);
	if (strncmp(err.message, path, strlen(path)) || !strstr(err.message, what))
		fail_msg("%s: message \"%s\" lacks \"%s\"", path, err.message, what);
}

static void test_broken_files(void **state)
{
	static const char *const cases[][2] = {
	    {"io_truncated.png", "truncated (libpng: "},
	    {"io_bad_crc.png", "CRC"},
	    {"io_truncated.tif", "truncated"},
	    {"io_huge.tif", "exceeds the limit"},
	    {"io_bad_ifd.tif", "invalid TIFF (libtiff: "},
	    {"io_bad_header.pgm", "height"},
	    {"io_truncated.pgm", "truncated"},
	    {"io_empty.png", "empty file"},
	    {"io_text.png", "not a PNG, JPEG, PGM/PBM or TIFF file (first bytes 3c 68 74 6d)"},
	    {"no_such_file.png", "cannot open"},
	    {"", "cannot read"}, /* the directory itself */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_broken(data_path(cases[i][0]), cases[i][1]);

	/* A deflate TIFF whose first strip is overwritten with garbage. */
	uint8_t data[64 * 64];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * i);
	const char *path = tmp_path("bad_strip.tif");
	write_tiff(path, &(tiff_spec){64, 64, 1, 8, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
	                              COMPRESSION_ADOBE_DEFLATE, 0, -1, 0, NULL, data});
	size_t n;
	uint8_t *bytes = slurp(path, &n);
	memset(bytes + 8, 0xff, 32); /* libtiff writes the first strip at offset 8 */
	assert_int_equal(test_write_file(path, bytes, n), 0);
	free(bytes);
	expect_broken(path, "strip 0: ");
	assert_stderr_empty();
}

/* Reads a mutated copy of `bytes`; anything but a crash is fine, provided a
 * failure names the file and leaves the image empty. */
static semqr_status read_mutant(const uint8_t *bytes, size_t n)
{
	const char *path = tmp_path("mutant");
	assert_int_equal(test_write_file(path, bytes, n), 0);
	semqr_image img;
	semqr_error err;
	semqr_status st = semqr_image_read(path, &img, &err);
	if (st == SEMQR_OK) {
		assert_true(img.width >= 1 && img.height >= 1);
		semqr_image_free(&img);
	} else {
		assert_null(img.pixels);
		if (strncmp(err.message, path, strlen(path)))
			fail_msg("message \"%s\" does not start with the path", err.message);
	}
	return st;
}

static void keep_path(char *dst, const char *name)
{
	snprintf(dst, 512, "%s", tmp_path(name));
}

/* Small valid files of every kind the readers handle, for mutation. */
static int make_fuzz_sources(test_rng *r, char (*paths)[512])
{
	int n = 0;
	semqr_image img;
	semqr_error err;
	static const char *const written[] = {"fz.png", "fz16.png", "fz.tif",
	                                      "fz.pgm", "fz16.pgm", "fz.pbm"};
	for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
		make_padded(&img, 6, 5, strstr(written[i], "16") ? 16 : 8, r);
		keep_path(paths[n], written[i]);
		assert_int_equal(semqr_image_write(paths[n++], &img, &err), SEMQR_OK);
		free(img.pixels);
	}

	uint8_t data[20 * 18 * 2];
	test_rng_bytes(r, data, sizeof data);
	keep_path(paths[n], "fz_rgba_adam7.png");
	write_png_rows(paths[n++], 5, 4, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, data);
	keep_path(paths[n], "fz_pal.png");
	static const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
	write_png(paths[n++], &(png_spec){.width = 9,
	                                  .height = 3,
	                                  .depth = 2,
	                                  .colour_type = PNG_COLOR_TYPE_PALETTE,
	                                  .rows = data,
	                                  .palette = pal,
	                                  .palette_len = 4});
	uint16_t map[3 * 4] = {0, 65535, 30000, 1, 2, 65535, 3000, 4, 50, 0, 65535, 9};
	keep_path(paths[n], "fz_pal.tif");
	write_tiff(paths[n++], &(tiff_spec){9, 3, 1, 2, PHOTOMETRIC_PALETTE, PLANARCONFIG_CONTIG,
	                                    COMPRESSION_LZW, 0, -1, 0, map, data});
	keep_path(paths[n], "fz_tiled.tif");
	write_tiff(paths[n++],
	           &(tiff_spec){20, 18, 1, 16, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG,
	                        COMPRESSION_ADOBE_DEFLATE, 16, -1, 0, NULL, data});
	keep_path(paths[n], "fz_planes.tif");
	write_tiff(paths[n++], &(tiff_spec){7, 5, 3, 8, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE,
	                                    COMPRESSION_PACKBITS, 0, -1, 0, NULL, data});

	static const char p2[] = "P2\n# c\n3 2\n300\n0 1 2\n300 299 7\n";
	static const char p1[] = "P1\n5 2\n10101 0 1 0 1 1\n";
	keep_path(paths[n], "fz_plain.pgm");
	assert_int_equal(test_write_file(paths[n++], p2, sizeof p2 - 1), 0);
	keep_path(paths[n], "fz_plain.pbm");
	assert_int_equal(test_write_file(paths[n++], p1, sizeof p1 - 1), 0);
	return n;
}

static void test_fuzz(void **state)
{
	test_rng r;
	test_rng_seed(&r, 0xfeedface);
	char paths[16][512];
	int count = make_fuzz_sources(&r, paths);
	for (int s = 0; s < count; s++) {
		size_t n;
		uint8_t *orig = slurp(paths[s], &n);
		if (read_mutant(orig, n) != SEMQR_OK)
			fail_msg("%s does not read", paths[s]);
		uint8_t *b = malloc(n);
		for (size_t len = 0; len < n; len++)
			read_mutant(orig, len);
		for (int t = 0; t < FUZZ_TRIALS; t++) {
			memcpy(b, orig, n);
			int changes = 1 + (int)test_rng_below(&r, 4);
			for (int k = 0; k < changes; k++)
				b[test_rng_below(&r, (uint32_t)n)] = (uint8_t)test_rng_u32(&r);
			read_mutant(b, n);
		}
		free(b);
		free(orig);
	}
	assert_stderr_empty();
}

/* ---- writing errors ----------------------------------------------------- */

static void test_write_errors(void **state)
{
	semqr_image img;
	semqr_error err;
	assert_int_equal(semqr_image_alloc(&img, 4, 4, 8, &err), SEMQR_OK);

	assert_int_equal(semqr_image_write(tmp_path("x.jpg"), &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "\".jpg\""));
	assert_int_equal(semqr_image_write(tmp_path("noext"), &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "no file extension"));
	assert_int_equal(semqr_image_write(tmp_path("dir.png/x"), &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);

	const char *nodir = tmp_path("no/such/dir/x.tif");
	assert_int_equal(semqr_image_write(nodir, &img, &err), SEMQR_ERR_IO);
	assert_int_equal(strncmp(err.message, nodir, strlen(nodir)), 0);
	assert_non_null(strstr(err.message, "cannot create"));

	img.bits = 12;
	assert_int_equal(semqr_image_write(tmp_path("x.png"), &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	img.bits = 8;
	img.stride = 3;
	assert_int_equal(semqr_image_write(tmp_path("x.png"), &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	img.stride = 4;
	semqr_image_free(&img);
}

/* ---- symbols: render, SVG, text ----------------------------------------- */

/* A version-2 "symbol" of random modules: the writers need no valid code. */
static void random_symbol(semqr_symbol *s, test_rng *r)
{
	memset(s, 0, sizeof *s);
	s->version = 2;
	s->size = 25;
	for (int i = 0; i < 25 * 25; i++)
		s->modules[i] = (uint8_t)test_rng_below(r, 2);
	s->modules[0] = s->modules[24] = s->modules[25 * 25 - 1] = 1; /* dark runs at the edges */
}

static void test_render(void **state)
{
	test_rng r;
	test_rng_seed(&r, 5);
	semqr_symbol s;
	random_symbol(&s, &r);
	semqr_image img;
	semqr_error err;
	for (int scale = 1; scale <= 3; scale++) {
		int quiet = scale == 2 ? 0 : 3;
		assert_int_equal(semqr_render(&s, quiet, scale, &img, &err), SEMQR_OK);
		assert_int_equal(img.bits, 8);
		assert_int_equal(img.width, (25 + 2 * quiet) * scale);
		assert_int_equal(img.height, img.width);
		for (int y = 0; y < img.height; y++)
			for (int x = 0; x < img.width; x++) {
				int mx = x / scale - quiet, my = y / scale - quiet;
				int dark = mx >= 0 && my >= 0 && mx < 25 && my < 25 &&
				           s.modules[my * 25 + mx];
				assert_int_equal(semqr__pixel(&img, x, y), dark ? 0 : 255);
			}
		semqr_image_free(&img);
	}
	assert_int_equal(semqr_render(&s, 1, 0, &img, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_render(&s, -1, 1, &img, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_render(&s, 1, SEMQR_IMAGE_DIM_MAX, &img, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	s.size = 21;
	assert_int_equal(semqr_render(&s, 1, 1, &img, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "size 21"));
}

static char *slurp_text(const char *path)
{
	size_t n;
	uint8_t *b = slurp(path, &n);
	char *t = realloc(b, n + 1);
	t[n] = 0;
	return t;
}

static void test_svg(void **state)
{
	test_rng r;
	test_rng_seed(&r, 6);
	semqr_symbol s;
	random_symbol(&s, &r);
	const int quiet = 4, side = 25 + 2 * quiet;
	const char *path = tmp_path("sym.svg");
	semqr_error err;
	assert_int_equal(semqr_write_svg(path, &s, quiet, 37.5, &err), SEMQR_OK);
	char *t = slurp_text(path);

	/* Physical size: 33 modules of 37.5 nm = 1237.5 nm = 0.0012375 mm. */
	double w, h;
	const char *p = strstr(t, " width=\"");
	assert_non_null(p);
	assert_int_equal(sscanf(p, " width=\"%lfmm\" height=\"%lfmm\"", &w, &h), 2);
	assert_true(fabs(w - side * 37.5e-6) < 0.6e-6 && w == h);
	int vx, vy, vw, vh;
	p = strstr(t, "viewBox=\"");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "viewBox=\"%d %d %d %d\"", &vx, &vy, &vw, &vh), 4);
	assert_true(vx == 0 && vy == 0 && vw == side && vh == side);
	char bg[64];
	snprintf(bg, sizeof bg, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>", side, side);
	assert_non_null(strstr(t, bg));

	/* Paint the path's rectangles and compare with the modules. */
	uint8_t grid[33 * 33] = {0};
	p = strstr(t, " d=\"");
	assert_non_null(p);
	p += 4;
	for (;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '"')
			break;
		int x, y, n1, n2, used = 0;
		assert_int_equal(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &n1, &n2, &used), 4);
		assert_true(used > 0 && n1 == n2 && n1 >= 1 && y >= 0 && y < side && x >= 0 &&
		            x + n1 <= side);
		for (int i = 0; i < n1; i++) {
			assert_int_equal(grid[y * side + x + i], 0); /* rectangles never overlap */
			grid[y * side + x + i] = 1;
		}
		p += used;
	}
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int mx = x - quiet, my = y - quiet;
			int dark =
			    mx >= 0 && my >= 0 && mx < 25 && my < 25 && s.modules[my * 25 + mx];
			assert_int_equal(grid[y * side + x], dark);
		}
	free(t);

	assert_int_equal(semqr_write_svg(path, &s, quiet, 0, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_write_svg(path, &s, quiet, NAN, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr_write_svg(path, &s, quiet, 1e-9, &err), SEMQR_ERR_INVALID_ARGUMENT);
}

static void test_text(void **state)
{
	test_rng r;
	test_rng_seed(&r, 8);
	semqr_symbol s;
	random_symbol(&s, &r);
	const int quiet = 2, side = 25 + 2 * quiet;
	const char *path = tmp_path("sym.txt");
	semqr_error err;
	assert_int_equal(semqr_write_text(path, &s, quiet, &err), SEMQR_OK);
	char *t = slurp_text(path);
	assert_int_equal(strlen(t), (size_t)side * (side + 1));
	for (int y = 0; y < side; y++) {
		assert_int_equal(t[y * (side + 1) + side], '\n');
		for (int x = 0; x < side; x++) {
			int mx = x - quiet, my = y - quiet;
			int dark =
			    mx >= 0 && my >= 0 && mx < 25 && my < 25 && s.modules[my * 25 + mx];
			assert_int_equal(t[y * (side + 1) + x], dark ? '#' : '.');
		}
	}
	free(t);
	const char *nodir = tmp_path("no/such/dir/x.txt");
	assert_int_equal(semqr_write_text(nodir, &s, quiet, &err), SEMQR_ERR_IO);
	assert_int_equal(strncmp(err.message, nodir, strlen(nodir)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_pbm_threshold),
	    cmocka_unit_test(test_pnm_variants),
	    cmocka_unit_test(test_png_colour),
	    cmocka_unit_test(test_tiff_colour),
	    cmocka_unit_test_setup_teardown(test_broken_files, redirect_stderr, restore_stderr),
	    cmocka_unit_test_setup_teardown(test_fuzz, redirect_stderr, restore_stderr),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_svg),
	    cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
