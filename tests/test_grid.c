/* Grid correction inside a symbol (host/locate/grid.c, semqr__grid_refine,
 * and the rescue of torn symbols in semqr__locate_symbol): plates rendered
 * by the simulator with distortion that changes while a symbol is scanned,
 * read by the CPU chain with and without the correction, against the
 * simulator's own truth; and one such plate through the scan decoder.
 *
 * The chain: frame 0 of a simulated plate -> ref_load_u8 -> ref_denoise ->
 * ref_binarize -> ref_finder -> semqr__finders_cluster ->
 * semqr__group_symbols (a triplet accepted when it locates) ->
 * semqr__locate_symbol at 0.35 (the scan decoder's min_timing 0.45 less its
 * 0.1 for weak symbols; grid correction included) in the denoised image ->
 * semqr__sample_soft in the loaded image (as the scan decoder samples its
 * flattened one) -> semqr_decode_matrix. Each located symbol is sampled a
 * second time with its correction turned off (grid.on = 0), which is
 * exactly what the locator gave before the correction existed, so the two
 * counts compare like with like. (A symbol the correction rescued, one whose
 * homography times below 0.35, is counted as located in both.)
 *
 * Truth. The simulator's scene position of every module centre
 * (semqr__sim_module_to_scene) and the image point whose sample lands on it
 * (semqr__sim_locate: drift, jumps, vibration, line jitter), plus any shift
 * applied to the rendered rows, give where each module really is; a grid's
 * error is the RMS distance of its module centres from those, in modules.
 *
 * Plates: 2048 x 2048 px at default physics (version 3, 49 nm modules at
 * 8 nm pixels: 6.1 px per module, 100 quanta per pixel, 64 symbols), seeded;
 * the numbers in the comments were measured on them. */
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
#include "semqr/decode.h"
#include "semqr/qr.h"
#include "semqr/scan.h"
#include "semqr/sim.h"
#include "semqr/truth.h"
#include "sim/sim_internal.h"
#include "support/ref.h"
#include "support/run.h"
#include "support/truth_count.h"

#define PI 3.14159265358979323846

/* ---- rendering ----------------------------------------------------------- */

typedef struct frame_sink {
	uint8_t *pix;
} frame_sink;

static semqr_status keep(void *user, int frame, int y0, int rows, int width, const void *pixels,
                         semqr_error *err)
{
	(void)err;
	frame_sink *f = user;
	if (frame == 0)
		memcpy(f->pix + (size_t)y0 * (size_t)width, pixels, (size_t)rows * (size_t)width);
	return SEMQR_OK;
}

/* Frame 0 of o (8 bits) into a malloc'd image of *w x *h. */
static uint8_t *render(const semqr_sim_options *o, int *w, int *h)
{
	long symbols;
	semqr_error err;
	assert_int_equal(semqr_sim_geometry(o, w, h, &symbols, &err), SEMQR_OK);
	frame_sink f = {malloc((size_t)*w * (size_t)*h)};
	assert_non_null(f.pix);
	assert_int_equal(semqr_sim_render(o, keep, &f, &err), SEMQR_OK);
	return f.pix;
}

/* Moves the content of row y of img (w x h) by shift[y] pixels along x
 * (out(x) = in(x - shift[y])), linear interpolation, ends replicated: scan
 * lines placed shift[y] off. */
static void shift_rows(uint8_t *img, int w, int h, const double *shift)
{
	float *line = malloc((size_t)w * sizeof *line);
	assert_non_null(line);
	for (int y = 0; y < h; y++) {
		uint8_t *row = img + (size_t)y * w;
		for (int x = 0; x < w; x++)
			line[x] = row[x];
		for (int x = 0; x < w; x++) {
			double s = x - shift[y];
			int a = (int)floor(s);
			double t = s - a;
			int a0 = a < 0 ? 0 : a >= w ? w - 1 : a;
			int a1 = a + 1 < 0 ? 0 : a + 1 >= w ? w - 1 : a + 1;
			row[x] = (uint8_t)lround(line[a0] + (line[a1] - line[a0]) * t);
		}
	}
	free(line);
}

/* ---- truth ----------------------------------------------------------------- */

/* Every symbol of a simulation: its payload, the image point of its centre
 * and of its module centres (pixel centres at integers, as the locator's). */
typedef struct plate_truth {
	int count, size;
	uint8_t (*payload)[64];
	size_t *payload_len;
	double *centre; /* [count][2] */
	float *module;  /* [count][size][size][2] */
} plate_truth;

static const float *truth_module(const plate_truth *t, int k, int i, int j)
{
	size_t sz = (size_t)t->size;
	return &t->module[(((size_t)k * sz + (size_t)j) * sz + (size_t)i) * 2];
}

/* shift: the rows' extra shift along x (shift_rows) of an image of h rows,
 * or NULL. */
static void truth_make(const semqr_sim_options *o, const double *shift, int h, plate_truth *t)
{
	semqr__sim sim;
	semqr_error err;
	assert_int_equal(semqr__sim_prepare(o, &sim, &err), SEMQR_OK);
	sim_symbol *s = calloc(1, sizeof *s);
	semqr_symbol *q = malloc(sizeof *q);
	assert_true(s && q);
	t->count = sim.rows * sim.cols;
	t->size = sim.size;
	size_t sz = (size_t)t->size;
	t->payload = malloc((size_t)t->count * sizeof *t->payload);
	t->payload_len = malloc((size_t)t->count * sizeof *t->payload_len);
	t->centre = malloc((size_t)t->count * 2 * sizeof *t->centre);
	t->module = malloc((size_t)t->count * sz * sz * 2 * sizeof *t->module);
	assert_true(t->payload && t->payload_len && t->centre && t->module);
	for (int k = 0; k < t->count; k++) {
		assert_int_equal(
		    semqr__sim_symbol_make(&sim, k / sim.cols, k % sim.cols, s, q, &err), SEMQR_OK);
		assert_true(s->payload_len <= sizeof t->payload[k]);
		memcpy(t->payload[k], s->payload, s->payload_len);
		t->payload_len[k] = s->payload_len;
		/* module centres, then (index size * size) the symbol's centre */
		for (int m = 0; m <= t->size * t->size; m++) {
			int centre = m == t->size * t->size;
			double mu = centre ? 0.5 * t->size : m % t->size + 0.5;
			double mv = centre ? 0.5 * t->size : m / t->size + 0.5;
			double qx, qy, x, y;
			semqr__sim_module_to_scene(&sim, s, mu, mv, &qx, &qy);
			semqr__sim_locate(&sim, 0, qx, qy, &x, &y);
			x -= 0.5; /* the simulator's pixel centres lie at half integers */
			y -= 0.5;
			if (shift) {
				long row = lround(y);
				x += shift[row < 0 ? 0 : row >= h ? h - 1 : row];
			}
			if (centre) {
				t->centre[2 * k] = x;
				t->centre[2 * k + 1] = y;
			} else {
				float *p = &t->module[((size_t)k * sz * sz + (size_t)m) * 2];
				p[0] = (float)x;
				p[1] = (float)y;
			}
		}
	}
	semqr__sim_symbol_free(s);
	free(s);
	free(q);
	semqr__sim_release(&sim);
}

static void truth_free(plate_truth *t)
{
	free(t->payload);
	free(t->payload_len);
	free(t->centre);
	free(t->module);
}

/* The module size of loc in pixels (its top side over its modules). */
static double module_px(const semqr__located *loc)
{
	return hypot(loc->corners[1][0] - loc->corners[0][0],
	             loc->corners[1][1] - loc->corners[0][1]) /
	       loc->size;
}

/* The truth symbol whose centre lies within a quarter of loc's side of
 * loc's centre, or -1. */
static int truth_match(const plate_truth *t, const semqr__located *loc)
{
	double cx, cy;
	semqr__homography_apply(loc->h, 0.5 * loc->size, 0.5 * loc->size, &cx, &cy);
	for (int k = 0; k < t->count; k++)
		if (hypot(t->centre[2 * k] - cx, t->centre[2 * k + 1] - cy) <
		    0.25 * loc->size * module_px(loc))
			return k;
	return -1;
}

/* RMS distance, in modules, of loc's module centres (its grid correction
 * included when on) from truth symbol k's. */
static double grid_error(const plate_truth *t, int k, const semqr__located *loc)
{
	double ss = 0.0;
	for (int j = 0; j < t->size; j++)
		for (int i = 0; i < t->size; i++) {
			double du = 0.0, dv = 0.0, x, y;
			if (loc->grid.on)
				semqr__grid_displacement(&loc->grid, i, j, &du, &dv);
			semqr__homography_apply(loc->h, i + 0.5 + du, j + 0.5 + dv, &x, &y);
			const float *m = truth_module(t, k, i, j);
			ss += (x - m[0]) * (x - m[0]) + (y - m[1]) * (y - m[1]);
		}
	return sqrt(ss / ((double)t->size * t->size)) / module_px(loc);
}

/* ---- the chain ------------------------------------------------------------- */

/* A copy of the w x h image `in` with r pixels of replicated edge on every
 * side; returns the allocation, *win the pointer to pixel (0, 0). */
static float *pad(const float *in, int w, int h, int r, float **win)
{
	int stride = w + 2 * r;
	float *p = malloc((size_t)stride * (size_t)(h + 2 * r) * sizeof *p);
	assert_non_null(p);
	for (int y = -r; y < h + r; y++)
		for (int x = -r; x < w + r; x++) {
			int xx = x < 0 ? 0 : x >= w ? w - 1 : x;
			int yy = y < 0 ? 0 : y >= h ? h - 1 : y;
			p[(size_t)(y + r) * stride + (x + r)] = in[(size_t)yy * w + xx];
		}
	*win = p + (size_t)r * stride + r;
	return p;
}

#define MIN_TIMING 0.35f /* the scan decoder locates at its min_timing 0.45 less 0.1 */
#define MAX_VERSION 10

static int check_in_image(void *user, const semqr__finder *finders, semqr__triplet *t)
{
	semqr__located loc;
	if (!semqr__locate_symbol(user, finders, t, MAX_VERSION, MIN_TIMING, &loc))
		return 0;
	t->version = loc.version;
	return 1;
}

/* What became of a plate's symbols. A symbol is located when a triplet
 * placed its grid within half a module of the truth (RMS). */
typedef struct plate_result {
	int symbols;         /* in the truth */
	int located;         /* symbols located */
	int with, without;   /* symbols decoded to their payload with / without the correction */
	int wrong;           /* payloads decoded that are not their symbol's, either way */
	int attempts;        /* triplets that located one of the symbols */
	int gained, lost;    /* of those, how many decoded with the correction only, without only */
	int corrected;       /* how many had a grid correction */
	int rescued;         /* how many were located only thanks to it (timing below MIN_TIMING) */
	int small;           /* how many had a homography within 0.1 module of the truth */
	int small_corrected; /* of those, how many had a grid correction */
	double err_with, err_without; /* mean grid error over the corrected ones, modules */
	double err_worst;             /* the largest grid error with the correction, over those */
	double err_rise;              /* the largest rise of the error the correction caused */
} plate_result;

/* Whether soft matrix dark decodes to truth symbol k's payload (1), to
 * another payload (-1) or not at all (0). Padding is not assumed: the tests
 * measure what the grid correction itself gains (with the pads of the
 * plates' short messages both sides decode more). */
static int decodes(const plate_truth *t, int k, int size, float *dark)
{
	semqr_soft_matrix m = {size, dark};
	semqr_decoded d;
	semqr_error err;
	semqr_decode_options o;
	semqr_decode_options_init(&o);
	o.use_padding = false;
	if (semqr_decode_matrix(&m, &o, &d, &err) != SEMQR_OK)
		return 0;
	int right = k >= 0 && d.payload_len == t->payload_len[k] &&
	            memcmp(d.payload, t->payload[k], d.payload_len) == 0;
	semqr_decoded_free(&d);
	return right ? 1 : -1;
}

static void scan(const uint8_t *pix, int w, int h, const plate_truth *t, double module_size,
                 plate_result *r)
{
	size_t np = (size_t)w * (size_t)h;
	memset(r, 0, sizeof *r);
	r->symbols = t->count;
	float *loaded = malloc(np * sizeof *loaded), *denoised = malloc(np * sizeof *denoised);
	uint8_t *bin = malloc(np);
	unsigned char *seen = calloc((size_t)t->count, 1); /* bits: located, with, without */
	assert_true(loaded && denoised && bin && seen);
	ref_load_u8(pix, w, w, h, 0.0f, 0.0f, loaded, w);
	float sigma = semqr__denoise_sigma((float)module_size);
	int rd = semqr__denoise_radius(sigma);
	float *win, *padded = pad(loaded, w, h, rd, &win);
	assert_int_equal(ref_denoise(win, w + 2 * rd, w, h, sigma, rd, denoised, w), 0);
	free(padded);
	int rb = (int)lround(1.25 * module_size);
	rb = rb < 1 ? 1 : rb > SEMQR__BINARIZE_RADIUS_MAX ? SEMQR__BINARIZE_RADIUS_MAX : rb;
	padded = pad(denoised, w, h, rb, &win);
	assert_int_equal(ref_binarize(win, w + 2 * rb, w, h, rb, 0.0f, bin, w, NULL), 0);
	free(padded);
	semqr__finder_params fp = {0.5f, 2.0f, (float)(3.0 * module_size)};
	int n = ref_finder(bin, w, denoised, w, w, h, &fp, NULL, 0);
	semqr__finder_candidate *fc = malloc(((size_t)n + 1) * sizeof *fc);
	semqr__run_candidate *rc = malloc(((size_t)n + 1) * sizeof *rc);
	semqr__finder *fi = malloc(((size_t)n / 2 + 1) * sizeof *fi);
	assert_true(fc && rc && fi);
	assert_int_equal(ref_finder(bin, w, denoised, w, w, h, &fp, fc, n), n);
	memcpy(rc, fc, (size_t)n * sizeof *rc);
	free(fc);
	free(bin);
	semqr_error err;
	int nf = 0, nt = 0;
	assert_int_equal(semqr__finders_cluster(rc, n, fi, &nf, &err), SEMQR_OK);
	semqr__triplet *tri = malloc(((size_t)nf / 3 + 1) * sizeof *tri);
	assert_non_null(tri);
	semqr__grey_image geo = {denoised, w, w, h}, smp = {loaded, w, w, h};
	assert_int_equal(
	    semqr__group_symbols(fi, nf, MAX_VERSION, check_in_image, &geo, tri, &nt, &err),
	    SEMQR_OK);
	static float with[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX],
	    without[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	for (int i = 0; i < nt; i++) {
		semqr__located loc;
		assert_true(semqr__locate_symbol(&geo, fi, &tri[i], MAX_VERSION, MIN_TIMING, &loc));
		/* the locator refines only the symbols it rescues; the others as the
		 * scan decoder does when they do not decode at once */
		if (!loc.grid.on)
			semqr__grid_refine(&geo, &loc);
		semqr__located plain = loc;
		plain.grid.on = 0;
		int k = truth_match(t, &loc);
		semqr__sample_soft(&smp, &loc, with);
		semqr__sample_soft(&smp, &plain, without);
		int a = decodes(t, k, loc.size, with), b = decodes(t, k, loc.size, without);
		r->wrong += (a < 0) + (b < 0);
		if (k < 0 || loc.size != t->size || grid_error(t, k, &plain) > 0.5)
			continue;
		seen[k] |= (unsigned char)(1 | (a > 0) << 1 | (b > 0) << 2);
		r->attempts++;
		r->rescued += loc.timing < MIN_TIMING;
		r->gained += a > 0 && b <= 0;
		r->lost += b > 0 && a <= 0;
		int small = grid_error(t, k, &plain) < 0.1;
		r->small += small;
		if (loc.grid.on) {
			double e = grid_error(t, k, &loc), e0 = grid_error(t, k, &plain);
			r->corrected++;
			r->small_corrected += small;
			r->err_with += e;
			r->err_without += e0;
			r->err_worst = fmax(r->err_worst, e);
			r->err_rise = fmax(r->err_rise, e - e0);
		} else {
			assert_memory_equal(with, without,
			                    (size_t)loc.size * loc.size * sizeof *with);
		}
	}
	for (int k = 0; k < t->count; k++) {
		r->located += seen[k] & 1;
		r->with += seen[k] >> 1 & 1;
		r->without += seen[k] >> 2 & 1;
	}
	if (r->corrected) {
		r->err_with /= r->corrected;
		r->err_without /= r->corrected;
	}
	free(seen);
	free(rc);
	free(fi);
	free(tri);
	free(loaded);
	free(denoised);
}

static void plate_options(semqr_sim_options *o, uint64_t seed)
{
	semqr_sim_options_init(o);
	o->rows = o->cols = 0;
	o->width = o->height = 2048;
	o->seed = seed;
}

/* Renders o (its rows then shifted by shift when not NULL), reads it and
 * prints the result. */
static void run(const semqr_sim_options *o, const double *shift, const char *what, plate_result *r)
{
	int w, h;
	uint8_t *pix = render(o, &w, &h);
	if (shift)
		shift_rows(pix, w, h, shift);
	plate_truth t;
	truth_make(o, shift, h, &t);
	scan(pix, w, h, &t, o->module_nm / o->pixel_nm, r);
	printf(
	    "%s: %d symbols, %d located, decoded %d with the correction, %d without, %d wrong; "
	    "%d triplets (%d decoded with the correction only, %d without only, %d rescued), %d "
	    "corrected (grid error %.3f -> %.3f modules, worst %.3f, largest rise %.3f), %d of %d "
	    "within 0.1 module corrected\n",
	    what, r->symbols, r->located, r->with, r->without, r->wrong, r->attempts, r->gained,
	    r->lost, r->rescued, r->corrected, r->err_without, r->err_with, r->err_worst,
	    r->err_rise, r->small_corrected, r->small);
	truth_free(&t);
	free(pix);
}

/* ---- sheared and stretched symbols -------------------------------------- */

/* Charging jumps inside the symbols: 16 per frame of 2 to 5 px in random
 * directions (0.33 to 0.82 module), so that about one symbol row in two
 * holds one; the rows after a jump are displaced (along the lines: shear;
 * across them: rows skipped or scanned twice). Measured: 57 of 64 decoded
 * with the correction, 36 without (64 located), none decoded without it
 * and not with it; the grid error of the 47 corrected symbols 0.282 ->
 * 0.176 module. */
static void test_jumps(void **state)
{
	(void)state;
	semqr_sim_options o;
	plate_options(&o, 5);
	o.jumps_per_frame = 16;
	o.jump_min_px = 2;
	o.jump_max_px = 5;
	plate_result r;
	run(&o, NULL, "charging jumps of 2-5 px", &r);
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.lost, 0);
	assert_true(r.with >= 55);
	assert_true(r.with >= r.without + 15);
	assert_true(r.corrected >= 30);
	assert_true(r.err_with < 0.75 * r.err_without);
}

/* Jumps of 4 to 8 px (0.65 to 1.3 module): rows end up more than half a
 * module from the homography, where only the whole-module steps read from
 * the known modules follow them. Measured: 36 of 64 decoded with the
 * correction, 16 without (49 located, 12 of them only thanks to the
 * correction: their homographies timed below 0.35); grid error 0.401 ->
 * 0.328 module. */
static void test_big_jumps(void **state)
{
	(void)state;
	semqr_sim_options o;
	plate_options(&o, 5);
	o.jumps_per_frame = 16;
	o.jump_min_px = 4;
	o.jump_max_px = 8;
	plate_result r;
	run(&o, NULL, "charging jumps of 4-8 px", &r);
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.lost, 0);
	assert_true(r.with >= 34);
	assert_true(r.with >= r.without + 15);
}

/* A known shift of every scan line, on a plate without any motion of its
 * own: 1.5 px sin(2 pi y / 97 px), a vibration along the lines whose period
 * (16 modules) is half a symbol, so that rows are sheared back and forth
 * inside each symbol by up to 0.25 module from any homography. Every
 * located symbol is corrected, every corrected grid lies within 0.15
 * module (RMS) of where the shift put the modules, and all decode.
 * Measured: 64 of 64 decoded with the correction, 56 without; grid error
 * 0.206 -> 0.081 module (worst 0.135). */
static void test_known_shift(void **state)
{
	(void)state;
	semqr_sim_options o;
	plate_options(&o, 7);
	o.drift_nm_per_min[0] = o.drift_nm_per_min[1] = 0;
	o.vibrations = 0;
	o.line_jitter_px = 0;
	double *shift = malloc((size_t)o.height * sizeof *shift);
	assert_non_null(shift);
	for (int y = 0; y < o.height; y++)
		shift[y] = 1.5 * sin(2.0 * PI * y / 97.0);
	plate_result r;
	run(&o, shift, "rows shifted by 1.5 px sin(2 pi y / 97)", &r);
	free(shift);
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.located, r.symbols);
	assert_int_equal(r.with, r.symbols);
	assert_true(r.without <= r.symbols - 4);
	assert_int_equal(r.corrected, r.attempts);
	assert_true(r.err_without > 0.18);
	assert_true(r.err_with < 0.1);
	assert_true(r.err_worst < 0.15);
}

/* The same shift on symbols turned a quarter turn: the scan lines now run
 * along the module columns, and the columns' terms (dv_col, du_col) take
 * it. Measured: 64 of 64 decoded with the correction, 57 without; grid
 * error 0.207 -> 0.083 module (worst 0.141). */
static void test_known_shift_turned(void **state)
{
	(void)state;
	semqr_sim_options o;
	plate_options(&o, 8);
	o.rotation_deg = 90;
	o.drift_nm_per_min[0] = o.drift_nm_per_min[1] = 0;
	o.vibrations = 0;
	o.line_jitter_px = 0;
	double *shift = malloc((size_t)o.height * sizeof *shift);
	assert_non_null(shift);
	for (int y = 0; y < o.height; y++)
		shift[y] = 1.5 * sin(2.0 * PI * y / 97.0);
	plate_result r;
	run(&o, shift, "turned 90 degrees, rows shifted", &r);
	free(shift);
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.with, r.symbols);
	assert_true(r.without <= r.symbols - 4);
	assert_true(r.err_with < 0.1);
	assert_true(r.err_worst < 0.16);
}

/* ---- clean symbols -------------------------------------------------------- */

/* Default physics (drift 8, 4 nm/min, vibration 0.05 px, line jitter 0.05
 * px: nothing a homography cannot follow within a symbol): no triplet that
 * decodes without the correction fails with it, every located symbol
 * decodes both ways, and no symbol whose homography lies within 0.1 module
 * of the truth gets a correction (scan checks that a symbol without one is
 * sampled identically). Also turned 17 degrees. Measured: 63 of 64 located
 * and decoded both ways, 2 of 65 triplets corrected (homographies 0.34
 * module off on average, 0.19 after); turned: 49 of 49, none corrected. */
static void test_clean(void **state)
{
	(void)state;
	for (int turned = 0; turned < 2; turned++) {
		semqr_sim_options o;
		plate_options(&o, 6);
		o.rotation_deg = turned ? 17 : 0;
		plate_result r;
		run(&o, NULL, turned ? "default physics, turned 17 degrees" : "default physics",
		    &r);
		assert_int_equal(r.wrong, 0);
		assert_true(r.located >= r.symbols - 1);
		assert_int_equal(r.with, r.located);
		assert_int_equal(r.without, r.located);
		assert_int_equal(r.lost, 0);
		assert_true(r.small > r.attempts / 2);
		assert_int_equal(r.small_corrected, 0);
		assert_true(r.corrected <= 2);
	}
}

/* ---- the scan decoder ------------------------------------------------------ */

/* The plate of test_jumps as a TIFF through semqr_decode_scan with default
 * options: the scan decoder samples through the corrected grid. Measured:
 * 58 of 64 decoded; the tree before the correction decoded 40. */
static void test_scan_decoder(void **state)
{
	(void)state;
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	char tiff[512], truth_path[512];
	snprintf(tiff, sizeof tiff, "%s/jumps.tif", SEMQR_TEST_TMP);
	snprintf(truth_path, sizeof truth_path, "%s/jumps.json", SEMQR_TEST_TMP);
	semqr_sim_options o;
	plate_options(&o, 5);
	o.jumps_per_frame = 16;
	o.jump_min_px = 2;
	o.jump_max_px = 5;
	semqr_error err;
	assert_int_equal(semqr_simulate(&o, tiff, truth_path, &err), SEMQR_OK);
	semqr_truth truth;
	assert_int_equal(semqr_truth_load(truth_path, &truth, &err), SEMQR_OK);
	semqr_scan *scan_file;
	assert_int_equal(semqr_scan_open(tiff, NULL, &scan_file, &err), SEMQR_OK);
	test_truth_count c = {&truth, 0, 0};
	assert_int_equal(semqr_decode_scan(scan_file, NULL, test_truth_count_symbol, &c, NULL, &err), SEMQR_OK);
	semqr_scan_close(scan_file);
	printf("scan decoder, charging jumps of 2-5 px: %d of %zu decoded, %d wrong\n", c.right,
	       truth.count, c.wrong);
	assert_int_equal(c.wrong, 0);
	assert_true(c.right >= 56);
	semqr_truth_free(&truth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jumps),       cmocka_unit_test(test_big_jumps),
	    cmocka_unit_test(test_known_shift), cmocka_unit_test(test_known_shift_turned),
	    cmocka_unit_test(test_clean),       cmocka_unit_test(test_scan_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
