/* The Netpbm backend of the scan reader: raw PGM (P5) and PBM (P4), whose
 * rows have a fixed size, are read by seeking to the band; one row buffer in
 * memory. Plain (ASCII) files have no fixed row offsets: they give
 * SEMQR_ERR_UNSUPPORTED here and scan.c reads them whole.
 *
 * Header: magic, width, height and (PGM) maxval as decimal numbers separated
 * by whitespace, '#' starting a comment to the end of the line, then exactly
 * one whitespace byte before the raster. Samples as in pnm.c: PBM 1 is black
 * (0) and 0 white (255); PGM with maxval 255 or 65535 is kept, other maxvals
 * are rescaled (rounding to nearest) to 255 (maxval <= 255, 8-bit) or 65535
 * (16-bit, samples big-endian in the file). The file must hold the whole
 * raster, checked when opening. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

typedef struct pnm_scan {
	const char *path;     /* the scan's copy */
	FILE *fp;
	int kind;             /* '4' or '5' */
	uint32_t width, height, maxval;
	off_t raster;         /* offset of row 0 */
	size_t row_bytes;
	uint8_t *row;
} pnm_scan;

/* Reads one unsigned header field of at most `limit`, skipping whitespace
 * and comments before it and consuming the one byte after it. */
static semqr_status header_field(pnm_scan *ps, const char *name, uint32_t limit, uint32_t *out,
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
	if (c == EOF || !isdigit(c))
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: no %s", ps->path,
		                   name);
	uint64_t v = 0;
	for (; c != EOF && isdigit(c); c = getc(ps->fp)) {
		v = v * 10 + (uint64_t)(c - '0');
		if (v > limit)
			return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: %s exceeds %u",
			                   ps->path, name, (unsigned)limit);
	}
	if (c != EOF && !isspace(c))
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: %s followed by "
		                   "0x%02x, not whitespace", ps->path, name, (unsigned)c);
	*out = (uint32_t)v;
	return SEMQR_OK;
}

static semqr_status read_header(pnm_scan *ps, semqr_error *err)
{
	getc(ps->fp);
	ps->kind = getc(ps->fp);
	if (ps->kind != '4' && ps->kind != '5')
		return semqr__fail(err, SEMQR_ERR_UNSUPPORTED, "%s: Netpbm P%c cannot be streamed",
		                   ps->path, ps->kind == EOF ? '?' : ps->kind);
	semqr_status st = header_field(ps, "width", UINT32_MAX, &ps->width, err);
	if (st == SEMQR_OK)
		st = header_field(ps, "height", UINT32_MAX, &ps->height, err);
	ps->maxval = 1;
	if (st == SEMQR_OK && ps->kind == '5')
		st = header_field(ps, "maxval", 65535, &ps->maxval, err);
	if (st == SEMQR_OK && ps->maxval == 0)
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: bad Netpbm header: maxval 0", ps->path);
	if (st == SEMQR_OK)
		st = semqr__check_dims(ps->path, ps->width, ps->height, err);
	if (st != SEMQR_OK)
		return st;
	ps->raster = ftello(ps->fp);
	ps->row_bytes = ps->kind == '4' ? (ps->width + 7) / 8
	                                : (size_t)ps->width * (ps->maxval > 255 ? 2 : 1);
	struct stat sb;
	uint64_t need = (uint64_t)ps->raster + (uint64_t)ps->row_bytes * ps->height;
	if (ps->raster < 0 || fstat(fileno(ps->fp), &sb) != 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot locate the raster", ps->path);
	if ((uint64_t)sb.st_size < need)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: truncated: the %ux%u raster needs %llu "
		                   "bytes, the file has %lld", ps->path, (unsigned)ps->width,
		                   (unsigned)ps->height, (unsigned long long)need,
		                   (long long)sb.st_size);
	ps->row = malloc(ps->row_bytes);
	if (!ps->row)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", ps->path);
	return SEMQR_OK;
}

static void convert_row(const pnm_scan *ps, uint8_t *out)
{
	const uint8_t *in = ps->row;
	if (ps->kind == '4') {
		for (uint32_t x = 0; x < ps->width; x++)
			out[x] = (in[x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
	} else if (ps->maxval <= 255) {
		for (uint32_t x = 0; x < ps->width; x++) {
			uint32_t v = in[x] > ps->maxval ? ps->maxval : in[x];
			out[x] = (uint8_t)((v * 255 + ps->maxval / 2) / ps->maxval);
		}
	} else {
		for (uint32_t x = 0; x < ps->width; x++) {
			uint32_t v = (uint32_t)in[2 * x] << 8 | in[2 * x + 1];
			if (v > ps->maxval)
				v = ps->maxval;
			((uint16_t *)out)[x] = (uint16_t)(((uint64_t)v * 65535 + ps->maxval / 2) /
			                                  ps->maxval);
		}
	}
}

static semqr_status pnm_read(semqr_scan *scan, int page, uint32_t y0, uint32_t rows, void *dst,
                             size_t dst_stride, semqr_error *err)
{
	pnm_scan *ps = scan->impl;
	size_t bpp = (size_t)scan->info.bits / 8;
	if (fseeko(ps->fp, ps->raster + (off_t)y0 * (off_t)ps->row_bytes, SEEK_SET) != 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot seek to row %u", ps->path,
		                   (unsigned)y0);
	for (uint32_t r = 0; r < rows; r++) {
		if (fread(ps->row, 1, ps->row_bytes, ps->fp) != ps->row_bytes)
			return semqr__fail(err, ferror(ps->fp) ? SEMQR_ERR_IO : SEMQR_ERR_FORMAT,
			                   "%s: row %u: %s", ps->path, (unsigned)(y0 + r),
			                   ferror(ps->fp) ? "read error" : "file ends early");
		convert_row(ps, (uint8_t *)dst + r * dst_stride * bpp);
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

static const semqr__scan_backend pnm_backend = {pnm_read, pnm_close};

semqr_status semqr__scan_pnm_open(const char *path, FILE *fp, semqr_scan *scan,
                                  semqr_error *err)
{
	pnm_scan *ps = calloc(1, sizeof *ps);
	if (!ps) {
		fclose(fp);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	ps->path = scan->path;
	ps->fp = fp;
	semqr_status st = read_header(ps, err);
	if (st != SEMQR_OK) {
		pnm_close(ps);
		return st;
	}
	semqr_scan_info *in = &scan->info;
	in->width = (int)ps->width;
	in->height = in->stored_height = (int)ps->height;
	in->bits = ps->maxval > 255 ? 16 : 8;
	in->pages = 1;
	in->format = ps->kind == '4' ? "PBM" : "PGM";
	in->compression = "none";
	in->block_width = ps->width;
	in->block_height = 1;
	scan->backend = &pnm_backend;
	scan->impl = ps;
	return SEMQR_OK;
}
