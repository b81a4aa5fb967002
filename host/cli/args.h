/* Internal: option-value parsing shared by the subcommands. Each parser prints
 * "semqr CMD: ..." to stderr naming the option and the bad value, and returns
 * -1 on failure, 0 on success. */
#ifndef SEMQR_CLI_ARGS_H
#define SEMQR_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* A whole decimal number in [min, max]. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, int *out);
/* A finite decimal number in [min, max]. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out);
/* Reads a whole file ("-" = standard input) of at most max bytes into a malloc'd
 * buffer; a larger file is an error naming the limit. */
int cli_read_file(const char *cmd, const char *path, size_t max, uint8_t **data, size_t *len);

#endif
