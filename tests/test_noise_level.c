/* The noise estimate of a scan (host/pipeline/noise_level.c) and the limits
 * of the denoiser's sigma rule for a known module pitch
 * (semqr__denoise_sigma_pitch, host/pipeline/stage_denoise.c).
 *
 * - Simulated plates (1024 x 1024, default physics but the dose) of known
 *   dose, 8-bit (read noise 1 grey level, the default) and 16-bit (no read
 *   noise), read through the scan reader as the decoder reads them: the
 *   detected quanta per pixel at the film's level must be within 6 % of
 *   what the simulator's noise makes them, film^2 / var with var =
 *   film^2 / dose + (read noise^2 + 1/12) / maxval^2 (shot noise, read
 *   noise and rounding; the dose itself when read noise and rounding are
 *   negligible), from 5 to 10000 quanta. An 8-frame stack read as the mean
 *   of its pages has 8 times the dose of a frame.
 * - A flat image with Gaussian noise of known spread (no slope to fit): the
 *   standard deviation within 3 %, the black level taken as 0.
 * - A ramp of levels with a black level of 0.05: the fitted noise-level
 *   function recovers it.
 * - The sigma rule: 0.24 module, never more than a third of a module (the
 *   rule for searched module sizes) nor than the stage's largest radius
 *   allows, growing with the module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/noise_level.h"
#include "pipeline/stages.h"
#include "semqr/decode.h"
#include "semqr/scan.h"
#include "semqr/sim.h"
#include "support/run.h"
#include "support/testutil.h"

enum { SIDE = 1024 };

/* A standard normal deviate (Box-Muller) from r. */
static double normal(test_rng *r)
{
	double u = (test_rng_u32(r) + 1.0) / 4294967297.0, v = test_rng_u32(r) / 4294967296.0;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Renders a SIDE x SIDE plate at `dose` into the test's scratch directory
 * and measures its noise through the scan reader (the mean of the pages for
 * a stack). */
static void measure_plate(double dose, int bits, double read_noise, int frames, uint64_t seed,
                          semqr__noise_level *n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/plate-d%g-b%d-f%d.tif", SEMQR_TEST_TMP, dose, bits, frames);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 0;
	o.width = o.height = SIDE;
	o.dose = dose;
	o.bits = bits;
	o.read_noise_dn = read_noise;
	o.frames = frames;
	o.seed = seed;
	semqr_error err;
	semqr_scan *scan = NULL;
	semqr_status st = semqr_simulate(&o, path, NULL, &err);
	if (st == SEMQR_OK)
		st = semqr_scan_open(path, NULL, &scan, &err);
	if (st == SEMQR_OK)
		st = semqr__noise_measure(scan, SEMQR_SCAN_MEAN, n, &err);
	if (st != SEMQR_OK)
		fail_msg("%s", err.message);
	semqr_scan_close(scan);
	remove(path);
}

/* The quanta per pixel the simulator's noise amounts to at the film's level
 * (film 0.5 full scale, gain 1, offset 0): film^2 over the variance of shot
 * noise (film^2 / dose), read noise and rounding, for `frames` frames
 * averaged (their mean rounded again). */
static double expected_quanta(double dose, int bits, double read_noise, int frames)
{
	double film = 0.5, maxval = bits == 8 ? 255.0 : 65535.0;
	double frame_var = film * film / dose + read_noise * read_noise / (255.0 * 255.0) +
	                   1.0 / 12.0 / (maxval * maxval);
	return film * film / (frame_var / frames + 1.0 / 12.0 / (maxval * maxval));
}

static void check_plate(double dose, int bits, double read_noise, int frames)
{
	semqr__noise_level n;
	measure_plate(dose, bits, read_noise, frames, 11, &n);
	double want = expected_quanta(dose, bits, read_noise, frames);
	double got = semqr__noise_quanta_at(&n, 0.5);
	printf("dose %g x %d frames, %d bits: %.1f quanta at the film (expected %.1f), "
	       "sd %.5f at level %.4f, %ld samples, fitted %d\n",
	       dose, frames, bits, got, want, n.sd, n.level, n.samples, n.fitted);
	assert_true(n.samples >= 100000);
	assert_true(fabs(got / want - 1.0) < 0.06);
	/* The summary's quanta are at the median level, near the film's. */
	assert_true(fabs(n.level - 0.5) < 0.05);
	assert_true(fabs(n.quanta / (n.level / 0.5 * want) - 1.0) < 0.06);
}

static void plates_8bit(void **state)
{
	(void)state;
	static const double doses[] = {5, 20, 50, 100, 400, 1000};
	for (size_t i = 0; i < sizeof doses / sizeof doses[0]; i++)
		check_plate(doses[i], 8, 1.0, 1);
}

static void plates_16bit(void **state)
{
	(void)state;
	static const double doses[] = {5, 40, 300, 2000, 10000};
	for (size_t i = 0; i < sizeof doses / sizeof doses[0]; i++)
		check_plate(doses[i], 16, 0.0, 1);
}

static void stack_mean(void **state)
{
	(void)state;
	check_plate(10, 8, 1.0, 8);
}

/* A flat w x h image at `level` (full scale) with Gaussian noise of `sd`. */
static void flat_image(int bits, double level, double sd, uint64_t seed)
{
	enum { W = 500, H = 400 };
	double maxval = bits == 8 ? 255.0 : 65535.0;
	void *pix = malloc((size_t)W * H * (size_t)(bits / 8));
	assert_non_null(pix);
	test_rng r;
	test_rng_seed(&r, seed);
	for (size_t i = 0; i < (size_t)W * H; i++) {
		double v = floor((level + sd * normal(&r)) * maxval + 0.5);
		v = v < 0 ? 0 : v > maxval ? maxval : v;
		if (bits == 8)
			((uint8_t *)pix)[i] = (uint8_t)v;
		else
			((uint16_t *)pix)[i] = (uint16_t)v;
	}
	semqr__noise_level n;
	semqr_error err;
	assert_int_equal(semqr__noise_from_rows(pix, bits, W, H, W, &n, &err), SEMQR_OK);
	free(pix);
	double want = sqrt(sd * sd + 1.0 / 12.0 / (maxval * maxval));
	printf("flat %d bits at %g, sd %g: sd %.5f (expected %.5f), level %.4f, quanta %.1f\n",
	       bits, level, sd, n.sd, want, n.level, n.quanta);
	assert_int_equal(n.samples, (long)(W - 4) * (H - 2));
	assert_true(fabs(n.sd / want - 1.0) < 0.03);
	assert_true(fabs(n.level - level) < 0.002);
	assert_int_equal(n.fitted, 0);
	assert_true(n.black == 0.0);
	assert_true(fabs(n.quanta / (level * level / (want * want)) - 1.0) < 0.06);
}

static void flat_gaussian(void **state)
{
	(void)state;
	flat_image(16, 30000.0 / 65535.0, 400.0 / 65535.0, 5);
	flat_image(8, 100.0 / 255.0, 6.0 / 255.0, 6);
}

/* Levels rising from 0.1 to 0.9 across the image in 16 steps of vertical
 * stripes (edges along the scan axes, which the high-pass ignores), each
 * pixel's variance g (v - b) with b = 0.05: the fit finds g and b. */
static void ramp_with_black(void **state)
{
	(void)state;
	enum { W = 1024, H = 400 };
	const double g = 2e-4, b = 0.05;
	uint16_t *pix = malloc((size_t)W * H * sizeof *pix);
	assert_non_null(pix);
	test_rng r;
	test_rng_seed(&r, 9);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			double v = 0.1 + 0.8 * (x * 16 / W) / 15.0;
			double s = v + sqrt(g * (v - b)) * normal(&r);
			pix[(size_t)y * W + x] = (uint16_t)floor(s * 65535.0 + 0.5);
		}
	semqr__noise_level n;
	semqr_error err;
	assert_int_equal(semqr__noise_from_rows(pix, 16, W, H, W, &n, &err), SEMQR_OK);
	free(pix);
	printf("ramp: gain %.3g (expected %.3g), black %.4f (expected %.4f), fitted %d\n", n.gain,
	       g, n.black, b, n.fitted);
	assert_int_equal(n.fitted, 1);
	assert_true(fabs(n.gain / g - 1.0) < 0.05);
	assert_true(fabs(n.black - b) < 0.02);
	assert_true(fabs(semqr__noise_quanta_at(&n, 0.5) / ((0.5 - b) / g) - 1.0) < 0.05);
}

static void degenerate(void **state)
{
	(void)state;
	uint8_t pix[4 * 40] = {0};
	semqr__noise_level n;
	semqr_error err;
	/* Too few rows for the mask: nothing measured. */
	assert_int_equal(semqr__noise_from_rows(pix, 8, 40, 2, 40, &n, &err), SEMQR_OK);
	assert_int_equal(n.samples, 0);
	assert_true(semqr__noise_quanta_at(&n, 0.5) == 0.0);
	/* A noiseless image: no noise seen, infinitely many quanta. */
	memset(pix, 77, sizeof pix);
	assert_int_equal(semqr__noise_from_rows(pix, 8, 40, 4, 40, &n, &err), SEMQR_OK);
	assert_int_equal(n.samples, 2 * 36);
	assert_true(n.sd == 0.0);
	assert_true(isinf(n.quanta));
	assert_int_equal(semqr__noise_from_rows(pix, 12, 40, 4, 40, &n, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "12 bits"));
	assert_int_equal(semqr__noise_from_rows(pix, 8, 40, 4, 39, &n, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
}

static void sigma_rule(void **state)
{
	(void)state;
	assert_true(fabsf(semqr__denoise_sigma_pitch(6.125f) - 1.47f) < 1e-5f);
	assert_true(fabsf(semqr__denoise_sigma_pitch(3.0f) - 0.72f) < 1e-5f);
	assert_true(semqr__denoise_sigma_pitch(64.0f) == SEMQR__DENOISE_SIGMA_MAX);
	assert_true(SEMQR__DENOISE_SIGMA_MAX == (float)SEMQR_DENOISE_SIGMA_MAX);
	float last = 0.0f;
	for (float m = 1.0f; m <= 64.0f; m += 0.25f) {
		float s = semqr__denoise_sigma_pitch(m);
		assert_true(s > 0.0f && s >= last);
		assert_true(s <= m / 3.0f && s <= SEMQR__DENOISE_SIGMA_MAX);
		assert_true(semqr__denoise_radius(s) <= SEMQR__DENOISE_RADIUS_MAX);
		assert_true(semqr__denoise_radius(s) >= 3.0f * s - 1e-4f);
		last = s;
	}
}

int main(void)
{
	if (test_mkdir(SEMQR_TEST_TMP))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plates_8bit),     cmocka_unit_test(plates_16bit),
	    cmocka_unit_test(stack_mean),      cmocka_unit_test(flat_gaussian),
	    cmocka_unit_test(ramp_with_black), cmocka_unit_test(degenerate),
	    cmocka_unit_test(sigma_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
