/* OpenCL contexts, program building with a per-context cache (backed by the
 * on-disk binary cache of binary_cache.c), 2-D kernel
 * launches, and OpenCL status names (contracts in cl/cl_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl_ext.h>

#include "cl/cl_internal.h"
#include "cl/kernel_sources.h"
#include "common/error_internal.h"

/* Programs per kernel file: the plain one and one per radius 0 ..
 * SEMQR__CL_RADIUS_MAX (see semqr__cl_program_radius). */
#define VARIANTS (SEMQR__CL_RADIUS_MAX + 2)

struct semqr__cl_context {
	cl_context context;
	cl_command_queue queue;            /* in-order, profiling enabled */
	cl_device_id device;
	semqr_cl_device_info info;         /* the device, described when ctx was created */
	size_t max_item_size[2];           /* CL_DEVICE_MAX_WORK_ITEM_SIZES, dimensions 0 and 1 */
	size_t program_count;              /* entries of semqr__kernel_sources before the NULL */
	cl_program *programs;              /* programs[i * VARIANTS + v]: built from
	                                      semqr__kernel_sources[i] with variant v (0: plain,
	                                      r + 1: radius r), or NULL */
	unsigned char *cached;             /* cached[k]: programs[k] came from the binary cache */
	/* Stage timing (see semqr__cl_stage): the label of kernels enqueued
	 * now (-1: none), and the events recorded since the last
	 * semqr__cl_stage_times with their labels. */
	int stage;
	cl_event *events;
	int *labels;
	int nevents, cap;
};

/* ---- status codes -------------------------------------------------------- */

const char *semqr__cl_status_name(cl_int status)
{
#define NAME(code) case code: return #code;
	switch (status) {
	NAME(CL_SUCCESS)
	NAME(CL_DEVICE_NOT_FOUND)
	NAME(CL_DEVICE_NOT_AVAILABLE)
	NAME(CL_COMPILER_NOT_AVAILABLE)
	NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
	NAME(CL_OUT_OF_RESOURCES)
	NAME(CL_OUT_OF_HOST_MEMORY)
	NAME(CL_PROFILING_INFO_NOT_AVAILABLE)
	NAME(CL_MEM_COPY_OVERLAP)
	NAME(CL_IMAGE_FORMAT_MISMATCH)
	NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED)
	NAME(CL_BUILD_PROGRAM_FAILURE)
	NAME(CL_MAP_FAILURE)
	NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
	NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
	NAME(CL_COMPILE_PROGRAM_FAILURE)
	NAME(CL_LINKER_NOT_AVAILABLE)
	NAME(CL_LINK_PROGRAM_FAILURE)
	NAME(CL_DEVICE_PARTITION_FAILED)
	NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
	NAME(CL_INVALID_VALUE)
	NAME(CL_INVALID_DEVICE_TYPE)
	NAME(CL_INVALID_PLATFORM)
	NAME(CL_INVALID_DEVICE)
	NAME(CL_INVALID_CONTEXT)
	NAME(CL_INVALID_QUEUE_PROPERTIES)
	NAME(CL_INVALID_COMMAND_QUEUE)
	NAME(CL_INVALID_HOST_PTR)
	NAME(CL_INVALID_MEM_OBJECT)
	NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
	NAME(CL_INVALID_IMAGE_SIZE)
	NAME(CL_INVALID_SAMPLER)
	NAME(CL_INVALID_BINARY)
	NAME(CL_INVALID_BUILD_OPTIONS)
	NAME(CL_INVALID_PROGRAM)
	NAME(CL_INVALID_PROGRAM_EXECUTABLE)
	NAME(CL_INVALID_KERNEL_NAME)
	NAME(CL_INVALID_KERNEL_DEFINITION)
	NAME(CL_INVALID_KERNEL)
	NAME(CL_INVALID_ARG_INDEX)
	NAME(CL_INVALID_ARG_VALUE)
	NAME(CL_INVALID_ARG_SIZE)
	NAME(CL_INVALID_KERNEL_ARGS)
	NAME(CL_INVALID_WORK_DIMENSION)
	NAME(CL_INVALID_WORK_GROUP_SIZE)
	NAME(CL_INVALID_WORK_ITEM_SIZE)
	NAME(CL_INVALID_GLOBAL_OFFSET)
	NAME(CL_INVALID_EVENT_WAIT_LIST)
	NAME(CL_INVALID_EVENT)
	NAME(CL_INVALID_OPERATION)
	NAME(CL_INVALID_GL_OBJECT)
	NAME(CL_INVALID_BUFFER_SIZE)
	NAME(CL_INVALID_MIP_LEVEL)
	NAME(CL_INVALID_GLOBAL_WORK_SIZE)
	NAME(CL_INVALID_PROPERTY)
	NAME(CL_INVALID_IMAGE_DESCRIPTOR)
	NAME(CL_INVALID_COMPILER_OPTIONS)
	NAME(CL_INVALID_LINKER_OPTIONS)
	NAME(CL_INVALID_DEVICE_PARTITION_COUNT)
	NAME(CL_PLATFORM_NOT_FOUND_KHR)
	default: return "unknown OpenCL status";
	}
#undef NAME
}

semqr_status semqr__cl_fail(semqr_error *err, cl_int status, const char *fmt, ...)
{
	char what[SEMQR_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return semqr__fail(err, SEMQR_ERR_OPENCL, "%s: %s (%d)", what,
	                   semqr__cl_status_name(status), (int)status);
}

/* ---- contexts ------------------------------------------------------------ */

semqr_status semqr__cl_context_create(const semqr_cl_device_info *dev,
                                      semqr__cl_context **out, semqr_error *err)
{
	*out = NULL;
	semqr__cl_context *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "OpenCL context: out of memory");
	cl_platform_id platform;
	semqr_status st = semqr__cl_device_handles(dev, &platform, &ctx->device, &ctx->info, err);
	if (st != SEMQR_OK) {
		free(ctx);
		return st;
	}
	while (semqr__kernel_sources[ctx->program_count].name)
		ctx->program_count++;
	ctx->programs = calloc(ctx->program_count * VARIANTS + 1, sizeof *ctx->programs);
	ctx->cached = calloc(ctx->program_count * VARIANTS + 1, 1);
	if (!ctx->programs || !ctx->cached) {
		free(ctx->programs);
		free(ctx->cached);
		free(ctx);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "OpenCL context: out of memory");
	}

	const char *name = ctx->info.name;
	cl_int cst;
	cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
	ctx->context = clCreateContext(props, 1, &ctx->device, NULL, NULL, &cst);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "OpenCL device %s: clCreateContext", name);
		goto fail;
	}
	ctx->stage = -1;
	ctx->queue =
	    clCreateCommandQueue(ctx->context, ctx->device, CL_QUEUE_PROFILING_ENABLE, &cst);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "OpenCL device %s: clCreateCommandQueue", name);
		goto fail;
	}

	/* Work-item limits: CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS is at least 3, so
	 * dimensions 0 and 1 always exist. */
	cl_uint dims;
	cst = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL);
	if (cst == CL_SUCCESS && dims < 2)
		cst = CL_INVALID_WORK_DIMENSION;
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "OpenCL device %s: CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS", name);
		goto fail;
	}
	size_t *sizes = malloc(dims * sizeof *sizes);
	if (!sizes) {
		st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "OpenCL context: out of memory");
		goto fail;
	}
	cst = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof *sizes,
	                      sizes, NULL);
	ctx->max_item_size[0] = sizes[0];
	ctx->max_item_size[1] = sizes[1];
	free(sizes);
	if (cst != CL_SUCCESS) {
		st = semqr__cl_fail(err, cst, "OpenCL device %s: CL_DEVICE_MAX_WORK_ITEM_SIZES", name);
		goto fail;
	}
	*out = ctx;
	semqr__clear(err);
	return SEMQR_OK;
fail:
	semqr__cl_context_destroy(ctx);
	return st;
}

void semqr__cl_context_destroy(semqr__cl_context *ctx)
{
	if (!ctx)
		return;
	if (ctx->queue)
		clFinish(ctx->queue);
	for (int i = 0; i < ctx->nevents; i++)
		clReleaseEvent(ctx->events[i]);
	free(ctx->events);
	free(ctx->labels);
	for (size_t i = 0; i < ctx->program_count * VARIANTS; i++)
		if (ctx->programs[i])
			clReleaseProgram(ctx->programs[i]);
	if (ctx->queue)
		clReleaseCommandQueue(ctx->queue);
	if (ctx->context)
		clReleaseContext(ctx->context);
	free(ctx->programs);
	free(ctx->cached);
	free(ctx);
}

cl_context semqr__cl_context_handle(const semqr__cl_context *ctx) { return ctx->context; }
cl_command_queue semqr__cl_queue(const semqr__cl_context *ctx) { return ctx->queue; }
cl_device_id semqr__cl_device(const semqr__cl_context *ctx) { return ctx->device; }
const semqr_cl_device_info *semqr__cl_device_info(const semqr__cl_context *ctx) { return &ctx->info; }

/* ---- programs -------------------------------------------------------------- */

/* Fills err for a failed clBuildProgram: "LABEL: build failed on DEVICE:
 * STATUS (code); build log:\nLOG", the log trimmed of surrounding white space
 * and cut with a "[build log truncated]" line when the message would not fit
 * (the first diagnostics matter most). */
static semqr_status fail_build(const semqr__cl_context *ctx, cl_program prog, const char *label,
                               cl_int status, semqr_error *err)
{
	static const char cut[] = "\n[build log truncated]";
	char msg[SEMQR_ERROR_MESSAGE_MAX];
	int head = snprintf(msg, sizeof msg, "%s: build failed on %s: %s (%d); build log:\n",
	                    label, ctx->info.name, semqr__cl_status_name(status), (int)status);
	if (head < 0 || (size_t)head >= sizeof msg)
		return semqr__fail(err, SEMQR_ERR_OPENCL, "%s", msg);

	size_t len = 0;
	char *log = NULL;
	if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS
	    && (log = malloc(len + 1)) != NULL
	    && clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS)
		log[len] = '\0';
	else if (log)
		log[0] = '\0';
	const char *text = log ? log : "";
	while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
		text++;
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t'
	                 || text[n - 1] == '\r'))
		n--;
	if (n == 0) {
		text = "(empty)";
		n = strlen(text);
	}
	size_t room = sizeof msg - 1 - (size_t)head;
	if (n <= room) {
		memcpy(msg + head, text, n);
		msg[(size_t)head + n] = '\0';
	} else {
		size_t keep = room > sizeof cut - 1 ? room - (sizeof cut - 1) : 0;
		memcpy(msg + head, text, keep);
		memcpy(msg + head + keep, cut, room - keep);
		msg[sizeof msg - 1] = '\0';
	}
	free(log);
	return semqr__fail(err, SEMQR_ERR_OPENCL, "%s", msg);
}

/* semqr__cl_build_source with these build options. */
static semqr_status build_with(semqr__cl_context *ctx, const char *label, const char *source,
                               const char *options, cl_program *out, semqr_error *err)
{
	cl_int st;
	cl_program prog = clCreateProgramWithSource(ctx->context, 1, &source, NULL, &st);
	if (st != CL_SUCCESS)
		return semqr__cl_fail(err, st, "%s on %s: clCreateProgramWithSource", label, ctx->info.name);
	st = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
	if (st != CL_SUCCESS) {
		semqr_status s = fail_build(ctx, prog, label, st, err);
		clReleaseProgram(prog);
		return s;
	}
	*out = prog;
	return SEMQR_OK;
}

semqr_status semqr__cl_build_source(semqr__cl_context *ctx, const char *label,
                                    const char *source, cl_program *out, semqr_error *err)
{
	return build_with(ctx, label, source, SEMQR__CL_BUILD_OPTIONS, out, err);
}

/* The index of kernels/NAME.cl in semqr__kernel_sources, or program_count. */
static size_t source_index(const semqr__cl_context *ctx, const char *name)
{
	size_t i = 0;
	while (i < ctx->program_count && strcmp(semqr__kernel_sources[i].name, name) != 0)
		i++;
	return i;
}

semqr_status semqr__cl_program_radius(semqr__cl_context *ctx, const char *name, int radius,
                                      cl_program *out, semqr_error *err)
{
	size_t i = source_index(ctx, name);
	if (i == ctx->program_count)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "kernels/%s.cl: no such kernel is embedded in the library", name);
	if (radius < -1 || radius > SEMQR__CL_RADIUS_MAX)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "kernels/%s.cl: radius %d outside 0..%d", name, radius,
		                   SEMQR__CL_RADIUS_MAX);
	size_t k = i * VARIANTS + (size_t)(radius + 1);
	char options[64];
	if (radius < 0)
		snprintf(options, sizeof options, "%s", SEMQR__CL_BUILD_OPTIONS);
	else
		snprintf(options, sizeof options, "%s -D SEMQR_RADIUS=%d", SEMQR__CL_BUILD_OPTIONS,
		         radius);
	const char *source = semqr__kernel_sources[i].source;
	if (!ctx->programs[k]) {
		ctx->programs[k] = semqr__cl_cache_load(ctx->context, ctx->device, source, options);
		ctx->cached[k] = ctx->programs[k] != NULL;
	}
	if (!ctx->programs[k]) {
		char label[SEMQR_CL_NAME_MAX + 32];
		if (radius < 0)
			snprintf(label, sizeof label, "kernels/%.*s.cl", SEMQR_CL_NAME_MAX, name);
		else
			snprintf(label, sizeof label, "kernels/%.*s.cl (radius %d)", SEMQR_CL_NAME_MAX,
			         name, radius);
		semqr_status st = build_with(ctx, label, source, options, &ctx->programs[k], err);
		if (st != SEMQR_OK)
			return st;
		semqr__cl_cache_store(ctx->programs[k], ctx->device, source, options);
	}
	*out = ctx->programs[k];
	return SEMQR_OK;
}

semqr_status semqr__cl_program(semqr__cl_context *ctx, const char *name, cl_program *out,
                               semqr_error *err)
{
	return semqr__cl_program_radius(ctx, name, -1, out, err);
}

int semqr__cl_program_cached(const semqr__cl_context *ctx, const char *name)
{
	size_t i = source_index(ctx, name);
	return i < ctx->program_count && ctx->programs[i * VARIANTS] && ctx->cached[i * VARIANTS];
}

semqr_status semqr__cl_kernel(semqr__cl_context *ctx, const char *name, const char *function,
                              cl_kernel *out, semqr_error *err)
{
	return semqr__cl_kernel_radius(ctx, name, -1, function, out, err);
}

semqr_status semqr__cl_kernel_radius(semqr__cl_context *ctx, const char *name, int radius,
                                     const char *function, cl_kernel *out, semqr_error *err)
{
	cl_program prog;
	semqr_status st = semqr__cl_program_radius(ctx, name, radius, &prog, err);
	if (st != SEMQR_OK)
		return st;
	cl_int cst;
	*out = clCreateKernel(prog, function, &cst);
	if (cst != CL_SUCCESS)
		return semqr__cl_fail(err, cst, "kernels/%s.cl: kernel %s on %s: clCreateKernel",
		                      name, function, ctx->info.name);
	return SEMQR_OK;
}

/* ---- launching -------------------------------------------------------------- */

/* Fills err for a failed call about `kernel`, naming its function. */
static semqr_status fail_kernel(const semqr__cl_context *ctx, cl_kernel kernel, const char *call,
                                cl_int status, semqr_error *err)
{
	char function[128];
	if (clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof function, function, NULL)
	    != CL_SUCCESS)
		strcpy(function, "(unnamed)");
	return semqr__cl_fail(err, status, "kernel %s on %s: %s", function, ctx->info.name, call);
}

/* Enqueues kernel over the range, recording its event under the current
 * stage label when there is one. */
static semqr_status enqueue(semqr__cl_context *ctx, cl_kernel kernel, cl_uint dims,
                            const size_t *global, const size_t *local, semqr_error *err)
{
	cl_event ev = NULL;
	int record = ctx->stage >= 0;
	if (record && ctx->nevents == ctx->cap) {
		int cap = ctx->cap ? 2 * ctx->cap : 32;
		cl_event *events = realloc(ctx->events, (size_t)cap * sizeof *events);
		if (events)
			ctx->events = events;
		int *labels = events ? realloc(ctx->labels, (size_t)cap * sizeof *labels) : NULL;
		if (labels)
			ctx->labels = labels;
		if (!events || !labels)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
			                   "OpenCL device %s: no memory to time %d kernels",
			                   ctx->info.name, cap);
		ctx->cap = cap;
	}
	cl_int st = clEnqueueNDRangeKernel(ctx->queue, kernel, dims, NULL, global, local, 0, NULL,
	                                   record ? &ev : NULL);
	if (st != CL_SUCCESS)
		return fail_kernel(ctx, kernel, "clEnqueueNDRangeKernel", st, err);
	if (record) {
		ctx->events[ctx->nevents] = ev;
		ctx->labels[ctx->nevents++] = ctx->stage;
	}
	return SEMQR_OK;
}

semqr_status semqr__cl_run_2d(semqr__cl_context *ctx, cl_kernel kernel, size_t width,
                              size_t height, semqr_error *err)
{
	if (width == 0 || height == 0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "2-D kernel launch of %zu x %zu work-items: empty range", width, height);
	size_t limit;
	cl_int st = clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
	                                     sizeof limit, &limit, NULL);
	if (st != CL_SUCCESS)
		return fail_kernel(ctx, kernel, "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)",
		                   st, err);
	if (limit > ctx->info.max_work_group_size)
		limit = ctx->info.max_work_group_size;
	/* The largest power-of-two square tile within every limit. */
	size_t side = 1;
	while (2 * side <= SEMQR__CL_TILE_MAX && 4 * side * side <= limit
	       && 2 * side <= ctx->max_item_size[0] && 2 * side <= ctx->max_item_size[1])
		side *= 2;
	size_t local[2] = {side, side};
	size_t global[2] = {(width + side - 1) / side * side, (height + side - 1) / side * side};
	return enqueue(ctx, kernel, 2, global, local, err);
}

semqr_status semqr__cl_run_1d(semqr__cl_context *ctx, cl_kernel kernel, size_t n,
                              semqr_error *err)
{
	if (n == 0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "1-D kernel launch of 0 work-items: empty range");
	/* A multiple of 16 lets the implementation choose work-groups of several
	 * work-items even when n is prime. */
	size_t global = (n + 15) / 16 * 16;
	return enqueue(ctx, kernel, 1, &global, NULL, err);
}

/* ---- stage timing --------------------------------------------------------- */

void semqr__cl_stage(semqr__cl_context *ctx, int stage)
{
	ctx->stage = stage;
}

semqr_status semqr__cl_stage_times(semqr__cl_context *ctx, double *seconds, int nstages,
                                   int *kernels, semqr_error *err)
{
	semqr_status st = SEMQR_OK;
	if (ctx->nevents) {
		cl_int cst = clWaitForEvents((cl_uint)ctx->nevents, ctx->events);
		if (cst != CL_SUCCESS)
			st = semqr__cl_fail(err, cst, "OpenCL device %s: waiting for %d kernels",
			                    ctx->info.name, ctx->nevents);
	}
	for (int i = 0; i < ctx->nevents; i++) {
		cl_ulong start = 0, end = 0;
		if (st == SEMQR_OK && ctx->labels[i] < nstages) {
			cl_int cst = clGetEventProfilingInfo(ctx->events[i], CL_PROFILING_COMMAND_START,
			                                     sizeof start, &start, NULL);
			if (cst == CL_SUCCESS)
				cst = clGetEventProfilingInfo(ctx->events[i], CL_PROFILING_COMMAND_END,
				                              sizeof end, &end, NULL);
			if (cst != CL_SUCCESS)
				st = semqr__cl_fail(err, cst, "OpenCL device %s: kernel profiling",
				                    ctx->info.name);
			else if (end > start)
				seconds[ctx->labels[i]] += (double)(end - start) * 1e-9;
		}
		clReleaseEvent(ctx->events[i]);
	}
	if (kernels)
		*kernels = ctx->nevents;
	ctx->nevents = 0;
	return st;
}
