/* semqr decode: images in, payloads out as JSON Lines (or raw bytes).
 * By default each file is a whole SEM scan and every symbol on it is
 * reported (semqr_decode_scan, semqr/decode.h); with --pure each file is one
 * axis-aligned synthetic symbol image. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/json.h"
#include "io/overlay.h"
#include "semqr/decode.h"
#include "semqr/semqr.h"

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr decode [OPTIONS] SCAN...\n"
	"       semqr decode --pure [OPTIONS] IMAGE...\n"
	"Decodes every QR symbol of each SEM scan (TIFF, BigTIFF, PNG, JPEG, PGM; a multi-page\n"
	"TIFF is a frame stack, registered and averaged) and prints JSON Lines.\n\n"
	"  --device SPEC      OpenCL device: \"P:D\" or a name substring (default: the\n"
	"                     SEMQR_DEVICE environment variable, else the first GPU, else\n"
	"                     the first device; see semqr info)\n"
	"  --tile N           core tile side in pixels, 64..16384 (default 2048)\n"
	"  --memory MIB       memory budget in MiB (default 1024)\n"
	"  --pixel-nm NM      pixel size, overriding the file's metadata\n"
	"  --module-nm NM     module pitch on the sample (default 49)\n"
	"  --module-px MIN,MAX  module sizes searched when the pixel size is unknown\n"
	"                     (default 3,12)\n"
	"  --max-version V    largest QR version expected, 1..40 (default 10)\n"
	"  --page N           decode page N of a stack instead of all pages combined\n"
	"  --stack MODE       how the pages of a stack are combined: register (default:\n"
	"                     each frame aligned to the first by phase correlation, then\n"
	"                     averaged) or mean (averaged as they are)\n"
	"  --frame-period-s S seconds from one frame's start to the next, for the drift\n"
	"                     velocity of a registered stack (default: the frame time in\n"
	"                     the metadata, i.e. frames back to back)\n"
	"  --line-shifts      estimate each scan line's shift along x (line jitter,\n"
	"                     charging jumps) from its neighbours and undo it first\n"
	"  --line-shift-max N largest line shift searched, 1..32 px (default 8)\n"
	"  --no-denoise       locate symbols without the module-scale denoising\n"
	"  --denoise-sigma S  Gaussian sigma of the denoising in pixels, 0.01..5, instead\n"
	"                     of the one chosen from the module size (0.24 module, or a\n"
	"                     third of the smallest searched; for comparisons)\n"
	"  --sampling MODE    module values: soft (default: mean over each module, with\n"
	"                     its reliability) or centre (one pixel per module, as other\n"
	"                     readers do; for comparison)\n"
	"  --retry-ms MS      time budget per undecoded symbol for retries with other\n"
	"                     thresholds and grid offsets, 0..60000 (default 200; 0: none)\n"
	"  --detect-scale S   auto (default), 1 or 2: with 2 each tile is binned 2 x 2\n"
	"                     before symbols are searched and located (4x fewer pixels;\n"
	"                     positions still in scan pixels); auto takes 2 when the\n"
	"                     pixel size is known, modules are at least 6 px and the\n"
	"                     scan has at least 80 quanta per pixel\n"
	"  --threads N        CPU decoder threads, 0..64 (default: one per processor,\n"
	"                     at most 16; 0 decodes between tiles on the main thread)\n"
	"  --overlay FILE.png write a downscaled picture of the scan with the symbols\n"
	"                     outlined (green decoded, red failed; one scan only)\n"
	"  --overlay-size N   longest side of the overlay picture (default 2048)\n"
	"  --pure             each image is one axis-aligned, noise-free symbol with a light\n"
	"                     quiet zone (as encoders render them); no OpenCL needed\n"
	"  --raw              with --pure: write only the payload bytes, nothing else\n"
	"  --no-mirror        do not try the mirrored (transposed) symbol\n"
	"  --no-erasures      correct errors only, never erase unreliable modules\n"
	"  --no-padding       never assume a short message's pad codewords (see \"pad_codewords\")\n"
	"  -o, --output FILE  write to FILE instead of stdout\n"
	"  -h, --help         show this help\n\n"
	"A decoded symbol gives {\"type\":\"symbol\", \"file\", \"payload\" (UTF-8 text;\n"
	"bytes that are not valid UTF-8 appear as \\u00NN), \"payload_hex\" (the exact bytes),\n"
	"\"version\", \"level\", \"mask\", \"mirrored\", \"eci\", \"segments\", \"errors\",\n"
	"\"erasures\", \"ec_unused\", \"pad_codewords\" (data codewords taken as the\n"
	"standard's padding after a short message, where the symbol decoded only with\n"
	"them; 0 otherwise; errors include those the padding corrected),\n"
	"\"structured_append\"}; for scans also \"polarity\"\n"
	"(\"dark\" or \"bright\" modules), \"corners_px\" (module corners (0,0), (size,0),\n"
	"(size,size), (0,size) as [x,y]; pixel (x,y) covers [x,x+1) x [y,y+1)),\n"
	"\"center_px\", \"center_nm\" and \"module_nm\" (null when the pixel size is\n"
	"unknown), \"module_px\", \"timing\" and \"tile\". A symbol located but not\n"
	"decoded gives {\"type\":\"failure\", \"file\", \"reason\", and the geometry};\n"
	"each scan ends with {\"type\":\"summary\"} (counts, sizes, seconds per stage,\n"
	"device, the noise measured in the scan: \"noise\" {level, sd (full scale),\n"
	"quanta_per_px}, \"denoise_sigma_px\", \"detect_scale\", \"stack\" and \"frames_integrated\"; for a\n"
	"registered stack \"frames\", each frame's drift: shift_px, shift_nm,\n"
	"shift_rms_px, start_s, and\n"
	"\"frame_period_s\", \"drift_max_px\", \"drift_px_per_min\", \"drift_nm_per_min\",\n"
	"null without a frame period or pixel size). Exit status: 0 when every scan was processed, symbols or not; 1 when\n"
	"a file could not be read or decoding failed (with --pure: an image without a\n"
	"symbol); 2 for usage errors.\n");
}

/* The fields of a decoded symbol, from ",\"payload\"" on, without the closing
 * brace. */
static void print_decoded(FILE *f, const semqr_decoded *d)
{
	fputs(",\"payload\":", f);
	if (d->text)
		semqr__json_cstring(f, d->text);
	else
		semqr__json_string(f, d->payload, d->payload_len);
	fputs(",\"payload_hex\":", f);
	semqr__json_hex(f, d->payload, d->payload_len);
	fprintf(f, ",\"version\":%d,\"level\":\"%s\",\"mask\":%d,\"mirrored\":%s", d->version,
	        semqr_ecc_name(d->ecc), d->mask, d->mirrored ? "true" : "false");
	if (d->eci >= 0)
		fprintf(f, ",\"eci\":%d", d->eci);
	else
		fputs(",\"eci\":null", f);
	fputs(",\"segments\":[", f);
	for (int i = 0; i < d->segment_count; i++) {
		const semqr_segment *s = &d->segments[i];
		fprintf(f, "%s{\"mode\":\"%s\",\"chars\":%d,\"bytes\":%zu", i ? "," : "",
		        semqr_mode_name(s->mode), s->char_count, s->length);
		if (s->eci >= 0)
			fprintf(f, ",\"eci\":%d", s->eci);
		fputc('}', f);
	}
	fprintf(f,
	        "],\"errors\":%d,\"erasures\":%d,\"ec_unused\":%.4f,\"pad_codewords\":%d,"
	        "\"format_errors\":%d",
	        d->errors_total, d->erasures_total, d->ec_unused, d->pad_codewords,
	        d->format_distance);
	if (d->structured_append)
		fprintf(f, ",\"structured_append\":{\"index\":%d,\"total\":%d,\"parity\":%d}",
		        d->sa_index, d->sa_total, d->sa_parity);
}

static void print_symbol(FILE *f, const char *file, const semqr_decoded *d)
{
	fputs("{\"type\":\"symbol\",\"file\":", f);
	semqr__json_cstring(f, file);
	print_decoded(f, d);
	fputs("}\n", f);
}

static void print_failure(FILE *f, const char *file, const char *reason)
{
	fputs("{\"type\":\"failure\",\"file\":", f);
	semqr__json_cstring(f, file);
	fputs(",\"reason\":", f);
	semqr__json_cstring(f, reason);
	fputs("}\n", f);
}

/* A message joined from structured-append symbols (semqr_sa_set_merge). */
static void print_message(void *user, const uint8_t *message, size_t len, int total, int parity)
{
	FILE *f = user;
	fputs("{\"type\":\"message\",\"payload\":", f);
	semqr__json_string(f, message, len);
	fputs(",\"payload_hex\":", f);
	semqr__json_hex(f, message, len);
	fprintf(f, ",\"symbols\":%d,\"parity\":%d}\n", total, parity);
}

/* ---- scan mode ------------------------------------------------------------ */

typedef struct scan_output {
	FILE *f;
	const char *file;
	semqr_sa_set *sa;        /* structured-append parts seen so far */
	semqr__overlay *overlay; /* NULL without --overlay */
	int overlay_failed;      /* an overlay call failed (reported once) */
	int progress;            /* draw a progress line on stderr (a terminal) */
	int height, percent;
	semqr_scan_frame *frames; /* a registered stack's frames, for the summary */
	int nframes;
} scan_output;

static void overlay_failed(scan_output *o, const semqr_error *err)
{
	if (!o->overlay_failed)
		fprintf(stderr, "semqr decode: overlay: %s\n", err->message);
	o->overlay_failed = 1;
}

/* Band hook: feeds the overlay and draws the progress line. */
static void on_band(void *user, int y0, int rows, const void *pixels, int bits, size_t stride)
{
	scan_output *o = user;
	semqr_error err;
	if (o->overlay && !o->overlay_failed &&
	    semqr__overlay_add_rows(o->overlay, y0, rows, pixels, bits, stride, &err) != SEMQR_OK)
		overlay_failed(o, &err);
	int percent = (int)(100.0 * (y0 + rows) / (o->height > 0 ? o->height : 1));
	if (o->progress && percent != o->percent) {
		fprintf(stderr, "\rsemqr decode: %s: rows read %3d%%", o->file, percent);
		fflush(stderr);
		o->percent = percent;
	}
}

/* Frame hook: keeps each frame's drift for the summary. */
static void on_frame(void *user, const semqr_scan_frame *f)
{
	scan_output *o = user;
	semqr_scan_frame *grown = realloc(o->frames, (size_t)(o->nframes + 1) * sizeof *grown);
	if (!grown) {
		fprintf(stderr, "semqr decode: %s: out of memory for the drift of frame %d\n",
		        o->file, f->page);
		return;
	}
	o->frames = grown;
	o->frames[o->nframes++] = *f;
}

static void print_point(FILE *f, const char *name, const double *p)
{
	fprintf(f, ",\"%s\":[%.3f,%.3f]", name, p[0], p[1]);
}

/* The geometry fields shared by symbols and failures. */
static void print_geometry(FILE *f, const semqr_scan_symbol *s)
{
	fprintf(f, ",\"polarity\":\"%s\",\"corners_px\":[", s->polarity ? "bright" : "dark");
	for (int k = 0; k < 4; k++)
		fprintf(f, "%s[%.3f,%.3f]", k ? "," : "", s->corners_px[k][0], s->corners_px[k][1]);
	fputc(']', f);
	print_point(f, "center_px", s->center_px);
	if (s->has_nm) {
		print_point(f, "center_nm", s->center_nm);
		fprintf(f, ",\"module_nm\":%.3f", s->module_nm);
	} else {
		fputs(",\"center_nm\":null,\"module_nm\":null", f);
	}
	fprintf(f, ",\"module_px\":%.4f,\"timing\":%.3f,\"tile\":[%d,%d]", s->module_px,
	        (double)s->timing, s->tile_col, s->tile_row);
}

static void on_symbol(void *user, const semqr_scan_symbol *s)
{
	scan_output *o = user;
	if (o->overlay && !o->overlay_failed) {
		/* The overlay takes pixel centres at integers. */
		float corners[4][2], finders[3][2];
		for (int k = 0; k < 4; k++)
			for (int c = 0; c < 2; c++)
				corners[k][c] = (float)(s->corners_px[k][c] - 0.5);
		for (int k = 0; k < 3; k++)
			for (int c = 0; c < 2; c++)
				finders[k][c] = (float)(s->finders_px[k][c] - 0.5);
		semqr_error err;
		if (semqr__overlay_symbol(o->overlay, (const float(*)[2])corners, s->decoded,
		                          (const float(*)[2])finders, &err) != SEMQR_OK)
			overlay_failed(o, &err);
	}
	fprintf(o->f, "{\"type\":\"%s\",\"file\":", s->decoded ? "symbol" : "failure");
	semqr__json_cstring(o->f, o->file);
	if (s->decoded) {
		semqr_error err;
		if (semqr_sa_set_add(o->sa, s->data, &err) != SEMQR_OK)
			fprintf(stderr, "semqr decode: %s\n", err.message);
		print_decoded(o->f, s->data);
	} else {
		fputs(",\"reason\":", o->f);
		semqr__json_cstring(o->f, s->reason);
		fprintf(o->f, ",\"version\":%d", s->version);
	}
	print_geometry(o->f, s);
	fputs("}\n", o->f);
}

static void print_pair_or_null(FILE *f, const char *name, int known, const double *v)
{
	if (known)
		fprintf(f, ",\"%s\":[%.4f,%.4f]", name, v[0], v[1]);
	else
		fprintf(f, ",\"%s\":null", name);
}

/* The stack fields of the summary: how the pages were combined, and for a
 * registered stack each frame's drift and the drift velocity. */
static void print_stack(FILE *f, const semqr_scan_summary *s, const semqr_scan_frame *frames,
                        int nframes)
{
	fprintf(f, ",\"stack\":\"%s\",\"frames_integrated\":%d", s->stack ? s->stack : "single",
	        s->frames_integrated);
	if (!s->stack || strcmp(s->stack, "register"))
		return;
	fputs(",\"frames\":[", f);
	for (int k = 0; k < nframes; k++) {
		const semqr_scan_frame *r = &frames[k];
		fprintf(f, "%s{\"page\":%d,\"integrated\":%s,\"tiles\":%d,\"tiles_used\":%d", k ? "," : "",
		        r->page, r->integrated ? "true" : "false", r->tiles, r->tiles_used);
		print_pair_or_null(f, "shift_px", 1, r->shift_px);
		print_pair_or_null(f, "shift_nm", r->has_nm, r->shift_nm);
		fprintf(f, ",\"shift_rms_px\":%.4f", r->shift_rms_px);
		if (r->start_s >= 0.0)
			fprintf(f, ",\"start_s\":%.4f}", r->start_s);
		else
			fputs(",\"start_s\":null}", f);
	}
	fprintf(f, "],\"frame_period_s\":");
	if (s->frame_period_s > 0.0)
		fprintf(f, "%.6g", s->frame_period_s);
	else
		fputs("null", f);
	fputs(",\"frame_period_source\":", f);
	semqr__json_cstring(f, s->frame_period_source ? s->frame_period_source : "none");
	fprintf(f, ",\"drift_max_px\":%.4f", s->drift_max_px);
	print_pair_or_null(f, "drift_px_per_min", s->has_drift_velocity, s->drift_px_per_min);
	print_pair_or_null(f, "drift_nm_per_min", s->has_drift_velocity && s->pixel_nm > 0.0,
	                   s->drift_nm_per_min);
	fprintf(f,
	        ",\"register_tiles\":%ld,\"register_seconds\":{\"read\":%.4f,\"window_fft\":%.4f,"
	        "\"cross_power\":%.4f,\"peak\":%.4f,\"combine\":%.4f}",
	        s->register_tiles, s->register_read_s, s->register_fft_s, s->register_cross_s,
	        s->register_peak_s, s->register_combine_s);
}

static void print_summary(FILE *f, const char *file, const semqr_scan_summary *s,
                          const semqr_scan_frame *frames, int nframes)
{
	fputs("{\"type\":\"summary\",\"file\":", f);
	semqr__json_cstring(f, file);
	fprintf(f, ",\"width\":%d,\"height\":%d,\"pages\":%d,\"pixels\":%llu", s->width,
	        s->height, s->pages, (unsigned long long)s->pixels);
	if (s->pixel_nm > 0.0)
		fprintf(f, ",\"pixel_nm\":%g", s->pixel_nm);
	else
		fputs(",\"pixel_nm\":null", f);
	fprintf(f,
	        ",\"module_px_range\":[%.3f,%.3f],\"modules_resolved\":%s,\"tile\":%d,"
	        "\"halo\":%d,\"tiles\":%d,\"tile_grid\":[%d,%d],\"candidates\":%ld,"
	        "\"finders\":%ld,\"located\":%ld,"
	        "\"decoded\":%ld,\"failed\":%ld,\"retried\":%ld,\"rescued\":%ld,"
	        "\"memory_bytes\":%zu,\"threads\":%d,"
	        "\"device\":",
	        s->module_px_min, s->module_px_max, s->modules_resolved ? "true" : "false", s->tile,
	        s->halo, s->tiles, s->tile_cols, s->tile_rows, s->candidates, s->finders,
	        s->located, s->decoded, s->failed, s->retried, s->rescued, s->memory_bytes,
	        s->threads);
	semqr__json_cstring(f, s->device);
	fprintf(f, ",\"noise\":{\"level\":%.4f,\"sd\":%.5f,\"quanta_per_px\":", s->noise_level,
	        s->noise_sd);
	if (isfinite(s->noise_quanta))
		fprintf(f, "%.1f}", s->noise_quanta);
	else
		fputs("null}", f);
	fprintf(f, ",\"denoise_sigma_px\":%.3f", s->denoise_sigma_px);
	fprintf(f, ",\"detect_scale\":%d", s->detect_scale);
	print_stack(f, s, frames, nframes);
	if (s->seconds[SEMQR_STAGE_LINES] > 0.0)
		fprintf(f, ",\"line_shift_rms_px\":%.4f,\"line_shift_max_px\":%.4f",
		        s->line_shift_rms_px, s->line_shift_max_px);
	fputs(",\"seconds\":{", f);
	for (int k = 0; k < SEMQR_STAGE_COUNT; k++)
		fprintf(f, "\"%s\":%.4f,", semqr_scan_stage_name((semqr_scan_stage)k), s->seconds[k]);
	fprintf(f,
	        "\"retry\":%.4f,\"device_wait\":%.4f,\"read_wait\":%.4f,\"total\":%.4f},"
	        "\"mpixel_per_s\":%.2f}\n",
	        s->seconds_retry, s->seconds_device_wait, s->seconds_read_wait, s->seconds_total,
	        s->seconds_total > 0.0 ? (double)s->pixels / 1e6 / s->seconds_total : 0.0);
}

/* Decodes one scan, and writes the overlay picture when overlay_path is not
 * NULL (also after a failure, showing what was done); returns 0 when it was
 * processed, 1 on an error. */
static int decode_scan_file(FILE *out, const char *file, const semqr_scan_options *sopts,
                            semqr_scan_decode_options dopts, const char *overlay_path,
                            int overlay_side, semqr_sa_set *sa)
{
	semqr_error err = {0};
	semqr_scan *scan = NULL;
	if (semqr_scan_open(file, sopts, &scan, &err) != SEMQR_OK) {
		fprintf(stderr, "semqr decode: %s\n", err.message);
		return 1;
	}
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	scan_output o = {out, file, sa, NULL, 0, isatty(STDERR_FILENO), info.height, -1, NULL, 0};
	if (overlay_path &&
	    !(o.overlay = semqr__overlay_create(info.width, info.height, overlay_side, &err))) {
		fprintf(stderr, "semqr decode: overlay: %s\n", err.message);
		semqr_scan_close(scan);
		return 1;
	}
	/* The band hook serves the overlay and the progress bar only; without
	 * them the decoder may read the scan in column groups (semqr/decode.h). */
	if (o.overlay || o.progress) {
		dopts.band = on_band;
		dopts.band_user = &o;
	}
	dopts.frame = on_frame;
	dopts.frame_user = &o;
	semqr_scan_summary sum;
	semqr_status st = semqr_decode_scan(scan, &dopts, on_symbol, &o, &sum, &err);
	semqr_scan_close(scan);
	if (o.progress && o.percent >= 0)
		fputc('\n', stderr);
	int status = 0;
	if (st != SEMQR_OK) {
		fprintf(stderr, "semqr decode: %s: %s\n", file, err.message);
		status = 1;
	} else {
		print_summary(out, file, &sum, o.frames, o.nframes);
	}
	free(o.frames);
	if (o.overlay) {
		semqr_error oerr;
		if (!o.overlay_failed &&
		    semqr__overlay_write(o.overlay, overlay_path, &oerr) != SEMQR_OK)
			overlay_failed(&o, &oerr);
		status |= o.overlay_failed;
		semqr__overlay_free(o.overlay);
	}
	return status;
}

/* Parses "MIN,MAX" module sizes in pixels. */
static int parse_module_range(const char *s, semqr_scan_decode_options *o)
{
	double lo, hi;
	char tail;
	if (sscanf(s, "%lf,%lf%c", &lo, &hi, &tail) != 2 || !(lo >= 1.0) || !(hi >= lo) ||
	    hi > 64.0) {
		fprintf(stderr,
		        "semqr decode: --module-px expects MIN,MAX with 1 <= MIN <= MAX <= 64, "
		        "not '%s'\n",
		        s);
		return -1;
	}
	o->module_px_min = lo;
	o->module_px_max = hi;
	return 0;
}

int semqr_cmd_decode(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pure", no_argument, NULL, 'p'},
		{"raw", no_argument, NULL, 'r'},
		{"no-mirror", no_argument, NULL, 'M'},
		{"no-erasures", no_argument, NULL, 'E'},
		{"no-padding", no_argument, NULL, 'Q'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{"device", required_argument, NULL, 'd'},
		{"tile", required_argument, NULL, 't'},
		{"memory", required_argument, NULL, 'm'},
		{"pixel-nm", required_argument, NULL, 'P'},
		{"module-nm", required_argument, NULL, 'n'},
		{"module-px", required_argument, NULL, 'x'},
		{"max-version", required_argument, NULL, 'V'},
		{"page", required_argument, NULL, 'g'},
		{"overlay", required_argument, NULL, 'O'},
		{"threads", required_argument, NULL, 'T'},
		{"overlay-size", required_argument, NULL, 'S'},
		{"stack", required_argument, NULL, 'k'},
		{"no-denoise", no_argument, NULL, 'D'},
		{"denoise-sigma", required_argument, NULL, 'G'},
		{"sampling", required_argument, NULL, 's'},
		{"retry-ms", required_argument, NULL, 'R'},
		{"frame-period-s", required_argument, NULL, 'F'},
		{"line-shifts", no_argument, NULL, 'L'},
		{"line-shift-max", required_argument, NULL, 'X'},
		{"detect-scale", required_argument, NULL, 'Z'},
		{NULL, 0, NULL, 0},
	};
	semqr_decode_options opts;
	semqr_decode_options_init(&opts);
	semqr_scan_decode_options sopts_decode;
	semqr_scan_decode_options_init(&sopts_decode);
	semqr_scan_options sopts = {0.0, 0};
	int pure = 0, raw = 0;
	double memory_mib = 1024.0;
	const char *output = NULL, *overlay = NULL;
	int overlay_side = 2048;

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': pure = 1; break;
		case 'r': raw = 1; break;
		case 'M': opts.try_mirrored = false; break;
		case 'E': opts.use_erasures = false; break;
		case 'Q': opts.use_padding = false; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'd': sopts_decode.device = optarg; break;
		case 't':
			if (cli_parse_int("decode", "--tile", optarg, 64, 16384, &sopts_decode.tile))
				return 2;
			break;
		case 'm':
			if (cli_parse_double("decode", "--memory", optarg, 1.0, 1048576.0, &memory_mib))
				return 2;
			break;
		case 'P':
			if (cli_parse_double("decode", "--pixel-nm", optarg, 1e-3, 1e6, &sopts.pixel_nm))
				return 2;
			break;
		case 'n':
			if (cli_parse_double("decode", "--module-nm", optarg, 1e-3, 1e6,
			                     &sopts_decode.module_nm))
				return 2;
			break;
		case 'x':
			if (parse_module_range(optarg, &sopts_decode))
				return 2;
			break;
		case 'V':
			if (cli_parse_int("decode", "--max-version", optarg, 1, 40,
			                  &sopts_decode.max_version))
				return 2;
			break;
		case 'g':
			if (cli_parse_int("decode", "--page", optarg, 0, 65534, &sopts_decode.page))
				return 2;
			break;
		case 'O': overlay = optarg; break;
		case 'T':
			if (cli_parse_int("decode", "--threads", optarg, 0, 64, &sopts_decode.threads))
				return 2;
			break;
		case 'S':
			if (cli_parse_int("decode", "--overlay-size", optarg, 16, 65536, &overlay_side))
				return 2;
			break;
		case 'k':
			if (!strcmp(optarg, "register")) {
				sopts_decode.stack = SEMQR_STACK_REGISTER;
			} else if (!strcmp(optarg, "mean")) {
				sopts_decode.stack = SEMQR_STACK_MEAN;
			} else {
				fprintf(stderr,
				        "semqr decode: --stack expects register or mean, not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'D': sopts_decode.denoise = 0; break;
		case 'G':
			if (cli_parse_double("decode", "--denoise-sigma", optarg, 0.01,
			                     SEMQR_DENOISE_SIGMA_MAX, &sopts_decode.denoise_sigma))
				return 2;
			break;
		case 'L': sopts_decode.line_shifts = 1; break;
		case 'X':
			if (cli_parse_int("decode", "--line-shift-max", optarg, 1, 32,
			                  &sopts_decode.line_shift_max))
				return 2;
			break;
		case 'F':
			if (cli_parse_double("decode", "--frame-period-s", optarg, 1e-6, 86400.0,
			                     &sopts_decode.frame_period_s))
				return 2;
			break;
		case 's':
			if (!strcmp(optarg, "soft")) {
				sopts_decode.sampling = SEMQR_SAMPLING_SOFT;
			} else if (!strcmp(optarg, "centre") || !strcmp(optarg, "center")) {
				sopts_decode.sampling = SEMQR_SAMPLING_CENTRE;
			} else {
				fprintf(stderr,
				        "semqr decode: --sampling expects soft or centre, not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'R':
			if (cli_parse_double("decode", "--retry-ms", optarg, 0.0, 60000.0,
			                     &sopts_decode.retry_ms))
				return 2;
			break;
		case 'Z':
			if (!strcmp(optarg, "auto") || !strcmp(optarg, "1") || !strcmp(optarg, "2")) {
				sopts_decode.detect_scale = optarg[0] == 'a' ? 0 : optarg[0] - '0';
			} else {
				fprintf(stderr,
				        "semqr decode: --detect-scale expects auto, 1 or 2, not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case ':':
			fprintf(stderr, "semqr decode: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "semqr decode: unknown option '%s'\n\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "semqr decode: no image given\n\n");
		usage(stderr);
		return 2;
	}
	if (raw && !pure) {
		fprintf(stderr, "semqr decode: --raw needs --pure\n");
		return 2;
	}
	if (overlay && (pure || argc - optind > 1)) {
		fprintf(stderr, "semqr decode: --overlay takes one scan, without --pure\n");
		return 2;
	}
	FILE *out = stdout;
	if (output && strcmp(output, "-") && !(out = fopen(output, raw ? "wb" : "w"))) {
		perror("semqr decode: cannot open output");
		return 1;
	}

	semqr_sa_set *sa = semqr_sa_set_create();
	if (!sa) {
		fprintf(stderr, "semqr decode: out of memory\n");
		return 1;
	}
	int status = 0;
	sopts_decode.decode = opts;
	sopts_decode.memory_budget = (size_t)(memory_mib * 1024.0 * 1024.0);
	for (int i = optind; i < argc && !pure; i++)
		status |= decode_scan_file(out, argv[i], &sopts, sopts_decode, overlay, overlay_side,
		                           sa);
	for (int i = optind; i < argc && pure; i++) {
		const char *file = argv[i];
		semqr_image img = {0};
		semqr_decoded d = {0};
		semqr_error err = {0};
		semqr_status st = semqr_image_read(file, &img, &err);
		if (st != SEMQR_OK) {
			fprintf(stderr, "semqr decode: %s\n", err.message);
			status = 1;
			continue;
		}
		st = semqr_decode_pure(&img, &opts, &d, &err);
		semqr_image_free(&img);
		if (st != SEMQR_OK) {
			fprintf(stderr, "semqr decode: %s: %s\n", file, err.message);
			if (!raw)
				print_failure(out, file, err.message);
			status = 1;
			continue;
		}
		if (raw) {
			fwrite(d.payload, 1, d.payload_len, out);
		} else {
			print_symbol(out, file, &d);
			if (semqr_sa_set_add(sa, &d, &err) != SEMQR_OK)
				fprintf(stderr, "semqr decode: %s\n", err.message);
		}
		semqr_decoded_free(&d);
	}
	if (!raw)
		semqr_sa_set_merge(sa, print_message, out);
	semqr_sa_set_free(sa);
	if (out != stdout && fclose(out)) {
		perror("semqr decode: cannot write output");
		status = 1;
	}
	return status;
}
