/* Test support: running external programs (the CLI, peer decoders) and
 * scratch files. */
#ifndef SEMQR_TEST_RUN_H
#define SEMQR_TEST_RUN_H

#include <stddef.h>
#include <stdint.h>

/* Runs `command` through /bin/sh, capturing its standard output (stderr is
 * left alone unless the command redirects it). *out is malloc'd, NUL-terminated
 * after *len bytes. Returns the exit status (0..255), or -1 if it could not run
 * or was killed by a signal. */
int test_run(const char *command, uint8_t **out, size_t *len);

/* True when `program` is found on PATH. */
int test_have_program(const char *program);

/* Creates directory `dir` (and parents); returns 0 or -1. */
int test_mkdir(const char *dir);

/* Writes n bytes to path; returns 0 or -1. */
int test_write_file(const char *path, const void *data, size_t n);

#endif
