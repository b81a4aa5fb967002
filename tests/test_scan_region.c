/* Region reads of the scan reader (semqr_scan_read_region, include/semqr/scan.h):
 * a region equals the same crop of a full read, for every layout the reader
 * has a path for, and bad regions fail naming what is wrong.
 *
 * - TIFF, written here with libtiff from seeded random samples: 8 and 16-bit
 *   grey in uncompressed, LZW and Deflate strips, tiles, BigTIFF, MinIsWhite
 *   (8 and 1-bit), 2 and 4-bit grey, RGB, palette, FillOrder 2, big-endian
 *   16-bit, a single strip of the whole image. Uncompressed strips are read
 *   straight from the file, not through libtiff's decoder: each such file
 *   must read as the same samples written with LZW (libtiff's own decoding),
 *   which proves the conversions of the direct path.
 * - Frame stacks: each page and SEMQR_SCAN_MEAN (the rounded mean of the
 *   pages, computed here).
 * - PNG (8 and 16-bit, and interlaced, read whole), raw PGM (8 and 16-bit),
 *   raw PBM, plain PGM and JPEG (read through whole rows).
 * - Regions at every border, of odd sizes, one column wide, one row high;
 *   column ranges read band by band from the top, range after range, as the
 *   scan decoder's column groups do, and pages interleaved.
 * Test files are written at run time under SEMQR_TEST_TMP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>

#include "semqr/image.h"
#include "semqr/scan.h"

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	mkdir(SEMQR_TEST_TMP, 0777);
	snprintf(p, sizeof buf[0], "%s/%s", SEMQR_TEST_TMP, name);
	return p;
}

static uint32_t seed_next(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* ---- reading and comparing ------------------------------------------------ */

static semqr_scan *open_ok(const char *path, semqr_scan_info *in)
{
	semqr_scan *s = NULL;
	semqr_error err;
	if (semqr_scan_open(path, NULL, &s, &err) != SEMQR_OK)
		fail_msg("%s", err.message);
	semqr_scan_get_info(s, in);
	return s;
}

/* The whole of page (or the mean), read with semqr_scan_read_rows; dense
 * rows of info.width pixels, malloc'd. */
static uint8_t *read_full(semqr_scan *s, int page)
{
	semqr_scan_info in;
	semqr_scan_get_info(s, &in);
	size_t bpp = (size_t)in.bits / 8;
	uint8_t *img = malloc((size_t)in.width * (size_t)in.height * bpp);
	assert_non_null(img);
	semqr_error err;
	if (semqr_scan_read_rows(s, page, 0, in.height, img, (size_t)in.width, &err) != SEMQR_OK)
		fail_msg("full read of page %d: %s", page, err.message);
	return img;
}

/* Reads the region into a buffer with a stride wider than it and compares
 * it with the same crop of `full` (dense rows of info.width pixels). */
static void check_region(semqr_scan *s, int page, const uint8_t *full, int x0, int y0, int w,
                         int rows)
{
	semqr_scan_info in;
	semqr_scan_get_info(s, &in);
	size_t bpp = (size_t)in.bits / 8, stride = (size_t)w + 5;
	uint8_t *buf = malloc(stride * (size_t)rows * bpp);
	assert_non_null(buf);
	semqr_error err;
	if (semqr_scan_read_region(s, page, x0, y0, w, rows, buf, stride, &err) != SEMQR_OK)
		fail_msg("page %d, region (%d, %d) %d x %d: %s", page, x0, y0, w, rows,
		         err.message);
	for (int r = 0; r < rows; r++) {
		const uint8_t *want =
		    full + ((size_t)(y0 + r) * (size_t)in.width + (size_t)x0) * bpp;
		const uint8_t *got = buf + (size_t)r * stride * bpp;
		if (memcmp(got, want, (size_t)w * bpp) != 0)
			fail_msg(
			    "page %d, region (%d, %d) %d x %d: row %d differs from the full read",
			    page, x0, y0, w, rows, y0 + r);
	}
	free(buf);
}

/* Every kind of region of page (or the mean) against `full`: borders, odd
 * sizes, one column, one row, and column ranges read band by band. */
static void check_regions(semqr_scan *s, int page, const uint8_t *full)
{
	semqr_scan_info in;
	semqr_scan_get_info(s, &in);
	int W = in.width, H = in.height;
	const int boxes[][4] = {
	    {0, 0, W, H},
	    {0, 0, 1, 1},
	    {W - 1, H - 1, 1, 1},
	    {W - 1, 0, 1, H},
	    {0, H - 1, W, 1},
	    {0, 0, 1, H},
	    {W / 3, H / 4, W / 2 | 1, H / 3 | 1},
	    {1, 2, W - 2, H - 3},
	    {W / 2, 0, W - W / 2, H},
	    {W - 7 > 0 ? W - 7 : 0, H / 2, W < 7 ? W : 7, 3},
	};
	for (size_t k = 0; k < sizeof boxes / sizeof boxes[0]; k++) {
		const int *b = boxes[k];
		int rows = b[3] < H - b[1] ? b[3] : H - b[1];
		if (b[2] >= 1 && rows >= 1)
			check_region(s, page, full, b[0], b[1], b[2], rows);
	}
	/* The same rows, columns growing to the right, then to the left: a
	 * cache holding part of the columns must not serve the rest. */
	int top = H < 3 ? H : 3;
	for (int w = 1; w <= W; w += 9)
		check_region(s, page, full, 0, 0, w, top);
	for (int x0 = W - 1; x0 >= 0; x0 -= 11)
		check_region(s, page, full, x0, 0, W - x0, top);
	/* Column ranges overlapping by a few columns, each read top to bottom
	 * in bands of 5 rows, as the decoder's column groups read. */
	int cuts[] = {0, W / 3, 2 * W / 3, W};
	for (int g = 0; g < 3; g++) {
		int x0 = cuts[g] - 3 > 0 ? cuts[g] - 3 : 0;
		int x1 = cuts[g + 1] + 2 < W ? cuts[g + 1] + 2 : W;
		for (int y = 0; y < H; y += 5)
			check_region(s, page, full, x0, y, x1 - x0, H - y < 5 ? H - y : 5);
	}
}

/* Full reads and regions of every page and of the mean; the mean's full read
 * is checked against the rounded mean of the pages' full reads. */
static void check_file(const char *path)
{
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, &in);
	size_t n = (size_t)in.width * (size_t)in.height, bpp = (size_t)in.bits / 8;
	uint8_t **pages = calloc((size_t)in.pages, sizeof *pages);
	assert_non_null(pages);
	for (int p = 0; p < in.pages; p++) {
		pages[p] = read_full(s, p);
		check_regions(s, p, pages[p]);
	}
	uint8_t *mean = read_full(s, SEMQR_SCAN_MEAN);
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (int p = 0; p < in.pages; p++)
			sum += bpp == 1 ? pages[p][i] : ((const uint16_t *)pages[p])[i];
		uint32_t want =
		    (uint32_t)((2 * sum + (uint64_t)in.pages) / (2 * (uint64_t)in.pages));
		uint32_t got = bpp == 1 ? mean[i] : ((const uint16_t *)mean)[i];
		if (got != want)
			fail_msg("%s: mean pixel %zu is %u, expected %u", path, i, got, want);
	}
	check_regions(s, SEMQR_SCAN_MEAN, mean);
	/* Pages interleaved: the same rows of page 1 then page 0, twice. */
	if (in.pages > 1)
		for (int k = 0; k < 4; k++)
			check_region(s, 1 - k % 2, pages[1 - k % 2], in.width / 4, in.height / 2,
			             in.width / 2, 4);
	free(mean);
	for (int p = 0; p < in.pages; p++)
		free(pages[p]);
	free(pages);
	semqr_scan_close(s);
}

/* ---- TIFF ------------------------------------------------------------------- */

typedef struct tiff_cfg {
	const char *name;
	uint32_t w, h;
	int bits, spp;
	uint16_t photometric, compression;
	int tiled;
	uint32_t tw, th; /* tile size */
	uint32_t rps;    /* rows per strip */
	int pages, bigtiff, big_endian, fill_lsb;
} tiff_cfg;

/* Writes the pages of c from `samples`: per page, the rows packed as TIFF
 * stores them (rowbytes each), samples in host order. */
static void write_tiff(const char *path, const tiff_cfg *c, uint16_t compression,
                       const uint8_t *samples, size_t rowbytes)
{
	char mode[4] = "w";
	if (c->bigtiff)
		strcat(mode, "8");
	strcat(mode, c->big_endian ? "b" : "l");
	TIFF *t = TIFFOpen(path, mode);
	assert_non_null(t);
	uint16_t cmap[3 * 256];
	for (int k = 0; k < 256; k++) {
		cmap[k] = (uint16_t)(k * 257);
		cmap[256 + k] = (uint16_t)((255 - k) * 131);
		cmap[512 + k] = (uint16_t)(k * 97 % 65536);
	}
	for (int p = 0; p < c->pages; p++) {
		const uint8_t *page = samples + (size_t)p * rowbytes * c->h;
		assert_true(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, c->w));
		assert_true(TIFFSetField(t, TIFFTAG_IMAGELENGTH, c->h));
		assert_true(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)c->bits));
		assert_true(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)c->spp));
		assert_true(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, c->photometric));
		assert_true(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG));
		assert_true(TIFFSetField(t, TIFFTAG_COMPRESSION, compression));
		if (c->fill_lsb)
			assert_true(TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB));
		if (c->photometric == PHOTOMETRIC_PALETTE)
			assert_true(
			    TIFFSetField(t, TIFFTAG_COLORMAP, cmap, cmap + 256, cmap + 512));
		if (c->pages > 1)
			assert_true(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE));
		if (c->tiled) {
			assert_true(TIFFSetField(t, TIFFTAG_TILEWIDTH, c->tw));
			assert_true(TIFFSetField(t, TIFFTAG_TILELENGTH, c->th));
			size_t trow = ((size_t)c->tw * (size_t)c->spp * (size_t)c->bits + 7) / 8;
			uint8_t *tile = malloc(trow * c->th);
			assert_non_null(tile);
			/* Tiles start on whole bytes: 8 and 16-bit samples only. */
			for (uint32_t ty = 0; ty < c->h; ty += c->th)
				for (uint32_t tx = 0; tx < c->w; tx += c->tw) {
					memset(tile, 0, trow * c->th);
					size_t from =
					    (size_t)tx * (size_t)c->spp * (size_t)c->bits / 8;
					size_t len =
					    rowbytes - from < trow ? rowbytes - from : trow;
					for (uint32_t r = 0; r < c->th && ty + r < c->h; r++)
						memcpy(tile + r * trow,
						       page + (ty + r) * rowbytes + from, len);
					tmsize_t n = (tmsize_t)(trow * c->th);
					assert_true(
					    TIFFWriteEncodedTile(
					        t, TIFFComputeTile(t, tx, ty, 0, 0), tile, n) == n);
				}
			free(tile);
		} else {
			assert_true(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, c->rps));
			/* libtiff byte-swaps what it writes in place: a copy. */
			uint8_t *strip = malloc(rowbytes * c->rps);
			assert_non_null(strip);
			for (uint32_t y = 0; y < c->h; y += c->rps) {
				uint32_t rows = c->h - y < c->rps ? c->h - y : c->rps;
				tmsize_t n = (tmsize_t)(rows * rowbytes);
				memcpy(strip, page + y * rowbytes, (size_t)n);
				assert_true(TIFFWriteEncodedStrip(t, y / c->rps, strip, n) == n);
			}
			free(strip);
		}
		assert_true(TIFFWriteDirectory(t));
	}
	TIFFClose(t);
}

static void test_tiff_layouts(void **state)
{
	(void)state;
	static const tiff_cfg cases[] = {
	    {"u8 strips none", 101, 37, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0, 8,
	     1, 0, 0, 0},
	    {"u8 strips LZW", 101, 37, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 0, 0, 0, 5, 1,
	     0, 0, 0},
	    {"u16 strips Deflate", 67, 29, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_ADOBE_DEFLATE,
	     0, 0, 0, 4, 1, 0, 0, 0},
	    {"u16 strips none", 67, 29, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0, 7,
	     1, 0, 0, 0},
	    {"u16 big-endian none", 67, 29, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0,
	     0, 6, 1, 0, 1, 0},
	    {"u8 one strip none", 300, 41, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0,
	     41, 1, 0, 0, 0},
	    {"u8 MinIsWhite none", 53, 31, 8, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_NONE, 0, 0, 0,
	     3, 1, 0, 0, 0},
	    {"1-bit MinIsWhite none", 61, 23, 1, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_NONE, 0, 0,
	     0, 4, 1, 0, 0, 0},
	    {"1-bit FillOrder 2 none", 61, 23, 1, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0,
	     0, 5, 1, 0, 0, 1},
	    {"2-bit none", 45, 19, 2, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0, 6, 1, 0,
	     0, 0},
	    {"4-bit none", 45, 19, 4, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0, 6, 1, 0,
	     0, 0},
	    {"RGB 8 none", 39, 21, 8, 3, PHOTOMETRIC_RGB, COMPRESSION_NONE, 0, 0, 0, 4, 1, 0, 0, 0},
	    {"RGB 16 big-endian none", 39, 21, 16, 3, PHOTOMETRIC_RGB, COMPRESSION_NONE, 0, 0, 0, 4,
	     1, 0, 1, 0},
	    {"palette none", 39, 21, 8, 1, PHOTOMETRIC_PALETTE, COMPRESSION_NONE, 0, 0, 0, 4, 1, 0,
	     0, 0},
	    {"u8 tiles Deflate", 100, 75, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_ADOBE_DEFLATE,
	     1, 16, 32, 0, 1, 0, 0, 0},
	    {"u16 tiles none", 77, 50, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 1, 32, 16,
	     0, 1, 0, 0, 0},
	    {"u16 BigTIFF tiles LZW", 123, 47, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 1,
	     32, 32, 0, 1, 1, 0, 0},
	    {"u8 BigTIFF strips none", 90, 33, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0,
	     0, 8, 1, 1, 0, 0},
	    {"stack u8 strips none", 70, 26, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0,
	     0, 4, 3, 0, 0, 0},
	    {"stack u16 tiles Deflate", 70, 33, 16, 1, PHOTOMETRIC_MINISBLACK,
	     COMPRESSION_ADOBE_DEFLATE, 1, 16, 16, 0, 4, 0, 0, 0},
	    {"stack u8 strips LZW", 2048, 40, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 0, 0,
	     0, 16, 3, 0, 0, 0},
	};
	uint32_t seed = 2024;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const tiff_cfg *c = &cases[k];
		size_t rowbytes = ((size_t)c->w * (size_t)c->spp * (size_t)c->bits + 7) / 8;
		size_t bytes = rowbytes * c->h * (size_t)c->pages;
		uint8_t *samples = malloc(bytes);
		assert_non_null(samples);
		for (size_t i = 0; i < bytes; i++)
			samples[i] = (uint8_t)seed_next(&seed);
		const char *path = tmp_path("region.tif");
		write_tiff(path, c, c->compression, samples, rowbytes);
		print_message("%s\n", c->name);
		check_file(path);
		semqr_scan_info in;
		semqr_scan *s = open_ok(path, &in);
		assert_int_equal(in.column_reads, c->tiled || c->compression == COMPRESSION_NONE);
		/* Uncompressed strips are read past libtiff's decoder: they must give
		 * what libtiff decodes from the same samples compressed. */
		if (!c->tiled && c->compression == COMPRESSION_NONE) {
			const char *ref_path = tmp_path("region-ref.tif");
			write_tiff(ref_path, c, COMPRESSION_LZW, samples, rowbytes);
			semqr_scan_info rin;
			semqr_scan *ref = open_ok(ref_path, &rin);
			assert_int_equal(rin.column_reads, 0);
			assert_int_equal(rin.bits, in.bits);
			for (int p = 0; p < in.pages; p++) {
				uint8_t *a = read_full(s, p), *b = read_full(ref, p);
				if (memcmp(a, b,
				           (size_t)in.width * in.height * (size_t)(in.bits / 8)) !=
				    0)
					fail_msg("%s: page %d differs from the same samples in LZW",
					         c->name, p);
				free(a);
				free(b);
			}
			semqr_scan_close(ref);
		}
		semqr_scan_close(s);
		free(samples);
	}
}

/* ---- PNG, PGM, PBM, JPEG ------------------------------------------------------ */

static void fill_image(semqr_image *img, uint32_t *seed)
{
	for (int y = 0; y < img->height; y++)
		for (int x = 0; x < img->width; x++) {
			uint32_t v = seed_next(seed);
			if (img->bits == 8)
				((uint8_t *)img->pixels)[(size_t)y * img->stride + (size_t)x] =
				    (uint8_t)v;
			else
				((uint16_t *)img->pixels)[(size_t)y * img->stride + (size_t)x] =
				    (uint16_t)v;
		}
}

static void write_png_interlaced(const char *path, const semqr_image *img)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng failed writing %s", path);
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
	             PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_bytep *rows = malloc((size_t)img->height * sizeof *rows);
	assert_non_null(rows);
	for (int y = 0; y < img->height; y++)
		rows[y] = (png_bytep)img->pixels + (size_t)y * img->stride;
	png_write_image(png, rows);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(rows);
	fclose(fp);
}

static void write_jpeg(const char *path, const semqr_image *img)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fp);
	c.image_width = (JDIMENSION)img->width;
	c.image_height = (JDIMENSION)img->height;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	for (int y = 0; y < img->height; y++) {
		JSAMPROW row = (JSAMPROW)img->pixels + (size_t)y * img->stride;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(fp);
}

/* Each format's full read is checked against the image written (but JPEG,
 * which is lossy, and PBM, thresholded), then its regions against the full
 * read. */
static void test_other_formats(void **state)
{
	(void)state;
	uint32_t seed = 77;
	semqr_error err;
	for (int bits = 8; bits <= 16; bits += 8) {
		semqr_image img;
		assert_int_equal(semqr_image_alloc(&img, 57, 43, bits, &err), SEMQR_OK);
		fill_image(&img, &seed);
		static const char *const names[] = {"r.png", "r.pgm",  "r.pbm",
		                                    "r.jpg", "ri.png", "r2.pgm"};
		static const char *const formats[] = {"PNG", "PGM", "PBM", "JPEG", "PNG", "PGM"};
		static const int column_reads[] = {0, 1, 1, 0, 1, 1};
		for (int f = 0; f < 6; f++) {
			if (bits == 16 && f >= 2)
				break;
			const char *path = tmp_path(names[f]);
			if (f == 3) {
				write_jpeg(path, &img);
			} else if (f == 4) {
				write_png_interlaced(path, &img);
			} else if (f == 5) {
				FILE *fp = fopen(path, "w");
				assert_non_null(fp);
				fprintf(fp, "P2\n57 43\n255\n");
				for (int i = 0; i < 57 * 43; i++)
					fprintf(fp, "%u\n", ((uint8_t *)img.pixels)[i]);
				fclose(fp);
			} else {
				assert_int_equal(semqr_image_write(path, &img, &err), SEMQR_OK);
			}
			print_message("%s, %d-bit\n", names[f], bits);
			semqr_scan_info in;
			semqr_scan *s = open_ok(path, &in);
			assert_string_equal(in.format, formats[f]);
			assert_int_equal(in.column_reads, column_reads[f]);
			uint8_t *full = read_full(s, 0);
			if (f != 2 && f != 3)
				assert_memory_equal(full, img.pixels,
				                    (size_t)img.width * img.height *
				                        (size_t)(bits / 8));
			check_regions(s, 0, full);
			free(full);
			semqr_scan_close(s);
			check_file(path);
		}
		semqr_image_free(&img);
	}
}

/* ---- bad regions ---------------------------------------------------------------- */

static void expect_error(semqr_status st, const semqr_error *err, const char *needle)
{
	if (st != SEMQR_ERR_INVALID_ARGUMENT)
		fail_msg("status %d, expected SEMQR_ERR_INVALID_ARGUMENT (%s)", (int)st,
		         err->message);
	if (!strstr(err->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err->message, needle);
}

static void test_bad_regions(void **state)
{
	(void)state;
	semqr_error err;
	semqr_image img;
	uint32_t seed = 5;
	assert_int_equal(semqr_image_alloc(&img, 40, 30, 8, &err), SEMQR_OK);
	fill_image(&img, &seed);
	const char *path = tmp_path("bad.pgm");
	assert_int_equal(semqr_image_write(path, &img, &err), SEMQR_OK);
	semqr_scan_info in;
	semqr_scan *s = open_ok(path, &in);
	uint8_t buf[64 * 64];
	expect_error(semqr_scan_read_region(s, 0, -1, 0, 4, 1, buf, 64, &err), &err,
	             "columns -1 .. 2 outside the image's columns 0 .. 39");
	expect_error(semqr_scan_read_region(s, 0, 38, 0, 3, 1, buf, 64, &err), &err,
	             "columns 38 .. 40 outside");
	expect_error(semqr_scan_read_region(s, 0, 5, 0, 0, 1, buf, 64, &err), &err,
	             "columns 5 .. 4");
	expect_error(semqr_scan_read_region(s, 0, 40, 0, 1, 1, buf, 64, &err), &err, "columns 40");
	expect_error(semqr_scan_read_region(s, 0, 0, 29, 4, 2, buf, 64, &err), &err,
	             "rows 29 .. 30 outside the image's rows 0 .. 29");
	expect_error(semqr_scan_read_region(s, 0, 0, -2, 4, 1, buf, 64, &err), &err, "rows -2");
	expect_error(semqr_scan_read_region(s, 0, 0, 0, 4, 0, buf, 64, &err), &err, "rows 0 .. -1");
	expect_error(semqr_scan_read_region(s, 0, 10, 0, 20, 1, buf, 19, &err), &err,
	             "stride 19 below the width read, 20");
	expect_error(semqr_scan_read_region(s, 1, 0, 0, 4, 1, buf, 64, &err), &err,
	             "page 1 outside 0 .. 0");
	expect_error(semqr_scan_read_region(s, 0, 0, 0, 4, 1, NULL, 64, &err), &err,
	             "semqr_scan_read_region: dst is NULL");
	expect_error(semqr_scan_read_region(NULL, 0, 0, 0, 4, 1, buf, 64, &err), &err,
	             "semqr_scan_read_region: scan is NULL");
	/* The scan stays usable after the errors. */
	assert_int_equal(semqr_scan_read_region(s, 0, 39, 29, 1, 1, buf, 1, &err), SEMQR_OK);
	assert_int_equal(buf[0], ((uint8_t *)img.pixels)[29 * 40 + 39]);
	semqr_scan_close(s);
	semqr_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tiff_layouts),
	    cmocka_unit_test(test_other_formats),
	    cmocka_unit_test(test_bad_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
