/* Simulator options: defaults (from sem-physics.json), range checks, and the
 * JSON dump that the ground truth carries so that every parameter is known. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "io/json.h"
#include "semqr/image.h"
#include "sim/sim_internal.h"

void semqr_sim_options_init(semqr_sim_options *o)
{
	*o = (semqr_sim_options){
		.seed = 1,
		.rows = 1,
		.cols = 1,
		.pitch_um = 0,
		.quiet_modules = 4,
		.width = 0,
		.height = 0,
		.payload = SEMQR_SIM_PAYLOAD_TEMPLATE,
		.payload_template = "P{plate}-R{row}-C{col}",
		.plate = 1,
		.random_length = 16,
		.payload_file = NULL,
		.chunk_length = 32,
		.version = 3,
		.ecc = SEMQR_ECC_M,
		.mask = -1,
		.mirrored = false,
		.module_nm = 49,
		.pixel_nm = 8,
		.rotation_deg = 0,
		.rotation_range_deg = 0,
		.jitter_nm = 0,

		.polarity = SEMQR_SIM_MILLED_DARK,
		.film_level = 0.5,
		.contrast = 0.3,
		.rim = 0.3,
		.rim_nm = 16,
		.texture_path = NULL,
		.texture_pixel_nm = 0,
		.texture_strength = 0.5,

		.flip_modules = 0,
		.missing_modules = 0,
		.scratches = 0,
		.scratch_width_nm = 20,
		.scratch_length_nm = 800,
		.scratch_depth = 0.6,
		.particles = 0,
		.particle_sigma_nm = 15,
		.particle_level = 1.0,

		.dwell_us = 1,
		.flyback_us = 20,
		.frames = 1,
		.frame_gap_s = 0,

		.psf_sigma_px = 1.0,
		.astig_ratio = 1.0,
		.astig_angle_deg = 0,
		.halo_weight = 0.2,
		.halo_sigma_nm = 20,
		.hv_kv = 2,

		.noise = true,
		.dose = 100,
		.beam_current_pa = 0,
		.detector_efficiency = 0.2,
		.read_noise_dn = 1.0,
		.line_noise = 0.05,
		.fast_axis_rho = 0.05,
		.offset = 0,
		.gain = 1,
		.gamma = 1,
		.bits = 8,

		.drift_nm_per_min = {8, 4},
		.drift_accel_nm_per_min2 = {0, 0},
		.jumps_per_frame = 0,
		.jump_min_px = 0.5,
		.jump_max_px = 5,
		.line_jitter_px = 0.05,
		.vibrations = 10,
		.vibration_px = 0.05,
		.vibration_min_hz = 3,
		.vibration_max_hz = 200,
		.distortion = 0,
		.line_start_px = 0,
		.line_start_decay_px = 32,

		.supersample = 4,
		.threads = 2,
		.strip_rows = 0,
		.tiled = false,
		.tile_size = 256,
		.compression = SEMQR_SIM_COMPRESS_NONE,
		.bigtiff = -1,
		.fei_metadata = true,
		.zeiss_metadata = false,
		.databar_rows = 0,
	};
}

/* Range checks, table-driven for the many plain numbers. */
typedef struct range {
	const char *name;
	size_t offset;
	double min, max;
} range;

#define R(field, lo, hi) {#field, offsetof(semqr_sim_options, field), lo, hi}

static const range double_ranges[] = {
	R(pitch_um, 0, 1e6),
	R(module_nm, 0.1, 1e5),
	R(pixel_nm, 0.01, 1e5),
	R(rotation_deg, -360, 360),
	R(rotation_range_deg, 0, 180),
	R(jitter_nm, 0, 1e6),
	R(film_level, 0.001, 1),
	R(contrast, 0, 1),
	R(rim, 0, 10),
	R(rim_nm, 0.01, 1e5),
	R(texture_pixel_nm, 0, 1e6),
	R(texture_strength, 0, 10),
	R(scratches, 0, 8),
	R(scratch_width_nm, 0, 1e5),
	R(scratch_length_nm, 0, 1e6),
	R(scratch_depth, 0, 1),
	R(particles, 0, 16),
	R(particle_sigma_nm, 0.01, 1e4),
	R(particle_level, 0, 10),
	R(dwell_us, 1e-4, 1e6),
	R(flyback_us, 0, 1e6),
	R(frame_gap_s, 0, 1e6),
	R(psf_sigma_px, 0, 20),
	R(astig_ratio, 1, 4),
	R(astig_angle_deg, -360, 360),
	R(halo_weight, 0, 1),
	R(halo_sigma_nm, 0, 1e4),
	R(hv_kv, 0, 1000),
	R(dose, 0.01, 1e9),
	R(beam_current_pa, 0, 1e9),
	R(detector_efficiency, 0, 1e3),
	R(read_noise_dn, 0, 255),
	R(line_noise, 0, 1e3),
	R(fast_axis_rho, 0, 0.99),
	R(offset, -10, 10),
	R(gain, 0, 1e3),
	R(gamma, 0.1, 10),
	R(jumps_per_frame, 0, 16),
	R(jump_min_px, 0, 1e4),
	R(jump_max_px, 0, 1e4),
	R(line_jitter_px, 0, 100),
	R(vibration_px, 0, 100),
	R(vibration_min_hz, 0.001, 1e9),
	R(vibration_max_hz, 0.001, 1e9),
	R(distortion, -0.2, 0.2),
	R(line_start_px, -100, 100),
	R(line_start_decay_px, 0.01, 1e6),
};

static const range int_ranges[] = {
	R(quiet_modules, 0, 100),
	R(width, 0, SEMQR_IMAGE_DIM_MAX),
	R(height, 0, SEMQR_IMAGE_DIM_MAX),
	R(plate, -1000000000, 1000000000),
	R(random_length, 0, SIM_PAYLOAD_MAX),
	R(chunk_length, 1, SIM_PAYLOAD_MAX),
	R(version, SEMQR_VERSION_MIN, SEMQR_VERSION_MAX),
	R(mask, -1, 7),
	R(flip_modules, 0, 1000),
	R(missing_modules, 0, 1000),
	R(frames, 1, 4096),
	R(vibrations, 0, SEMQR_SIM_VIBRATION_MAX),
	R(supersample, 1, 16),
	R(threads, 1, 64),
	R(strip_rows, 0, 65536),
	R(tile_size, 16, 65536),
	R(bigtiff, -1, 1),
	R(databar_rows, 0, 4096),
};

#undef R

bool semqr_sim_option_range(size_t offset, double *min, double *max)
{
	const range *tables[2] = {double_ranges, int_ranges};
	size_t counts[2] = {sizeof double_ranges / sizeof double_ranges[0],
	                    sizeof int_ranges / sizeof int_ranges[0]};
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < counts[t]; i++)
			if (tables[t][i].offset == offset) {
				*min = tables[t][i].min;
				*max = tables[t][i].max;
				return true;
			}
	return false;
}

semqr_status semqr__sim_check_options(const semqr_sim_options *o, semqr_error *err)
{
	const semqr_status bad = SEMQR_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < sizeof double_ranges / sizeof double_ranges[0]; i++) {
		const range *r = &double_ranges[i];
		double v = *(const double *)((const char *)o + r->offset);
		if (!isfinite(v) || v < r->min || v > r->max)
			return semqr__fail(err, bad, "simulate: option %s = %g is outside [%g, %g]",
			                   r->name, v, r->min, r->max);
	}
	for (size_t i = 0; i < sizeof int_ranges / sizeof int_ranges[0]; i++) {
		const range *r = &int_ranges[i];
		int v = *(const int *)((const char *)o + r->offset);
		if (v < r->min || v > r->max)
			return semqr__fail(err, bad, "simulate: option %s = %d is outside [%g, %g]",
			                   r->name, v, r->min, r->max);
	}
	for (int k = 0; k < 2; k++)
		if (!isfinite(o->drift_nm_per_min[k]) || fabs(o->drift_nm_per_min[k]) > 1e6 ||
		    !isfinite(o->drift_accel_nm_per_min2[k]) ||
		    fabs(o->drift_accel_nm_per_min2[k]) > 1e6)
			return semqr__fail(err, bad, "simulate: drift %c component is not a finite "
			                   "rate within +-1e6 nm per minute (or per minute squared)",
			                   "xy"[k]);
	if (o->rows > 100000 || o->cols > 100000)
		return semqr__fail(err, bad, "simulate: grid %d x %d is larger than 100000 x 100000",
		                   o->rows, o->cols);
	if ((o->rows >= 0) != (o->cols >= 0) || (o->rows == 0) != (o->cols == 0))
		return semqr__fail(err, bad, "simulate: rows %d and cols %d must be both positive, "
		                   "both 0 (fill the image) or both negative (no symbol)",
		                   o->rows, o->cols);
	if (o->rows == 0 && (o->width == 0 || o->height == 0))
		return semqr__fail(err, bad, "simulate: filling the image with symbols (rows = cols "
		                   "= 0) needs width and height");
	if (o->rows < 0 && (o->width == 0 || o->height == 0))
		return semqr__fail(err, bad, "simulate: an image without symbols needs width and "
		                   "height");
	if ((unsigned)o->ecc > SEMQR_ECC_H)
		return semqr__fail(err, bad, "simulate: ecc %d is not a level (0..3 for L, M, Q, H)",
		                   (int)o->ecc);
	if ((unsigned)o->polarity > SEMQR_SIM_MILLED_BRIGHT)
		return semqr__fail(err, bad, "simulate: polarity %d is neither milled-dark nor "
		                   "milled-bright", (int)o->polarity);
	if ((unsigned)o->payload > SEMQR_SIM_PAYLOAD_FILE)
		return semqr__fail(err, bad, "simulate: payload kind %d is unknown", (int)o->payload);
	if (o->payload == SEMQR_SIM_PAYLOAD_TEMPLATE && !o->payload_template)
		return semqr__fail(err, bad, "simulate: template payloads need a template");
	if (o->payload == SEMQR_SIM_PAYLOAD_FILE && !o->payload_file)
		return semqr__fail(err, bad, "simulate: file payloads need a payload file");
	if ((unsigned)o->compression > SEMQR_SIM_COMPRESS_DEFLATE)
		return semqr__fail(err, bad, "simulate: compression %d is unknown",
		                   (int)o->compression);
	if (o->bits != 8 && o->bits != 16)
		return semqr__fail(err, bad, "simulate: bits %d is neither 8 nor 16", o->bits);
	if (o->tile_size % 16)
		return semqr__fail(err, bad, "simulate: tile size %d is not a multiple of 16 (TIFF "
		                   "requires it)", o->tile_size);
	if (o->jump_min_px > o->jump_max_px)
		return semqr__fail(err, bad, "simulate: jump_min_px %g exceeds jump_max_px %g",
		                   o->jump_min_px, o->jump_max_px);
	if (o->vibration_min_hz > o->vibration_max_hz)
		return semqr__fail(err, bad, "simulate: vibration_min_hz %g exceeds "
		                   "vibration_max_hz %g", o->vibration_min_hz, o->vibration_max_hz);
	return SEMQR_OK;
}

static void key(FILE *f, const char *name, int *first)
{
	fprintf(f, "%s\n    \"%s\": ", *first ? "" : ",", name);
	*first = 0;
}

void semqr__sim_json_number(FILE *f, double v)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	fputs(buf, f);
}

static void json_opt_string(FILE *f, const char *s)
{
	if (s)
		semqr__json_cstring(f, s);
	else
		fputs("null", f);
}

void semqr__sim_options_json(FILE *f, const semqr_sim_options *o)
{
	static const char *const payloads[] = {"template", "random", "file"};
	static const char *const compressions[] = {"none", "lzw", "deflate"};
	int first = 1;
	fputc('{', f);
	key(f, "seed", &first);
	fprintf(f, "%llu", (unsigned long long)o->seed);
	key(f, "rows", &first);
	fprintf(f, "%d", o->rows);
	key(f, "cols", &first);
	fprintf(f, "%d", o->cols);
	key(f, "payload", &first);
	fprintf(f, "\"%s\"", payloads[o->payload]);
	key(f, "payload_template", &first);
	json_opt_string(f, o->payload_template);
	key(f, "payload_file", &first);
	json_opt_string(f, o->payload_file);
	key(f, "ecc", &first);
	fprintf(f, "\"%s\"", semqr_ecc_name(o->ecc));
	key(f, "mirrored", &first);
	fputs(o->mirrored ? "true" : "false", f);
	key(f, "polarity", &first);
	fputs(o->polarity == SEMQR_SIM_MILLED_DARK ? "\"milled-dark\"" : "\"milled-bright\"", f);
	key(f, "texture_path", &first);
	json_opt_string(f, o->texture_path);
	key(f, "noise", &first);
	fputs(o->noise ? "true" : "false", f);
	key(f, "bits", &first);
	fprintf(f, "%d", o->bits);
	key(f, "drift_nm_per_min", &first);
	fputc('[', f);
	semqr__sim_json_number(f, o->drift_nm_per_min[0]);
	fputs(", ", f);
	semqr__sim_json_number(f, o->drift_nm_per_min[1]);
	fputc(']', f);
	key(f, "drift_accel_nm_per_min2", &first);
	fputc('[', f);
	semqr__sim_json_number(f, o->drift_accel_nm_per_min2[0]);
	fputs(", ", f);
	semqr__sim_json_number(f, o->drift_accel_nm_per_min2[1]);
	fputc(']', f);
	key(f, "tiled", &first);
	fputs(o->tiled ? "true" : "false", f);
	key(f, "compression", &first);
	fprintf(f, "\"%s\"", compressions[o->compression]);
	key(f, "fei_metadata", &first);
	fputs(o->fei_metadata ? "true" : "false", f);
	key(f, "zeiss_metadata", &first);
	fputs(o->zeiss_metadata ? "true" : "false", f);
	for (size_t i = 0; i < sizeof int_ranges / sizeof int_ranges[0]; i++) {
		key(f, int_ranges[i].name, &first);
		fprintf(f, "%d", *(const int *)((const char *)o + int_ranges[i].offset));
	}
	for (size_t i = 0; i < sizeof double_ranges / sizeof double_ranges[0]; i++) {
		key(f, double_ranges[i].name, &first);
		semqr__sim_json_number(f, *(const double *)((const char *)o + double_ranges[i].offset));
	}
	fputs("\n  }", f);
}
