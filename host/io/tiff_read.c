/* TIFF reading through libtiff: the TIFF backend of the scan reader. Pages
 * are read band by band, with a cache of one decoded row of strips or tiles
 * per page. Also the libtiff glue shared with tiff_write.c.
 *
 * Opening. libtiff gets per-handle error and warning handlers (libtiff 4.5's
 * TIFFOpenOptions), so messages reach this handle's log instead of stderr
 * and concurrent scans never share state, and a cap on any single allocation
 * (SEMQR_SCAN_ALLOC_MAX). Mode "rmO": read(2) rather than a memory map (a
 * file truncated under us gives an error, not SIGBUS) and strip offsets and
 * byte counts loaded on demand, so that switching pages costs the same
 * whatever their number of strips (each page's arrays are loaded once when
 * opening, so that libtiff checks their length). Every directory is walked
 * once (only the first page when the scan asks for it alone):
 * reduced-resolution subfiles (thumbnails) are skipped, every other
 * directory is a page and must have the size and depth of page 0; each
 * page's layout is validated and its buffers sized and checked against
 * SEMQR_SCAN_ALLOC_MAX and the file's size before anything is allocated.
 *
 * Reading regions. Pages of uncompressed strips (not read through RGBA) are
 * read straight from the file: for each row of a region, the bytes of its
 * columns at the strip's offset (pread on libtiff's descriptor, which
 * libtiff itself always seeks before reading), bit-reversed for FillOrder 2
 * and byte-swapped for 16-bit samples of the other byte order as libtiff
 * would, then converted; nothing is cached, and a strip's byte count must
 * cover its rows, as libtiff requires. Other pages are read through a cache
 * of one block per page: a strip (width x RowsPerStrip), the tiles of one
 * row of tiles (x TileLength) under the columns last asked for, or the
 * whole page. A region's rows are served from the page's cached block when
 * it holds them and the region's columns; a miss makes that page's
 * directory current (TIFFSetDirectory), decodes the block holding the row
 * (TIFFReadEncodedStrip, or TIFFReadEncodedTile for each tile under the
 * region's columns) into a raw buffer shared by all pages, and converts it
 * to grey in the cache. Regions of the same columns with increasing y0 thus
 * decode each strip or tile once; strips are cached whole, so any columns
 * of a cached strip cost nothing more.
 *
 * Conversion to grey, per pixel: MinIsBlack as is, MinIsWhite inverted, RGB
 * to BT.601 luma, palette through the colour map to luma (8-bit output), 1,
 * 2 and 4-bit samples scaled to 0..255; an alpha sample is composited onto
 * white. 16-bit grey and RGB stay 16-bit. Row 0 is taken as the top
 * (Orientation is ignored, as by most readers).
 *
 * Other layouts libtiff can render (separate planes, YCbCr, CMYK, CIELab,
 * RGB below 8 bits, ...) are read through its RGBA interface
 * (TIFFReadRGBAImageOriented, honouring Orientation): such a page is one
 * block, the whole page, decoded when first read into an RGBA raster (the
 * raw buffer) and converted to 8-bit luma, composited onto white (libtiff's
 * raster has premultiplied alpha). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

/* No codec libtiff ships expands its data by more than this (LZW's longest
 * string is 4096 bytes per 9-bit code); a header promising more pixel bytes
 * per block than this times the file size is corrupt. */
enum { MAX_EXPANSION = 4096 };

/* How to turn a block's rows of samples into grey values (current page). */
typedef struct layout {
	uint16_t photometric;   /* MINISBLACK, MINISWHITE, RGB or PALETTE */
	int bits;               /* per sample: 1, 2, 4, 8 or 16 */
	int spp;                /* samples per pixel */
	int alpha;              /* sample index of the alpha channel, or -1 */
	int premultiplied;      /* alpha is associated */
	const uint16_t *map[3]; /* palette: red, green, blue colour maps */
	uint32_t map_scale;     /* 1 for 16-bit colour maps, 257 for 8-bit ones */
	int out_bits;           /* 8 or 16 */
	int tiled;
	uint32_t width, height; /* of the page */
	uint32_t block_w;       /* tile width, or the image width for strips */
	uint32_t block_h;       /* tile length, or rows per strip */
	uint64_t raw_row;       /* bytes of one decoded row of a strip or tile */
	uint64_t raw_block;     /* bytes of one decoded strip or tile */
	uint16_t compression;
	int rgba;         /* read whole through libtiff's RGBA interface: the
	                     block is the page, the raw buffer its raster, and
	                     only out_bits (8) and the sizes above apply */
	int direct;       /* uncompressed strips, read straight from the file: */
	int reverse_bits; /* FillOrder 2: each byte's bits reversed */
	int swab16;       /* 16-bit samples in the other byte order */
} layout;

typedef struct tiff_page {
	tdir_t dir;              /* directory index in the file */
	int direct, tiled, rgba; /* as in its layout */
	uint32_t block_w, block_h;
	uint8_t *cache;             /* converted rows of one block, or NULL */
	size_t cache_cap;           /* bytes allocated at cache */
	uint32_t cache_y0;          /* first row held */
	uint32_t cache_n;           /* rows held; 0 when empty */
	uint32_t cache_x0, cache_w; /* columns held */
} tiff_page;

typedef struct tiff_scan {
	TIFF *tif;
	semqr__tiff_log log;
	const char *path;   /* the scan's copy */
	uint64_t file_size; /* bytes, for describe_page's plausibility check */
	int cur;            /* page whose directory is current */
	layout L;           /* of page cur */
	uint8_t *raw;       /* one decoded strip or tile, or the stored bytes of a row */
	size_t raw_cap;
	int npages;
	tiff_page *pages;
	int first_only; /* stop walking the directories at page 0 */
} tiff_scan;

/* ---- libtiff glue ------------------------------------------------------ */

__attribute__((format(printf, 4, 0))) static int
on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	semqr__tiff_log *log = user;
	if (!log->error[0]) {
		vsnprintf(log->error, sizeof log->error, fmt, ap);
		/* Drop the "path: " some messages start with: ours already do. */
		size_t n = strlen(log->path);
		if (strncmp(log->error, log->path, n) == 0 && log->error[n] == ':' &&
		    log->error[n + 1] == ' ')
			memmove(log->error, log->error + n + 2, strlen(log->error + n + 2) + 1);
	}
	return 1; /* handled: libtiff must not call its global handler */
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	return 1; /* warnings (unknown vendor tags, ...) never affect the pixels */
}

TIFF *semqr__tiff_open(int fd, const char *path, const char *mode, size_t max_alloc,
                       semqr__tiff_log *log)
{
	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	if (!opts) {
		snprintf(log->error, sizeof log->error, "out of memory");
		return NULL;
	}
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, log);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, NULL);
	if (max_alloc > 0)
		TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)max_alloc);
	TIFF *tif = TIFFFdOpenExt(fd, path, mode, opts); /* copies the options */
	TIFFOpenOptionsFree(opts);
	return tif;
}

const char *semqr__tiff_why(const semqr__tiff_log *log)
{
	return log->error[0] ? log->error : "no detail from libtiff";
}

/* ---- layout of the current directory ------------------------------------ */

/* A layout this file does not convert itself: the tag and its value. */
typedef struct refusal {
	const char *field;
	unsigned value;
} refusal;

static semqr_status refuse(refusal *why_not, const char *field, unsigned value)
{
	why_not->field = field;
	why_not->value = value;
	return SEMQR_ERR_UNSUPPORTED;
}

/* Reads the sample layout of the current directory into L. Returns SEMQR_OK
 * when the samples are converted here; SEMQR_ERR_UNSUPPORTED with the reason
 * in *why_not (err untouched) when they are not; SEMQR_ERR_FORMAT (err
 * filled) for a broken layout. */
static semqr_status sample_layout(TIFF *tif, const char *path, int page, layout *L,
                                  refusal *why_not, semqr_error *err)
{
	uint16_t bits, spp, planar, format, nextra, *extra, photometric;
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
	TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric))
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: no PhotometricInterpretation", path, page);
	if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID)
		return refuse(why_not, "SampleFormat", format);
	if (planar != PLANARCONFIG_CONTIG && spp > 1)
		return refuse(why_not, "PlanarConfiguration", planar);
	if (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)
		return refuse(why_not, "BitsPerSample", bits);
	int colours = 1;
	L->map_scale = 1;
	switch (photometric) {
	case PHOTOMETRIC_MINISBLACK:
	case PHOTOMETRIC_MINISWHITE: break;
	case PHOTOMETRIC_RGB:
		if (bits < 8)
			return refuse(why_not, "RGB with BitsPerSample", bits);
		colours = 3;
		break;
	case PHOTOMETRIC_PALETTE: {
		uint16_t *r, *g, *b;
		if (bits > 8)
			return refuse(why_not, "palette with BitsPerSample", bits);
		if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b))
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: page %d: palette image without "
			                   "a ColorMap",
			                   path, page);
		/* Some writers store 8-bit values in the 16-bit colour map. */
		L->map_scale = 257;
		for (uint32_t k = 0; k < 1u << bits; k++)
			if (r[k] > 255 || g[k] > 255 || b[k] > 255)
				L->map_scale = 1;
		L->map[0] = r;
		L->map[1] = g;
		L->map[2] = b;
		break;
	}
	default: return refuse(why_not, "PhotometricInterpretation", photometric);
	}
	if (spp < colours)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: %u samples per pixel for "
		                   "PhotometricInterpretation %u",
		                   path, page, spp, photometric);
	L->photometric = photometric;
	L->bits = bits;
	L->spp = spp;
	L->alpha = -1;
	L->premultiplied = 0;
	if (spp > colours && nextra >= 1 &&
	    (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA)) {
		L->alpha = colours;
		L->premultiplied = extra[0] == EXTRASAMPLE_ASSOCALPHA;
	}
	L->out_bits = bits == 16 && photometric != PHOTOMETRIC_PALETTE ? 16 : 8;
	L->rgba = 0;
	return SEMQR_OK;
}

/* Reads and checks the current directory's size, samples and blocks; the
 * sizes of the buffers it needs are checked against SEMQR_SCAN_ALLOC_MAX and
 * file_size. */
static semqr_status describe_page(TIFF *tif, const char *path, int page, uint64_t file_size,
                                  layout *L, semqr_error *err)
{
	uint32_t width = 0, height = 0;
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height))
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: page %d: no image size", path, page);
	if (width < 1 || height < 1)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: image is empty (%ux%u pixels)", path, page,
		                   (unsigned)width, (unsigned)height);
	if (width > SEMQR_IMAGE_DIM_MAX || height > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: page %d: image size %ux%u exceeds the limit of %d pixels per side", path,
		    page, (unsigned)width, (unsigned)height, SEMQR_IMAGE_DIM_MAX);
	refusal why_not = {"", 0};
	semqr_status st = sample_layout(tif, path, page, L, &why_not, err);
	if (st == SEMQR_ERR_UNSUPPORTED) {
		char reason[1024];
		if (!TIFFRGBAImageOK(tif, reason))
			return semqr__fail(err, SEMQR_ERR_UNSUPPORTED,
			                   "%s: page %d: %s %u is not supported (libtiff: %s)",
			                   path, page, why_not.field, why_not.value, reason);
		L->rgba = 1;
		L->out_bits = 8;
		st = SEMQR_OK;
	}
	if (st != SEMQR_OK)
		return st;
	L->width = width;
	L->height = height;
	L->tiled = TIFFIsTiled(tif);
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &L->compression);
	/* Decoded bytes of one block; for a page read whole, of its samples. */
	uint64_t data;
	if (L->rgba) {
		uint16_t spp, planar;
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
		L->block_w = width;
		L->block_h = height;
		L->raw_row = (uint64_t)width * sizeof(uint32_t);
		L->raw_block = L->raw_row * height;
		data =
		    TIFFScanlineSize64(tif) * height * (planar == PLANARCONFIG_SEPARATE ? spp : 1);
	} else if (L->tiled) {
		uint32_t tw = 0, th = 0;
		TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
		TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
		if (tw < 1 || th < 1 || tw > SEMQR_IMAGE_DIM_MAX || th > SEMQR_IMAGE_DIM_MAX)
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: page %d: tile size %ux%u outside 1..%d", path, page,
			                   (unsigned)tw, (unsigned)th, SEMQR_IMAGE_DIM_MAX);
		L->block_w = tw;
		L->block_h = th > height ? height : th;
		L->raw_row = TIFFTileRowSize64(tif);
		data = L->raw_block = TIFFTileSize64(tif);
	} else {
		uint32_t rps = 0;
		TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
		L->block_w = width;
		L->block_h = rps == 0 || rps > height ? height : rps;
		L->raw_row = TIFFScanlineSize64(tif);
		data = L->raw_block = L->raw_row * L->block_h;
	}
	uint16_t fill;
	TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
	L->direct = !L->rgba && !L->tiled && L->compression == COMPRESSION_NONE;
	L->reverse_bits = L->direct && fill == FILLORDER_LSB2MSB;
	L->swab16 = L->direct && L->bits == 16 && TIFFIsByteSwapped(tif);
	const char *block = L->rgba ? "page" : L->tiled ? "tile" : "strip";
	if (!L->rgba) {
		uint64_t min_row =
		    ((uint64_t)L->block_w * (uint64_t)L->spp * (uint64_t)L->bits + 7) / 8;
		if (L->raw_row < min_row || L->raw_block < L->raw_row * (L->tiled ? L->block_h : 1))
			return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: page %d: bad %s layout",
			                   path, page, block);
	}
	/* Buffers: a cached block and a raw block, or for direct reads the
	 * stored bytes of one row. */
	uint64_t cache = L->direct ? 0 : (uint64_t)L->block_h * width * (uint64_t)(L->out_bits / 8);
	uint64_t raw = L->direct ? L->raw_row : L->raw_block;
	if (cache > SEMQR_SCAN_ALLOC_MAX || raw > SEMQR_SCAN_ALLOC_MAX)
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: page %d: %s needs %llu bytes decoded, above the limit of %zu", path, page,
		    L->rgba     ? "the page, read whole,"
		    : L->tiled  ? "a row of tiles"
		    : L->direct ? "a row"
		                : "a strip",
		    (unsigned long long)(cache > raw ? cache : raw), SEMQR_SCAN_ALLOC_MAX);
	if (L->compression == COMPRESSION_NONE && data > file_size)
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: page %d: truncated: one %s needs %llu bytes, the file has %llu", path,
		    page, block, (unsigned long long)data, (unsigned long long)file_size);
	if (data > file_size * MAX_EXPANSION)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: one %s holds %llu bytes decoded, more than a "
		                   "%llu-byte file can store",
		                   path, page, block, (unsigned long long)data,
		                   (unsigned long long)file_size);
	return SEMQR_OK;
}

/* ---- conversion ---------------------------------------------------------- */

/* Sample i of a row packed at `bits` per sample, most significant bits first;
 * 16-bit samples are in host order (libtiff swaps them). */
static uint32_t sample(const uint8_t *row, size_t i, int bits)
{
	if (bits == 16) {
		uint16_t v;
		memcpy(&v, row + 2 * i, sizeof v);
		return v;
	}
	if (bits == 8)
		return row[i];
	size_t bit = i * (size_t)bits;
	return (uint32_t)(row[bit / 8] >> (8 - bits - (int)(bit % 8))) & ((1u << bits) - 1);
}

/* The grey value of the pixel whose first sample is sample i of row. */
static uint32_t grey_at(const layout *L, const uint8_t *row, size_t i)
{
	uint32_t max = (1u << L->bits) - 1, out_max = L->out_bits == 16 ? 65535 : 255;
	uint32_t v;
	switch (L->photometric) {
	case PHOTOMETRIC_PALETTE: {
		uint32_t k = sample(row, i, L->bits);
		v = semqr__luma(L->map[0][k] * L->map_scale, L->map[1][k] * L->map_scale,
		                L->map[2][k] * L->map_scale);
		return (v * 255 + 32767) / 65535;
	}
	case PHOTOMETRIC_RGB:
		v = semqr__luma(sample(row, i, L->bits), sample(row, i + 1, L->bits),
		                sample(row, i + 2, L->bits));
		break;
	case PHOTOMETRIC_MINISWHITE: v = max - sample(row, i, L->bits); break;
	default: v = sample(row, i, L->bits); break;
	}
	if (L->alpha >= 0) {
		uint32_t a = sample(row, i + (size_t)L->alpha, L->bits);
		v = L->premultiplied ? semqr__over_white_premultiplied(v, a, max)
		                     : semqr__over_white(v, a, max);
	}
	return max == out_max ? v : v * (out_max / max); /* 1, 2, 4 bits: 255 / max is exact */
}

/* Converts `cols` pixels of raw samples into out (native depth), the first
 * pixel's first sample being sample `skip` of raw (nonzero only within the
 * first byte, for samples under 8 bits). */
static void convert_cols(const layout *L, const uint8_t *raw, size_t skip, uint32_t cols,
                         uint8_t *out)
{
	if (L->photometric == PHOTOMETRIC_MINISBLACK && L->spp == 1 && L->bits >= 8) {
		memcpy(out, raw, (size_t)cols * (size_t)(L->bits / 8));
		return;
	}
	for (uint32_t x = 0; x < cols; x++) {
		uint32_t v = grey_at(L, raw, skip + (size_t)x * (size_t)L->spp);
		if (L->out_bits == 8)
			out[x] = (uint8_t)v;
		else
			((uint16_t *)out)[x] = (uint16_t)v;
	}
}

/* ---- reading ------------------------------------------------------------- */

static semqr_status select_page(tiff_scan *ts, int page, semqr_error *err)
{
	if (ts->cur == page)
		return SEMQR_OK;
	ts->cur = -1;
	ts->log.error[0] = 0;
	if (!TIFFSetDirectory(ts->tif, ts->pages[page].dir))
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: cannot read its directory "
		                   "(libtiff: %s)",
		                   ts->path, page, semqr__tiff_why(&ts->log));
	/* Validated when opened; this refreshes the colour-map pointers. */
	semqr_status st = describe_page(ts->tif, ts->path, page, ts->file_size, &ts->L, err);
	if (st == SEMQR_OK)
		ts->cur = page;
	return st;
}

/* Makes the raw buffer hold at least `bytes`. */
static semqr_status reserve_raw(tiff_scan *ts, int page, uint64_t bytes, semqr_error *err)
{
	if (ts->raw_cap >= bytes)
		return SEMQR_OK;
	free(ts->raw);
	ts->raw_cap = 0;
	ts->raw = malloc((size_t)bytes);
	if (!ts->raw)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "%s: page %d: cannot allocate a %llu-byte block", ts->path, page,
		                   (unsigned long long)bytes);
	ts->raw_cap = (size_t)bytes;
	return SEMQR_OK;
}

/* Reads n bytes at offset `at` of fd into buf, retrying short reads; returns
 * the bytes read (fewer only at the end of the file), or -1 with errno set. */
static ssize_t read_at(int fd, uint8_t *buf, size_t n, uint64_t at)
{
	size_t done = 0;
	while (done < n) {
		ssize_t got = pread(fd, buf + done, n - done, (off_t)(at + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		done += (size_t)got;
	}
	return (ssize_t)done;
}

/* Reads columns x0 .. x0 + w - 1 of rows y0 .. y0 + rows - 1 of the current
 * page (uncompressed strips) straight from the file into dst: the stored
 * bytes of each row's columns, through the raw buffer unless they are the
 * grey values already. */
static semqr_status read_direct(tiff_scan *ts, int page, uint32_t x0, uint32_t y0, uint32_t w,
                                uint32_t rows, uint8_t *dst, size_t dst_stride, semqr_error *err)
{
	const layout *L = &ts->L;
	uint64_t bit0 = (uint64_t)x0 * (uint64_t)L->spp * (uint64_t)L->bits;
	uint64_t bit1 = (uint64_t)(x0 + w) * (uint64_t)L->spp * (uint64_t)L->bits;
	uint64_t first = bit0 / 8;
	size_t bytes = (size_t)((bit1 + 7) / 8 - first),
	       skip = (size_t)(bit0 % 8) / (size_t)L->bits;
	int as_is = L->photometric == PHOTOMETRIC_MINISBLACK && L->spp == 1 && L->bits >= 8 &&
	            !L->swab16 && !L->reverse_bits;
	size_t bpp = (size_t)L->out_bits / 8;
	semqr_status st = as_is ? SEMQR_OK : reserve_raw(ts, page, bytes, err);
	uint32_t strip = UINT32_MAX; /* the strip whose offset is in base */
	uint64_t base = 0;
	for (uint32_t r = 0; r < rows && st == SEMQR_OK; r++) {
		uint32_t y = y0 + r;
		if (y / L->block_h != strip) {
			strip = y / L->block_h;
			uint32_t sy = strip * L->block_h;
			uint32_t n = L->height - sy < L->block_h ? L->height - sy : L->block_h;
			ts->log.error[0] = 0;
			uint64_t count = TIFFGetStrileByteCount(ts->tif, strip);
			base = TIFFGetStrileOffset(ts->tif, strip);
			if (count < (uint64_t)n * L->raw_row)
				return semqr__fail(
				    err, SEMQR_ERR_FORMAT,
				    "%s: page %d, strip %u: %llu bytes stored for rows "
				    "%u..%u of %llu bytes each%s%s",
				    ts->path, page, (unsigned)strip, (unsigned long long)count,
				    (unsigned)sy, (unsigned)(sy + n - 1),
				    (unsigned long long)L->raw_row, ts->log.error[0] ? ": " : "",
				    ts->log.error);
		}
		uint8_t *out = dst + r * dst_stride * bpp, *in = as_is ? out : ts->raw;
		uint64_t at = base + (uint64_t)(y - strip * L->block_h) * L->raw_row + first;
		ssize_t got = read_at(TIFFFileno(ts->tif), in, bytes, at);
		if (got != (ssize_t)bytes)
			return semqr__fail(
			    err, got < 0 ? SEMQR_ERR_IO : SEMQR_ERR_FORMAT,
			    "%s: page %d, strip %u: %s in row %u", ts->path, page, (unsigned)strip,
			    got < 0 ? strerror(errno) : "truncated: the file ends", (unsigned)y);
		if (as_is)
			continue;
		if (L->reverse_bits)
			TIFFReverseBits(in, (tmsize_t)bytes);
		if (L->swab16)
			TIFFSwabArrayOfShort((uint16_t *)(void *)in, (tmsize_t)(bytes / 2));
		convert_cols(L, in, skip, w, out);
	}
	return st;
}

/* The columns of the block to cache for a region of columns x0 .. x0 + w - 1
 * of page P: the tiles under them, or the full width (a strip is decoded
 * whole; a page read through RGBA is one block). */
static void cache_columns(const tiff_page *P, uint32_t width, uint32_t x0, uint32_t w,
                          uint32_t *cx0, uint32_t *cx1)
{
	*cx0 = 0;
	*cx1 = width;
	if (!P->tiled || P->rgba)
		return;
	*cx0 = x0 / P->block_w * P->block_w;
	uint64_t end = ((uint64_t)x0 + w + P->block_w - 1) / P->block_w * P->block_w;
	if (end < width)
		*cx1 = (uint32_t)end;
}

/* Decodes the strip holding rows by .. by + n - 1 of the current page into
 * `out`, rows of the full width. */
static semqr_status decode_strip(tiff_scan *ts, int page, uint32_t by, uint32_t n, uint8_t *out,
                                 semqr_error *err)
{
	const layout *L = &ts->L;
	size_t out_row = (size_t)L->width * (size_t)(L->out_bits / 8);
	uint32_t strip = TIFFComputeStrip(ts->tif, by, 0);
	tmsize_t want = (tmsize_t)(n * L->raw_row);
	tmsize_t got = TIFFReadEncodedStrip(ts->tif, strip, ts->raw, want);
	if (got != want)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: page %d, strip %u: %s (rows %u..%u)",
		                   ts->path, page, (unsigned)strip,
		                   got < 0 ? semqr__tiff_why(&ts->log)
		                           : "strip shorter than its rows",
		                   (unsigned)by, (unsigned)(by + n - 1));
	for (uint32_t r = 0; r < n; r++)
		convert_cols(L, ts->raw + r * L->raw_row, 0, L->width, out + r * out_row);
	return SEMQR_OK;
}

/* The same for the tiles of the row of tiles starting at row by under
 * columns cx0 .. cx1 - 1 (cx0 at a tile's left edge), into rows of
 * cx1 - cx0 pixels. */
static semqr_status decode_tiles(tiff_scan *ts, int page, uint32_t by, uint32_t n, uint32_t cx0,
                                 uint32_t cx1, uint8_t *out, semqr_error *err)
{
	const layout *L = &ts->L;
	size_t out_bpp = (size_t)L->out_bits / 8, out_row = (size_t)(cx1 - cx0) * out_bpp;
	for (uint32_t tx = cx0; tx < cx1; tx += L->block_w) {
		uint32_t tile = TIFFComputeTile(ts->tif, tx, by, 0, 0);
		uint32_t cols = L->width - tx < L->block_w ? L->width - tx : L->block_w;
		tmsize_t got = TIFFReadEncodedTile(ts->tif, tile, ts->raw, (tmsize_t)L->raw_block);
		if (got < (tmsize_t)(n * L->raw_row))
			return semqr__fail(
			    err, SEMQR_ERR_FORMAT, "%s: page %d, tile %u: %s (x %u, y %u)",
			    ts->path, page, (unsigned)tile,
			    got < 0 ? semqr__tiff_why(&ts->log) : "tile shorter than its rows",
			    (unsigned)tx, (unsigned)by);
		for (uint32_t r = 0; r < n; r++)
			convert_cols(L, ts->raw + r * L->raw_row, 0, cols,
			             out + r * out_row + (tx - cx0) * out_bpp);
	}
	return SEMQR_OK;
}

/* Decodes the whole current page through libtiff's RGBA interface into the
 * raw buffer, then into `out` as 8-bit grey. The raster's alpha is
 * premultiplied (255 without alpha). */
static semqr_status decode_rgba(tiff_scan *ts, int page, uint8_t *out, semqr_error *err)
{
	const layout *L = &ts->L;
	uint32_t *raster = (uint32_t *)(void *)ts->raw;
	if (!TIFFReadRGBAImageOriented(ts->tif, L->width, L->height, raster, ORIENTATION_TOPLEFT,
	                               1))
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: page %d: %s", ts->path, page,
		                   semqr__tiff_why(&ts->log));
	size_t pixels = (size_t)L->width * L->height;
	for (size_t i = 0; i < pixels; i++) {
		uint32_t p = raster[i];
		uint32_t v = semqr__luma(TIFFGetR(p), TIFFGetG(p), TIFFGetB(p));
		out[i] = (uint8_t)semqr__over_white_premultiplied(v, TIFFGetA(p), 255);
	}
	return SEMQR_OK;
}

/* Decodes columns cx0 .. cx1 - 1 (from cache_columns) of the block starting
 * at row by of page into the page's cache. */
static semqr_status fill_cache(tiff_scan *ts, int page, uint32_t by, uint32_t cx0, uint32_t cx1,
                               semqr_error *err)
{
	tiff_page *P = &ts->pages[page];
	P->cache_n = 0;
	semqr_status st = select_page(ts, page, err);
	if (st != SEMQR_OK)
		return st;
	const layout *L = &ts->L;
	size_t need = (size_t)P->block_h * (cx1 - cx0) * (size_t)(L->out_bits / 8);
	if (P->cache_cap < need) {
		free(P->cache);
		P->cache_cap = 0;
		P->cache = malloc(need);
		if (!P->cache)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "%s: page %d: cannot allocate %u rows of %u pixels",
			                   ts->path, page, (unsigned)P->block_h,
			                   (unsigned)(cx1 - cx0));
		P->cache_cap = need;
	}
	if ((st = reserve_raw(ts, page, L->raw_block, err)) != SEMQR_OK)
		return st;
	uint32_t n = L->height - by < P->block_h ? L->height - by : P->block_h;
	ts->log.error[0] = 0;
	st = L->rgba    ? decode_rgba(ts, page, P->cache, err)
	     : L->tiled ? decode_tiles(ts, page, by, n, cx0, cx1, P->cache, err)
	                : decode_strip(ts, page, by, n, P->cache, err);
	if (st != SEMQR_OK)
		return st;
	P->cache_y0 = by;
	P->cache_n = n;
	P->cache_x0 = cx0;
	P->cache_w = cx1 - cx0;
	return SEMQR_OK;
}

static semqr_status tiff_read(semqr_scan *scan, int page, uint32_t x0, uint32_t y0, uint32_t w,
                              uint32_t rows, void *dst, size_t dst_stride, semqr_error *err)
{
	tiff_scan *ts = scan->impl;
	tiff_page *P = &ts->pages[page];
	if (P->direct) {
		semqr_status st = select_page(ts, page, err);
		return st != SEMQR_OK
		           ? st
		           : read_direct(ts, page, x0, y0, w, rows, dst, dst_stride, err);
	}
	size_t bpp = (size_t)scan->info.bits / 8;
	uint32_t cx0, cx1;
	cache_columns(P, (uint32_t)scan->info.width, x0, w, &cx0, &cx1);
	for (uint32_t y = y0; y < y0 + rows;) {
		if (y < P->cache_y0 || y >= P->cache_y0 + P->cache_n || x0 < P->cache_x0 ||
		    x0 + w > P->cache_x0 + P->cache_w) {
			semqr_status st =
			    fill_cache(ts, page, y / P->block_h * P->block_h, cx0, cx1, err);
			if (st != SEMQR_OK)
				return st;
		}
		size_t cache_row = (size_t)P->cache_w * bpp;
		for (; y < y0 + rows && y < P->cache_y0 + P->cache_n; y++)
			memcpy((uint8_t *)dst + (y - y0) * dst_stride * bpp,
			       P->cache + (y - P->cache_y0) * cache_row + (x0 - P->cache_x0) * bpp,
			       (size_t)w * bpp);
	}
	return SEMQR_OK;
}

static void tiff_close(void *impl)
{
	tiff_scan *ts = impl;
	if (ts->pages)
		for (int p = 0; p < ts->npages; p++)
			free(ts->pages[p].cache);
	free(ts->pages);
	free(ts->raw);
	if (ts->tif)
		TIFFClose(ts->tif);
	free(ts);
}

static const semqr__scan_backend tiff_backend = {.read = NULL, .close = tiff_close};

/* ---- opening ------------------------------------------------------------ */

/* The bytes of a vendor tag of one-byte type in the current directory. */
static int tag_bytes(TIFF *tif, uint32_t tag, const uint8_t **p, size_t *n)
{
	const TIFFField *f = TIFFFindField(tif, tag, TIFF_ANY);
	if (!f)
		return 0;
	TIFFDataType type = TIFFFieldDataType(f);
	if (type != TIFF_ASCII && type != TIFF_BYTE && type != TIFF_UNDEFINED && type != TIFF_SBYTE)
		return 0;
	void *data = NULL;
	if (!TIFFFieldPassCount(f)) {
		/* libtiff NUL-terminates ASCII values it stores without a count. */
		if (type != TIFF_ASCII || !TIFFGetField(tif, tag, &data) || !data)
			return 0;
		*n = strlen(data);
	} else if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
		uint32_t count = 0;
		if (!TIFFGetField(tif, tag, &count, &data) || !data)
			return 0;
		*n = count;
	} else {
		uint16_t count = 0;
		if (!TIFFGetField(tif, tag, &count, &data) || !data)
			return 0;
		*n = count;
	}
	*p = data;
	return 1;
}

/* Vendor metadata of the current directory: the first tag found that gives
 * a pixel size wins; an FEI image size is kept even without one. */
static void read_vendor_meta(TIFF *tif, semqr__vendor_meta *meta)
{
	static const uint32_t tags[] = {SEMQR__TAG_FEI_HELIOS, SEMQR__TAG_FEI_SFEG,
	                                SEMQR__TAG_ZEISS_SEM, SEMQR__TAG_FIBICS, SEMQR__TAG_TESCAN};
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
		const uint8_t *p;
		size_t n;
		if (!tag_bytes(tif, tags[i], &p, &n))
			continue;
		semqr__vendor_meta m = {0};
		int found;
		switch (tags[i]) {
		case SEMQR__TAG_ZEISS_SEM: found = semqr__meta_zeiss(p, n, &m); break;
		case SEMQR__TAG_FIBICS: found = semqr__meta_fibics(p, n, &m); break;
		case SEMQR__TAG_TESCAN: found = semqr__meta_tescan(p, n, &m); break;
		default: found = semqr__meta_fei(p, n, (int)tags[i], &m); break;
		}
		if (!meta->vendor || found)
			*meta = m;
		if (found)
			return;
	}
}

static const char *compression_name(uint16_t compression)
{
	if (compression == COMPRESSION_NONE)
		return "none";
	if (compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_DEFLATE)
		return "Deflate";
	const TIFFCodec *codec = TIFFFindCODEC(compression);
	return codec ? codec->name : "unknown";
}

/* Loads the current directory's strip or tile offsets and byte counts once,
 * so that libtiff checks their number against the image: with on-demand
 * loading ("O") a short array is otherwise not noticed, and the missing
 * entries read as offset 0. */
static semqr_status check_strile_arrays(tiff_scan *ts, int page, semqr_error *err)
{
	uint64_t *offsets = NULL, *counts = NULL;
	ts->log.error[0] = 0;
	if (!TIFFGetField(ts->tif, TIFFTAG_STRIPOFFSETS, &offsets) || !offsets ||
	    !TIFFGetField(ts->tif, TIFFTAG_STRIPBYTECOUNTS, &counts) || !counts || ts->log.error[0])
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: page %d: bad %s offsets or byte counts "
		                   "(libtiff: %s)",
		                   ts->path, page, TIFFIsTiled(ts->tif) ? "tile" : "strip",
		                   semqr__tiff_why(&ts->log));
	return SEMQR_OK;
}

/* Walks every directory, recording the pages and checking each against page
 * 0, then makes page 0 current. */
static semqr_status walk_pages(tiff_scan *ts, semqr_error *err)
{
	size_t cap = 0;
	layout first = {0};
	for (tdir_t dir = 0;; dir++) {
		uint32_t subfile = 0;
		TIFFGetField(ts->tif, TIFFTAG_SUBFILETYPE, &subfile);
		if (!(subfile & FILETYPE_REDUCEDIMAGE)) {
			int page = ts->npages;
			if (page == SEMQR_SCAN_PAGES_MAX)
				return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: more than %d pages",
				                   ts->path, SEMQR_SCAN_PAGES_MAX);
			layout L;
			semqr_status st =
			    describe_page(ts->tif, ts->path, page, ts->file_size, &L, err);
			if (st == SEMQR_OK)
				st = check_strile_arrays(ts, page, err);
			if (st != SEMQR_OK)
				return st;
			if (page == 0)
				first = L;
			else if (L.width != first.width || L.height != first.height ||
			         L.out_bits != first.out_bits)
				return semqr__fail(
				    err, SEMQR_ERR_FORMAT,
				    "%s: page %d: %ux%u %d-bit, unlike page 0 (%ux%u "
				    "%d-bit): the pages of a stack must match",
				    ts->path, page, (unsigned)L.width, (unsigned)L.height,
				    L.out_bits, (unsigned)first.width, (unsigned)first.height,
				    first.out_bits);
			if ((size_t)page == cap) {
				cap = cap ? 2 * cap : 4;
				tiff_page *grown = realloc(ts->pages, cap * sizeof *grown);
				if (!grown)
					return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
					                   "%s: out of memory", ts->path);
				ts->pages = grown;
			}
			ts->pages[page] = (tiff_page){.dir = dir,
			                              .direct = L.direct,
			                              .tiled = L.tiled,
			                              .rgba = L.rgba,
			                              .block_w = L.block_w,
			                              .block_h = L.block_h};
			ts->npages++;
		}
		if (TIFFLastDirectory(ts->tif) || (ts->first_only && ts->npages == 1))
			break;
		if (dir >= 2 * SEMQR_SCAN_PAGES_MAX)
			return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: more than %d directories",
			                   ts->path, 2 * SEMQR_SCAN_PAGES_MAX);
		ts->log.error[0] = 0;
		if (!TIFFReadDirectory(ts->tif))
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: directory %u: cannot read it "
			                   "(libtiff: %s)",
			                   ts->path, (unsigned)dir + 1, semqr__tiff_why(&ts->log));
	}
	if (ts->npages == 0)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: no full-resolution image", ts->path);
	ts->cur = -1;
	return select_page(ts, 0, err);
}

semqr_status semqr__scan_tiff_open(const char *path, FILE *fp, semqr_scan *scan,
                                   semqr__vendor_meta *meta, semqr_error *err)
{
	struct stat sb;
	uint64_t file_size = fstat(fileno(fp), &sb) == 0 ? (uint64_t)sb.st_size : UINT64_MAX / 8192;
	/* libtiff gets its own descriptor of the file opened by scan.c. */
	int fd = dup(fileno(fp));
	int dup_errno = errno;
	fclose(fp);
	if (fd < 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot duplicate the descriptor: %s",
		                   path, strerror(dup_errno));
	tiff_scan *ts = calloc(1, sizeof *ts);
	if (!ts) {
		close(fd);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	ts->path = scan->path;
	ts->log.path = scan->path;
	ts->file_size = file_size;
	ts->first_only = scan->first_page_only;
	/* m: read(2), no memory map; O: strip arrays loaded on demand. */
	ts->tif = semqr__tiff_open(fd, path, "rmO", SEMQR_SCAN_ALLOC_MAX, &ts->log);
	if (!ts->tif)
		close(fd);
	semqr_status st;
	if (!ts->tif)
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: invalid TIFF (libtiff: %s)", path,
		                 semqr__tiff_why(&ts->log));
	else
		st = walk_pages(ts, err);
	if (st != SEMQR_OK) {
		tiff_close(ts);
		return st;
	}
	read_vendor_meta(ts->tif, meta);
	semqr_scan_info *in = &scan->info;
	in->width = (int)ts->L.width;
	in->height = in->stored_height = (int)ts->L.height;
	in->bits = ts->L.out_bits;
	in->pages = ts->npages;
	in->bigtiff = TIFFIsBigTIFF(ts->tif);
	in->format = in->bigtiff ? "BigTIFF" : "TIFF";
	in->compression = compression_name(ts->L.compression);
	in->tiled = ts->L.tiled;
	in->block_width = ts->L.block_w;
	in->block_height = ts->L.block_h;
	in->column_reads = 1;
	for (int p = 0; p < ts->npages; p++)
		in->column_reads &= ts->pages[p].direct || ts->pages[p].tiled || ts->pages[p].rgba;
	scan->backend = &tiff_backend;
	scan->impl = ts;
	scan->read_region = tiff_read;
	return SEMQR_OK;
}
