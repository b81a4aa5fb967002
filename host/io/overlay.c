/* The overlay picture: box-mean downscaling of a streamed scan, symbol
 * outlines and finder marks, written as RGB PNG (contract in overlay.h).
 *
 * Accumulation. The picture row in progress is a row of 64-bit sums, one
 * per picture column, at 16-bit full scale (a sum covers at most
 * SEMQR_IMAGE_DIM_MAX^2 = 2^40 values below 2^16, so it cannot overflow).
 * Each scan row added is summed into it; when the last scan row of the
 * row's boxes arrives, the sums become rounded means in the grey picture
 * and are cleared for the next row.
 *
 * Drawing. An edge is rasterised along its major axis: at every picture
 * column (or row) from the rounded start to the rounded end, the edge's
 * crossing c across the minor axis (the endpoint's when the column lies
 * beyond the edge's end) colours the pixels floor(c) and floor(c) + 1. The
 * columns are first limited to those where the edge lies within the picture
 * grown by one pixel, so that far-off or huge coordinates cost nothing; the
 * crossing is computed from the edge's slope, exact for level edges whatever
 * their length. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/overlay.h"

typedef struct symbol_record {
	float corners[4][2]; /* picture coordinates */
	float finders[3][2]; /* picture coordinates, when has_finders */
	uint8_t decoded, has_finders;
} symbol_record;

struct semqr__overlay {
	int scan_width, scan_height, scale;
	semqr_image grey;  /* 16-bit box means of the complete rows */
	uint64_t *sums;    /* the row in progress, one sum per picture column */
	int next_row;      /* first scan row not yet added */
	int complete_rows; /* picture rows finished in grey */
	symbol_record *symbols;
	size_t symbol_count, symbol_capacity;
};

/* Number of scan pixels in box index i along a side of n scan pixels. */
static int box_extent(int i, int scale, int n)
{
	int end = (i + 1) * scale < n ? (i + 1) * scale : n;
	return end - i * scale;
}

semqr__overlay *semqr__overlay_create(int scan_width, int scan_height, int max_side,
                                      semqr_error *err)
{
	if (scan_width < 1 || scan_width > SEMQR_IMAGE_DIM_MAX || scan_height < 1 ||
	    scan_height > SEMQR_IMAGE_DIM_MAX) {
		semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		            "overlay: scan size %dx%d outside 1..%d", scan_width, scan_height,
		            SEMQR_IMAGE_DIM_MAX);
		return NULL;
	}
	if (max_side < 1) {
		semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		            "overlay: picture side %d is not positive", max_side);
		return NULL;
	}
	semqr__overlay *ov = calloc(1, sizeof *ov);
	if (!ov) {
		semqr__fail(err, SEMQR_ERR_NO_MEMORY, "overlay: cannot allocate the overlay");
		return NULL;
	}
	int longest = scan_width > scan_height ? scan_width : scan_height;
	ov->scan_width = scan_width;
	ov->scan_height = scan_height;
	ov->scale = longest <= max_side ? 1 : (longest - 1) / max_side + 1;
	int width = (scan_width - 1) / ov->scale + 1;
	int height = (scan_height - 1) / ov->scale + 1;
	if (semqr_image_alloc(&ov->grey, width, height, 16, err) != SEMQR_OK) {
		free(ov);
		return NULL;
	}
	ov->sums = calloc((size_t)width, sizeof *ov->sums);
	if (!ov->sums) {
		semqr__fail(err, SEMQR_ERR_NO_MEMORY, "overlay: cannot allocate a row of %d sums",
		            width);
		semqr__overlay_free(ov);
		return NULL;
	}
	semqr__clear(err);
	return ov;
}

void semqr__overlay_free(semqr__overlay *ov)
{
	if (!ov)
		return;
	semqr_image_free(&ov->grey);
	free(ov->sums);
	free(ov->symbols);
	free(ov);
}

int semqr__overlay_scale(const semqr__overlay *ov)
{
	return ov->scale;
}

void semqr__overlay_picture_size(const semqr__overlay *ov, int *width, int *height)
{
	*width = ov->grey.width;
	*height = ov->grey.height;
}

const semqr_image *semqr__overlay_grey(const semqr__overlay *ov)
{
	return &ov->grey;
}

/* Means of the row in progress, from the sums of its first `rows` scan rows
 * (rows >= 1), into out (one value per picture column). */
static void row_means(const semqr__overlay *ov, int rows, uint16_t *out)
{
	for (int px = 0; px < ov->grey.width; px++) {
		uint64_t n = (uint64_t)box_extent(px, ov->scale, ov->scan_width) * (uint64_t)rows;
		out[px] = (uint16_t)((ov->sums[px] + n / 2) / n);
	}
}

/* Adds one scan row to the sums; 8-bit values count 257 times. */
static void add_row(semqr__overlay *ov, const void *row, int bits)
{
	const uint8_t *p8 = row;
	const uint16_t *p16 = row;
	for (int px = 0, x = 0; px < ov->grey.width; px++) {
		int end = x + box_extent(px, ov->scale, ov->scan_width);
		uint64_t sum = 0;
		if (bits == 8) {
			for (; x < end; x++)
				sum += p8[x];
			sum *= 257;
		} else {
			for (; x < end; x++)
				sum += p16[x];
		}
		ov->sums[px] += sum;
	}
}

semqr_status semqr__overlay_add_rows(semqr__overlay *ov, int y0, int rows, const void *pixels,
                                     int bits, size_t stride, semqr_error *err)
{
	if (!pixels)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "overlay: band has no pixels");
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "overlay: band of %d bits per pixel (must be 8 or 16)", bits);
	if (stride < (size_t)ov->scan_width)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "overlay: band stride %zu below the scan width %d", stride,
		                   ov->scan_width);
	if (rows < 1 || y0 < 0 || y0 > ov->scan_height - rows)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "overlay: band of %d rows at row %d outside the scan's %d rows",
		                   rows, y0, ov->scan_height);
	if (y0 > ov->next_row)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "overlay: band at row %d skips rows %d..%d (bands must come in "
		                   "order without gaps)",
		                   y0, ov->next_row, y0 - 1);
	size_t row_bytes = stride * (size_t)(bits / 8);
	for (int y = ov->next_row; y < y0 + rows; y++) {
		add_row(ov, (const uint8_t *)pixels + (size_t)(y - y0) * row_bytes, bits);
		ov->next_row = y + 1;
		int py = y / ov->scale;
		int box_rows = box_extent(py, ov->scale, ov->scan_height);
		if (ov->next_row == py * ov->scale + box_rows) {
			uint16_t *out = (uint16_t *)ov->grey.pixels + (size_t)py * ov->grey.stride;
			row_means(ov, box_rows, out);
			memset(ov->sums, 0, (size_t)ov->grey.width * sizeof *ov->sums);
			ov->complete_rows = py + 1;
		}
	}
	semqr__clear(err);
	return SEMQR_OK;
}

/* Scan coordinate to picture coordinate (pixel centres at integers in both). */
static float to_picture(const semqr__overlay *ov, float v)
{
	return (float)(((double)v + 0.5) / ov->scale - 0.5);
}

semqr_status semqr__overlay_symbol(semqr__overlay *ov, const float corners[4][2], int decoded,
                                   const float finders[3][2], semqr_error *err)
{
	if (!corners)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "overlay: symbol has no corners");
	for (int k = 0; k < 4; k++)
		if (!isfinite(corners[k][0]) || !isfinite(corners[k][1]))
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "overlay: symbol corner %d is not finite", k);
	for (int k = 0; finders && k < 3; k++)
		if (!isfinite(finders[k][0]) || !isfinite(finders[k][1]))
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "overlay: finder pattern %d is not finite", k);
	if (ov->symbol_count == ov->symbol_capacity) {
		size_t capacity = ov->symbol_capacity ? 2 * ov->symbol_capacity : 64;
		symbol_record *grown = capacity <= SIZE_MAX / sizeof *grown
		                           ? realloc(ov->symbols, capacity * sizeof *grown)
		                           : NULL;
		if (!grown)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "overlay: cannot grow the symbol list to %zu symbols",
			                   capacity);
		ov->symbols = grown;
		ov->symbol_capacity = capacity;
	}
	symbol_record *s = &ov->symbols[ov->symbol_count++];
	memset(s, 0, sizeof *s);
	for (int k = 0; k < 4; k++)
		for (int a = 0; a < 2; a++)
			s->corners[k][a] = to_picture(ov, corners[k][a]);
	for (int k = 0; finders && k < 3; k++)
		for (int a = 0; a < 2; a++)
			s->finders[k][a] = to_picture(ov, finders[k][a]);
	s->decoded = decoded != 0;
	s->has_finders = finders != NULL;
	semqr__clear(err);
	return SEMQR_OK;
}

/* ---- drawing ------------------------------------------------------------- */

typedef struct canvas {
	uint8_t *rgb; /* width x height x 3, rows packed */
	int width, height;
} canvas;

static void plot(const canvas *c, int x, int y, const uint8_t colour[3])
{
	if (x >= 0 && y >= 0 && x < c->width && y < c->height)
		memcpy(c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3, colour, 3);
}

/* A 2-pixel-wide edge from (x0, y0) to (x1, y1), picture coordinates (see
 * the file comment). u is the major axis, v the minor one. */
static void draw_edge(const canvas *c, double x0, double y0, double x1, double y1,
                      const uint8_t colour[3])
{
	int steep = fabs(y1 - y0) > fabs(x1 - x0);
	double u0 = steep ? y0 : x0, v0 = steep ? x0 : y0;
	double u1 = steep ? y1 : x1, v1 = steep ? x1 : y1;
	double u_max = steep ? c->height : c->width, v_max = steep ? c->width : c->height;
	if (u0 > u1) {
		double t = u0;
		u0 = u1;
		u1 = t;
		t = v0;
		v0 = v1;
		v1 = t;
	}
	double slope = u1 > u0 ? (v1 - v0) / (u1 - u0) : 0.0; /* |slope| <= 1 */
	/* clip: -1 <= u <= u_max, and -1 <= v(u) <= v_max */
	double lo = u0 > -1.0 ? u0 : -1.0, hi = u1 < u_max ? u1 : u_max;
	if (slope == 0.0) {
		if (v0 < -1.0 || v0 > v_max)
			return;
	} else {
		double a = u0 + (-1.0 - v0) / slope, b = u0 + (v_max - v0) / slope;
		lo = fmax(lo, fmin(a, b));
		hi = fmin(hi, fmax(a, b));
	}
	if (lo > hi)
		return;
	for (long i = lround(lo); i <= lround(hi); i++) {
		double u = i < lo ? lo : i > hi ? hi : (double)i;
		double v = v0 + (u - u0) * slope;
		if (!(v >= -2.0 && v <= v_max + 1.0)) /* rounding far from the picture */
			continue;
		int j = (int)floor(v);
		if (steep) {
			plot(c, j, (int)i, colour);
			plot(c, j + 1, (int)i, colour);
		} else {
			plot(c, (int)i, j, colour);
			plot(c, (int)i, j + 1, colour);
		}
	}
}

static void draw_outline(const canvas *c, const symbol_record *s, const uint8_t colour[3])
{
	for (int k = 0; k < 4; k++) {
		const float *a = s->corners[k], *b = s->corners[(k + 1) % 4];
		draw_edge(c, a[0], a[1], b[0], b[1], colour);
	}
}

/* Yellow crosses on the finder centres, arms an eighth of the symbol's
 * shortest side, 1 to 4 pixels. */
static void draw_finders(const canvas *c, const symbol_record *s, const uint8_t colour[3])
{
	double side = INFINITY;
	for (int k = 0; k < 4; k++) {
		const float *a = s->corners[k], *b = s->corners[(k + 1) % 4];
		double len = hypot((double)b[0] - a[0], (double)b[1] - a[1]);
		side = len < side ? len : side;
	}
	int arm = side >= 32.0 ? 4 : side >= 8.0 ? (int)(side / 8.0) : 1;
	for (int k = 0; k < 3; k++) {
		double fx = s->finders[k][0], fy = s->finders[k][1];
		if (!(fx > -arm - 1 && fy > -arm - 1 && fx < c->width + arm &&
		      fy < c->height + arm))
			continue;
		int x = (int)lround(fx), y = (int)lround(fy);
		for (int d = -arm; d <= arm; d++) {
			plot(c, x + d, y, colour);
			plot(c, x, y + d, colour);
		}
	}
}

/* ---- writing ------------------------------------------------------------- */

/* Value at rank r (0-based) of the values counted in hist. */
static uint32_t rank_value(const uint64_t *hist, uint64_t r)
{
	uint64_t seen = 0;
	uint32_t v = 0;
	while ((seen += hist[v]) <= r)
		v++;
	return v;
}

/* The grey picture as RGB: contrast-stretched rows with data, black below. */
static semqr_status grey_to_rgb(const semqr__overlay *ov, const canvas *c, semqr_error *err)
{
	int width = c->width;
	int partial_rows = ov->next_row - ov->complete_rows * ov->scale;
	int rows = ov->complete_rows + (partial_rows > 0);
	uint64_t *hist = calloc(65536, sizeof *hist);
	uint16_t *partial = malloc((size_t)width * sizeof *partial);
	uint8_t *map = malloc(65536);
	if (!hist || !partial || !map) {
		free(hist);
		free(partial);
		free(map);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "overlay: cannot allocate the contrast tables");
	}
	if (partial_rows > 0)
		row_means(ov, partial_rows, partial);
	for (int y = 0; y < rows; y++) {
		const uint16_t *row = y < ov->complete_rows ? (const uint16_t *)ov->grey.pixels +
		                                                  (size_t)y * ov->grey.stride
		                                            : partial;
		for (int x = 0; x < width; x++)
			hist[row[x]]++;
	}
	uint64_t n = (uint64_t)rows * (uint64_t)width;
	uint32_t lo = 0, hi = 0;
	if (n > 0) {
		lo = rank_value(hist, n / 200);
		hi = rank_value(hist, n - 1 - n / 200);
	}
	for (uint32_t v = 0; v < 65536; v++) {
		if (hi <= lo)
			map[v] = (uint8_t)((v + 128) / 257);
		else if (v <= lo)
			map[v] = 0;
		else if (v >= hi)
			map[v] = 255;
		else
			map[v] = (uint8_t)(((v - lo) * 255u + (hi - lo) / 2) / (hi - lo));
	}
	for (int y = 0; y < rows; y++) {
		const uint16_t *row = y < ov->complete_rows ? (const uint16_t *)ov->grey.pixels +
		                                                  (size_t)y * ov->grey.stride
		                                            : partial;
		uint8_t *out = c->rgb + (size_t)y * (size_t)width * 3;
		for (int x = 0; x < width; x++)
			memset(out + 3 * x, map[row[x]], 3);
	}
	free(hist);
	free(partial);
	free(map);
	return SEMQR_OK;
}

semqr_status semqr__overlay_write(const semqr__overlay *ov, const char *path, semqr_error *err)
{
	if (!path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "overlay: no output path");
	canvas c = {.width = ov->grey.width, .height = ov->grey.height};
	c.rgb = calloc((size_t)c.width * (size_t)c.height, 3);
	if (!c.rgb)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "%s: cannot allocate the %dx%d RGB picture", path, c.width,
		                   c.height);
	semqr_status st = grey_to_rgb(ov, &c, err);
	if (st == SEMQR_OK) {
		static const uint8_t failed[3] = {SEMQR__OVERLAY_FAILED_RGB};
		static const uint8_t decoded[3] = {SEMQR__OVERLAY_DECODED_RGB};
		static const uint8_t finder[3] = {SEMQR__OVERLAY_FINDER_RGB};
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < ov->symbol_count; i++)
				if (ov->symbols[i].decoded == pass)
					draw_outline(&c, &ov->symbols[i], pass ? decoded : failed);
		for (size_t i = 0; i < ov->symbol_count; i++)
			if (ov->symbols[i].has_finders)
				draw_finders(&c, &ov->symbols[i], finder);
		st = semqr__png_write_rgb(path, c.width, c.height, c.rgb, err);
	}
	free(c.rgb);
	return st;
}
