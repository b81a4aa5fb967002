/* Option-value parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "semqr %s: %s expects a whole number from %ld to %ld, not '%s'\n",
		        cmd, opt, min, max, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
		fprintf(stderr, "semqr %s: %s expects a number from %g to %g, not '%s'\n",
		        cmd, opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_read_file(const char *cmd, const char *path, size_t max, uint8_t **data, size_t *len)
{
	int is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "semqr %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int failed = !buf || ferror(f);
	const char *why = !buf ? "out of memory" : strerror(errno);
	if (!is_stdin)
		fclose(f);
	if (failed) {
		fprintf(stderr, "semqr %s: cannot read '%s': %s\n", cmd, is_stdin ? "standard input" : path,
		        why);
		free(buf);
		return -1;
	}
	if (n > max) {
		fprintf(stderr, "semqr %s: '%s' is longer than %zu bytes, more than any QR symbol holds\n",
		        cmd, is_stdin ? "standard input" : path, max);
		free(buf);
		return -1;
	}
	*data = buf;
	*len = n;
	return 0;
}
