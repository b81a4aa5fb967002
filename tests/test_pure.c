/* semqr_decode_pure on synthetic images: semqr_encode -> semqr_render ->
 * semqr_decode_pure must give back the payload, version and level.
 *
 * - Versions 1, 2, 7, 10, 25, 40 at all four levels, each rendered at scales
 *   1, 2, 3, 5, 8 with quiet zones of 1 and 4 modules (240 decodes), with a
 *   random byte payload filling about half the data capacity.
 * - The same symbols as 16-bit images at reduced contrast, non-integer module
 *   sizes made by nearest-neighbour resampling, and PNG files (8 and 16 bits)
 *   written and read back.
 * - PNG files made by qrencode (another encoder; 1-bit palette and RGBA) in
 *   tests/data.
 * - Clear failures: an all-white image, a dark area that is not square, and a
 *   dark blob without finder patterns; random images never crash. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/io_internal.h"
#include "qr/qr_internal.h"
#include "support/run.h"
#include "support/testutil.h"

static const int versions[] = {1, 2, 7, 10, 25, 40};

/* Encodes random bytes filling about half of version v at level ecc,
 * forcing both. */
static void encode(test_rng *r, int v, semqr_ecc ecc, semqr_symbol *s, uint8_t *payload,
                   size_t *len)
{
	*len = (size_t)semqr__data_codewords(v, ecc) / 2;
	test_rng_bytes(r, payload, *len);
	semqr_error err;
	if (test_encode_forced(payload, *len, v, ecc, -1, SEMQR_MODE_BYTE, s, &err) != SEMQR_OK)
		fail_msg("encode %d-%s: %s", v, semqr_ecc_name(ecc), err.message);
	assert_int_equal(s->version, v);
}

static void expect_decode(const semqr_image *img, const semqr_symbol *s, const uint8_t *payload,
                          size_t len, const char *what)
{
	semqr_decoded d;
	semqr_error err;
	if (semqr_decode_pure(img, NULL, &d, &err) != SEMQR_OK)
		fail_msg("%s, version %d-%s: %s", what, s->version, semqr_ecc_name(s->ecc),
		         err.message);
	assert_int_equal(d.version, s->version);
	assert_int_equal(d.ecc, s->ecc);
	assert_int_equal(d.mask, s->mask);
	assert_false(d.mirrored);
	assert_int_equal(d.errors_total, 0);
	assert_int_equal(d.payload_len, len);
	assert_memory_equal(d.payload, payload, len);
	semqr_decoded_free(&d);
}

static void test_scales(void **state)
{
	test_rng r;
	test_rng_seed(&r, 0x5eed);
	static uint8_t payload[SEMQR_CODEWORDS_MAX];
	static semqr_symbol s;
	static const int scales[] = {1, 2, 3, 5, 8};
	for (size_t vi = 0; vi < sizeof versions / sizeof versions[0]; vi++)
		for (int ecc = SEMQR_ECC_L; ecc <= SEMQR_ECC_H; ecc++) {
			size_t len;
			encode(&r, versions[vi], (semqr_ecc)ecc, &s, payload, &len);
			for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++)
				for (int quiet = 1; quiet <= 4; quiet += 3) {
					semqr_image img;
					semqr_error err;
					assert_int_equal(
					    semqr_render(&s, quiet, scales[k], &img, &err),
					    SEMQR_OK);
					char what[64];
					snprintf(what, sizeof what, "scale %d, quiet %d", scales[k],
					         quiet);
					expect_decode(&img, &s, payload, len, what);
					semqr_image_free(&img);
				}
		}
}

/* The rendered image at 16 bits with dark 9000 and light 41000. */
static void to_16_bits(const semqr_image *src, semqr_image *dst)
{
	semqr_error err;
	assert_int_equal(semqr_image_alloc(dst, src->width, src->height, 16, &err), SEMQR_OK);
	for (int y = 0; y < src->height; y++)
		for (int x = 0; x < src->width; x++)
			semqr__set_pixel(dst, x, y, semqr__pixel(src, x, y) ? 41000 : 9000);
}

/* Nearest-neighbour resampling by factor f: output pixel p shows source
 * pixel floor((p + 0.5) / f). */
static void resample(const semqr_image *src, double f, semqr_image *dst)
{
	semqr_error err;
	int side = (int)lround(src->width * f);
	assert_int_equal(semqr_image_alloc(dst, side, side, 8, &err), SEMQR_OK);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int sx = (int)((x + 0.5) / f), sy = (int)((y + 0.5) / f);
			sx = sx < src->width ? sx : src->width - 1;
			sy = sy < src->height ? sy : src->height - 1;
			semqr__set_pixel(dst, x, y, semqr__pixel(src, sx, sy));
		}
}

static void test_16_bits_and_fractional_scales(void **state)
{
	test_rng r;
	test_rng_seed(&r, 0xabc);
	static uint8_t payload[SEMQR_CODEWORDS_MAX];
	static semqr_symbol s;
	static const double factors[] = {1.5, 2.7, 3.3, 4.49};
	for (size_t vi = 0; vi < sizeof versions / sizeof versions[0]; vi++) {
		size_t len;
		encode(&r, versions[vi], (semqr_ecc)(vi % 4), &s, payload, &len);
		semqr_image img, other;
		semqr_error err;
		assert_int_equal(semqr_render(&s, 2, 3, &img, &err), SEMQR_OK);
		to_16_bits(&img, &other);
		expect_decode(&other, &s, payload, len, "16 bits");
		semqr_image_free(&other);
		semqr_image_free(&img);

		assert_int_equal(semqr_render(&s, 3, 1, &img, &err), SEMQR_OK);
		for (size_t k = 0; k < sizeof factors / sizeof factors[0]; k++) {
			resample(&img, factors[k], &other);
			char what[64];
			snprintf(what, sizeof what, "%.2f pixels per module", factors[k]);
			expect_decode(&other, &s, payload, len, what);
			semqr_image_free(&other);
		}
		semqr_image_free(&img);
	}
}

static void test_png_files(void **state)
{
	test_rng r;
	test_rng_seed(&r, 0xf11e);
	static uint8_t payload[SEMQR_CODEWORDS_MAX];
	static semqr_symbol s;
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	char path[512];
	snprintf(path, sizeof path, "%s/pure.png", SEMQR_TEST_TMP);
	for (size_t vi = 0; vi < sizeof versions / sizeof versions[0]; vi++)
		for (int bits = 8; bits <= 16; bits += 8) {
			size_t len;
			encode(&r, versions[vi], SEMQR_ECC_M, &s, payload, &len);
			semqr_image img, back;
			semqr_error err;
			assert_int_equal(semqr_render(&s, 4, 2, &img, &err), SEMQR_OK);
			if (bits == 16) {
				semqr_image wide;
				to_16_bits(&img, &wide);
				semqr_image_free(&img);
				img = wide;
			}
			assert_int_equal(semqr_image_write(path, &img, &err), SEMQR_OK);
			assert_int_equal(semqr_image_read(path, &back, &err), SEMQR_OK);
			assert_int_equal(back.bits, bits);
			expect_decode(&back, &s, payload, len, "PNG file");
			semqr_image_free(&img);
			semqr_image_free(&back);
		}
}

static void test_qrencode_files(void **state)
{
	static const struct {
		const char *file, *text;
		int version;
		semqr_ecc ecc;
	} cases[] = {
	    {"qrencode_v2_s1.png", "semqr pure decoding", 2, SEMQR_ECC_M},
	    {"qrencode_v7_s3.png", "https://example.org/semqr?test=pure&version=7", 7, SEMQR_ECC_Q},
	    {"qrencode_v3_s2_rgba.png", "0123456789012345678901234567890123456789", 3, SEMQR_ECC_H},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", SEMQR_TEST_DATA, cases[i].file);
		semqr_image img;
		semqr_decoded d;
		semqr_error err;
		if (semqr_image_read(path, &img, &err) != SEMQR_OK)
			fail_msg("%s", err.message);
		if (semqr_decode_pure(&img, NULL, &d, &err) != SEMQR_OK)
			fail_msg("%s: %s", path, err.message);
		assert_int_equal(d.version, cases[i].version);
		assert_int_equal(d.ecc, cases[i].ecc);
		assert_int_equal(d.payload_len, strlen(cases[i].text));
		assert_memory_equal(d.payload, cases[i].text, d.payload_len);
		semqr_decoded_free(&d);
		semqr_image_free(&img);
	}
}

static void expect_failure(const semqr_image *img, const char *what)
{
	semqr_decoded d;
	semqr_error err;
	assert_int_equal(semqr_decode_pure(img, NULL, &d, &err), SEMQR_ERR_DECODE);
	assert_int_equal(err.code, SEMQR_ERR_DECODE);
	if (!strstr(err.message, what))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, what);
	assert_null(d.payload);
}

static void test_failures(void **state)
{
	semqr_image img;
	semqr_error err;
	assert_int_equal(semqr_image_alloc(&img, 40, 30, 8, &err), SEMQR_OK);
	memset(img.pixels, 255, 40 * 30);
	expect_failure(&img, "no dark modules found");

	/* A dark rectangle has no finder pattern. */
	for (int y = 5; y < 20; y++)
		for (int x = 5; x < 30; x++)
			semqr__set_pixel(&img, x, y, 0);
	expect_failure(&img, "no finder pattern");
	semqr_image_free(&img);

	/* A valid symbol with a dark speck two modules to its right. */
	test_rng r;
	test_rng_seed(&r, 1);
	static uint8_t payload[SEMQR_CODEWORDS_MAX];
	static semqr_symbol s;
	size_t len;
	encode(&r, 2, SEMQR_ECC_L, &s, payload, &len);
	assert_int_equal(semqr_render(&s, 4, 2, &img, &err), SEMQR_OK);
	semqr__set_pixel(&img, img.width - 3, img.height / 2, 0);
	expect_failure(&img, "not square");
	semqr_image_free(&img);

	assert_int_equal(semqr_decode_pure(NULL, NULL, &(semqr_decoded){0}, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
}

/* Images of random dark rectangles, some over a rendered symbol: decoding
 * fails cleanly or succeeds, never reads out of bounds. RANDOM_TRIALS images. */
#define RANDOM_TRIALS 300

static void test_random_images(void **state)
{
	test_rng r;
	test_rng_seed(&r, 77);
	static uint8_t payload[SEMQR_CODEWORDS_MAX];
	static semqr_symbol s;
	size_t len;
	encode(&r, 1, SEMQR_ECC_L, &s, payload, &len);
	for (int t = 0; t < RANDOM_TRIALS; t++) {
		semqr_image img;
		semqr_error err;
		if (t % 2) {
			assert_int_equal(semqr_render(&s, (int)test_rng_below(&r, 3),
			                              1 + (int)test_rng_below(&r, 3), &img, &err),
			                 SEMQR_OK);
		} else {
			int w = 1 + (int)test_rng_below(&r, 80), h = 1 + (int)test_rng_below(&r, 80);
			assert_int_equal(semqr_image_alloc(&img, w, h, t % 4 ? 8 : 16, &err),
			                 SEMQR_OK);
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
					semqr__set_pixel(&img, x, y, t % 4 ? 255 : 65535);
		}
		int rects = (int)test_rng_below(&r, 6);
		for (int k = 0; k < rects; k++) {
			int x0 = (int)test_rng_below(&r, (uint32_t)img.width),
			    y0 = (int)test_rng_below(&r, (uint32_t)img.height);
			int x1 = x0 + (int)test_rng_below(&r, 20), y1 = y0 + (int)test_rng_below(&r, 20);
			uint32_t v = test_rng_below(&r, img.bits == 16 ? 65536 : 256);
			for (int y = y0; y <= y1 && y < img.height; y++)
				for (int x = x0; x <= x1 && x < img.width; x++)
					semqr__set_pixel(&img, x, y, v);
		}
		semqr_decoded d;
		semqr_status st = semqr_decode_pure(&img, NULL, &d, &err);
		if (st == SEMQR_OK)
			semqr_decoded_free(&d);
		else
			assert_int_equal(st, SEMQR_ERR_DECODE);
		semqr_image_free(&img);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scales),    cmocka_unit_test(test_16_bits_and_fractional_scales),
	    cmocka_unit_test(test_png_files), cmocka_unit_test(test_qrencode_files),
	    cmocka_unit_test(test_failures),  cmocka_unit_test(test_random_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
