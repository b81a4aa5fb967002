/* TIFF through libtiff.
 *
 * Every TIFF handle is opened with TIFFFdOpenExt and per-handle error and
 * warning handlers (libtiff >= 4.5), so that messages reach the caller's
 * semqr_error instead of stderr and concurrent calls never share state. The
 * first error message since the log was last cleared is kept (it names the
 * root cause); warnings are dropped. libtiff gets its own duplicate of the
 * file descriptor, which TIFFClose closes.
 *
 * Reading takes the first page. Two paths:
 * - direct: contiguous unsigned samples of 1, 2, 4, 8 or 16 bits, grey
 *   (MinIsBlack, MinIsWhite), RGB (8 or 16 bits) or palette (up to 8 bits),
 *   optionally followed by an alpha sample; strips or tiles are decoded with
 *   TIFFReadEncodedStrip/Tile (any compression libtiff has a codec for) and
 *   converted here. 16-bit grey and RGB give 16-bit images, the rest 8-bit.
 * - everything else libtiff can render (YCbCr, CMYK, separate planes, ...)
 *   goes through TIFFReadRGBAImageOriented, giving an 8-bit image.
 * The direct path assumes row 0 at the top, like most readers; the RGBA path
 * honours the Orientation tag. Uncompressed pixel data is checked against
 * the file size before the image is allocated. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

typedef struct tiff_log {
	const char *path;
	char error[256];
} tiff_log;

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	tiff_log *log = user;
	if (!log->error[0]) {
		vsnprintf(log->error, sizeof log->error, fmt, ap);
		/* Drop the "path: " some messages start with: ours already does. */
		size_t n = strlen(log->path);
		if (strncmp(log->error, log->path, n) == 0 && log->error[n] == ':' &&
		    log->error[n + 1] == ' ')
			memmove(log->error, log->error + n + 2, strlen(log->error + n + 2) + 1);
	}
	return 1; /* handled: libtiff must not call its global handler */
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	return 1;
}

/* Opens fd through libtiff, which owns fd from then on when this succeeds. */
static TIFF *open_tiff(int fd, const char *path, const char *mode, tiff_log *log)
{
	TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
	if (!opts) {
		snprintf(log->error, sizeof log->error, "out of memory");
		return NULL;
	}
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, log);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, NULL);
	TIFF *tif = TIFFFdOpenExt(fd, path, mode, opts); /* copies the options */
	TIFFOpenOptionsFree(opts);
	return tif;
}

static const char *why(const tiff_log *log)
{
	return log->error[0] ? log->error : "no detail from libtiff";
}

/* ---- direct path -------------------------------------------------------- */

/* How to turn a row of samples into grey values. */
typedef struct layout {
	uint16_t photometric;   /* MINISBLACK, MINISWHITE, RGB or PALETTE */
	int bits;               /* per sample: 1, 2, 4, 8 or 16 */
	int spp;                /* samples per pixel */
	int alpha;              /* sample index of the alpha channel, or -1 */
	int premultiplied;      /* alpha is associated */
	const uint16_t *map[3]; /* palette: red, green, blue colour maps */
	uint32_t map_scale;     /* 1 for 16-bit colour maps, 257 for 8-bit ones */
	int out_bits;           /* 8 or 16 */
} layout;

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

static uint32_t grey_at(const layout *L, const uint8_t *row, size_t x)
{
	size_t i = x * (size_t)L->spp;
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

/* Fills L and returns 1 when the direct path handles the image. */
static int direct_layout(TIFF *tif, uint16_t photometric, layout *L)
{
	uint16_t bits, spp, planar, format, nextra, *extra;
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
	TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	if ((format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID) ||
	    (planar != PLANARCONFIG_CONTIG && spp > 1) ||
	    (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16))
		return 0;
	memset(L, 0, sizeof *L);
	int colours;
	switch (photometric) {
	case PHOTOMETRIC_MINISBLACK:
	case PHOTOMETRIC_MINISWHITE: colours = 1; break;
	case PHOTOMETRIC_RGB:
		if (bits < 8)
			return 0;
		colours = 3;
		break;
	case PHOTOMETRIC_PALETTE: {
		uint16_t *r, *g, *b;
		if (bits > 8 || spp != 1 || !TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b))
			return 0;
		/* Some writers store 8-bit values in the 16-bit colour map. */
		L->map_scale = 257;
		for (uint32_t k = 0; k < 1u << bits; k++)
			if (r[k] > 255 || g[k] > 255 || b[k] > 255)
				L->map_scale = 1;
		L->map[0] = r;
		L->map[1] = g;
		L->map[2] = b;
		colours = 1;
		break;
	}
	default: return 0;
	}
	if (spp < colours)
		return 0;
	L->photometric = photometric;
	L->bits = bits;
	L->spp = spp;
	L->alpha = -1;
	if (spp > colours && nextra >= 1 &&
	    (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA)) {
		L->alpha = colours;
		L->premultiplied = extra[0] == EXTRASAMPLE_ASSOCALPHA;
	}
	L->out_bits = bits == 16 && photometric != PHOTOMETRIC_PALETTE ? 16 : 8;
	return 1;
}

static void convert_rows(const layout *L, const uint8_t *buf, uint64_t rowbytes, uint32_t x0,
                         uint32_t y0, uint32_t cols, uint32_t rows, semqr_image *img)
{
	for (uint32_t r = 0; r < rows; r++) {
		const uint8_t *row = buf + r * rowbytes;
		for (uint32_t c = 0; c < cols; c++)
			semqr__set_pixel(img, (int)(x0 + c), (int)(y0 + r), grey_at(L, row, c));
	}
}

static semqr_status read_strips(TIFF *tif, const char *path, const layout *L, tiff_log *log,
                                semqr_image *img, semqr_error *err)
{
	uint32_t height = (uint32_t)img->height, rps;
	TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
	if (rps == 0 || rps > height)
		rps = height;
	uint64_t rowbytes = TIFFScanlineSize64(tif);
	tmsize_t size = TIFFStripSize(tif);
	if (rowbytes == 0 || size <= 0 || (uint64_t)size < rowbytes * rps)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad strip layout (libtiff: %s)",
		                   path, why(log));
	uint8_t *buf = malloc((size_t)size);
	if (!buf)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "%s: cannot allocate a %lld-byte strip", path, (long long)size);
	semqr_status st = SEMQR_OK;
	uint32_t strip = 0;
	for (uint32_t y = 0; y < height; y += rps, strip++) {
		uint32_t rows = height - y < rps ? height - y : rps;
		tmsize_t want = (tmsize_t)(rows * rowbytes);
		log->error[0] = '\0';
		if (TIFFReadEncodedStrip(tif, strip, buf, want) < want) {
			st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: strip %u: %s", path,
			                 (unsigned)strip, why(log));
			break;
		}
		convert_rows(L, buf, rowbytes, 0, y, (uint32_t)img->width, rows, img);
	}
	free(buf);
	return st;
}

static semqr_status read_tiles(TIFF *tif, const char *path, const layout *L, tiff_log *log,
                               semqr_image *img, semqr_error *err)
{
	uint32_t width = (uint32_t)img->width, height = (uint32_t)img->height, tw = 0, th = 0;
	TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
	TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
	uint64_t rowbytes = TIFFTileRowSize64(tif);
	tmsize_t size = TIFFTileSize(tif);
	if (tw == 0 || th == 0 || rowbytes == 0 || size <= 0 || (uint64_t)size < rowbytes * th)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad tile layout (libtiff: %s)", path,
		                   why(log));
	uint8_t *buf = malloc((size_t)size);
	if (!buf)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a %lld-byte tile",
		                   path, (long long)size);
	semqr_status st = SEMQR_OK;
	for (uint32_t ty = 0; ty < height && st == SEMQR_OK; ty += th) {
		for (uint32_t tx = 0; tx < width; tx += tw) {
			uint32_t tile = TIFFComputeTile(tif, tx, ty, 0, 0);
			uint32_t rows = height - ty < th ? height - ty : th;
			uint32_t cols = width - tx < tw ? width - tx : tw;
			log->error[0] = '\0';
			if (TIFFReadEncodedTile(tif, tile, buf, size) <
			    (tmsize_t)(rows * rowbytes)) {
				st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: tile %u: %s", path,
				                 (unsigned)tile, why(log));
				break;
			}
			convert_rows(L, buf, rowbytes, tx, ty, cols, rows, img);
		}
	}
	free(buf);
	return st;
}

/* Uncompressed pixel data must fit in the file: checked before allocating
 * so that a few hostile header bytes cannot cause a huge allocation. */
static semqr_status check_raw_size(TIFF *tif, const char *path, FILE *fp, uint32_t height,
                                   semqr_error *err)
{
	uint16_t compression;
	struct stat sb;
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
	if (compression != COMPRESSION_NONE || fstat(fileno(fp), &sb) != 0)
		return SEMQR_OK;
	/* Contiguous strips hold exactly height scanlines; every tile but the
	 * last is whole. */
	uint64_t need = TIFFIsTiled(tif) ? (TIFFNumberOfTiles(tif) - 1) * TIFFTileSize64(tif)
	                                 : TIFFScanlineSize64(tif) * height;
	if (need > (uint64_t)sb.st_size)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: truncated: uncompressed pixel data needs %llu bytes, "
		                   "the file has %lld",
		                   path, (unsigned long long)need, (long long)sb.st_size);
	return SEMQR_OK;
}

/* ---- RGBA path ---------------------------------------------------------- */

static semqr_status read_rgba(TIFF *tif, const char *path, tiff_log *log, uint32_t width,
                              uint32_t height, semqr_image *img, semqr_error *err)
{
	char reason[1024];
	if (!TIFFRGBAImageOK(tif, reason))
		return semqr__fail(err, SEMQR_ERR_UNSUPPORTED, "%s: unsupported TIFF (libtiff: %s)",
		                   path, reason);
	uint64_t pixels = (uint64_t)width * height;
	if (pixels > SIZE_MAX / sizeof(uint32_t))
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: %ux%u image too large", path,
		                   (unsigned)width, (unsigned)height);
	uint32_t *raster = malloc((size_t)pixels * sizeof *raster);
	if (!raster)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "%s: cannot allocate a %ux%u RGBA raster", path, (unsigned)width,
		                   (unsigned)height);
	semqr_status st;
	log->error[0] = '\0';
	if (!TIFFReadRGBAImageOriented(tif, width, height, raster, ORIENTATION_TOPLEFT, 1)) {
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: %s", path, why(log));
	} else {
		st = semqr_image_alloc(img, (int)width, (int)height, 8, err);
		/* libtiff's raster carries premultiplied alpha (255 without alpha). */
		for (uint32_t y = 0; st == SEMQR_OK && y < height; y++) {
			for (uint32_t x = 0; x < width; x++) {
				uint32_t p = raster[(size_t)y * width + x];
				uint32_t v = semqr__luma(TIFFGetR(p), TIFFGetG(p), TIFFGetB(p));
				v = semqr__over_white_premultiplied(v, TIFFGetA(p), 255);
				semqr__set_pixel(img, (int)x, (int)y, v);
			}
		}
	}
	free(raster);
	return st;
}

/* ---- entry points ------------------------------------------------------- */

semqr_status semqr__tiff_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err)
{
	int fd = dup(fileno(fp));
	if (fd < 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot duplicate the descriptor: %s",
		                   path, strerror(errno));
	tiff_log log = {.path = path, .error = ""};
	TIFF *tif = open_tiff(fd, path, "rm", &log); /* m: read(), no memory mapping */
	if (!tif) {
		close(fd);
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: invalid TIFF (libtiff: %s)", path,
		                   why(&log));
	}
	uint32_t width = 0, height = 0;
	uint16_t photometric;
	semqr_status st;
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height))
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: no image size", path);
	else if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric))
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: no PhotometricInterpretation tag",
		                 path);
	else
		st = semqr__check_dims(path, width, height, err);
	if (st == SEMQR_OK) {
		layout L;
		if (!direct_layout(tif, photometric, &L)) {
			st = read_rgba(tif, path, &log, width, height, img, err);
		} else {
			st = check_raw_size(tif, path, fp, height, err);
			if (st == SEMQR_OK)
				st = semqr_image_alloc(img, (int)width, (int)height, L.out_bits,
				                       err);
			if (st == SEMQR_OK)
				st = TIFFIsTiled(tif) ? read_tiles(tif, path, &L, &log, img, err)
				                      : read_strips(tif, path, &L, &log, img, err);
		}
	}
	TIFFClose(tif);
	if (st != SEMQR_OK)
		semqr_image_free(img);
	return st;
}

semqr_status semqr__tiff_write(const char *path, const semqr_image *img, semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	int fd = dup(fileno(fp));
	if (fd < 0)
		return semqr__finish_output(fp, path,
		                            semqr__fail(err, SEMQR_ERR_IO,
		                                        "%s: cannot duplicate the descriptor: %s",
		                                        path, strerror(errno)),
		                            err);
	tiff_log log = {.path = path, .error = ""};
	TIFF *tif = open_tiff(fd, path, "w", &log);
	if (!tif) {
		close(fd);
		return semqr__finish_output(fp, path,
		                            semqr__fail(err, SEMQR_ERR_IO,
		                                        "%s: cannot start a TIFF (libtiff: %s)",
		                                        path, why(&log)),
		                            err);
	}
	size_t rowbytes = (size_t)img->width * (size_t)img->bits / 8;
	uint32_t rps = rowbytes >= 65536 ? 1 : (uint32_t)(65536 / rowbytes);
	if (rps > (uint32_t)img->height)
		rps = (uint32_t)img->height;
	int ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)img->width) &&
	         TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)img->height) &&
	         TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)img->bits) &&
	         TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1) &&
	         TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
	         TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
	         TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE) &&
	         TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
	/* TIFFWriteScanline takes a mutable buffer, so rows are copied. */
	uint8_t *row = ok ? malloc(rowbytes) : NULL;
	semqr_status st = SEMQR_OK;
	if (!ok)
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot set TIFF tags (libtiff: %s)", path,
		                 why(&log));
	else if (!row)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path);
	for (int y = 0; st == SEMQR_OK && y < img->height; y++) {
		memcpy(row,
		       (const uint8_t *)img->pixels +
		           (size_t)y * img->stride * (size_t)img->bits / 8,
		       rowbytes);
		if (TIFFWriteScanline(tif, row, (uint32_t)y, 0) < 0)
			st = semqr__fail(err, SEMQR_ERR_IO, "%s: row %d: %s", path, y, why(&log));
	}
	if (st == SEMQR_OK && !TIFFFlush(tif))
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot write TIFF (libtiff: %s)", path,
		                 why(&log));
	free(row);
	TIFFClose(tif);
	return semqr__finish_output(fp, path, st, err);
}
