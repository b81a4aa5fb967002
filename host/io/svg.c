/* Symbols as SVG at physical size.
 *
 * The viewBox is in modules, quiet zone included, with the symbol's top-left
 * module at (quiet, quiet). width and height are the physical size in
 * millimetres with 6 decimals (1 nm resolution). A white rectangle covers the
 * whole area; one black <path> holds every horizontal run of dark modules as
 * a rectangle "M x y h n v1 h -n z", one line of path data per module row. */
#include "common/error_internal.h"
#include "io/io_internal.h"

/* Largest module size accepted: one metre. */
#define MODULE_NM_MAX 1e9

semqr_status semqr_write_svg(const char *path, const semqr_symbol *s, int quiet, double module_nm,
                             semqr_error *err)
{
	if (!path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_write_svg: path is NULL");
	semqr_status st = semqr__check_symbol(s, quiet, err);
	if (st != SEMQR_OK)
		return st;
	int side = s->size + 2 * quiet;
	double side_mm = side * module_nm * 1e-6;
	if (!(module_nm > 0 && module_nm <= MODULE_NM_MAX) || side_mm < 0.5e-6)
		return semqr__fail(
		    err, SEMQR_ERR_INVALID_ARGUMENT,
		    "%s: module size %g nm outside (0, %g] or symbol under 1 nm wide", path,
		    module_nm, MODULE_NM_MAX);
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;

	fprintf(fp,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	        "width=\"%.6fmm\" height=\"%.6fmm\" viewBox=\"0 0 %d %d\" "
	        "shape-rendering=\"crispEdges\">\n"
	        "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	        "<path fill=\"#000000\" d=\"",
	        side_mm, side_mm, side, side, side, side);
	for (int y = 0; y < s->size; y++) {
		const uint8_t *row = s->modules + (size_t)y * (size_t)s->size;
		int runs = 0;
		for (int x = 0; x < s->size;) {
			if (!row[x]) {
				x++;
				continue;
			}
			int start = x;
			while (x < s->size && row[x])
				x++;
			fprintf(fp, "%sM%d %dh%dv1h-%dz", runs++ ? "" : "\n", start + quiet,
			        y + quiet, x - start, x - start);
		}
	}
	fprintf(fp, "\"/>\n</svg>\n");
	st = semqr__finish_output(fp, path, SEMQR_OK, err);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}
