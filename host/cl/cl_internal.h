/* Internal: the OpenCL runtime layer shared by host/cl/ and the pipeline
 * stages that run kernels. Not installed.
 *
 * A stage works through a semqr__cl_context: one OpenCL context, one in-order
 * command queue and one device, plus the programs built from the embedded
 * kernels/NAME.cl sources, each built at most once per context (lazily, on
 * first use) and released with the context. A typical stage:
 *
 *     semqr__cl_context *ctx;
 *     cl_kernel k;
 *     if ((st = semqr__cl_context_create(dev, &ctx, err)) != SEMQR_OK) return st;
 *     if ((st = semqr__cl_kernel(ctx, "blur", "blur_rows", &k, err)) == SEMQR_OK) {
 *         ... clCreateBuffer, clSetKernelArg ...
 *         st = semqr__cl_run_2d(ctx, k, width, height, err);
 *         ... clEnqueueReadBuffer (blocking), release buffers ...
 *         clReleaseKernel(k);
 *     }
 *     semqr__cl_context_destroy(ctx);
 *
 * Thread safety: a semqr__cl_context may be used by one thread at a time.
 * Different contexts are independent. Kernels are not cached because
 * clSetKernelArg makes a cl_kernel stateful; creating one from a built program
 * is cheap.
 *
 * Every failing function fills err with a message naming the kernel file or
 * function concerned, the device, the OpenCL call and its status by name, e.g.
 * "kernel blur_rows on pthread-skylake: clEnqueueNDRangeKernel:
 * CL_OUT_OF_RESOURCES (-5)".
 */
#ifndef SEMQR_CL_INTERNAL_H
#define SEMQR_CL_INTERNAL_H

#include <stddef.h>

#include <CL/cl.h>

#include "semqr/cl.h"

/* ---- status codes (program.c) ------------------------------------------ */

/* The name of an OpenCL status code ("CL_OUT_OF_RESOURCES"), covering OpenCL
 * 1.2 and CL_PLATFORM_NOT_FOUND_KHR; "unknown OpenCL status" otherwise. */
const char *semqr__cl_status_name(cl_int status);

/* Fills err (if non-NULL) with SEMQR_ERR_OPENCL and the printf-formatted
 * message followed by ": NAME (code)" for status; returns SEMQR_ERR_OPENCL. */
semqr_status semqr__cl_fail(semqr_error *err, cl_int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- devices (devices.c) ----------------------------------------------- */

/* The platform and device handles at dev's platform_index and device_index
 * (in the enumeration order of semqr_cl_list_devices; dev's other fields are
 * not used), and in *actual the current description of that device. Fails
 * with SEMQR_ERR_NO_PLATFORM when there is no platform,
 * SEMQR_ERR_INVALID_ARGUMENT when the indices are out of range. */
semqr_status semqr__cl_device_handles(const semqr_cl_device_info *dev,
                                      cl_platform_id *platform, cl_device_id *device,
                                      semqr_cl_device_info *actual, semqr_error *err);

/* ---- contexts and programs (program.c) --------------------------------- */

typedef struct semqr__cl_context semqr__cl_context;

/* Options given to every clBuildProgram: the kernels are OpenCL C 1.2, and
 * no relaxed-math option is passed, so float results follow IEEE rounding
 * within the OpenCL 1.2 ULP bounds. */
#define SEMQR__CL_BUILD_OPTIONS "-cl-std=CL1.2"

/* ---- the on-disk binary cache (binary_cache.c) --------------------------
 *
 * Compiling a kernel file from source costs about 20 ms on PoCL (its
 * front end runs every time; its own cache only skips code generation),
 * building from the binary about 2 ms: the decoder's four programs cost
 * 75 ms of every run without this cache. Binaries are kept in
 * SEMQR_CACHE_DIR when that is set (caching off when it is empty), else
 * $XDG_CACHE_HOME/semqr, else $HOME/.cache/semqr (created, mode 0700),
 * one file per (device, driver, build options, source), found by a hash of
 * these and used only when the file's copy of them is equal (binary_cache.c
 * has the format). The cache is best effort: a file missing, damaged, of
 * another key or refused by the driver means compiling from source, and a
 * failure to store is silent. Files are written whole under a temporary
 * name and renamed, so concurrent processes each see a complete file. */

/* The program for `device` in `context` built from the cached binary of
 * (source, options), or NULL when there is none usable. */
cl_program semqr__cl_cache_load(cl_context context, cl_device_id device, const char *source,
                                const char *options);

/* Stores prog's binary (built from source with options for device) in the
 * cache; nothing on failure. */
void semqr__cl_cache_store(cl_program prog, cl_device_id device, const char *source,
                           const char *options);

/* Largest side of the square work-groups chosen by semqr__cl_run_2d: the
 * global range it enqueues exceeds the requested one by less than this in
 * each dimension. */
#define SEMQR__CL_TILE_MAX 16

/* Creates a context and an in-order command queue on the device at dev's
 * platform_index:device_index. On success *out must be released with semqr__cl_context_destroy;
 * on failure *out is NULL. */
semqr_status semqr__cl_context_create(const semqr_cl_device_info *dev,
                                      semqr__cl_context **out, semqr_error *err);

/* Waits for the queue to finish, then releases the cached programs, the
 * queue, the context and ctx itself. NULL is ignored. */
void semqr__cl_context_destroy(semqr__cl_context *ctx);

/* The handles and device description of ctx (as queried when ctx was
 * created); owned by ctx, never released by the caller. */
cl_context semqr__cl_context_handle(const semqr__cl_context *ctx);
cl_command_queue semqr__cl_queue(const semqr__cl_context *ctx);
cl_device_id semqr__cl_device(const semqr__cl_context *ctx);
const semqr_cl_device_info *semqr__cl_device_info(const semqr__cl_context *ctx);

/* The program built from the embedded kernels/NAME.cl for ctx's device. It is
 * built on the first call and cached: the cache key is the kernel name, and
 * since a context holds exactly one device this is the (device, kernel name)
 * key. The first call takes it from the on-disk binary cache when it holds
 * this source's binary for this device (see semqr__cl_cache_load), else
 * compiles the source and stores the binary there. The program belongs to ctx (do not release it). Fails with
 * SEMQR_ERR_INVALID_ARGUMENT when no such kernel is embedded, and with
 * SEMQR_ERR_OPENCL when the build fails, the message then naming the file and
 * device and carrying the build log (truncated to fit). A failed build is not
 * cached: a later call tries again. */
semqr_status semqr__cl_program(semqr__cl_context *ctx, const char *name,
                               cl_program *out, semqr_error *err);

/* Largest radius of semqr__cl_program_radius. */
#define SEMQR__CL_RADIUS_MAX 15

/* As semqr__cl_program for the variant of kernels/NAME.cl built with
 * "-D SEMQR_RADIUS=radius" (0 .. SEMQR__CL_RADIUS_MAX; -1: the plain
 * program, semqr__cl_program itself), cached per (name, radius). The
 * kernel files templated by a radius (denoise.cl, binarize.cl) instantiate
 * that radius alone: storing a program's binary makes PoCL compile every
 * kernel in it, 32 for all radii (about 2 s per file), 2 for one. Fails as
 * semqr__cl_program, and with SEMQR_ERR_INVALID_ARGUMENT for a radius out
 * of range. */
semqr_status semqr__cl_program_radius(semqr__cl_context *ctx, const char *name, int radius,
                                      cl_program *out, semqr_error *err);

/* Whether the program of kernels/NAME.cl in ctx came from the on-disk
 * binary cache (1) or was compiled from source (0; also when it is not
 * built yet or there is no such kernel). */
int semqr__cl_program_cached(const semqr__cl_context *ctx, const char *name);

/* Builds an uncached program from OpenCL C source for ctx's device; `label`
 * names the source in error messages (e.g. "kernels/blur.cl"). Errors as for
 * semqr__cl_program. On success the caller owns *out (clReleaseProgram). */
semqr_status semqr__cl_build_source(semqr__cl_context *ctx, const char *label,
                                    const char *source, cl_program *out,
                                    semqr_error *err);

/* semqr__cl_kernel from the program of semqr__cl_program_radius. */
semqr_status semqr__cl_kernel_radius(semqr__cl_context *ctx, const char *name, int radius,
                                     const char *function, cl_kernel *out, semqr_error *err);

/* Creates the kernel `function` from the embedded kernels/NAME.cl (built and
 * cached as by semqr__cl_program). The caller owns *out (clReleaseKernel). */
semqr_status semqr__cl_kernel(semqr__cl_context *ctx, const char *name,
                              const char *function, cl_kernel *out, semqr_error *err);

/* Enqueues `kernel` (its arguments already set) over a 2-D range covering
 * width x height work-items, without waiting. The range is rounded up to a
 * multiple of a square work-group whose side is a power of two chosen from
 * the kernel's and device's work-group limits, at most SEMQR__CL_TILE_MAX;
 * the kernel must therefore ignore work-items with get_global_id(0) >= width
 * or get_global_id(1) >= height. width and height must be >= 1. */
semqr_status semqr__cl_run_2d(semqr__cl_context *ctx, cl_kernel kernel,
                              size_t width, size_t height, semqr_error *err);

/* Enqueues `kernel` (its arguments set) over a 1-D range of n >= 1
 * work-items, rounded up to a multiple of 16 (the kernel must ignore ids >=
 * n), without waiting. */
semqr_status semqr__cl_run_1d(semqr__cl_context *ctx, cl_kernel kernel, size_t n,
                              semqr_error *err);

/* Stage timing by events. The queue of every context has profiling enabled.
 * After semqr__cl_stage(ctx, s) with s >= 0, every kernel enqueued through
 * semqr__cl_run_2d or semqr__cl_run_1d records an event labelled s, until
 * the label changes (-1 stops recording, the state of a new context).
 * semqr__cl_stage_times waits for the recorded kernels, adds each one's
 * device time (CL_PROFILING_COMMAND_END - START) to seconds[label] (labels
 * >= nstages are dropped), sets *kernels (when not NULL) to how many there
 * were, and forgets them. So a chain of stages can be enqueued without
 * waiting between them, and still be timed stage by stage. */
void semqr__cl_stage(semqr__cl_context *ctx, int stage);
semqr_status semqr__cl_stage_times(semqr__cl_context *ctx, double *seconds, int nstages,
                                   int *kernels, semqr_error *err);

/* ---- self-test (selftest.c) --------------------------------------------- */

/* semqr_cl_selftest runs each of kernels/selftest.cl's two kernels (8-bit and
 * 16-bit input) over a WIDTH x HEIGHT range (odd sizes, so that no work-group
 * size divides them) and checks every one of the SEMQR__CL_SELFTEST_VALUES
 * results. */
#define SEMQR__CL_SELFTEST_WIDTH 61
#define SEMQR__CL_SELFTEST_HEIGHT 37
#define SEMQR__CL_SELFTEST_VALUES (2 * SEMQR__CL_SELFTEST_WIDTH * SEMQR__CL_SELFTEST_HEIGHT)

#endif
