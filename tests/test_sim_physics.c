/* The simulator's physics, measured on its output the way one would measure
 * a microscope:
 * - shot noise: flat fields at four brightness levels with the same quanta
 *   per full-scale unit; the slope of variance against mean (the noise level
 *   function) gives the quanta back within 3%; the noise's lag-1 correlation
 *   along rows is the asked rho within 0.03, and line offsets widen the
 *   spread of row means as asked within 15%;
 * - probe: the second moment of an edge's line spread function gives the
 *   core sigma within 0.03 px, along x and y, with and without astigmatism;
 * - drift: two frames of a stack, registered by phase correlation (FFTW),
 *   are shifted by the simulated drift between them within 0.1 px. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <complex.h>
#include <fftw3.h>
#include <math.h>

#include "semqr/sim.h"
#include "sim/sim_internal.h"

/* ---- rendering into memory ---------------------------------------------- */

typedef struct capture {
	int width, height, frames, bits;
	double *px; /* frames x height x width */
} capture;

static semqr_status capture_sink(void *user, int frame, int y0, int rows, int width,
                                 const void *pixels, semqr_error *err)
{
	capture *c = user;
	for (int j = 0; j < rows; j++)
		for (int x = 0; x < width; x++) {
			size_t i = (size_t)j * width + x;
			double v = c->bits == 8 ? ((const uint8_t *)pixels)[i]
			                        : ((const uint16_t *)pixels)[i];
			c->px[((size_t)frame * c->height + y0 + j) * c->width + x] = v;
		}
	return SEMQR_OK;
}

static void render(const semqr_sim_options *o, capture *c)
{
	semqr_error err = {0};
	long n;
	assert_int_equal(semqr_sim_geometry(o, &c->width, &c->height, &n, &err), SEMQR_OK);
	c->frames = o->frames;
	c->bits = o->bits;
	c->px = malloc((size_t)c->frames * c->height * c->width * sizeof *c->px);
	assert_non_null(c->px);
	semqr_status st = semqr_sim_render(o, capture_sink, c, &err);
	if (st != SEMQR_OK)
		fail_msg("render: %s", err.message);
}

/* Options with every motion and every optional effect off. */
static void still_options(semqr_sim_options *o)
{
	semqr_sim_options_init(o);
	o->drift_nm_per_min[0] = o->drift_nm_per_min[1] = 0;
	o->vibrations = 0;
	o->line_jitter_px = 0;
	o->line_noise = 0;
}

/* ---- shot noise ---------------------------------------------------------- */

static void noise_level_function_gives_the_dose(void **state)
{
	(void)state;
	const double q = 200; /* quanta per full-scale unit */
	const double levels[4] = {0.2, 0.4, 0.6, 0.8};
	double mean[4], var[4];
	for (int k = 0; k < 4; k++) {
		semqr_sim_options o;
		still_options(&o);
		o.rows = o.cols = -1; /* a flat field: no symbol */
		o.width = o.height = 256;
		o.film_level = levels[k];
		o.dose = q * levels[k];
		o.read_noise_dn = 1.0;
		o.seed = 100 + (uint64_t)k;
		capture c = {0};
		render(&o, &c);
		double s = 0, s2 = 0;
		size_t n = (size_t)c.width * c.height;
		for (size_t i = 0; i < n; i++)
			s += c.px[i];
		mean[k] = s / n;
		for (size_t i = 0; i < n; i++)
			s2 += (c.px[i] - mean[k]) * (c.px[i] - mean[k]);
		var[k] = s2 / (n - 1);
		free(c.px);
		/* The mean sits at the film level. */
		assert_true(fabs(mean[k] - 255 * levels[k]) < 0.5);
	}
	/* Least-squares slope of variance against mean. */
	double mx = 0, my = 0, sxx = 0, sxy = 0;
	for (int k = 0; k < 4; k++)
		mx += mean[k] / 4, my += var[k] / 4;
	for (int k = 0; k < 4; k++) {
		sxx += (mean[k] - mx) * (mean[k] - mx);
		sxy += (mean[k] - mx) * (var[k] - my);
	}
	double slope = sxy / sxx;           /* grey levels per quantum */
	double quanta = 255 / slope;        /* quanta per full-scale unit */
	double intercept = my - slope * mx; /* read noise^2 + quantisation 1/12 */
	print_message("noise level function: slope %.4f DN/quantum -> %.1f quanta per full "
	              "scale (asked %g), intercept %.2f DN^2\n", slope, quanta, q, intercept);
	assert_true(fabs(quanta / q - 1) < 0.03);
	assert_true(intercept > 0 && intercept < 4);
}

/* Lag-1 correlation along rows (row means removed) and the ratio of the
 * row means' spread to what white noise alone would give them. */
static void noise_structure_follows_the_options(void **state)
{
	(void)state;
	semqr_sim_options o;
	still_options(&o);
	o.rows = o.cols = -1;
	o.width = o.height = 256;
	o.read_noise_dn = 0;
	o.fast_axis_rho = 0.5;
	o.line_noise = 0.1;
	o.seed = 11;
	capture c = {0};
	render(&o, &c);
	const int W = c.width, H = c.height;
	double num = 0, den = 0, var = 0, mean_all = 0, rows_var = 0;
	double *row_mean = malloc(sizeof *row_mean * H);
	assert_non_null(row_mean);
	for (int y = 0; y < H; y++) {
		double m = 0;
		for (int x = 0; x < W; x++)
			m += c.px[(size_t)y * W + x] / W;
		row_mean[y] = m;
		mean_all += m / H;
		for (int x = 0; x < W; x++) {
			double a = c.px[(size_t)y * W + x] - m;
			den += a * a;
			var += a * a / ((double)W * H);
			if (x + 1 < W)
				num += a * (c.px[(size_t)y * W + x + 1] - m);
		}
	}
	for (int y = 0; y < H; y++)
		rows_var += (row_mean[y] - mean_all) * (row_mean[y] - mean_all) / (H - 1);
	double rho = num / den;
	/* Row means of AR(1) noise: variance sigma^2 (1 + rho) / ((1 - rho) W)
	 * for white innovations; the line offsets add (0.1 sigma)^2. */
	double white = var * (1 + rho) / (1 - rho) / W;
	double ratio = sqrt(rows_var / white);
	double want = sqrt(1 + 0.01 / ((1 + 0.5) / (1 - 0.5) / W));
	print_message("fast-axis correlation %.3f (asked 0.5); row-mean spread %.2f x white "
	              "(expected %.2f)\n", rho, ratio, want);
	assert_true(fabs(rho - 0.5) < 0.03);
	assert_true(fabs(ratio / want - 1) < 0.15);
	free(row_mean);
	free(c.px);
}

/* ---- probe --------------------------------------------------------------- */

/* Edge sigma (pixels) of the top-left finder's left (axis 0) or top (axis 1)
 * outer edge in a clean image of one symbol at 2 nm pixels, turned by 3
 * degrees so that the edge's sub-pixel phase runs through all values along
 * it (a profile at one phase alone is biased by up to 0.07 px). The ring
 * beyond the edge is 24.5 px wide: profiles of +-12 px stay clear of the next
 * edge by more than 5 sigma. */
static double edge_sigma(double ratio, double angle, int axis)
{
	semqr_sim_options o;
	still_options(&o);
	o.noise = false;
	o.rim = 0;
	o.halo_weight = 0;
	o.pixel_nm = 2;
	o.rotation_deg = 3;
	o.bits = 16; /* 8-bit rounding would cut the tails of the profile */
	o.psf_sigma_px = 1.5;
	o.astig_ratio = ratio;
	o.astig_angle_deg = angle;
	capture c = {0};
	render(&o, &c);

	/* The edge from module (0, 1.5) to (0, 5.5), or (1.5, 0) to (5.5, 0). */
	semqr__sim sim;
	semqr_error err;
	assert_int_equal(semqr__sim_prepare(&o, &sim, &err), SEMQR_OK);
	sim_symbol *s = calloc(1, sizeof *s);
	semqr_symbol *q = malloc(sizeof *q);
	assert_true(s && q);
	assert_int_equal(semqr__sim_symbol_make(&sim, 0, 0, s, q, &err), SEMQR_OK);
	double ax, ay, bx, by;
	semqr__sim_module_to_scene(&sim, s, axis ? 1.5 : 0, axis ? 0 : 1.5, &ax, &ay);
	semqr__sim_module_to_scene(&sim, s, axis ? 5.5 : 0, axis ? 0 : 5.5, &bx, &by);
	semqr__sim_symbol_free(s);
	free(s);
	free(q);
	semqr__sim_release(&sim);
	/* In pixels, along (a) and across (e) the edge. */
	double a0 = (axis ? ax : ay) / o.pixel_nm, a1 = (axis ? bx : by) / o.pixel_nm;
	double e0 = (axis ? ay : ax) / o.pixel_nm, e1 = (axis ? by : bx) / o.pixel_nm;

	double total = 0;
	int count = 0;
	for (int a = (int)ceil(a0); a < (int)a1; a++) {
		int e = (int)floor(e0 + (a + 0.5 - a0) * (e1 - e0) / (a1 - a0));
		double p[25];
		for (int i = 0; i < 25; i++) {
			int t = e - 12 + i;
			p[i] = axis == 0 ? c.px[(size_t)a * c.width + t] : c.px[(size_t)t * c.width + a];
		}
		/* The differences of the edge profile sample the line spread function:
		 * the probe convolved with the pixel's box and the difference's box,
		 * so over all phases its variance is sigma^2 + 2 / 12. */
		double w = 0, m1 = 0, m2 = 0;
		for (int i = 0; i < 24; i++) {
			double d = p[i] - p[i + 1];
			w += d, m1 += d * (i + 0.5), m2 += d * (i + 0.5) * (i + 0.5);
		}
		double mean = m1 / w;
		total += m2 / w - mean * mean - 2.0 / 12;
		count++;
	}
	free(c.px);
	return sqrt(total / count);
}

static void edge_width_gives_the_probe_sigma(void **state)
{
	(void)state;
	double sx = edge_sigma(1, 0, 0), sy = edge_sigma(1, 0, 1);
	print_message("round probe 1.5 px: edge sigma x %.3f, y %.3f\n", sx, sy);
	assert_true(fabs(sx - 1.5) < 0.03);
	assert_true(fabs(sy - 1.5) < 0.03);
	/* Astigmatism 1.5 along x: 2.25 px across a vertical edge, 1.5 across a
	 * horizontal one; turned by 90 degrees, the other way round. */
	double ax = edge_sigma(1.5, 0, 0), ay = edge_sigma(1.5, 0, 1);
	double bx = edge_sigma(1.5, 90, 0), by = edge_sigma(1.5, 90, 1);
	print_message("astigmatic 1.5: angle 0 -> %.3f, %.3f; angle 90 -> %.3f, %.3f\n", ax, ay, bx,
	              by);
	assert_true(fabs(ax - 2.25) < 0.03 && fabs(ay - 1.5) < 0.03);
	assert_true(fabs(bx - 1.5) < 0.03 && fabs(by - 2.25) < 0.03);
}

/* ---- drift between frames ------------------------------------------------ */

/* Shift d with f2(x) = f1(x - d), by phase correlation: Hann-windowed
 * spectra, normalised cross-power spectrum, integer peak of its inverse, then
 * the sub-pixel remainder as the weighted least-squares slope of the residual
 * phase over low frequencies. */
static void phase_correlation(const double *f1, const double *f2, int n, double *dx,
                              double *dy)
{
	int nc = n / 2 + 1;
	float *in = fftwf_malloc(sizeof(float) * n * n);
	fftwf_complex *a = fftwf_malloc(sizeof(fftwf_complex) * n * nc);
	fftwf_complex *b = fftwf_malloc(sizeof(fftwf_complex) * n * nc);
	assert_true(in && a && b);
	fftwf_plan pa = fftwf_plan_dft_r2c_2d(n, n, in, a, FFTW_ESTIMATE);
	fftwf_plan pb = fftwf_plan_dft_r2c_2d(n, n, in, b, FFTW_ESTIMATE);
	for (int pass = 0; pass < 2; pass++) {
		const double *f = pass ? f2 : f1;
		double mean = 0;
		for (int i = 0; i < n * n; i++)
			mean += f[i] / (n * n);
		for (int y = 0; y < n; y++)
			for (int x = 0; x < n; x++) {
				double w = (0.5 - 0.5 * cos(2 * SIM_PI * x / n)) *
				           (0.5 - 0.5 * cos(2 * SIM_PI * y / n));
				in[y * n + x] = (float)(w * (f[y * n + x] - mean));
			}
		fftwf_execute(pass ? pb : pa);
	}
	/* cross = B conj(A): phase -2 pi (k . d) / n. */
	float complex *A = (float complex *)a, *B = (float complex *)b;
	float complex *cross = malloc(sizeof *cross * n * nc);
	float *corr = fftwf_malloc(sizeof(float) * n * n);
	fftwf_complex *norm = fftwf_malloc(sizeof(fftwf_complex) * n * nc);
	assert_true(cross && corr && norm);
	for (int i = 0; i < n * nc; i++) {
		cross[i] = B[i] * conjf(A[i]);
		float m = cabsf(cross[i]);
		((float complex *)norm)[i] = m > 0 ? cross[i] / m : 0;
	}
	fftwf_plan pi = fftwf_plan_dft_c2r_2d(n, n, norm, corr, FFTW_ESTIMATE);
	fftwf_execute(pi);
	int best = 0;
	for (int i = 1; i < n * n; i++)
		if (corr[i] > corr[best])
			best = i;
	int ix = best % n, iy = best / n;
	if (ix > n / 2)
		ix -= n;
	if (iy > n / 2)
		iy -= n;
	/* Residual phase after removing the integer shift; fit phi = -2 pi k.e / n. */
	double sxx = 0, sxy = 0, syy = 0, bx = 0, by = 0;
	const int K = n / 8;
	for (int ky = -K; ky <= K; ky++)
		for (int kx = 0; kx <= K; kx++) {
			if (!kx && !ky)
				continue;
			int row = ky < 0 ? ky + n : ky;
			float complex v = cross[row * nc + kx];
			double w = cabsf(v);
			double ph = carg(v * cexp(2 * SIM_PI * I * (kx * ix + ky * iy) / n));
			double gx = -2 * SIM_PI * kx / n, gy = -2 * SIM_PI * ky / n;
			sxx += w * gx * gx, sxy += w * gx * gy, syy += w * gy * gy;
			bx += w * gx * ph, by += w * gy * ph;
		}
	double det = sxx * syy - sxy * sxy;
	*dx = ix + (bx * syy - by * sxy) / det;
	*dy = iy + (by * sxx - bx * sxy) / det;
	fftwf_destroy_plan(pa);
	fftwf_destroy_plan(pb);
	fftwf_destroy_plan(pi);
	fftwf_free(in);
	fftwf_free(a);
	fftwf_free(b);
	fftwf_free(corr);
	fftwf_free(norm);
	free(cross);
}

static void stack_frames_shift_by_the_drift(void **state)
{
	(void)state;
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.vibrations = 0; /* vibration is not a rigid shift between frames */
	o.width = o.height = 256;
	o.frames = 2;
	o.dwell_us = 10;
	o.flyback_us = 100;
	o.frame_gap_s = 2;
	/* A slow 10 us scan detects some 2000 quanta: at 100 the estimator's own
	 * noise (about 0.1 px on 256 x 256 pixels) would hide what is tested. */
	o.dose = 2000;
	o.drift_nm_per_min[0] = 300;
	o.drift_nm_per_min[1] = -200;
	o.seed = 7;
	capture c = {0};
	render(&o, &c);
	semqr__sim sim;
	semqr_error err;
	assert_int_equal(semqr__sim_prepare(&o, &sim, &err), SEMQR_OK);
	double minutes = sim.frame_period_s / 60;
	semqr__sim_release(&sim);
	double ex = o.drift_nm_per_min[0] * minutes / o.pixel_nm;
	double ey = o.drift_nm_per_min[1] * minutes / o.pixel_nm;
	double dx, dy;
	phase_correlation(c.px, c.px + (size_t)c.width * c.height, c.width, &dx, &dy);
	print_message("frame 0 -> 1: measured (%.3f, %.3f) px, simulated drift (%.3f, %.3f) px\n",
	              dx, dy, ex, ey);
	assert_true(fabs(dx - ex) < 0.1);
	assert_true(fabs(dy - ey) < 0.1);
	free(c.px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(noise_level_function_gives_the_dose),
		cmocka_unit_test(noise_structure_follows_the_options),
		cmocka_unit_test(edge_width_gives_the_probe_sigma),
		cmocka_unit_test(stack_frames_shift_by_the_drift),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
