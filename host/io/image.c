/* Grey images: allocation, reading a whole image through the scan reader,
 * and writing files by dispatching to the format's writer (chosen by the
 * path's extension). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error_internal.h"
#include "io/io_internal.h"
#include "io/scan_internal.h"

semqr_status semqr_image_alloc(semqr_image *img, int width, int height, int bits, semqr_error *err)
{
	if (!img)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_image_alloc: img is NULL");
	memset(img, 0, sizeof *img);
	if (width < 1 || width > SEMQR_IMAGE_DIM_MAX || height < 1 || height > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_image_alloc: size %dx%d outside 1..%d", width, height,
		                   SEMQR_IMAGE_DIM_MAX);
	if (bits != 8 && bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_image_alloc: %d bits per pixel (must be 8 or 16)", bits);
	size_t bytes_per_pixel = (size_t)bits / 8;
	size_t pixels = (size_t)width * (size_t)height;
	if (pixels / (size_t)width != (size_t)height || pixels > SIZE_MAX / bytes_per_pixel)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "semqr_image_alloc: %dx%d pixels overflow the address space",
		                   width, height);
	void *p = calloc(pixels, bytes_per_pixel);
	if (!p)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "cannot allocate a %dx%d %d-bit image (%zu bytes)", width,
		                   height, bits, pixels * bytes_per_pixel);
	img->width = width;
	img->height = height;
	img->bits = bits;
	img->stride = (size_t)width;
	img->pixels = p;
	semqr__clear(err);
	return SEMQR_OK;
}

void semqr_image_free(semqr_image *img)
{
	if (img) {
		free(img->pixels);
		memset(img, 0, sizeof *img);
	}
}

semqr_status semqr__check_dims(const char *path, uint64_t width, uint64_t height, semqr_error *err)
{
	if (width < 1 || height < 1)
		return semqr__fail(err, SEMQR_ERR_FORMAT, "%s: image is empty (%llux%llu pixels)",
		                   path, (unsigned long long)width, (unsigned long long)height);
	if (width > SEMQR_IMAGE_DIM_MAX || height > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(
		    err, SEMQR_ERR_FORMAT,
		    "%s: image size %llux%llu exceeds the limit of %d pixels per side", path,
		    (unsigned long long)width, (unsigned long long)height, SEMQR_IMAGE_DIM_MAX);
	return SEMQR_OK;
}

semqr_status semqr__check_image(const semqr_image *img, const char *what, semqr_error *err)
{
	if (!img || !img->pixels)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s: no image", what);
	if (img->width < 1 || img->width > SEMQR_IMAGE_DIM_MAX || img->height < 1 ||
	    img->height > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: image size %dx%d outside 1..%d", what, img->width,
		                   img->height, SEMQR_IMAGE_DIM_MAX);
	if (img->bits != 8 && img->bits != 16)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: %d bits per pixel (must be 8 or 16)", what, img->bits);
	if (img->stride < (size_t)img->width)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s: stride %zu below width %d",
		                   what, img->stride, img->width);
	return SEMQR_OK;
}

/* ---- reading ------------------------------------------------------------ */

/* A scan of page 0 alone, read in one band. The data bar is kept: the result
 * is the whole stored image, whatever the vendor metadata says. */
semqr_status semqr_image_read(const char *path, semqr_image *img, semqr_error *err)
{
	if (!path || !img)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_image_read: %s is NULL",
		                   path ? "img" : "path");
	memset(img, 0, sizeof *img);
	semqr_scan *scan;
	semqr_status st =
	    semqr__scan_open(path, &(semqr_scan_options){.keep_data_bar = 1}, 1, &scan, err);
	if (st != SEMQR_OK)
		return st;
	semqr_scan_info in;
	semqr_scan_get_info(scan, &in);
	st = semqr_image_alloc(img, in.width, in.height, in.bits, err);
	if (st == SEMQR_OK)
		st = semqr_scan_read_rows(scan, 0, 0, in.height, img->pixels, img->stride, err);
	semqr_scan_close(scan);
	if (st != SEMQR_OK)
		semqr_image_free(img);
	return st;
}

/* ---- writing ------------------------------------------------------------ */

FILE *semqr__create_output(const char *path, semqr_error *err)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		semqr__fail(err, SEMQR_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
	return fp;
}

semqr_status semqr__finish_output(FILE *fp, const char *path, semqr_status status, semqr_error *err)
{
	int failed = ferror(fp);
	errno = 0;
	if (fclose(fp) != 0 || failed) {
		if (status == SEMQR_OK)
			status = semqr__fail(err, SEMQR_ERR_IO, "%s: write failed: %s", path,
			                     errno ? strerror(errno) : "stream error");
	}
	if (status != SEMQR_OK)
		remove(path);
	return status;
}

semqr_status semqr_image_write(const char *path, const semqr_image *img, semqr_error *err)
{
	if (!path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_image_write: path is NULL");
	semqr_status st = semqr__check_image(img, path, err);
	if (st != SEMQR_OK)
		return st;

	const char *base = strrchr(path, '/');
	const char *dot = strrchr(base ? base + 1 : path, '.');
	if (!dot)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "%s: no file extension (use .png, .pgm, .pbm, .tif or .tiff)",
		                   path);
	if (strcasecmp(dot, ".png") == 0)
		st = semqr__png_write(path, img, err);
	else if (strcasecmp(dot, ".pgm") == 0)
		st = semqr__pnm_write(path, img, 0, err);
	else if (strcasecmp(dot, ".pbm") == 0)
		st = semqr__pnm_write(path, img, 1, err);
	else if (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0)
		st = semqr__tiff_write(path, img, err);
	else
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "%s: unknown image extension \"%s\" (use .png, .pgm, .pbm, .tif or .tiff)",
		    path, dot);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}
