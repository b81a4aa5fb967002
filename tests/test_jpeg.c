/* JPEG reading (host/io/jpeg_read.c), through semqr_image_read and the scan
 * reader. Files are written here with libjpeg itself.
 *
 * - Grey and colour (YCbCr from RGB) files, baseline and progressive, at
 *   quality 100: every pixel within JPEG's rounding of the original grey,
 *   or of the BT.601 luma of the colour, computed here.
 * - Row bands through semqr_scan_read_rows, out of order (a band above the
 *   last one restarts the decoder): the same rows as the whole image.
 * - Broken files: truncated (libjpeg would pad with grey: here an error), a
 *   header promising more blocks than the file can code, CMYK; messages
 *   name the file.
 * - Every truncation and FUZZ_TRIALS random mutations of 1-4 bytes of a
 *   small file: a valid image or a failure naming the path, never a crash
 *   (run under ASan too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "io/io_internal.h"
#include "semqr/scan.h"
#include "support/run.h"
#include "support/testutil.h"

#define FUZZ_TRIALS 500 /* random mutations of the small file, seeded */

/* A huge allocation requested by a mutated header must fail with NULL under
 * AddressSanitizer too, as it does under the C library. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static const char *tmp_path(const char *name)
{
	static char paths[8][512];
	static int k;
	char *p = paths[k++ % 8];
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	snprintf(p, sizeof paths[0], "%s/jpeg_%s", SEMQR_TEST_TMP, name);
	return p;
}

/* Writes w x h pixels of `components` (1 grey, 3 RGB) samples, row-major. */
static void write_jpeg(const char *path, int w, int h, int components, const uint8_t *pixels,
                       int quality, int progressive)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fp);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = components;
	c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	if (components == 3) /* no chroma subsampling: luma is all that matters */
		for (int i = 0; i < 3; i++)
			c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * (size_t)w *
		                                       (size_t)components);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(fp);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*n = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *b = malloc(*n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *n, fp), *n);
	fclose(fp);
	return b;
}

/* A smooth pattern with edges: what a photograph of a symbol looks like to
 * the codec at quality 100. */
static uint8_t pattern(int x, int y, int c)
{
	int v = ((x / 7 + y / 5) % 2) ? 200 : 40;
	return (uint8_t)(v + ((x * 3 + y * (c + 1)) % 40) - 20);
}

/* The image reads at its size, 8 bits, every pixel within `tol` of want. */
static void expect_image(const char *path, int w, int h, const uint8_t *want, int tol)
{
	semqr_image img;
	semqr_error err;
	semqr_status st = semqr_image_read(path, &img, &err);
	if (st != SEMQR_OK)
		fail_msg("%s: %s", path, err.message);
	assert_int_equal(img.width, w);
	assert_int_equal(img.height, h);
	assert_int_equal(img.bits, 8);
	int worst = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int d = (int)semqr__pixel(&img, x, y) - want[y * w + x];
			worst = abs(d) > worst ? abs(d) : worst;
		}
	if (worst > tol)
		fail_msg("%s: a pixel %d levels off (tolerance %d)", path, worst, tol);
	semqr_image_free(&img);
}

static void test_grey_and_colour(void **state)
{
	(void)state;
	enum { W = 61, H = 37 }; /* not multiples of 8 or 16 */
	static uint8_t grey[W * H], rgb[W * H * 3], luma[W * H];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			grey[y * W + x] = pattern(x, y, 0);
			uint8_t *p = rgb + 3 * (y * W + x);
			for (int c = 0; c < 3; c++)
				p[c] = pattern(x + 11 * c, y, c);
			luma[y * W + x] =
			    (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
		}
	for (int progressive = 0; progressive < 2; progressive++) {
		const char *path = tmp_path(progressive ? "grey_prog.jpg" : "grey.jpg");
		write_jpeg(path, W, H, 1, grey, 100, progressive);
		expect_image(path, W, H, grey, 3);
		path = tmp_path(progressive ? "rgb_prog.jpg" : "rgb.jpg");
		write_jpeg(path, W, H, 3, rgb, 100, progressive);
		expect_image(path, W, H, luma, 4);
	}
	/* A low quality still reads at the right size and close on average. */
	const char *path = tmp_path("grey_q20.jpg");
	write_jpeg(path, W, H, 1, grey, 20, 0);
	expect_image(path, W, H, grey, 120);
}

static void test_bands(void **state)
{
	(void)state;
	enum { W = 40, H = 50 };
	static uint8_t grey[W * H];
	for (int i = 0; i < W * H; i++)
		grey[i] = pattern(i % W, i / W, 1);
	const char *path = tmp_path("bands.jpg");
	write_jpeg(path, W, H, 1, grey, 90, 0);
	semqr_image whole;
	semqr_error err;
	assert_int_equal(semqr_image_read(path, &whole, &err), SEMQR_OK);
	semqr_scan *scan;
	assert_int_equal(semqr_scan_open(path, NULL, &scan, &err), SEMQR_OK);
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	assert_string_equal(info.format, "JPEG");
	assert_int_equal(info.width, W);
	assert_int_equal(info.height, H);
	/* Forward, then back up (restart), then to the last row (finish). */
	static const int bands[][2] = {{5, 10}, {20, 3}, {0, 7}, {30, 20}, {49, 1}};
	uint8_t rows[W * H];
	for (size_t b = 0; b < sizeof bands / sizeof bands[0]; b++) {
		int y0 = bands[b][0], n = bands[b][1];
		assert_int_equal(semqr_scan_read_rows(scan, 0, y0, n, rows, W, &err), SEMQR_OK);
		for (int y = 0; y < n; y++)
			for (int x = 0; x < W; x++)
				assert_int_equal(rows[y * W + x], semqr__pixel(&whole, x, y0 + y));
	}
	semqr_scan_close(scan);
	semqr_image_free(&whole);
}

static void expect_broken(const char *path, semqr_status want, const char *what)
{
	semqr_image img = {.width = 99};
	semqr_error err;
	semqr_status st = semqr_image_read(path, &img, &err);
	if (st != want)
		fail_msg("%s: status %d (%s), want %d", path, st, err.message, want);
	assert_null(img.pixels);
	if (strncmp(err.message, path, strlen(path)) || !strstr(err.message, what))
		fail_msg("%s: message \"%s\" lacks \"%s\"", path, err.message, what);
}

/* The offset of the SOF0/SOF2 marker's height field in a JPEG file. */
static size_t sof_height_offset(const uint8_t *b, size_t n)
{
	for (size_t i = 2; i + 9 < n; i++)
		if (b[i] == 0xff && (b[i + 1] == 0xc0 || b[i + 1] == 0xc2))
			return i + 5;
	fail_msg("no SOF marker");
	return 0;
}

static void test_broken(void **state)
{
	(void)state;
	enum { W = 64, H = 64 };
	static uint8_t grey[W * H];
	for (int i = 0; i < W * H; i++)
		grey[i] = pattern(i % W, i / W, 2);
	const char *good = tmp_path("good.jpg");
	write_jpeg(good, W, H, 1, grey, 95, 0);
	size_t n;
	uint8_t *bytes = slurp(good, &n);

	const char *path = tmp_path("truncated.jpg");
	assert_int_equal(test_write_file(path, bytes, n / 2), 0);
	expect_broken(path, SEMQR_ERR_FORMAT, "invalid or truncated JPEG (libjpeg: ");
	path = tmp_path("header_only.jpg");
	assert_int_equal(test_write_file(path, bytes, 3), 0);
	expect_broken(path, SEMQR_ERR_FORMAT, "header");

	/* 65000 x 65000 pixels from a few hundred bytes. */
	size_t h = sof_height_offset(bytes, n);
	bytes[h] = bytes[h + 2] = 0xfd;
	bytes[h + 1] = bytes[h + 3] = 0xe8;
	path = tmp_path("huge.jpg");
	assert_int_equal(test_write_file(path, bytes, n), 0);
	expect_broken(path, SEMQR_ERR_FORMAT, "cannot be coded in a");
	free(bytes);

	/* CMYK: written by libjpeg from 4 components. */
	FILE *fp = fopen(tmp_path("cmyk.jpg"), "wb");
	assert_non_null(fp);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fp);
	c.image_width = c.image_height = 8;
	c.input_components = 4;
	c.in_color_space = JCS_CMYK;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	uint8_t row[8 * 4] = {0};
	JSAMPROW r = row;
	while (c.next_scanline < c.image_height)
		jpeg_write_scanlines(&c, &r, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(fp);
	expect_broken(tmp_path("cmyk.jpg"), SEMQR_ERR_UNSUPPORTED, "CMYK");
}

/* A mutated file reads as an image or fails with a message naming it. */
static void expect_sane(const char *path)
{
	semqr_image img;
	semqr_error err;
	semqr_status st = semqr_image_read(path, &img, &err);
	if (st == SEMQR_OK) {
		assert_true(img.width > 0 && img.height > 0);
		semqr_image_free(&img);
		return;
	}
	assert_null(img.pixels);
	if (strncmp(err.message, path, strlen(path)))
		fail_msg("%s: message \"%s\" does not name the file", path, err.message);
}

static void test_fuzz(void **state)
{
	(void)state;
	enum { W = 24, H = 16 };
	static uint8_t rgb[W * H * 3];
	for (int i = 0; i < W * H * 3; i++)
		rgb[i] = pattern(i / 3 % W, i / 3 / W, i % 3);
	const char *good = tmp_path("fuzz_src.jpg");
	write_jpeg(good, W, H, 3, rgb, 75, 1);
	size_t n;
	uint8_t *bytes = slurp(good, &n);
	uint8_t *m = malloc(n);
	assert_non_null(m);
	const char *path = tmp_path("fuzz.jpg");
	for (size_t len = 0; len < n; len++) {
		assert_int_equal(test_write_file(path, bytes, len), 0);
		expect_sane(path);
	}
	test_rng rng;
	test_rng_seed(&rng, 0x4a504547);
	for (int t = 0; t < FUZZ_TRIALS; t++) {
		memcpy(m, bytes, n);
		int k = 1 + (int)test_rng_below(&rng, 4);
		for (int i = 0; i < k; i++)
			m[test_rng_below(&rng, (uint32_t)n)] = (uint8_t)test_rng_u32(&rng);
		assert_int_equal(test_write_file(path, m, n), 0);
		expect_sane(path);
	}
	free(m);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grey_and_colour),
	    cmocka_unit_test(test_bands),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
