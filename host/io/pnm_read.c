/* Netpbm reading: the PGM/PBM backend of the scan reader. PBM (P1 plain, P4
 * raw) and PGM (P2 plain, P5 raw); only the first image of a multi-image
 * file is read.
 *
 * Header: magic, then width, height and (PGM only) maxval as decimal numbers
 * separated by whitespace, where '#' starts a comment running to the end of
 * the line; raw formats then take exactly one whitespace byte before the
 * raster. Before anything is allocated, the raster's least size in bytes is
 * checked against what the file holds, so a truncated or hostile header
 * cannot cause a large allocation.
 *
 * Raw rows have a fixed size: a region is read row by row, seeking to the
 * bytes of its columns, through a buffer of one row. Plain files have no
 * fixed row offsets: they are decoded whole when opened and served by the
 * whole-image backend.
 *
 * Samples: PBM 1 is black (read as 0) and 0 white (255). PGM with maxval 255
 * or 65535 is kept as is; any other maxval is rescaled, rounding to nearest,
 * to 255 (maxval <= 255, read as 8-bit) or to 65535 (read as 16-bit). Raw
 * 16-bit samples are big-endian. A sample above maxval is an error. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

typedef struct pnm_scan {
	const char *path; /* the scan's copy */
	FILE *fp;
	int kind; /* '1', '2', '4' or '5' */
	uint32_t width, height;
	uint32_t maxval;  /* 1 for PBM */
	int bits;         /* of the pixels delivered: 8, or 16 when maxval > 255 */
	off_t raster;     /* offset of the raster */
	size_t row_bytes; /* raw formats: bytes per row in the file */
	uint8_t *row;     /* raw formats: one row as stored */
} pnm_scan;

/* ---- header ------------------------------------------------------------- */

/* Reads an unsigned decimal header field, skipping whitespace and comments
 * before it and consuming the byte after it (for the last field, the single
 * whitespace before a raw raster); values above `limit` fail. */
static semqr_status read_field(pnm_scan *ps, const char *name, uint32_t limit, uint32_t *out,
                               semqr_error *err)
{
	int c = getc(ps->fp);
	for (;;) {
		while (c != EOF && isspace(c))
			c = getc(ps->fp);
		if (c != '#')
			break;
		while (c != EOF && c != '\n' && c != '\r')
			c = getc(ps->fp);
	}
	if (c == EOF)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: bad Netpbm header: file ends before the %s", ps->path,
		                   name);
	if (!isdigit(c))
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: bad Netpbm header: expected the %s, found '%c' (0x%02x)",
		                   ps->path, name, isprint(c) ? c : '?', c);
	uint64_t v = 0;
	for (; c != EOF && isdigit(c); c = getc(ps->fp)) {
		v = v * 10 + (uint64_t)(c - '0');
		if (v > limit)
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: bad Netpbm header: %s exceeds %u", ps->path, name,
			                   (unsigned)limit);
	}
	if (c != EOF && !isspace(c))
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: bad Netpbm header: %s followed by '%c' (0x%02x), not whitespace", ps->path,
		    name, isprint(c) ? c : '?', c);
	*out = (uint32_t)v;
	return SEMQR_OK;
}

/* Reads the header of a file whose first two bytes scan.c has seen to be 'P'
 * and a digit, and checks that the file can hold the raster. */
static semqr_status read_header(pnm_scan *ps, semqr_error *err)
{
	getc(ps->fp);
	int kind = getc(ps->fp);
	if (kind != '1' && kind != '2' && kind != '4' && kind != '5')
		return semqr__fail(
		    err, SEMQR_ERR_UNSUPPORTED,
		    "%s: Netpbm P%c files are not supported; use PGM (P2/P5) or PBM (P1/P4)",
		    ps->path, kind == EOF ? '?' : kind);
	ps->kind = kind;
	ps->maxval = 1;
	/* Sizes up to 2^32-1 are read so that semqr__check_dims can report an
	 * oversized one with the limit. */
	semqr_status st = read_field(ps, "width", UINT32_MAX, &ps->width, err);
	if (st == SEMQR_OK)
		st = read_field(ps, "height", UINT32_MAX, &ps->height, err);
	if (st == SEMQR_OK && (kind == '2' || kind == '5'))
		st = read_field(ps, "maxval", 65535, &ps->maxval, err);
	if (st == SEMQR_OK && ps->maxval == 0)
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: maxval is 0",
		                 ps->path);
	if (st == SEMQR_OK)
		st = semqr__check_dims(ps->path, ps->width, ps->height, err);
	if (st != SEMQR_OK)
		return st;
	ps->bits = ps->maxval > 255 ? 16 : 8;
	ps->row_bytes =
	    kind == '4' ? (ps->width + 7) / 8 : (size_t)ps->width * (size_t)(ps->bits / 8);

	/* Least raster size in bytes: exact for raw formats; one character per
	 * sample for P1, a digit and a separator per sample (but the last) for
	 * P2. */
	uint64_t pixels = (uint64_t)ps->width * ps->height;
	uint64_t need = kind == '4' || kind == '5' ? (uint64_t)ps->row_bytes * ps->height
	                : kind == '1'              ? pixels
	                                           : 2 * pixels - 1;
	struct stat sb;
	ps->raster = ftello(ps->fp);
	if (ps->raster < 0 || fstat(fileno(ps->fp), &sb) != 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot locate the raster: %s", ps->path,
		                   strerror(errno));
	if ((uint64_t)sb.st_size < (uint64_t)ps->raster + need)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: truncated: %ux%u pixels need at least %llu bytes of data, "
		                   "the file has %lld after the header",
		                   ps->path, (unsigned)ps->width, (unsigned)ps->height,
		                   (unsigned long long)need,
		                   (long long)sb.st_size - (long long)ps->raster);
	return SEMQR_OK;
}

/* ---- samples ------------------------------------------------------------ */

/* A PGM sample rescaled to full scale at `bits`. */
static uint32_t scale(uint32_t v, uint32_t maxval, int bits)
{
	uint32_t full = bits == 16 ? 65535 : 255;
	return maxval == full ? v : (uint32_t)(((uint64_t)v * full + maxval / 2) / maxval);
}

static semqr_status above_maxval(const pnm_scan *ps, uint32_t v, uint32_t x, uint32_t y,
                                 semqr_error *err)
{
	return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: sample %u at (%u, %u) exceeds maxval %u",
	                   ps->path, (unsigned)v, (unsigned)x, (unsigned)y, (unsigned)ps->maxval);
}

/* ---- raw: streamed ------------------------------------------------------ */

/* The stored bytes of pixels x0 .. x0 + w - 1 within a raw row: the first
 * one's offset and the count (for PBM, the bytes holding their bits). */
static void row_span(const pnm_scan *ps, uint32_t x0, uint32_t w, size_t *first, size_t *bytes)
{
	if (ps->kind == '4') {
		*first = x0 / 8;
		*bytes = (x0 + w + 7) / 8 - *first;
	} else {
		*first = (size_t)x0 * (size_t)(ps->bits / 8);
		*bytes = (size_t)w * (size_t)(ps->bits / 8);
	}
}

/* Converts pixels x0 .. x0 + w - 1 of raw row y, whose stored bytes from
 * row_span's first are in ps->row, into out (ps->bits per pixel). */
static semqr_status convert_row(const pnm_scan *ps, uint32_t x0, uint32_t w, uint32_t y,
                                uint8_t *out, semqr_error *err)
{
	const uint8_t *in = ps->row;
	for (uint32_t x = 0; x < w; x++) {
		if (ps->kind == '4') {
			uint32_t bit = x0 % 8 + x;
			out[x] = (in[bit / 8] >> (7 - bit % 8)) & 1 ? 0 : 255;
			continue;
		}
		uint32_t v = ps->bits == 16 ? (uint32_t)in[2 * x] << 8 | in[2 * x + 1] : in[x];
		if (v > ps->maxval)
			return above_maxval(ps, v, x0 + x, y, err);
		v = scale(v, ps->maxval, ps->bits);
		if (ps->bits == 16)
			((uint16_t *)out)[x] = (uint16_t)v;
		else
			out[x] = (uint8_t)v;
	}
	return SEMQR_OK;
}

static semqr_status pnm_read(semqr_scan *scan, int page, uint32_t x0, uint32_t y0, uint32_t w,
                             uint32_t rows, void *dst, size_t dst_stride, semqr_error *err)
{
	pnm_scan *ps = scan->impl;
	size_t bpp = (size_t)ps->bits / 8, first, bytes;
	row_span(ps, x0, w, &first, &bytes);
	for (uint32_t r = 0; r < rows; r++) {
		uint32_t y = y0 + r;
		off_t at = ps->raster + (off_t)y * (off_t)ps->row_bytes + (off_t)first;
		/* Consecutive full rows follow each other: no seek between them. */
		if ((r == 0 || bytes != ps->row_bytes) && fseeko(ps->fp, at, SEEK_SET) != 0)
			return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot seek to row %u: %s",
			                   ps->path, (unsigned)y, strerror(errno));
		if (fread(ps->row, 1, bytes, ps->fp) != bytes) {
			if (ferror(ps->fp))
				return semqr__fail(err, SEMQR_ERR_IO, "%s: row %u: read error: %s",
				                   ps->path, (unsigned)y, strerror(errno));
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: truncated: file ends in row %u", ps->path,
			                   (unsigned)y);
		}
		semqr_status st =
		    convert_row(ps, x0, w, y, (uint8_t *)dst + r * dst_stride * bpp, err);
		if (st != SEMQR_OK)
			return st;
	}
	return SEMQR_OK;
}

static void pnm_close(void *impl)
{
	pnm_scan *ps = impl;
	free(ps->row);
	fclose(ps->fp);
	free(ps);
}

static const semqr__scan_backend pnm_backend = {.read = NULL, .close = pnm_close};

/* ---- plain: read whole -------------------------------------------------- */

static semqr_status unexpected(const pnm_scan *ps, int c, uint32_t x, uint32_t y, semqr_error *err)
{
	return semqr__fail(
	    err, SEMQR_ERR_FORMAT, "%s: unexpected '%c' (0x%02x) in %s data at (%u, %u)", ps->path,
	    isprint(c) ? c : '?', c, ps->kind == '1' ? "PBM" : "PGM", (unsigned)x, (unsigned)y);
}

/* P1 samples are single '0'/'1' characters that need no separator; P2
 * samples are decimal numbers separated by whitespace. */
static semqr_status decode_plain(const pnm_scan *ps, semqr_image *img, semqr_error *err)
{
	for (uint32_t y = 0; y < ps->height; y++) {
		for (uint32_t x = 0; x < ps->width; x++) {
			int c = getc(ps->fp);
			while (c != EOF && isspace(c))
				c = getc(ps->fp);
			if (c == EOF)
				return semqr__fail(err, SEMQR_ERR_FORMAT,
				                   "%s: truncated: pixel data ends at (%u, %u)",
				                   ps->path, (unsigned)x, (unsigned)y);
			uint32_t v = 0;
			if (ps->kind == '1') {
				if (c != '0' && c != '1')
					return unexpected(ps, c, x, y, err);
				v = c == '1' ? 0 : 255;
			} else {
				if (!isdigit(c))
					return unexpected(ps, c, x, y, err);
				for (; c != EOF && isdigit(c); c = getc(ps->fp)) {
					v = v * 10 + (uint32_t)(c - '0');
					if (v > ps->maxval)
						return above_maxval(ps, v, x, y, err);
				}
				if (c != EOF && !isspace(c))
					return unexpected(ps, c, x, y, err);
				v = scale(v, ps->maxval, ps->bits);
			}
			semqr__set_pixel(img, (int)x, (int)y, v);
		}
	}
	return SEMQR_OK;
}

/* Decodes a plain file whole and attaches the image to scan. */
static semqr_status read_plain(const pnm_scan *ps, semqr_scan *scan, semqr_error *err)
{
	semqr_image *img = calloc(1, sizeof *img);
	if (!img)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", ps->path);
	semqr_status st = semqr_image_alloc(img, (int)ps->width, (int)ps->height, ps->bits, err);
	if (st == SEMQR_OK)
		st = decode_plain(ps, img, err);
	if (st != SEMQR_OK) {
		semqr_image_free(img);
		free(img);
		return st;
	}
	semqr__scan_whole_attach(scan, img, ps->kind == '1' ? "PBM" : "PGM", "none");
	return SEMQR_OK;
}

/* ---- opening ------------------------------------------------------------ */

semqr_status semqr__scan_pnm_open(const char *path, FILE *fp, semqr_scan *scan, semqr_error *err)
{
	pnm_scan *ps = calloc(1, sizeof *ps);
	if (!ps) {
		fclose(fp);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	ps->path = scan->path;
	ps->fp = fp;
	semqr_status st = read_header(ps, err);
	if (st == SEMQR_OK && (ps->kind == '1' || ps->kind == '2')) {
		st = read_plain(ps, scan, err);
		pnm_close(ps);
		return st;
	}
	if (st == SEMQR_OK) {
		ps->row = malloc(ps->row_bytes);
		if (!ps->row)
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row",
			                 ps->path);
	}
	if (st != SEMQR_OK) {
		pnm_close(ps);
		return st;
	}
	semqr__scan_attach_rows(scan, &pnm_backend, ps, ps->width, ps->height, ps->bits,
	                        ps->kind == '4' ? "PBM" : "PGM", "none");
	scan->read_region = pnm_read;
	scan->info.column_reads = 1;
	return SEMQR_OK;
}
