/* The OpenCL runtime layer: kernel lookup, status names, device listing and
 * selection, contexts and the program cache, build-failure reporting, 2-D
 * launches, the self-test, and the `semqr info` command (including a system
 * with no OpenCL platform, simulated by pointing the ocl-icd loader's
 * OCL_ICD_VENDORS at an empty directory).
 *
 * Needs an OpenCL device (PoCL on the CPU is enough). SEMQR_DEVICE is unset at
 * start so that the default selection is what is tested; tests that need it
 * set it themselves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl/cl_internal.h"
#include "cl/kernel_sources.h"
#include "support/run.h"

/* ---- helpers ------------------------------------------------------------ */

static semqr_cl_device_info *devices;
static int device_count;

static int setup_devices(void **state)
{
	semqr_error err;
	if (semqr_cl_list_devices(&devices, &device_count, &err) != SEMQR_OK) {
		fprintf(stderr, "test_cl: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int teardown_devices(void **state)
{
	free(devices);
	devices = NULL;
	return 0;
}

/* Whether needle occurs in hay ignoring ASCII case (an independent
 * implementation for checking the selector). */
static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; hay[i]; i++) {
		size_t k = 0;
		while (k < n && tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k]))
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}

/* Appends s to the shell command cmd[size] in single quotes. */
static void append_quoted(char *cmd, size_t size, const char *s)
{
	size_t n = strlen(cmd);
	if (n + 1 < size)
		cmd[n++] = '\'';
	for (; *s && n + 5 < size; s++) {
		if (*s == '\'') {
			memcpy(cmd + n, "'\\''", 4);
			n += 4;
		} else {
			cmd[n++] = *s;
		}
	}
	if (n + 1 < size)
		cmd[n++] = '\'';
	cmd[n] = '\0';
}

/* Reads a whole text file into a malloc'd NUL-terminated string. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int c;
	while ((c = fgetc(f)) != EOF) {
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		buf[n++] = (char)c;
	}
	fclose(f);
	if (!buf)
		buf = malloc(1);
	assert_non_null(buf);
	buf[n] = '\0';
	return buf;
}

/* Runs `semqr info ARGS...` (NULL-terminated) with the environment
 * assignment `env` ("NAME=value", or NULL) and returns its exit status, its
 * standard output in *out and its standard error in *err_text (both malloc'd). */
static int run_info(const char *env, char **out, char **err_text, ...)
{
	assert_int_equal(test_mkdir(SEMQR_TEST_TMP), 0);
	char err_path[1024];
	snprintf(err_path, sizeof err_path, "%s/info_stderr.txt", SEMQR_TEST_TMP);
	char cmd[4096] = "";
	if (env) {
		const char *eq = strchr(env, '=');
		assert_non_null(eq);
		snprintf(cmd, sizeof cmd, "%.*s=", (int)(eq - env), env);
		append_quoted(cmd, sizeof cmd, eq + 1);
		strcat(cmd, " ");
	}
	append_quoted(cmd, sizeof cmd, SEMQR_CLI);
	strcat(cmd, " info");
	va_list ap;
	va_start(ap, err_text);
	for (const char *arg; (arg = va_arg(ap, const char *)) != NULL;) {
		strcat(cmd, " ");
		append_quoted(cmd, sizeof cmd, arg);
	}
	va_end(ap);
	strcat(cmd, " 2>");
	append_quoted(cmd, sizeof cmd, err_path);
	assert_true(strlen(cmd) < sizeof cmd - 1);

	uint8_t *stdout_bytes;
	size_t len;
	int status = test_run(cmd, &stdout_bytes, &len);
	assert_non_null(stdout_bytes);
	*out = (char *)stdout_bytes;
	*err_text = read_text(err_path);
	return status;
}

/* ---- kernel sources and status names ------------------------------------ */

static void test_kernel_source_lookup(void **state)
{
	const char *src = semqr__kernel_source("selftest");
	assert_non_null(src);
	assert_non_null(strstr(src, "__kernel void selftest_affine_u8"));
	assert_non_null(strstr(src, "__kernel void selftest_affine_u16"));
	assert_null(semqr__kernel_source("no_such_kernel"));
	assert_null(semqr__kernel_source(""));
	assert_null(semqr__kernel_source(NULL));
}

static void test_status_names(void **state)
{
	assert_string_equal(semqr__cl_status_name(CL_SUCCESS), "CL_SUCCESS");
	assert_string_equal(semqr__cl_status_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
	assert_string_equal(semqr__cl_status_name(-11), "CL_BUILD_PROGRAM_FAILURE");
	assert_string_equal(semqr__cl_status_name(-68), "CL_INVALID_DEVICE_PARTITION_COUNT");
	assert_string_equal(semqr__cl_status_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
	assert_string_equal(semqr__cl_status_name(-12345), "unknown OpenCL status");

	semqr_error err;
	assert_int_equal(semqr__cl_fail(&err, CL_INVALID_WORK_GROUP_SIZE, "kernel %s", "k"),
	                 SEMQR_ERR_OPENCL);
	assert_int_equal(err.code, SEMQR_ERR_OPENCL);
	assert_string_equal(err.message, "kernel k: CL_INVALID_WORK_GROUP_SIZE (-54)");
}

/* ---- devices --------------------------------------------------------------- */

static void test_list_devices(void **state)
{
	assert_true(device_count >= 1);
	int expect_device = 0;
	for (int i = 0; i < device_count; i++) {
		const semqr_cl_device_info *d = &devices[i];
		if (i > 0 && d->platform_index != devices[i - 1].platform_index) {
			assert_true(d->platform_index > devices[i - 1].platform_index);
			expect_device = 0;
		}
		/* Devices of a platform are numbered consecutively from 0. */
		assert_int_equal(d->device_index, expect_device++);
		assert_true(d->platform_index >= 0);
		assert_true(d->name[0] && d->platform_name[0] && d->platform_version[0]);
		assert_true(d->name[0] != ' ' && d->name[strlen(d->name) - 1] != ' ');
		assert_int_equal(strncmp(d->version, "OpenCL ", 7), 0);
		assert_int_equal(strncmp(d->c_version, "OpenCL C ", 9), 0);
		assert_int_equal(strncmp(d->platform_version, "OpenCL ", 7), 0);
		assert_true(strstr(d->type, "CPU") || strstr(d->type, "GPU")
		            || strstr(d->type, "accelerator") || strstr(d->type, "custom"));
		assert_true(d->compute_units >= 1);
		assert_true(d->global_mem_bytes >= (1u << 20));
		assert_true(d->local_mem_bytes >= 1024);
		assert_true(d->max_alloc_bytes >= (1u << 20));
		assert_true(d->max_alloc_bytes <= d->global_mem_bytes);
		assert_true(d->max_work_group_size >= 1);
	}

	/* The first device as OpenCL itself reports it. */
	cl_platform_id platform;
	cl_device_id device;
	char name[SEMQR_CL_NAME_MAX];
	assert_int_equal(clGetPlatformIDs(1, &platform, NULL), CL_SUCCESS);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL), CL_SUCCESS);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL), CL_SUCCESS);
	assert_non_null(strstr(name, devices[0].name));
	cl_uint units;
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units,
	                                 NULL), CL_SUCCESS);
	assert_int_equal(units, devices[0].compute_units);
}

static void test_select_by_index(void **state)
{
	semqr_error err;
	semqr_cl_device_info chosen;
	for (int i = 0; i < device_count; i++) {
		char spec[32];
		snprintf(spec, sizeof spec, "%d:%d", devices[i].platform_index, devices[i].device_index);
		assert_int_equal(semqr_cl_select_device(spec, &chosen, &err), SEMQR_OK);
		assert_int_equal(err.code, SEMQR_OK);
		assert_int_equal(chosen.platform_index, devices[i].platform_index);
		assert_int_equal(chosen.device_index, devices[i].device_index);
		assert_string_equal(chosen.name, devices[i].name);
	}
	int last = device_count - 1;
	char spec[32];
	snprintf(spec, sizeof spec, "%d:%d", devices[last].platform_index,
	         devices[last].device_index + 1);
	assert_int_equal(semqr_cl_select_device(spec, &chosen, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, spec));
	/* Not P:D, so taken as name substrings, which match nothing. */
	static const char *const malformed[] = {"1:", ":0", "0:0:0", "-1:0", "0:x"};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		assert_int_equal(semqr_cl_select_device(malformed[i], &chosen, &err),
		                 SEMQR_ERR_INVALID_ARGUMENT);
		assert_non_null(strstr(err.message, "no OpenCL device name contains it"));
	}
}

static void test_select_by_name(void **state)
{
	semqr_error err;
	semqr_cl_device_info chosen;
	for (int i = 0; i < device_count; i++) {
		/* A middle part of the name with its case inverted. */
		char spec[SEMQR_CL_NAME_MAX];
		size_t len = strlen(devices[i].name);
		size_t from = len / 4, n = len > 2 ? len / 2 : len;
		memcpy(spec, devices[i].name + from, n);
		spec[n] = '\0';
		for (char *p = spec; *p; p++)
			*p = isupper((unsigned char)*p) ? (char)tolower((unsigned char)*p)
			                                : (char)toupper((unsigned char)*p);
		assert_int_equal(semqr_cl_select_device(spec, &chosen, &err), SEMQR_OK);
		/* The first device, in enumeration order, whose name contains it. */
		int want = 0;
		while (!contains_nocase(devices[want].name, spec))
			want++;
		assert_true(want <= i);
		assert_int_equal(chosen.platform_index, devices[want].platform_index);
		assert_int_equal(chosen.device_index, devices[want].device_index);
	}
}

static void test_select_bogus_name(void **state)
{
	semqr_error err;
	semqr_cl_device_info chosen = {.platform_index = -7};
	const char *spec = "no-such-device-zq9";
	assert_int_equal(semqr_cl_select_device(spec, &chosen, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(err.code, SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(chosen.platform_index, -7); /* untouched */
	assert_non_null(strstr(err.message, spec));
	assert_non_null(strstr(err.message, "available devices"));
	/* The list names the devices (those that fit in the message). */
	assert_non_null(strstr(err.message, devices[0].name));
}

static void test_select_default_and_environment(void **state)
{
	semqr_error err;
	semqr_cl_device_info chosen;
	int want = 0;
	for (int i = device_count - 1; i >= 0; i--)
		if (strstr(devices[i].type, "GPU"))
			want = i;
	assert_int_equal(semqr_cl_select_device(NULL, &chosen, &err), SEMQR_OK);
	assert_int_equal(chosen.platform_index, devices[want].platform_index);
	assert_int_equal(chosen.device_index, devices[want].device_index);
	assert_int_equal(semqr_cl_select_device("", &chosen, &err), SEMQR_OK);
	assert_int_equal(chosen.device_index, devices[want].device_index);

	int last = device_count - 1;
	char spec[32];
	snprintf(spec, sizeof spec, "%d:%d", devices[last].platform_index, devices[last].device_index);
	assert_int_equal(setenv("SEMQR_DEVICE", spec, 1), 0);
	assert_int_equal(semqr_cl_select_device(NULL, &chosen, &err), SEMQR_OK);
	assert_int_equal(chosen.platform_index, devices[last].platform_index);
	assert_int_equal(chosen.device_index, devices[last].device_index);
	/* An explicit selector overrides the environment. */
	assert_int_equal(semqr_cl_select_device("0:0", &chosen, &err), SEMQR_OK);
	assert_int_equal(chosen.platform_index, devices[0].platform_index);
	assert_int_equal(chosen.device_index, 0);

	assert_int_equal(setenv("SEMQR_DEVICE", "bogus-from-env", 1), 0);
	assert_int_equal(semqr_cl_select_device(NULL, &chosen, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "SEMQR_DEVICE"));
	assert_non_null(strstr(err.message, "bogus-from-env"));
	assert_int_equal(unsetenv("SEMQR_DEVICE"), 0);
}

/* ---- contexts, programs, launches --------------------------------------- */

static void test_program_cache(void **state)
{
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	assert_string_equal(semqr__cl_device_info(ctx)->name, devices[0].name);
	assert_non_null(semqr__cl_context_handle(ctx));
	assert_non_null(semqr__cl_queue(ctx));
	assert_non_null(semqr__cl_device(ctx));

	cl_program a, b;
	assert_int_equal(semqr__cl_program(ctx, "selftest", &a, &err), SEMQR_OK);
	assert_int_equal(semqr__cl_program(ctx, "selftest", &b, &err), SEMQR_OK);
	assert_ptr_equal(a, b);
	cl_uint refs;
	assert_int_equal(clGetProgramInfo(a, CL_PROGRAM_REFERENCE_COUNT, sizeof refs, &refs, NULL),
	                 CL_SUCCESS);
	assert_int_equal(refs, 1); /* one build, held once by the cache */

	assert_int_equal(semqr__cl_program(ctx, "nope", &a, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "kernels/nope.cl"));

	cl_kernel k;
	assert_int_equal(semqr__cl_kernel(ctx, "selftest", "no_such_function", &k, &err),
	                 SEMQR_ERR_OPENCL);
	assert_non_null(strstr(err.message, "no_such_function"));
	assert_non_null(strstr(err.message, "CL_INVALID_KERNEL_NAME"));
	assert_int_equal(semqr__cl_kernel(ctx, "selftest", "selftest_affine_u16", &k, &err), SEMQR_OK);
	clReleaseKernel(k);
	semqr__cl_context_destroy(ctx);
	semqr__cl_context_destroy(NULL);

	semqr_cl_device_info bad = devices[0];
	bad.device_index = 1000;
	assert_int_equal(semqr__cl_context_create(&bad, &ctx, &err), SEMQR_ERR_INVALID_ARGUMENT);
	assert_null(ctx);
	assert_non_null(strstr(err.message, "1000"));
}

/* Runs selftest_affine_u8 of ctx's "selftest" program on a 5 x 3 image and
 * checks every output (2 x + 1). */
static void run_affine(semqr__cl_context *ctx)
{
	semqr_error err;
	cl_kernel k;
	assert_int_equal(semqr__cl_kernel(ctx, "selftest", "selftest_affine_u8", &k, &err), SEMQR_OK);
	unsigned char in[15];
	for (int i = 0; i < 15; i++)
		in[i] = (unsigned char)(17 * i);
	cl_int cst;
	cl_mem src = clCreateBuffer(semqr__cl_context_handle(ctx),
	                            CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof in, in, &cst);
	assert_int_equal(cst, CL_SUCCESS);
	cl_mem dst = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_WRITE_ONLY,
	                            15 * sizeof(float), NULL, &cst);
	assert_int_equal(cst, CL_SUCCESS);
	int stride = 5, width = 5, height = 3;
	float a = 2.0f, b = 1.0f;
	assert_int_equal(clSetKernelArg(k, 0, sizeof src, &src), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof stride, &stride), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 2, sizeof width, &width), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 3, sizeof height, &height), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 4, sizeof a, &a), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 5, sizeof b, &b), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 6, sizeof dst, &dst), CL_SUCCESS);
	assert_int_equal(semqr__cl_run_2d(ctx, k, width, height, &err), SEMQR_OK);
	float out[15];
	assert_int_equal(clEnqueueReadBuffer(semqr__cl_queue(ctx), dst, CL_TRUE, 0, sizeof out, out,
	                                     0, NULL, NULL),
	                 CL_SUCCESS);
	for (int i = 0; i < 15; i++)
		assert_true(out[i] == 2.0f * in[i] + 1.0f);
	clReleaseMemObject(src);
	clReleaseMemObject(dst);
	clReleaseKernel(k);
}

/* Builds "selftest" in a new context; returns whether it came from the
 * binary cache, having run it. */
static int build_selftest(void)
{
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	cl_program p;
	assert_int_equal(semqr__cl_program(ctx, "selftest", &p, &err), SEMQR_OK);
	int cached = semqr__cl_program_cached(ctx, "selftest");
	assert_int_equal(semqr__cl_program_cached(ctx, "nope"), 0);
	run_affine(ctx);
	semqr__cl_context_destroy(ctx);
	return cached;
}

/* The one file of dir ending in .bin into path (room n); fails unless there
 * is exactly one and no temporary file is left. */
static void only_binary(const char *dir, char *path, size_t n)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls %s", dir);
	FILE *ls = popen(cmd, "r");
	assert_non_null(ls);
	char line[256];
	int bins = 0, others = 0;
	while (fgets(line, sizeof line, ls)) {
		line[strcspn(line, "\n")] = '\0';
		size_t len = strlen(line);
		if (len > 4 && strcmp(line + len - 4, ".bin") == 0) {
			bins++;
			snprintf(path, n, "%s/%s", dir, line);
		} else {
			others++;
		}
	}
	pclose(ls);
	assert_int_equal(bins, 1);
	assert_int_equal(others, 0);
}

/* Overwrites `count` bytes of the file at path from `offset` (from the end
 * when negative) with 0x5a. */
static void scribble(const char *path, long offset, int count)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, offset, offset < 0 ? SEEK_END : SEEK_SET), 0);
	for (int i = 0; i < count; i++)
		fputc(0x5a, f);
	assert_int_equal(fclose(f), 0);
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	fclose(f);
	return n;
}

/* The on-disk binary cache: the first build compiles and stores one file,
 * later contexts load it (and run it alike); a damaged binary (PoCL would
 * build one), a file whose key differs, or a truncated file are not used (the source is compiled
 * and the file written whole again); an empty SEMQR_CACHE_DIR turns the
 * cache off. */
static void test_binary_cache(void **state)
{
	char dir[] = "/tmp/semqr-test-clcache-XXXXXX", path[512];
	assert_non_null(mkdtemp(dir));
	char sub[600];
	snprintf(sub, sizeof sub, "%s/a/b", dir); /* created with its parent */
	assert_int_equal(setenv("SEMQR_CACHE_DIR", sub, 1), 0);

	assert_int_equal(build_selftest(), 0);
	only_binary(sub, path, sizeof path);
	long size = file_size(path);
	assert_true(size > 100);
	assert_int_equal(build_selftest(), 1);

	scribble(path, -64, 64); /* inside the binary: its checksum fails */
	assert_int_equal(build_selftest(), 0);
	assert_int_equal(file_size(path), size);
	assert_int_equal(build_selftest(), 1);

	scribble(path, 40, 1); /* inside the key (the device's identity) */
	assert_int_equal(build_selftest(), 0);
	assert_int_equal(build_selftest(), 1);

	assert_int_equal(truncate(path, size / 2), 0);
	assert_int_equal(build_selftest(), 0);
	assert_int_equal(file_size(path), size);
	assert_int_equal(build_selftest(), 1);
	only_binary(sub, path, sizeof path);

	assert_int_equal(setenv("SEMQR_CACHE_DIR", "", 1), 0);
	assert_int_equal(build_selftest(), 0);
	assert_int_equal(build_selftest(), 0);
	assert_int_equal(unsetenv("SEMQR_CACHE_DIR"), 0);

	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Programs built for one radius: each radius its own program with its own
 * kernels; the plain build of a radius-templated file fails with its
 * #error in the log; radii out of range are refused. */
static void test_program_radius(void **state)
{
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	cl_program p4, p4again, p5;
	assert_int_equal(semqr__cl_program_radius(ctx, "binarize", 4, &p4, &err), SEMQR_OK);
	assert_int_equal(semqr__cl_program_radius(ctx, "binarize", 4, &p4again, &err), SEMQR_OK);
	assert_ptr_equal(p4, p4again);
	assert_int_equal(semqr__cl_program_radius(ctx, "binarize", 5, &p5, &err), SEMQR_OK);
	assert_ptr_not_equal(p4, p5);
	cl_kernel k;
	assert_int_equal(semqr__cl_kernel_radius(ctx, "binarize", 4, "binarize_rows_4", &k, &err),
	                 SEMQR_OK);
	clReleaseKernel(k);
	assert_int_equal(semqr__cl_kernel_radius(ctx, "binarize", 4, "binarize_rows_5", &k, &err),
	                 SEMQR_ERR_OPENCL);
	assert_int_equal(semqr__cl_kernel_radius(ctx, "denoise", 15, "denoise_columns_15", &k, &err),
	                 SEMQR_OK);
	clReleaseKernel(k);
	assert_int_equal(semqr__cl_program(ctx, "binarize", &p4, &err), SEMQR_ERR_OPENCL);
	assert_non_null(strstr(err.message, "kernels/binarize.cl"));
	assert_non_null(strstr(err.message, "SEMQR_RADIUS"));
	assert_int_equal(semqr__cl_program_radius(ctx, "binarize", 16, &p4, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__cl_program_radius(ctx, "binarize", -2, &p4, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	assert_int_equal(semqr__cl_program_radius(ctx, "nope", 3, &p4, &err),
	                 SEMQR_ERR_INVALID_ARGUMENT);
	semqr__cl_context_destroy(ctx);
}

static void test_build_failure_carries_log(void **state)
{
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	cl_program prog = NULL;
	const char *broken = "__kernel void broken(__global float *out)\n"
	                     "{\n"
	                     "\tout[0] = undeclared_identifier_q7;\n"
	                     "}\n";
	assert_int_equal(semqr__cl_build_source(ctx, "kernels/broken.cl", broken, &prog, &err),
	                 SEMQR_ERR_OPENCL);
	assert_null(prog);
	assert_int_equal(err.code, SEMQR_ERR_OPENCL);
	assert_non_null(strstr(err.message, "kernels/broken.cl"));
	assert_non_null(strstr(err.message, devices[0].name));
	assert_non_null(strstr(err.message, "CL_BUILD_PROGRAM_FAILURE"));
	assert_non_null(strstr(err.message, "build log"));
	assert_non_null(strstr(err.message, "undeclared_identifier_q7")); /* from the compiler */

	/* A log far longer than a message: cut, and said to be cut. 300 errors. */
	size_t cap = 64 * 1024, n = 0;
	char *many = malloc(cap);
	assert_non_null(many);
	n += (size_t)snprintf(many + n, cap - n, "__kernel void broken(__global float *out)\n{\n");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(many + n, cap - n, "\tout[%d] = undeclared_%d;\n", i, i);
	snprintf(many + n, cap - n, "}\n");
	assert_int_equal(semqr__cl_build_source(ctx, "kernels/many.cl", many, &prog, &err),
	                 SEMQR_ERR_OPENCL);
	free(many);
	size_t len = strlen(err.message);
	assert_true(len < sizeof err.message);
	assert_true(len > sizeof err.message / 2);
	assert_non_null(strstr(err.message, "kernels/many.cl"));
	assert_non_null(strstr(err.message, "undeclared_0"));
	const char *cut = "[build log truncated]";
	assert_true(len >= strlen(cut));
	assert_string_equal(err.message + len - strlen(cut), cut);

	/* A correct source builds. */
	assert_int_equal(semqr__cl_build_source(ctx, "ok", "__kernel void ok(__global int *o) { o[0] = 1; }",
	                                        &prog, &err), SEMQR_OK);
	assert_non_null(prog);
	clReleaseProgram(prog);
	semqr__cl_context_destroy(ctx);
}

/* semqr__cl_run_2d covers exactly the requested range, whatever its size:
 * every in-range work-item runs once, none outside writes. */
static void test_run_2d_covers_range(void **state)
{
	static const char src[] =
		"__kernel void mark(__global int *out, int width, int height)\n"
		"{\n"
		"\tint x = (int)get_global_id(0), y = (int)get_global_id(1);\n"
		"\tif (x >= width || y >= height) return;\n"
		/* Added, not stored: a work-item run twice would show. */
		"\tatomic_add(&out[y * width + x], 1 + x + 1000 * y);\n"
		"}\n";
	static const int sizes[][2] = {{1, 1}, {1, 37}, {61, 1}, {17, 3}, {16, 16}, {33, 65}, {257, 5}};
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	cl_program prog;
	assert_int_equal(semqr__cl_build_source(ctx, "mark", src, &prog, &err), SEMQR_OK);
	cl_int cst;
	cl_kernel k = clCreateKernel(prog, "mark", &cst);
	assert_int_equal(cst, CL_SUCCESS);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		int w = sizes[s][0], h = sizes[s][1];
		size_t total = (size_t)w * h + 64; /* 64 guard ints that must stay 0 */
		int *host = calloc(total, sizeof *host);
		assert_non_null(host);
		cl_mem buf = clCreateBuffer(semqr__cl_context_handle(ctx),
		                            CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
		                            total * sizeof *host, host, &cst);
		assert_int_equal(cst, CL_SUCCESS);
		assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
		assert_int_equal(clSetKernelArg(k, 1, sizeof w, &w), CL_SUCCESS);
		assert_int_equal(clSetKernelArg(k, 2, sizeof h, &h), CL_SUCCESS);
		assert_int_equal(semqr__cl_run_2d(ctx, k, (size_t)w, (size_t)h, &err), SEMQR_OK);
		assert_int_equal(clEnqueueReadBuffer(semqr__cl_queue(ctx), buf, CL_TRUE, 0,
		                                     total * sizeof *host, host, 0, NULL, NULL),
		                 CL_SUCCESS);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				assert_int_equal(host[y * w + x], 1 + x + 1000 * y);
		for (size_t i = (size_t)w * h; i < total; i++)
			assert_int_equal(host[i], 0);
		clReleaseMemObject(buf);
		free(host);
	}
	assert_int_equal(semqr__cl_run_2d(ctx, k, 0, 5, &err), SEMQR_ERR_INVALID_ARGUMENT);
	clReleaseKernel(k);
	clReleaseProgram(prog);
	semqr__cl_context_destroy(ctx);
}

/* Stage timing by events: kernels enqueued under a label are timed to it,
 * kernels enqueued without one are not recorded, and a label beyond the
 * caller's stages is dropped; the 1-D launcher covers its range like the
 * 2-D one. */
static void test_stage_times(void **state)
{
	static const char src[] =
		"__kernel void busy(__global float *out, int n)\n"
		"{\n"
		"\tint i = (int)(get_global_id(0) + get_global_id(1) * get_global_size(0));\n"
		"\tif (i >= n) return;\n"
		"\tfloat v = (float)i;\n"
		"\tfor (int k = 0; k < 2000; k++) v = sin(v) + 1.0f;\n"
		"\tout[i] = v;\n"
		"}\n";
	semqr_error err;
	semqr__cl_context *ctx;
	assert_int_equal(semqr__cl_context_create(&devices[0], &ctx, &err), SEMQR_OK);
	cl_program prog;
	assert_int_equal(semqr__cl_build_source(ctx, "busy", src, &prog, &err), SEMQR_OK);
	cl_int cst;
	cl_kernel k = clCreateKernel(prog, "busy", &cst);
	assert_int_equal(cst, CL_SUCCESS);
	int n = 4096;
	cl_mem buf = clCreateBuffer(semqr__cl_context_handle(ctx), CL_MEM_READ_WRITE,
	                            (size_t)n * sizeof(float), NULL, &cst);
	assert_int_equal(cst, CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof n, &n), CL_SUCCESS);

	assert_int_equal(semqr__cl_run_1d(ctx, k, (size_t)n, &err), SEMQR_OK); /* not recorded */
	semqr__cl_stage(ctx, 0);
	assert_int_equal(semqr__cl_run_1d(ctx, k, (size_t)n, &err), SEMQR_OK);
	assert_int_equal(semqr__cl_run_1d(ctx, k, (size_t)n, &err), SEMQR_OK);
	semqr__cl_stage(ctx, 2);
	assert_int_equal(semqr__cl_run_2d(ctx, k, 64, 64, &err), SEMQR_OK);
	semqr__cl_stage(ctx, 7); /* beyond the 3 stages below: dropped */
	assert_int_equal(semqr__cl_run_2d(ctx, k, 64, 64, &err), SEMQR_OK);
	semqr__cl_stage(ctx, -1);
	assert_int_equal(semqr__cl_run_1d(ctx, k, (size_t)n, &err), SEMQR_OK);
	double seconds[3] = {0, 0, 0};
	int kernels = -1;
	assert_int_equal(semqr__cl_stage_times(ctx, seconds, 3, &kernels, &err), SEMQR_OK);
	printf("stage times: %.6f %.6f %.6f s over %d kernels\n", seconds[0], seconds[1],
	       seconds[2], kernels);
	assert_int_equal(kernels, 4);
	assert_true(seconds[0] > 0.0 && seconds[2] > 0.0);
	assert_true(seconds[1] == 0.0);
	/* Forgotten once taken. */
	assert_int_equal(semqr__cl_stage_times(ctx, seconds, 3, &kernels, &err), SEMQR_OK);
	assert_int_equal(kernels, 0);
	assert_int_equal(semqr__cl_run_1d(ctx, k, 0, &err), SEMQR_ERR_INVALID_ARGUMENT);
	float *host = malloc((size_t)n * sizeof *host);
	assert_non_null(host);
	assert_int_equal(clEnqueueReadBuffer(semqr__cl_queue(ctx), buf, CL_TRUE, 0,
	                                     (size_t)n * sizeof *host, host, 0, NULL, NULL),
	                 CL_SUCCESS);
	for (int i = 0; i < n; i++)
		assert_true(isfinite(host[i]) && host[i] >= 0.0f && host[i] <= 2.0f);
	free(host);
	clReleaseMemObject(buf);
	clReleaseKernel(k);
	clReleaseProgram(prog);
	semqr__cl_context_destroy(ctx);
}

static void test_selftest_passes(void **state)
{
	for (int i = 0; i < device_count; i++) {
		semqr_error err;
		semqr_status st = semqr_cl_selftest(&devices[i], &err);
		if (st != SEMQR_OK)
			fail_msg("self-test on %d:%d %s: %s", devices[i].platform_index,
			         devices[i].device_index, devices[i].name, err.message);
		assert_int_equal(err.code, SEMQR_OK);
		assert_string_equal(err.message, "");
	}
}

/* ---- semqr info ------------------------------------------------------------- */

static void test_cli_info(void **state)
{
	char *out, *err_text;
	assert_int_equal(run_info(NULL, &out, &err_text, (const char *)NULL), 0);
	assert_non_null(strstr(out, "self-test: passed on "));
	for (int i = 0; i < device_count; i++) {
		assert_non_null(strstr(out, devices[i].name));
		assert_non_null(strstr(out, devices[i].platform_name));
	}
	/* Exactly one device is marked as the one in use. */
	int marks = 0;
	for (const char *p = out; (p = strstr(p, "\n* device ")) != NULL; p++)
		marks++;
	marks += strncmp(out, "* device ", 9) == 0;
	assert_int_equal(marks, 1);
	free(out);
	free(err_text);

	char spec[32];
	snprintf(spec, sizeof spec, "%d:%d", devices[0].platform_index, devices[0].device_index);
	assert_int_equal(run_info(NULL, &out, &err_text, "--device", spec, (const char *)NULL), 0);
	char want[SEMQR_CL_NAME_MAX + 64];
	snprintf(want, sizeof want, "self-test: passed on %s", devices[0].name);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof want, "* device %s: %s\n", spec, devices[0].name);
	assert_non_null(strstr(out, want));
	free(out);
	free(err_text);
}

static void test_cli_info_errors(void **state)
{
	char *out, *err_text;
	assert_int_equal(run_info(NULL, &out, &err_text, "--device", "no-such-device-zq9",
	                          (const char *)NULL), 1);
	assert_non_null(strstr(err_text, "semqr info: "));
	assert_non_null(strstr(err_text, "no-such-device-zq9"));
	assert_non_null(strstr(err_text, "available devices"));
	assert_non_null(strstr(err_text, devices[0].name));
	assert_null(strstr(out, "self-test"));
	free(out);
	free(err_text);

	assert_int_equal(run_info("SEMQR_DEVICE=no-such-device-zq9", &out, &err_text,
	                          (const char *)NULL), 1);
	assert_non_null(strstr(err_text, "SEMQR_DEVICE"));
	free(out);
	free(err_text);

	assert_int_equal(run_info(NULL, &out, &err_text, "--frobnicate", (const char *)NULL), 2);
	assert_non_null(strstr(err_text, "--frobnicate"));
	assert_non_null(strstr(err_text, "usage: semqr info"));
	assert_string_equal(out, "");
	free(out);
	free(err_text);

	assert_int_equal(run_info(NULL, &out, &err_text, "--help", (const char *)NULL), 0);
	assert_non_null(strstr(out, "usage: semqr info"));
	assert_non_null(strstr(out, "--device"));
	assert_string_equal(err_text, "");
	free(out);
	free(err_text);
}

static void test_cli_info_no_platform(void **state)
{
	char empty[1024], env[1100];
	snprintf(empty, sizeof empty, "%s/no_vendors", SEMQR_TEST_TMP);
	assert_int_equal(test_mkdir(empty), 0);
	snprintf(env, sizeof env, "OCL_ICD_VENDORS=%s", empty);
	char *out, *err_text;
	int status = run_info(env, &out, &err_text, (const char *)NULL);
	assert_int_equal(status, 1);
	assert_non_null(strstr(err_text, "semqr info: no OpenCL platform found"));
	assert_non_null(strstr(err_text, "pocl-opencl-icd"));
	assert_null(strstr(out, "self-test"));
	free(out);
	free(err_text);
}

int main(void)
{
	unsetenv("SEMQR_DEVICE");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_source_lookup),
		cmocka_unit_test(test_stage_times),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_list_devices),
		cmocka_unit_test(test_select_by_index),
		cmocka_unit_test(test_select_by_name),
		cmocka_unit_test(test_select_bogus_name),
		cmocka_unit_test(test_select_default_and_environment),
		cmocka_unit_test(test_program_cache),
		cmocka_unit_test(test_binary_cache),
		cmocka_unit_test(test_program_radius),
		cmocka_unit_test(test_build_failure_carries_log),
		cmocka_unit_test(test_run_2d_covers_range),
		cmocka_unit_test(test_selftest_passes),
		cmocka_unit_test(test_cli_info),
		cmocka_unit_test(test_cli_info_errors),
		cmocka_unit_test(test_cli_info_no_platform),
	};
	return cmocka_run_group_tests(tests, setup_devices, teardown_devices);
}
