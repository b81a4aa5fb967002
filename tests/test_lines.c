/* Scan-line shift correction (host/drift/lines.c): known line shifts put
 * into a simulated plate are found and undone, turned symbols are not
 * mistaken for shifted lines, and a plate scanned with strong line jitter
 * decodes with the correction where it does not without.
 *
 * Truth. The correction leaves a displacement that is linear over the
 * lines predicting each other (a shear the locator absorbs), so the error
 * of the shifts found is measured line to line (see local_rms); without
 * any correction that error is about the jitter itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/lines.h"
#include "semqr/decode.h"
#include "semqr/sim.h"
#include "semqr/truth.h"
#include "support/ref.h"
#include "support/run.h"
#include "support/truth_count.h"

enum { W = 768, H = 512 };

/* Keeps frame 0 of a rendering. */
typedef struct frame_sink {
	int width, bits;
	void *pix;
} frame_sink;

static semqr_status keep(void *user, int frame, int y0, int rows, int width,
                         const void *pixels, semqr_error *err)
{
	(void)err;
	frame_sink *f = user;
	size_t px = (size_t)f->bits / 8;
	if (frame == 0)
		memcpy((unsigned char *)f->pix + (size_t)y0 * (size_t)width * px, pixels,
		       (size_t)rows * (size_t)width * px);
	return SEMQR_OK;
}

/* A W x H plate at default physics but without any line motion, symbols
 * turned by `rotation` degrees (all alike), at `bits`. */
static void *render_plate(double rotation, int bits)
{
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 0;
	o.width = W;
	o.height = H;
	o.rotation_deg = rotation;
	o.rotation_range_deg = 0;
	o.pitch_um = 2.0; /* 250 px: 3 x 2 symbols, little but quiet zone between */
	o.line_jitter_px = 0;
	o.vibrations = 0;
	o.drift_nm_per_min[0] = o.drift_nm_per_min[1] = 0;
	o.bits = bits;
	o.seed = 3;
	frame_sink f = {W, bits, malloc((size_t)W * H * (size_t)bits / 8)};
	assert_non_null(f.pix);
	semqr_error err;
	assert_int_equal(semqr_sim_render(&o, keep, &f, &err), SEMQR_OK);
	return f.pix;
}

/* Displaces line y of img by j[y] (content moves by +j: out(x) = in(x - j)),
 * linear interpolation, edges replicated. */
static void displace(void *img, int bits, const double *j)
{
	float *line = malloc(W * sizeof *line);
	assert_non_null(line);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++)
			line[x] = bits == 8 ? ((uint8_t *)img)[y * W + x] : ((uint16_t *)img)[y * W + x];
		for (int x = 0; x < W; x++) {
			double s = x - j[y];
			int a = (int)floor(s);
			double t = s - a;
			int a0 = a < 0 ? 0 : a >= W ? W - 1 : a, a1 = a + 1 < 0 ? 0 : a + 1 >= W ? W - 1 : a + 1;
			double v = line[a0] + (line[a1] - line[a0]) * t + 0.5;
			if (bits == 8)
				((uint8_t *)img)[y * W + x] = (uint8_t)v;
			else
				((uint16_t *)img)[y * W + x] = (uint16_t)v;
		}
	}
	free(line);
}

/* Marks the lines of the undisplaced image that cross a symbol: those
 * whose variance after a 5-pixel box along x exceeds twice the lowest
 * decile's (lines of quiet zone hold only noise, and no method can tell
 * their shift). Returns how many. */
static int structured_lines(const void *img, int bits, int *mark)
{
	double var[H], sorted[H];
	for (int y = 0; y < H; y++) {
		double s = 0, ss = 0;
		for (int x = 2; x < W - 2; x++) {
			double v = 0;
			for (int k = -2; k <= 2; k++)
				v += bits == 8 ? ((const uint8_t *)img)[y * W + x + k]
				               : ((const uint16_t *)img)[y * W + x + k];
			s += v / 5;
			ss += v * v / 25;
		}
		int n = W - 4;
		var[y] = sorted[y] = ss / n - (s / n) * (s / n);
	}
	for (int i = 1; i < H; i++)
		for (int k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
			double t = sorted[k];
			sorted[k] = sorted[k - 1];
			sorted[k - 1] = t;
		}
	int n = 0;
	for (int y = 0; y < H; y++)
		n += mark[y] = var[y] > 2 * sorted[H / 10];
	return n;
}

/* The line-to-line part of the error found - truth: its deviation from
 * its own mean over the 17 lines around, RMS over the marked lines whose
 * 17 lines are all marked. The correction cannot see a displacement that
 * is linear over the lines that predict each other (a shear) and lines of
 * quiet zone cut a plate into bands of symbols, each with its own such
 * shear; what damages modules is the part that changes from line to line. */
static double local_rms(const double *found, const double *truth, const int *mark)
{
	double ss = 0;
	int n = 0;
	for (int y = 8; y < H - 8; y++) {
		int all = 1;
		double mean = 0;
		for (int k = -8; k <= 8; k++) {
			all &= mark[y + k];
			mean += found[y + k] - truth[y + k];
		}
		if (!all)
			continue;
		double e = found[y] - truth[y] - mean / 17;
		ss += e * e;
		n++;
	}
	assert_true(n > H / 8);
	return sqrt(ss / n);
}

/* Corrects img in blocks of `block` lines (2 lines of context) and returns
 * the shifts found. */
static double *correct(void *img, int bits, int block)
{
	semqr__lines *c;
	semqr_error err;
	assert_int_equal(semqr__lines_create(W, bits, 8, block, &c, &err), SEMQR_OK);
	double *found = calloc(H, sizeof *found);
	assert_non_null(found);
	size_t px = (size_t)bits / 8;
	for (int a = 0; a < H; a += block - 2) {
		int top = a - 2 > 0 ? a - 2 : 0, end = a + block - 2 < H ? a + block - 2 : H;
		semqr__lines_correct(c, (unsigned char *)img + (size_t)top * W * px, W, W, end - top,
		                     a - top, 8, found + a);
	}
	semqr__lines_stats st = semqr__lines_get_stats(c);
	assert_int_equal(st.lines, H);
	semqr__lines_destroy(c);
	return found;
}

/* Random line shifts of deviation 2 px (clipped at +-6) on symbols turned
 * by 17 degrees, 8 and 16 bits, one block and blocks of 100 lines: over the
 * lines that cross symbols, the shifts are found to within 0.6 px RMS line
 * to line, where the jitter itself is 1.9 px (measured: 0.47 px). */
static void test_known_shifts(void **state)
{
	(void)state;
	for (int bits = 8; bits <= 16; bits += 8)
		for (int blocks = 0; blocks < 2; blocks++) {
			void *img = render_plate(17.0, bits);
			int mark[H];
			assert_true(structured_lines(img, bits, mark) > H / 2);
			double truth[H];
			ref_rng rng;
			ref_rng_seed(&rng, 40 + (uint64_t)bits);
			for (int y = 0; y < H; y++) {
				double v = 2.0 * ref_rng_gauss(&rng);
				truth[y] = v > 6 ? 6 : v < -6 ? -6 : v;
			}
			displace(img, bits, truth);
			double *found = correct(img, bits, blocks ? 100 : H);
			double rms = local_rms(found, truth, mark);
			printf("%d-bit, %s: shifts found to %.3f px RMS\n", bits,
			       blocks ? "blocks of 100" : "one block", rms);
			assert_true(rms < 0.6);
			free(found);
			free(img);
		}
}

/* Without any line shift, symbols turned by 0, 17, 45 and 70 degrees come
 * out with shifts whose line-to-line RMS stays under 0.2 px (measured:
 * 0.13 to 0.16 px): slanted edges are not read as shifted lines. */
static void test_turned_symbols_left_alone(void **state)
{
	(void)state;
	static const double angles[] = {0.0, 17.0, 45.0, 70.0};
	double zero[H] = {0};
	for (size_t k = 0; k < sizeof angles / sizeof angles[0]; k++) {
		void *img = render_plate(angles[k], 8);
		int mark[H];
		assert_true(structured_lines(img, 8, mark) > H / 2);
		double *found = correct(img, 8, H);
		double rms = local_rms(found, zero, mark);
		printf("turned %.0f degrees, no shift: %.3f px RMS found\n", angles[k], rms);
		assert_true(rms < 0.2);
		free(found);
		free(img);
	}
}

/* Whole plates through the scan decoder: a 1024 x 1024 plate at default
 * physics but a line jitter of 2 px (deviation), with and without the
 * correction: with it at least 90 % of the symbols decode, and a quarter of
 * the symbols more than without it (each symbol's own grid correction
 * rescues some without it: 9 of 16); no wrong payload either way. Detection
 * at full resolution (detect scale 1): 2 x 2 binning averages much of a
 * 2 px jitter away, and the test is about the line corrector. */
static int decode_count(const char *tiff, const semqr_truth *truth, int line_shifts,
                        double *rms)
{
	semqr_scan *scan;
	semqr_error err;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan, &err), SEMQR_OK);
	semqr_scan_decode_options o;
	semqr_scan_decode_options_init(&o);
	o.line_shifts = line_shifts;
	o.detect_scale = 1;
	/* the line corrector's own gain: the pads of the plate's short messages
	 * would rescue symbols either way */
	o.decode.use_padding = false;
	test_truth_count c = {truth, 0, 0};
	semqr_scan_summary sum;
	assert_int_equal(semqr_decode_scan(scan, &o, test_truth_count_symbol, &c, &sum, &err), SEMQR_OK);
	semqr_scan_close(scan);
	assert_int_equal(c.wrong, 0);
	*rms = sum.line_shift_rms_px;
	return c.right;
}

static void test_jittered_plate(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	char tiff[512], truth_path[512];
	snprintf(tiff, sizeof tiff, "%s/jitter.tif", SEMQR_TEST_TMP);
	snprintf(truth_path, sizeof truth_path, "%s/jitter.json", SEMQR_TEST_TMP);
	semqr_sim_options o;
	semqr_sim_options_init(&o);
	o.rows = o.cols = 0;
	o.width = o.height = 1024;
	o.line_jitter_px = 2.0;
	o.seed = 9;
	semqr_error err;
	semqr_truth truth;
	assert_int_equal(semqr_simulate(&o, tiff, truth_path, &err), SEMQR_OK);
	assert_int_equal(semqr_truth_load(truth_path, &truth, &err), SEMQR_OK);
	int inside = 0;
	for (size_t i = 0; i < truth.count; i++)
		inside += truth.symbols[i].inside;
	double rms_on, rms_off;
	int on = decode_count(tiff, &truth, 1, &rms_on);
	int off = decode_count(tiff, &truth, 0, &rms_off);
	printf("line jitter 2 px: %d of %d decoded with the correction (lines moved %.2f px RMS), "
	       "%d without\n",
	       on, inside, rms_on, off);
	assert_true(10 * on >= 9 * inside);
	assert_true(4 * (on - off) >= inside);
	assert_true(rms_on > 1.0);
	semqr_truth_free(&truth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_shifts),
	    cmocka_unit_test(test_turned_symbols_left_alone),
	    cmocka_unit_test(test_jittered_plate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
