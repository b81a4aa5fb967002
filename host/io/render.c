/* Symbols to pixels: rendering a symbol as an 8-bit image. */
#include "common/error_internal.h"
#include "io/io_internal.h"

semqr_status semqr__check_symbol(const semqr_symbol *s, int quiet, semqr_error *err)
{
	if (!s)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "symbol is NULL");
	if (s->version < SEMQR_VERSION_MIN || s->version > SEMQR_VERSION_MAX ||
	    s->size != 17 + 4 * s->version)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "symbol has version %d and size %d (need version 1..40, size 17+4v)",
		    s->version, s->size);
	if (quiet < 0 || quiet > (SEMQR_IMAGE_DIM_MAX - s->size) / 2)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "quiet zone %d outside 0..%d (at most %d modules per side)",
		                   quiet, (SEMQR_IMAGE_DIM_MAX - s->size) / 2, SEMQR_IMAGE_DIM_MAX);
	return SEMQR_OK;
}

semqr_status semqr_render(const semqr_symbol *s, int quiet, int scale, semqr_image *out,
                          semqr_error *err)
{
	if (!out)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "semqr_render: out is NULL");
	semqr_status st = semqr__check_symbol(s, quiet, err);
	if (st != SEMQR_OK)
		return st;
	long long side = ((long long)s->size + 2LL * quiet) * scale;
	if (scale < 1 || side > SEMQR_IMAGE_DIM_MAX)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "semqr_render: scale %d with quiet zone %d gives %lld pixels per side "
		    "(need scale >= 1 and at most %d pixels)",
		    scale, quiet, side, SEMQR_IMAGE_DIM_MAX);
	st = semqr_image_alloc(out, (int)side, (int)side, 8, err);
	if (st != SEMQR_OK)
		return st;
	for (int y = 0; y < out->height; y++) {
		int my = y / scale - quiet;
		for (int x = 0; x < out->width; x++) {
			int mx = x / scale - quiet;
			int dark = mx >= 0 && my >= 0 && mx < s->size && my < s->size &&
			           s->modules[my * s->size + mx];
			semqr__set_pixel(out, x, y, dark ? 0 : 255);
		}
	}
	return SEMQR_OK;
}
