/* Test support: external programs and scratch files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "support/run.h"

int test_run(const char *command, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *p = popen(command, "r");
	if (!p)
		return -1;
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, p)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *bigger = realloc(buf, 2 * cap + 1);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	int status = pclose(p);
	if (!buf)
		return -1;
	buf[n] = 0;
	*out = buf;
	*len = n;
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int test_have_program(const char *program)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", program);
	return system(cmd) == 0;
}

int test_mkdir(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(path, 0777) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return (mkdir(path, 0777) && errno != EEXIST) ? -1 : 0;
}

int test_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, n, f);
	return (fclose(f) || w != n) ? -1 : 0;
}
