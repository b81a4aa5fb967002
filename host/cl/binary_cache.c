/* The on-disk cache of built program binaries (contract in cl/cl_internal.h).
 *
 * File format, in the machine's own byte order (the cache is local to one
 * machine; a file from elsewhere fails the key comparison):
 *     MAGIC (16 bytes)
 *     uint64 key length, the key
 *     uint64 binary length, uint64 checksum of the binary, the binary
 * The key is the device's identity (platform version, vendor, name,
 * version, driver version), the build options and the whole source, each
 * ended by a NUL; a file is used only when its key equals the wanted one
 * byte for byte, so a hash collision in the file name, a driver update or
 * an edited kernel can only miss the cache, never load a wrong program; and
 * a binary damaged on disk fails its checksum before the driver sees it
 * (PoCL accepted a binary with its last 64 bytes overwritten). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl/cl_internal.h"

static const char MAGIC[16] = "semqr-cl-bin 2\n";

/* Largest binary accepted from a file (PoCL's are about 3 MB). */
#define BINARY_MAX ((uint64_t)1 << 30)

/* The cache directory into dir (room n), or 0 when caching is off:
 * SEMQR_CACHE_DIR when set (off when empty), else $XDG_CACHE_HOME/semqr,
 * else $HOME/.cache/semqr. */
static int cache_dir(char *dir, size_t n)
{
	const char *env = getenv("SEMQR_CACHE_DIR");
	int len;
	if (env)
		len = env[0] ? snprintf(dir, n, "%s", env) : -1;
	else if ((env = getenv("XDG_CACHE_HOME")) && env[0])
		len = snprintf(dir, n, "%s/semqr", env);
	else if ((env = getenv("HOME")) && env[0])
		len = snprintf(dir, n, "%s/.cache/semqr", env);
	else
		len = -1;
	return len > 0 && (size_t)len < n;
}

/* Creates dir and its missing parents (mode 0700); 1 when it exists then. */
static int make_dirs(char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int ok = make_dirs(dir);
		*slash = '/';
		if (!ok)
			return 0;
	}
	return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

/* Appends s and its NUL to the key being built in *key (length *len, room
 * *cap); 0 when out of memory (the key is then freed). */
static int key_add(char **key, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1;
	if (*len + n > *cap) {
		size_t cap2 = 2 * (*len + n);
		char *k = realloc(*key, cap2);
		if (!k) {
			free(*key);
			*key = NULL;
			return 0;
		}
		*key = k;
		*cap = cap2;
	}
	memcpy(*key + *len, s, n);
	*len += n;
	return 1;
}

/* A string of the device (what: a CL_DEVICE_* or CL_DRIVER_VERSION query),
 * or "" when the query fails. */
static void device_string(cl_device_id device, cl_device_info what, char *out, size_t n)
{
	if (clGetDeviceInfo(device, what, n, out, NULL) != CL_SUCCESS)
		out[0] = '\0';
	out[n - 1] = '\0';
}

/* The version of the device's platform, or "" when a query fails. */
static void platform_version(cl_device_id device, char *out, size_t n)
{
	cl_platform_id platform;
	if (clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL) !=
	        CL_SUCCESS ||
	    clGetPlatformInfo(platform, CL_PLATFORM_VERSION, n, out, NULL) != CL_SUCCESS)
		out[0] = '\0';
	out[n - 1] = '\0';
}

/* The key (see above) into *key and *len, and the file's path into path
 * (room n); 0 when caching is off or something failed. */
static int key_and_path(cl_device_id device, const char *source, const char *options,
                        char **key, size_t *len, char *path, size_t n)
{
	static const cl_device_info parts[] = {CL_DEVICE_VENDOR, CL_DEVICE_NAME, CL_DEVICE_VERSION,
	                                       CL_DRIVER_VERSION};
	char dir[4096], s[256];
	if (!cache_dir(dir, sizeof dir))
		return 0;
	size_t cap = 0;
	*key = NULL;
	*len = 0;
	platform_version(device, s, sizeof s);
	if (!key_add(key, len, &cap, s))
		return 0;
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		device_string(device, parts[i], s, sizeof s);
		if (!key_add(key, len, &cap, s))
			return 0;
	}
	if (!key_add(key, len, &cap, options) || !key_add(key, len, &cap, source))
		return 0;
	/* FNV-1a, 64 bits: a file name, not an identity (the key is compared) */
	uint64_t h = 14695981039346656037u;
	for (size_t i = 0; i < *len; i++)
		h = (h ^ (unsigned char)(*key)[i]) * 1099511628211u;
	int m = snprintf(path, n, "%s/%016llx.bin", dir, (unsigned long long)h);
	if (m < 0 || (size_t)m >= n) {
		free(*key);
		*key = NULL;
		return 0;
	}
	return 1;
}

/* A checksum of n bytes (FNV-1a over 8-byte words, then the tail bytes):
 * against damage, not against an adversary, and fast (about 0.5 ms for a
 * 3 MB binary). */
static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037u;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 1099511628211u;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* The binary of the file at path when its key is key (len bytes), with
 * its size in *size; NULL when there is none, it is another key's or it is
 * damaged (short, too long, or failing its checksum). */
static unsigned char *read_binary(const char *path, const char *key, size_t len, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	/* the file's size bounds every length read from it */
	struct stat st;
	uint64_t file_size = fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	char magic[sizeof MAGIC];
	uint64_t klen, blen, sum;
	unsigned char *bin = NULL;
	char *k = malloc(len);
	if (k && fread(magic, 1, sizeof magic, f) == sizeof magic &&
	    memcmp(magic, MAGIC, sizeof magic) == 0 && fread(&klen, sizeof klen, 1, f) == 1 &&
	    klen == len && fread(k, 1, len, f) == len && memcmp(k, key, len) == 0 &&
	    fread(&blen, sizeof blen, 1, f) == 1 && blen > 0 && blen <= BINARY_MAX &&
	    fread(&sum, sizeof sum, 1, f) == 1 &&
	    blen == file_size - (sizeof MAGIC + 3 * sizeof(uint64_t) + len) &&
	    (bin = malloc((size_t)blen)) != NULL) {
		if (fread(bin, 1, (size_t)blen, f) == blen && fgetc(f) == EOF &&
		    checksum(bin, (size_t)blen) == sum) {
			*size = (size_t)blen;
		} else {
			free(bin);
			bin = NULL;
		}
	}
	free(k);
	fclose(f);
	return bin;
}

cl_program semqr__cl_cache_load(cl_context context, cl_device_id device, const char *source,
                                const char *options)
{
	char path[4200], *key;
	size_t len, size = 0;
	if (!key_and_path(device, source, options, &key, &len, path, sizeof path))
		return NULL;
	unsigned char *bin = read_binary(path, key, len, &size);
	free(key);
	if (!bin)
		return NULL;
	cl_int st, bst;
	const unsigned char *bins[1] = {bin};
	cl_program prog = clCreateProgramWithBinary(context, 1, &device, &size, bins, &bst, &st);
	free(bin);
	if (st != CL_SUCCESS || bst != CL_SUCCESS)
		return NULL;
	if (clBuildProgram(prog, 1, &device, options, NULL, NULL) != CL_SUCCESS) {
		clReleaseProgram(prog);
		return NULL;
	}
	return prog;
}

void semqr__cl_cache_store(cl_program prog, cl_device_id device, const char *source,
                           const char *options)
{
	char path[4200], tmp[4300], *key;
	size_t len, size;
	if (!key_and_path(device, source, options, &key, &len, path, sizeof path))
		return;
	unsigned char *bin = NULL;
	if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) ==
	        CL_SUCCESS &&
	    size > 0 && size <= BINARY_MAX && (bin = malloc(size)) != NULL) {
		unsigned char *bins[1] = {bin};
		if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
			free(bin);
			bin = NULL;
		}
	}
	/* Written under a name of this process's, then renamed: a reader sees
	 * the old file or the whole new one. */
	char *slash = strrchr(path, '/');
	int ok = bin != NULL && slash != NULL;
	if (ok) {
		*slash = '\0';
		ok = make_dirs(path);
		*slash = '/';
	}
	int m = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	FILE *f = ok && m > 0 && (size_t)m < sizeof tmp ? fopen(tmp, "wb") : NULL;
	if (f) {
		uint64_t klen = len, blen = size, sum = checksum(bin, size);
		ok = fwrite(MAGIC, 1, sizeof MAGIC, f) == sizeof MAGIC &&
		     fwrite(&klen, sizeof klen, 1, f) == 1 && fwrite(key, 1, len, f) == len &&
		     fwrite(&blen, sizeof blen, 1, f) == 1 && fwrite(&sum, sizeof sum, 1, f) == 1 &&
		     fwrite(bin, 1, size, f) == size;
		ok = fclose(f) == 0 && ok;
		if (!ok || rename(tmp, path) != 0)
			remove(tmp);
	}
	free(bin);
	free(key);
}
