/* Grey images: allocation, and reading and writing files by dispatching to the
 * format's reader (chosen by the file's first bytes) or writer (chosen by the
 * path's extension). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

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

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Classic TIFF ("II*\0", "MM\0*") and BigTIFF ("II+\0", "MM\0+"). */
static int is_tiff(const uint8_t *b, size_t n)
{
	return n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
	                  (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
}

semqr_status semqr_image_read(const char *path, semqr_image *img, semqr_error *err)
{
	if (!path || !img)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_image_read: %s is NULL",
		                   path ? "img" : "path");
	memset(img, 0, sizeof *img);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

	uint8_t sig[8];
	size_t n = fread(sig, 1, sizeof sig, fp);
	semqr_status st;
	if (ferror(fp)) {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
	} else if (n == 0) {
		st = semqr__fail(err, SEMQR_ERR_FORMAT, "%s: empty file", path);
	} else if (fseek(fp, 0, SEEK_SET) != 0) {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
	} else if (n == sizeof sig && memcmp(sig, png_signature, sizeof sig) == 0) {
		st = semqr__png_read(path, fp, img, err);
	} else if (n >= 2 && sig[0] == 'P' && sig[1] >= '1' && sig[1] <= '7') {
		st = semqr__pnm_read(path, fp, img, err);
	} else if (is_tiff(sig, n)) {
		st = semqr__tiff_read(path, fp, img, err);
	} else {
		char hex[3 * 4] = "";
		for (size_t i = 0, len = 0; i < n && i < 4; i++)
			len += (size_t)snprintf(hex + len, sizeof hex - len, "%s%02x", i ? " " : "",
			                        sig[i]);
		st = semqr__fail(err, SEMQR_ERR_FORMAT,
		                 "%s: not a PNG, PGM/PBM or TIFF file (first bytes %s)", path, hex);
	}
	fclose(fp);
	if (st == SEMQR_OK)
		semqr__clear(err);
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
