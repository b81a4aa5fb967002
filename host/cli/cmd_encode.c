/* semqr encode: payload in, symbol image out. Parses options, calls
 * semqr_encode / semqr_encode_structured, and writes through the image API. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "semqr/semqr.h"

#define PAYLOAD_READ_MAX (64 * 1024) /* far above 40-L's 7089 digits */

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr encode [OPTIONS] [TEXT]\n"
	"Encodes TEXT, or the bytes of --input FILE, or standard input (binary safe)\n"
	"as a QR Code Model 2 symbol.\n\n"
	"  -i, --input FILE        read the payload from FILE ('-' = standard input)\n"
	"  -o, --output FILE       output file; the format follows the extension:\n"
	"                          .png .pgm .pbm .tif/.tiff (image), .svg (physical size),\n"
	"                          .txt (text matrix). Default: text matrix on stdout\n"
	"  -l, --level L|M|Q|H     error-correction level (default M)\n"
	"      --version N         force version N (1-40)\n"
	"      --min-version N     smallest version to use (default 1)\n"
	"      --max-version N     largest version to use (default 40)\n"
	"      --no-boost          keep the level even when a higher one fits the version\n"
	"  -m, --mask N            force mask pattern N (0-7; default: fewest penalty points)\n"
	"      --mode MODE         auto (default: segments of least bit length), numeric,\n"
	"                          alphanumeric, byte or kanji (UTF-8 in, Shift JIS coded)\n"
	"      --no-kanji          never use Kanji mode in auto mode\n"
	"      --eci N|NAME        write an ECI designator: a number 0-999999 or utf-8,\n"
	"                          iso-8859-1 ... iso-8859-15, shift_jis; the bytes are not\n"
	"                          converted, they must already be in that character set\n"
	"      --structured-append N  split the payload over N symbols (2-16); with -o\n"
	"                          NAME.EXT the files are NAME-1.EXT ... NAME-N.EXT\n"
	"  -q, --quiet-zone N      light margin in modules (default 4)\n"
	"  -s, --scale N           pixels per module for images (default 8)\n"
	"      --module-nm NM      module pitch for SVG, in nanometres (default 49)\n"
	"  -v, --verbose           describe the symbol on stderr\n"
	"  -h, --help              show this help\n");
}

struct eci_name {
	const char *name;
	int eci;
};

static const struct eci_name eci_names[] = {
	{"utf-8", 26}, {"utf8", 26}, {"iso-8859-1", 3}, {"latin1", 3}, {"iso-8859-2", 4},
	{"iso-8859-3", 5}, {"iso-8859-4", 6}, {"iso-8859-5", 7}, {"iso-8859-6", 8},
	{"iso-8859-7", 9}, {"iso-8859-8", 10}, {"iso-8859-9", 11}, {"iso-8859-10", 12},
	{"iso-8859-11", 13}, {"iso-8859-13", 15}, {"iso-8859-14", 16}, {"iso-8859-15", 17},
	{"iso-8859-16", 18}, {"shift_jis", 20}, {"sjis", 20}, {"us-ascii", 27}, {"big5", 28},
	{"gb18030", 29}, {"euc-kr", 30},
};

static int parse_eci(const char *s, int *eci)
{
	for (size_t i = 0; i < sizeof eci_names / sizeof eci_names[0]; i++)
		if (!strcasecmp(s, eci_names[i].name)) {
			*eci = eci_names[i].eci;
			return 0;
		}
	return cli_parse_int("encode", "--eci", s, 0, 999999, eci);
}

static int parse_level(const char *s, semqr_ecc *ecc)
{
	static const char names[] = "LMQH";
	if (s[0] && !s[1])
		for (int i = 0; i < 4; i++)
			if ((s[0] & ~0x20) == names[i]) {
				*ecc = (semqr_ecc)i;
				return 0;
			}
	fprintf(stderr, "semqr encode: --level expects L, M, Q or H, not '%s'\n", s);
	return -1;
}

static int parse_mode(const char *s, semqr_mode *mode)
{
	static const struct { const char *name; semqr_mode mode; } modes[] = {
		{"auto", SEMQR_MODE_AUTO}, {"numeric", SEMQR_MODE_NUMERIC},
		{"alphanumeric", SEMQR_MODE_ALPHANUMERIC}, {"byte", SEMQR_MODE_BYTE},
		{"kanji", SEMQR_MODE_KANJI},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcasecmp(s, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	fprintf(stderr, "semqr encode: --mode expects auto, numeric, alphanumeric, byte or kanji, "
	                "not '%s'\n", s);
	return -1;
}

enum output_kind { OUT_TEXT, OUT_IMAGE, OUT_SVG };

static enum output_kind output_kind(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	if (!dot)
		return OUT_TEXT;
	if (!strcasecmp(dot, ".svg"))
		return OUT_SVG;
	if (!strcasecmp(dot, ".txt"))
		return OUT_TEXT;
	return OUT_IMAGE;
}

/* NAME.EXT -> NAME-k.EXT (k counted from 1), for structured-append parts. */
static char *part_path(const char *path, int k)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path) : strlen(path);
	size_t n = strlen(path) + 16;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%.*s-%d%s", (int)stem, path, k, path + stem);
	return out;
}

struct output_options {
	int quiet, scale;
	double module_nm;
};

static semqr_status write_symbol(const char *path, const semqr_symbol *s,
                                 const struct output_options *o, semqr_error *err)
{
	switch (output_kind(path)) {
	case OUT_SVG:
		return semqr_write_svg(path, s, o->quiet, o->module_nm, err);
	case OUT_TEXT:
		return semqr_write_text(path ? path : "/dev/stdout", s, o->quiet, err);
	case OUT_IMAGE: {
		semqr_image img = {0};
		semqr_status st = semqr_render(s, o->quiet, o->scale, &img, err);
		if (st == SEMQR_OK)
			st = semqr_image_write(path, &img, err);
		semqr_image_free(&img);
		return st;
	}
	}
	return SEMQR_OK;
}

int semqr_cmd_encode(int argc, char **argv)
{
	enum { OPT_VERSION = 256, OPT_MIN_VERSION, OPT_MAX_VERSION, OPT_NO_BOOST, OPT_MODE,
	       OPT_NO_KANJI, OPT_ECI, OPT_SA, OPT_MODULE_NM };
	static const struct option longopts[] = {
		{"input", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"level", required_argument, NULL, 'l'},
		{"version", required_argument, NULL, OPT_VERSION},
		{"min-version", required_argument, NULL, OPT_MIN_VERSION},
		{"max-version", required_argument, NULL, OPT_MAX_VERSION},
		{"no-boost", no_argument, NULL, OPT_NO_BOOST},
		{"mask", required_argument, NULL, 'm'},
		{"mode", required_argument, NULL, OPT_MODE},
		{"no-kanji", no_argument, NULL, OPT_NO_KANJI},
		{"eci", required_argument, NULL, OPT_ECI},
		{"structured-append", required_argument, NULL, OPT_SA},
		{"quiet-zone", required_argument, NULL, 'q'},
		{"scale", required_argument, NULL, 's'},
		{"module-nm", required_argument, NULL, OPT_MODULE_NM},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	semqr_encode_options opts;
	semqr_encode_options_init(&opts);
	struct output_options out = {.quiet = 4, .scale = 8, .module_nm = 49.0};
	const char *input = NULL, *output = NULL;
	int parts = 0, verbose = 0, v;

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":i:o:l:m:q:s:vh", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'l': bad = parse_level(optarg, &opts.ecc); break;
		case OPT_VERSION:
			bad = cli_parse_int("encode", "--version", optarg, 1, 40, &v);
			opts.min_version = opts.max_version = v;
			break;
		case OPT_MIN_VERSION:
			bad = cli_parse_int("encode", "--min-version", optarg, 1, 40, &opts.min_version);
			break;
		case OPT_MAX_VERSION:
			bad = cli_parse_int("encode", "--max-version", optarg, 1, 40, &opts.max_version);
			break;
		case OPT_NO_BOOST: opts.boost_ecc = false; break;
		case 'm': bad = cli_parse_int("encode", "--mask", optarg, 0, 7, &opts.mask); break;
		case OPT_MODE: bad = parse_mode(optarg, &opts.mode); break;
		case OPT_NO_KANJI: opts.kanji = false; break;
		case OPT_ECI: bad = parse_eci(optarg, &opts.eci); break;
		case OPT_SA:
			bad = cli_parse_int("encode", "--structured-append", optarg, 2,
			                    SEMQR_STRUCTURED_APPEND_MAX, &parts);
			break;
		case 'q': bad = cli_parse_int("encode", "--quiet-zone", optarg, 0, 1000, &out.quiet); break;
		case 's': bad = cli_parse_int("encode", "--scale", optarg, 1, 1000, &out.scale); break;
		case OPT_MODULE_NM:
			bad = cli_parse_double("encode", "--module-nm", optarg, 1e-3, 1e9, &out.module_nm);
			break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "semqr encode: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "semqr encode: unknown option '%s'\n\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		if (bad)
			return 2;
	}
	if (opts.min_version > opts.max_version) {
		fprintf(stderr, "semqr encode: --min-version %d is above --max-version %d\n",
		        opts.min_version, opts.max_version);
		return 2;
	}
	if (argc - optind > 1 || (argc - optind == 1 && input)) {
		fprintf(stderr, "semqr encode: give the payload once: one TEXT argument or --input\n");
		return 2;
	}

	uint8_t *data = NULL;
	size_t len = 0;
	if (argc - optind == 1) {
		len = strlen(argv[optind]);
		data = malloc(len + 1);
		if (!data) {
			fprintf(stderr, "semqr encode: out of memory\n");
			return 1;
		}
		memcpy(data, argv[optind], len);
	} else if (cli_read_file("encode", input ? input : "-", PAYLOAD_READ_MAX, &data, &len)) {
		return 1;
	}

	int count = parts ? parts : 1;
	semqr_symbol *symbols = malloc(sizeof *symbols * (size_t)count);
	semqr_error err = {0};
	semqr_status st = SEMQR_ERR_NO_MEMORY;
	if (symbols)
		st = parts ? semqr_encode_structured(data, len, parts, &opts, symbols, &err)
		           : semqr_encode(data, len, &opts, symbols, &err);
	free(data);
	if (st != SEMQR_OK) {
		fprintf(stderr, "semqr encode: %s\n", symbols ? err.message : "out of memory");
		free(symbols);
		return st == SEMQR_ERR_INVALID_ARGUMENT ? 2 : 1;
	}

	int status = 0;
	for (int k = 0; k < count && status == 0; k++) {
		char *path = (output && parts) ? part_path(output, k + 1) : NULL;
		const char *target = path ? path : output;
		if (output && !strcmp(output, "-"))
			target = NULL;
		if (verbose)
			fprintf(stderr, "semqr encode: %s%s%dx%d modules, version %d-%s, mask %d\n",
			        target ? target : "", target ? ": " : "", symbols[k].size, symbols[k].size,
			        symbols[k].version, semqr_ecc_name(symbols[k].ecc), symbols[k].mask);
		if (!target && k > 0)
			fflush(stdout), fputs("\n", stdout), fflush(stdout);
		st = write_symbol(target, &symbols[k], &out, &err);
		if (st != SEMQR_OK) {
			fprintf(stderr, "semqr encode: %s\n", err.message);
			status = st == SEMQR_ERR_INVALID_ARGUMENT ? 2 : 1;
		}
		free(path);
	}
	free(symbols);
	return status;
}
