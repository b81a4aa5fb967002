/* semqr — OpenCL devices: listing, choosing and checking them.
 *
 * semqr's kernels are OpenCL C 1.2 sources embedded into the library at build
 * time; nothing is read from disk at run time. */
#ifndef SEMQR_CL_H
#define SEMQR_CL_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEMQR_CL_NAME_MAX 256

typedef struct semqr_cl_device_info {
	int platform_index, device_index;   /* indices as enumerated by OpenCL */
	char platform_name[SEMQR_CL_NAME_MAX];
	char platform_version[SEMQR_CL_NAME_MAX];
	char name[SEMQR_CL_NAME_MAX];
	char version[SEMQR_CL_NAME_MAX];    /* CL_DEVICE_VERSION */
	char c_version[SEMQR_CL_NAME_MAX];  /* CL_DEVICE_OPENCL_C_VERSION */
	char type[32];                      /* "CPU", "GPU", "accelerator", ... */
	unsigned compute_units;
	uint64_t global_mem_bytes;
	uint64_t local_mem_bytes;
	uint64_t max_alloc_bytes;
	size_t max_work_group_size;
} semqr_cl_device_info;

/* Lists every device of every platform. On success *devices is a malloc'd
 * array of *count entries (free with free()). No platform or no device gives
 * SEMQR_ERR_NO_PLATFORM with a message naming the package to install. */
semqr_status semqr_cl_list_devices(semqr_cl_device_info **devices, int *count,
                                   semqr_error *err);

/* Resolves a device selector to indices. spec is NULL or "" for the default
 * (the SEMQR_DEVICE environment variable if set, else the first GPU, else the
 * first device), "P:D" for platform P device D, or a case-insensitive
 * substring of the device name. */
semqr_status semqr_cl_select_device(const char *spec, semqr_cl_device_info *chosen,
                                    semqr_error *err);

/* Builds the embedded self-test kernel on the device and runs it on a few
 * thousand values, checking every result against a C reference. On a build
 * failure the message carries the build log. */
semqr_status semqr_cl_selftest(const semqr_cl_device_info *dev, semqr_error *err);

#ifdef __cplusplus
}
#endif
#endif
