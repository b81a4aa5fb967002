/* Lookup of the OpenCL C sources embedded from the kernels directory (the table
 * itself is generated at build time by host/cl/embed_kernels.cmake). */
#include <stddef.h>
#include <string.h>

#include "cl/kernel_sources.h"

const char *semqr__kernel_source(const char *name)
{
	if (!name)
		return NULL;
	for (const struct semqr__kernel_source *k = semqr__kernel_sources; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k->source;
	return NULL;
}
