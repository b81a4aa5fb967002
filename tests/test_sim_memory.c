/* The simulator's memory bound: what a strip keeps does not grow with the
 * plate.
 * - every scene row a strip's pixels sample lies within the strip's reach
 *   (semqr__sim_strip_reach), so the symbols the strip builds from it cover
 *   the image: checked at every pixel of strips spread over three frames with
 *   fast accelerating drift (its turning point inside the stack), charging
 *   jumps, vibration, line jitter and distortion;
 * - that reach is local: on a default-physics 65536 x 65536 plate (275 x 275
 *   symbols, 72 minutes a frame, a width whose square overflows an int) a
 *   strip in the middle of the frame reaches no more than its rows, the
 *   probe's halo and the motion bound, and builds at most 3 of the 275 grid
 *   rows, with or without distortion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <math.h>

#include "semqr/sim.h"
#include "sim/sim_internal.h"

static void prepare(const semqr_sim_options *o, semqr__sim *sim)
{
	semqr_error err;
	semqr_status st = semqr__sim_prepare(o, sim, &err);
	if (st != SEMQR_OK)
		fail_msg("prepare: %s", err.message);
}

static void reach_holds_every_sample(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.width = 700;
	o.height = 1500;
	o.rows = o.cols = 0;
	o.seed = 11;
	o.frames = 3;
	o.frame_gap_s = 0.2;
	/* 40 us dwell: 28 ms lines, 0.7-minute frames. Drift along y
	 * -900 m + 450 m^2 nm (m in minutes) turns at m = 1, in frame 1, and
	 * moves the scene by some 40 px per frame. */
	o.dwell_us = 40;
	o.drift_nm_per_min[0] = 300;
	o.drift_nm_per_min[1] = -900;
	o.drift_accel_nm_per_min2[1] = 900;
	o.jumps_per_frame = 2;
	o.jump_min_px = 1;
	o.jump_max_px = 4;
	o.vibration_px = 0.5;
	o.line_jitter_px = 0.3;
	o.distortion = 0.02;
	semqr__sim sim;
	prepare(&o, &sim);
	const int P = sim.pad, sw = sim.width + 2 * P, R = 40;
	const double px = o.pixel_nm;
	float *qx = malloc((size_t)sw * sizeof *qx), *qy = malloc((size_t)sw * sizeof *qy);
	assert_non_null(qx);
	assert_non_null(qy);
	/* 3 frames x 8 strips x (R + 2P) rows x sw columns. */
	long checked = 0;
	double slack_min = INFINITY;
	for (int f = 0; f < o.frames; f++)
		for (int k = 0; k < 8; k++) {
			int y0 = k * (sim.height - R) / 7, y1 = y0 + R;
			double lo, hi;
			semqr__sim_strip_reach(&sim, f, y0, y1, &lo, &hi);
			for (int y = y0 - P; y < y1 + P; y++) {
				semqr__sim_row_positions(&sim, f, y, -P, sw, qx, qy);
				for (int i = 0; i < sw; i++) {
					assert_true(qy[i] >= lo);
					assert_true(qy[i] + px <= hi);
					slack_min = fmin(slack_min, fmin(qy[i] - lo, hi - qy[i] - px));
					checked++;
				}
			}
		}
	print_message("%ld samples inside their strip's reach; least slack %.1f nm\n", checked,
	              slack_min);
	free(qx);
	free(qy);
	semqr__sim_release(&sim);
}

/* Grid rows the cache holds for strip rows y0 .. y0+R-1 of frame 0, and the
 * height of the strip's reach in pixels. */
static int rows_built(const semqr__sim *sim, int y0, int R, double *reach_px)
{
	double lo, hi;
	semqr__sim_strip_reach(sim, 0, y0, y0 + R, &lo, &hi);
	*reach_px = (hi - lo) / sim->o.pixel_nm;
	sim_cache c = {0};
	semqr_error err;
	semqr_status st = semqr__sim_cache_cover(sim, &c, lo, hi, &err);
	if (st != SEMQR_OK)
		fail_msg("cache: %s", err.message);
	int count = c.count;
	semqr__sim_cache_free(&c);
	return count;
}

static void wide_tall_plate_builds_few_rows(void **state)
{
	(void)state;
	for (int distorted = 0; distorted < 2; distorted++) {
		semqr_sim_options o;
		semqr_sim_options_init(&o);
		o.width = o.height = 65536;
		o.rows = o.cols = 0;
		o.distortion = distorted ? 0.001 : 0;
		semqr__sim sim;
		prepare(&o, &sim);
		assert_int_equal(sim.rows, 275);
		assert_true(isfinite(sim.motion_bound_px));
		/* Default motion (vibration, jitter) stays within a few pixels;
		 * distortion 0.001 moves the plate's rim by 0.002 of 32768 px. */
		assert_true(sim.motion_bound_px < (distorted ? 80 : 4));
		const int R = 64;
		double reach_px;
		int built = rows_built(&sim, sim.height / 2, R, &reach_px);
		print_message("distortion %g: motion bound %.2f px, reach %.1f px, %d of %d grid "
		              "rows\n", o.distortion, sim.motion_bound_px, reach_px, built, sim.rows);
		/* The drift over one strip's 4 s is below 1 nm. */
		assert_true(reach_px <= R + 2 * sim.pad + 2 * (sim.motion_bound_px + 1) + 0.2);
		/* Reach plus a symbol's extent either side, over a 237.5-pixel pitch. */
		assert_true(built >= 1);
		assert_true(built <= 3);
		semqr__sim_release(&sim);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reach_holds_every_sample),
		cmocka_unit_test(wide_tall_plate_builds_few_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
