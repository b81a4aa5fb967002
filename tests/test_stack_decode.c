/* Frame stacks through the scan decoder: registration, device integration
 * and the drift report (semqr_decode_scan with SEMQR_STACK_REGISTER,
 * host/pipeline/stack_rows.c and drift_report.c).
 *
 * The scene: a simulated 1024 x 1024 plate (default physics: version-3
 * symbols of 49 nm modules at 8 nm per pixel), scanned 8 times without a
 * pause at 2 us dwell (about 2.1 s per frame) while the stage drifts
 * 300 nm/min in x and -150 nm/min in y: frame k is shifted by about
 * (1.3 k, -0.65 k) px, 9 px over the stack, more than a module. Each frame
 * gets 15 detected quanta per pixel, a dose at which a single frame does not
 * decode. So:
 * - one frame alone decodes under half of the symbols;
 * - the plain mean of the frames smears every module over its neighbours and
 *   decodes under half as well;
 * - the registered mean has 8 x the dose of a frame without the smear, and
 *   decodes every symbol with its true payload;
 * and the drift reported per frame matches the simulator's truth (RMS below
 * 0.1 px per axis), the velocity the nominal drift (10 %). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semqr/decode.h"
#include "semqr/sim.h"
#include "semqr/truth.h"
#include "support/run.h"
#include "support/truth_count.h"
#include "support/truth_frames.h"

enum { SIDE = 1024, FRAMES = 8 };

static char tiff[512], truth_path[512];
static semqr_truth truth;

static int setup(void **state)
{
	(void)state;
	if (test_mkdir(SEMQR_TEST_TMP))
		return -1;
	snprintf(tiff, sizeof tiff, "%s/stack.tif", SEMQR_TEST_TMP);
	snprintf(truth_path, sizeof truth_path, "%s/stack.json", SEMQR_TEST_TMP);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 0;
	o.width = o.height = SIDE;
	o.frames = FRAMES;
	o.dwell_us = 2;
	o.drift_nm_per_min[0] = 300;
	o.drift_nm_per_min[1] = -150;
	o.dose = 15;
	o.seed = 7;
	semqr_error err;
	if (semqr_simulate(&o, tiff, truth_path, &err) != SEMQR_OK ||
	    semqr_truth_load(truth_path, &truth, &err) != SEMQR_OK) {
		fprintf(stderr, "%s\n", err.message);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	semqr_truth_free(&truth);
	return 0;
}

/* What a decode found: payloads checked against the truth as they come. */
typedef struct outcome {
	int decoded, wrong;
	semqr_scan_frame frames[FRAMES];
	int nframes;
} outcome;

static void on_symbol(void *user, const semqr_scan_symbol *s)
{
	outcome *o = user;
	if (!s->decoded)
		return;
	if (test_truth_has_payload(&truth, s->data->payload, s->data->payload_len))
		o->decoded++;
	else
		o->wrong++;
}

static void on_frame(void *user, const semqr_scan_frame *f)
{
	outcome *o = user;
	assert_true(o->nframes < FRAMES);
	o->frames[o->nframes++] = *f;
}

static semqr_status decode(semqr_stack_mode stack, int page, size_t budget, outcome *o,
                           semqr_scan_summary *sum, semqr_error *err)
{
	semqr_scan *scan;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan, err), SEMQR_OK);
	semqr_scan_decode_options opts;
	semqr_scan_decode_options_init(&opts);
	opts.stack = stack;
	opts.page = page;
	opts.memory_budget = budget;
	opts.frame = on_frame;
	opts.frame_user = o;
	memset(o, 0, sizeof *o);
	semqr_status st = semqr_decode_scan(scan, &opts, on_symbol, o, sum, err);
	semqr_scan_close(scan);
	return st;
}

static int symbols_inside(void)
{
	int n = 0;
	for (size_t i = 0; i < truth.count; i++)
		n += truth.symbols[i].inside;
	return n;
}

static void test_registered_stack_decodes(void **state)
{
	(void)state;
	int inside = symbols_inside();
	assert_true(inside >= 9);
	semqr_scan_summary sum;
	semqr_error err;
	outcome reg, mean, single;
	assert_int_equal(decode(SEMQR_STACK_REGISTER, SEMQR_SCAN_MEAN, (size_t)1 << 30, &reg, &sum,
	                        &err),
	                 SEMQR_OK);
	printf("registered: %d of %d decoded, %d wrong; drift max %.2f px, %.1f, %.1f nm/min\n",
	       reg.decoded, inside, reg.wrong, sum.drift_max_px, sum.drift_nm_per_min[0],
	       sum.drift_nm_per_min[1]);
	assert_int_equal(reg.wrong, 0);
	assert_true(reg.decoded >= inside);
	assert_string_equal(sum.stack, "register");
	assert_int_equal(sum.frames_integrated, FRAMES);
	assert_true(sum.seconds[SEMQR_STAGE_REGISTER] > 0.0);
	assert_true(sum.seconds[SEMQR_STAGE_INTEGRATE] > 0.0);
	/* The register stage's parts: every tile of frames 1..7, within the
	 * stage's own time. */
	assert_int_equal(sum.register_tiles, (long)(FRAMES - 1) * 16);
	assert_true(sum.register_read_s + sum.register_fft_s + sum.register_cross_s +
	                sum.register_peak_s + sum.register_combine_s <=
	            sum.seconds[SEMQR_STAGE_REGISTER]);
	assert_true(sum.register_fft_s > 0.0 && sum.register_peak_s > 0.0);

	/* The drift reported, against the truth. */
	double tx[FRAMES], ty[FRAMES];
	assert_true(test_truth_frame_shifts(truth_path, SIDE, SIDE, FRAMES, tx, ty, NULL) >= 4);
	assert_int_equal(reg.nframes, FRAMES);
	double se_x = 0.0, se_y = 0.0;
	for (int k = 0; k < FRAMES; k++) {
		const semqr_scan_frame *f = &reg.frames[k];
		assert_int_equal(f->page, k);
		assert_true(f->integrated);
		assert_true(f->has_nm);
		assert_true(f->start_s > 0.0 || k == 0);
		se_x += (f->shift_px[0] - tx[k]) * (f->shift_px[0] - tx[k]);
		se_y += (f->shift_px[1] - ty[k]) * (f->shift_px[1] - ty[k]);
		assert_true(fabs(f->shift_nm[0] - 8.0 * f->shift_px[0]) < 1e-9);
	}
	double rms_x = sqrt(se_x / (FRAMES - 1)), rms_y = sqrt(se_y / (FRAMES - 1));
	printf("frame drift RMS error %.4f, %.4f px; frame 7 at (%.2f, %.2f), truth (%.2f, %.2f)\n",
	       rms_x, rms_y, reg.frames[7].shift_px[0], reg.frames[7].shift_px[1], tx[7], ty[7]);
	assert_true(tx[7] > 8.0); /* the drift is larger than a module */
	assert_true(rms_x < 0.1 && rms_y < 0.1);
	assert_true(sum.has_drift_velocity);
	assert_true(fabs(sum.drift_nm_per_min[0] - 300.0) < 30.0);
	assert_true(fabs(sum.drift_nm_per_min[1] + 150.0) < 15.0);

	/* Without registration, and from one frame. */
	assert_int_equal(decode(SEMQR_STACK_MEAN, SEMQR_SCAN_MEAN, (size_t)1 << 30, &mean, &sum,
	                        &err),
	                 SEMQR_OK);
	assert_string_equal(sum.stack, "mean");
	assert_int_equal(mean.nframes, 0);
	assert_int_equal(decode(SEMQR_STACK_REGISTER, 0, (size_t)1 << 30, &single, &sum, &err),
	                 SEMQR_OK);
	assert_string_equal(sum.stack, "single");
	printf("plain mean: %d decoded, %d wrong; frame 0 alone: %d decoded, %d wrong\n",
	       mean.decoded, mean.wrong, single.decoded, single.wrong);
	assert_int_equal(mean.wrong, 0);
	assert_int_equal(single.wrong, 0);
	assert_true(2 * mean.decoded < inside);
	assert_true(2 * single.decoded < inside);
}

/* A budget too small for the registration is refused before anything is
 * read, naming the sizes and the way out. */
static void test_budget_too_small(void **state)
{
	(void)state;
	semqr_scan_summary sum;
	semqr_error err;
	outcome o;
	assert_int_equal(decode(SEMQR_STACK_REGISTER, SEMQR_SCAN_MEAN, (size_t)1 << 20, &o, &sum,
	                        &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "registering 8 frames of 1024 x 1024"));
	assert_non_null(strstr(err.message, "mean"));
	assert_int_equal(o.nframes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registered_stack_decodes),
	    cmocka_unit_test(test_budget_too_small),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
