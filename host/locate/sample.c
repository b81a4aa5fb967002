/* The CPU soft sampler: module means from a grid of bilinear samples, turned
 * into p(set) with levels learnt from the symbol's known function modules
 * (contract in locate.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locate/locate.h"
#include "qr/qr_internal.h"

/* The footprints (contract and measurements in locate.h): per axis, the
 * samples' offsets from the module centre, in modules, and their weights
 * (summing to 1), so that the weight of sample (a, b) is weight[a] *
 * weight[b]. kernels/sample.cl holds the same tables in float (every entry
 * but the wide and small weights is exact there). */
typedef struct footprint {
	int side;
	double offset[SEMQR__SAMPLE_SIDE_WIDE], weight[SEMQR__SAMPLE_SIDE_WIDE];
} footprint;

static const footprint wide = {SEMQR__SAMPLE_SIDE_WIDE,
                               {-0.46875, -0.3125, -0.15625, 0.0, 0.15625, 0.3125, 0.46875},
                               {0.065576383842369981, 0.12920289930120246, 0.19408283901901222,
                                0.22227575567483052, 0.19408283901901222, 0.12920289930120246,
                                0.065576383842369981}};

static const footprint narrow = {
    SEMQR__SAMPLE_SIDE_NARROW, {-0.28125, -0.09375, 0.09375, 0.28125}, {0.25, 0.25, 0.25, 0.25}};

static const footprint small = {SEMQR__SAMPLE_SIDE_SMALL,
                                {-0.25, 0.0, 0.25},
                                {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0}};

int semqr__sample_side(const double h[9], int size)
{
	/* The Jacobian of (x, y) = (xn / w, yn / w) at the centre (c, c). */
	double c = 0.5 * size;
	double w = h[6] * c + h[7] * c + h[8];
	double x = (h[0] * c + h[1] * c + h[2]) / w, y = (h[3] * c + h[4] * c + h[5]) / w;
	double xu = (h[0] - x * h[6]) / w, xv = (h[1] - x * h[7]) / w;
	double yu = (h[3] - y * h[6]) / w, yv = (h[4] - y * h[7]) / w;
	double area = fabs(xu * yv - xv * yu);
	if (area >= SEMQR__SAMPLE_WIDE_MIN_PX * SEMQR__SAMPLE_WIDE_MIN_PX)
		return SEMQR__SAMPLE_SIDE_WIDE;
	if (area < SEMQR__SAMPLE_NARROW_MIN_PX * SEMQR__SAMPLE_NARROW_MIN_PX)
		return SEMQR__SAMPLE_SIDE_SMALL;
	return SEMQR__SAMPLE_SIDE_NARROW; /* also for an area that is not finite */
}

/* The bilinear interpolation of img at (x, y), inside [0, width - 1] x
 * [0, height - 1] (width, height >= 2): the four pixels around it, the last
 * row and column taking the cell before them. */
static double bilinear_at(const semqr__grey_image *img, double x, double y)
{
	int x0 = (int)x, y0 = (int)y;
	x0 -= x0 > img->width - 2;
	y0 -= y0 > img->height - 2;
	double fx = x - x0, fy = y - y0;
	const float *p = img->data + (size_t)y0 * (size_t)img->stride + (size_t)x0;
	const float *q = p + img->stride;
	double top = p[0] + fx * (p[1] - p[0]), bottom = q[0] + fx * (q[1] - q[0]);
	return top + fy * (bottom - top);
}

/* Adds to sum[i], for each module i of module row j of loc, the weighted
 * samples of footprint f's sample row b, and sets bad[i] when one leaves
 * the image. Without a grid correction the module's centre is (i + 0.5,
 * j + 0.5) exactly as the device sampler computes it. The homography is
 * evaluated per sample as in semqr__homography_apply, with the v terms
 * computed once per module and sample row, and one division per sample (a
 * reciprocal; positions differ from semqr__homography_apply's by an ulp or
 * so). The image is at least 2 x 2 (the caller's check). */
static void sample_row(const semqr__grey_image *img, const semqr__located *loc, const footprint *f,
                       int j, int b, double *sum, uint8_t *bad)
{
	const double *h = loc->h;
	double xmax = img->width - 1, ymax = img->height - 1;
	for (int i = 0; i < loc->size; i++) {
		double cu = i + 0.5, cv = j + 0.5;
		if (loc->grid.on) {
			double du, dv;
			semqr__grid_displacement(&loc->grid, i, j, &du, &dv);
			cu += du;
			cv += dv;
		}
		double v = cv + f->offset[b];
		double xv = h[1] * v + h[2], yv = h[4] * v + h[5], wv = h[7] * v + h[8];
		double row = 0.0;
		for (int a = 0; a < f->side; a++) {
			double u = cu + f->offset[a];
			double r = 1.0 / (h[6] * u + wv);
			double x = (h[0] * u + xv) * r, y = (h[3] * u + yv) * r;
			if (!(x >= 0.0 && y >= 0.0 && x <= xmax && y <= ymax)) {
				bad[i] = 1;
				break;
			}
			row += f->weight[a] * bilinear_at(img, x, y);
		}
		sum[i] += f->weight[b] * row;
	}
}

/* sample_row for a symbol whose every sample lies inside the image
 * (footprint_inside) and has no grid correction: the same positions and
 * the same sums, without the per-sample test, in three passes over the
 * sample row (positions, bilinear values, weighted sums per module) that
 * leave the processor independent work instead of one chain of dependent
 * operations per module: 25 % less time per module on the narrow
 * footprint, with the same results. */
static void sample_row_inside(const semqr__grey_image *img, const semqr__located *loc,
                              const footprint *f, int j, int b, double *sum)
{
	enum { ROW_MAX = SEMQR_SIZE_MAX * SEMQR__SAMPLE_SIDE_WIDE };
	double xs[ROW_MAX], ys[ROW_MAX], val[ROW_MAX];
	const double *h = loc->h;
	const int side = f->side, n = loc->size * side;
	double v = j + 0.5 + f->offset[b];
	double xv = h[1] * v + h[2], yv = h[4] * v + h[5], wv = h[7] * v + h[8];
	for (int i = 0; i < loc->size; i++)
		for (int a = 0; a < side; a++) {
			double u = i + 0.5 + f->offset[a];
			double r = 1.0 / (h[6] * u + wv);
			double x = (h[0] * u + xv) * r, y = (h[3] * u + yv) * r;
			xs[i * side + a] = x;
			ys[i * side + a] = y;
		}
	/* bilinear_at without its clamps: footprint_inside keeps x and y
	 * within [1, width - 2] and [1, height - 2] */
	const float *data = img->data;
	const size_t stride = (size_t)img->stride;
	for (int s = 0; s < n; s++) {
		int x0 = (int)xs[s], y0 = (int)ys[s];
		double fx = xs[s] - x0, fy = ys[s] - y0;
		const float *p = data + (size_t)y0 * stride + (size_t)x0;
		const float *q = p + stride;
		double top = p[0] + fx * (p[1] - p[0]), bottom = q[0] + fx * (q[1] - q[0]);
		val[s] = top + fy * (bottom - top);
	}
	for (int i = 0; i < loc->size; i++) {
		double row = 0.0;
		for (int a = 0; a < side; a++)
			row += f->weight[a] * val[i * side + a];
		sum[i] += f->weight[b] * row;
	}
}

/* Whether every sample of footprint f of loc (without a grid correction)
 * lies inside the image: the samples span the square [lo, size - lo] in u
 * and v (lo = 1/2 + the footprint's first offset), whose image is a convex
 * quadrilateral when h's denominator is positive at its four corners (it is
 * affine in u and v, so then positive across the square), inside the image
 * when its corners are. Conservative: a NAN fails. */
static int footprint_inside(const semqr__grey_image *img, const semqr__located *loc,
                            const footprint *f)
{
	const double *h = loc->h;
	double lo = 0.5 + f->offset[0], hi = loc->size - lo;
	for (int k = 0; k < 4; k++) {
		double u = k == 1 || k == 2 ? hi : lo, v = k >= 2 ? hi : lo;
		double w = h[6] * u + h[7] * v + h[8];
		if (!(w > 0.0))
			return 0;
		double x = (h[0] * u + h[1] * v + h[2]) / w, y = (h[3] * u + h[4] * v + h[5]) / w;
		/* a pixel's margin for the reciprocal's rounding in sample_row */
		if (!(x >= 1.0 && y >= 1.0 && x <= img->width - 2 && y <= img->height - 2))
			return 0;
	}
	return 1;
}

/* Rounds of the neighbour model: each decides every module again with the
 * levels fitted to the previous decisions; the last one writes p. */
#define SOFT_ROUNDS 3

/* Prior weight of a damaged module: one whose grey lies anywhere between the
 * two levels (a missing or half-milled module, a particle's flank). */
#define DAMAGED_PRIOR 0.02

/* e^x in float precision, which the probabilities, stored as float, do not
 * resolve beyond, for a third of the time of exp. x is clamped to
 * [-100, 100]: e^-100 (4e-44) changes no sum it enters beside the largest
 * term, 1, and leaves a logistic's p within 4e-44 of 0 or 1; the cast to
 * float needs x in range. */
static double exp_float(double x)
{
	x = x < -100.0 ? -100.0 : x > 100.0 ? 100.0 : x;
	return (double)expf((float)x);
}

/* p(set | g) for levels l0 (unset), l1 (set) with Gaussian noise of spread
 * sd (given as inv_sd = 1 / sd), mixed with the damaged class: uniform between the levels with weight
 * DAMAGED_PRIOR, set or unset alike. A grey far from both levels but between
 * them comes out near 0.5. log_uniform is the damaged class's log density
 * relative to the Gaussians', log(DAMAGED_PRIOR sqrt(2 pi) sd / |l1 - l0|)
 * (damaged_log_density). As p > 1/2 exactly when the set Gaussian's density
 * is the larger (the damaged class adds 1/2 of its weight to each side), a
 * decision alone needs no exponential: see nearer_set. g and the levels are
 * finite. The exponentials are taken in float (exp_float). */
static double posterior(double g, double l0, double l1, double inv_sd, double log_uniform)
{
	double z0 = (g - l0) * inv_sd, z1 = (g - l1) * inv_sd;
	/* Log densities; the Gaussians' common factor 1 / (sqrt(2 pi) sd) moves
	 * to the uniform's. Scaled by the largest, so that a grey many spreads
	 * beyond one level still goes to the nearer one. */
	double e0 = -0.5 * z0 * z0, e1 = -0.5 * z1 * z1;
	double lo = l0 < l1 ? l0 : l1, hi = l0 < l1 ? l1 : l0;
	if (!(g >= lo && g <= hi && hi > lo))
		/* outside the levels the damaged class has no weight: the two
		 * Gaussians' logistic, one exponential */
		return 1.0 / (1.0 + exp_float(e0 - e1));
	double top = e0 > e1 ? e0 : e1;
	if (log_uniform > top)
		top = log_uniform;
	double n0 = e0 == top ? 1.0 : exp_float(e0 - top);
	double n1 = e1 == top ? 1.0 : exp_float(e1 - top);
	double u = log_uniform == top ? 1.0 : exp_float(log_uniform - top);
	return (n1 + 0.5 * u) / (n0 + n1 + u);
}

/* The damaged class's log density for posterior; -INFINITY when the levels
 * coincide (posterior then never uses it). */
static double damaged_log_density(double l0, double l1, double sd)
{
	double gap = fabs(l1 - l0);
	return gap > 0.0 ? log(DAMAGED_PRIOR * 2.5066282746310002 * sd / gap) : -INFINITY;
}

/* posterior(g, l0, l1, ...) > 1/2, i.e. g nearer the set level. */
static int nearer_set(double g, double l0, double l1)
{
	return fabs(g - l1) < fabs(g - l0);
}

void semqr__known_modules(int version, uint8_t *known, uint8_t *value)
{
	int size = 17 + 4 * version;
	semqr_symbol ref;
	memset(&ref, 0, sizeof ref);
	ref.version = version;
	ref.size = size;
	ref.ecc = SEMQR_ECC_L;
	ref.mask = 0;
	semqr__draw_function_patterns(&ref);
	semqr__function_map(version, known);
	int pos1[18], pos2[18];
	semqr__format_positions(version, pos1, pos2);
	for (int k = 0; k < 15; k++)
		known[pos1[k]] = known[pos2[k]] = 0;
	if (version >= 7) {
		semqr__version_positions(version, pos1, pos2);
		for (int k = 0; k < 18; k++)
			known[pos1[k]] = known[pos2[k]] = 0;
	}
	for (int k = 0; k < size * size; k++)
		value[k] = known[k] && ref.modules[k] ? 1 : 0;
}

void semqr__sample_module_means(const semqr__grey_image *img, const semqr__located *loc,
                                float *means)
{
	int size = loc->size;
	if (img->width < 2 || img->height < 2) {
		for (int k = 0; k < size * size; k++)
			means[k] = NAN;
		return;
	}
	int side = semqr__sample_side(loc->h, size);
	const footprint *f = side == SEMQR__SAMPLE_SIDE_WIDE     ? &wide
	                     : side == SEMQR__SAMPLE_SIDE_NARROW ? &narrow
	                                                         : &small;
	int fast = !loc->grid.on && footprint_inside(img, loc, f);
	/* Sample rows in order: a symbol's samples then walk its rows of pixels
	 * rather than jump between them module by module. */
	for (int j = 0; j < size; j++) {
		double sum[SEMQR_SIZE_MAX] = {0.0};
		uint8_t bad[SEMQR_SIZE_MAX] = {0};
		for (int b = 0; b < f->side; b++)
			if (fast)
				sample_row_inside(img, loc, f, j, b, sum);
			else
				sample_row(img, loc, f, j, b, sum, bad);
		for (int i = 0; i < size; i++)
			means[j * size + i] = bad[i] ? NAN : (float)sum[i];
	}
}

/* The two-level logistic of the first decision: mu0, mu1 and the pooled
 * variance of the known modules, none of them missing. Returns 0 when the
 * levels are not apart (|mu1 - mu0| <= s / 4), else 1 with the logistic's
 * slope and midpoint, and mu1 - mu0 in *diff_out. */
static int global_levels(int n, const uint8_t *known, const uint8_t *value, const float *means,
                         double *slope, double *mid, double *diff_out)
{
	double sum[2] = {0.0, 0.0}, sq[2] = {0.0, 0.0};
	int cnt[2] = {0, 0};
	for (int k = 0; k < n; k++)
		if (known[k] && isfinite(means[k])) {
			int c = value[k];
			sum[c] += means[k];
			sq[c] += (double)means[k] * means[k];
			cnt[c]++;
		}
	if (cnt[0] < 2 || cnt[1] < 2)
		return 0;
	double mu0 = sum[0] / cnt[0], mu1 = sum[1] / cnt[1];
	double var = (sq[0] - sum[0] * mu0 + sq[1] - sum[1] * mu1) / (cnt[0] + cnt[1] - 2);
	double diff = mu1 - mu0;
	/* A floor on the spread keeps a noiseless image finite (p saturates). */
	if (var < 1e-4 * diff * diff)
		var = 1e-4 * diff * diff;
	if (!(diff * diff > var / 16.0 && var > 0.0))
		return 0;
	*slope = diff / var;
	*mid = 0.5 * (mu0 + mu1);
	*diff_out = diff;
	return 1;
}

/* nbc[k] = the number of set modules among the 4-neighbours of module k
 * under the decisions dec (outside the matrix: the quiet zone, unset). */
static void neighbour_counts(const uint8_t *dec, int size, uint8_t *nbc)
{
	for (int j = 0; j < size; j++) {
		const uint8_t *row = dec + j * size;
		uint8_t *out = nbc + j * size;
		for (int i = 0; i < size; i++)
			out[i] = (uint8_t)((i > 0 ? row[i - 1] : 0) + (i < size - 1 ? row[i + 1] : 0));
		if (j > 0)
			for (int i = 0; i < size; i++)
				out[i] = (uint8_t)(out[i] + row[i - size]);
		if (j < size - 1)
			for (int i = 0; i < size; i++)
				out[i] = (uint8_t)(out[i] + row[i + size]);
	}
}

/* The neighbour-dependent levels of the known modules under decisions dec
 * (nbc: their neighbour counts): per class c, level(c, nb) = a[c] + b[c] nb
 * by least squares, and the pooled residual variance *var (floored as in
 * global_levels). Returns 0 when a class has fewer than 3 modules. */
static int neighbour_levels(int size, const uint8_t *known, const uint8_t *dec,
                            const uint8_t *nbc, const float *means, double a[2], double b[2],
                            double *var)
{
	double s[2][5] = {{0.0}}; /* count, sum nb, sum nb^2, sum g, sum nb g */
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			int k = j * size + i;
			if (!known[k] || !isfinite(means[k]))
				continue;
			double nb = nbc[k], g = means[k];
			double *t = s[dec[k]];
			t[0] += 1.0;
			t[1] += nb;
			t[2] += nb * nb;
			t[3] += g;
			t[4] += nb * g;
		}
	if (s[0][0] < 3.0 || s[1][0] < 3.0)
		return 0;
	for (int c = 0; c < 2; c++) {
		double *t = s[c], det = t[0] * t[2] - t[1] * t[1];
		/* No spread in nb (det near 0): a constant level. */
		b[c] = det > 1e-9 * t[0] * t[0] ? (t[0] * t[4] - t[1] * t[3]) / det : 0.0;
		a[c] = (t[3] - b[c] * t[1]) / t[0];
	}
	double rss = 0.0;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			int k = j * size + i;
			if (!known[k] || !isfinite(means[k]))
				continue;
			int c = dec[k];
			double r = means[k] - a[c] - b[c] * nbc[k];
			rss += r * r;
		}
	*var = rss / (s[0][0] + s[1][0] - 4.0);
	double diff = a[1] - a[0];
	if (*var < 1e-4 * diff * diff)
		*var = 1e-4 * diff * diff;
	return 1;
}

/* The grey of module k as the decision sees it: data modules are moved by
 * (0.5 - threshold) times the level difference (l1 - l0), which puts the
 * boundary between the two classes at `threshold` of the way from the unset
 * level to the set one instead of half way; known modules are not moved
 * (they define the levels). */
static double moved(const uint8_t *known, const float *means, int k, double threshold,
                    double diff)
{
	return known[k] ? means[k] : means[k] + (0.5 - threshold) * diff;
}

/* Local levels. A background that varies across the symbol (a textured
 * substrate modulating the scene, uneven charging) moves both levels from
 * module to module, which the neighbour model's single pair of levels does
 * not follow: its residuals on the known modules are then correlated between
 * 4-neighbours, while noise leaves them independent. When their lag-1
 * correlation c1 / c0 reaches LOCAL_MIN_CORRELATION (the varying part holds
 * at least as much variance as the noise, as c1 estimates the former and
 * c0 - c1 the latter), the levels become local: for module k and class c,
 * the Gaussian-weighted mean (LOCAL_SIGMA modules, out to LOCAL_RADIUS) of
 * the means of the modules of class c around k, k itself left out (so that
 * a module does not pull its own levels), with LOCAL_PRIOR modules' weight
 * of the class's mean over the symbol (where a class is rare nearby); then
 * the neighbour model's terms on top, fitted to the known modules' residuals
 * from their local levels. LOCAL_ROUNDS rounds each decide the data modules
 * again from the last decisions. Independent residuals have c1 / c0 of mean
 * 0 and standard error 1 / sqrt(pairs of known modules). Measured: at most
 * 0.07 on datasets/low-dose.tif (flattened and denoised), at most 0.24 on
 * datasets/damaged.tif (a patch of grey data modules, which local levels
 * would take for background), 0.77 to 0.83 on datasets/texture.tif (a real
 * SEM texture, 50 %, modulating the scene), where local levels take the
 * first sampling from 31 wrong codewords of 70 to 11. */
#define LOCAL_MIN_CORRELATION 0.5
#define LOCAL_SIGMA 1.0
#define LOCAL_RADIUS 3
#define LOCAL_PRIOR 0.5
#define LOCAL_ROUNDS 3

/* The lag-1 correlation c1 / c0 of the known modules' residuals under
 * decisions dec (neighbour counts nbc) and levels a, b (as
 * neighbour_levels); 0 when there are too few. */
static double known_correlation(int size, const uint8_t *known, const uint8_t *dec,
                                const uint8_t *nbc, const float *means, const double a[2],
                                const double b[2])
{
	double c0 = 0.0, c1 = 0.0;
	int n0 = 0, n1 = 0;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			int k = j * size + i;
			if (!known[k] || !isfinite(means[k]))
				continue;
			double r = means[k] - a[dec[k]] - b[dec[k]] * nbc[k];
			c0 += r * r;
			n0++;
			/* the right and lower neighbours, when known */
			for (int q = 0; q < 2; q++) {
				int ii = i + (q == 0), jj = j + (q == 1), m = jj * size + ii;
				if (ii >= size || jj >= size || !known[m] || !isfinite(means[m]))
					continue;
				c1 += r * (means[m] - a[dec[m]] - b[dec[m]] * nbc[m]);
				n1++;
			}
		}
	return n0 >= 2 && n1 >= 2 && c0 > 0.0 ? (c1 / n1) / (c0 / n0) : 0.0;
}

/* The local levels of every module under decisions dec: level[c][k] for
 * class c (see above; missing modules are left out). */
static void local_levels(int size, const uint8_t *dec, const float *means, float *level[2])
{
	double sum[2] = {0.0, 0.0};
	int cnt[2] = {0, 0};
	for (int k = 0; k < size * size; k++)
		if (isfinite(means[k])) {
			sum[dec[k]] += means[k];
			cnt[dec[k]]++;
		}
	double mu[2] = {cnt[0] ? sum[0] / cnt[0] : 0.0, cnt[1] ? sum[1] / cnt[1] : 0.0};
	double w[LOCAL_RADIUS + 1];
	for (int d = 0; d <= LOCAL_RADIUS; d++)
		w[d] = exp(-0.5 * d * d / (LOCAL_SIGMA * LOCAL_SIGMA));
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			double sw[2] = {LOCAL_PRIOR, LOCAL_PRIOR};
			double sg[2] = {LOCAL_PRIOR * mu[0], LOCAL_PRIOR * mu[1]};
			for (int dj = -LOCAL_RADIUS; dj <= LOCAL_RADIUS; dj++) {
				int jj = j + dj;
				if (jj < 0 || jj >= size)
					continue;
				for (int di = -LOCAL_RADIUS; di <= LOCAL_RADIUS; di++) {
					int ii = i + di, m = jj * size + ii;
					if (ii < 0 || ii >= size || (di == 0 && dj == 0) || !isfinite(means[m]))
						continue;
					double wm = w[di < 0 ? -di : di] * w[dj < 0 ? -dj : dj];
					sw[dec[m]] += wm;
					sg[dec[m]] += wm * means[m];
				}
			}
			level[0][j * size + i] = (float)(sg[0] / sw[0]);
			level[1][j * size + i] = (float)(sg[1] / sw[1]);
		}
}

/* The local model's rounds (see local_levels) from decisions dec (changed):
 * writes p into dark as the neighbour model's last round does, with each
 * module's own levels. diff is the global level difference, for the
 * variance floor. Returns 0, dark untouched, when a class of the known
 * modules has fewer than 3 modules or there is no memory for the levels
 * (14 bytes per module, on the heap: a version-40 symbol's would take
 * 440 KB of a decoder thread's stack). */
static int local_rounds(int size, const uint8_t *known, const uint8_t *value, const float *means,
                        double threshold, double diff, uint8_t *dec, float *dark)
{
	int n = size * size, ok = 1;
	float *lv0 = malloc((size_t)n * (3 * sizeof(float) + 2));
	if (!lv0)
		return 0;
	float *lv1 = lv0 + n, *e = lv1 + n;
	uint8_t *next = (uint8_t *)(e + n), *nbc = next + n;
	float *level[2] = {lv0, lv1};
	for (int round = 0; ok && round < LOCAL_ROUNDS; round++) {
		local_levels(size, dec, means, level);
		for (int k = 0; k < n; k++)
			e[k] = means[k] - level[dec[k]][k];
		neighbour_counts(dec, size, nbc);
		double a[2], b[2], var;
		if (!neighbour_levels(size, known, dec, nbc, e, a, b, &var)) {
			ok = 0;
			break;
		}
		if (var < 1e-4 * diff * diff)
			var = 1e-4 * diff * diff;
		double sd = sqrt(var), inv_sd = 1.0 / sd;
		int last = round == LOCAL_ROUNDS - 1;
		for (int j = 0; j < size; j++)
			for (int i = 0; i < size; i++) {
				int k = j * size + i, nb = nbc[k];
				double l0 = lv0[k] + a[0] + b[0] * nb, l1 = lv1[k] + a[1] + b[1] * nb;
				if (!last) {
					next[k] = known[k] ? value[k]
					                   : isfinite(means[k]) &&
					                         nearer_set(moved(known, means, k, threshold,
					                                          l1 - l0),
					                                    l0, l1);
					continue;
				}
				dark[k] = isfinite(means[k])
				              ? (float)posterior(moved(known, means, k, threshold, l1 - l0),
				                                 l0, l1, inv_sd, damaged_log_density(l0, l1, sd))
				              : 0.5f;
			}
		if (!last)
			memcpy(dec, next, (size_t)n);
	}
	free(lv0);
	return ok;
}

void semqr__soft_from_means_at(int version, const float *means, double threshold, float *dark)
{
	int size = 17 + 4 * version, n = size * size;
	uint8_t known[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], value[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	uint8_t dec[2][SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], nbc[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr__known_modules(version, known, value);
	double slope, mid, diff;
	if (!global_levels(n, known, value, means, &slope, &mid, &diff)) {
		for (int k = 0; k < n; k++)
			dark[k] = 0.5f;
		return;
	}
	/* First decision: the global logistic's; missing modules unset. */
	for (int k = 0; k < n; k++)
		dec[0][k] = known[k] ? value[k]
		                     : isfinite(means[k]) &&
		                           slope * (moved(known, means, k, threshold, diff) - mid) > 0.0;

	int cur = 0;
	double a[2], b[2], var;
	for (int round = 0; round < SOFT_ROUNDS; round++) {
		neighbour_counts(dec[cur], size, nbc);
		if (!neighbour_levels(size, known, dec[cur], nbc, means, a, b, &var))
			break;
		if (round < SOFT_ROUNDS - 1) {
			/* A decision per module, known ones kept. */
			for (int j = 0; j < size; j++)
				for (int i = 0; i < size; i++) {
					int k = j * size + i, nb = nbc[k];
					double l0 = a[0] + b[0] * nb, l1 = a[1] + b[1] * nb;
					dec[1 - cur][k] =
					    known[k] ? value[k]
					             : isfinite(means[k]) &&
					                   nearer_set(moved(known, means, k, threshold, l1 - l0),
					                              l0, l1);
				}
			cur = 1 - cur;
			continue;
		}
		/* The last round: local levels when the known modules call for
		 * them, else p from these levels, with the damaged class's density
		 * per count of set neighbours. */
		if (known_correlation(size, known, dec[cur], nbc, means, a, b) >=
		        LOCAL_MIN_CORRELATION &&
		    local_rounds(size, known, value, means, threshold, diff, dec[cur], dark))
			return;
		double sd = sqrt(var), inv_sd = 1.0 / sd, log_uniform[5];
		for (int nb = 0; nb < 5; nb++)
			log_uniform[nb] = damaged_log_density(a[0] + b[0] * nb, a[1] + b[1] * nb, sd);
		for (int j = 0; j < size; j++)
			for (int i = 0; i < size; i++) {
				int k = j * size + i;
				float p = 0.5f;
				if (isfinite(means[k])) {
					int nb = nbc[k];
					double l0 = a[0] + b[0] * nb, l1 = a[1] + b[1] * nb;
					p = (float)posterior(moved(known, means, k, threshold, l1 - l0), l0, l1,
					                     inv_sd, log_uniform[nb]);
				}
				dark[k] = p;
			}
		return;
	}
	/* The neighbour model could not be fitted: the global logistic. */
	for (int k = 0; k < n; k++)
		dark[k] = isfinite(means[k])
		              ? (float)(1.0 / (1.0 + exp(-slope * (moved(known, means, k, threshold,
		                                                         diff) - mid))))
		              : 0.5f;
}

void semqr__soft_from_means(int version, const float *means, float *dark)
{
	semqr__soft_from_means_at(version, means, 0.5, dark);
}

void semqr__sample_soft(const semqr__grey_image *img, const semqr__located *loc, float *dark)
{
	semqr__sample_module_means(img, loc, dark);
	semqr__soft_from_means(loc->version, dark, dark);
}

void semqr__sample_soft_at(const semqr__grey_image *img, const semqr__located *loc,
                           double threshold, float *dark)
{
	semqr__sample_module_means(img, loc, dark);
	semqr__soft_from_means_at(loc->version, dark, threshold, dark);
}

void semqr__sample_centre(const semqr__grey_image *img, const semqr__located *loc,
                          double threshold, float *dark)
{
	int size = loc->size, n = size * size;
	uint8_t known[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX], value[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	semqr__known_modules(loc->version, known, value);
	/* The levels from the module means (as the soft sampler's step 1), then
	 * dark is overwritten with the decisions. */
	semqr__sample_module_means(img, loc, dark);
	double slope, mid, diff;
	if (!global_levels(n, known, value, dark, &slope, &mid, &diff)) {
		for (int k = 0; k < n; k++)
			dark[k] = 0.5f;
		return;
	}
	/* The boundary at `threshold` of the way from the unset level mid -
	 * diff / 2 to the set level mid + diff / 2. */
	double cut = mid + (threshold - 0.5) * diff;
	for (int j = 0; j < size; j++)
		for (int i = 0; i < size; i++) {
			double x, y, du = 0.0, dv = 0.0;
			int ok = 1;
			if (loc->grid.on)
				semqr__grid_displacement(&loc->grid, i, j, &du, &dv);
			semqr__homography_apply(loc->h, i + 0.5 + du, j + 0.5 + dv, &x, &y);
			double g = semqr__grey_bilinear(img, x, y, &ok);
			dark[j * size + i] = ok && (g - cut) * diff > 0.0 ? 1.0f : 0.0f;
		}
}
