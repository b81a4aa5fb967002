/* Internal: OpenCL C sources embedded at build time from the kernels directory (kernels/NAME.cl). */
#ifndef SEMQR_KERNEL_SOURCES_H
#define SEMQR_KERNEL_SOURCES_H

struct semqr__kernel_source {
	const char *name;   /* file name without .cl, e.g. "selftest" */
	const char *source; /* NUL-terminated OpenCL C */
};

/* All embedded kernels, terminated by an entry whose name is NULL. */
extern const struct semqr__kernel_source semqr__kernel_sources[];

/* The source of kernels/NAME.cl, or NULL when there is none. */
const char *semqr__kernel_source(const char *name);

#endif
