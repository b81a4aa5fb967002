/* JPEG reading through libjpeg: the JPEG backend of the scan reader, for
 * photographs of symbols.
 *
 * libjpeg converts any colour space to grey itself (out_color_space
 * JCS_GRAYSCALE: the luma component as stored, for YCbCr files; BT.601 luma
 * for RGB; CMYK and YCCK are refused), so rows come out 8-bit grey, one
 * sample per pixel. Rows are decoded in file order with jpeg_read_scanlines
 * into the caller's buffer, one row at a time; a band above the next row to
 * decode restarts the decoder from the start of the file, so bands are meant
 * to come with increasing y0 (as for PNG). Decoding the last row also
 * finishes the decompression (jpeg_finish_decompress), reading to the EOI
 * marker, so damage after the last row is reported too.
 *
 * Errors: libjpeg's error_exit longjmps to the setjmp of the current call
 * with its message; after that the decompressor is unusable, so the next
 * read restarts it. libjpeg treats a truncated file as a warning (it pads
 * the missing rows with grey); here it is an error, as for PNG. Other
 * warnings (extraneous bytes before a marker, and such) are dropped: the
 * image is still whole.
 *
 * Size: before anything is allocated for the rows, the header's size is
 * checked against SEMQR_IMAGE_DIM_MAX (semqr__check_dims) and, for Huffman-
 * coded files, against the file's length: every 8 x 8 block of the first
 * component costs at least one bit (its DC code), so a file of n bytes holds
 * at most 8 n blocks of 64 pixels at full resolution. A header promising
 * more is corrupt, and refusing it keeps a few hostile bytes from causing a
 * huge allocation. Arithmetic-coded files can go below a bit per block and
 * get the dimension check only. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jerror.h>
#include <jpeglib.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

typedef struct jpeg_scan {
	struct jpeg_decompress_struct cinfo; /* first: error_exit finds the scan from it */
	struct jpeg_error_mgr jerr;
	jmp_buf jump;
	char message[JMSG_LENGTH_MAX];
	const char *path; /* the scan's copy */
	FILE *fp;
	int started;       /* cinfo holds a decompressor started on the file */
	uint32_t width, height;
	uint32_t next_row; /* the row jpeg_read_scanlines returns next */
} jpeg_scan;

static _Noreturn void error_exit(j_common_ptr common)
{
	jpeg_scan *js = (jpeg_scan *)common;
	common->err->format_message(common, js->message);
	longjmp(js->jump, 1);
}

/* Warnings (msg_level -1) other than a premature end of the data are
 * dropped; trace messages (msg_level >= 0) too. */
static void emit_message(j_common_ptr common, int msg_level)
{
	if (msg_level == -1 && common->err->msg_code == JWRN_JPEG_EOF)
		error_exit(common);
}

static void stop(jpeg_scan *js)
{
	if (js->started)
		jpeg_destroy_decompress(&js->cinfo);
	js->started = 0;
}

static semqr_status jpeg_failed(jpeg_scan *js, const char *where, semqr_error *err)
{
	stop(js);
	if (ferror(js->fp))
		return semqr__fail(err, SEMQR_ERR_IO, "%s: %s: read error (libjpeg: %s)", js->path,
		                   where, js->message);
	return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: %s: invalid or truncated JPEG (libjpeg: %s)",
	                   js->path, where, js->message);
}

/* Checks the header's size (see the file comment) on the first start. */
static semqr_status check_size(jpeg_scan *js, semqr_error *err)
{
	semqr_status st = semqr__check_dims(js->path, js->width, js->height, err);
	if (st != SEMQR_OK || js->cinfo.arith_code)
		return st;
	struct stat sb;
	const jpeg_component_info *c = &js->cinfo.comp_info[0];
	uint64_t blocks = (uint64_t)c->width_in_blocks * c->height_in_blocks;
	if (fstat(fileno(js->fp), &sb) == 0 && blocks / 8 > (uint64_t)sb.st_size)
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s: %ux%u pixels (%llu blocks) cannot be coded in a %lld-byte "
		                   "file",
		                   js->path, (unsigned)js->width, (unsigned)js->height,
		                   (unsigned long long)blocks, (long long)sb.st_size);
	return SEMQR_OK;
}

/* Starts the decompressor at the beginning of the file: header, grey
 * output, jpeg_start_decompress. The first start (width 0) also checks the
 * size; a restart finds the same header. */
static semqr_status start(jpeg_scan *js, semqr_error *err)
{
	stop(js);
	if (fseek(js->fp, 0, SEEK_SET) != 0)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot seek to the start", js->path);
	clearerr(js->fp);
	js->cinfo.err = jpeg_std_error(&js->jerr);
	js->jerr.error_exit = error_exit;
	js->jerr.emit_message = emit_message;
	js->message[0] = '\0';
	if (setjmp(js->jump))
		return jpeg_failed(js, "header", err);
	js->started = 1; /* jpeg_destroy_decompress is safe on a partial create */
	jpeg_create_decompress(&js->cinfo);
	jpeg_stdio_src(&js->cinfo, js->fp);
	jpeg_read_header(&js->cinfo, TRUE);
	if (js->cinfo.jpeg_color_space == JCS_CMYK || js->cinfo.jpeg_color_space == JCS_YCCK) {
		stop(js);
		return semqr__fail(err, SEMQR_ERR_UNSUPPORTED, "%s: CMYK JPEG files are not supported",
		                   js->path);
	}
	js->cinfo.out_color_space = JCS_GRAYSCALE;
	if (js->width == 0) {
		js->width = js->cinfo.image_width;
		js->height = js->cinfo.image_height;
		/* comp_info's block counts are set by jpeg_calc_output_dimensions
		 * onwards; jpeg_start_decompress allocates nothing row-sized
		 * before they can be checked here. */
		jpeg_calc_output_dimensions(&js->cinfo);
		semqr_status st = check_size(js, err);
		if (st != SEMQR_OK) {
			stop(js);
			return st;
		}
	}
	jpeg_start_decompress(&js->cinfo);
	js->next_row = 0;
	return SEMQR_OK;
}

static semqr_status jpeg_read(semqr_scan *scan, int page, uint32_t y0, uint32_t rows, void *dst,
                              size_t dst_stride, semqr_error *err)
{
	(void)page;
	jpeg_scan *js = scan->impl;
	if (!js->started || y0 < js->next_row) {
		semqr_status st = start(js, err);
		if (st != SEMQR_OK)
			return st;
	}
	/* Rows before y0 go through a row of dst itself: it is overwritten
	 * by the band's first row afterwards. */
	uint8_t *first = dst;
	if (setjmp(js->jump)) {
		char where[32];
		if (js->next_row < js->height)
			snprintf(where, sizeof where, "row %u", (unsigned)js->next_row);
		else
			snprintf(where, sizeof where, "after the last row");
		return jpeg_failed(js, where, err);
	}
	while (js->next_row < y0 + rows) {
		JSAMPROW row = js->next_row >= y0 ? first + (js->next_row - y0) * dst_stride : first;
		if (jpeg_read_scanlines(&js->cinfo, &row, 1) != 1) {
			/* Only a suspending data source returns 0 rows; stdio's
			 * never does, but a stall must not loop forever. */
			snprintf(js->message, sizeof js->message, "no row returned");
			return jpeg_failed(js, "rows", err);
		}
		if (++js->next_row == js->height)
			jpeg_finish_decompress(&js->cinfo);
	}
	return SEMQR_OK;
}

static void jpeg_close(void *impl)
{
	jpeg_scan *js = impl;
	stop(js);
	fclose(js->fp);
	free(js);
}

static const semqr__scan_backend jpeg_backend = {jpeg_read, jpeg_close};

semqr_status semqr__scan_jpeg_open(const char *path, FILE *fp, semqr_scan *scan, semqr_error *err)
{
	jpeg_scan *js = calloc(1, sizeof *js);
	if (!js) {
		fclose(fp);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: out of memory", path);
	}
	js->path = scan->path;
	js->fp = fp;
	semqr_status st = start(js, err);
	if (st != SEMQR_OK) {
		jpeg_close(js);
		return st;
	}
	semqr__scan_attach_rows(scan, &jpeg_backend, js, js->width, js->height, 8, "JPEG",
	                        js->cinfo.arith_code ? "JPEG (arithmetic)" : "JPEG (Huffman)");
	return SEMQR_OK;
}
