/* The simulator's output:
 * - determinism: the same options give the same samples whatever the strip
 *   height and thread count, and semqr_simulate writes byte-identical TIFF
 *   and JSON files on two runs; another seed gives other samples; the CLI
 *   writes the same files as the library call for the same options;
 * - metadata read back with libtiff: FEI tag 34682 and Zeiss tag 34118 text,
 *   resolution, tiles, Deflate, 16 bits, one page per frame, the data bar
 *   rows, BigTIFF when forced; the pixels of a tiled, compressed page equal
 *   the rendered ones; the project's scan reader (semqr_scan_open) reports
 *   the same pixel size, image height, pages and samples;
 * - ground truth: the corners in the JSON put the three finder patterns of a
 *   rotated, drifting symbol where the image shows them (dark core, light
 *   ring, dark outer ring, light quiet zone);
 * - an independent reader: a clean symbol at 8 pixels per module, written as
 *   PNG, decodes with zbarimg to its payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <tiffio.h>

#include "semqr/scan.h"
#include "semqr/semqr.h"
#include "semqr/sim.h"
#include "sim/sim_internal.h"
#include "support/run.h"

#define TMP SEMQR_TEST_TMP

/* ---- rendering into memory ---------------------------------------------- */

typedef struct capture {
	int width, height, frames;
	size_t bytes_per_px;
	uint8_t *px; /* frames x height x width samples */
} capture;

static semqr_status capture_sink(void *user, int frame, int y0, int rows, int width,
                                 const void *pixels, semqr_error *err)
{
	capture *c = user;
	size_t row = (size_t)width * c->bytes_per_px;
	memcpy(c->px + ((size_t)frame * c->height + y0) * row, pixels, rows * row);
	return SEMQR_OK;
}

static void render(const semqr_sim_options *o, capture *c)
{
	semqr_error err = {0};
	assert_int_equal(semqr_sim_geometry(o, &c->width, &c->height, NULL, &err), SEMQR_OK);
	c->frames = o->frames;
	c->bytes_per_px = (size_t)o->bits / 8;
	c->px = malloc((size_t)c->frames * c->height * c->width * c->bytes_per_px);
	assert_non_null(c->px);
	if (semqr_sim_render(o, capture_sink, c, &err) != SEMQR_OK)
		fail_msg("render: %s", err.message);
}

static size_t capture_size(const capture *c)
{
	return (size_t)c->frames * c->height * c->width * c->bytes_per_px;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *d = malloc((size_t)n + 1);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	d[n] = 0;
	*len = (size_t)n;
	return d;
}

/* A busy scene: a 2 x 2 grid at random angles, damage, jumps, vibration,
 * two frames. */
static void busy_options(semqr_sim_options *o)
{
	semqr_sim_options_init(o);
	o->rows = o->cols = 2;
	o->rotation_range_deg = 180;
	o->jitter_nm = 100;
	o->flip_modules = 3;
	o->missing_modules = 10;
	o->particles = 2;
	o->scratches = 1;
	o->jumps_per_frame = 2;
	o->frames = 2;
	o->drift_nm_per_min[0] = 500;
	o->astig_ratio = 1.3;
	o->astig_angle_deg = 30;
	o->distortion = 0.002;
	o->line_start_px = 1;
	o->seed = 99;
}

/* ---- determinism ---------------------------------------------------------- */

static void same_options_same_samples(void **state)
{
	(void)state;
	semqr_sim_options o;
	busy_options(&o);
	capture a = {0}, b = {0}, c = {0}, d = {0};
	o.threads = 1;
	o.strip_rows = 7;
	render(&o, &a);
	o.threads = 2;
	o.strip_rows = 0;
	render(&o, &b);
	o.threads = 3;
	o.strip_rows = 64;
	render(&o, &c);
	assert_memory_equal(a.px, b.px, capture_size(&a));
	assert_memory_equal(a.px, c.px, capture_size(&a));
	/* The seed matters: most samples differ under another one. */
	o.seed = 100;
	render(&o, &d);
	size_t differ = 0, n = capture_size(&a);
	for (size_t i = 0; i < n; i++)
		differ += a.px[i] != d.px[i];
	assert_true(differ > n / 2);
	/* The frames of a stack differ too (own noise, own drift). */
	size_t frame = n / 2, fdiff = 0;
	for (size_t i = 0; i < frame; i++)
		fdiff += a.px[i] != a.px[frame + i];
	assert_true(fdiff > frame / 2);
	free(a.px);
	free(b.px);
	free(c.px);
	free(d.px);
}

static void same_options_same_files(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	semqr_sim_options o;
	busy_options(&o);
	o.compression = SEMQR_SIM_COMPRESS_LZW;
	semqr_error err = {0};
	const char *t[2] = {TMP "/det1.tif", TMP "/det2.tif"};
	const char *j[2] = {TMP "/det1.json", TMP "/det2.json"};
	for (int k = 0; k < 2; k++)
		if (semqr_simulate(&o, t[k], j[k], &err) != SEMQR_OK)
			fail_msg("simulate: %s", err.message);
	size_t n1, n2;
	uint8_t *a = read_file(t[0], &n1), *b = read_file(t[1], &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
	a = read_file(j[0], &n1);
	b = read_file(j[1], &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
}

/* The CLI maps its options onto the same library call: its files equal
 * semqr_simulate's for the same options. */
static void cli_writes_what_the_library_writes(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = test_run(SEMQR_CLI " simulate -o " TMP "/cli.tif --grid 2x3 --seed 12 "
	                  "--level Q --polarity bright --drift 50,-30 --dose 70 --rotation 4 "
	                  "--template 'C{col}R{row}' --bits 16 --compression lzw --zeiss", &out,
	                  &len);
	free(out);
	assert_int_equal(rc, 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = 2;
	o.cols = 3;
	o.seed = 12;
	o.ecc = SEMQR_ECC_Q;
	o.polarity = SEMQR_SIM_MILLED_BRIGHT;
	o.drift_nm_per_min[0] = 50;
	o.drift_nm_per_min[1] = -30;
	o.dose = 70;
	o.rotation_deg = 4;
	o.payload_template = "C{col}R{row}";
	o.bits = 16;
	o.compression = SEMQR_SIM_COMPRESS_LZW;
	o.zeiss_metadata = true;
	semqr_error err;
	if (semqr_simulate(&o, TMP "/lib.tif", TMP "/lib.json", &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	size_t n1, n2;
	uint8_t *a = read_file(TMP "/cli.tif", &n1), *b = read_file(TMP "/lib.tif", &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
	a = read_file(TMP "/cli.json", &n1);
	b = read_file(TMP "/lib.json", &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
	/* Usage errors exit 2. */
	rc = test_run(SEMQR_CLI " simulate -o " TMP "/x.tif --bits 12 2>/dev/null", &out, &len);
	free(out);
	assert_int_equal(rc, 2);
	rc = test_run(SEMQR_CLI " simulate --grid 0x3 -o " TMP "/x.tif 2>/dev/null", &out, &len);
	free(out);
	assert_int_equal(rc, 2);
}

/* ---- metadata ------------------------------------------------------------- */

static void metadata_reads_back(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.bits = 16;
	o.tiled = true;
	o.tile_size = 64;
	o.compression = SEMQR_SIM_COMPRESS_DEFLATE;
	o.zeiss_metadata = true;
	o.frames = 3;
	o.databar_rows = 24;
	o.pixel_nm = 7.5;
	const char *path = TMP "/meta.tif";
	semqr_error err = {0};
	if (semqr_simulate(&o, path, NULL, &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	capture c = {0};
	render(&o, &c);

	semqr__sim_tiff_register_tags();
	TIFF *tif = TIFFOpen(path, "r");
	assert_non_null(tif);
	assert_int_equal(TIFFNumberOfDirectories(tif), 3);
	uint32_t w = 0, h = 0, tw = 0, th = 0;
	uint16_t bps = 0, comp = 0, unit = 0;
	float xres = 0;
	assert_true(TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w));
	assert_true(TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h));
	assert_true(TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bps));
	assert_true(TIFFGetField(tif, TIFFTAG_COMPRESSION, &comp));
	assert_true(TIFFIsTiled(tif));
	assert_true(TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw));
	assert_true(TIFFGetField(tif, TIFFTAG_TILELENGTH, &th));
	assert_true(TIFFGetField(tif, TIFFTAG_RESOLUTIONUNIT, &unit));
	assert_true(TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres));
	assert_int_equal(w, (uint32_t)c.width);
	assert_int_equal(h, (uint32_t)c.height + 24); /* the data bar is stored below */
	assert_int_equal(bps, 16);
	assert_int_equal(comp, COMPRESSION_ADOBE_DEFLATE);
	assert_int_equal(tw, 64);
	assert_int_equal(th, 64);
	assert_int_equal(unit, RESUNIT_CENTIMETER);
	assert_true(fabs(xres - 1e7 / 7.5) < 1);

	const char *fei = NULL, *zeiss = NULL;
	assert_true(TIFFGetField(tif, 34682, &fei));
	assert_true(TIFFGetField(tif, 34118, &zeiss));
	char want[128];
	assert_non_null(strstr(fei, "[Scan]\r\n"));
	assert_non_null(strstr(fei, "PixelWidth=7.5e-09\r\n"));
	assert_non_null(strstr(fei, "PixelHeight=7.5e-09\r\n"));
	snprintf(want, sizeof want, "ResolutionX=%d\r\nResolutionY=%d\r\n", c.width, c.height);
	assert_non_null(strstr(fei, want));
	assert_non_null(strstr(fei, "Dwelltime=1e-06\r\n"));
	assert_non_null(strstr(fei, "HV=2000\r\n"));
	assert_non_null(strstr(zeiss, "AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = 7.5 nm\r\n"));
	assert_non_null(strstr(zeiss, "AP_PIXEL_SIZE\r\nPixel Size = 7.5 nm\r\n"));

	/* Every page's image rows equal the rendered frame; the data bar has
	 * white text on black. */
	tmsize_t tsize = TIFFTileSize(tif);
	uint16_t *tile = malloc((size_t)tsize);
	assert_non_null(tile);
	for (int f = 0; f < 3; f++) {
		assert_true(TIFFSetDirectory(tif, (tdir_t)f));
		const uint16_t *frame = (const uint16_t *)c.px + (size_t)f * c.width * c.height;
		size_t mismatches = 0, white = 0;
		for (uint32_t ty = 0; ty < h; ty += th)
			for (uint32_t tx = 0; tx < w; tx += tw) {
				assert_true(TIFFReadTile(tif, tile, tx, ty, 0, 0) > 0);
				for (uint32_t y = ty; y < ty + th && y < h; y++)
					for (uint32_t x = tx; x < tx + tw && x < w; x++) {
						uint16_t v = tile[(y - ty) * tw + x - tx];
						if (y < (uint32_t)c.height)
							mismatches += v != frame[(size_t)y * c.width + x];
						else
							white += v == 65535;
					}
			}
		assert_int_equal(mismatches, 0);
		assert_true(white > 100);
	}
	free(tile);
	TIFFClose(tif);
	free(c.px);

	/* BigTIFF when forced: the header's version is 43. */
	o.bigtiff = 1;
	o.frames = 1;
	path = TMP "/big.tif";
	if (semqr_simulate(&o, path, NULL, &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	size_t n;
	uint8_t *d = read_file(path, &n);
	assert_true(n > 16 && d[0] == 'I' && d[2] == 43);
	free(d);
	tif = TIFFOpen(path, "r");
	assert_non_null(tif);
	assert_true(TIFFIsBigTIFF(tif));
	TIFFClose(tif);
}

/* The project's own scan reader finds what the simulator wrote: pixel size
 * from the FEI text (preferred to Zeiss), the image proper without the data
 * bar, pages, tiles, compression, BigTIFF; and the same samples. */
static void scan_reader_agrees(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.bits = 16;
	o.tiled = true;
	o.tile_size = 64;
	o.compression = SEMQR_SIM_COMPRESS_DEFLATE;
	o.bigtiff = 1;
	o.frames = 2;
	o.databar_rows = 32;
	o.pixel_nm = 6.5;
	const char *path = TMP "/scan.tif";
	semqr_error err = {0};
	if (semqr_simulate(&o, path, NULL, &err) != SEMQR_OK)
		fail_msg("simulate: %s", err.message);
	capture c = {0};
	render(&o, &c);
	semqr_scan *scan = NULL;
	if (semqr_scan_open(path, NULL, &scan, &err) != SEMQR_OK)
		fail_msg("scan: %s", err.message);
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	assert_int_equal(info.width, c.width);
	assert_int_equal(info.height, c.height);
	assert_int_equal(info.stored_height, c.height + 32);
	assert_int_equal(info.bits, 16);
	assert_int_equal(info.pages, 2);
	assert_true(fabs(info.pixel_nm_x - 6.5) < 1e-9 && fabs(info.pixel_nm_y - 6.5) < 1e-9);
	assert_int_equal(info.tiled, 1);
	assert_int_equal(info.bigtiff, 1);
	assert_string_equal(info.compression, "Deflate");
	uint16_t *rows = malloc((size_t)c.width * c.height * 2);
	assert_non_null(rows);
	for (int f = 0; f < 2; f++) {
		assert_int_equal(semqr_scan_read_rows(scan, f, 0, c.height, rows, (size_t)c.width, &err),
		                 SEMQR_OK);
		assert_memory_equal(rows, c.px + (size_t)f * c.width * c.height * 2,
		                    (size_t)c.width * c.height * 2);
	}
	free(rows);
	semqr_scan_close(scan);
	free(c.px);
}

/* ---- ground truth ---------------------------------------------------------- */

/* The first symbol's corners in frame `frame` from the truth JSON. */
static void truth_corners(const char *json, int frame, double corners[4][2])
{
	const char *p = strstr(json, "\"corners\": [");
	assert_non_null(p);
	p += strlen("\"corners\": [");
	for (int f = 0; f < frame; f++) {
		p = strstr(p + 1, "]], [[");
		assert_non_null(p);
		p += 3;
	}
	int n = sscanf(p, " [[%lf, %lf], [%lf, %lf], [%lf, %lf], [%lf, %lf]]", &corners[0][0],
	               &corners[0][1], &corners[1][0], &corners[1][1], &corners[2][0],
	               &corners[2][1], &corners[3][0], &corners[3][1]);
	assert_int_equal(n, 8);
}

/* Image point of module coordinates (mx, my), bilinear in the corners. */
static void module_point(double c[4][2], int size, double mx, double my, double *x, double *y)
{
	double s = mx / size, t = my / size;
	*x = (1 - s) * (1 - t) * c[0][0] + s * (1 - t) * c[1][0] + s * t * c[2][0] +
	     (1 - s) * t * c[3][0];
	*y = (1 - s) * (1 - t) * c[0][1] + s * (1 - t) * c[1][1] + s * t * c[2][1] +
	     (1 - s) * t * c[3][1];
}

static void corners_lie_on_the_finders(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.noise = false;
	o.rim = 0;
	o.rotation_deg = 23;
	o.dwell_us = 20;
	o.drift_nm_per_min[0] = 900; /* some 2 px within the frame, 2 more by frame 1 */
	o.drift_nm_per_min[1] = -600;
	o.jumps_per_frame = 1;
	o.jump_min_px = o.jump_max_px = 2;
	o.frames = 2;
	o.seed = 5;
	semqr_error err = {0};
	const char *json_path = TMP "/corners.json";
	if (semqr_sim_write_truth(&o, json_path, &err) != SEMQR_OK)
		fail_msg("truth: %s", err.message);
	size_t n;
	char *json = (char *)read_file(json_path, &n);
	capture c = {0};
	render(&o, &c);
	const int size = 29;
	/* Finder rings by module offset from its top-left: 0.5 dark (outer ring),
	 * 1.5 light, 3.5 dark (core); -0.5 is the light quiet zone. */
	static const double along[] = {-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5};
	static const int dark[] = {0, 1, 0, 1, 1, 1, 0, 1, 0};
	const double origin[3][2] = {{0, 0}, {size - 7, 0}, {0, size - 7}};
	double mid = 255 * o.film_level * (1 - o.contrast / 2);
	int checked = 0;
	for (int f = 0; f < 2; f++) {
		double corners[4][2];
		truth_corners(json, f, corners);
		const uint8_t *img = c.px + (size_t)f * c.width * c.height;
		for (int k = 0; k < 3; k++)
			for (size_t a = 0; a < sizeof along / sizeof along[0]; a++)
				for (int dir = 0; dir < 2; dir++) {
					/* Across the finder through its centre, along x then y. */
					double mx = origin[k][0] + (dir ? 3.5 : along[a]);
					double my = origin[k][1] + (dir ? along[a] : 3.5);
					double x, y;
					module_point(corners, size, mx, my, &x, &y);
					int v = img[(size_t)floor(y) * c.width + (size_t)floor(x)];
					if (dark[a] ? v >= mid : v <= mid)
						fail_msg("frame %d finder %d module (%.1f, %.1f) at (%.1f, %.1f): "
						         "%d should be %s", f, k, mx, my, x, y, v,
						         dark[a] ? "dark" : "light");
					checked++;
				}
	}
	assert_int_equal(checked, 2 * 3 * 9 * 2);
	/* The drift moved the symbol between frames by what the options say (up
	 * to the jumps): the JSON must not repeat frame 0. */
	double c0[4][2], c1[4][2];
	truth_corners(json, 0, c0);
	truth_corners(json, 1, c1);
	assert_true(fabs(c1[0][0] - c0[0][0]) > 1);
	free(json);
	free(c.px);
}

/* ---- an independent reader ------------------------------------------------- */

static void zbar_reads_a_clean_symbol(void **state)
{
	(void)state;
	if (!test_have_program("zbarimg"))
		skip();
	assert_int_equal(test_mkdir(TMP), 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.noise = false;
	o.pixel_nm = o.module_nm / 8; /* 8 pixels per module */
	o.payload_template = "SEM {plate}/{row}/{col}";
	o.plate = 42;
	capture c = {0};
	render(&o, &c);
	semqr_image img = {0};
	semqr_error err = {0};
	assert_int_equal(semqr_image_alloc(&img, c.width, c.height, 8, &err), SEMQR_OK);
	memcpy(img.pixels, c.px, (size_t)c.width * c.height);
	const char *png = TMP "/clean.png";
	assert_int_equal(semqr_image_write(png, &img, &err), SEMQR_OK);
	semqr_image_free(&img);
	free(c.px);
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = test_run("zbarimg -q --raw " TMP "/clean.png 2>/dev/null", &out, &len);
	assert_int_equal(rc, 0);
	assert_non_null(strstr((const char *)out, "SEM 42/0/0"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_options_same_samples),
		cmocka_unit_test(same_options_same_files),
		cmocka_unit_test(cli_writes_what_the_library_writes),
		cmocka_unit_test(metadata_reads_back),
		cmocka_unit_test(scan_reader_agrees),
		cmocka_unit_test(corners_lie_on_the_finders),
		cmocka_unit_test(zbar_reads_a_clean_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
