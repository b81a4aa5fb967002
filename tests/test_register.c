/* Drift measurement (drift/register.h): tile registration by phase
 * correlation with upsampled-DFT refinement, and stack registration of a
 * simulated SEM frame stack against the simulator's ground truth.
 *
 * Synthetic tiles are sums of random Gaussian blobs evaluated at
 * continuous positions, so a shifted tile is exact, not interpolated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/register.h"
#include "semqr/scan.h"
#include "semqr/sim.h"
#include "support/ref.h"
#include "support/run.h"
#include "support/truth_frames.h"

typedef struct blob {
	double x, y, sigma, amp;
} blob;

/* Renders the blobs into img (w x h, stride w), each moved by the
 * displacement at its centre (x, y), (f[0] + f[1] x, f[2] + f[3] y), plus
 * Gaussian noise of the given sigma. Each blob is evaluated within 4 sigma.
 * Pixel (x, y) is centred at (x, y). */
static void render_field(float *img, int w, int h, const blob *b, int nb, const double f[4],
                         double noise, ref_rng *rng)
{
	for (int i = 0; i < w * h; i++)
		img[i] = (float)(noise * ref_rng_gauss(rng));
	for (int k = 0; k < nb; k++) {
		double cx = b[k].x + f[0] + f[1] * b[k].x, cy = b[k].y + f[2] + f[3] * b[k].y;
		double r = 4 * b[k].sigma;
		int x0 = (int)fmax(0, ceil(cx - r)), x1 = (int)fmin(w - 1, floor(cx + r));
		int y0 = (int)fmax(0, ceil(cy - r)), y1 = (int)fmin(h - 1, floor(cy + r));
		for (int y = y0; y <= y1; y++)
			for (int x = x0; x <= x1; x++) {
				double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
				img[y * w + x] +=
				    (float)(b[k].amp * exp(-d2 / (2 * b[k].sigma * b[k].sigma)));
			}
	}
}

/* The blobs moved by the constant (dx, dy). */
static void render(float *img, int w, int h, const blob *b, int nb, double dx, double dy,
                   double noise, ref_rng *rng)
{
	const double f[4] = {dx, 0, dy, 0};
	render_field(img, w, h, b, nb, f, noise, rng);
}

/* One blob per 20 pixels, sigma 1..3 px, amplitude -1..1. */
static blob *make_blobs(int w, int h, int *count, ref_rng *rng)
{
	int n = w * h / 20;
	blob *b = malloc((size_t)n * sizeof *b);
	assert_non_null(b);
	for (int k = 0; k < n; k++) {
		b[k].x = ref_rng_uniform(rng) * w;
		b[k].y = ref_rng_uniform(rng) * h;
		b[k].sigma = 1 + 2 * ref_rng_uniform(rng);
		b[k].amp = 2 * ref_rng_uniform(rng) - 1;
	}
	*count = n;
	return b;
}

/* 24 trials: random shifts in +-6 px per axis of a 256 x 256 tile cut from
 * the middle of a 296 x 296 texture (so content enters and leaves the tile),
 * noise sigma 0.15 on both tiles; upsample 20 (steps of 0.05 px). The RMS
 * error per axis must be below 0.05 px and every error below 0.1 px; and
 * every quality far above the noise threshold. */
static void test_known_shifts(void **state)
{
	enum { T = 256, M = 20, W = T + 2 * M, TRIALS = 24 };
	ref_rng rng;
	ref_rng_seed(&rng, 11);
	int nb;
	blob *b = make_blobs(W, W, &nb, &rng);
	float *ref = malloc(W * W * sizeof *ref), *mov = malloc(W * W * sizeof *mov);
	assert_non_null(ref);
	assert_non_null(mov);
	semqr__register *r;
	semqr_error err;
	assert_int_equal(semqr__register_create(T, T, 20, 0.15, 1, &r, &err), SEMQR_OK);
	render(ref, W, W, b, nb, 0, 0, 0.15, &rng);
	semqr__register_set_reference(r, 0, ref + M * W + M, W);
	double se_x = 0, se_y = 0, worst = 0;
	for (int t = 0; t < TRIALS; t++) {
		double dx = (ref_rng_uniform(&rng) - 0.5) * 12, dy = (ref_rng_uniform(&rng) - 0.5) * 12;
		render(mov, W, W, b, nb, dx, dy, 0.15, &rng);
		semqr__shift s;
		semqr__register_tile(r, 0, mov + M * W + M, W, &s);
		double ex = s.dx - dx, ey = s.dy - dy;
		se_x += ex * ex;
		se_y += ey * ey;
		worst = fmax(worst, fmax(fabs(ex), fabs(ey)));
		assert_true(s.quality > 3 * SEMQR__REGISTER_MIN_QUALITY);
	}
	double rms_x = sqrt(se_x / TRIALS), rms_y = sqrt(se_y / TRIALS);
	printf("known shifts: RMS error %.4f, %.4f px, worst %.4f px\n", rms_x, rms_y, worst);
	assert_true(rms_x < 0.05 && rms_y < 0.05);
	assert_true(worst < 0.1);
	semqr__register_times tm = semqr__register_get_times(r);
	assert_int_equal(tm.tiles, TRIALS);
	semqr__register_destroy(r);
	free(b);
	free(ref);
	free(mov);
}

/* Unrelated tiles (independent noise, 10 trials) stay below the quality
 * threshold; a flat tile gives quality 0 and no shift; odd tile sizes and
 * upsample 1 (integer peak) find an integer shift exactly. */
static void test_quality_and_sizes(void **state)
{
	enum { W = 97, H = 75 };
	ref_rng rng;
	ref_rng_seed(&rng, 12);
	float *a = malloc(W * H * sizeof *a), *c = malloc(W * H * sizeof *c);
	assert_non_null(a);
	assert_non_null(c);
	semqr__register *r;
	semqr_error err;
	assert_int_equal(semqr__register_create(W, H, 10, 0.15, 2, &r, &err), SEMQR_OK);
	render(a, W, H, NULL, 0, 0, 0, 1, &rng);
	semqr__register_set_reference(r, 1, a, W);
	for (int t = 0; t < 10; t++) {
		semqr__shift s;
		render(c, W, H, NULL, 0, 0, 0, 1, &rng);
		semqr__register_tile(r, 1, c, W, &s);
		assert_true(s.quality < SEMQR__REGISTER_MIN_QUALITY);
	}
	for (int i = 0; i < W * H; i++)
		c[i] = 3;
	semqr__shift s;
	semqr__register_tile(r, 1, c, W, &s);
	assert_true(s.quality == 0 && s.dx == 0 && s.dy == 0);
	semqr__register_tile(r, 0, a, W, &s); /* slot 0 never set */
	assert_true(s.quality == 0);
	semqr__register_destroy(r);

	int nb;
	blob *b = make_blobs(W + 20, H + 20, &nb, &rng);
	float *big = malloc((W + 20) * (H + 20) * sizeof *big);
	assert_non_null(big);
	assert_int_equal(semqr__register_create(W, H, 1, 0, 1, &r, &err), SEMQR_OK);
	render(big, W + 20, H + 20, b, nb, 0, 0, 0.05, &rng);
	semqr__register_set_reference(r, 0, big + 10 * (W + 20) + 10, W + 20);
	render(big, W + 20, H + 20, b, nb, -3, 4, 0.05, &rng);
	semqr__register_tile(r, 0, big + 10 * (W + 20) + 10, W + 20, &s);
	assert_true(s.dx == -3 && s.dy == 4);
	semqr__register_destroy(r);
	assert_int_equal(semqr__register_create(1, H, 10, 0.15, 1, &r, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_null(r);
	free(b);
	free(big);
	free(a);
	free(c);
}

/* A drift that varies across the field: 3 frames of a 600 x 500 texture,
 * frame k's content at p moved by k (0.7 + 1.0 x / 600, -0.4 + 0.8 y / 500)
 * px (a scan-distortion-like gradient of up to 2 px across the frame), as
 * 16-bit frames in memory (grey 30000 + 8000 texture, noise 0.1 of the
 * texture's amplitude); 128 px tiles overlapping by half. At every tile
 * centre the field must match the true displacement within 0.15 px (a
 * tile's shift is an average weighted by where its texture is, and across a
 * tile the true shift varies by up to 0.43 px; 0.08 px was measured), every
 * tile must be used, and shift_at between centres must interpolate them. */
static void test_stack_field(void **state)
{
	enum { W = 600, H = 500, FRAMES = 3 };
	ref_rng rng;
	ref_rng_seed(&rng, 13);
	int nb;
	blob *b = make_blobs(W, H, &nb, &rng);
	float *img = malloc((size_t)W * H * sizeof *img);
	assert_non_null(img);
	uint16_t *frames[FRAMES];
	for (int k = 0; k < FRAMES; k++) {
		const double f[4] = {k * 0.7, k * 1.0 / W, k * -0.4, k * 0.8 / H};
		render_field(img, W, H, b, nb, f, 0.1, &rng);
		frames[k] = malloc((size_t)W * H * sizeof(uint16_t));
		assert_non_null(frames[k]);
		for (int i = 0; i < W * H; i++)
			frames[k][i] = (uint16_t)lround(30000 + 8000 * img[i]);
	}
	semqr__drift_options o;
	semqr__drift_options_init(&o);
	o.tile = 128;
	o.overlap = 0.5;
	semqr__drift *d;
	semqr_error err;
	assert_int_equal(semqr__drift_measure_frames((const void *const *)frames, FRAMES, W, H, W,
	                                             16, &o, &d, &err),
	                 SEMQR_OK);
	int nx, ny;
	semqr__drift_grid(d, &nx, &ny);
	assert_int_equal(nx, 8); /* 1 + (600 - 128) / 64 */
	assert_int_equal(ny, 6); /* 1 + (500 - 128) / 64 */
	double worst = 0;
	for (int k = 1; k < FRAMES; k++)
		for (int j = 0; j < ny; j++)
			for (int i = 0; i < nx; i++) {
				double cx, cy, dx, dy;
				semqr__shift m;
				int used;
				semqr__drift_tile(d, k, i, j, &cx, &cy, &m, &used);
				assert_int_equal(used, 1);
				semqr__drift_shift_at(d, k, cx, cy, &dx, &dy);
				worst = fmax(worst, fabs(dx - k * (0.7 + 1.0 * cx / W)));
				worst = fmax(worst, fabs(dy - k * (-0.4 + 0.8 * cy / H)));
				if (i + 1 < nx && j + 1 < ny) {
					double cx1, cy1, ex, ey, e00x, e00y, e11x, e11y;
					semqr__drift_tile(d, k, i + 1, j + 1, &cx1, &cy1, &m, &used);
					semqr__drift_shift_at(d, k, 0.5 * (cx + cx1), 0.5 * (cy + cy1),
					                      &ex, &ey);
					semqr__drift_shift_at(d, k, cx, cy, &e00x, &e00y);
					semqr__drift_shift_at(d, k, cx1, cy1, &e11x, &e11y);
					/* Bilinear midpoint lies within the corner values. */
					assert_true(ex >= fmin(e00x, e11x) - 0.2 &&
					            ex <= fmax(e00x, e11x) + 0.2);
				}
			}
	printf("field: worst error at tile centres %.4f px\n", worst);
	assert_true(worst < 0.15);
	double dx, dy;
	assert_true(semqr__drift_frame_shift(d, 0, &dx, &dy) == 0 && dx == 0 && dy == 0);
	semqr__drift_destroy(d);
	for (int k = 0; k < FRAMES; k++)
		free(frames[k]);
	free(img);
	free(b);
}

/* Sum of the simulator's sink: the frames in memory. */
typedef struct sim_frames {
	int width, frames;
	uint8_t *pix; /* frames x height x width */
	size_t frame_size;
} sim_frames;

static semqr_status keep_strip(void *user, int frame, int y0, int rows, int width,
                               const void *pixels, semqr_error *err)
{
	sim_frames *s = user;
	memcpy(s->pix + (size_t)frame * s->frame_size + (size_t)y0 * (size_t)width, pixels,
	       (size_t)rows * (size_t)width);
	return SEMQR_OK;
}

/* The simulator: 8 frames of a 512 x 512 plate of version-3 symbols (8 nm
 * pixels, 49 nm modules), drift (40, -20) nm/min, 10 s between frames, dose
 * 200, the default vibration and line jitter. Truth: frame k's displacement
 * is the mean over every symbol corner inside the image of (corner in frame
 * k) - (corner in frame 0), from the ground-truth JSON. The stack is
 * registered twice, from the TIFF through the scan reader and from memory
 * (the sink), with 256 px tiles; the RMS error over frames 1..7 must be below
 * 0.1 px per axis, and the velocity from the fitted shifts within 10% of the
 * nominal drift. */
static void test_simulated_stack(void **state)
{
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	char tiff[512], truth[512];
	snprintf(tiff, sizeof tiff, "%s/stack.tif", SEMQR_TEST_TMP);
	snprintf(truth, sizeof truth, "%s/stack.json", SEMQR_TEST_TMP);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 0;
	o.width = o.height = 512;
	o.frames = 8;
	o.frame_gap_s = 10;
	o.drift_nm_per_min[0] = 40;
	o.drift_nm_per_min[1] = -20;
	o.dose = 200;
	o.seed = 5;
	semqr_error err;
	assert_int_equal(semqr_simulate(&o, tiff, truth, &err), SEMQR_OK);

	/* Truth from the corners. */
	double tx[8], ty[8], period;
	assert_true(test_truth_frame_shifts(truth, 512, 512, 8, tx, ty, &period) >= 4);
	assert_true(period > 10);
	assert_true(tx[7] > 4); /* 40 nm/min over 7 periods of > 10 s at 8 nm/px */

	semqr__drift_options dopt;
	semqr__drift_options_init(&dopt);
	semqr__drift *d[2];
	semqr_scan *scan;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan, &err), SEMQR_OK);
	assert_int_equal(semqr__drift_measure(scan, &dopt, &d[0], &err), SEMQR_OK);
	semqr_scan_close(scan);

	sim_frames sf = {512, 8, NULL, 512 * 512};
	sf.pix = malloc(8 * sf.frame_size);
	assert_non_null(sf.pix);
	assert_int_equal(semqr_sim_render(&o, keep_strip, &sf, &err), SEMQR_OK);
	const void *frames[8];
	for (int k = 0; k < 8; k++)
		frames[k] = sf.pix + (size_t)k * sf.frame_size;
	assert_int_equal(semqr__drift_measure_frames(frames, 8, 512, 512, 512, 8, &dopt, &d[1],
	                                             &err),
	                 SEMQR_OK);
	free(sf.pix);

	for (int v = 0; v < 2; v++) {
		double se_x = 0, se_y = 0;
		for (int k = 1; k < 8; k++) {
			double dx, dy;
			assert_true(semqr__drift_frame_shift(d[v], k, &dx, &dy) > 0);
			printf("frame %d: measured (%.3f, %.3f) px = (%.1f, %.1f) nm, "
			       "truth (%.3f, %.3f) px\n",
			       k, dx, dy, dx * o.pixel_nm, dy * o.pixel_nm, tx[k], ty[k]);
			se_x += (dx - tx[k]) * (dx - tx[k]);
			se_y += (dy - ty[k]) * (dy - ty[k]);
		}
		double rms_x = sqrt(se_x / 7), rms_y = sqrt(se_y / 7);
		double vx, vy;
		semqr__drift_velocity(d[v], period, &vx, &vy);
		vx *= 60 * o.pixel_nm;
		vy *= 60 * o.pixel_nm;
		printf("%s: RMS error (%.4f, %.4f) px; velocity (%.2f, %.2f) nm/min\n",
		       v ? "memory" : "TIFF", rms_x, rms_y, vx, vy);
		assert_true(rms_x < 0.1 && rms_y < 0.1);
		assert_true(fabs(vx - 40) < 4 && fabs(vy + 20) < 2);
		semqr__drift_times t = semqr__drift_get_times(d[v]);
		assert_true(t.reg.tiles == 7 * 4);
		semqr__drift_destroy(d[v]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_shifts),
	    cmocka_unit_test(test_quality_and_sizes),
	    cmocka_unit_test(test_stack_field),
	    cmocka_unit_test(test_simulated_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
