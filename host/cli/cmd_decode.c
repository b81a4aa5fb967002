/* semqr decode: images in, payloads out as JSON Lines (or raw bytes).
 * Today it decodes axis-aligned synthetic symbol images (--pure); decoding of
 * whole SEM scans arrives with the OpenCL pipeline. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/json.h"
#include "semqr/semqr.h"

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr decode --pure [OPTIONS] IMAGE...\n"
	"Decodes one QR symbol per image and prints one JSON object per line.\n\n"
	"  --pure            the image is an axis-aligned, noise-free symbol with a light\n"
	"                    quiet zone (as encoders render them); the module size is\n"
	"                    found from the finder patterns. Required for now: decoding\n"
	"                    of SEM scans needs the scan pipeline, not yet built.\n"
	"  --raw             write only the decoded payload bytes to stdout, nothing else\n"
	"  --no-mirror       do not try the mirrored (transposed) symbol\n"
	"  --no-erasures     correct errors only, never erase unreliable modules\n"
	"  -o, --output FILE write to FILE instead of stdout\n"
	"  -h, --help        show this help\n\n"
	"Each line is {\"type\":\"symbol\", \"file\", \"payload\" (UTF-8 text; bytes that\n"
	"are not valid UTF-8 appear as \\u00NN), \"payload_hex\" (the exact bytes),\n"
	"\"version\", \"level\", \"mask\", \"mirrored\", \"eci\", \"segments\", \"errors\",\n"
	"\"erasures\", \"ec_unused\", \"structured_append\"}. An image that does not\n"
	"decode gives {\"type\":\"failure\", \"file\", \"reason\"} and exit status 1.\n");
}

static void print_symbol(FILE *f, const char *file, const semqr_decoded *d)
{
	fputs("{\"type\":\"symbol\",\"file\":", f);
	semqr__json_cstring(f, file);
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
	fprintf(f, "],\"errors\":%d,\"erasures\":%d,\"ec_unused\":%.4f,\"format_errors\":%d",
	        d->errors_total, d->erasures_total, d->ec_unused, d->format_distance);
	if (d->structured_append)
		fprintf(f, ",\"structured_append\":{\"index\":%d,\"total\":%d,\"parity\":%d}",
		        d->sa_index, d->sa_total, d->sa_parity);
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

int semqr_cmd_decode(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pure", no_argument, NULL, 'p'},
		{"raw", no_argument, NULL, 'r'},
		{"no-mirror", no_argument, NULL, 'M'},
		{"no-erasures", no_argument, NULL, 'E'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	semqr_decode_options opts;
	semqr_decode_options_init(&opts);
	int pure = 0, raw = 0;
	const char *output = NULL;

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': pure = 1; break;
		case 'r': raw = 1; break;
		case 'M': opts.try_mirrored = false; break;
		case 'E': opts.use_erasures = false; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
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
	if (!pure) {
		fprintf(stderr, "semqr decode: decoding SEM scans needs the scan pipeline, which this "
		                "build does not have yet; use --pure for axis-aligned symbol images\n");
		return 2;
	}
	FILE *out = stdout;
	if (output && strcmp(output, "-") && !(out = fopen(output, raw ? "wb" : "w"))) {
		perror("semqr decode: cannot open output");
		return 1;
	}

	int status = 0;
	for (int i = optind; i < argc; i++) {
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
		if (raw)
			fwrite(d.payload, 1, d.payload_len, out);
		else
			print_symbol(out, file, &d);
		semqr_decoded_free(&d);
	}
	if (out != stdout && fclose(out)) {
		perror("semqr decode: cannot write output");
		status = 1;
	}
	return status;
}
