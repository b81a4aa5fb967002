/* semqr — command-line entry point: dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "semqr/semqr.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"encode", semqr_cmd_encode, "encode a payload as a QR symbol (PNG, PGM, PBM, TIFF, SVG, text)"},
	{"decode", semqr_cmd_decode, "decode QR symbols from an image"},
	{"info", semqr_cmd_info, "list OpenCL devices and self-test the chosen one"},
	{"simulate", semqr_cmd_simulate, "render SEM scans of QR plates with ground truth"},
	{"regress", semqr_cmd_regress, "decode a directory of scans against their ground truth"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: semqr COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'semqr COMMAND --help' describes a command's options.\n"
	           "'semqr --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("semqr %s\n", SEMQR_VERSION_STRING);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "semqr: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
