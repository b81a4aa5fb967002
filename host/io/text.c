/* Symbols as text: one line per module row, '#' dark, '.' light. */
#include "common/error_internal.h"
#include "io/io_internal.h"

semqr_status semqr_write_text(const char *path, const semqr_symbol *s, int quiet, semqr_error *err)
{
	if (!path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "semqr_write_text: path is NULL");
	semqr_status st = semqr__check_symbol(s, quiet, err);
	if (st != SEMQR_OK)
		return st;
	FILE *fp = semqr__create_output(path, err);
	if (!fp)
		return SEMQR_ERR_IO;
	int side = s->size + 2 * quiet;
	for (int y = 0; y < side; y++) {
		int my = y - quiet;
		for (int x = 0; x < side; x++) {
			int mx = x - quiet;
			int dark = mx >= 0 && my >= 0 && mx < s->size && my < s->size &&
			           s->modules[my * s->size + mx];
			putc(dark ? '#' : '.', fp);
		}
		putc('\n', fp);
	}
	st = semqr__finish_output(fp, path, SEMQR_OK, err);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}
