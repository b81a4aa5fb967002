/* The instrument: where the beam lands and when, the probe, the detector.
 *
 * Time. Pixel (x, y) of frame f is acquired at
 *     t = f * frame_period + y * line_time + x * dwell
 * (frame_period = H * line_time + frame_gap, line_time = W * dwell + flyback).
 *
 * Position. The beam aims at the pixel, misses it by the line's jitter (x
 * only), the vibration at t and the static distortion, while the specimen has
 * moved by the drift and the charging jumps up to t; the scene point seen is
 *     q = (p + jitter(f, y) + vibration(t) + distortion(p) - drift(t) - jumps(t)) * pixel
 * with p the pixel's corner (x, y) plus the sample's offset inside it:
 *     drift(t) = v t + a t^2 / 2 (v in nm/min, a in nm/min^2, t in minutes),
 *     vibration(t) = sum_k A_k (cos d_k, sin d_k) sin(2 pi f_k t + phi_k),
 *     distortion = k r^2 (X, Y), (X, Y) from the image centre, r in half-widths,
 *                  plus line_start exp(-x / decay) along x.
 * Within a row the smooth part (drift and vibration, up to 200 Hz against
 * microsecond dwells) is evaluated exactly every 64 pixels and linearly
 * interpolated between; jumps and distortion are exact per pixel. The line
 * jitter moves the probe as a whole for one line, so it is applied after
 * the probe's blur (below): semqr__sim_row_positions leaves it out.
 *
 * Probe. (1 - w) core + w halo, applied as convolutions on the pixel grid of
 * a strip: the core is a Gaussian with sigma along the astigmatism angle
 * ratio times the sigma across it, separable when the angle is a multiple of
 * 90 degrees and a 2-D kernel otherwise; the halo an isotropic Gaussian. The
 * kernels are sampled Gaussians truncated at 4 sigma and normalised. On the
 * pixel grid means: motion within the probe's extent is taken as a
 * translation, which holds for drift and for vibration far below the pixel
 * rate. Line jitter does not hold to it (it changes from one line to the
 * next, within the probe's extent), so each line of the blurred image is
 * moved by its own jitter afterwards: the line reads the blurred scene at x
 * + jitter, interpolated with the Catmull-Rom cubic, the line's end pixels
 * repeated beyond the image.
 *
 * Detector. With q = dose / film_level quanta per full-scale unit, a pixel of
 * expected brightness s (full scale) counts n ~ Poisson(q s) quanta and reads
 * n / q, plus Gaussian read noise; the noise r of a line is correlated along
 * the fast axis as c_x = rho c_(x-1) + sqrt(1 - rho^2) r_x (c_0 = r_0, which
 * keeps its variance), and the line gets an offset drawn at that line. Then
 * v = offset + gain (s + c + line offset), clipped to [0, 1], raised to
 * 1/gamma and rounded to 8 or 16 bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "sim/sim_internal.h"

#define KNOT 64

/* Time (s) at which pixel (x, y) of frame f is acquired. */
static double pixel_time(const semqr__sim *sim, int frame, double x, double y)
{
	return frame * sim->frame_period_s + y * sim->line_time_s + x * sim->o.dwell_us * 1e-6;
}

/* ---- motion ------------------------------------------------------------- */

/* Drift in nm at time t (s). */
static void drift_nm(const semqr__sim *sim, double t, double *dx, double *dy)
{
	double m = t / 60;
	*dx = sim->o.drift_nm_per_min[0] * m + 0.5 * sim->o.drift_accel_nm_per_min2[0] * m * m;
	*dy = sim->o.drift_nm_per_min[1] * m + 0.5 * sim->o.drift_accel_nm_per_min2[1] * m * m;
}

/* Vibration minus drift, in pixels, at time t. */
static void smooth_px(const semqr__sim *sim, double t, double *sx, double *sy)
{
	double dx, dy;
	drift_nm(sim, t, &dx, &dy);
	double x = -dx / sim->o.pixel_nm, y = -dy / sim->o.pixel_nm;
	for (int k = 0; k < sim->vibrations; k++) {
		const sim_vibration *v = &sim->vib[k];
		double a = v->amp_px * sin(2 * SIM_PI * v->freq_hz * t + v->phase);
		x += a * v->dir_x;
		y += a * v->dir_y;
	}
	*sx = x;
	*sy = y;
}

/* Sum of the jumps at or before t, in pixels. */
static void jumps_px(const semqr__sim *sim, double t, double *jx, double *jy)
{
	double x = 0, y = 0;
	for (int k = 0; k < sim->jumps && sim->jump[k].t <= t; k++) {
		x += sim->jump[k].dx;
		y += sim->jump[k].dy;
	}
	*jx = x;
	*jy = y;
}

double semqr__sim_line_jitter(const semqr__sim *sim, int frame, int y)
{
	if (sim->o.line_jitter_px <= 0)
		return 0;
	semqr__rng r = semqr__rng_at(sim->o.seed, SIM_STREAM_LINE, (uint64_t)frame,
	                             (uint64_t)(int64_t)y, 1);
	return sim->o.line_jitter_px * semqr__rng_normal(&r);
}

/* Static distortion at pixel-centre coordinates (cx, cy), in pixels. */
static void distortion_px(const semqr__sim *sim, double cx, double cy, double *dx, double *dy)
{
	const semqr_sim_options *o = &sim->o;
	double hw = sim->width / 2.0;
	double X = cx - hw, Y = cy - sim->height / 2.0;
	double k = o->distortion * (X * X + Y * Y) / (hw * hw);
	*dx = k * X;
	*dy = k * Y;
	if (o->line_start_px != 0)
		*dx += o->line_start_px * exp(-fmax(cx, 0) / o->line_start_decay_px);
}

void semqr__sim_row_positions(const semqr__sim *sim, int frame, int y, int x0, int n,
                              float *qx, float *qy)
{
	const double px = sim->o.pixel_nm, dwell = sim->o.dwell_us * 1e-6;
	const double t0 = pixel_time(sim, frame, 0, y);
	double jx, jy;
	jumps_px(sim, t0 + x0 * dwell, &jx, &jy);
	int next_jump = 0;
	while (next_jump < sim->jumps && sim->jump[next_jump].t <= t0 + x0 * dwell)
		next_jump++;
	double ax = 0, ay = 0, bx, by;
	smooth_px(sim, t0 + x0 * dwell, &bx, &by);
	for (int i = 0; i < n; i++) {
		int x = x0 + i;
		if (i % KNOT == 0) {
			ax = bx, ay = by;
			smooth_px(sim, t0 + (x + KNOT) * dwell, &bx, &by);
		}
		double w = (double)(i % KNOT) / KNOT;
		double t = t0 + x * dwell;
		while (next_jump < sim->jumps && sim->jump[next_jump].t <= t) {
			jx += sim->jump[next_jump].dx;
			jy += sim->jump[next_jump].dy;
			next_jump++;
		}
		double dx, dy;
		distortion_px(sim, x + 0.5, y + 0.5, &dx, &dy);
		qx[i] = (float)((x + dx + ax + w * (bx - ax) - jx) * px);
		qy[i] = (float)((y + dy + ay + w * (by - ay) - jy) * px);
	}
}

void semqr__sim_locate(const semqr__sim *sim, int frame, double qx, double qy, double *px_out,
                       double *py_out)
{
	const double px = sim->o.pixel_nm;
	double X = qx / px, Y = qy / px;
	for (int it = 0; it < 50; it++) {
		double t = pixel_time(sim, frame, X - 0.5, Y - 0.5);
		double sx, sy, jx, jy, dx, dy;
		smooth_px(sim, t, &sx, &sy);
		jumps_px(sim, t, &jx, &jy);
		distortion_px(sim, X, Y, &dx, &dy);
		double jit = semqr__sim_line_jitter(sim, frame, (int)floor(Y));
		double nx = qx / px - (jit + dx + sx - jx);
		double ny = qy / px - (dy + sy - jy);
		double change = fabs(nx - X) + fabs(ny - Y);
		X = nx;
		Y = ny;
		if (change < 1e-9)
			break;
	}
	*px_out = X;
	*py_out = Y;
}

/* Drift along y (nm) at time t is v m + a m^2 / 2, m = t / 60: over [ta, tb]
 * its extremes lie at the ends or at the vertex m = -v / a. Row positions
 * interpolate it between knots up to KNOT pixels past the row's end, so tb
 * is taken there. */
void semqr__sim_strip_reach(const semqr__sim *sim, int frame, int y0, int y1, double *lo_nm,
                            double *hi_nm)
{
	const double px = sim->o.pixel_nm, v = sim->o.drift_nm_per_min[1];
	const double a = sim->o.drift_accel_nm_per_min2[1];
	const int P = sim->pad;
	double ma = pixel_time(sim, frame, -P, y0 - P) / 60;
	double mb = pixel_time(sim, frame, sim->width + P + KNOT, y1 - 1 + P) / 60;
	double da = v * ma + 0.5 * a * ma * ma, db = v * mb + 0.5 * a * mb * mb;
	double dmin = fmin(da, db), dmax = fmax(da, db);
	if (a != 0 && -v / a > ma && -v / a < mb) {
		double m = -v / a, d = v * m + 0.5 * a * m * m;
		dmin = fmin(dmin, d);
		dmax = fmax(dmax, d);
	}
	double bound = sim->motion_bound_px + 1;
	*lo_nm = (y0 - P - bound) * px - dmax;
	*hi_nm = (y1 + P + bound) * px - dmin;
}

/* ---- preparation -------------------------------------------------------- */

static int compare_jumps(const void *a, const void *b)
{
	const sim_jump *p = a, *q = b;
	return p->t < q->t ? -1 : p->t > q->t;
}

/* Sampled Gaussian of the given sigma truncated at 4 sigma, normalised;
 * sigma below 0.01 pixel gives the identity. */
static semqr_status gaussian(double sigma, sim_kernel *k, semqr_error *err)
{
	k->radius = sigma < 0.01 ? 0 : (int)ceil(4 * sigma);
	k->taps = malloc((size_t)(2 * k->radius + 1) * sizeof *k->taps);
	if (!k->taps)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for a kernel");
	double sum = 0;
	for (int i = -k->radius; i <= k->radius; i++)
		sum += k->radius ? exp(-0.5 * i * i / (sigma * sigma)) : 1;
	for (int i = -k->radius; i <= k->radius; i++)
		k->taps[i + k->radius] =
			(float)((k->radius ? exp(-0.5 * i * i / (sigma * sigma)) : 1) / sum);
	return SEMQR_OK;
}

static semqr_status probe_prepare(semqr__sim *sim, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	double major = o->psf_sigma_px * o->astig_ratio, minor = o->psf_sigma_px;
	double quarter = fmod(fabs(o->astig_angle_deg), 90);
	semqr_status st;
	if (o->astig_ratio == 1 || quarter == 0) {
		int across = o->astig_ratio != 1 && fmod(fabs(o->astig_angle_deg), 180) == 90;
		if ((st = gaussian(across ? minor : major, &sim->core_x, err)) != SEMQR_OK ||
		    (st = gaussian(across ? major : minor, &sim->core_y, err)) != SEMQR_OK)
			return st;
		sim->pad = sim->core_x.radius > sim->core_y.radius ? sim->core_x.radius
		                                                    : sim->core_y.radius;
	} else {
		int r = (int)ceil(4 * major), d = 2 * r + 1;
		sim->core_2d_radius = r;
		sim->core_2d = malloc((size_t)d * d * sizeof *sim->core_2d);
		if (!sim->core_2d)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory for the "
			                   "%d x %d probe kernel", d, d);
		double c = cos(o->astig_angle_deg * SIM_PI / 180);
		double s = sin(o->astig_angle_deg * SIM_PI / 180);
		double sum = 0;
		for (int pass = 0; pass < 2; pass++)
			for (int dy = -r; dy <= r; dy++)
				for (int dx = -r; dx <= r; dx++) {
					double a = dx * c + dy * s, b = -dx * s + dy * c;
					double v = exp(-0.5 * (a * a / (major * major) +
					                       b * b / (minor * minor)));
					float *tap = &sim->core_2d[(dy + r) * d + dx + r];
					if (pass == 0)
						sum += v;
					else
						*tap = (float)(v / sum);
				}
		sim->pad = r;
	}
	if (o->halo_weight > 0) {
		if ((st = gaussian(o->halo_sigma_nm / o->pixel_nm, &sim->halo, err)) != SEMQR_OK)
			return st;
		if (sim->halo.radius > sim->pad)
			sim->pad = sim->halo.radius;
	}
	return SEMQR_OK;
}

semqr_status semqr__sim_instrument_prepare(semqr__sim *sim, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	double dwell = o->dwell_us * 1e-6;
	sim->line_time_s = sim->width * dwell + o->flyback_us * 1e-6;
	sim->frame_time_s = sim->height * sim->line_time_s;
	sim->frame_period_s = sim->frame_time_s + o->frame_gap_s;
	sim->dose = o->beam_current_pa > 0 ? 6.24 * o->beam_current_pa * o->dwell_us *
	                                     o->detector_efficiency
	                                   : o->dose;
	if (!(sim->dose > 0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: the dose from beam "
		                   "current %g pA, dwell %g us and efficiency %g is zero",
		                   o->beam_current_pa, o->dwell_us, o->detector_efficiency);

	sim->vibrations = o->vibration_px > 0 ? o->vibrations : 0;
	double lf0 = log(o->vibration_min_hz), lf1 = log(o->vibration_max_hz);
	double vib_sum = 0;
	for (int k = 0; k < sim->vibrations; k++) {
		semqr__rng r = semqr__rng_at(o->seed, SIM_STREAM_VIBRATION, (uint64_t)k, 0, 0);
		sim_vibration *v = &sim->vib[k];
		v->freq_hz = exp(lf0 + semqr__rng_uniform(&r) * (lf1 - lf0));
		v->amp_px = semqr__rng_uniform(&r) * o->vibration_px;
		double d = semqr__rng_uniform(&r) * 2 * SIM_PI;
		v->dir_x = cos(d);
		v->dir_y = sin(d);
		v->phase = semqr__rng_uniform(&r) * 2 * SIM_PI;
		vib_sum += v->amp_px;
	}

	int cap = 0;
	double jump_sum = 0;
	for (int f = 0; f < o->frames && o->jumps_per_frame > 0; f++) {
		semqr__rng r = semqr__rng_at(o->seed, SIM_STREAM_JUMP, (uint64_t)f, 0, 0);
		int n = (int)semqr__rng_poisson(&r, o->jumps_per_frame);
		for (int k = 0; k < n; k++) {
			if (sim->jumps == cap) {
				cap = cap ? 2 * cap : 16;
				sim_jump *grown = realloc(sim->jump, (size_t)cap * sizeof *grown);
				if (!grown)
					return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "simulate: no memory "
					                   "for %d charging jumps", cap);
				sim->jump = grown;
			}
			double t = f * sim->frame_period_s + semqr__rng_uniform(&r) * sim->frame_time_s;
			double len = o->jump_min_px +
			             semqr__rng_uniform(&r) * (o->jump_max_px - o->jump_min_px);
			double d = semqr__rng_uniform(&r) * 2 * SIM_PI;
			sim->jump[sim->jumps++] = (sim_jump){f, t, len * cos(d), len * sin(d)};
			jump_sum += len;
		}
	}
	if (sim->jumps)
		qsort(sim->jump, (size_t)sim->jumps, sizeof *sim->jump, compare_jumps);

	semqr_status st = probe_prepare(sim, err);
	if (st != SEMQR_OK)
		return st;

	/* Bound on any pixel's displacement but the drift, halo rows and columns
	 * included (semqr__sim_strip_reach adds the drift of the strip's own
	 * time, which grows with the frame time). In doubles: width^2 overflows
	 * an int from 46341 pixels on. */
	double hw = sim->width / 2.0 + sim->pad, hh = sim->height / 2.0 + sim->pad;
	double half = sim->width / 2.0;
	double dist = fabs(o->distortion) * (hw * hw + hh * hh) / (half * half) * fmax(hw, hh);
	double start = fabs(o->line_start_px) * exp((sim->pad + 1) / o->line_start_decay_px);
	sim->motion_bound_px = jump_sum + vib_sum + 8 * o->line_jitter_px + dist + start + 1;
	return SEMQR_OK;
}

/* ---- probe -------------------------------------------------------------- */

/* out += weight * (kx (x) ky) * in over the strip. */
static void separable(const float *in, int rows, int width, int pad, const sim_kernel *kx,
                      const sim_kernel *ky, float weight, float *tmp, float *out)
{
	const int sw = width + 2 * pad;
	for (int j = 0; j < rows; j++) {
		float *t = tmp + (size_t)j * sw;
		memset(t, 0, (size_t)sw * sizeof *t);
		for (int i = -ky->radius; i <= ky->radius; i++) {
			const float *src = in + (size_t)(j + pad + i) * sw;
			const float k = ky->taps[i + ky->radius];
			for (int c = 0; c < sw; c++)
				t[c] += k * src[c];
		}
	}
	for (int j = 0; j < rows; j++) {
		const float *t = tmp + (size_t)j * sw + pad;
		float *o = out + (size_t)j * width;
		for (int i = -kx->radius; i <= kx->radius; i++) {
			const float k = weight * kx->taps[i + kx->radius];
			const float *src = t + i;
			for (int x = 0; x < width; x++)
				o[x] += k * src[x];
		}
	}
}

void semqr__sim_blur(const semqr__sim *sim, const float *in, int rows, float *tmp, float *out)
{
	const int W = sim->width, P = sim->pad, sw = W + 2 * P;
	const float hw = (float)sim->o.halo_weight;
	memset(out, 0, (size_t)rows * W * sizeof *out);
	if (sim->core_2d) {
		const int r = sim->core_2d_radius, d = 2 * r + 1;
		for (int j = 0; j < rows; j++) {
			float *o = out + (size_t)j * W;
			for (int a = 0; a < d; a++) {
				const float *src = in + (size_t)(j + P - r + a) * sw + P - r;
				for (int b = 0; b < d; b++) {
					const float k = (1 - hw) * sim->core_2d[a * d + b];
					for (int x = 0; x < W; x++)
						o[x] += k * src[x + b];
				}
			}
		}
	} else {
		separable(in, rows, W, P, &sim->core_x, &sim->core_y, 1 - hw, tmp, out);
	}
	if (hw > 0)
		separable(in, rows, W, P, &sim->halo, &sim->halo, hw, tmp, out);
}

/* ---- detector ----------------------------------------------------------- */

void semqr__sim_detect_row(const semqr__sim *sim, int frame, int y, const float *signal,
                           void *out)
{
	const semqr_sim_options *o = &sim->o;
	const int W = sim->width;
	const double maxval = o->bits == 8 ? 255 : 65535;
	const double q = sim->dose / o->film_level;
	const double read = o->read_noise_dn / 255;
	const double rho = o->fast_axis_rho, innov = sqrt(1 - rho * rho);
	const double inv_gamma = 1 / o->gamma;
	double line = 0;
	if (o->noise && o->line_noise > 0) {
		semqr__rng r = semqr__rng_at(o->seed, SIM_STREAM_LINE, (uint64_t)frame,
		                             (uint64_t)(int64_t)y, 0);
		line = o->line_noise * o->film_level / sqrt(sim->dose) * semqr__rng_normal(&r);
	}
	const semqr__rng shot = semqr__rng_at(o->seed, SIM_STREAM_SHOT, (uint64_t)frame,
	                                      (uint64_t)y, 0);
	const semqr__rng reads = semqr__rng_at(o->seed, SIM_STREAM_READ, (uint64_t)frame,
	                                       (uint64_t)y, 0);
	double c = 0, pair[2] = {0, 0};
	for (int x = 0; x < W; x++) {
		double s = signal[x] > 0 ? signal[x] : 0;
		double v = s;
		if (o->noise) {
			semqr__rng r = semqr__rng_derive(shot, (uint64_t)x);
			double noisy = semqr__rng_poisson(&r, q * s) / q;
			if (read > 0) {
				if (x % 2 == 0) {
					semqr__rng rr = semqr__rng_derive(reads, (uint64_t)x / 2);
					semqr__rng_normal_pair(&rr, &pair[0], &pair[1]);
				}
				noisy += read * pair[x % 2];
			}
			double e = noisy - s;
			c = x == 0 ? e : rho * c + innov * e;
			v = s + c + line;
		}
		v = o->offset + o->gain * v;
		v = v < 0 ? 0 : v > 1 ? 1 : v;
		if (o->gamma != 1)
			v = pow(v, inv_gamma);
		double dn = floor(v * maxval + 0.5);
		if (o->bits == 8)
			((uint8_t *)out)[x] = (uint8_t)dn;
		else
			((uint16_t *)out)[x] = (uint16_t)dn;
	}
}
