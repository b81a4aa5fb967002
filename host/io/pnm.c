/* Netpbm grey formats: PBM (P1 plain, P4 raw) and PGM (P2 plain, P5 raw).
 *
 * Header: magic, then width, height and (PGM only) maxval as decimal numbers
 * separated by whitespace, where '#' starts a comment running to the end of
 * the line; raw formats then take exactly one whitespace byte before the
 * raster. Only the first image of a multi-image file is read.
 *
 * Samples: PBM 1 is black (read as 0) and 0 white (255). PGM with maxval 255
 * or 65535 is kept as is; any other maxval is rescaled, rounding to nearest,
 * to 255 (maxval <= 255, read as 8-bit) or to 65535 (read as 16-bit). Raw
 * 16-bit samples are big-endian. Before allocating, the raster's minimum size
 * in bytes is checked against what the file holds, so a truncated or hostile
 * header cannot cause a large allocation. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

/* Header fields. */
typedef struct pnm_header {
	int kind; /* '1', '2', '4' or '5' */
	uint32_t width, height;
	uint32_t maxval; /* 1 for PBM */
} pnm_header;

/* Reads an unsigned decimal header field, skipping whitespace and comments
 * before it; values above `limit` fail. */
static semqr_status read_field(FILE *fp, const char *path, const char *name, uint32_t limit,
                               uint32_t *out, semqr_error *err)
{
	int c = getc(fp);
	for (;;) {
		while (c != EOF && isspace(c))
			c = getc(fp);
		if (c != '#')
			break;
		while (c != EOF && c != '\n' && c != '\r')
			c = getc(fp);
	}
	if (c == EOF)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: bad Netpbm header: file ends before the %s", path, name);
	if (!isdigit(c))
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: bad Netpbm header: expected the %s, found '%c' (0x%02x)",
		                   path, name, isprint(c) ? c : '?', c);
	uint64_t v = 0;
	while (c != EOF && isdigit(c)) {
		v = v * 10 + (uint64_t)(c - '0');
		if (v > limit)
			return semqr__fail(err, SEMQR_ERR_FORMAT,
			                   "%s: bad Netpbm header: %s exceeds %u", path, name,
			                   (unsigned)limit);
		c = getc(fp);
	}
	/* The byte after the last field is the single whitespace before a raw
	 * raster; it is consumed here, as for the other fields. */
	if (c != EOF && !isspace(c))
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: bad Netpbm header: %s followed by '%c' (0x%02x), not whitespace", path,
		    name, isprint(c) ? c : '?', c);
	*out = (uint32_t)v;
	return SEMQR_OK;
}

/* Reads the header of a file whose first two bytes semqr_image_read has
 * seen to be 'P' and a digit. */
static semqr_status read_header(FILE *fp, const char *path, pnm_header *h, semqr_error *err)
{
	getc(fp);
	int kind = getc(fp);
	if (kind != '1' && kind != '2' && kind != '4' && kind != '5')
		return semqr__fail(
		    err, SEMQR_ERR_UNSUPPORTED,
		    "%s: Netpbm P%c files are not supported; use PGM (P2/P5) or PBM (P1/P4)", path,
		    kind == EOF ? '?' : kind);
	h->kind = kind;
	h->maxval = 1;
	/* Sizes up to 2^32-1 are read so that semqr__check_dims can report an
	 * oversized one with the limit. */
	semqr_status st = read_field(fp, path, "width", UINT32_MAX, &h->width, err);
	if (st == SEMQR_OK)
		st = read_field(fp, path, "height", UINT32_MAX, &h->height, err);
	if (st == SEMQR_OK && (kind == '2' || kind == '5'))
		st = read_field(fp, path, "maxval", 65535, &h->maxval, err);
	if (st == SEMQR_OK && h->maxval == 0)
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: maxval is 0", path);
	if (st == SEMQR_OK)
		st = semqr__check_dims(path, h->width, h->height, err);
	return st;
}

/* Bytes left in fp from its current position, or -1 when it cannot seek. */
static long long bytes_left(FILE *fp)
{
	off_t here = ftello(fp);
	if (here < 0 || fseeko(fp, 0, SEEK_END) != 0)
		return -1;
	off_t end = ftello(fp);
	if (fseeko(fp, here, SEEK_SET) != 0 || end < here)
		return -1;
	return (long long)(end - here);
}

/* A PGM sample rescaled to the image's full scale. */
static uint32_t scale(uint32_t v, uint32_t maxval, int bits)
{
	uint32_t full = bits == 16 ? 65535 : 255;
	return maxval == full ? v : (uint32_t)(((uint64_t)v * full + maxval / 2) / maxval);
}

static semqr_status truncated(const char *path, int x, int y, semqr_error *err)
{
	return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: truncated: pixel data ends at (%d, %d)",
	                   path, x, y);
}

/* P4 and P5: row by row through one row buffer. */
static semqr_status read_raw(FILE *fp, const char *path, const pnm_header *h, semqr_image *img,
                             semqr_error *err)
{
	size_t bytes =
	    h->kind == '4' ? (h->width + 7) / 8 : (size_t)h->width * (h->maxval > 255 ? 2 : 1);
	uint8_t *row = malloc(bytes);
	if (!row)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path);
	semqr_status st = SEMQR_OK;
	for (int y = 0; y < img->height && st == SEMQR_OK; y++) {
		if (fread(row, 1, bytes, fp) != bytes) {
			st = ferror(fp) ? semqr__fail(err, SEMQR_ERR_IO, "%s: read error: %s", path,
			                              strerror(errno))
			                : truncated(path, 0, y, err);
			break;
		}
		for (int x = 0; x < img->width; x++) {
			uint32_t v;
			if (h->kind == '4') {
				v = (row[x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
			} else {
				v = h->maxval > 255 ? (uint32_t)row[2 * x] << 8 | row[2 * x + 1]
				                    : row[x];
				if (v > h->maxval) {
					st = semqr__fail(
					    err, SEMQR_ERR_FORMAT,
					    "%s: sample %u at (%d, %d) exceeds maxval %u", path,
					    (unsigned)v, x, y, (unsigned)h->maxval);
					break;
				}
				v = scale(v, h->maxval, img->bits);
			}
			semqr__set_pixel(img, x, y, v);
		}
	}
	free(row);
	return st;
}

/* P1 and P2: P1 samples are single '0'/'1' characters that need no
 * separator; P2 samples are decimal numbers separated by whitespace. */
static semqr_status read_plain(FILE *fp, const char *path, const pnm_header *h, semqr_image *img,
                               semqr_error *err)
{
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			int c = getc(fp);
			while (c != EOF && isspace(c))
				c = getc(fp);
			if (c == EOF)
				return truncated(path, x, y, err);
			if (h->kind == '1') {
				if (c != '0' && c != '1')
					return semqr__fail(
					    err, SEMQR_ERR_FORMAT,
					    "%s: unexpected '%c' (0x%02x) in PBM data at (%d, %d)",
					    path, isprint(c) ? c : '?', c, x, y);
				semqr__set_pixel(img, x, y, c == '1' ? 0 : 255);
				continue;
			}
			if (!isdigit(c))
				return semqr__fail(
				    err, SEMQR_ERR_FORMAT,
				    "%s: unexpected '%c' (0x%02x) in PGM data at (%d, %d)", path,
				    isprint(c) ? c : '?', c, x, y);
			uint32_t v = 0;
			while (c != EOF && isdigit(c)) {
				v = v * 10 + (uint32_t)(c - '0');
				if (v > h->maxval)
					return semqr__fail(
					    err, SEMQR_ERR_FORMAT,
					    "%s: sample at (%d, %d) exceeds maxval %u", path, x, y,
					    (unsigned)h->maxval);
				c = getc(fp);
			}
			if (c != EOF && !isspace(c))
				return semqr__fail(
				    err, SEMQR_ERR_FORMAT,
				    "%s: unexpected '%c' (0x%02x) in PGM data at (%d, %d)", path,
				    isprint(c) ? c : '?', c, x, y);
			semqr__set_pixel(img, x, y, scale(v, h->maxval, img->bits));
		}
	}
	return SEMQR_OK;
}

semqr_status semqr__pnm_read(const char *path, FILE *fp, semqr_image *img, semqr_error *err)
{
	pnm_header h;
	semqr_status st = read_header(fp, path, &h, err);
	if (st != SEMQR_OK)
		return st;

	/* Least raster size in bytes: exact for raw formats; one character per
	 * sample for P1, a digit and a separator per sample (but the last) for P2. */
	uint64_t pixels = (uint64_t)h.width * h.height;
	uint64_t need = h.kind == '4'   ? (uint64_t)(h.width + 7) / 8 * h.height
	                : h.kind == '5' ? pixels * (h.maxval > 255 ? 2 : 1)
	                : h.kind == '1' ? pixels
	                                : 2 * pixels - 1;
	long long left = bytes_left(fp);
	if (left >= 0 && (uint64_t)left < need)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: truncated: %ux%u pixels need at least %llu bytes of data, "
		                   "the file has %lld",
		                   path, (unsigned)h.width, (unsigned)h.height,
		                   (unsigned long long)need, left);

	st = semqr_image_alloc(img, (int)h.width, (int)h.height, h.maxval > 255 ? 16 : 8, err);
	if (st != SEMQR_OK)
		return st;
	st = h.kind == '4' || h.kind == '5' ? read_raw(fp, path, &h, img, err)
	                                    : read_plain(fp, path, &h, img, err);
	if (st != SEMQR_OK)
		semqr_image_free(img);
	return st;
}

semqr_status semqr__pnm_write(const char *path, const semqr_image *img, int bitmap,
                              semqr_error *err)
{
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	uint32_t half = img->bits == 16 ? 32768 : 128;
	size_t bytes =
	    bitmap ? ((size_t)img->width + 7) / 8 : (size_t)img->width * (size_t)img->bits / 8;
	uint8_t *row = malloc(bytes);
	if (!row)
		return semqr__finish_output(
		    fp, path,
		    semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path), err);
	if (bitmap)
		fprintf(fp, "P4\n%d %d\n", img->width, img->height);
	else
		fprintf(fp, "P5\n%d %d\n%d\n", img->width, img->height,
		        img->bits == 16 ? 65535 : 255);
	for (int y = 0; y < img->height; y++) {
		if (bitmap)
			memset(row, 0, bytes);
		for (int x = 0; x < img->width; x++) {
			uint32_t v = semqr__pixel(img, x, y);
			if (bitmap)
				row[x / 8] |= (uint8_t)((v < half) << (7 - x % 8));
			else if (img->bits == 8)
				row[x] = (uint8_t)v;
			else {
				row[2 * x] = (uint8_t)(v >> 8);
				row[2 * x + 1] = (uint8_t)v;
			}
		}
		if (fwrite(row, 1, bytes, fp) != bytes)
			break; /* the stream's error flag is reported by semqr__finish_output */
	}
	free(row);
	return semqr__finish_output(fp, path, SEMQR_OK, err);
}
