/* Decoding axis-aligned, noise-free synthetic symbol images ("pure" images),
 * such as semqr_render or qrencode output, at any module size of at least one
 * pixel, integer or not.
 *
 * Algorithm
 * 1. Threshold at the midpoint of the darkest and lightest grey: a pixel is
 *    dark when 2v < min + max. A uniform image has no dark modules.
 * 2. The bounding box of the dark pixels is the symbol: the finder patterns
 *    fill its top-left, top-right and bottom-left corners.
 * 3. The top-left finder: its top and left edges give its extent; the row
 *    and the column through its middle must show dark-light-dark-light-dark
 *    runs in the proportions 1:1:3:1:1. Their total lengths (7 modules each)
 *    give the module size.
 * 4. The version: module row 6 and column 6 cross both finders and the
 *    timing pattern, giving 2 + (size - 17) / 2 + 1 = 2v + 3 dark runs each.
 *    When both lines agree on a valid version it is taken; otherwise the
 *    bounding box width over the module size is snapped to the nearest
 *    17 + 4v.
 * 5. The module pitch is the bounding box size over the size in modules, per
 *    axis; the box must be square within one module.
 * 6. Each module is sampled as the mean grey of the pixels whose centres lie
 *    in its central half (or the pixel under its centre when that is empty),
 *    mapped to p(dark) = 1 - (mean - min) / (max - min), and the soft matrix
 *    goes to semqr_decode_matrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

typedef struct binary {
	const semqr_image *img;
	uint32_t lim; /* min + max */
} binary;

static int dark(const binary *b, int x, int y)
{
	return 2 * semqr__pixel(b->img, x, y) < b->lim;
}

/* Lengths of up to n alternating runs, dark first, from (x, y) in steps of
 * (dx, dy) within the image. Returns how many runs were found. */
static int runs(const binary *b, int x, int y, int dx, int dy, int n, int *len)
{
	int count = 0, want = 1;
	while (count < n) {
		int l = 0;
		while (x >= 0 && y >= 0 && x < b->img->width && y < b->img->height &&
		       dark(b, x, y) == want) {
			l++;
			x += dx;
			y += dy;
		}
		if (l == 0)
			break;
		len[count++] = l;
		want = !want;
	}
	return count;
}

/* Dark runs along n pixels from (x, y) in steps of (dx, dy). */
static int count_dark_runs(const binary *b, int x, int y, int dx, int dy, int n)
{
	int count = 0, prev = 0;
	for (int i = 0; i < n; i++, x += dx, y += dy) {
		int d = dark(b, x, y);
		count += d && !prev;
		prev = d;
	}
	return count;
}

/* Finds the 1:1:3:1:1 runs of the finder along a line from (x, y); returns
 * their total length in pixels, or 0 when they are not there. Each run may
 * be off its ideal length by half a module and half a pixel (pixel edges of
 * a non-integer module size). */
static int finder_line(const binary *b, int x, int y, int dx, int dy)
{
	static const int units[5] = {1, 1, 3, 1, 1};
	int len[5];
	if (runs(b, x, y, dx, dy, 5, len) < 5)
		return 0;
	int total = len[0] + len[1] + len[2] + len[3] + len[4];
	double unit = total / 7.0;
	for (int i = 0; i < 5; i++)
		if (fabs(len[i] - units[i] * unit) > 0.5 * unit + 0.5)
			return 0;
	return total;
}

/* Pixels [*first, *last] whose centres lie in the central half of module j,
 * for modules of m pixels starting at pixel edge origin. */
static void module_span(double origin, double m, int j, int *first, int *last)
{
	int p0 = (int)ceil(origin + (j + 0.25) * m - 0.5);
	int p1 = (int)ceil(origin + (j + 0.75) * m - 0.5) - 1;
	if (p1 < p0)
		p0 = p1 = (int)floor(origin + (j + 0.5) * m);
	*first = p0;
	*last = p1;
}

/* Where the symbol lies: its bounding box in pixels and its size in modules. */
typedef struct geometry {
	int x0, y0, width, height;
	int size;
} geometry;

/* Steps 2 to 5. */
static semqr_status locate(const binary *b, geometry *g, semqr_error *err)
{
	const semqr_image *img = b->img;
	int x0 = img->width, y0 = img->height, x1 = -1, y1 = -1;
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			if (dark(b, x, y)) {
				x0 = x < x0 ? x : x0;
				x1 = x > x1 ? x : x1;
				y0 = y < y0 ? y : y0;
				y1 = y > y1 ? y : y1;
			}
		}
	}
	int bw = x1 - x0 + 1, bh = y1 - y0 + 1;

	/* The finder's top and left edges are 7 modules of dark. */
	int edge_h = 0, edge_v = 0, fw = 0, fh = 0;
	if (dark(b, x0, y0)) {
		runs(b, x0, y0, 1, 0, 1, &edge_h);
		runs(b, x0, y0, 0, 1, 1, &edge_v);
		fw = finder_line(b, x0, y0 + edge_v / 2, 1, 0);
		fh = finder_line(b, x0 + edge_h / 2, y0, 0, 1);
	}
	if (!fw || !fh)
		return semqr__fail(
		    err, SEMQR_ERR_DECODE,
		    "no finder pattern at the top-left corner (%d, %d) of the dark area "
		    "(%dx%d pixels): no 1:1:3:1:1 dark-light runs",
		    x0, y0, bw, bh);
	double module = (fw + fh) / 14.0;

	/* Rows and columns through the middle of module row and column 6. */
	int yt = y0 + fh - 1 - (int)(fh / 14.0), xt = x0 + fw - 1 - (int)(fw / 14.0);
	int dh = count_dark_runs(b, x0, yt, 1, 0, bw);
	int dv = count_dark_runs(b, xt, y0, 0, 1, bh);
	int version;
	if (dh == dv && dh % 2 == 1 && dh >= 2 * SEMQR_VERSION_MIN + 3 &&
	    dh <= 2 * SEMQR_VERSION_MAX + 3) {
		version = (dh - 3) / 2;
	} else {
		double estimate = ((bw + bh) / 2.0 / module - 17) / 4;
		version = estimate < SEMQR_VERSION_MIN   ? SEMQR_VERSION_MIN
		          : estimate > SEMQR_VERSION_MAX ? SEMQR_VERSION_MAX
		                                         : (int)lround(estimate);
	}
	int n = 17 + 4 * version;
	double pitch = (bw + bh) / (2.0 * n);
	if (abs(bw - bh) > pitch)
		return semqr__fail(err, SEMQR_ERR_DECODE,
		                   "the dark area is %dx%d pixels: not square within one module "
		                   "(%.2f pixels, version %d)",
		                   bw, bh, pitch, version);
	if ((double)bw / n < 1 || (double)bh / n < 1)
		return semqr__fail(err, SEMQR_ERR_DECODE,
		                   "version %d in %dx%d pixels: modules below one pixel", version,
		                   bw, bh);
	*g = (geometry){x0, y0, bw, bh, n};
	return SEMQR_OK;
}

/* Step 6: p[size * size] from the image whose grey spans lo..hi (lo < hi). */
static void sample(const semqr_image *img, const geometry *g, uint32_t lo, uint32_t hi, float *p)
{
	int n = g->size;
	double mx = (double)g->width / n, my = (double)g->height / n;
	for (int j = 0; j < n; j++) {
		int ya, yb;
		module_span(g->y0, my, j, &ya, &yb);
		for (int i = 0; i < n; i++) {
			int xa, xb;
			module_span(g->x0, mx, i, &xa, &xb);
			double sum = 0;
			for (int y = ya; y <= yb; y++)
				for (int x = xa; x <= xb; x++)
					sum += semqr__pixel(img, x, y);
			double mean = sum / ((double)(yb - ya + 1) * (xb - xa + 1));
			double d = 1 - (mean - lo) / (hi - lo);
			p[j * n + i] = (float)(d < 0 ? 0 : d > 1 ? 1 : d);
		}
	}
}

semqr_status semqr_decode_pure(const semqr_image *img, const semqr_decode_options *opts,
                               semqr_decoded *out, semqr_error *err)
{
	if (!out)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_decode_pure: out is NULL");
	memset(out, 0, sizeof *out);
	semqr_status st = semqr__check_image(img, "semqr_decode_pure", err);
	if (st != SEMQR_OK)
		return st;

	uint32_t lo = UINT32_MAX, hi = 0;
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			uint32_t v = semqr__pixel(img, x, y);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	if (lo == hi)
		return semqr__fail(err, SEMQR_ERR_DECODE,
		                   "no dark modules found (every pixel is %u)", (unsigned)lo);
	binary b = {img, lo + hi};
	geometry g = {0};
	st = locate(&b, &g, err);
	if (st != SEMQR_OK)
		return st;

	float *p = malloc((size_t)g.size * (size_t)g.size * sizeof *p);
	if (!p)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "cannot allocate a %dx%d soft matrix",
		                   g.size, g.size);
	sample(img, &g, lo, hi, p);
	semqr_soft_matrix m = {g.size, p};
	st = semqr_decode_matrix(&m, opts, out, err);
	free(p);
	return st;
}
