/* Enumerating OpenCL platforms and devices, and resolving device selectors.
 *
 * Devices are numbered as OpenCL enumerates them: platforms in the order of
 * clGetPlatformIDs, and within a platform the devices of every type in the
 * order of clGetDeviceIDs(CL_DEVICE_TYPE_ALL). Nothing is cached: each call
 * enumerates afresh, so the indices are those of the current process's
 * OpenCL loader. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/cl_internal.h"
#include "common/error_internal.h"

#define INSTALL_HINT "install an OpenCL driver, e.g. apt-get install pocl-opencl-icd"

/* The numeric fields of semqr_cl_device_info are filled by clGetDeviceInfo
 * directly, so their sizes must be those of the OpenCL types. */
_Static_assert(sizeof(unsigned) == sizeof(cl_uint), "compute_units must be a cl_uint");
_Static_assert(sizeof(uint64_t) == sizeof(cl_ulong), "memory sizes must be cl_ulong");

/* All platform handles, malloc'd. No platform is SEMQR_ERR_NO_PLATFORM. */
static semqr_status get_platforms(cl_platform_id **out, cl_uint *count, semqr_error *err)
{
	cl_uint n = 0;
	cl_int st = clGetPlatformIDs(0, NULL, &n);
	if (st != CL_SUCCESS || n == 0)
		return semqr__fail(err, SEMQR_ERR_NO_PLATFORM,
		                   "no OpenCL platform found (clGetPlatformIDs: %s); " INSTALL_HINT,
		                   st != CL_SUCCESS ? semqr__cl_status_name(st) : "0 platforms");
	cl_platform_id *ids = malloc(n * sizeof *ids);
	if (!ids)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "listing %u OpenCL platforms: out of memory", n);
	st = clGetPlatformIDs(n, ids, &n);
	if (st != CL_SUCCESS) {
		free(ids);
		return semqr__cl_fail(err, st, "listing OpenCL platforms: clGetPlatformIDs");
	}
	*out = ids;
	*count = n;
	return SEMQR_OK;
}

/* All device handles of platform number pi, malloc'd (NULL when it has none). */
static semqr_status get_devices(cl_platform_id platform, int pi, cl_device_id **out,
                                cl_uint *count, semqr_error *err)
{
	*out = NULL;
	*count = 0;
	cl_uint n = 0;
	cl_int st = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
	if (st == CL_DEVICE_NOT_FOUND || (st == CL_SUCCESS && n == 0))
		return SEMQR_OK;
	if (st != CL_SUCCESS)
		return semqr__cl_fail(err, st, "OpenCL platform %d: clGetDeviceIDs", pi);
	cl_device_id *ids = malloc(n * sizeof *ids);
	if (!ids)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "OpenCL platform %d: listing %u devices: out of memory", pi, n);
	st = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids, &n);
	if (st != CL_SUCCESS) {
		free(ids);
		return semqr__cl_fail(err, st, "OpenCL platform %d: clGetDeviceIDs", pi);
	}
	*out = ids;
	*count = n;
	return SEMQR_OK;
}

/* Copies src into dst[SEMQR_CL_NAME_MAX] without leading or trailing white
 * space (some drivers pad device names), truncating if needed. */
static void copy_trimmed(char *dst, const char *src)
{
	while (*src == ' ' || *src == '\t' || *src == '\n')
		src++;
	size_t len = strlen(src);
	while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == '\t' || src[len - 1] == '\n'))
		len--;
	if (len > SEMQR_CL_NAME_MAX - 1)
		len = SEMQR_CL_NAME_MAX - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Reads a string property of the device (when device is non-NULL) or of the
 * platform into out[SEMQR_CL_NAME_MAX]; strings of any length are accepted
 * and truncated. Returns the OpenCL status. */
static cl_int query_string(cl_platform_id platform, cl_device_id device, cl_uint param,
                           char *out)
{
	size_t len = 0;
	cl_int st = device ? clGetDeviceInfo(device, param, 0, NULL, &len)
	                   : clGetPlatformInfo(platform, param, 0, NULL, &len);
	if (st != CL_SUCCESS)
		return st;
	char *buf = malloc(len + 1);
	if (!buf)
		return CL_OUT_OF_HOST_MEMORY;
	st = device ? clGetDeviceInfo(device, param, len, buf, NULL)
	            : clGetPlatformInfo(platform, param, len, buf, NULL);
	if (st == CL_SUCCESS) {
		buf[len] = '\0';
		copy_trimmed(out, buf);
	}
	free(buf);
	return st;
}

/* "CPU", "GPU", "accelerator", "custom", joined by '+' if several bits are
 * set; "unknown" when none is. */
static void type_name(cl_device_type type, char out[32])
{
	static const struct { cl_device_type bit; const char *name; } names[] = {
		{CL_DEVICE_TYPE_CPU, "CPU"},
		{CL_DEVICE_TYPE_GPU, "GPU"},
		{CL_DEVICE_TYPE_ACCELERATOR, "accelerator"},
		{CL_DEVICE_TYPE_CUSTOM, "custom"},
	};
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(type & names[i].bit))
			continue;
		if (out[0])
			strcat(out, "+");
		strcat(out, names[i].name);
	}
	if (!out[0])
		strcpy(out, "unknown");
}

/* Fills *info for device di of platform pi. */
static semqr_status describe(cl_platform_id platform, cl_device_id device, int pi, int di,
                             semqr_cl_device_info *info, semqr_error *err)
{
	static const struct { cl_uint param; const char *name; size_t offset; } strings[] = {
		{CL_DEVICE_NAME, "CL_DEVICE_NAME", offsetof(semqr_cl_device_info, name)},
		{CL_DEVICE_VERSION, "CL_DEVICE_VERSION", offsetof(semqr_cl_device_info, version)},
		{CL_DEVICE_OPENCL_C_VERSION, "CL_DEVICE_OPENCL_C_VERSION",
		 offsetof(semqr_cl_device_info, c_version)},
	};
	static const struct { cl_uint param; const char *name; size_t offset, size; } values[] = {
		{CL_DEVICE_MAX_COMPUTE_UNITS, "CL_DEVICE_MAX_COMPUTE_UNITS",
		 offsetof(semqr_cl_device_info, compute_units), sizeof(cl_uint)},
		{CL_DEVICE_GLOBAL_MEM_SIZE, "CL_DEVICE_GLOBAL_MEM_SIZE",
		 offsetof(semqr_cl_device_info, global_mem_bytes), sizeof(cl_ulong)},
		{CL_DEVICE_LOCAL_MEM_SIZE, "CL_DEVICE_LOCAL_MEM_SIZE",
		 offsetof(semqr_cl_device_info, local_mem_bytes), sizeof(cl_ulong)},
		{CL_DEVICE_MAX_MEM_ALLOC_SIZE, "CL_DEVICE_MAX_MEM_ALLOC_SIZE",
		 offsetof(semqr_cl_device_info, max_alloc_bytes), sizeof(cl_ulong)},
		{CL_DEVICE_MAX_WORK_GROUP_SIZE, "CL_DEVICE_MAX_WORK_GROUP_SIZE",
		 offsetof(semqr_cl_device_info, max_work_group_size), sizeof(size_t)},
	};
	memset(info, 0, sizeof *info);
	info->platform_index = pi;
	info->device_index = di;
	cl_int st = query_string(platform, NULL, CL_PLATFORM_NAME, info->platform_name);
	if (st != CL_SUCCESS)
		return semqr__cl_fail(err, st, "OpenCL platform %d: clGetPlatformInfo(CL_PLATFORM_NAME)", pi);
	st = query_string(platform, NULL, CL_PLATFORM_VERSION, info->platform_version);
	if (st != CL_SUCCESS)
		return semqr__cl_fail(err, st, "OpenCL platform %d: clGetPlatformInfo(CL_PLATFORM_VERSION)", pi);
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		st = query_string(platform, device, strings[i].param, (char *)info + strings[i].offset);
		if (st != CL_SUCCESS)
			return semqr__cl_fail(err, st, "OpenCL device %d:%d: clGetDeviceInfo(%s)",
			                      pi, di, strings[i].name);
	}
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		st = clGetDeviceInfo(device, values[i].param, values[i].size,
		                     (char *)info + values[i].offset, NULL);
		if (st != CL_SUCCESS)
			return semqr__cl_fail(err, st, "OpenCL device %d:%d: clGetDeviceInfo(%s)",
			                      pi, di, values[i].name);
	}
	cl_device_type type;
	st = clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
	if (st != CL_SUCCESS)
		return semqr__cl_fail(err, st, "OpenCL device %d:%d: clGetDeviceInfo(CL_DEVICE_TYPE)", pi, di);
	type_name(type, info->type);
	return SEMQR_OK;
}

semqr_status semqr_cl_list_devices(semqr_cl_device_info **devices, int *count, semqr_error *err)
{
	*devices = NULL;
	*count = 0;
	cl_platform_id *platforms;
	cl_uint platform_count;
	semqr_status st = get_platforms(&platforms, &platform_count, err);
	if (st != SEMQR_OK)
		return st;
	semqr_cl_device_info *list = NULL;
	int n = 0;
	for (cl_uint pi = 0; pi < platform_count && st == SEMQR_OK; pi++) {
		cl_device_id *ids;
		cl_uint id_count;
		st = get_devices(platforms[pi], (int)pi, &ids, &id_count, err);
		if (st != SEMQR_OK || id_count == 0)
			continue;
		semqr_cl_device_info *grown = realloc(list, ((size_t)n + id_count) * sizeof *list);
		if (!grown) {
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "listing OpenCL devices: out of memory");
		} else {
			list = grown;
			for (cl_uint di = 0; di < id_count && st == SEMQR_OK; di++)
				st = describe(platforms[pi], ids[di], (int)pi, (int)di, &list[n++], err);
		}
		free(ids);
	}
	free(platforms);
	if (st == SEMQR_OK && n == 0)
		st = semqr__fail(err, SEMQR_ERR_NO_PLATFORM,
		                 "no OpenCL device found on %u platform(s); " INSTALL_HINT, platform_count);
	if (st != SEMQR_OK) {
		free(list);
		return st;
	}
	*devices = list;
	*count = n;
	semqr__clear(err);
	return SEMQR_OK;
}

semqr_status semqr__cl_device_handles(const semqr_cl_device_info *dev,
                                      cl_platform_id *platform, cl_device_id *device,
                                      semqr_cl_device_info *actual, semqr_error *err)
{
	cl_platform_id *platforms;
	cl_uint platform_count;
	semqr_status st = get_platforms(&platforms, &platform_count, err);
	if (st != SEMQR_OK)
		return st;
	if (dev->platform_index < 0 || (cl_uint)dev->platform_index >= platform_count) {
		free(platforms);
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "OpenCL device %d:%d: no platform %d (there are %u)",
		                   dev->platform_index, dev->device_index, dev->platform_index,
		                   platform_count);
	}
	*platform = platforms[dev->platform_index];
	free(platforms);
	cl_device_id *ids;
	cl_uint id_count;
	st = get_devices(*platform, dev->platform_index, &ids, &id_count, err);
	if (st != SEMQR_OK)
		return st;
	if (dev->device_index < 0 || (cl_uint)dev->device_index >= id_count) {
		free(ids);
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "OpenCL device %d:%d: platform %d has %u device(s)",
		                   dev->platform_index, dev->device_index, dev->platform_index,
		                   id_count);
	}
	*device = ids[dev->device_index];
	free(ids);
	return describe(*platform, *device, dev->platform_index, dev->device_index, actual, err);
}

/* ---- selectors ---------------------------------------------------------- */

/* Parses "P:D" (two non-empty runs of at most 9 decimal digits). */
static bool parse_indices(const char *spec, int *p, int *d)
{
	int *dst[2] = {p, d};
	for (int part = 0; part < 2; part++) {
		long v = 0;
		int digits = 0;
		while (*spec >= '0' && *spec <= '9' && digits < 10) {
			v = v * 10 + (*spec++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 9 || *spec != (part == 0 ? ':' : '\0'))
			return false;
		*dst[part] = (int)v;
		spec++;
	}
	return true;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether needle occurs in hay, ignoring ASCII case. */
static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] && lower((unsigned char)hay[i]) == lower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return true;
	}
	return n == 0;
}

/* Fails with SEMQR_ERR_INVALID_ARGUMENT: "<why>; available devices: 0:0 NAME
 * (PLATFORM), ..." truncated to the message size. */
static semqr_status fail_no_match(semqr_error *err, const char *why,
                                  const semqr_cl_device_info *list, int n)
{
	char msg[SEMQR_ERROR_MESSAGE_MAX];
	size_t used = (size_t)snprintf(msg, sizeof msg, "%s; available devices:", why);
	for (int i = 0; i < n && used < sizeof msg; i++)
		used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %d:%d %s (%s)",
		                         i ? "," : "", list[i].platform_index, list[i].device_index,
		                         list[i].name, list[i].platform_name);
	return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s", msg);
}

semqr_status semqr_cl_select_device(const char *spec, semqr_cl_device_info *chosen,
                                    semqr_error *err)
{
	const char *origin = "device selector";
	if (!spec || !spec[0]) {
		spec = getenv("SEMQR_DEVICE");
		origin = "SEMQR_DEVICE";
	}
	semqr_cl_device_info *list;
	int n;
	semqr_status st = semqr_cl_list_devices(&list, &n, err);
	if (st != SEMQR_OK)
		return st;
	int found = -1;
	char why[2 * SEMQR_CL_NAME_MAX];
	int p, d;
	if (!spec || !spec[0]) {
		/* Default: the first GPU, else the first device. */
		found = 0;
		for (int i = n - 1; i >= 0; i--)
			if (strstr(list[i].type, "GPU"))
				found = i;
	} else if (parse_indices(spec, &p, &d)) {
		for (int i = 0; i < n && found < 0; i++)
			if (list[i].platform_index == p && list[i].device_index == d)
				found = i;
		snprintf(why, sizeof why, "%s \"%s\": no OpenCL device %d:%d", origin, spec, p, d);
	} else {
		for (int i = 0; i < n && found < 0; i++)
			if (contains_ci(list[i].name, spec))
				found = i;
		snprintf(why, sizeof why, "%s \"%.*s\": no OpenCL device name contains it", origin,
		         SEMQR_CL_NAME_MAX, spec);
	}
	if (found < 0)
		st = fail_no_match(err, why, list, n);
	else
		*chosen = list[found];
	free(list);
	if (st == SEMQR_OK)
		semqr__clear(err);
	return st;
}
