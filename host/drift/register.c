/* Tile registration by phase correlation with upsampled-DFT refinement
 * (contracts and the method in drift/register.h).
 *
 * Spectra are FFTW's r2c half spectra: h rows of w/2 + 1 complex values,
 * element (kx, ky) at ky * (w/2 + 1) + kx. The weights zero the Nyquist row
 * and column (ky = h/2, kx = w/2 for even sides) of the cross-power
 * spectrum: their frequency sign is ambiguous, which would make the refined
 * DFT, evaluated between pixels, disagree with the FFT's surface; under the
 * Hann window and the low-pass they hold almost no energy anyway. */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error_internal.h"
#include "drift/register.h"

#define TWO_PI 6.283185307179586

/* Half-width of the refined neighbourhood in pixels: the integer peak is
 * within 0.5 px of the true one, plus a margin for noise. */
#define REFINE_HALF_PX 0.75

struct semqr__register {
	int w, h, hw;      /* sides; hw = w/2 + 1 complex columns */
	int upsample;
	size_t n_real, n_spec;
	float *win_x, *win_y;       /* separable Hann window */
	float *tile;                /* windowed input (plan input) */
	fftwf_complex *spec;        /* forward output */
	int slots;
	fftwf_complex *ref_spec;    /* slots reference spectra, n_spec each */
	unsigned char *have_ref;    /* per slot: set and not flat */
	fftwf_complex *cross;       /* normalised cross-power spectrum, kept for refining */
	fftwf_complex *work;        /* copy of cross that the inverse plan consumes */
	float *corr;                /* inverse output: N times the correlation surface */
	float *weight;              /* n_spec spectral weights L(f), 0 at DC and Nyquist */
	double noise_rms;           /* RMS of corr over a noise-only pair: sqrt(sum L^2) */
	fftwf_plan fwd, inv;
	/* Refinement scratch: n = 2 m + 1 points per axis. */
	int m, n;
	float *ex_re, *ex_im;       /* hw x n: weight(kx) e^{2 pi i kx x_i / w} */
	float *a_re, *a_im;         /* h x n: the row pass */
	float *ey_re, *ey_im;       /* h x n: e^{2 pi i ky y_j / h} */
	semqr__register_times times;
};

/* FFTW's planner and wisdom functions are not thread-safe. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;
static int wisdom_imported;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Plans both transforms of r under the planner lock: from wisdom alone when
 * it covers them, else by measuring, then exporting the new wisdom to
 * SEMQR_FFTW_WISDOM. The arrays' contents are destroyed. */
static int make_plans(semqr__register *r)
{
	const char *path = getenv("SEMQR_FFTW_WISDOM");
	pthread_mutex_lock(&planner_lock);
	if (path && *path && !wisdom_imported)
		fftwf_import_wisdom_from_filename(path); /* a missing file is fine */
	wisdom_imported = 1;
	int measured = 0;
	for (int pass = 0; pass < 2 && !(r->fwd && r->inv); pass++) {
		unsigned flags = pass ? FFTW_MEASURE : FFTW_MEASURE | FFTW_WISDOM_ONLY;
		if (!r->fwd)
			r->fwd = fftwf_plan_dft_r2c_2d(r->h, r->w, r->tile, r->spec, flags);
		if (!r->inv)
			r->inv = fftwf_plan_dft_c2r_2d(r->h, r->w, r->work, r->corr, flags);
		measured = pass;
	}
	if (measured && path && *path)
		fftwf_export_wisdom_to_filename(path); /* an unwritable file is fine */
	pthread_mutex_unlock(&planner_lock);
	return r->fwd && r->inv ? 0 : -1;
}

void semqr__register_destroy(semqr__register *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&planner_lock);
	if (r->fwd)
		fftwf_destroy_plan(r->fwd);
	if (r->inv)
		fftwf_destroy_plan(r->inv);
	pthread_mutex_unlock(&planner_lock);
	fftwf_free(r->tile);
	fftwf_free(r->spec);
	fftwf_free(r->ref_spec);
	fftwf_free(r->cross);
	fftwf_free(r->work);
	fftwf_free(r->corr);
	free(r->have_ref);
	free(r->weight);
	free(r->win_x);
	free(r->win_y);
	free(r->ex_re);
	free(r->ex_im);
	free(r->a_re);
	free(r->a_im);
	free(r->ey_re);
	free(r->ey_im);
	free(r);
}

/* Hann window over n samples, sampled at the sample centres so that no
 * weight is zero: 0.5 - 0.5 cos(2 pi (i + 0.5) / n). */
static void hann(float *v, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = (float)(0.5 - 0.5 * cos(TWO_PI * (i + 0.5) / n));
}

/* Signed frequency of FFT index k of an n-point transform. */
static int signed_freq(int k, int n)
{
	return k <= n / 2 ? k : k - n;
}

/* The weights L(f) = exp(-|f|^2 / fc^2) (1 for fc <= 0), f in cycles per
 * pixel, zero at DC and on the Nyquist row and column; and sqrt(sum L^2)
 * over the full spectrum (the half spectrum's columns 1 .. hw - 1 stand for
 * two columns each). */
static void make_weights(semqr__register *r, double fc)
{
	double sum2 = 0;
	for (int ky = 0; ky < r->h; ky++) {
		double fy = (double)signed_freq(ky, r->h) / r->h;
		for (int kx = 0; kx < r->hw; kx++) {
			double fx = (double)kx / r->w, l = 1;
			if (fc > 0)
				l = exp(-(fx * fx + fy * fy) / (fc * fc));
			if ((kx == 0 && ky == 0) || (r->w % 2 == 0 && kx == r->hw - 1) ||
			    (r->h % 2 == 0 && ky == r->h / 2))
				l = 0;
			r->weight[(size_t)ky * (size_t)r->hw + (size_t)kx] = (float)l;
			sum2 += (kx ? 2 : 1) * l * l;
		}
	}
	r->noise_rms = sqrt(sum2);
}

semqr_status semqr__register_create(int width, int height, int upsample, double lowpass,
                                    int slots, semqr__register **out, semqr_error *err)
{
	*out = NULL;
	if (width < 2 || height < 2 || width > SEMQR__REGISTER_SIDE_MAX ||
	    height > SEMQR__REGISTER_SIDE_MAX || upsample < 1 ||
	    upsample > SEMQR__REGISTER_UPSAMPLE_MAX || slots < 1 ||
	    slots > SEMQR__REGISTER_SIDE_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "drift registration: tile %d x %d (sides 2..%d), upsample %d "
		                   "(1..%d) or %d reference slots (1..%d) out of range",
		                   width, height, SEMQR__REGISTER_SIDE_MAX, upsample,
		                   SEMQR__REGISTER_UPSAMPLE_MAX, slots, SEMQR__REGISTER_SIDE_MAX);
	semqr__register *r = calloc(1, sizeof *r);
	if (!r)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "drift registration: out of memory");
	r->w = width;
	r->h = height;
	r->hw = width / 2 + 1;
	r->upsample = upsample;
	r->slots = slots;
	r->n_real = (size_t)width * (size_t)height;
	r->n_spec = (size_t)height * (size_t)r->hw;
	r->m = upsample > 1 ? (int)ceil(REFINE_HALF_PX * upsample) : 0;
	r->n = 2 * r->m + 1;
	size_t cbytes = r->n_spec * sizeof(fftwf_complex);
	r->tile = fftwf_malloc(r->n_real * sizeof(float));
	r->corr = fftwf_malloc(r->n_real * sizeof(float));
	r->spec = fftwf_malloc(cbytes);
	r->ref_spec = fftwf_malloc(cbytes * (size_t)slots);
	r->have_ref = calloc((size_t)slots, 1);
	r->weight = malloc(r->n_spec * sizeof(float));
	r->cross = fftwf_malloc(cbytes);
	r->work = fftwf_malloc(cbytes);
	r->win_x = malloc((size_t)width * sizeof(float));
	r->win_y = malloc((size_t)height * sizeof(float));
	size_t ex = (size_t)r->hw * (size_t)r->n, ey = (size_t)height * (size_t)r->n;
	r->ex_re = malloc(ex * sizeof(float));
	r->ex_im = malloc(ex * sizeof(float));
	r->a_re = malloc(ey * sizeof(float));
	r->a_im = malloc(ey * sizeof(float));
	r->ey_re = malloc(ey * sizeof(float));
	r->ey_im = malloc(ey * sizeof(float));
	if (!r->tile || !r->corr || !r->spec || !r->ref_spec || !r->cross || !r->work || !r->have_ref || !r->weight ||
	    !r->win_x || !r->win_y || !r->ex_re || !r->ex_im || !r->a_re || !r->a_im ||
	    !r->ey_re || !r->ey_im) {
		semqr__register_destroy(r);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "drift registration: out of memory for %d x %d tiles", width,
		                   height);
	}
	if (make_plans(r) != 0) {
		semqr__register_destroy(r);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "drift registration: FFTW could not plan %d x %d transforms",
		                   width, height);
	}
	make_weights(r, lowpass);
	hann(r->win_x, width);
	hann(r->win_y, height);
	*out = r;
	return SEMQR_OK;
}

/* tile = window * (src - weighted mean), the mean weighted by the window so
 * that the windowed tile has no DC; then the forward FFT into r->spec.
 * Returns 0 when the tile is flat (its spectrum is zero). */
static int window_fft(semqr__register *r, const float *src, size_t stride)
{
	double sum = 0, wsum = 0;
	float lo = src[0], hi = src[0];
	for (int y = 0; y < r->h; y++) {
		const float *row = src + (size_t)y * stride;
		double s = 0, ws = 0;
		for (int x = 0; x < r->w; x++) {
			s += (double)(r->win_x[x] * row[x]);
			ws += r->win_x[x];
			lo = fminf(lo, row[x]);
			hi = fmaxf(hi, row[x]);
		}
		sum += r->win_y[y] * s;
		wsum += r->win_y[y] * ws;
	}
	float mean = (float)(sum / wsum);
	for (int y = 0; y < r->h; y++) {
		const float *row = src + (size_t)y * stride;
		float *t = r->tile + (size_t)y * (size_t)r->w;
		for (int x = 0; x < r->w; x++)
			t[x] = r->win_y[y] * r->win_x[x] * (row[x] - mean);
	}
	fftwf_execute(r->fwd);
	return hi > lo;
}

void semqr__register_set_reference(semqr__register *r, int slot, const float *ref,
                                   size_t stride)
{
	double t0 = now();
	r->have_ref[slot] = (unsigned char)window_fft(r, ref, stride);
	memcpy(r->ref_spec + (size_t)slot * r->n_spec, r->spec,
	       r->n_spec * sizeof(fftwf_complex));
	r->times.window_fft += now() - t0;
}

/* cross = L spec conj(ref) / |spec conj(ref)| (zero where that vanishes);
 * work = cross; corr = inverse FFT of work. */
static void cross_power(semqr__register *r, const fftwf_complex *ref)
{
	for (size_t i = 0; i < r->n_spec; i++) {
		float gr = r->spec[i][0], gi = r->spec[i][1];
		float fr = ref[i][0], fi = ref[i][1];
		float pr = gr * fr + gi * fi, pi = gi * fr - gr * fi;
		float mag = sqrtf(pr * pr + pi * pi);
		if (mag > 1e-30f) {
			float g = r->weight[i] / mag;
			r->cross[i][0] = g * pr;
			r->cross[i][1] = g * pi;
		} else {
			r->cross[i][0] = r->cross[i][1] = 0.0f;
		}
	}
	memcpy(r->work, r->cross, r->n_spec * sizeof(fftwf_complex));
	fftwf_execute(r->inv);
}

/* The correlation surface (times N) at x0 + (i - m) / upsample,
 * y0 + (j - m) / upsample for i, j in 0..n-1, evaluated by the DFT of
 * r->cross as two matrix products; stores the largest value in *best and its
 * position in (*bx, *by). Over the half spectrum the full sum is
 * Re(sum_ky sum_kx wt(kx) R(kx, ky) e^{2 pi i (kx x / w + ky y / h)}) with
 * wt = 1 for kx = 0 and 2 otherwise (the Nyquist column being zero). */
static void refine(semqr__register *r, double x0, double y0, double *best, double *bx,
                   double *by)
{
	int n = r->n, m = r->m, hw = r->hw, h = r->h;
	double step = 1.0 / r->upsample;
	for (int kx = 0; kx < hw; kx++) {
		float wt = kx ? 2.0f : 1.0f;
		for (int i = 0; i < n; i++) {
			double a = TWO_PI * kx * (x0 + (i - m) * step) / r->w;
			r->ex_re[kx * n + i] = wt * (float)cos(a);
			r->ex_im[kx * n + i] = wt * (float)sin(a);
		}
	}
	for (int ky = 0; ky < h; ky++) {
		int f = signed_freq(ky, h);
		for (int j = 0; j < n; j++) {
			double a = TWO_PI * f * (y0 + (j - m) * step) / h;
			r->ey_re[ky * n + j] = (float)cos(a);
			r->ey_im[ky * n + j] = (float)sin(a);
		}
	}
	/* Row pass: A(ky, i) = sum_kx R(kx, ky) Ex(kx, i). */
	for (int ky = 0; ky < h; ky++) {
		float *are = r->a_re + (size_t)ky * (size_t)n, *aim = r->a_im + (size_t)ky * (size_t)n;
		memset(are, 0, (size_t)n * sizeof(float));
		memset(aim, 0, (size_t)n * sizeof(float));
		const fftwf_complex *row = r->cross + (size_t)ky * (size_t)hw;
		for (int kx = 0; kx < hw; kx++) {
			float rr = row[kx][0], ri = row[kx][1];
			if (rr == 0.0f && ri == 0.0f)
				continue;
			const float *er = r->ex_re + kx * n, *ei = r->ex_im + kx * n;
			for (int i = 0; i < n; i++) {
				are[i] += rr * er[i] - ri * ei[i];
				aim[i] += rr * ei[i] + ri * er[i];
			}
		}
	}
	/* Column pass: c(i, j) = Re sum_ky Ey(ky, j) A(ky, i). */
	*best = -INFINITY;
	for (int j = 0; j < n; j++)
		for (int i = 0; i < n; i++) {
			double c = 0;
			for (int ky = 0; ky < h; ky++) {
				size_t e = (size_t)ky * (size_t)n;
				c += (double)(r->ey_re[e + (size_t)j] * r->a_re[e + (size_t)i] -
				              r->ey_im[e + (size_t)j] * r->a_im[e + (size_t)i]);
			}
			if (c > *best) {
				*best = c;
				*bx = x0 + (i - m) * step;
				*by = y0 + (j - m) * step;
			}
		}
}

void semqr__register_tile(semqr__register *r, int slot, const float *mov, size_t stride,
                          semqr__shift *out)
{
	double t0 = now();
	int textured = window_fft(r, mov, stride);
	double t1 = now();
	r->times.window_fft += t1 - t0;
	r->times.tiles++;
	out->dx = out->dy = out->quality = 0;
	if (!textured || !r->have_ref[slot])
		return;
	cross_power(r, r->ref_spec + (size_t)slot * r->n_spec);
	double t2 = now();
	r->times.cross_power += t2 - t1;

	size_t arg = 0;
	for (size_t i = 1; i < r->n_real; i++)
		if (r->corr[i] > r->corr[arg])
			arg = i;
	double peak = r->corr[arg];
	double px = signed_freq((int)(arg % (size_t)r->w), r->w);
	double py = signed_freq((int)(arg / (size_t)r->w), r->h);
	if (r->upsample > 1)
		refine(r, px, py, &peak, &px, &py);
	out->dx = px;
	out->dy = py;
	out->quality = peak > 0 ? peak / r->noise_rms : 0;
	r->times.peak += now() - t2;
}

semqr__register_times semqr__register_get_times(const semqr__register *r)
{
	return r->times;
}
