/* The CPU soft sampler (semqr__sample_soft, with its boundary moved:
 * semqr__soft_from_means_at), the hard centre sampler (semqr__sample_centre)
 * and the module->pixel
 * homography, on symbols rendered here through a known homography (module
 * (u, v) -> pixel), so that sampling is tested apart from locating.
 *
 * Rendering: each pixel is the mean of 4 x 4 sub-samples mapped back to
 * module coordinates through the inverse map; set (dark) modules take the
 * level `set`, everything else (light modules and the surround) `unset`.
 * Random numbers are seeded; trial counts are stated per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate/locate.h"
#include "qr/qr_internal.h"
#include "semqr/qr.h"
#include "support/ref.h"

enum { W = 260, H = 240 };

/* The affine map module -> pixel: scale s, turn t, origin (ox, oy). */
static void affine(double s, double t, double ox, double oy, double h[9])
{
	double c = cos(t), n = sin(t);
	double m[9] = {s * c, -s * n, ox, s * n, s * c, oy, 0.0, 0.0, 1.0};
	memcpy(h, m, sizeof m);
}

/* Renders sym through the affine map h into img (W x H) with the given
 * levels, plus Gaussian noise of sigma `noise` (seeded by rng). */
static void render(const semqr_symbol *sym, const double h[9], float set, float unset,
                   float noise, ref_rng *rng, float *img)
{
	double det = h[0] * h[4] - h[1] * h[3];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int cover = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					double dx = x + (sx + 0.5) / 4.0 - 0.5 - h[2];
					double dy = y + (sy + 0.5) / 4.0 - 0.5 - h[5];
					double u = (h[4] * dx - h[1] * dy) / det;
					double v = (-h[3] * dx + h[0] * dy) / det;
					int i = (int)floor(u), j = (int)floor(v);
					if (i >= 0 && j >= 0 && i < sym->size && j < sym->size
					    && sym->modules[j * sym->size + i])
						cover++;
				}
			img[y * W + x] = unset + (set - unset) * (float)cover / 16.0f
			                 + noise * ref_rng_gauss(rng);
		}
}

static void encode(const char *text, int version, semqr_symbol *sym)
{
	semqr_encode_options eo;
	semqr_encode_options_init(&eo);
	eo.min_version = eo.max_version = version;
	semqr_error err;
	assert_int_equal(semqr_encode((const uint8_t *)text, strlen(text), &eo, sym, &err), SEMQR_OK);
}

static void located(const semqr_symbol *sym, const double h[9], semqr__located *loc)
{
	memset(loc, 0, sizeof *loc);
	loc->version = sym->version;
	loc->size = sym->size;
	memcpy(loc->h, h, sizeof loc->h);
}

/* A noiseless version-3 symbol at 6 px/module, turned 0.3 rad, in both
 * polarities (set darker, set brighter): every module's p is within 0.01 of
 * its true value, so polarity comes from the known modules alone. */
static void test_clean(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("clean sampling", 3, &sym);
	double h[9];
	affine(6.0, 0.3, 70.0, 10.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 1);
	for (int inverse = 0; inverse < 2; inverse++) {
		render(&sym, h, inverse ? 0.8f : 0.2f, inverse ? 0.3f : 0.7f, 0.0f, &rng, img);
		semqr__grey_image g = {img, W, W, H};
		semqr__located loc;
		located(&sym, h, &loc);
		semqr__sample_soft(&g, &loc, dark);
		for (int k = 0; k < sym.size * sym.size; k++)
			assert_true(fabsf(dark[k] - (float)sym.modules[k]) < 0.01f);
	}
}

/* Modules painted at the midpoint level come out near 0.5, and noise makes
 * p calibrated: over 20 noisy renderings (sigma 0.3 against a difference of
 * 0.3 between levels), modules with p in [0.2, 0.8] are the ambiguous ones
 * (their hard decision is wrong far more often than the confident ones'),
 * and confident modules (p < 0.02 or > 0.98) are wrong less than 1 in 500. */
static void test_probabilities(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("probabilities", 2, &sym);
	double h[9];
	affine(7.0, -0.2, 40.0, 50.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 2);
	/* Midpoint modules: a noiseless image with module (12, 12) and (14, 16) grey. */
	render(&sym, h, 0.2f, 0.5f, 0.0f, &rng, img);
	const int grey[2][2] = {{12, 12}, {14, 16}};
	for (int k = 0; k < 2; k++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				double dx = x - h[2], dy = y - h[5];
				double det = h[0] * h[4] - h[1] * h[3];
				double u = (h[4] * dx - h[1] * dy) / det, v = (-h[3] * dx + h[0] * dy) / det;
				if (u > grey[k][0] - 0.1 && u < grey[k][0] + 1.1 && v > grey[k][1] - 0.1
				    && v < grey[k][1] + 1.1)
					img[y * W + x] = 0.35f;
			}
	semqr__grey_image g = {img, W, W, H};
	semqr__located loc;
	located(&sym, h, &loc);
	semqr__sample_soft(&g, &loc, dark);
	for (int k = 0; k < 2; k++)
		assert_true(fabsf(dark[grey[k][1] * sym.size + grey[k][0]] - 0.5f) < 0.1f);

	int conf = 0, conf_wrong = 0, amb = 0, amb_wrong = 0;
	for (int trial = 0; trial < 20; trial++) {
		render(&sym, h, 0.2f, 0.5f, 0.3f, &rng, img);
		semqr__sample_soft(&g, &loc, dark);
		for (int k = 0; k < sym.size * sym.size; k++) {
			int wrong = (dark[k] > 0.5f) != (sym.modules[k] != 0);
			if (dark[k] < 0.02f || dark[k] > 0.98f) {
				conf++;
				conf_wrong += wrong;
			} else if (dark[k] > 0.2f && dark[k] < 0.8f) {
				amb++;
				amb_wrong += wrong;
			}
		}
	}
	printf("confident %d (wrong %d), ambiguous %d (wrong %d)\n", conf, conf_wrong, amb,
	       amb_wrong);
	assert_true(conf > 0 && amb > 0);
	assert_true(conf_wrong * 500 < conf);
	assert_true(amb_wrong * 10 > amb);
}

/* A symbol half outside the image: its outside modules are 0.5 and the rest
 * still sampled; an image of one flat level gives 0.5 everywhere; the
 * homography maps module corners as an affine map does. */
static void test_edges(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("edges", 1, &sym);
	double h[9];
	affine(8.0, 0.0, -60.0, 20.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 3);
	render(&sym, h, 0.1f, 0.9f, 0.0f, &rng, img);
	semqr__grey_image g = {img, W, W, H};
	semqr__located loc;
	located(&sym, h, &loc);
	semqr__sample_soft(&g, &loc, dark);
	for (int j = 0; j < sym.size; j++)
		for (int i = 0; i < sym.size; i++) {
			float p = dark[j * sym.size + i];
			if (i < 8)
				assert_true(p == 0.5f);
			else
				assert_true(fabsf(p - (float)sym.modules[j * sym.size + i]) < 0.01f);
		}
	for (int k = 0; k < W * H; k++)
		img[k] = 0.4f;
	semqr__sample_soft(&g, &loc, dark);
	for (int k = 0; k < sym.size * sym.size; k++)
		assert_true(dark[k] == 0.5f);
	double x, y;
	semqr__homography_apply(h, 21.0, 21.0, &x, &y);
	assert_true(fabs(x - (-60.0 + 168.0)) < 1e-9 && fabs(y - (20.0 + 168.0)) < 1e-9);
}

/* The soft model on module means given directly (semqr__soft_from_means),
 * levels as a milled film gives them: a set module's mean rises by 0.05 for
 * each unset 4-neighbour (its rim), an unset one's falls by 0.01 for each set
 * neighbour (blur), set 0.2 .. 0.4, unset 0.46 .. 0.5, so that the midpoint
 * of the mean levels lies below isolated set modules; noise sigma 0.005
 * (seeded; one trial). Every module reads right within 0.05 (the isolated
 * set ones too), except a 4 x 4 patch of data modules painted grey (0.43,
 * between the levels and 6 spreads from the nearest) that comes out within
 * 0.1 of 0.5, and the patch's 4-neighbours, whose levels depend on it:
 * those only read on the right side of 0.5; a module far beyond the set
 * level (0.02) stays set. */
static void test_neighbour_levels(void **state)
{
	static semqr_symbol sym;
	static float means[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("neighbour levels", 3, &sym);
	int size = sym.size;
	ref_rng rng;
	ref_rng_seed(&rng, 5);
	int isolated = 0;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			int k = j * size + i, nb = 0;
			nb += i > 0 && sym.modules[k - 1];
			nb += i < size - 1 && sym.modules[k + 1];
			nb += j > 0 && sym.modules[k - size];
			nb += j < size - 1 && sym.modules[k + size];
			float level = sym.modules[k] ? 0.2f + 0.05f * (float)(4 - nb) : 0.5f - 0.01f * (float)nb;
			isolated += sym.modules[k] && nb == 0;
			means[k] = level + 0.005f * ref_rng_gauss(&rng);
		}
	assert_true(isolated > 0);
	/* The global midpoint of the known (function) modules' levels. */
	double lv[2] = {0.0, 0.0};
	int nl[2] = {0, 0};
	uint8_t func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr__function_map(3, func);
	for (int k = 0; k < size * size; k++)
		if (func[k]) {
			lv[sym.modules[k]] += means[k];
			nl[sym.modules[k]]++;
		}
	assert_true(0.5 * (lv[0] / nl[0] + lv[1] / nl[1]) < 0.4);
	/* Data modules (columns 11..14, rows 11..14 of version 3 hold no
	 * function pattern) painted grey; module (20, 12) far beyond "set". */
	for (int j = 11; j < 15; j++)
		for (int i = 11; i < 15; i++)
			means[j * size + i] = 0.43f;
	assert_int_equal(sym.modules[12 * size + 20], 1);
	means[12 * size + 20] = 0.02f;
	semqr__soft_from_means(3, means, dark);
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			float p = dark[j * size + i];
			int truth = sym.modules[j * size + i];
			int in_patch = i >= 11 && i < 15 && j >= 11 && j < 15;
			int beside = !in_patch && i >= 10 && i < 16 && j >= 10 && j < 16 &&
			             ((i >= 11 && i < 15) || (j >= 11 && j < 15));
			if (in_patch)
				assert_true(fabsf(p - 0.5f) < 0.1f);
			else if (beside) /* their neighbours' levels are uncertain */
				assert_true((p > 0.5f) == truth);
			else
				assert_true(fabsf(p - (float)truth) < 0.05f);
		}
}

/* Local levels (semqr__soft_from_means, a background varying across the
 * symbol): module means of a version-3 symbol multiplied by a field that
 * varies over some 13 modules, 1 + 0.3 sin(2 pi i / 12.7 + ...) cos(2 pi j /
 * 14.3 + ...) (as a textured substrate modulates the scene), the unset level
 * 0.5 and the set one 0.35, plus noise of sigma 0.01, 20 trials: where the
 * field is low an unset module is darker than a set one where it is high,
 * so the single pair of levels the model had before misread up to 127 of
 * the 841 modules and none of the 20 decoded (measured with the local
 * levels switched off). With them every trial decodes to its payload with
 * at most 40 modules misread (measured: 32). */
static void test_local_levels(void **state)
{
	static semqr_symbol sym;
	static float means[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	const char *text = "local levels";
	encode(text, 3, &sym);
	int size = sym.size;
	ref_rng rng;
	ref_rng_seed(&rng, 9);
	int worst = 0, ok = 0;
	for (int trial = 0; trial < 20; trial++) {
		for (int j = 0; j < size; j++)
			for (int i = 0; i < size; i++) {
				double t = 1.0 + 0.3 * sin(6.283185307179586 * i / 12.7 + 0.7 + trial) *
				                     cos(6.283185307179586 * j / 14.3 + 1.9 + 0.3 * trial);
				int k = j * size + i;
				means[k] = (float)(t * (sym.modules[k] ? 0.35 : 0.5)) +
				           0.01f * ref_rng_gauss(&rng);
			}
		semqr__soft_from_means(3, means, dark);
		int wrong = 0;
		for (int k = 0; k < size * size; k++)
			wrong += (dark[k] > 0.5f) != (sym.modules[k] != 0);
		worst = wrong > worst ? wrong : worst;
		semqr_soft_matrix m = {size, dark};
		semqr_decoded d;
		semqr_error err;
		if (semqr_decode_matrix(&m, NULL, &d, &err) == SEMQR_OK) {
			ok += d.payload_len == strlen(text) && memcmp(d.payload, text, d.payload_len) == 0;
			semqr_decoded_free(&d);
		}
	}
	printf("local levels: %d of 20 decoded, at most %d modules misread\n", ok, worst);
	assert_int_equal(ok, 20);
	assert_true(worst <= 40);
}

/* End to end through the decoder: 30 renderings of a version-4 symbol at
 * 5 px/module under noise sigma 0.12 against a level difference of 0.3
 * (pixel CNR 2.5): every one decodes to its payload. */
static void test_decodes(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	const char *text = "soft sampling at CNR 2.5";
	encode(text, 4, &sym);
	double h[9];
	affine(5.0, 0.7, 120.0, 2.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 4);
	int ok = 0;
	for (int trial = 0; trial < 30; trial++) {
		render(&sym, h, 0.55f, 0.25f, 0.12f, &rng, img);
		semqr__grey_image g = {img, W, W, H};
		semqr__located loc;
		located(&sym, h, &loc);
		semqr__sample_soft(&g, &loc, dark);
		semqr_soft_matrix m = {sym.size, dark};
		semqr_decoded d;
		semqr_error err;
		if (semqr_decode_matrix(&m, NULL, &d, &err) == SEMQR_OK) {
			ok += d.payload_len == strlen(text) && memcmp(d.payload, text, d.payload_len) == 0;
			semqr_decoded_free(&d);
		}
	}
	printf("decoded %d of 30 at CNR 2.5\n", ok);
	assert_int_equal(ok, 30);
}

/* Hard centre sampling (semqr__sample_centre) on the noiseless symbol of
 * test_clean, both polarities: every p is exactly 0 or 1 and equals the
 * module's value, so the matrix decodes to the payload with no error. */
static void test_centre_clean(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], dark[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	const char *text = "clean sampling";
	encode(text, 3, &sym);
	double h[9];
	affine(6.0, 0.3, 70.0, 10.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 1);
	for (int inverse = 0; inverse < 2; inverse++) {
		render(&sym, h, inverse ? 0.8f : 0.2f, inverse ? 0.3f : 0.7f, 0.0f, &rng, img);
		semqr__grey_image g = {img, W, W, H};
		semqr__located loc;
		located(&sym, h, &loc);
		semqr__sample_centre(&g, &loc, 0.5, dark);
		for (int k = 0; k < sym.size * sym.size; k++)
			assert_true(dark[k] == (float)sym.modules[k]);
		semqr_soft_matrix m = {sym.size, dark};
		semqr_decoded d;
		semqr_error err;
		assert_int_equal(semqr_decode_matrix(&m, NULL, &d, &err), SEMQR_OK);
		assert_int_equal(d.payload_len, strlen(text));
		assert_memory_equal(d.payload, text, d.payload_len);
		assert_int_equal(d.errors_total, 0);
		assert_int_equal(d.erasures_total, 0);
		semqr_decoded_free(&d);
	}
}

/* Centre against soft sampling on the renderings of test_decodes (30
 * trials, version 4 at 5 px/module, pixel CNR 2.5). One bilinear sample per
 * module keeps about the noise of a pixel, where the module mean averages
 * its footprint's samples (4 x 4 at 5 px per module): the hard decisions of the centre sampler
 * are wrong far more often than the soft sampler's (p > 0.5): more than 3
 * times as often, and at least 100 times over the 30 trials; centre p are
 * all 0 or 1 (no erasures); and the soft matrix decodes every trial while
 * the centre one decodes fewer. */
static void test_centre_noisy(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], soft[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX],
	    hard[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("soft sampling at CNR 2.5", 4, &sym);
	double h[9];
	affine(5.0, 0.7, 120.0, 2.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 4);
	int n = sym.size * sym.size, wrong_soft = 0, wrong_hard = 0, dec_soft = 0, dec_hard = 0;
	for (int trial = 0; trial < 30; trial++) {
		render(&sym, h, 0.55f, 0.25f, 0.12f, &rng, img);
		semqr__grey_image g = {img, W, W, H};
		semqr__located loc;
		located(&sym, h, &loc);
		semqr__sample_soft(&g, &loc, soft);
		semqr__sample_centre(&g, &loc, 0.5, hard);
		for (int k = 0; k < n; k++) {
			assert_true(hard[k] == 0.0f || hard[k] == 1.0f);
			wrong_soft += (soft[k] > 0.5f) != sym.modules[k];
			wrong_hard += (hard[k] > 0.5f) != sym.modules[k];
		}
		float *mats[2] = {soft, hard};
		int *dec[2] = {&dec_soft, &dec_hard};
		for (int k = 0; k < 2; k++) {
			semqr_soft_matrix m = {sym.size, mats[k]};
			semqr_decoded d;
			semqr_error err;
			if (semqr_decode_matrix(&m, NULL, &d, &err) == SEMQR_OK) {
				(*dec[k])++;
				semqr_decoded_free(&d);
			}
		}
	}
	printf("30 trials at CNR 2.5: module errors soft %d, centre %d; decoded soft %d, centre %d\n",
	       wrong_soft, wrong_hard, dec_soft, dec_hard);
	assert_true(wrong_hard > 3 * wrong_soft && wrong_hard >= 100);
	assert_int_equal(dec_soft, 30);
	assert_true(dec_hard < dec_soft);
}

/* The boundary of semqr__soft_from_means_at: threshold 0.5 is
 * semqr__soft_from_means exactly, and on a noisy symbol (noise sigma 0.2
 * against a level difference of 0.3) a lower threshold calls more data
 * modules set (their greys are moved towards the set level), a higher one
 * fewer. The known modules are not moved: the finders' centres stay set. */
static void test_threshold(void **state)
{
	static semqr_symbol sym;
	static float img[W * H], means[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX],
	    p[3][SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], base[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	encode("moving the boundary", 3, &sym);
	double h[9];
	affine(6.0, 0.2, 60.0, 20.0, h);
	ref_rng rng;
	ref_rng_seed(&rng, 9);
	render(&sym, h, 0.25f, 0.55f, 0.2f, &rng, img);
	semqr__grey_image g = {img, W, W, H};
	semqr__located loc;
	located(&sym, h, &loc);
	semqr__sample_module_means(&g, &loc, means);
	semqr__soft_from_means(3, means, base);
	const double thresholds[3] = {0.3, 0.5, 0.7};
	int set[3] = {0, 0, 0}, n = sym.size * sym.size;
	for (int t = 0; t < 3; t++) {
		semqr__soft_from_means_at(3, means, thresholds[t], p[t]);
		for (int k = 0; k < n; k++)
			set[t] += p[t][k] > 0.5f;
	}
	assert_memory_equal(p[1], base, (size_t)n * sizeof(float));
	printf("modules set at thresholds 0.3, 0.5, 0.7: %d %d %d\n", set[0], set[1], set[2]);
	assert_true(set[0] >= set[1] && set[1] >= set[2] && set[0] > set[2]);
	for (int t = 0; t < 3; t++)
		assert_true(p[t][3 * sym.size + 3] > 0.5f); /* top-left finder's centre */
}

/* The footprint choice and the means' normalisation (contract in locate.h).
 * semqr__sample_side: the wide footprint from 4.5 px per module, the narrow
 * one from 3.5 px, the small one below, judged by the Jacobian at the
 * symbol's centre (here a homography with w = 1.2 everywhere, which divides
 * the pitch; and one whose w varies, where only the centre's module
 * counts); narrow when h is not finite. Means: on a linear image g = 3x +
 * 5y + 1 (bilinear interpolation exact, footprints symmetric, weights
 * summing to 1) every module's mean is g at its centre, within float
 * rounding (1e-6 relative), for a turned symbol at 3, 4 and 6 px per
 * module (small, narrow, wide); the footprints' outermost samples reach
 * 8/32, 9/32 and 15/32 of a module, so a symbol whose modules of row 0
 * reach within 3/32 of a module of the image's top is missing there at 6
 * px (wide) and not at 3 or 4 px. */
static void test_footprint(void **state)
{
	double h[9];
	affine(4.4, 0.3, 50.0, 50.0, h);
	assert_int_equal(semqr__sample_side(h, 29), SEMQR__SAMPLE_SIDE_NARROW);
	affine(4.6, 0.3, 50.0, 50.0, h);
	assert_int_equal(semqr__sample_side(h, 29), SEMQR__SAMPLE_SIDE_WIDE);
	affine(3.4, 0.3, 50.0, 50.0, h);
	assert_int_equal(semqr__sample_side(h, 29), SEMQR__SAMPLE_SIDE_SMALL);
	affine(3.6, 0.3, 50.0, 50.0, h);
	assert_int_equal(semqr__sample_side(h, 29), SEMQR__SAMPLE_SIDE_NARROW);
	double scaled[9] = {5.0, 0.0, 10.0, 0.0, 5.0, 10.0, 0.0, 0.0, 1.2};
	assert_int_equal(semqr__sample_side(scaled, 29), SEMQR__SAMPLE_SIDE_NARROW);
	scaled[0] = scaled[4] = 5.6;
	assert_int_equal(semqr__sample_side(scaled, 29), SEMQR__SAMPLE_SIDE_WIDE);
	/* w = 1 + 0.01 (u - 14.5) and the centre at pixel (0, 0): the Jacobian
	 * there is the pitch (4.6, then 4.4), though modules elsewhere differ. */
	double persp[9] = {4.6, 0.0, -4.6 * 14.5, 0.0, 4.6, -4.6 * 14.5, 0.01, 0.0, 1.0 - 0.145};
	assert_int_equal(semqr__sample_side(persp, 29), SEMQR__SAMPLE_SIDE_WIDE);
	persp[0] = persp[4] = 4.4;
	persp[2] = persp[5] = -4.4 * 14.5;
	assert_int_equal(semqr__sample_side(persp, 29), SEMQR__SAMPLE_SIDE_NARROW);
	double bad[9] = {NAN, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0};
	assert_int_equal(semqr__sample_side(bad, 29), SEMQR__SAMPLE_SIDE_NARROW);

	static float img[W * H], means[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			img[y * W + x] = (float)(3 * x + 5 * y + 1);
	semqr__grey_image g = {img, W, W, H};
	static const double pitches[3] = {3.0, 4.0, 6.0};
	for (int f = 0; f < 3; f++) {
		semqr__located loc;
		memset(&loc, 0, sizeof loc);
		loc.version = 3;
		loc.size = 29;
		affine(pitches[f], 0.3, 80.0, 20.0, loc.h);
		semqr__sample_module_means(&g, &loc, means);
		int finite = 0;
		for (int j = 0; j < 29; j++)
			for (int i = 0; i < 29; i++) {
				double x, y;
				semqr__homography_apply(loc.h, i + 0.5, j + 0.5, &x, &y);
				float v = means[j * 29 + i];
				if (isnan(v))
					continue;
				double want = 3.0 * x + 5.0 * y + 1.0;
				assert_true(fabs(v - want) <= 1e-6 * want);
				finite++;
			}
		assert_true(finite > 29 * 29 / 2);
		/* Row 0's centres 0.5 - 3/32 - 0.01 of a module below the top: the
		 * wide footprint's last samples leave the image, the narrow and
		 * small ones' do not. */
		double top[9] = {pitches[f], 0.0,        10.0,
		                 0.0,        pitches[f], -(3.0 / 32.0 + 0.01) * pitches[f],
		                 0.0,        0.0,        1.0};
		memcpy(loc.h, top, sizeof top);
		semqr__sample_module_means(&g, &loc, means);
		assert_int_equal(isnan(means[5]), pitches[f] == 6.0);
		assert_false(isnan(means[29 + 5]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),        cmocka_unit_test(test_probabilities),
	    cmocka_unit_test(test_edges),        cmocka_unit_test(test_neighbour_levels),
	    cmocka_unit_test(test_local_levels), cmocka_unit_test(test_decodes),
	    cmocka_unit_test(test_centre_clean), cmocka_unit_test(test_centre_noisy),
	    cmocka_unit_test(test_threshold),    cmocka_unit_test(test_footprint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
