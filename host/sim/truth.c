/* Ground truth: what the simulated image shows, as JSON.
 *
 * For every symbol (grid order, row by row): its payload as text and hex,
 * version, level, mask, pose, damage, and in every frame the image positions
 * of the four corners of its module grid, found by inverting the scan's
 * mapping (semqr__sim_locate), so drift, jumps, vibration, jitter and
 * distortion are included. Symbols are made one at a time: memory does not
 * grow with the plate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/json.h"
#include "semqr/semqr.h"
#include "sim/sim_internal.h"

#define num semqr__sim_json_number

static void int_list(FILE *f, const int *v, int n)
{
	fputc('[', f);
	for (int i = 0; i < n; i++)
		fprintf(f, i ? ", %d" : "%d", v[i]);
	fputc(']', f);
}

static void write_derived(FILE *f, const semqr__sim *sim)
{
	fputs("{\n    \"dose_quanta_on_film\": ", f);
	num(f, sim->dose);
	fputs(",\n    \"line_time_s\": ", f);
	num(f, sim->line_time_s);
	fputs(",\n    \"frame_time_s\": ", f);
	num(f, sim->frame_time_s);
	fputs(",\n    \"frame_period_s\": ", f);
	num(f, sim->frame_period_s);
	fprintf(f, ",\n    \"grid\": [%d, %d],\n    \"pitch_nm\": ", sim->rows, sim->cols);
	num(f, sim->pitch_nm);
	fputs(",\n    \"origin_nm\": [", f);
	num(f, sim->origin_x_nm);
	fputs(", ", f);
	num(f, sim->origin_y_nm);
	fputs("],\n    \"module_px\": ", f);
	num(f, sim->o.module_nm / sim->o.pixel_nm);
	fprintf(f, ",\n    \"probe_radius_px\": %d,\n    \"vibrations\": [", sim->pad);
	for (int k = 0; k < sim->vibrations; k++) {
		const sim_vibration *v = &sim->vib[k];
		fputs(k ? ",\n      {\"freq_hz\": " : "\n      {\"freq_hz\": ", f);
		num(f, v->freq_hz);
		fputs(", \"amp_px\": ", f);
		num(f, v->amp_px);
		fputs(", \"dir\": [", f);
		num(f, v->dir_x);
		fputs(", ", f);
		num(f, v->dir_y);
		fputs("], \"phase_rad\": ", f);
		num(f, v->phase);
		fputc('}', f);
	}
	fputs("],\n    \"jumps\": [", f);
	for (int k = 0; k < sim->jumps; k++) {
		const sim_jump *j = &sim->jump[k];
		fprintf(f, "%s{\"frame\": %d, \"t_s\": ", k ? ",\n      " : "\n      ", j->frame);
		num(f, j->t);
		fputs(", \"shift_px\": [", f);
		num(f, j->dx);
		fputs(", ", f);
		num(f, j->dy);
		fputs("]}", f);
	}
	fputs("]\n  }", f);
}

static void write_symbol(FILE *f, const semqr__sim *sim, const sim_symbol *s, int first)
{
	const semqr_sim_options *o = &sim->o;
	fprintf(f, "%s\n    {\"index\": %ld, \"row\": %d, \"col\": %d, \"payload\": ",
	        first ? "" : ",", s->index, s->row, s->col);
	semqr__json_string(f, s->payload, s->payload_len);
	fputs(", \"payload_hex\": ", f);
	semqr__json_hex(f, s->payload, s->payload_len);
	fprintf(f, ", \"version\": %d, \"level\": \"%s\", \"mask\": %d, \"mirrored\": %s,\n"
	        "     \"module_nm\": ", s->version, semqr_ecc_name(s->ecc), s->mask,
	        o->mirrored ? "true" : "false");
	num(f, o->module_nm);
	fputs(", \"module_px\": ", f);
	num(f, o->module_nm / o->pixel_nm);
	fputs(", \"center_nm\": [", f);
	num(f, s->cx);
	fputs(", ", f);
	num(f, s->cy);
	fputs("], \"rotation_deg\": ", f);
	num(f, s->angle * 180 / SIM_PI);
	fputs(",\n     \"corners\": [", f);
	int inside = 1;
	for (int fr = 0; fr < o->frames; fr++) {
		fputs(fr ? ", [" : "[", f);
		for (int k = 0; k < 4; k++) {
			static const int mx[4] = {0, 1, 1, 0}, my[4] = {0, 0, 1, 1};
			double qx, qy, x, y;
			semqr__sim_module_to_scene(sim, s, mx[k] * s->size, my[k] * s->size, &qx, &qy);
			semqr__sim_locate(sim, fr, qx, qy, &x, &y);
			if (x < 0 || y < 0 || x > sim->width || y > sim->height)
				inside = 0;
			fputs(k ? ", [" : "[", f);
			num(f, x);
			fputs(", ", f);
			num(f, y);
			fputc(']', f);
		}
		fputc(']', f);
	}
	fprintf(f, "],\n     \"inside\": %s, \"flipped\": ", inside ? "true" : "false");
	int_list(f, s->flipped, s->nflipped);
	fputs(", \"missing\": ", f);
	int_list(f, s->missing, s->nmissing);
	fprintf(f, ", \"particles\": %d, \"scratches\": %d}", s->nparticles, s->nscratches);
}

semqr_status semqr__sim_write_truth(const semqr__sim *sim, const char *path, semqr_error *err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot create the ground truth file", path);
	fprintf(f, "{\n  \"generator\": \"semqr simulate %s\",\n", SEMQR_VERSION_STRING);
	fprintf(f, "  \"image\": {\"width\": %d, \"height\": %d, \"frames\": %d, \"bits\": %d, "
	        "\"databar_rows\": %d, \"pixel_nm\": ", sim->width, sim->height, sim->o.frames,
	        sim->o.bits, sim->o.databar_rows);
	num(f, sim->o.pixel_nm);
	fputs("},\n  \"coordinates\": \"image pixel (x, y) covers [x, x+1) x [y, y+1); corners "
	      "are the points of the image where module corners (0,0), (size,0), (size,size), "
	      "(0,size) of the symbol's own matrix (x right, y down; finders at the first three) "
	      "were sampled, one list per frame\",\n  \"options\": ", f);
	semqr__sim_options_json(f, &sim->o);
	fputs(",\n  \"derived\": ", f);
	write_derived(f, sim);
	fprintf(f, ",\n  \"symbol_count\": %ld,\n  \"symbols\": [", sim->symbols);

	semqr_status st = SEMQR_OK;
	sim_symbol *s = calloc(1, sizeof *s);
	semqr_symbol *scratch = malloc(sizeof *scratch);
	if (!s || !scratch)
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for a symbol", path);
	for (int r = 0; r < sim->rows && st == SEMQR_OK; r++)
		for (int c = 0; c < sim->cols && st == SEMQR_OK; c++) {
			st = semqr__sim_symbol_make(sim, r, c, s, scratch, err);
			if (st == SEMQR_OK)
				write_symbol(f, sim, s, r == 0 && c == 0);
		}
	fputs("\n  ]\n}\n", f);
	if (s)
		semqr__sim_symbol_free(s);
	free(s);
	free(scratch);
	if ((ferror(f) | fclose(f)) && st == SEMQR_OK)
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: writing the ground truth failed", path);
	if (st != SEMQR_OK)
		remove(path);
	return st;
}

semqr_status semqr_sim_write_truth(const semqr_sim_options *opts, const char *path,
                                   semqr_error *err)
{
	if (!path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "simulate: no truth path");
	semqr__sim sim;
	semqr_status st = semqr__sim_prepare(opts, &sim, err);
	if (st != SEMQR_OK)
		return st;
	st = semqr__sim_write_truth(&sim, path, err);
	semqr__sim_release(&sim);
	return st;
}
