/* The scan decoder's scheduler: chooses the stage parameters and the tile
 * layout, checks the memory budget, reads the scan band by band and cuts the
 * tiles that scan_decode.c runs (contracts in semqr/decode.h and
 * pipeline/pipeline_internal.h).
 *
 * Parameters. The module size in pixels is module_nm / pixel size when the
 * scan's metadata (or the caller) gives the pixel size, m; finder runs are
 * then accepted for modules of m / 1.5 .. 1.6 m (a symbol turned by t reads
 * m / max(|cos t|, |sin t|) <= 1.42 m along rows and columns, plus noise),
 * and a symbol's own pitch (finder distance over 4 v + 10) must lie within
 * m / 1.25 .. 1.25 m. Otherwise the caller's range [lo, hi] is searched (for
 * runs and symbols), and m below stands for lo for the denoiser (not to blur
 * the smallest modules away) and sqrt(lo hi) for the threshold window.
 * Runs of modules under two pixels are never searched; when the whole range
 * lies below, the scan cannot show the symbols and no tile is processed
 * (summary: modules_resolved 0).
 * Detect scale s (pipeline_internal.h): the option's, or when automatic 2
 * when m is known and at least SEMQR_DETECT_SCALE2_MODULE_PX and the noise
 * measured in the scan (pipeline/noise_level.h, before the plan) is at
 * least SEMQR_DETECT_SCALE2_QUANTA quanta per pixel (semqr/decode.h: why),
 * else 1. The module sizes above stay in scan pixels; the device stages'
 * parameters below are for the module of m / s detect pixels (finder runs
 * of m / 1.5 s .. 1.6 m / s, floored at two detect pixels: a scale 2 that
 * leaves no run size to search is refused).
 * Denoise: sigma from the module size in detect pixels
 * (semqr__denoise_sigma_pitch(m / s) when m is known, semqr__denoise_sigma
 * (lo / s) otherwise; the option's sigma / s when given. At scale 2, 0.3
 * module instead of 0.24 decoded no more: 934 of 960 both on the 6.1 px
 * plates of SEMQR_DETECT_SCALE2_QUANTA's measurement at doses 40 to 60).
 * Binarize: a window radius of two modules at scale 1 and 1.25 at scale 2
 * (BINARIZE_MODULES), clamped to the stage's limit. At scale 2 half as many
 * lines cross a finder, so one whose runs pass the 1:1:3:1:1 test on few
 * lines is left with none along one axis far more often, and then needs 1.5
 * modules of lines along the other (locate/finders.c). On the 32768 x 32768
 * plate at default physics, with two modules (6 detect px) 61 % of the lines
 * crossing the finders' 3-module centres passed, 36 of the 56 307 finders
 * had no run along one axis (3 at scale 1), 6 of them too few along the
 * other, and their 6 symbols were never located (18 763 of 18 769 decoded);
 * with 1.25 modules (4 px) 75 % pass, no finder lacks an axis and all
 * 18 769 decode, in the same time (16 % more finder patterns, chance ones
 * in the data). The pass rate has its minimum near two modules: on a 6144 x
 * 6144 crop of that plate at scale 2, radii of 4 to 9 px (1.3 to 2.9
 * modules) passed 75, 68, 62, 63, 69 and 76 % of the lines (at scale 1,
 * 1.5 modules 74 % against 64 % at two; not changed here). Radii of 2.3
 * modules and more lose the weakest finder of datasets/texture.tif, whose
 * real SEM texture wants a local threshold.
 * Flatten: blocks of twice the largest symbol, so the background removed
 * varies slowly across any symbol. Finder runs: lengths within 40 % of their
 * expected widths. On an 8192 x 8192 plate of 1156 version-3 symbols at
 * default physics (6.1 px modules), 50 % finds all symbols with 36 000
 * finder patterns, most of them chance patterns in the symbols' data, and
 * grouping them takes two thirds of the time; 40 % still finds all with
 * 15 700; 35 % misses 3 with 9 800.
 *
 * Halo. A symbol of the largest version at the largest module size hi' (1.1 m
 * when m is known, else hi) spans s = (17 + 4 max_version) hi' pixels; turned
 * any way it lies within s / sqrt(2) of its centre. The halo is that plus two
 * modules (the finder-run test needs the transitions just outside a finder)
 * and two pixels for rounding, so that the context of the tile whose core
 * holds a symbol's centre holds the whole symbol. The filters' reach is not
 * part of the halo: tile buffers carry their own pad of rd + rb pixels.
 *
 * Bands. Tiles are processed in column groups (see GROUP_CORE_PX below),
 * and within a group row by row of tiles; a row of a group's tiles needs the
 * scan rows of its cores, halos and pads, for the group's columns (its
 * tiles' contexts and pads). The band buffer holds them at native depth;
 * moving to the next row of tiles keeps the rows the two bands share and
 * reads only the new ones, so within a group every row is read once, and
 * the columns two groups share (two halos and pads wide) are read by both.
 * Every tile belongs to one group and is cut from one band with its whole
 * buffer, as it would be from full-width bands, so a symbol is still
 * reported once, by the tile whose core holds its centre; tiles, and hence
 * symbols, come group after group. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "drift/lines.h"
#include "pipeline/band_reader.h"
#include "pipeline/drift_report.h"
#include "pipeline/noise_level.h"
#include "pipeline/pipeline_internal.h"
#include "pipeline/stack_rows.h"

#define TILE_MIN 64
#define TILE_MAX 16384
#define MODULE_PX_LIMIT 64.0
#define THREADS_MAX 64
#define THREADS_AUTO_MAX 16
/* Radius of the binarize window in modules, by detect scale (see above). */
#define BINARIZE_MODULES(scale) ((scale) == 2 ? 1.25 : 2.0)
/* Finder runs of modules under two pixels are not searched: at that scale a
 * 1:1:3:1:1 run is as likely noise as a finder, and modules cannot be
 * sampled away from their edges. */
#define MODULE_PX_FLOOR 2.0f

void semqr_scan_decode_options_init(semqr_scan_decode_options *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->device = NULL;
	opts->tile = 2048;
	opts->memory_budget = (size_t)1 << 30;
	opts->max_version = 10;
	opts->module_nm = 49.0;
	opts->module_px_min = 3.0;
	opts->module_px_max = 12.0;
	opts->page = SEMQR_SCAN_MEAN;
	opts->stack = SEMQR_STACK_REGISTER;
	opts->denoise = 1;
	opts->line_shift_max = 8;
	opts->sampling = SEMQR_SAMPLING_SOFT;
	opts->retry_ms = 200.0;
	opts->min_timing = 0.45f;
	opts->threads = -1;
	semqr_decode_options_init(&opts->decode);
}

const char *semqr_scan_stage_name(semqr_scan_stage stage)
{
	static const char *const names[SEMQR_STAGE_COUNT] = {
	    "read",   "register", "integrate", "lines",  "upload", "load",  "flatten",
	    "denoise", "binarize", "finder",   "locate", "decode", "group", "output"};
	return (unsigned)stage < SEMQR_STAGE_COUNT ? names[stage] : "unknown";
}

static semqr_status check_options(const semqr_scan_decode_options *o, const semqr_scan_info *info,
                                  semqr_error *err)
{
	if (o->tile < TILE_MIN || o->tile > TILE_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: tile size %d px (must be %d..%d)", o->tile, TILE_MIN,
		                   TILE_MAX);
	if (o->max_version < SEMQR_VERSION_MIN || o->max_version > SEMQR_VERSION_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: max version %d (must be %d..%d)", o->max_version,
		                   SEMQR_VERSION_MIN, SEMQR_VERSION_MAX);
	if (!(o->module_nm > 0.0) || !isfinite(o->module_nm))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: module pitch %g nm (must be > 0)", o->module_nm);
	if (!(o->module_px_min >= 1.0) || !(o->module_px_max >= o->module_px_min) ||
	    o->module_px_max > MODULE_PX_LIMIT)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: module size range %g..%g px (must be 1 <= min <= "
		                   "max <= %g)",
		                   o->module_px_min, o->module_px_max, MODULE_PX_LIMIT);
	if (o->threads < -1 || o->threads > THREADS_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: %d decoder threads (must be -1 for automatic, or "
		                   "0..%d)",
		                   o->threads, THREADS_MAX);
	if (o->stack != SEMQR_STACK_REGISTER && o->stack != SEMQR_STACK_MEAN)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: stack mode %d (must be SEMQR_STACK_REGISTER or "
		                   "SEMQR_STACK_MEAN)",
		                   (int)o->stack);
	if (o->sampling != SEMQR_SAMPLING_SOFT && o->sampling != SEMQR_SAMPLING_CENTRE)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: sampling mode %d (must be SEMQR_SAMPLING_SOFT or "
		                   "SEMQR_SAMPLING_CENTRE)",
		                   (int)o->sampling);
	if (!(o->retry_ms >= 0.0 && o->retry_ms <= 60000.0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: retry budget %g ms per symbol (must be 0..60000)",
		                   o->retry_ms);
	if (o->line_shifts && (o->line_shift_max < 1 || o->line_shift_max > SEMQR__LINES_SHIFT_MAX))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: line shifts up to %d px (must be 1..%d)",
		                   o->line_shift_max, SEMQR__LINES_SHIFT_MAX);
	if (!(o->frame_period_s >= 0.0 && o->frame_period_s <= 86400.0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: frame period %g s (must be 0..86400; 0 takes the "
		                   "metadata's frame time)",
		                   o->frame_period_s);
	if (!(o->min_timing >= -1.0f && o->min_timing <= 1.0f))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: minimum timing agreement %g (must be in [-1, 1])",
		                   (double)o->min_timing);
	if (!(o->denoise_sigma >= 0.0 && o->denoise_sigma <= SEMQR_DENOISE_SIGMA_MAX))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: denoise sigma %g px (must be 0..%g; 0 chooses it)",
		                   o->denoise_sigma, (double)SEMQR_DENOISE_SIGMA_MAX);
	if (o->detect_scale < 0 || o->detect_scale > 2)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: detect scale %d (must be 0 for automatic, 1 or 2)",
		                   o->detect_scale);
	if (o->page != SEMQR_SCAN_MEAN && (o->page < 0 || o->page >= info->pages))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: page %d of a scan of %d page(s)", o->page,
		                   info->pages);
	return SEMQR_OK;
}

static int clamp_int(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

static semqr_status make_plan(const semqr_scan_decode_options *o, const semqr_scan_info *info,
                              const semqr__noise_level *noise, semqr__scan_plan *p,
                              semqr_error *err)
{
	memset(p, 0, sizeof *p);
	p->width = info->width;
	p->height = info->height;
	p->bits = info->bits;
	p->page = info->pages == 1 ? 0 : o->page;
	p->pixel_nm = info->pixel_nm_x > 0.0 ? info->pixel_nm_x : 0.0;
	p->max_version = o->max_version;
	p->min_timing = o->min_timing;
	p->decode = o->decode;
	p->stack = o->stack;
	p->sampling = o->sampling;
	p->retry_ms = o->retry_ms;

	double m_sigma, m_window, hi_true;
	if (p->pixel_nm > 0.0) {
		double m = o->module_nm / p->pixel_nm;
		if (m > MODULE_PX_LIMIT)
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "scan decoder: modules of %g nm at %g nm per pixel are %g px "
			                   "(at most %g supported)",
			                   o->module_nm, p->pixel_nm, m, MODULE_PX_LIMIT);
		p->module_px_min = (float)(m / 1.5);
		p->module_px_max = (float)(m * 1.6);
		p->symbol_module_lo = (float)(m / 1.25);
		p->symbol_module_hi = (float)(m * 1.25);
		m_sigma = m_window = m;
		hi_true = 1.1 * m;
	} else {
		p->module_px_min = (float)o->module_px_min;
		p->module_px_max = (float)o->module_px_max;
		p->symbol_module_lo = p->module_px_min;
		p->symbol_module_hi = p->module_px_max;
		m_sigma = o->module_px_min;
		m_window = sqrt(o->module_px_min * o->module_px_max);
		hi_true = o->module_px_max;
	}
	p->resolved = p->module_px_max >= MODULE_PX_FLOOR;
	p->scale = o->detect_scale ? o->detect_scale
	           : p->pixel_nm > 0.0 && m_sigma >= SEMQR_DETECT_SCALE2_MODULE_PX &&
	                     noise->samples > 0 && noise->quanta >= SEMQR_DETECT_SCALE2_QUANTA
	               ? 2
	               : 1;
	/* The detection parameters, in detect pixels. */
	double s = p->scale;
	p->finder.tolerance = 0.4f;
	p->finder.min_module = p->module_px_min / (float)s > MODULE_PX_FLOOR
	                           ? p->module_px_min / (float)s
	                           : MODULE_PX_FLOOR;
	p->finder.max_module = p->module_px_max / (float)s;
	if (p->resolved && p->finder.max_module < p->finder.min_module)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: detect scale %d leaves modules of at most %g px, "
		                   "under the %g px the finder stage needs (use detect scale 1)",
		                   p->scale, (double)p->finder.max_module, (double)MODULE_PX_FLOOR);
	if (!o->denoise)
		p->sigma = 0.0f;
	else if (o->denoise_sigma > 0.0)
		p->sigma = (float)(o->denoise_sigma / s);
	else if (p->pixel_nm > 0.0)
		p->sigma = semqr__denoise_sigma_pitch((float)(m_sigma / s));
	else
		p->sigma = semqr__denoise_sigma((float)(m_sigma / s));
	p->rd = semqr__denoise_radius(p->sigma);
	p->rb = clamp_int(lround(BINARIZE_MODULES(p->scale) * m_window / s), 1,
	                  SEMQR__BINARIZE_RADIUS_MAX);
	p->dpad = p->rd + p->rb;
	p->pad = p->scale * p->dpad;

	double symbol_px = (17.0 + 4.0 * o->max_version) * hi_true;
	p->halo = (int)ceil(symbol_px / sqrt(2.0) + 2.0 * hi_true + 2.0);
	p->flatten_block = clamp_int(lround(2.0 * symbol_px / s), 64 / p->scale, 4096 / p->scale);
	p->tile = o->tile;
	p->tile_cols = (p->width + p->tile - 1) / p->tile;
	p->tile_rows = (p->height + p->tile - 1) / p->tile;
	int ctx_w = p->width < p->tile + 2 * p->halo ? p->width : p->tile + 2 * p->halo;
	int ctx_h = p->height < p->tile + 2 * p->halo ? p->height : p->tile + 2 * p->halo;
	p->buf_w = ctx_w + 2 * p->pad;
	p->buf_h = ctx_h + 2 * p->pad;
	p->dbuf_w = (p->buf_w + p->scale - 1) / p->scale;
	p->dbuf_h = (p->buf_h + p->scale - 1) / p->scale;
	if ((int64_t)p->buf_w * p->buf_h >= INT32_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: a tile of %d px with a halo of %d px is too large "
		                   "for the device stages (2^31 pixels); use a smaller tile",
		                   p->tile, p->halo);
	return SEMQR_OK;
}

/* Where the bands come from: a page of the scan (or the plain mean of its
 * pages), or the registered stack. Called on the reader thread only, which
 * alone adds to the read and integrate times. */
typedef struct row_source {
	semqr_scan *scan;
	int page;
	semqr__stack_rows *stack; /* NULL unless registered */
	semqr__lines *lines;      /* NULL unless line shifts are corrected */
	int lines_max;            /* lines per correction block */
	semqr_scan_summary *sum;
} row_source;

/* Lines of context above each block of new lines, and the sweeps. */
#define LINE_CONTEXT 2
#define LINE_SWEEPS 8
/* Memory for the line corrector's blocks. */
#define LINE_BLOCK_BYTES ((size_t)32 << 20)

/* Corrects the band's new rows for line shifts, block by block, each block
 * with the LINE_CONTEXT corrected rows above it as fixed neighbours. */
static void source_fix(void *user, unsigned char *data, size_t row_bytes, int x0, int width, int y0,
                       int rows, int first_new)
{
	row_source *src = user;
	(void)x0;
	(void)y0;
	if (!src->lines)
		return;
	double t0 = semqr__now();
	int step = src->lines_max - LINE_CONTEXT;
	for (int a = first_new; a < rows; a += step) {
		int top = a - LINE_CONTEXT > 0 ? a - LINE_CONTEXT : 0;
		int end = a + step < rows ? a + step : rows;
		semqr__lines_correct(src->lines, data + (size_t)top * row_bytes, (size_t)width,
		                     width, end - top, a - top, LINE_SWEEPS, NULL);
	}
	src->sum->seconds[SEMQR_STAGE_LINES] += semqr__now() - t0;
}

static semqr_status source_read(void *user, int x0, int y0, int width, int rows, void *dst,
                                size_t stride, semqr_error *err)
{
	row_source *src = user;
	if (src->stack)
		return semqr__stack_rows_read(src->stack, x0, y0, width, rows, dst, stride,
		                              &src->sum->seconds[SEMQR_STAGE_READ],
		                              &src->sum->seconds[SEMQR_STAGE_INTEGRATE], err);
	double t0 = semqr__now();
	semqr_status st =
	    semqr_scan_read_region(src->scan, src->page, x0, y0, width, rows, dst, stride, err);
	src->sum->seconds[SEMQR_STAGE_READ] += semqr__now() - t0;
	return st;
}

static void tile_at(const semqr__scan_plan *p, int col, int row, semqr__tile *t)
{
	t->col = col;
	t->row = row;
	t->core_x0 = col * p->tile;
	t->core_y0 = row * p->tile;
	t->core_x1 = t->core_x0 + p->tile < p->width ? t->core_x0 + p->tile : p->width;
	t->core_y1 = t->core_y0 + p->tile < p->height ? t->core_y0 + p->tile : p->height;
	t->ctx_x0 = t->core_x0 - p->halo > 0 ? t->core_x0 - p->halo : 0;
	t->ctx_y0 = t->core_y0 - p->halo > 0 ? t->core_y0 - p->halo : 0;
	int x1 = t->core_x1 + p->halo < p->width ? t->core_x1 + p->halo : p->width;
	int y1 = t->core_y1 + p->halo < p->height ? t->core_y1 + p->halo : p->height;
	t->ctx_w = x1 - t->ctx_x0;
	t->ctx_h = y1 - t->ctx_y0;
	t->det_w = (t->ctx_w + p->scale - 1) / p->scale;
	t->det_h = (t->ctx_h + p->scale - 1) / p->scale;
}

/* Copies the tile's buffer (context + pad, scan edges replicated) from the
 * band, which holds its columns within the scan, into dst, dense rows. */
static void cut_tile(const semqr__band *b, const semqr__scan_plan *p, const semqr__tile *t,
                     void *dst)
{
	size_t px = (size_t)p->bits / 8;
	int bw = t->ctx_w + 2 * p->pad, bh = t->ctx_h + 2 * p->pad;
	int x0 = t->ctx_x0 - p->pad;
	/* Columns [lo, hi) of the buffer come straight from the scan row;
	 * beyond them the band reaches the scan's edge, whose pixel repeats. */
	int lo = x0 < 0 ? -x0 : 0;
	int hi = x0 + bw > p->width ? p->width - x0 : bw;
	unsigned char *out = dst;
	for (int y = 0; y < bh; y++) {
		int sy = clamp_int(t->ctx_y0 - p->pad + y, 0, p->height - 1);
		const unsigned char *row = b->data + (size_t)(sy - b->y0) * b->row_bytes;
		unsigned char *o = out + (size_t)y * bw * px;
		memcpy(o + (size_t)lo * px, row + (size_t)(x0 + lo - b->x0) * px,
		       (size_t)(hi - lo) * px);
		for (int x = 0; x < lo; x++)
			memcpy(o + (size_t)x * px, row, px);
		for (int x = hi; x < bw; x++)
			memcpy(o + (size_t)x * px, row + (size_t)(p->width - 1 - b->x0) * px, px);
	}
}

/* The rows of tile row r's band: its cores, halos and pads, within the
 * scan. */
static void band_rows(const semqr__scan_plan *p, int r, int *y0, int *y1)
{
	semqr__tile t;
	tile_at(p, 0, r, &t);
	*y0 = t.ctx_y0 - p->pad > 0 ? t.ctx_y0 - p->pad : 0;
	*y1 = t.ctx_y0 + t.ctx_h + p->pad < p->height ? t.ctx_y0 + t.ctx_h + p->pad : p->height;
}

/* The columns of group g's bands: its tiles' buffers (contexts and pads),
 * grown by group_margin, within the scan. */
static void group_columns(const semqr__scan_plan *p, int g, int *x0, int *x1)
{
	int c0 = g * p->group_cols;
	int c1 = c0 + p->group_cols < p->tile_cols ? c0 + p->group_cols : p->tile_cols;
	semqr__tile first, last;
	tile_at(p, c0, 0, &first);
	tile_at(p, c1 - 1, 0, &last);
	int reach = p->pad + p->group_margin;
	*x0 = first.ctx_x0 - reach > 0 ? first.ctx_x0 - reach : 0;
	*x1 = last.ctx_x0 + last.ctx_w + reach < p->width ? last.ctx_x0 + last.ctx_w + reach
	                                                  : p->width;
}

/* Rows of the band: those of one row of tiles with halos and pads. */
static int band_rows_max(const semqr__scan_plan *p)
{
	int rows = p->tile + 2 * (p->halo + p->pad);
	return rows < p->height ? rows : p->height;
}

/* Groups of at most `cols` tile columns (>= 1), spread evenly. */
static void set_groups(semqr__scan_plan *p, int cols)
{
	int groups = (p->tile_cols + cols - 1) / cols;
	p->group_cols = (p->tile_cols + groups - 1) / groups;
	p->groups = (p->tile_cols + p->group_cols - 1) / p->group_cols;
}

static double mib(size_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* ---- the decoder pool ------------------------------------------------------
 *
 * Slots cycle FREE -> FILLING (the scheduler's thread runs the device stages
 * into it) -> READY -> LOCATING (a decoder thread runs the CPU stages) ->
 * DONE -> EMITTING (the scheduler's thread calls the callbacks) -> FREE.
 * Tiles get increasing sequence numbers and are emitted in that order, so
 * the output does not depend on the number of threads or their timing. One
 * mutex guards the states; one condition variable, broadcast on every
 * change, wakes whoever waits. With no decoder thread the scheduler's thread
 * locates each slot itself right after filling it.
 *
 * Times. A slot's locate and decode times are measured inside
 * semqr__slot_locate, around the calls the grouping makes to the locator and
 * the decoder; the pool times the whole call, and what remains is the
 * grouping's own time (clustering and grouping proper). */

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_LOCATING, SLOT_DONE, SLOT_EMITTING };

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const semqr__scan_plan *plan;
	semqr__tile_slot *slots;
	int *state;
	long *seq;
	int nslots;
	int quit;
	pthread_t *threads;
	int nthreads;
} pool;

/* A READY slot with the lowest sequence number, or -1. Under the lock. */
static int next_ready(const pool *p)
{
	int best = -1;
	for (int i = 0; i < p->nslots; i++)
		if (p->state[i] == SLOT_READY && (best < 0 || p->seq[i] < p->seq[best]))
			best = i;
	return best;
}

static void *decoder_thread(void *arg)
{
	pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		int i = next_ready(p);
		if (i < 0) {
			if (p->quit)
				break;
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		p->state[i] = SLOT_LOCATING;
		pthread_mutex_unlock(&p->mu);
		semqr__slot_locate(&p->slots[i], p->plan);
		pthread_mutex_lock(&p->mu);
		p->state[i] = SLOT_DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Stops and joins the threads, frees the slots. */
static void pool_destroy(pool *p)
{
	if (p->threads) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		for (int i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
	}
	for (int i = 0; p->slots && i < p->nslots; i++)
		semqr__slot_free(&p->slots[i]);
	free(p->slots);
	free(p->state);
	free(p->seq);
	free(p->threads);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

static semqr_status pool_create(pool *p, const semqr__scan_plan *plan, semqr_error *err)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->plan = plan;
	p->nslots = semqr__device_slots(plan);
	p->slots = calloc((size_t)p->nslots, sizeof *p->slots);
	p->state = calloc((size_t)p->nslots, sizeof *p->state);
	p->seq = calloc((size_t)p->nslots, sizeof *p->seq);
	p->threads = plan->threads ? calloc((size_t)plan->threads, sizeof *p->threads) : NULL;
	if (!p->slots || !p->state || !p->seq || (plan->threads && !p->threads)) {
		pool_destroy(p);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: no memory for %d slots",
		                   p->nslots);
	}
	for (int i = 0; i < p->nslots; i++) {
		semqr_status st = semqr__slot_init(&p->slots[i], err);
		if (st != SEMQR_OK) {
			pool_destroy(p);
			return st;
		}
	}
	for (int i = 0; i < plan->threads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, decoder_thread, p);
		if (rc != 0) {
			p->nthreads = i;
			pool_destroy(p);
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "scan decoder: cannot start decoder thread %d: %s", i + 1,
			                   strerror(rc));
		}
		p->nthreads = i + 1;
	}
	return SEMQR_OK;
}

/* The scheduler's side: emission in sequence order and slot reuse. */
typedef struct emitter {
	pool *p;
	long next_seq, next_emit;
	semqr_scan_callback cb;
	void *user;
	semqr_scan_summary *sum;
	semqr_status status; /* the first emitted error */
	semqr_error err;
} emitter;

/* Emits DONE slots in sequence order. With `need_free`, returns a FREE
 * slot (waiting for one while emitting); otherwise emits until every slot
 * handed out has been emitted, and returns -1. The lock is not held on
 * return. Callbacks run without the lock. */
static int emit_until(emitter *e, int need_free)
{
	pool *p = e->p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		int done = -1, free_slot = -1;
		for (int i = 0; i < p->nslots; i++) {
			if (p->state[i] == SLOT_DONE && p->seq[i] == e->next_emit)
				done = i;
			if (p->state[i] == SLOT_FREE && free_slot < 0)
				free_slot = i;
		}
		if (done >= 0) {
			p->state[done] = SLOT_EMITTING;
			pthread_mutex_unlock(&p->mu);
			semqr_error err;
			semqr_status st = semqr__slot_emit(&p->slots[done], e->cb, e->user, e->sum, &err);
			if (st != SEMQR_OK && e->status == SEMQR_OK) {
				e->status = st;
				e->err = err;
			}
			pthread_mutex_lock(&p->mu);
			p->state[done] = SLOT_FREE;
			e->next_emit++;
			continue;
		}
		if (need_free && free_slot >= 0) {
			p->state[free_slot] = SLOT_FILLING;
			pthread_mutex_unlock(&p->mu);
			return free_slot;
		}
		if (!need_free && e->next_emit == e->next_seq) {
			pthread_mutex_unlock(&p->mu);
			return -1;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
}

/* Hands a filled slot to the decoders (or locates it here without any). */
static void submit(emitter *e, int slot)
{
	pool *p = e->p;
	if (p->nthreads == 0)
		semqr__slot_locate(&p->slots[slot], p->plan);
	pthread_mutex_lock(&p->mu);
	p->seq[slot] = e->next_seq++;
	p->state[slot] = p->nthreads ? SLOT_READY : SLOT_DONE;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Gives a slot taken with emit_until back unused. */
static void give_back(pool *p, int slot)
{
	pthread_mutex_lock(&p->mu);
	p->state[slot] = SLOT_FREE;
	pthread_mutex_unlock(&p->mu);
}

/* Decoder threads asked for: the requested, or when automatic one per
 * online processor, at most THREADS_AUTO_MAX. */
static int threads_wanted(int requested)
{
	if (requested >= 0)
		return requested;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > THREADS_AUTO_MAX ? THREADS_AUTO_MAX : (int)cpus;
}

/* Plans the number of decoder threads: those wanted, fewer while the memory
 * plan exceeds the budget. Returns the memory planned. */
static size_t plan_threads(semqr__scan_plan *plan, int requested, size_t fixed, size_t budget)
{
	int n = threads_wanted(requested);
	size_t slot = semqr__slot_bytes(plan);
	while (n > 0 && fixed + (size_t)(n + 1) * slot > budget)
		n--;
	plan->threads = n;
	return fixed + (size_t)(n + 1) * slot;
}

/* A registered stack's drift and how far its frames reach. */
typedef struct stack_plan {
	semqr__drift *drift;
	semqr__stack_margins margins;
	int frame_bits;
} stack_plan;

/* Largest share of the budget the stack reader's chunk takes: an eighth, at
 * most this (larger chunks gain nothing once the margins are small beside
 * them). */
#define STACK_SHARE_MAX ((size_t)64 << 20)

/* Measures every frame's drift against frame 0 (reported through
 * opts->frame and the summary) and the margins the stack reader needs. */
static semqr_status stack_prepare(semqr_scan *scan, const semqr_scan_info *info,
                                  const semqr_scan_decode_options *opts, semqr_scan_summary *sum,
                                  stack_plan *sp, semqr_error *err)
{
	semqr__drift_options dopt;
	semqr__drift_options_init(&dopt);
	size_t need = semqr__drift_bytes(info->width, info->height, info->bits, info->pages, &dopt);
	if (need > opts->memory_budget)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "scan decoder: registering %d frames of %d x %d pixels needs "
		                   "%.1f MiB, more than the memory budget of %.1f MiB; give a larger "
		                   "budget, or average the frames unregistered (stack mode mean)",
		                   info->pages, info->width, info->height, mib(need),
		                   mib(opts->memory_budget));
	double t0 = semqr__now();
	semqr_status st = semqr__drift_measure(scan, &dopt, &sp->drift, err);
	sum->seconds[SEMQR_STAGE_REGISTER] += semqr__now() - t0;
	if (st != SEMQR_OK)
		return st;
	semqr__drift_times dt = semqr__drift_get_times(sp->drift);
	sum->register_read_s = dt.read;
	sum->register_fft_s = dt.reg.window_fft;
	sum->register_cross_s = dt.reg.cross_power;
	sum->register_peak_s = dt.reg.peak;
	sum->register_combine_s = dt.combine;
	sum->register_tiles = dt.reg.tiles;
	semqr__drift_report(sp->drift, info, opts->frame_period_s, opts->frame, opts->frame_user,
	                    sum);
	sp->frame_bits = info->bits;
	if (semqr__stack_rows_margins(sp->drift, &sp->margins) < 0)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: out of memory");
	return SEMQR_OK;
}

/* Column groups. Tiles are processed group by group: a group is a range of
 * adjacent tile columns, read top to bottom in bands holding only its
 * columns (its tiles' contexts and pads), so that the band buffers, and the
 * line corrector and stack reader sized by them, follow the group, not the
 * scan's width. A group spans at most GROUP_CORE_PX of tile cores (one
 * tile column when a tile is wider): memory stops growing beyond the width
 * of a 16k scan. Where reading columns costs whole rows anyway
 * (semqr_scan_info.column_reads 0: compressed strips, PNG, JPEG), every
 * group would decode the whole scan again, so the bands span the full width
 * when that fits the budget; a band callback (opts->band) is handed full
 * rows, so it takes the full width too. Narrower groups are taken only
 * while the plan with the decoder threads wanted exceeds the budget (the
 * widest that fits, the decoders being worth more than wide bands), down to
 * one tile column; a scan of compressed strips is then decoded once per
 * group. */
#define GROUP_CORE_PX 16384

/* What the bands' size sets: the grid and the memory of everything that
 * grows with a band. */
typedef struct band_layout {
	int *x0, *x1; /* columns of each group (tile_cols entries of room) */
	int *y0, *y1; /* rows of each row of tiles' bands */
	semqr__band_grid grid;
	int width;          /* the widest group's columns */
	size_t band_bytes;  /* the two band buffers */
	int lines_max;      /* lines per line correction block */
	size_t line_bytes;  /* the line corrector, 0 when off */
	int stack_chunk;    /* rows per stack reader chunk; 0: not within its share */
	size_t stack_bytes; /* the stack reader, 0 when not registered */
} band_layout;

/* Frees L's arrays; L stays valid (empty). */
static void layout_free(band_layout *L)
{
	free(L->x0);
	free(L->x1);
	free(L->y0);
	free(L->y1);
	L->x0 = L->x1 = L->y0 = L->y1 = NULL;
}

/* Allocates L's arrays for p's tile grid and fills the row bands. */
static semqr_status layout_alloc(const semqr__scan_plan *p, band_layout *L, semqr_error *err)
{
	memset(L, 0, sizeof *L);
	L->x0 = malloc((size_t)p->tile_cols * sizeof *L->x0);
	L->x1 = malloc((size_t)p->tile_cols * sizeof *L->x1);
	L->y0 = malloc((size_t)p->tile_rows * sizeof *L->y0);
	L->y1 = malloc((size_t)p->tile_rows * sizeof *L->y1);
	if (!L->x0 || !L->x1 || !L->y0 || !L->y1) {
		layout_free(L);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "scan decoder: out of memory");
	}
	for (int r = 0; r < p->tile_rows; r++)
		band_rows(p, r, &L->y0[r], &L->y1[r]);
	return SEMQR_OK;
}

/* Fills L for p's groups. */
static void layout_groups(const semqr__scan_plan *p, const semqr_scan_decode_options *opts,
                          const stack_plan *sp, band_layout *L)
{
	L->width = 0;
	for (int g = 0; g < p->groups; g++) {
		group_columns(p, g, &L->x0[g], &L->x1[g]);
		L->width = L->x1[g] - L->x0[g] > L->width ? L->x1[g] - L->x0[g] : L->width;
	}
	L->grid = (semqr__band_grid){L->x0, L->x1, p->groups, L->y0, L->y1, p->tile_rows};
	L->band_bytes = semqr__band_reader_bytes(&L->grid, (size_t)p->bits / 8);
	/* Line correction blocks: LINE_BLOCK_BYTES, at least a few lines. */
	size_t line_one = semqr__lines_bytes(L->width, 1) - semqr__lines_bytes(L->width, 0);
	int lines_max = (int)(LINE_BLOCK_BYTES / line_one);
	L->lines_max = lines_max < LINE_CONTEXT + 8 ? LINE_CONTEXT + 8
	               : lines_max > 256            ? 256
	                                            : lines_max;
	L->line_bytes = opts->line_shifts ? semqr__lines_bytes(L->width, L->lines_max) : 0;
	L->stack_chunk = 0;
	L->stack_bytes = 0;
	if (sp->drift) {
		size_t share = opts->memory_budget / 8 < STACK_SHARE_MAX ? opts->memory_budget / 8
		                                                         : STACK_SHARE_MAX;
		L->stack_chunk =
		    semqr__stack_rows_chunk(L->width, p->width, sp->frame_bits, sp->margins, share);
		if (L->stack_chunk)
			L->stack_bytes = semqr__stack_rows_bytes(L->width, p->width, sp->frame_bits,
			                                         sp->margins, L->stack_chunk);
	}
}

/* Memory of everything but the decoder slots. */
static size_t layout_fixed(const semqr__scan_plan *p, const band_layout *L)
{
	return L->band_bytes + L->line_bytes + L->stack_bytes + semqr__device_bytes(p);
}

/* Whether p's groups fit the budget with `threads` decoder threads. */
static int layout_fits(const semqr__scan_plan *p, const semqr_scan_decode_options *opts,
                       const stack_plan *sp, band_layout *L, int threads)
{
	layout_groups(p, opts, sp, L);
	size_t need = layout_fixed(p, L) + (size_t)(threads + 1) * semqr__slot_bytes(p);
	return (!sp->drift || L->stack_chunk) && need <= opts->memory_budget;
}

/* Chooses the column groups (see above; group_cols > 0 caps their tile
 * columns, for tests) and the decoder threads, fills L and the summary's
 * memory and threads, and checks the plan against the budget. */
static semqr_status plan_layout(semqr__scan_plan *plan, const semqr_scan_info *info,
                                const semqr_scan_decode_options *opts, int group_cols,
                                const stack_plan *sp, band_layout *L, semqr_scan_summary *sum,
                                semqr_error *err)
{
	semqr_status st = layout_alloc(plan, L, err);
	if (st != SEMQR_OK)
		return st;
	plan->group_margin = opts->line_shifts ? opts->line_shift_max : 0;
	int most = plan->tile_cols;
	if (!opts->band && group_cols > 0)
		most = group_cols;
	else if (!opts->band && info->column_reads)
		most = GROUP_CORE_PX / plan->tile > 1 ? GROUP_CORE_PX / plan->tile : 1;
	most = most < plan->tile_cols ? most : plan->tile_cols;
	/* The widest groups that fit (memory grows with their columns). */
	int threads = threads_wanted(opts->threads);
	int lo = opts->band ? most : 1, hi = most;
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;
		set_groups(plan, mid);
		if (layout_fits(plan, opts, sp, L, threads))
			lo = mid;
		else
			hi = mid - 1;
	}
	set_groups(plan, lo);
	layout_groups(plan, opts, sp, L);
	if (sp->drift && !L->stack_chunk)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "scan decoder: averaging the registered frames %d rows at a time "
		    "(%d pixels wide, frames shifted by up to %d rows) needs more "
		    "than an eighth of the memory budget of %.1f MiB; give a larger "
		    "budget",
		    SEMQR__STACK_CHUNK_MIN, L->width, sp->margins.y - 2, mib(opts->memory_budget));
	size_t fixed = layout_fixed(plan, L);
	sum->memory_bytes = plan_threads(plan, opts->threads, fixed, opts->memory_budget);
	sum->threads = plan->threads;
	if (sum->memory_bytes > opts->memory_budget) {
		char groups[64] = "";
		if (plan->groups > 1)
			snprintf(groups, sizeof groups, " (column groups of %d tile columns)",
			         plan->group_cols);
		size_t extra = L->line_bytes + L->stack_bytes;
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "scan decoder: two bands of %d x %d pixels at %d bits%s%s (%.1f "
		    "MiB) and the tile buffers of %d x %d pixels (%.1f MiB) exceed "
		    "the memory budget of %.1f MiB; give a smaller tile or a larger "
		    "budget",
		    L->width, band_rows_max(plan), plan->bits, groups,
		    L->line_bytes && L->stack_bytes ? ", the line corrector's blocks "
		                                      "and the stack reader's chunks"
		    : L->line_bytes                 ? " with the line corrector's blocks"
		    : L->stack_bytes                ? ", the stack reader's chunks"
		                                    : "",
		    mib(L->band_bytes + extra), plan->buf_w, plan->buf_h,
		    mib(sum->memory_bytes - L->band_bytes - extra), mib(opts->memory_budget));
	}
	return SEMQR_OK;
}

/* Runs the tiles of band b (group g, tile row `row`) through the device
 * stages and hands them to the decoders. */
static semqr_status band_tiles(const semqr__band *b, const semqr__scan_plan *plan, int g, int row,
                               semqr__tile_device *d, emitter *e, semqr_scan_summary *sum,
                               semqr_error *err)
{
	int c0 = g * plan->group_cols;
	int c1 = c0 + plan->group_cols < plan->tile_cols ? c0 + plan->group_cols : plan->tile_cols;
	for (int col = c0; col < c1; col++) {
		semqr__tile t;
		tile_at(plan, col, row, &t);
		double t0 = semqr__now();
		cut_tile(b, plan, &t, d->host_in);
		sum->seconds[SEMQR_STAGE_UPLOAD] += semqr__now() - t0;
		int slot = emit_until(e, 1);
		if (e->status != SEMQR_OK) { /* a decoder failed: stop */
			give_back(e->p, slot);
			return SEMQR_OK;
		}
		semqr_status st = semqr__device_run(d, plan, &t, slot, &e->p->slots[slot], sum, err);
		if (st != SEMQR_OK) {
			give_back(e->p, slot);
			return st;
		}
		submit(e, slot);
		sum->tiles++;
	}
	return SEMQR_OK;
}

/* The device of the scan decoder: its description, or why none was
 * chosen (reported only when the device is needed). */
typedef struct device_choice {
	semqr_cl_device_info dev;
	semqr_status st;
	semqr_error err;
} device_choice;

/* The scan's noise, measured on a thread of its own while the calling thread
 * chooses the device: the first call into OpenCL loads and starts the
 * platform's libraries, some 20 ms with PoCL. The OpenCL calls stay on the
 * calling thread: LLVM, which PoCL loads, gives the thread that first calls
 * it an alternate signal stack of its own, which AddressSanitizer then
 * fails to release when that thread ends. */
typedef struct noise_job {
	semqr_scan *scan;
	int page;
	semqr__noise_level noise;
	semqr_status st;
	semqr_error err;
} noise_job;

static void *noise_job_main(void *arg)
{
	noise_job *j = arg;
	j->st = semqr__noise_measure(j->scan, j->page, &j->noise, &j->err);
	return NULL;
}

/* Measures the noise of the scan's page into *noise (its status returned,
 * its error in *err) while choosing the device for spec into *choice (on
 * this thread alone when no thread starts). */
static semqr_status noise_and_device(semqr_scan *scan, int page, const char *spec,
                                     semqr__noise_level *noise, device_choice *choice,
                                     semqr_error *err)
{
	noise_job j;
	memset(&j, 0, sizeof j);
	j.scan = scan;
	j.page = page;
	pthread_t thread;
	int threaded = pthread_create(&thread, NULL, noise_job_main, &j) == 0;
	choice->st = semqr_cl_select_device(spec, &choice->dev, &choice->err);
	if (threaded)
		pthread_join(thread, NULL);
	else
		noise_job_main(&j);
	*noise = j.noise;
	if (j.st != SEMQR_OK && err)
		*err = j.err;
	return j.st;
}

/* The decoding proper, band after band, once the plan (and for a registered
 * stack its drift) is made and the device chosen (choice).
 * The band reader starts before the device stages are set up, so that the
 * first band is read while the device's programs load, unless a registered
 * stack's reader needs the device itself. */
static semqr_status decode_bands(semqr_scan *scan, const semqr__scan_plan *plan_in,
                                 const semqr_scan_info *info, const semqr_scan_decode_options *opts,
                                 int group_cols, const stack_plan *sp, device_choice *choice,
                                 semqr_scan_callback cb, void *user, semqr_scan_summary *sum,
                                 semqr_error *err)
{
	semqr__scan_plan plan = *plan_in;
	band_layout L;
	semqr_status st = plan_layout(&plan, info, opts, group_cols, sp, &L, sum, err);
	row_source src = {scan, plan.page, NULL, NULL, L.lines_max, sum};
	semqr__band_reader *reader = NULL;
	if (st == SEMQR_OK && opts->line_shifts)
		st = semqr__lines_create(L.width, plan.bits, opts->line_shift_max, L.lines_max,
		                         &src.lines, err);
	if (st == SEMQR_OK && !sp->drift)
		st = semqr__band_reader_start(&L.grid, (size_t)plan.bits / 8, source_read,
		                              source_fix, &src, &reader, err);
	if (st == SEMQR_OK && choice->st != SEMQR_OK) {
		st = choice->st;
		if (err)
			*err = choice->err;
	}
	semqr__tile_device d;
	int have_device = 0;
	if (st == SEMQR_OK) {
		snprintf(sum->device, sizeof sum->device, "%s", choice->dev.name);
		st = semqr__device_create(&plan, &choice->dev, &d, err);
		have_device = st == SEMQR_OK;
	}
	if (st == SEMQR_OK && sp->drift) {
		st = semqr__stack_rows_create(scan, sp->drift, &choice->dev, L.width, L.stack_chunk,
		                              &src.stack, err);
		if (st == SEMQR_OK)
			sum->frames_integrated = semqr__stack_rows_frames(src.stack);
		if (st == SEMQR_OK)
			st = semqr__band_reader_start(&L.grid, (size_t)plan.bits / 8, source_read,
			                              source_fix, &src, &reader, err);
	}
	pool p;
	int have_pool = st == SEMQR_OK && (st = pool_create(&p, &plan, err)) == SEMQR_OK;

	emitter e = {&p, 0, 0, cb, user, sum, SEMQR_OK, {SEMQR_OK, ""}};
	int bands = plan.groups * plan.tile_rows;
	for (int k = 0; k < bands && st == SEMQR_OK && e.status == SEMQR_OK; k++) {
		semqr__band b;
		double t0 = semqr__now();
		st = semqr__band_reader_wait(reader, k, &b, err);
		sum->seconds_read_wait += semqr__now() - t0;
		/* A band callback implies one group: the band is full rows. */
		if (st == SEMQR_OK && opts->band)
			opts->band(opts->band_user, b.y0, b.rows, b.data, plan.bits,
			           (size_t)b.width);
		if (st == SEMQR_OK)
			st = band_tiles(&b, &plan, k / plan.tile_rows, k % plan.tile_rows, &d, &e,
			                sum, err);
		semqr__band_reader_release(reader, k);
	}
	if (have_pool) {
		/* The tiles handed out are reported even after an error. */
		emit_until(&e, 0);
		if (st == SEMQR_OK && e.status != SEMQR_OK) {
			st = e.status;
			if (err)
				*err = e.err;
		}
	}
	/* The reader's times are complete once it has stopped. */
	semqr__band_reader_stop(reader);
	if (src.lines) {
		semqr__lines_stats ls = semqr__lines_get_stats(src.lines);
		sum->line_shift_rms_px = ls.lines ? sqrt(ls.sum_sq / (double)ls.lines) : 0.0;
		sum->line_shift_max_px = ls.max_abs;
		semqr__lines_destroy(src.lines);
	}
	if (have_pool)
		pool_destroy(&p);
	semqr__stack_rows_destroy(src.stack);
	if (have_device)
		semqr__device_destroy(&d);
	layout_free(&L);
	return st;
}

semqr_status semqr_decode_scan(semqr_scan *scan, const semqr_scan_decode_options *opts,
                               semqr_scan_callback cb, void *user, semqr_scan_summary *summary,
                               semqr_error *err)
{
	return semqr__decode_scan_grouped(scan, opts, 0, cb, user, summary, err);
}

semqr_status semqr__decode_scan_grouped(semqr_scan *scan, const semqr_scan_decode_options *opts,
                                        int group_cols, semqr_scan_callback cb, void *user,
                                        semqr_scan_summary *summary, semqr_error *err)
{
	double t_start = semqr__now();
	semqr_scan_decode_options defaults;
	if (!opts) {
		semqr_scan_decode_options_init(&defaults);
		opts = &defaults;
	}
	semqr_scan_summary local;
	semqr_scan_summary *sum = summary ? summary : &local;
	memset(sum, 0, sizeof *sum);
	if (!scan)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "scan decoder: no scan given");
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	semqr_status st = check_options(opts, &info, err);
	if (st != SEMQR_OK)
		return st;
	device_choice choice;
	semqr__noise_level noise;
	if ((st = noise_and_device(scan, info.pages == 1 ? 0 : opts->page, opts->device, &noise,
	                           &choice, err)) != SEMQR_OK)
		return st;
	if (noise.samples > 0) {
		sum->noise_level = noise.level;
		sum->noise_sd = noise.sd;
		sum->noise_quanta = noise.quanta;
	}
	semqr__scan_plan plan;
	if ((st = make_plan(opts, &info, &noise, &plan, err)) != SEMQR_OK)
		return st;

	sum->width = plan.width;
	sum->height = plan.height;
	sum->pages = info.pages;
	int registered = info.pages > 1 && opts->page == SEMQR_SCAN_MEAN &&
	                 opts->stack == SEMQR_STACK_REGISTER;
	sum->stack = registered                                               ? "register"
	             : info.pages > 1 && opts->page == SEMQR_SCAN_MEAN ? "mean"
	                                                                : "single";
	sum->frames_integrated = info.pages > 1 && opts->page == SEMQR_SCAN_MEAN ? info.pages : 1;
	sum->pixels = (uint64_t)plan.width * (uint64_t)plan.height;
	sum->tile_cols = plan.tile_cols;
	sum->tile_rows = plan.tile_rows;
	sum->tile = plan.tile;
	sum->halo = plan.halo;
	sum->pixel_nm = plan.pixel_nm;
	sum->module_px_min = plan.module_px_min;
	sum->module_px_max = plan.module_px_max;
	sum->modules_resolved = plan.resolved;
	sum->detect_scale = plan.scale;
	sum->denoise_sigma_px = plan.sigma * plan.scale;
	if (!plan.resolved) {
		/* no device stage runs: the device is not needed */
		sum->seconds_total = semqr__now() - t_start;
		return SEMQR_OK;
	}

	stack_plan sp = {NULL, {0, 0}, 0};
	if (registered) {
		/* The averaged frames come as 16-bit grey (pipeline/stack_rows.h). */
		plan.bits = 16;
		if ((st = stack_prepare(scan, &info, opts, sum, &sp, err)) != SEMQR_OK) {
			semqr__drift_destroy(sp.drift);
			sum->seconds_total = semqr__now() - t_start;
			return st;
		}
	}
	st = decode_bands(scan, &plan, &info, opts, group_cols, &sp, &choice, cb, user, sum, err);
	semqr__drift_destroy(sp.drift);
	sum->seconds_total = semqr__now() - t_start;
	return st;
}
