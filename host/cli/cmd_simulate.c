/* semqr simulate: SEM scans of QR plates with ground truth. Maps each option
 * onto a field of semqr_sim_options (a table: name, field, kind, range) and
 * calls semqr_simulate. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "semqr/semqr.h"
#include "semqr/sim.h"

enum kind { K_DOUBLE, K_INT, K_TRUE, K_FALSE, K_STRING };

/* An option that sets a field. Numeric fields take the range the library
 * checks (semqr_sim_option_range); the few the library checks by other
 * rules carry their own here (own_range). */
typedef struct field {
	const char *name;
	enum kind kind;
	size_t offset;
	int own_range;
	double min, max;
	const char *help;
} field;

#define F(name, kind, member, help) {name, kind, offsetof(semqr_sim_options, member), 0, 0, 0, help}
#define FR(name, kind, member, lo, hi, help) \
	{name, kind, offsetof(semqr_sim_options, member), 1, lo, hi, help}

static const field fields[] = {
	FR("cols", K_INT, cols, -1, 100000, "symbols per grid row (with --rows; see --grid)"),
	FR("rows", K_INT, rows, -1, 100000, "grid rows (0 x 0 fills --width x --height; -1 x -1: none)"),
	F("pitch-um", K_DOUBLE, pitch_um, "grid pitch in um (0: smallest that fits)"),
	F("quiet-modules", K_INT, quiet_modules, "quiet zone for the automatic pitch (4)"),
	F("width", K_INT, width, "image width in pixels (0: the grid's)"),
	F("height", K_INT, height, "image height in pixels (0: the grid's)"),
	F("template", K_STRING, payload_template, "payload template (P{plate}-R{row}-C{col})"),
	F("plate", K_INT, plate, "value of {plate} (1)"),
	F("random-bytes", K_INT, random_length, "random payloads of N bytes"),
	F("payload-file", K_STRING, payload_file, "payloads: consecutive chunks of FILE"),
	F("chunk", K_INT, chunk_length, "bytes per chunk of --payload-file (32)"),
	F("version", K_INT, version, "symbol version (3)"),
	F("mask", K_INT, mask, "mask 0-7 (-1: encoder's choice)"),
	F("mirrored", K_TRUE, mirrored, "render the matrices transposed"),
	F("module-nm", K_DOUBLE, module_nm, "module pitch in nm (49)"),
	F("pixel-nm", K_DOUBLE, pixel_nm, "pixel size in nm (8)"),
	F("rotation", K_DOUBLE, rotation_deg, "rotation in degrees (0)"),
	F("rotation-range", K_DOUBLE, rotation_range_deg, "plus uniform +-range (180: any)"),
	F("jitter-nm", K_DOUBLE, jitter_nm, "uniform position jitter per axis (0)"),
	F("film-level", K_DOUBLE, film_level, "film brightness, fraction of full scale (0.5)"),
	F("contrast", K_DOUBLE, contrast, "milled = film * (1 -+ contrast) (0.3)"),
	F("rim", K_DOUBLE, rim, "bright rim amplitude, film units (0.3)"),
	F("rim-nm", K_DOUBLE, rim_nm, "rim decay length (16)"),
	F("texture", K_STRING, texture_path, "real SEM image as background texture"),
	F("texture-pixel-nm", K_DOUBLE, texture_pixel_nm, "its pixel size (0: --pixel-nm)"),
	F("texture-strength", K_DOUBLE, texture_strength, "texture modulation (0.5)"),
	F("flip", K_INT, flip_modules, "data modules flipped per symbol (0)"),
	F("missing", K_INT, missing_modules, "grey data modules per symbol, one patch (0)"),
	F("scratches", K_DOUBLE, scratches, "mean scratches per symbol (0)"),
	F("scratch-width-nm", K_DOUBLE, scratch_width_nm, "(20)"),
	F("scratch-length-nm", K_DOUBLE, scratch_length_nm, "(800)"),
	F("scratch-depth", K_DOUBLE, scratch_depth, "brightness *= 1 - depth (0.6)"),
	F("particles", K_DOUBLE, particles, "mean bright particles per symbol (0)"),
	F("particle-sigma-nm", K_DOUBLE, particle_sigma_nm, "(15)"),
	F("particle-level", K_DOUBLE, particle_level, "peak, film units (1)"),
	F("dwell-us", K_DOUBLE, dwell_us, "pixel dwell time (1)"),
	F("flyback-us", K_DOUBLE, flyback_us, "line flyback time (20)"),
	F("frames", K_INT, frames, "frames of the same field, one page each (1)"),
	F("frame-gap-s", K_DOUBLE, frame_gap_s, "pause between frames (0)"),
	F("psf-sigma", K_DOUBLE, psf_sigma_px, "probe core sigma in pixels (1)"),
	F("astig-ratio", K_DOUBLE, astig_ratio, "core sigma ratio, >= 1 (1)"),
	F("astig-angle", K_DOUBLE, astig_angle_deg, "wide axis direction, degrees (0)"),
	F("halo-weight", K_DOUBLE, halo_weight, "signal fraction in the halo (0.2)"),
	F("halo-nm", K_DOUBLE, halo_sigma_nm, "halo sigma (20; 95 at 5 kV)"),
	F("hv-kv", K_DOUBLE, hv_kv, "accelerating voltage for the metadata (2)"),
	F("no-noise", K_FALSE, noise, "expected values only"),
	F("dose", K_DOUBLE, dose, "detected quanta per pixel on the film (100)"),
	F("beam-pa", K_DOUBLE, beam_current_pa, "dose from beam current, dwell, efficiency"),
	F("efficiency", K_DOUBLE, detector_efficiency, "quanta per primary electron (0.2)"),
	F("read-noise", K_DOUBLE, read_noise_dn, "read noise, 8-bit grey levels (1)"),
	F("line-noise", K_DOUBLE, line_noise, "line offset std / film shot noise (0.05)"),
	F("rho", K_DOUBLE, fast_axis_rho, "noise correlation along lines (0.05)"),
	F("offset", K_DOUBLE, offset, "output offset, full scale (0)"),
	F("gain", K_DOUBLE, gain, "output gain (1)"),
	F("gamma", K_DOUBLE, gamma, "output gamma (1)"),
	FR("bits", K_INT, bits, 8, 16, "8 or 16 (8)"),
	F("jumps", K_DOUBLE, jumps_per_frame, "mean charging jumps per frame (0)"),
	F("jump-min-px", K_DOUBLE, jump_min_px, "(0.5)"),
	F("jump-max-px", K_DOUBLE, jump_max_px, "(5)"),
	F("line-jitter", K_DOUBLE, line_jitter_px, "line shift std in pixels (0.05)"),
	F("vibrations", K_INT, vibrations, "sinusoids (10)"),
	F("vibration-px", K_DOUBLE, vibration_px, "largest amplitude (0.05)"),
	F("vibration-min-hz", K_DOUBLE, vibration_min_hz, "(3)"),
	F("vibration-max-hz", K_DOUBLE, vibration_max_hz, "(200)"),
	F("distortion", K_DOUBLE, distortion, "radial warp k (0)"),
	F("line-start-px", K_DOUBLE, line_start_px, "shift at line start (0)"),
	F("line-start-decay-px", K_DOUBLE, line_start_decay_px, "(32)"),
	F("supersample", K_INT, supersample, "n x n samples per pixel (4)"),
	F("threads", K_INT, threads, "worker threads (2)"),
	F("strip-rows", K_INT, strip_rows, "rows per strip (0: automatic)"),
	F("tiled", K_TRUE, tiled, "write tiles instead of strips"),
	F("tile-size", K_INT, tile_size, "tile side, multiple of 16 (256)"),
	F("bigtiff", K_INT, bigtiff, "-1 automatic, 0 never, 1 always (-1)"),
	F("no-fei", K_FALSE, fei_metadata, "omit the FEI metadata (tag 34682)"),
	F("zeiss", K_TRUE, zeiss_metadata, "add Zeiss metadata (tag 34118)"),
	F("databar", K_INT, databar_rows, "data bar rows below the image (0)"),
};

#undef F
#undef FR

/* Options that are not a plain field. */
enum {
	OPT_FIELD = 1000,
	OPT_GRID = 2000, OPT_SEED, OPT_LEVEL, OPT_POLARITY, OPT_DRIFT, OPT_ACCEL, OPT_COMPRESS,
	OPT_TRUTH, OPT_NO_TRUTH
};

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr simulate [OPTIONS] -o SCAN.tif\n"
	"Renders QR symbols as an SEM scans them (drift, vibration, probe, shot noise) into a\n"
	"TIFF, and its ground truth into SCAN.json. Defaults follow sem-physics.json: version\n"
	"3-M, 49 nm modules, 8 nm pixels, 1 us dwell, 100 quanta per pixel.\n\n"
	"  -o, --output FILE       the TIFF to write\n"
	"      --truth FILE        ground truth path (default: the output with .json)\n"
	"      --no-truth          do not write the ground truth\n"
	"      --seed N            random seed (1)\n"
	"      --grid RxC          grid of R rows and C columns of symbols (1x1)\n"
	"  -l, --level L|M|Q|H     error-correction level (M)\n"
	"      --polarity dark|bright  milled modules darker (default) or brighter\n"
	"      --drift X,Y         linear drift in nm per minute (8,4)\n"
	"      --drift-accel X,Y   drift change in nm per minute squared (0,0)\n"
	"      --compression none|lzw|deflate\n");
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const field *d = &fields[i];
		char left[64];
		snprintf(left, sizeof left, "--%s%s", d->name,
		         d->kind == K_DOUBLE ? " X" : d->kind == K_INT ? " N"
		         : d->kind == K_STRING ? " S" : "");
		/* Names longer than the column get their help on the next line. */
		if (strlen(left) < 20)
			fprintf(f, "      %-20s%s\n", left, d->help);
		else
			fprintf(f, "      %s\n      %-20s%s\n", left, "", d->help);
	}
	fprintf(f, "  -h, --help              show this help\n");
}

static int parse_pair(const char *opt, const char *s, double out[2])
{
	char *end;
	errno = 0;
	double a = strtod(s, &end);
	if (errno || end == s || *end != ',')
		goto bad;
	const char *t = end + 1;
	double b = strtod(t, &end);
	if (errno || end == t || *end)
		goto bad;
	out[0] = a;
	out[1] = b;
	return 0;
bad:
	fprintf(stderr, "semqr simulate: %s expects X,Y (two numbers), not '%s'\n", opt, s);
	return -1;
}

static int set_field(semqr_sim_options *o, const field *d, const char *arg)
{
	char opt[64];
	snprintf(opt, sizeof opt, "--%s", d->name);
	char *p = (char *)o + d->offset;
	double lo = d->min, hi = d->max;
	if ((d->kind == K_DOUBLE || d->kind == K_INT) && !d->own_range &&
	    !semqr_sim_option_range(d->offset, &lo, &hi)) {
		fprintf(stderr, "semqr simulate: %s: the library gives no range for it\n", opt);
		return -1;
	}
	switch (d->kind) {
	case K_DOUBLE:
		return cli_parse_double("simulate", opt, arg, lo, hi, (double *)(void *)p);
	case K_INT:
		return cli_parse_int("simulate", opt, arg, (long)lo, (long)hi, (int *)(void *)p);
	case K_TRUE:
		*(bool *)p = true;
		return 0;
	case K_FALSE:
		*(bool *)p = false;
		return 0;
	case K_STRING:
		*(const char **)(void *)p = arg;
		if (d->offset == offsetof(semqr_sim_options, payload_template))
			o->payload = SEMQR_SIM_PAYLOAD_TEMPLATE;
		return 0;
	}
	return 0;
}

static int parse_special(semqr_sim_options *o, int c, const char *arg)
{
	switch (c) {
	case OPT_GRID: {
		int r, k, n = 0;
		if (sscanf(arg, "%dx%d%n", &r, &k, &n) != 2 || arg[n] || r < 1 || k < 1 ||
		    r > 100000 || k > 100000) {
			fprintf(stderr, "semqr simulate: --grid expects RxC with R, C from 1 to 100000, "
			                "not '%s'\n", arg);
			return -1;
		}
		o->rows = r;
		o->cols = k;
		return 0;
	}
	case OPT_SEED: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-') {
			fprintf(stderr, "semqr simulate: --seed expects a whole number >= 0, not '%s'\n",
			        arg);
			return -1;
		}
		o->seed = v;
		return 0;
	}
	case OPT_LEVEL: {
		static const char names[] = "LMQH";
		if (arg[0] && !arg[1])
			for (int i = 0; i < 4; i++)
				if ((arg[0] & ~0x20) == names[i]) {
					o->ecc = (semqr_ecc)i;
					return 0;
				}
		fprintf(stderr, "semqr simulate: --level expects L, M, Q or H, not '%s'\n", arg);
		return -1;
	}
	case OPT_POLARITY:
		if (!strcasecmp(arg, "dark") || !strcasecmp(arg, "bright")) {
			o->polarity = !strcasecmp(arg, "dark") ? SEMQR_SIM_MILLED_DARK
			                                       : SEMQR_SIM_MILLED_BRIGHT;
			return 0;
		}
		fprintf(stderr, "semqr simulate: --polarity expects dark or bright, not '%s'\n", arg);
		return -1;
	case OPT_DRIFT:
		return parse_pair("--drift", arg, o->drift_nm_per_min);
	case OPT_ACCEL:
		return parse_pair("--drift-accel", arg, o->drift_accel_nm_per_min2);
	case OPT_COMPRESS: {
		static const char *const names[] = {"none", "lzw", "deflate"};
		for (int i = 0; i < 3; i++)
			if (!strcasecmp(arg, names[i])) {
				o->compression = (semqr_sim_compression)i;
				return 0;
			}
		fprintf(stderr, "semqr simulate: --compression expects none, lzw or deflate, "
		                "not '%s'\n", arg);
		return -1;
	}
	}
	return -1;
}

/* SCAN.tif -> SCAN.json (the extension replaced, or .json appended). */
static char *truth_path_for(const char *out)
{
	const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
	size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - out) : strlen(out);
	char *p = malloc(stem + 6);
	if (p)
		snprintf(p, stem + 6, "%.*s.json", (int)stem, out);
	return p;
}

int semqr_cmd_simulate(int argc, char **argv)
{
	enum { NFIELDS = sizeof fields / sizeof fields[0] };
	static struct option longopts[NFIELDS + 16];
	static const struct option special[] = {
		{"output", required_argument, NULL, 'o'},
		{"truth", required_argument, NULL, OPT_TRUTH},
		{"no-truth", no_argument, NULL, OPT_NO_TRUTH},
		{"seed", required_argument, NULL, OPT_SEED},
		{"grid", required_argument, NULL, OPT_GRID},
		{"level", required_argument, NULL, OPT_LEVEL},
		{"polarity", required_argument, NULL, OPT_POLARITY},
		{"drift", required_argument, NULL, OPT_DRIFT},
		{"drift-accel", required_argument, NULL, OPT_ACCEL},
		{"compression", required_argument, NULL, OPT_COMPRESS},
		{"help", no_argument, NULL, 'h'},
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		longopts[n++] = special[i];
	for (size_t i = 0; i < NFIELDS; i++) {
		int arg = fields[i].kind == K_TRUE || fields[i].kind == K_FALSE ? no_argument
		                                                                 : required_argument;
		longopts[n++] = (struct option){fields[i].name, arg, NULL, OPT_FIELD + (int)i};
	}
	longopts[n] = (struct option){0};

	semqr_sim_options o;
	semqr_sim_options_init(&o);
	const char *out = NULL, *truth = NULL;
	int no_truth = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			if (parse_special(&o, OPT_LEVEL, optarg))
				return 2;
			break;
		case OPT_TRUTH:
			truth = optarg;
			break;
		case OPT_NO_TRUTH:
			no_truth = 1;
			break;
		default:
			if (c >= OPT_FIELD && c < OPT_FIELD + NFIELDS) {
				const field *d = &fields[c - OPT_FIELD];
				if (set_field(&o, d, optarg))
					return 2;
				if (d->offset == offsetof(semqr_sim_options, random_length))
					o.payload = SEMQR_SIM_PAYLOAD_RANDOM;
				if (d->offset == offsetof(semqr_sim_options, payload_file))
					o.payload = SEMQR_SIM_PAYLOAD_FILE;
			} else if (c >= OPT_GRID) {
				if (parse_special(&o, c, optarg))
					return 2;
			} else {
				usage(stderr);
				return 2;
			}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "semqr simulate: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!out) {
		fprintf(stderr, "semqr simulate: -o SCAN.tif is required\n");
		return 2;
	}
	char *derived = NULL;
	if (!no_truth && !truth) {
		derived = truth_path_for(out);
		if (!derived) {
			fprintf(stderr, "semqr simulate: out of memory\n");
			return 1;
		}
		truth = derived;
	}
	semqr_error err = {0};
	semqr_status st = semqr_simulate(&o, out, no_truth ? NULL : truth, &err);
	free(derived);
	if (st != SEMQR_OK) {
		fprintf(stderr, "semqr simulate: %s\n", err.message);
		return st == SEMQR_ERR_INVALID_ARGUMENT ? 2 : 1;
	}
	return 0;
}
