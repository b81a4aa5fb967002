/* TIFF writing through libtiff: uncompressed 8 or 16-bit grey (MinIsBlack),
 * strips of at most 64 KiB. libtiff writes to its own duplicate of the
 * output's descriptor, with per-handle message capture (semqr__tiff_open). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "common/error_internal.h"
#include "io/io_internal.h"

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
	semqr__tiff_log log = {.path = path, .error = ""};
	TIFF *tif = semqr__tiff_open(fd, path, "w", 0, &log);
	if (!tif) {
		close(fd);
		return semqr__finish_output(fp, path,
		                            semqr__fail(err, SEMQR_ERR_IO,
		                                        "%s: cannot start a TIFF (libtiff: %s)",
		                                        path, semqr__tiff_why(&log)),
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
		                 semqr__tiff_why(&log));
	else if (!row)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: cannot allocate a row", path);
	for (int y = 0; st == SEMQR_OK && y < img->height; y++) {
		memcpy(row,
		       (const uint8_t *)img->pixels +
		           (size_t)y * img->stride * (size_t)img->bits / 8,
		       rowbytes);
		if (TIFFWriteScanline(tif, row, (uint32_t)y, 0) < 0)
			st = semqr__fail(err, SEMQR_ERR_IO, "%s: row %d: %s", path, y,
			                 semqr__tiff_why(&log));
	}
	if (st == SEMQR_OK && !TIFFFlush(tif))
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: cannot write TIFF (libtiff: %s)", path,
		                 semqr__tiff_why(&log));
	free(row);
	TIFFClose(tif);
	return semqr__finish_output(fp, path, st, err);
}
