/* Helpers shared by the kernel tests: device, buffers, random numbers,
 * candidate ordering (contracts in ref.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "support/ref.h"

semqr__cl_context *ref_cl_open(void)
{
	semqr_cl_device_info dev;
	semqr_error err;
	semqr__cl_context *ctx = NULL;
	if (semqr_cl_select_device(NULL, &dev, &err) != SEMQR_OK ||
	    semqr__cl_context_create(&dev, &ctx, &err) != SEMQR_OK) {
		fprintf(stderr, "no OpenCL context: %s\n", err.message);
		return NULL;
	}
	return ctx;
}

cl_mem ref_cl_buffer(semqr__cl_context *ctx, size_t bytes, const void *data)
{
	cl_int st;
	cl_mem m = clCreateBuffer(semqr__cl_context_handle(ctx),
	                          CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0), bytes,
	                          (void *)data, &st);
	if (st != CL_SUCCESS) {
		fprintf(stderr, "clCreateBuffer(%zu bytes): %s\n", bytes,
		        semqr__cl_status_name(st));
		return NULL;
	}
	return m;
}

int ref_cl_read(semqr__cl_context *ctx, cl_mem buf, size_t bytes, void *out)
{
	cl_int st =
	    clEnqueueReadBuffer(semqr__cl_queue(ctx), buf, CL_TRUE, 0, bytes, out, 0, NULL, NULL);
	if (st != CL_SUCCESS) {
		fprintf(stderr, "clEnqueueReadBuffer(%zu bytes): %s\n", bytes,
		        semqr__cl_status_name(st));
		return -1;
	}
	return 0;
}

int ref_image_init(ref_image *im, size_t elem, int w, int h, int halo, int extra)
{
	im->elem = elem;
	im->w = w;
	im->h = h;
	im->stride = w + 2 * halo + extra;
	im->origin = (size_t)(halo + 1) * (size_t)im->stride + (size_t)halo;
	im->count = (size_t)(h + 2 * halo + 2) * (size_t)im->stride;
	im->data = malloc(im->count * elem);
	return im->data ? 0 : -1;
}

void *ref_image_at(const ref_image *im, int x, int y)
{
	ptrdiff_t i = (ptrdiff_t)im->origin + (ptrdiff_t)y * im->stride + x;
	return im->data + (size_t)i * im->elem;
}

void ref_image_fill(ref_image *im, const void *value)
{
	for (size_t i = 0; i < im->count; i++)
		memcpy(im->data + i * im->elem, value, im->elem);
}

int ref_image_window(const ref_image *im, const void *sentinel, void *win)
{
	int ok = 0;
	for (size_t i = 0; i < im->count; i++) {
		size_t rel = i - im->origin;
		size_t x = rel % (size_t)im->stride, y = rel / (size_t)im->stride;
		const unsigned char *e = im->data + i * im->elem;
		if (i >= im->origin && x < (size_t)im->w && y < (size_t)im->h)
			memcpy((unsigned char *)win + (y * (size_t)im->w + x) * im->elem, e,
			       im->elem);
		else if (memcmp(e, sentinel, im->elem) != 0)
			ok = -1;
	}
	return ok;
}

cl_mem ref_image_upload(semqr__cl_context *ctx, const ref_image *im, semqr__plane *plane)
{
	cl_mem m = ref_cl_buffer(ctx, im->count * im->elem, im->data);
	semqr__plane p = {m, im->origin, im->stride, im->w, im->h};
	*plane = p;
	return m;
}

int ref_image_download(semqr__cl_context *ctx, cl_mem mem, ref_image *im)
{
	return ref_cl_read(ctx, mem, im->count * im->elem, im->data);
}

void ref_rng_seed(ref_rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ull + 1;
}

uint32_t ref_rng_u32(ref_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

float ref_rng_uniform(ref_rng *r)
{
	return (float)(ref_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

float ref_rng_gauss(ref_rng *r)
{
	double u1 = ((double)ref_rng_u32(r) + 1.0) / 4294967297.0;
	double u2 = (double)ref_rng_u32(r) / 4294967296.0;
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static int cmp_candidate(const void *pa, const void *pb)
{
	const semqr__finder_candidate *a = pa, *b = pb;
	if (a->axis != b->axis)
		return a->axis < b->axis ? -1 : 1;
	if (a->polarity != b->polarity)
		return a->polarity < b->polarity ? -1 : 1;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	return 0;
}

void ref_sort_candidates(semqr__finder_candidate *c, int n)
{
	if (n > 1)
		qsort(c, (size_t)n, sizeof *c, cmp_candidate);
}
