/* The simulator's scene:
 * - payloads: templates with every field and literal braces, random bytes
 *   (seeded, of the asked length), consecutive chunks of a file wrapping at
 *   its end; each symbol's modules decode (semqr_decode_matrix) to its payload;
 * - layout: grid sizes, filling an image, no symbol at all;
 * - damage: flipped modules are corrected as errors; a patch of missing
 *   modules defeats errors-only decoding and decodes with erasures;
 * - polarity: milled modules darker or brighter than the film in the image;
 * - texture: a real SEM image modulates the film as the options say;
 * - bad options fail naming the option, and an over-long payload names its
 *   symbol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "semqr/semqr.h"
#include "semqr/sim.h"
#include "sim/sim_internal.h"
#include "support/run.h"

#define TMP SEMQR_TEST_TMP

/* Symbol (row, col) of the options, made as the renderer makes it. */
typedef struct made {
	semqr__sim sim;
	sim_symbol *s;
	semqr_symbol *scratch;
} made;

static void make(const semqr_sim_options *o, int row, int col, made *m)
{
	semqr_error err = {0};
	if (semqr__sim_prepare(o, &m->sim, &err) != SEMQR_OK)
		fail_msg("prepare: %s", err.message);
	m->s = calloc(1, sizeof *m->s);
	m->scratch = malloc(sizeof *m->scratch);
	assert_true(m->s && m->scratch);
	if (semqr__sim_symbol_make(&m->sim, row, col, m->s, m->scratch, &err) != SEMQR_OK)
		fail_msg("symbol: %s", err.message);
}

static void unmake(made *m)
{
	semqr__sim_symbol_free(m->s);
	free(m->s);
	free(m->scratch);
	semqr__sim_release(&m->sim);
}

/* The symbol as a reader would see it: milled = dark, missing = unknown. */
static semqr_status decode_cells(const made *m, bool erasures, semqr_decoded *d)
{
	int n = m->s->size * m->s->size;
	float *dark = malloc((size_t)n * sizeof *dark);
	assert_non_null(dark);
	for (int i = 0; i < n; i++) {
		unsigned w = m->s->cell[i];
		dark[i] = w & SIM_CELL_MISSING ? 0.5f : w & SIM_CELL_MILLED ? 1.0f : 0.0f;
	}
	semqr_decode_options o;
	semqr_decode_options_init(&o);
	o.use_erasures = erasures;
	o.use_padding = false; /* the erasures' own effect */
	semqr_soft_matrix sm = {m->s->size, dark};
	semqr_error err;
	semqr_status st = semqr_decode_matrix(&sm, &o, d, &err);
	free(dark);
	return st;
}

static void assert_decodes_to(const made *m, const void *payload, size_t len)
{
	semqr_decoded d;
	assert_int_equal(decode_cells(m, true, &d), SEMQR_OK);
	assert_int_equal(d.payload_len, len);
	assert_memory_equal(d.payload, payload, len);
	assert_int_equal(d.version, m->sim.o.version);
	semqr_decoded_free(&d);
}

/* ---- payloads ------------------------------------------------------------- */

static void template_payloads(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = 3;
	o.cols = 5;
	o.plate = 7;
	o.payload_template = "{{P{plate}}}-R{row}-C{col}-#{index}";
	made m;
	make(&o, 2, 4, &m);
	const char *want = "{P7}-R2-C4-#14";
	assert_int_equal(m.s->payload_len, strlen(want));
	assert_memory_equal(m.s->payload, want, strlen(want));
	assert_decodes_to(&m, want, strlen(want));
	unmake(&m);
}

static void random_payloads(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 2;
	o.payload = SEMQR_SIM_PAYLOAD_RANDOM;
	o.random_length = 20;
	made a, b, c;
	make(&o, 1, 1, &a);
	make(&o, 1, 1, &b);
	make(&o, 1, 0, &c);
	assert_int_equal(a.s->payload_len, 20);
	assert_memory_equal(a.s->payload, b.s->payload, 20);       /* seeded */
	assert_memory_not_equal(a.s->payload, c.s->payload, 20);   /* per symbol */
	assert_decodes_to(&a, a.s->payload, 20);
	unmake(&a);
	unmake(&b);
	unmake(&c);
}

static void file_chunk_payloads(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(TMP), 0);
	uint8_t data[100];
	for (int i = 0; i < 100; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	const char *path = TMP "/chunks.bin";
	assert_int_equal(test_write_file(path, data, sizeof data), 0);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = 1;
	o.cols = 4;
	o.payload = SEMQR_SIM_PAYLOAD_FILE;
	o.payload_file = path;
	o.chunk_length = 32;
	made m;
	make(&o, 0, 1, &m); /* bytes 32..63 */
	assert_int_equal(m.s->payload_len, 32);
	assert_memory_equal(m.s->payload, data + 32, 32);
	assert_decodes_to(&m, data + 32, 32);
	unmake(&m);
	make(&o, 0, 3, &m); /* bytes 96..99, then 0..27 */
	uint8_t want[32];
	memcpy(want, data + 96, 4);
	memcpy(want + 4, data, 28);
	assert_memory_equal(m.s->payload, want, 32);
	unmake(&m);
}

/* ---- layout ---------------------------------------------------------------- */

static void layouts(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	semqr_error err;
	int w, h;
	long n;
	/* Automatic pitch: (29 + 8) modules of 49 nm = 1813 nm -> 1.9 um. */
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, &n, &err), SEMQR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(w, 238); /* 1900 nm / 8 nm, rounded up */
	assert_int_equal(h, 238);
	o.rows = 3;
	o.cols = 4;
	o.pitch_um = 2.5;
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, &n, &err), SEMQR_OK);
	assert_int_equal(n, 12);
	assert_int_equal(w, 1250);
	assert_int_equal(h, 938); /* 7500 / 8 = 937.5 */
	/* Filling 2000 x 1000 pixels at 2.5 um: 16 um / 2.5 -> 6 columns, 3 rows. */
	o.rows = o.cols = 0;
	o.width = 2000;
	o.height = 1000;
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, &n, &err), SEMQR_OK);
	assert_int_equal(n, 18);
	assert_int_equal(w, 2000);
	/* Any rotation needs room for the diagonal: 37 * 49 * sqrt 2 = 2564 -> 2.6 um. */
	o.rows = o.cols = 1;
	o.width = o.height = 0;
	o.pitch_um = 0;
	o.rotation_range_deg = 180;
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, &n, &err), SEMQR_OK);
	assert_int_equal(w, 325);
	/* No symbol at all. */
	o.rows = o.cols = -1;
	o.width = o.height = 64;
	assert_int_equal(semqr_sim_geometry(&o, &w, &h, &n, &err), SEMQR_OK);
	assert_int_equal(n, 0);
}

/* ---- damage ---------------------------------------------------------------- */

static void flips_are_errors(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.flip_modules = 6;
	made m;
	make(&o, 0, 0, &m);
	assert_int_equal(m.s->nflipped, 6);
	semqr_decoded d;
	assert_int_equal(decode_cells(&m, false, &d), SEMQR_OK);
	assert_true(d.errors_total >= 1 && d.errors_total <= 6);
	assert_memory_equal(d.payload, "P1-R0-C0", 8);
	semqr_decoded_free(&d);
	unmake(&m);
}

static void missing_patch_needs_erasures(void **state)
{
	(void)state;
	/* Version 3-M: one block of 70 codewords, 26 for correction: 13 errors
	 * alone, or up to 26 erasures. A patch of 130 modules covers some 20
	 * codewords. Seeds 1..10: all must need erasures and decode with them. */
	for (uint64_t seed = 1; seed <= 10; seed++) {
		semqr_sim_options o;
		semqr_sim_options_init(&o);
		o.missing_modules = 130;
		o.seed = seed;
		made m;
		make(&o, 0, 0, &m);
		assert_int_equal(m.s->nmissing, 130);
		semqr_decoded d;
		assert_int_not_equal(decode_cells(&m, false, &d), SEMQR_OK);
		assert_int_equal(decode_cells(&m, true, &d), SEMQR_OK);
		assert_true(d.erasures_total > 0);
		assert_memory_equal(d.payload, "P1-R0-C0", 8);
		semqr_decoded_free(&d);
		unmake(&m);
	}
}

/* ---- polarity in the image -------------------------------------------------- */

typedef struct sum_sink {
	int width;
	double centre;  /* value at the top-left finder's centre */
	double corner;  /* value at pixel (2, 2): the quiet zone */
	int cx, cy;
} sum_sink;

static semqr_status probe_sink(void *user, int frame, int y0, int rows, int width,
                               const void *pixels, semqr_error *err)
{
	sum_sink *s = user;
	const uint8_t *p = pixels;
	for (int j = 0; j < rows; j++) {
		if (y0 + j == s->cy)
			s->centre = p[(size_t)j * width + s->cx];
		if (y0 + j == 2)
			s->corner = p[(size_t)j * width + 2];
	}
	return SEMQR_OK;
}

static void polarity(void **state)
{
	(void)state;
	for (int bright = 0; bright < 2; bright++) {
		semqr_sim_options o;
		semqr_sim_options_init(&o);
		o.noise = false;
		o.polarity = bright ? SEMQR_SIM_MILLED_BRIGHT : SEMQR_SIM_MILLED_DARK;
		o.drift_nm_per_min[0] = o.drift_nm_per_min[1] = 0;
		/* 238 px image, symbol of 29 * 49 / 8 = 177.6 px centred: the finder's
		 * centre (3.5 modules in) is at 119 - 88.8 + 21.4 = 51.6. */
		sum_sink s = {.cx = 51, .cy = 51};
		semqr_error err;
		assert_int_equal(semqr_sim_render(&o, probe_sink, &s, &err), SEMQR_OK);
		double film = 255 * o.film_level;
		assert_true(fabs(s.corner - film) < 1.5);
		if (bright)
			assert_true(s.centre > film * (1 + o.contrast * 0.8));
		else
			assert_true(s.centre < film * (1 - o.contrast * 0.8));
	}
}

/* ---- texture ---------------------------------------------------------------- */

typedef struct copy_sink {
	uint8_t *px;
} copy_sink;

static semqr_status copy_rows(void *user, int frame, int y0, int rows, int width,
                              const void *pixels, semqr_error *err)
{
	copy_sink *c = user;
	memcpy(c->px + (size_t)y0 * width, pixels, (size_t)rows * width);
	return SEMQR_OK;
}

/* A flat film under a real SEM image at 1:1 scale, with no probe blur and no
 * motion, shows the texture itself: film * (1 + strength (T / mean T - 1)). */
static void texture_modulates_the_film(void **state)
{
	(void)state;
	const char *path = SEMQR_SOURCE_DIR "/datasets/real-sem/kit_zeiss_merlin_SE2.tif";
	semqr_image tex = {0};
	semqr_error err;
	assert_int_equal(semqr_image_read(path, &tex, &err), SEMQR_OK);
	double mean = 0;
	for (int y = 0; y < tex.height; y++)
		for (int x = 0; x < tex.width; x++)
			mean += ((uint8_t *)tex.pixels)[(size_t)y * tex.stride + x];
	mean /= (double)tex.width * tex.height;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = -1;
	o.width = 200;
	o.height = 150;
	o.texture_path = path;
	o.texture_strength = 0.7;
	o.noise = false;
	o.psf_sigma_px = 0;
	o.halo_weight = 0;
	o.drift_nm_per_min[0] = o.drift_nm_per_min[1] = 0;
	o.vibrations = 0;
	o.line_jitter_px = 0;
	copy_sink c = {malloc(200 * 150)};
	assert_non_null(c.px);
	assert_int_equal(semqr_sim_render(&o, copy_rows, &c, &err), SEMQR_OK);
	int worst = 0;
	for (int y = 0; y < 150; y++)
		for (int x = 0; x < 200; x++) {
			double t = ((uint8_t *)tex.pixels)[(size_t)y * tex.stride + x];
			double want = 255 * o.film_level * (1 + o.texture_strength * (t / mean - 1));
			want = want > 255 ? 255 : want < 0 ? 0 : want;
			int d = abs(c.px[(size_t)y * 200 + x] - (int)floor(want + 0.5));
			worst = d > worst ? d : worst;
		}
	assert_true(worst <= 1);
	free(c.px);
	semqr_image_free(&tex);
}

/* ---- errors ---------------------------------------------------------------- */

/* The ranges the library publishes are the ones it enforces: the ends are
 * accepted, just beyond them refused; fields checked by other rules have
 * none. */
static void option_ranges_are_enforced(void **state)
{
	(void)state;
	double lo, hi;
	semqr_error err;
	assert_true(semqr_sim_option_range(offsetof(semqr_sim_options, dose), &lo, &hi));
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.dose = lo;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err), SEMQR_OK);
	o.dose = lo * 0.99;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_true(semqr_sim_option_range(offsetof(semqr_sim_options, version), &lo, &hi));
	assert_true(lo == SEMQR_VERSION_MIN && hi == SEMQR_VERSION_MAX);
	semqr_sim_options_init(&o);
	o.version = (int)hi + 1;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_false(semqr_sim_option_range(offsetof(semqr_sim_options, bits), &lo, &hi));
	assert_false(semqr_sim_option_range(offsetof(semqr_sim_options, rows), &lo, &hi));
	assert_false(semqr_sim_option_range(1, &lo, &hi));
}

static void bad_options_are_named(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_error err;
	semqr_sim_options_init(&o);
	o.bits = 12;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "bits"));
	semqr_sim_options_init(&o);
	o.dose = -1;
	assert_int_equal(semqr_sim_render(&o, probe_sink, NULL, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "dose"));
	semqr_sim_options_init(&o);
	o.rows = 0;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "rows 0 and cols 1"));
	o.cols = 0;
	assert_int_equal(semqr_sim_geometry(&o, NULL, NULL, NULL, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "width and height"));
	semqr_sim_options_init(&o);
	o.payload_template = "{nope}";
	assert_int_equal(semqr_sim_write_truth(&o, TMP "/never.json", &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "{nope}"));
	/* 60 random bytes do not fit version 3-M (42 bytes). */
	semqr_sim_options_init(&o);
	o.rows = 2;
	o.cols = 2;
	o.payload = SEMQR_SIM_PAYLOAD_RANDOM;
	o.random_length = 60;
	assert_int_equal(semqr_sim_write_truth(&o, TMP "/never.json", &err),
	                 SEMQR_ERR_DATA_TOO_LONG);
	assert_non_null(strstr(err.message, "row 0 col 0"));
	FILE *f = fopen(TMP "/never.json", "r");
	assert_null(f); /* no partial truth file is left */
}

int main(void)
{
	assert_int_equal(test_mkdir(TMP), 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(template_payloads),
		cmocka_unit_test(random_payloads),
		cmocka_unit_test(file_chunk_payloads),
		cmocka_unit_test(layouts),
		cmocka_unit_test(flips_are_errors),
		cmocka_unit_test(missing_patch_needs_erasures),
		cmocka_unit_test(polarity),
		cmocka_unit_test(texture_modulates_the_film),
		cmocka_unit_test(bad_options_are_named),
		cmocka_unit_test(option_ranges_are_enforced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
