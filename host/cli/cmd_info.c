/* semqr info: lists the OpenCL platforms and devices, marks the one semqr
 * would use, and runs the self-test kernel there. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/cl_internal.h"
#include "cli/cli.h"
#include "semqr/semqr.h"

static void usage(FILE *f)
{
	fprintf(f,
	"usage: semqr info [OPTIONS]\n"
	"Lists every OpenCL platform and device, marks with '*' the one semqr would use,\n"
	"then builds and runs the self-test kernel on it and checks the results against C.\n\n"
	"  -d, --device SPEC       the device to test: P:D (platform P, device D, as listed)\n"
	"                          or a case-insensitive substring of the device name.\n"
	"                          Default: the SEMQR_DEVICE environment variable if set,\n"
	"                          else the first GPU, else the first device\n"
	"  -h, --help              show this help\n");
}

/* A byte count as "3.4 GiB", "512 KiB" or "100 B". */
static void format_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024.0;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(out, 32, "%.0f %s", v, units[u]);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
}

/* Prints the devices grouped by platform; `chosen` (or none when NULL) is
 * marked with '*'. */
static void print_devices(const semqr_cl_device_info *list, int n,
                          const semqr_cl_device_info *chosen)
{
	for (int i = 0; i < n; i++) {
		const semqr_cl_device_info *d = &list[i];
		if (i == 0 || d->platform_index != list[i - 1].platform_index)
			printf("%sOpenCL platform %d: %s (%s)\n", i ? "\n" : "", d->platform_index,
			       d->platform_name, d->platform_version);
		int mark = chosen && chosen->platform_index == d->platform_index
		           && chosen->device_index == d->device_index;
		char global[32], local[32], alloc[32];
		format_bytes(d->global_mem_bytes, global);
		format_bytes(d->local_mem_bytes, local);
		format_bytes(d->max_alloc_bytes, alloc);
		printf("%c device %d:%d: %s\n", mark ? '*' : ' ', d->platform_index, d->device_index,
		       d->name);
		printf("      type %s; %s; %s\n", d->type, d->version, d->c_version);
		printf("      %u compute units; global memory %s; local memory %s; max allocation %s; "
		       "max work-group size %zu\n", d->compute_units, global, local, alloc,
		       d->max_work_group_size);
	}
}

int semqr_cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"device", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spec = NULL;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': spec = optarg; break;
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "semqr info: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "semqr info: unknown option '%s'\n\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "semqr info: unexpected argument '%s'\n\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	semqr_error err = {0};
	semqr_cl_device_info *list;
	int n;
	if (semqr_cl_list_devices(&list, &n, &err) != SEMQR_OK) {
		fprintf(stderr, "semqr info: %s\n", err.message);
		return 1;
	}
	semqr_cl_device_info chosen;
	if (semqr_cl_select_device(spec, &chosen, &err) != SEMQR_OK) {
		print_devices(list, n, NULL);
		free(list);
		fprintf(stderr, "semqr info: %s\n", err.message);
		return 1;
	}
	print_devices(list, n, &chosen);
	free(list);

	const char *env = getenv("SEMQR_DEVICE");
	if (spec && spec[0])
		printf("\nusing device %d:%d, selected by --device '%s'\n", chosen.platform_index,
		       chosen.device_index, spec);
	else if (env && env[0])
		printf("\nusing device %d:%d, selected by SEMQR_DEVICE='%s'\n", chosen.platform_index,
		       chosen.device_index, env);
	else
		printf("\nusing device %d:%d, the default (first GPU, else first device)\n",
		       chosen.platform_index, chosen.device_index);
	fflush(stdout);

	if (semqr_cl_selftest(&chosen, &err) != SEMQR_OK) {
		printf("self-test: FAILED on %s\n", chosen.name);
		fflush(stdout);
		fprintf(stderr, "semqr info: %s\n", err.message);
		return 1;
	}
	printf("self-test: passed on %s (%d values checked)\n", chosen.name,
	       SEMQR__CL_SELFTEST_VALUES);
	return 0;
}
