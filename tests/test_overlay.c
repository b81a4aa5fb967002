/* The overlay picture (host/io/overlay.c).
 *
 * - Sizes: scale and picture size for scans from 1 pixel to 65536 x 65536
 *   (nothing of the scan's size is allocated).
 * - Box means: a hand-made 4 x 4 image with means worked out by hand, and
 *   seeded random 8 and 16-bit images of odd sizes against means computed
 *   here in floating point.
 * - Streaming: bands of irregular heights (1, 7, 1000 rows, overlapping or
 *   not) give the same picture and the same PNG as one whole band.
 * - Drawing, read back with libpng: outlines at the documented picture
 *   pixels (scale 1 and 4, axis-aligned and tilted), in the documented
 *   colours, nothing inside; green over red; finder crosses; clipping of
 *   huge coordinates; the 0.5/99.5 percentile stretch; partial pictures.
 * - 100 000 symbols; errors: unwritable path, bad arguments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "io/overlay.h"
#include "support/run.h"
#include "support/testutil.h"

static const uint8_t GREEN[3] = {SEMQR__OVERLAY_DECODED_RGB};
static const uint8_t RED[3] = {SEMQR__OVERLAY_FAILED_RGB};
static const uint8_t YELLOW[3] = {SEMQR__OVERLAY_FINDER_RGB};

static const char *tmp_path(const char *name)
{
	static char paths[8][512];
	static int k;
	char *p = paths[k++ % 8];
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	snprintf(p, sizeof paths[0], "%s/%s", SEMQR_TEST_TMP, name);
	return p;
}

/* An RGB picture read back from a PNG with libpng. */
typedef struct rgb_picture {
	int width, height;
	uint8_t *rgb;
} rgb_picture;

static void read_rgb(const char *path, rgb_picture *pic)
{
	png_image image;
	memset(&image, 0, sizeof image);
	image.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_file(&image, path));
	/* the file itself is 8-bit colour without alpha */
	assert_true(image.format & PNG_FORMAT_FLAG_COLOR);
	assert_false(image.format & PNG_FORMAT_FLAG_ALPHA);
	assert_false(image.format & PNG_FORMAT_FLAG_LINEAR);
	image.format = PNG_FORMAT_RGB;
	pic->width = (int)image.width;
	pic->height = (int)image.height;
	pic->rgb = malloc(PNG_IMAGE_SIZE(image));
	assert_non_null(pic->rgb);
	assert_true(png_image_finish_read(&image, NULL, pic->rgb, 0, NULL));
}

static const uint8_t *at(const rgb_picture *pic, int x, int y)
{
	assert_true(x >= 0 && y >= 0 && x < pic->width && y < pic->height);
	return pic->rgb + ((size_t)y * (size_t)pic->width + (size_t)x) * 3;
}

static int is_colour(const rgb_picture *pic, int x, int y, const uint8_t c[3])
{
	return memcmp(at(pic, x, y), c, 3) == 0;
}

static int is_grey(const rgb_picture *pic, int x, int y)
{
	const uint8_t *p = at(pic, x, y);
	return p[0] == p[1] && p[1] == p[2];
}

static semqr__overlay *create(int w, int h, int max_side)
{
	semqr_error err;
	semqr__overlay *ov = semqr__overlay_create(w, h, max_side, &err);
	assert_non_null(ov);
	assert_int_equal(err.code, SEMQR_OK);
	return ov;
}

static uint16_t grey_at(const semqr__overlay *ov, int x, int y)
{
	const semqr_image *g = semqr__overlay_grey(ov);
	assert_int_equal(g->bits, 16);
	return ((const uint16_t *)g->pixels)[(size_t)y * g->stride + (size_t)x];
}

/* ---- sizes ------------------------------------------------------------------ */

static void check_size(int w, int h, int max_side, int scale, int pw, int ph)
{
	semqr__overlay *ov = create(w, h, max_side);
	int gw, gh;
	semqr__overlay_picture_size(ov, &gw, &gh);
	assert_int_equal(semqr__overlay_scale(ov), scale);
	assert_int_equal(gw, pw);
	assert_int_equal(gh, ph);
	assert_int_equal(semqr__overlay_grey(ov)->width, pw);
	assert_int_equal(semqr__overlay_grey(ov)->height, ph);
	semqr__overlay_free(ov);
}

static void test_sizes(void **state)
{
	(void)state;
	check_size(65536, 65536, 2048, 32, 2048, 2048);
	check_size(65537, 1000, 2048, 33, 1986, 31); /* ceil(65537/2048) = 33 */
	check_size(1000, 65536, 2048, 32, 32, 2048);
	check_size(4096, 4096, 2048, 2, 2048, 2048);
	check_size(4097, 10, 2048, 3, 1366, 4);
	check_size(1000, 500, 2048, 1, 1000, 500); /* never upscaled */
	check_size(2048, 1, 2048, 1, 2048, 1);
	check_size(1, 1, 1, 1, 1, 1);
	check_size(SEMQR_IMAGE_DIM_MAX, SEMQR_IMAGE_DIM_MAX, 1, SEMQR_IMAGE_DIM_MAX, 1, 1);
}

/* ---- box means ---------------------------------------------------------------- */

static void test_box_mean_by_hand(void **state)
{
	(void)state;
	/* 4 x 4 at max_side 2: scale 2, four 2 x 2 boxes */
	static const uint8_t px[16] = {
	    0,   10,  200, 201, /* */
	    20,  31,  202, 203, /* */
	    255, 255, 1,   0,   /* */
	    255, 254, 0,   0,
	};
	semqr__overlay *ov = create(4, 4, 2);
	semqr_error err;
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 4, px, 8, 4, &err), SEMQR_OK);
	/* means x 257, rounded: 15.25 -> 3919.25; 201.5 -> 51785.5 (half up);
	 * 254.75 -> 65470.75; 0.25 -> 64.25 */
	assert_int_equal(grey_at(ov, 0, 0), 3919);
	assert_int_equal(grey_at(ov, 1, 0), 51786);
	assert_int_equal(grey_at(ov, 0, 1), 65471);
	assert_int_equal(grey_at(ov, 1, 1), 64);
	semqr__overlay_free(ov);

	/* 5 x 3 at max_side 2: scale 3, boxes 3x3 and 2x3 (cut at the edge) */
	static const uint16_t px16[15] = {
	    1000, 2000, 3000, 60000, 60001, /* */
	    0,    0,    0,    65535, 65535, /* */
	    9,    9,    9,    1,     0,
	};
	ov = create(5, 3, 2);
	assert_int_equal(semqr__overlay_scale(ov), 3);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 3, px16, 16, 5, &err), SEMQR_OK);
	assert_int_equal(grey_at(ov, 0, 0), 670);   /* 6027 / 9 = 669.67 */
	assert_int_equal(grey_at(ov, 1, 0), 41845); /* 251072 / 6 = 41845.33 */
	semqr__overlay_free(ov);
}

/* Box means of a w x h image at the given scale, computed in doubles. */
static double ref_mean(const void *px, int bits, int w, int h, int scale, int bx, int by)
{
	double sum = 0.0;
	int n = 0;
	for (int y = by * scale; y < (by + 1) * scale && y < h; y++)
		for (int x = bx * scale; x < (bx + 1) * scale && x < w; x++, n++)
			sum += bits == 8 ? ((const uint8_t *)px)[(size_t)y * w + x] * 257.0
			                 : ((const uint16_t *)px)[(size_t)y * w + x];
	return sum / n;
}

static void *random_image(test_rng *r, int w, int h, int bits)
{
	size_t n = (size_t)w * (size_t)h;
	void *px = malloc(n * (size_t)(bits / 8));
	assert_non_null(px);
	for (size_t i = 0; i < n; i++) {
		if (bits == 8)
			((uint8_t *)px)[i] = (uint8_t)test_rng_u32(r);
		else
			((uint16_t *)px)[i] = (uint16_t)test_rng_u32(r);
	}
	return px;
}

static void test_box_mean_random(void **state)
{
	(void)state;
	/* 2 depths x 3 sizes; every box checked */
	static const int sizes[3][3] = {{97, 61, 10}, {50, 333, 7}, {31, 29, 31}};
	test_rng r;
	test_rng_seed(&r, 0x0e71a9);
	for (int bits = 8; bits <= 16; bits += 8)
		for (int s = 0; s < 3; s++) {
			int w = sizes[s][0], h = sizes[s][1];
			void *px = random_image(&r, w, h, bits);
			semqr__overlay *ov = create(w, h, sizes[s][2]);
			int scale = semqr__overlay_scale(ov), pw, ph;
			semqr__overlay_picture_size(ov, &pw, &ph);
			assert_int_equal(pw, (w + scale - 1) / scale);
			assert_int_equal(ph, (h + scale - 1) / scale);
			assert_true(pw <= sizes[s][2] && ph <= sizes[s][2]);
			semqr_error err;
			assert_int_equal(
			    semqr__overlay_add_rows(ov, 0, h, px, bits, (size_t)w, &err), SEMQR_OK);
			for (int by = 0; by < ph; by++)
				for (int bx = 0; bx < pw; bx++) {
					double m = ref_mean(px, bits, w, h, scale, bx, by);
					assert_true(fabs(grey_at(ov, bx, by) - m) <= 0.5);
				}
			semqr__overlay_free(ov);
			free(px);
		}
}

/* ---- streaming ------------------------------------------------------------------ */

static int files_equal(const char *a, const char *b)
{
	uint8_t *da = NULL, *db = NULL;
	size_t na = 0, nb = 0;
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	assert_non_null(fa);
	assert_non_null(fb);
	for (FILE *f = fa; f; f = f == fa ? fb : NULL) {
		uint8_t **d = f == fa ? &da : &db;
		size_t *n = f == fa ? &na : &nb;
		fseek(f, 0, SEEK_END);
		*n = (size_t)ftell(f);
		rewind(f);
		*d = malloc(*n + 1);
		assert_int_equal(fread(*d, 1, *n, f), *n);
	}
	int same = na == nb && memcmp(da, db, na) == 0;
	fclose(fa);
	fclose(fb);
	free(da);
	free(db);
	return same;
}

/* Feeds px (w x h, stride w + 3 pixels) to ov in bands cycling through
 * heights {1, 7, 1000}; when overlap > 0, each band after the first starts
 * that many rows before the end of its predecessor. */
static void feed_bands(semqr__overlay *ov, const void *px, int bits, int w, int h, int overlap)
{
	static const int heights[3] = {1, 7, 1000};
	size_t stride = (size_t)w + 3, bytes = (size_t)bits / 8;
	semqr_error err;
	int y = 0, k = 0;
	while (y < h) {
		int y0 = y > overlap ? y - overlap : 0;
		int rows = heights[k++ % 3];
		if (y0 + rows > h)
			rows = h - y0;
		assert_int_equal(semqr__overlay_add_rows(ov, y0, rows,
		                                         (const uint8_t *)px + y0 * stride * bytes,
		                                         bits, stride, &err),
		                 SEMQR_OK);
		y = y0 + rows;
	}
}

static void test_bands(void **state)
{
	(void)state;
	/* 2 depths x 2 overlaps; 3001 rows at scale 31, so bands end inside boxes */
	int w = 200, h = 3001;
	test_rng r;
	test_rng_seed(&r, 0xba4d5);
	for (int bits = 8; bits <= 16; bits += 8) {
		size_t stride = (size_t)w + 3;
		void *px = random_image(&r, (int)stride, h, bits);
		semqr__overlay *whole = create(w, h, 97);
		assert_int_equal(semqr__overlay_scale(whole), 31);
		semqr_error err;
		assert_int_equal(semqr__overlay_add_rows(whole, 0, h, px, bits, stride, &err),
		                 SEMQR_OK);
		float corners[4][2] = {{10, 20}, {150, 30}, {140, 2000}, {5, 1900}};
		assert_int_equal(semqr__overlay_symbol(whole, corners, 1, NULL, &err), SEMQR_OK);
		const char *whole_png = tmp_path("whole.png");
		assert_int_equal(semqr__overlay_write(whole, whole_png, &err), SEMQR_OK);
		const semqr_image *gw = semqr__overlay_grey(whole);
		for (int overlap = 0; overlap <= 5; overlap += 5) {
			semqr__overlay *banded = create(w, h, 97);
			feed_bands(banded, px, bits, w, h, overlap);
			const semqr_image *gb = semqr__overlay_grey(banded);
			assert_int_equal(gb->width, gw->width);
			assert_int_equal(gb->height, gw->height);
			assert_memory_equal(gb->pixels, gw->pixels,
			                    (size_t)gw->width * (size_t)gw->height * 2);
			assert_int_equal(semqr__overlay_symbol(banded, corners, 1, NULL, &err),
			                 SEMQR_OK);
			const char *banded_png = tmp_path("banded.png");
			assert_int_equal(semqr__overlay_write(banded, banded_png, &err), SEMQR_OK);
			assert_true(files_equal(whole_png, banded_png));
			semqr__overlay_free(banded);
		}
		semqr__overlay_free(whole);
		free(px);
	}
}

/* ---- drawing -------------------------------------------------------------------- */

/* A w x h 8-bit scan: left half 60, right half 120, so the stretch maps
 * them to 0 and 255 and every grey pixel is 0 or 255. */
static semqr__overlay *two_level(int w, int h, int max_side)
{
	uint8_t *px = malloc((size_t)w * (size_t)h);
	assert_non_null(px);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			px[(size_t)y * w + x] = x < w / 2 ? 60 : 120;
	semqr__overlay *ov = create(w, h, max_side);
	semqr_error err;
	assert_int_equal(semqr__overlay_add_rows(ov, 0, h, px, 8, (size_t)w, &err), SEMQR_OK);
	free(px);
	return ov;
}

static void test_outline_axis_aligned(void **state)
{
	(void)state;
	semqr__overlay *ov = two_level(200, 100, 200);
	semqr_error err;
	float corners[4][2] = {{20.3f, 10.4f}, {120.3f, 10.4f}, {120.3f, 80.4f}, {20.3f, 80.4f}};
	float finders[3][2] = {{40.2f, 30.2f}, {100.4f, 30.2f}, {40.2f, 60.2f}};
	assert_int_equal(semqr__overlay_symbol(ov, corners, 1, finders, &err), SEMQR_OK);
	const char *path = tmp_path("axis.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	assert_int_equal(pic.width, 200);
	assert_int_equal(pic.height, 100);
	/* edges at y 10.4 and 80.4: rows 10, 11 and 80, 81; at x 20.3 and
	 * 120.3: columns 20, 21 and 120, 121 */
	for (int x = 22; x <= 119; x++) {
		assert_true(is_colour(&pic, x, 10, GREEN) && is_colour(&pic, x, 11, GREEN));
		assert_true(is_colour(&pic, x, 80, GREEN) && is_colour(&pic, x, 81, GREEN));
		assert_true(is_grey(&pic, x, 9) && is_grey(&pic, x, 82));
		if (x < 38 || x > 102)
			assert_true(is_grey(&pic, x, 12) && is_grey(&pic, x, 79));
	}
	for (int y = 12; y <= 79; y++) {
		assert_true(is_colour(&pic, 20, y, GREEN) && is_colour(&pic, 21, y, GREEN));
		assert_true(is_colour(&pic, 120, y, GREEN) && is_colour(&pic, 121, y, GREEN));
		assert_true(is_grey(&pic, 19, y) && is_grey(&pic, 122, y));
		if (y < 28 || y > 62)
			assert_true(is_grey(&pic, 22, y) && is_grey(&pic, 119, y));
	}
	/* the grey is the stretched two-level scan: 60 -> 0, 120 -> 255 */
	assert_int_equal(at(&pic, 5, 50)[0], 0);
	assert_int_equal(at(&pic, 195, 50)[0], 255);
	assert_int_equal(at(&pic, 70, 45)[0], 0);
	assert_int_equal(at(&pic, 130, 45)[0], 255);
	/* finder crosses: shortest side 70 -> arms of 4 pixels */
	static const int centre[3][2] = {{40, 30}, {100, 30}, {40, 60}};
	for (int k = 0; k < 3; k++) {
		int cx = centre[k][0], cy = centre[k][1];
		for (int d = -4; d <= 4; d++) {
			assert_true(is_colour(&pic, cx + d, cy, YELLOW));
			assert_true(is_colour(&pic, cx, cy + d, YELLOW));
		}
		assert_true(is_grey(&pic, cx + 5, cy) && is_grey(&pic, cx - 5, cy));
		assert_true(is_grey(&pic, cx, cy + 5) && is_grey(&pic, cx, cy - 5));
		assert_true(is_grey(&pic, cx + 1, cy + 1) && is_grey(&pic, cx - 1, cy - 1));
	}
	/* nothing else inside */
	for (int y = 12; y <= 79; y++)
		for (int x = 22; x <= 119; x++) {
			int on_cross = 0;
			for (int k = 0; k < 3; k++)
				on_cross |= (x == centre[k][0] && abs(y - centre[k][1]) <= 4) ||
				            (y == centre[k][1] && abs(x - centre[k][0]) <= 4);
			if (!on_cross)
				assert_true(is_grey(&pic, x, y));
		}
	free(pic.rgb);
	semqr__overlay_free(ov);
}

/* Colour count of a picture, for pictures that must hold some colour. */
static size_t count_colour(const rgb_picture *pic, const uint8_t c[3])
{
	size_t n = 0;
	for (int y = 0; y < pic->height; y++)
		for (int x = 0; x < pic->width; x++)
			n += is_colour(pic, x, y, c);
	return n;
}

static void test_outline_tilted_scaled(void **state)
{
	(void)state;
	/* 800 x 400 at max_side 200: scale 4; scan x maps to (x + 0.5) / 4 - 0.5 */
	semqr__overlay *ov = two_level(800, 400, 200);
	assert_int_equal(semqr__overlay_scale(ov), 4);
	semqr_error err;
	float corners[4][2] = {
	    {201.5f, 101.5f}, {601.5f, 181.5f}, {521.5f, 341.5f}, {121.5f, 261.5f}};
	assert_int_equal(semqr__overlay_symbol(ov, corners, 0, NULL, &err), SEMQR_OK);
	const char *path = tmp_path("tilted.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	assert_int_equal(pic.width, 200);
	assert_int_equal(pic.height, 100);
	/* picture corners (50, 25), (150, 45), (130, 85), (30, 65) */
	double pc[4][2];
	for (int k = 0; k < 4; k++)
		for (int a = 0; a < 2; a++)
			pc[k][a] = (corners[k][a] + 0.5) / 4.0 - 0.5;
	assert_true(fabs(pc[0][0] - 50.0) < 1e-9 && fabs(pc[2][1] - 85.0) < 1e-9);
	/* along every edge, at every column (x-major edges) or row (y-major
	 * edges) strictly between the ends, both pixels straddling the edge */
	for (int k = 0; k < 4; k++) {
		const double *a = pc[k], *b = pc[(k + 1) % 4];
		int x_major = fabs(b[0] - a[0]) >= fabs(b[1] - a[1]);
		int i0 = (int)ceil(fmin(a[!x_major], b[!x_major]) + 1e-9);
		int i1 = (int)floor(fmax(a[!x_major], b[!x_major]) - 1e-9);
		for (int i = i0; i <= i1; i++) {
			double t = (i - a[!x_major]) / (b[!x_major] - a[!x_major]);
			double m = a[x_major] + t * (b[x_major] - a[x_major]);
			int j = (int)floor(m);
			/* near the corners the neighbouring edges pass close by */
			int clear = i >= i0 + 4 && i <= i1 - 4;
			if (x_major) {
				assert_true(is_colour(&pic, i, j, RED) &&
				            is_colour(&pic, i, j + 1, RED));
				assert_true(!clear ||
				            (is_grey(&pic, i, j - 2) && is_grey(&pic, i, j + 3)));
			} else {
				assert_true(is_colour(&pic, j, i, RED) &&
				            is_colour(&pic, j + 1, i, RED));
				assert_true(!clear ||
				            (is_grey(&pic, j - 2, i) && is_grey(&pic, j + 3, i)));
			}
		}
	}
	/* the centre (90, 55) and its surroundings are untouched */
	for (int y = 45; y <= 65; y++)
		for (int x = 70; x <= 110; x++)
			assert_true(is_grey(&pic, x, y));
	assert_int_equal(count_colour(&pic, GREEN), 0);
	free(pic.rgb);

	/* the same symbol decoded later shows green only */
	assert_int_equal(semqr__overlay_symbol(ov, corners, 1, NULL, &err), SEMQR_OK);
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	read_rgb(path, &pic);
	assert_int_equal(count_colour(&pic, RED), 0);
	assert_true(count_colour(&pic, GREEN) > 400);
	free(pic.rgb);
	semqr__overlay_free(ov);
}

static void test_clipping(void **state)
{
	(void)state;
	semqr__overlay *ov = two_level(64, 48, 64);
	semqr_error err;
	/* a band across the picture from far-off corners, and one wholly outside */
	float across[4][2] = {{-1e30f, 20.2f}, {1e30f, 20.2f}, {1e30f, 1e30f}, {-1e30f, 1e30f}};
	float outside[4][2] = {{-500, -500}, {-400, -500}, {-400, -400}, {-500, -400}};
	float far_finders[3][2] = {{-3e38f, 0}, {0, 3e38f}, {1e9f, 1e9f}};
	assert_int_equal(semqr__overlay_symbol(ov, across, 0, far_finders, &err), SEMQR_OK);
	assert_int_equal(semqr__overlay_symbol(ov, outside, 1, far_finders, &err), SEMQR_OK);
	const char *path = tmp_path("clip.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	for (int x = 0; x < 64; x++)
		assert_true(is_colour(&pic, x, 20, RED) && is_colour(&pic, x, 21, RED));
	assert_int_equal(count_colour(&pic, RED), 128);
	assert_int_equal(count_colour(&pic, GREEN), 0);
	assert_int_equal(count_colour(&pic, YELLOW), 0);
	free(pic.rgb);
	semqr__overlay_free(ov);
}

/* ---- contrast --------------------------------------------------------------------- */

static void test_stretch(void **state)
{
	(void)state;
	/* 40 x 25 = 1000 pixels at scale 1: a faint ramp 1000..1099 (16-bit)
	 * with 5 outliers (0.5 %, k = floor(1000 / 200) = 5) at 0 and 65535 */
	int w = 40, h = 25, n = w * h;
	uint16_t *px = malloc((size_t)n * 2);
	assert_non_null(px);
	for (int i = 0; i < n; i++)
		px[i] = (uint16_t)(1000 + i % 100);
	px[3] = px[500] = 0;
	px[7] = px[600] = px[999] = 65535;
	semqr__overlay *ov = create(w, h, 40);
	semqr_error err;
	assert_int_equal(semqr__overlay_add_rows(ov, 0, h, px, 16, (size_t)w, &err), SEMQR_OK);
	const char *path = tmp_path("stretch.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	/* sorted: 2 zeros, then the ramp (each value 10 times, less those
	 * replaced), 3 maxima; rank 5 is 1000, rank 994 is 1099 */
	for (int i = 0; i < n; i++) {
		const uint8_t *p = at(&pic, i % w, i / w);
		assert_true(p[0] == p[1] && p[1] == p[2]);
		if (px[i] == 0)
			assert_int_equal(p[0], 0);
		else if (px[i] == 65535)
			assert_int_equal(p[0], 255);
		else
			assert_int_equal(p[0], (int)lround((px[i] - 1000) * 255.0 / 99.0));
	}
	free(pic.rgb);
	semqr__overlay_free(ov);

	/* one value everywhere: written unstretched (8-bit 77 stays 77) */
	uint8_t flat[12];
	memset(flat, 77, sizeof flat);
	ov = create(4, 3, 4);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 3, flat, 8, 4, &err), SEMQR_OK);
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	read_rgb(path, &pic);
	for (int i = 0; i < 12; i++)
		assert_int_equal(pic.rgb[3 * i], 77);
	free(pic.rgb);
	semqr__overlay_free(ov);
	free(px);
}

static void test_partial(void **state)
{
	(void)state;
	/* 6 x 10 at scale 2 (max_side 5): rows 0..4 added; picture rows 0, 1
	 * complete, row 2 has scan row 4 only, rows 3, 4 not reached */
	uint8_t px[6 * 5];
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 6; x++)
			px[y * 6 + x] = (uint8_t)(y < 4 ? 10 + 100 * (x / 2) : 250 - 100 * (x / 2));
	semqr__overlay *ov = create(6, 10, 5);
	assert_int_equal(semqr__overlay_scale(ov), 2);
	semqr_error err;
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 5, px, 8, 6, &err), SEMQR_OK);
	assert_int_equal(grey_at(ov, 1, 1), 110 * 257);
	assert_int_equal(grey_at(ov, 1, 2), 0); /* not complete */
	const char *path = tmp_path("partial.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	assert_int_equal(pic.width, 3);
	assert_int_equal(pic.height, 5);
	/* 9 values with data: 10, 110, 210 twice, 250, 150, 50; k = 0, so
	 * lo = 10 and hi = 250 */
	static const int expect[3][3] = {{10, 110, 210}, {10, 110, 210}, {250, 150, 50}};
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 3; x++)
			assert_int_equal(at(&pic, x, y)[0],
			                 (int)lround((expect[y][x] - 10) * 255.0 / 240.0));
	for (int y = 3; y < 5; y++)
		for (int x = 0; x < 3; x++)
			assert_true(is_colour(&pic, x, y, (const uint8_t[3]){0, 0, 0}));
	free(pic.rgb);
	semqr__overlay_free(ov);
}

/* ---- many symbols ----------------------------------------------------------------- */

static void test_many_symbols(void **state)
{
	(void)state;
	/* 100 000 symbols of 20 x 20 scan pixels on a 6400 x 6400 scan, one in
	 * four failed, drawn on a 1600 x 1600 picture (scale 4) */
	semqr__overlay *ov = create(6400, 6400, 1600);
	uint8_t *row = calloc(6400, 1);
	assert_non_null(row);
	semqr_error err;
	for (int y = 0; y < 6400; y++) {
		for (int x = 0; x < 6400; x++)
			row[x] = (uint8_t)((x ^ y) & 64 ? 180 : 90);
		assert_int_equal(semqr__overlay_add_rows(ov, y, 1, row, 8, 6400, &err), SEMQR_OK);
	}
	free(row);
	for (int i = 0; i < 100000; i++) {
		float x = (float)(i % 316) * 20.0f + 2.0f, y = (float)(i / 316) * 20.0f + 2.0f;
		float corners[4][2] = {{x, y}, {x + 16, y}, {x + 16, y + 16}, {x, y + 16}};
		float finders[3][2] = {{x + 3, y + 3}, {x + 13, y + 3}, {x + 3, y + 13}};
		assert_int_equal(semqr__overlay_symbol(ov, corners, i % 4 != 0, finders, &err),
		                 SEMQR_OK);
	}
	const char *path = tmp_path("many.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	assert_int_equal(pic.width, 1600);
	/* the last symbol (i = 99999: row 316) decoded; its top edge at scan y
	 * 6322 is picture y (6322.5 / 4 - 0.5) = 1580.125: rows 1580, 1581; at
	 * its middle (scan x + 8) no finder cross reaches row 1580 */
	int x = (int)lround(((99999 % 316) * 20 + 2 + 8 + 0.5) / 4 - 0.5);
	assert_int_equal(99999 / 316, 316);
	assert_true(is_colour(&pic, x, 1580, GREEN));
	/* the first (i = 0) failed */
	assert_true(is_colour(&pic, 2, 0, RED));
	free(pic.rgb);
	semqr__overlay_free(ov);
}

/* ---- errors -------------------------------------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	semqr_error err;
	assert_null(semqr__overlay_create(0, 10, 100, &err));
	assert_int_equal(err.code, SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "0x10"));
	assert_null(semqr__overlay_create(10, SEMQR_IMAGE_DIM_MAX + 1, 100, &err));
	assert_int_equal(err.code, SEMQR_ERR_INVALID_ARGUMENT);
	assert_null(semqr__overlay_create(10, 10, 0, &err));
	assert_int_equal(err.code, SEMQR_ERR_INVALID_ARGUMENT);
	semqr__overlay_free(NULL);

	semqr__overlay *ov = create(8, 8, 8);
	uint8_t px[8 * 8];
	memset(px, 100, sizeof px);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 2, NULL, 8, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 2, px, 12, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "12 bits"));
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 2, px, 8, 7, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 0, px, 8, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_add_rows(ov, -1, 2, px, 8, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_add_rows(ov, 7, 2, px, 8, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_add_rows(ov, 0, 4, px, 8, 8, &err), SEMQR_OK);
	/* a gap: rows 4..5 never added */
	assert_int_equal(semqr__overlay_add_rows(ov, 6, 2, px, 8, 8, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "skips rows 4..5"));
	/* nothing was added by the failures: the rest still completes the picture */
	assert_int_equal(semqr__overlay_add_rows(ov, 4, 4, px, 8, 8, &err), SEMQR_OK);
	assert_int_equal(grey_at(ov, 7, 7), 100 * 257);

	float corners[4][2] = {{1, 1}, {5, 1}, {5, 5}, {1, 5}};
	float finders[3][2] = {{2, 2}, {4, 2}, {2, NAN}};
	assert_int_equal(semqr__overlay_symbol(ov, NULL, 1, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__overlay_symbol(ov, corners, 1, finders, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "finder pattern 2"));
	corners[2][0] = INFINITY;
	assert_int_equal(semqr__overlay_symbol(ov, corners, 1, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "corner 2"));

	assert_int_equal(semqr__overlay_write(ov, NULL, &err), SEMQR_ERR_INVALID_ARGUMENT);
	const char *bad = tmp_path("no-such-dir/overlay.png");
	assert_int_equal(semqr__overlay_write(ov, bad, &err), SEMQR_ERR_IO);
	assert_non_null(strstr(err.message, bad));
	assert_int_equal(access(bad, F_OK), -1);
	/* a directory in the way */
	const char *dir = tmp_path("");
	assert_int_equal(semqr__overlay_write(ov, dir, &err), SEMQR_ERR_IO);
	/* the failed symbols were not recorded: the picture is plain grey */
	const char *path = tmp_path("errors.png");
	assert_int_equal(semqr__overlay_write(ov, path, &err), SEMQR_OK);
	rgb_picture pic;
	read_rgb(path, &pic);
	for (int i = 0; i < 64; i++)
		assert_true(is_grey(&pic, i % 8, i / 8));
	free(pic.rgb);
	semqr__overlay_free(ov);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_box_mean_by_hand),
	    cmocka_unit_test(test_box_mean_random),
	    cmocka_unit_test(test_bands),
	    cmocka_unit_test(test_outline_axis_aligned),
	    cmocka_unit_test(test_outline_tilted_scaled),
	    cmocka_unit_test(test_clipping),
	    cmocka_unit_test(test_stretch),
	    cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_many_symbols),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
