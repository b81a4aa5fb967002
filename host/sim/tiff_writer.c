/* The simulator's TIFF output through libtiff: one page per frame, 8 or 16
 * bits, strips (TIFFWriteScanline) or tiles (a band of tile_size rows
 * buffered, then TIFFWriteTile), no compression or LZW or Deflate (both with
 * horizontal differencing), BigTIFF when asked or when the uncompressed size
 * (times 1.5 for compression's worst case on noise) would pass 4 GiB less a
 * margin for the directories.
 *
 * Metadata, as microscopes write it, so that readers find the pixel size:
 * - FEI/Thermo: INI text in tag 34682 ([Scan] PixelWidth/PixelHeight and
 *   [EScan] in metres, [Image] ResolutionX/Y in pixels, dwell, HV...);
 * - Zeiss SmartSEM: tag 34118 (CZ_SEM), a few numbers, then "KEY" lines each
 *   followed by a "Label = value unit" line (AP_IMAGE_PIXEL_SIZE...);
 * - XResolution/YResolution in pixels per centimetre for everything else.
 * The data bar, when asked, is stored below the image, as FEI files store it
 * below [Image] ResolutionY rows.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "semqr/semqr.h"
#include "sim/sim_internal.h"

#define TAG_FEI 34682
#define TAG_ZEISS 34118

/* ---- custom tags -------------------------------------------------------- */

static const TIFFFieldInfo vendor_fields[] = {
	{TAG_FEI, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "FEI_HELIOS"},
	{TAG_ZEISS, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "CZ_SEM"},
};

static TIFFExtendProc parent_extender;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void extender(TIFF *tif)
{
	TIFFMergeFieldInfo(tif, vendor_fields, sizeof vendor_fields / sizeof vendor_fields[0]);
	if (parent_extender)
		parent_extender(tif);
}

static void register_tags(void)
{
	parent_extender = TIFFSetTagExtender(extender);
}

void semqr__sim_tiff_register_tags(void)
{
	pthread_once(&register_once, register_tags);
}

/* ---- metadata text ------------------------------------------------------ */

typedef struct text {
	char *s;
	size_t len, cap;
	int failed;
} text;

__attribute__((format(printf, 2, 3)))
static void add(text *t, const char *fmt, ...)
{
	if (t->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *s = realloc(t->s, cap);
		if (!s) {
			t->failed = 1;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static char *finish(text *t)
{
	if (t->failed) {
		free(t->s);
		return NULL;
	}
	return t->s;
}

/* The FEI/Thermo INI text; malloc'd, NULL without memory. */
static char *fei_text(const semqr__sim *sim)
{
	const semqr_sim_options *o = &sim->o;
	double px = o->pixel_nm * 1e-9, dwell = o->dwell_us * 1e-6;
	double current = o->beam_current_pa > 0 ? o->beam_current_pa * 1e-12 : 0;
	text t = {0};
	add(&t, "[User]\r\nDate=\r\nTime=\r\nUser=semqr\r\n\r\n");
	add(&t, "[System]\r\nType=SEM\r\nSoftware=semqr simulate %s\r\n\r\n", SEMQR_VERSION_STRING);
	add(&t, "[Beam]\r\nHV=%g\r\nBeam=EBeam\r\nScan=EScan\r\n\r\n", o->hv_kv * 1000);
	add(&t, "[EBeam]\r\nHV=%g\r\nHFW=%g\r\nVFW=%g\r\nBeamCurrent=%g\r\n\r\n", o->hv_kv * 1000,
	    sim->width * px, sim->height * px, current);
	for (int k = 0; k < 2; k++) {
		add(&t, "[%s]\r\nInternalScan=true\r\n%s=%g\r\nPixelWidth=%g\r\nPixelHeight=%g\r\n"
		    "HorFieldsize=%g\r\nVerFieldsize=%g\r\nIntegrate=%d\r\nLineTime=%g\r\n"
		    "FrameTime=%g\r\n\r\n", k ? "EScan" : "Scan", k ? "Dwell" : "Dwelltime", dwell,
		    px, px, sim->width * px, sim->height * px, o->frames, sim->line_time_s,
		    sim->frame_time_s);
	}
	add(&t, "[Image]\r\nResolutionX=%d\r\nResolutionY=%d\r\nDigitalContrast=%g\r\n"
	    "DigitalBrightness=%g\r\nDigitalGamma=%g\r\n\r\n", sim->width, sim->height, o->gain,
	    o->offset, o->gamma);
	add(&t, "[PrivateFei]\r\nDatabarHeight=%d\r\n", o->databar_rows);
	return finish(&t);
}

/* The Zeiss CZ_SEM text; malloc'd, NULL without memory. */
static char *zeiss_text(const semqr__sim *sim)
{
	const semqr_sim_options *o = &sim->o;
	double px_m = o->pixel_nm * 1e-9;
	text t = {0};
	add(&t, "0\r\n0\r\n0\r\n%e\r\n%e\r\n", px_m, o->hv_kv * 1000);
	add(&t, "9\r\n");
	add(&t, "AP_PIXEL_SIZE\r\nPixel Size = %.4g nm\r\n", o->pixel_nm);
	add(&t, "AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = %.4g nm\r\n", o->pixel_nm);
	add(&t, "AP_WIDTH\r\nWidth = %.4g \xb5m\r\n", sim->width * o->pixel_nm / 1000);
	add(&t, "AP_HEIGHT\r\nHeight = %.4g \xb5m\r\n", sim->height * o->pixel_nm / 1000);
	add(&t, "AP_ACTUALKV\r\nEHT = %.2f kV\r\n", o->hv_kv);
	add(&t, "DP_DWELL_TIME\r\nDwell Time = %g ns\r\n", o->dwell_us * 1000);
	add(&t, "AP_LINE_TIME\r\nLine Time = %.4g ms\r\n", sim->line_time_s * 1000);
	add(&t, "AP_FRAME_TIME\r\nCycle Time = %.4g Secs\r\n", sim->frame_time_s);
	add(&t, "SV_SERIAL_NUMBER\r\nSerial No. = semqr simulate %s\r\n", SEMQR_VERSION_STRING);
	return finish(&t);
}

/* ---- writer ------------------------------------------------------------- */

typedef struct writer {
	const semqr__sim *sim;
	const char *path;
	TIFF *tif;
	char log[256];
	char *fei, *zeiss;
	int rows_total;       /* image rows + data bar rows */
	size_t row_bytes;
	uint8_t *band;        /* tiles: tile_size rows being assembled */
	uint8_t *tile;
	int band_rows;        /* rows in band */
	int band_y0;          /* image row of band row 0 */
	uint8_t *bar;         /* data bar rows */
} writer;

__attribute__((format(printf, 4, 0)))
static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	writer *w = user;
	if (!w->log[0])
		vsnprintf(w->log, sizeof w->log, fmt, ap);
	return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	return 1;
}

static semqr_status fail(writer *w, const char *what, semqr_error *err)
{
	return semqr__fail(err, SEMQR_ERR_IO, "%s: %s: %s", w->path, what,
	                   w->log[0] ? w->log : "no detail from libtiff");
}

static int need_bigtiff(const semqr__sim *sim, int rows_total)
{
	if (sim->o.bigtiff >= 0)
		return sim->o.bigtiff;
	double bytes = (double)sim->width * rows_total * (sim->o.bits / 8) * sim->o.frames;
	if (sim->o.compression != SEMQR_SIM_COMPRESS_NONE)
		bytes *= 1.5;
	return bytes > 4294967296.0 - 64.0 * 1048576;
}

static semqr_status start_page(writer *w, int frame, semqr_error *err)
{
	const semqr__sim *sim = w->sim;
	const semqr_sim_options *o = &sim->o;
	TIFF *tif = w->tif;
	int ok = 1;
	ok &= TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)sim->width);
	ok &= TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)w->rows_total);
	ok &= TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)o->bits);
	ok &= TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
	ok &= TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	ok &= TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	uint16_t comp = o->compression == SEMQR_SIM_COMPRESS_LZW       ? COMPRESSION_LZW
	                : o->compression == SEMQR_SIM_COMPRESS_DEFLATE ? COMPRESSION_ADOBE_DEFLATE
	                                                                : COMPRESSION_NONE;
	ok &= TIFFSetField(tif, TIFFTAG_COMPRESSION, comp);
	if (comp != COMPRESSION_NONE)
		ok &= TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
	if (o->tiled) {
		ok &= TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)o->tile_size);
		ok &= TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)o->tile_size);
	} else {
		uint32_t rps = (uint32_t)(65536 / w->row_bytes);
		ok &= TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps ? rps : 1);
	}
	ok &= TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
	ok &= TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)(1e7 / o->pixel_nm));
	ok &= TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)(1e7 / o->pixel_nm));
	char software[64];
	snprintf(software, sizeof software, "semqr simulate %s", SEMQR_VERSION_STRING);
	ok &= TIFFSetField(tif, TIFFTAG_SOFTWARE, software);
	if (o->frames > 1) {
		ok &= TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
		ok &= TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)frame, (uint16_t)o->frames);
	}
	if (w->fei)
		ok &= TIFFSetField(tif, TAG_FEI, w->fei);
	if (w->zeiss)
		ok &= TIFFSetField(tif, TAG_ZEISS, w->zeiss);
	if (!ok)
		return fail(w, "setting the page's tags", err);
	return SEMQR_OK;
}

/* Writes the band's tiles (rows band_y0 .. band_y0 + band_rows - 1). */
static semqr_status flush_band(writer *w, semqr_error *err)
{
	const int T = w->sim->o.tile_size, W = w->sim->width;
	const int bpp = w->sim->o.bits / 8;
	for (int tx = 0; tx < W; tx += T) {
		memset(w->tile, 0, (size_t)T * T * bpp);
		int cols = W - tx < T ? W - tx : T;
		for (int j = 0; j < w->band_rows; j++)
			memcpy(w->tile + (size_t)j * T * bpp, w->band + j * w->row_bytes + (size_t)tx * bpp,
			       (size_t)cols * bpp);
		if (TIFFWriteTile(w->tif, w->tile, (uint32_t)tx, (uint32_t)w->band_y0, 0, 0) < 0)
			return fail(w, "writing a tile", err);
	}
	w->band_y0 += w->band_rows;
	w->band_rows = 0;
	return SEMQR_OK;
}

static semqr_status write_row(writer *w, int y, const uint8_t *row, semqr_error *err)
{
	if (!w->sim->o.tiled) {
		if (TIFFWriteScanline(w->tif, (void *)row, (uint32_t)y, 0) < 0)
			return fail(w, "writing a row", err);
		return SEMQR_OK;
	}
	memcpy(w->band + w->band_rows * w->row_bytes, row, w->row_bytes);
	w->band_rows++;
	if (w->band_rows == w->sim->o.tile_size || y == w->rows_total - 1)
		return flush_band(w, err);
	return SEMQR_OK;
}

static semqr_status sink(void *user, int frame, int y0, int rows, int width, const void *pixels,
                         semqr_error *err)
{
	writer *w = user;
	semqr_status st;
	if (y0 == 0) {
		w->band_rows = 0;
		w->band_y0 = 0;
		if ((st = start_page(w, frame, err)) != SEMQR_OK)
			return st;
	}
	for (int j = 0; j < rows; j++)
		if ((st = write_row(w, y0 + j, (const uint8_t *)pixels + j * w->row_bytes, err)) !=
		    SEMQR_OK)
			return st;
	if (y0 + rows < w->sim->height)
		return SEMQR_OK;
	for (int j = 0; j < w->sim->o.databar_rows; j++)
		if ((st = write_row(w, w->sim->height + j, w->bar + j * w->row_bytes, err)) != SEMQR_OK)
			return st;
	if (!TIFFWriteDirectory(w->tif))
		return fail(w, "writing the page's directory", err);
	return SEMQR_OK;
}

static semqr_status write_tiff(const semqr__sim *sim, const char *path, semqr_error *err)
{
	const semqr_sim_options *o = &sim->o;
	writer w = {.sim = sim, .path = path};
	w.rows_total = sim->height + o->databar_rows;
	w.row_bytes = (size_t)sim->width * (o->bits / 8);
	semqr_status st = SEMQR_OK;
	if (o->fei_metadata && !(w.fei = fei_text(sim)))
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for metadata", path);
	if (st == SEMQR_OK && o->zeiss_metadata && !(w.zeiss = zeiss_text(sim)))
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for metadata", path);
	if (st == SEMQR_OK && o->tiled) {
		w.band = malloc((size_t)o->tile_size * w.row_bytes);
		w.tile = malloc((size_t)o->tile_size * o->tile_size * (o->bits / 8));
		if (!w.band || !w.tile)
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for a band of "
			                 "%d-row tiles", path, o->tile_size);
	}
	if (st == SEMQR_OK && o->databar_rows) {
		w.bar = malloc((size_t)o->databar_rows * w.row_bytes);
		if (!w.bar)
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for the data bar",
			                 path);
		else
			semqr__sim_databar(sim, w.bar);
	}
	if (st == SEMQR_OK) {
		semqr__sim_tiff_register_tags();
		TIFFOpenOptions *topts = TIFFOpenOptionsAlloc();
		if (topts) {
			TIFFOpenOptionsSetErrorHandlerExtR(topts, on_error, &w);
			TIFFOpenOptionsSetWarningHandlerExtR(topts, on_warning, NULL);
			w.tif = TIFFOpenExt(path, need_bigtiff(sim, w.rows_total) ? "w8" : "w", topts);
			TIFFOpenOptionsFree(topts);
		}
		if (!w.tif)
			st = fail(&w, "cannot create the file", err);
	}
	if (st == SEMQR_OK)
		st = semqr__sim_render(sim, sink, &w, err);
	if (w.tif)
		TIFFClose(w.tif);
	if (st != SEMQR_OK && w.tif)
		unlink(path);
	free(w.fei);
	free(w.zeiss);
	free(w.band);
	free(w.tile);
	free(w.bar);
	return st;
}

semqr_status semqr_simulate(const semqr_sim_options *opts, const char *tiff_path,
                            const char *truth_path, semqr_error *err)
{
	if (!tiff_path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: no output path");
	semqr__sim sim;
	semqr_status st = semqr__sim_prepare(opts, &sim, err);
	if (st != SEMQR_OK)
		return st;
	st = write_tiff(&sim, tiff_path, err);
	if (st == SEMQR_OK && truth_path)
		st = semqr__sim_write_truth(&sim, truth_path, err);
	semqr__sim_release(&sim);
	return st;
}
