/* Throughput of the device stages (kernels/flatten.cl, denoise.cl,
 * binarize.cl, finder.cl) and of their plain-C references.
 *
 * The scene: an 8192 x 8192 8-bit scan of random 5-pixel modules (grey 90 and
 * 160) with Gaussian noise of 14 grey levels, cut into 16 tiles of 2048 x 2048
 * with a 32-pixel halo. Each tile goes through load (u8 -> float), flatten
 * (512-pixel blocks), denoise (sigma 5/3, radius 5), binarize (radius 7) and
 * finder (rows and columns); each stage consumes its own halo, as in the
 * pipeline. A run processes all 16 tiles; a stage's time is the sum over the
 * tiles of the time from its enqueue to the queue draining (clFinish), so
 * uploads are excluded (reported on their own). Throughput is the scan's
 * 64 Mpixel over the median of 5 runs. The first tile's time, program builds
 * included, is reported as "cold". The C references run single-threaded on
 * the same tiles, also median of 5.
 *
 * Sampling (kernels/sample.cl) is timed apart, in module means per second:
 * SAMPLE_SYMBOLS symbols of version 5 at 5 pixels per module, turned and
 * placed at random in the last tile's denoised window, in one launch (enqueue
 * to clFinish, median of the runs), against ref_sample_means on the host
 * copy of that window.
 *
 * Usage: bench_kernels [runs]   (default 5). Prints a Markdown table. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/ref.h"
#include "support/ref_sample.h"

#define SCAN 8192
#define TILE 2048
#define HALO 32
#define PADDED (TILE + 2 * HALO)
#define TILES ((SCAN / TILE) * (SCAN / TILE))
#define MODULE 5
#define BLOCK 512
#define RB 7
#define CAPACITY (1 << 20)
#define MAX_RUNS 15
#define SAMPLE_SYMBOLS 400
#define SAMPLE_VERSION 5

enum { LOAD, FLATTEN, DENOISE, BINARIZE, FINDER, STAGES };
static const char *const stage_names[STAGES] = {"load u8 -> float", "flatten", "denoise",
                                                "binarize", "finder (rows + columns)"};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what, const semqr_error *err)
{
	fprintf(stderr, "bench_kernels: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

/* The scan: modules of MODULE pixels, random dark/light, plus noise. */
static uint8_t *make_scan(void)
{
	uint8_t *scan = malloc((size_t)SCAN * SCAN);
	uint8_t *bits = malloc((size_t)(SCAN / MODULE + 1) * (SCAN / MODULE + 1));
	if (!scan || !bits)
		die("scan", NULL);
	ref_rng rng;
	ref_rng_seed(&rng, 2025);
	int nm = SCAN / MODULE + 1;
	for (int i = 0; i < nm * nm; i++)
		bits[i] = (uint8_t)(ref_rng_u32(&rng) & 1);
	for (int y = 0; y < SCAN; y++)
		for (int x = 0; x < SCAN; x++) {
			float v = (bits[(y / MODULE) * nm + x / MODULE] ? 160.0f : 90.0f) +
			          14.0f * ref_rng_gauss(&rng);
			scan[(size_t)y * SCAN + x] = (uint8_t)(v < 0.0f     ? 0.0f
			                                       : v > 255.0f ? 255.0f
			                                                    : v + 0.5f);
		}
	free(bits);
	return scan;
}

/* Copies tile t with its halo (edges replicated beyond the scan). */
static void cut_tile(const uint8_t *scan, int t, uint8_t *tile)
{
	int tx = (t % (SCAN / TILE)) * TILE - HALO, ty = (t / (SCAN / TILE)) * TILE - HALO;
	for (int y = 0; y < PADDED; y++) {
		int sy = ty + y < 0 ? 0 : ty + y >= SCAN ? SCAN - 1 : ty + y;
		for (int x = 0; x < PADDED; x++) {
			int sx = tx + x < 0 ? 0 : tx + x >= SCAN ? SCAN - 1 : tx + x;
			tile[y * PADDED + x] = scan[(size_t)sy * SCAN + sx];
		}
	}
}

/* Device buffers for one tile; each stage's output window is its input
 * window shrunk by the stage's halo. */
struct device {
	semqr__cl_context *ctx;
	cl_mem u8, f0, f1, f2, bin, cands, count, scratch;
};

static cl_mem buffer(semqr__cl_context *ctx, size_t bytes)
{
	cl_mem m = ref_cl_buffer(ctx, bytes, NULL);
	if (!m)
		die("clCreateBuffer", NULL);
	return m;
}

static int stage_margin(int stage, int rd)
{
	return stage <= FLATTEN ? 0 : stage == DENOISE ? rd : rd + RB;
}

/* Runs the device stages on the tile already in d->u8, adding each stage's
 * time to t[]; returns the number of candidates. */
static int device_tile(struct device *d, float sigma, int rd, double *t)
{
	semqr_error err;
	semqr__finder_params fp = {0.5f, 2.0f, 16.0f};
	cl_command_queue q = semqr__cl_queue(d->ctx);
	semqr__plane u8 = {d->u8, 0, PADDED, PADDED, PADDED};
	semqr__plane f0 = {d->f0, 0, PADDED, PADDED, PADDED};
	semqr__plane f1 = f0, f2 = f0;
	f1.mem = d->f1;
	f2.mem = d->f2;
	int m = stage_margin(DENOISE, rd);
	semqr__plane f2in = f1, f2out = f2;
	f2in.origin = f2out.origin = (size_t)m * PADDED + (size_t)m;
	f2in.width = f2in.height = f2out.width = f2out.height = PADDED - 2 * m;
	int mb = stage_margin(BINARIZE, rd);
	semqr__plane bin_in = f2, bin = {d->bin, 0, PADDED, PADDED, PADDED};
	bin_in.origin = bin.origin = (size_t)mb * PADDED + (size_t)mb;
	bin_in.width = bin_in.height = bin.width = bin.height = PADDED - 2 * mb;

	double t0 = now();
	if (semqr__stage_load(d->ctx, &u8, 8, 0.0f, 0.0f, &f0, &err) != SEMQR_OK)
		die("load", &err);
	clFinish(q);
	double t1 = now();
	if (semqr__stage_flatten(d->ctx, &f0, BLOCK, 0, 1e-3f, &f1, &err) != SEMQR_OK)
		die("flatten", &err);
	clFinish(q);
	double t2 = now();
	if (semqr__stage_denoise(d->ctx, &f2in, sigma, rd, d->scratch, &f2out, &err) != SEMQR_OK)
		die("denoise", &err);
	clFinish(q);
	double t3 = now();
	if (semqr__stage_binarize(d->ctx, &bin_in, RB, 0.0f, d->scratch, &bin, &err) != SEMQR_OK)
		die("binarize", &err);
	clFinish(q);
	double t4 = now();
	if (semqr__stage_finder(d->ctx, &bin, &bin_in, &fp, d->cands, CAPACITY, d->count, &err) !=
	    SEMQR_OK)
		die("finder", &err);
	cl_int found = 0;
	if (ref_cl_read(d->ctx, d->count, sizeof found, &found) != 0)
		die("count", NULL);
	double t5 = now();
	t[LOAD] += t1 - t0;
	t[FLATTEN] += t2 - t1;
	t[DENOISE] += t3 - t2;
	t[BINARIZE] += t4 - t3;
	t[FINDER] += t5 - t4;
	return found;
}

/* The same on the host with the references. */
static int reference_tile(const uint8_t *tile, float *f0, float *f1, float *f2, uint8_t *bin,
                          semqr__finder_candidate *cands, float sigma, int rd, double *t)
{
	semqr__finder_params fp = {0.5f, 2.0f, 16.0f};
	int m = stage_margin(DENOISE, rd), mb = stage_margin(BINARIZE, rd);
	size_t o = (size_t)m * PADDED + (size_t)m, ob = (size_t)mb * PADDED + (size_t)mb;
	double t0 = now();
	ref_load_u8(tile, PADDED, PADDED, PADDED, 0.0f, 0.0f, f0, PADDED);
	double t1 = now();
	if (ref_flatten(f0, PADDED, PADDED, PADDED, BLOCK, 0, 1e-3f, f1, PADDED) != 0)
		die("ref_flatten", NULL);
	double t2 = now();
	if (ref_denoise(f1 + o, PADDED, PADDED - 2 * m, PADDED - 2 * m, sigma, rd, f2 + o,
	                PADDED) != 0)
		die("ref_denoise", NULL);
	double t3 = now();
	if (ref_binarize(f2 + ob, PADDED, PADDED - 2 * mb, PADDED - 2 * mb, RB, 0.0f, bin + ob,
	                 PADDED, NULL) != 0)
		die("ref_binarize", NULL);
	double t4 = now();
	int n = ref_finder(bin + ob, PADDED, f2 + ob, PADDED, PADDED - 2 * mb, PADDED - 2 * mb, &fp,
	                   cands, CAPACITY);
	double t5 = now();
	t[LOAD] += t1 - t0;
	t[FLATTEN] += t2 - t1;
	t[DENOISE] += t3 - t2;
	t[BINARIZE] += t4 - t3;
	t[FINDER] += t5 - t4;
	return n;
}

/* SAMPLE_SYMBOLS random symbols of SAMPLE_VERSION at MODULE pixels per
 * module, each wholly inside a side x side window. */
static void sample_symbols(int side, semqr__located *syms)
{
	ref_rng rng;
	ref_rng_seed(&rng, 7);
	int size = 17 + 4 * SAMPLE_VERSION;
	double half = 0.5 * size * MODULE * 1.5; /* the turned symbol's reach */
	for (int k = 0; k < SAMPLE_SYMBOLS; k++) {
		double t = 6.283185307179586 * ref_rng_uniform(&rng);
		double c = MODULE * cos(t), n = MODULE * sin(t);
		double cx = half + (side - 2.0 * half) * ref_rng_uniform(&rng);
		double cy = half + (side - 2.0 * half) * ref_rng_uniform(&rng);
		double o = 0.5 * size;
		semqr__located *l = &syms[k];
		memset(l, 0, sizeof *l);
		l->version = SAMPLE_VERSION;
		l->size = size;
		double h[9] = {c, -n, cx - c * o + n * o, n, c, cy - n * o - c * o, 0.0, 0.0, 1.0};
		memcpy(l->h, h, sizeof h);
	}
}

/* Times the sample stage on the device's denoised window in d->f2 and the C
 * reference on the host's in h2 (the windows denoise wrote, margin rd),
 * median of `runs` each; returns the number of modules. */
static size_t bench_sample(struct device *d, const float *h2, int rd, int runs, double *dev_t,
                           double *ref_t)
{
	int side = PADDED - 2 * rd;
	size_t origin = (size_t)rd * PADDED + (size_t)rd;
	static semqr__located syms[SAMPLE_SYMBOLS];
	static semqr__sample_symbol recs[SAMPLE_SYMBOLS];
	sample_symbols(side, syms);
	size_t total = semqr__sample_total(syms, SAMPLE_SYMBOLS);
	int offset = 0;
	for (int k = 0; k < SAMPLE_SYMBOLS; k++) {
		semqr__sample_symbol_init(syms[k].h, syms[k].size, offset, side, side, &recs[k]);
		offset += syms[k].size * syms[k].size;
	}
	float *means = malloc(total * sizeof *means);
	if (!means)
		die("out of memory", NULL);
	cl_mem out = buffer(d->ctx, total * sizeof(float));
	semqr__plane in = {d->f2, origin, PADDED, side, side};
	semqr_error err;
	double dt[MAX_RUNS], rt[MAX_RUNS];
	/* One launch first, to build the program. */
	for (int r = -1; r < runs; r++) {
		double t0 = now();
		if (semqr__stage_sample(d->ctx, &in, syms, SAMPLE_SYMBOLS, out, &err) != SEMQR_OK)
			die("sample", &err);
		clFinish(semqr__cl_queue(d->ctx));
		if (r >= 0)
			dt[r] = now() - t0;
	}
	for (int r = 0; r < runs; r++) {
		double t0 = now();
		ref_sample_means(h2 + origin, PADDED, side, side, recs, SAMPLE_SYMBOLS, means);
		rt[r] = now() - t0;
	}
	*dev_t = median(dt, runs);
	*ref_t = median(rt, runs);
	clReleaseMemObject(out);
	free(means);
	return total;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: bench_kernels [runs 1..%d]\n", MAX_RUNS);
		return 2;
	}
	float sigma = semqr__denoise_sigma((float)MODULE);
	int rd = semqr__denoise_radius(sigma);
	uint8_t *scan = make_scan();
	uint8_t *tile = malloc((size_t)PADDED * PADDED);
	uint8_t *hbin = malloc((size_t)PADDED * PADDED);
	float *h0 = malloc((size_t)PADDED * PADDED * sizeof(float));
	float *h1 = malloc((size_t)PADDED * PADDED * sizeof(float));
	float *h2 = malloc((size_t)PADDED * PADDED * sizeof(float));
	semqr__finder_candidate *cands = malloc((size_t)CAPACITY * sizeof *cands);
	if (!tile || !hbin || !h0 || !h1 || !h2 || !cands)
		die("out of memory", NULL);

	struct device d;
	d.ctx = ref_cl_open();
	if (!d.ctx)
		die("no OpenCL device", NULL);
	size_t px = (size_t)PADDED * PADDED;
	d.u8 = buffer(d.ctx, px);
	d.f0 = buffer(d.ctx, px * sizeof(float));
	d.f1 = buffer(d.ctx, px * sizeof(float));
	d.f2 = buffer(d.ctx, px * sizeof(float));
	d.bin = buffer(d.ctx, px);
	d.cands = buffer(d.ctx, (size_t)CAPACITY * sizeof(semqr__finder_candidate));
	d.count = buffer(d.ctx, sizeof(cl_int));
	/* Scratch for denoise and binarize, kept across tiles: the larger of
	 * their needs (both are a float image of the window plus two halos). */
	d.scratch = buffer(d.ctx, semqr__stage_denoise_scratch(PADDED, PADDED, RB));
	cl_command_queue q = semqr__cl_queue(d.ctx);

	/* Cold: builds every program, on the first tile. */
	double cold[STAGES] = {0};
	cut_tile(scan, 0, tile);
	clEnqueueWriteBuffer(q, d.u8, CL_TRUE, 0, px, tile, 0, NULL, NULL);
	device_tile(&d, sigma, rd, cold);

	double dev[STAGES][MAX_RUNS], ref[STAGES][MAX_RUNS], upload[MAX_RUNS];
	long dev_found = 0, ref_found = 0;
	for (int r = 0; r < runs; r++) {
		double t[STAGES] = {0};
		upload[r] = 0.0;
		dev_found = 0;
		for (int k = 0; k < TILES; k++) {
			cut_tile(scan, k, tile);
			double u0 = now();
			if (clEnqueueWriteBuffer(q, d.u8, CL_TRUE, 0, px, tile, 0, NULL, NULL) !=
			    CL_SUCCESS)
				die("clEnqueueWriteBuffer", NULL);
			upload[r] += now() - u0;
			dev_found += device_tile(&d, sigma, rd, t);
		}
		for (int s = 0; s < STAGES; s++)
			dev[s][r] = t[s];
	}
	for (int r = 0; r < runs; r++) {
		double t[STAGES] = {0};
		ref_found = 0;
		for (int k = 0; k < TILES; k++) {
			cut_tile(scan, k, tile);
			ref_found += reference_tile(tile, h0, h1, h2, hbin, cands, sigma, rd, t);
		}
		for (int s = 0; s < STAGES; s++)
			ref[s][r] = t[s];
	}

	const semqr_cl_device_info *info = semqr__cl_device_info(d.ctx);
	double mpx = (double)SCAN * SCAN / 1e6;
	printf("Scan %d x %d 8-bit as %d tiles of %d x %d (+%d halo); module %d px, noise 14 DN;\n"
	       "device: %s (%s); median of %d runs; C reference single-threaded.\n\n",
	       SCAN, SCAN, TILES, TILE, TILE, HALO, MODULE, info->name, info->platform_name, runs);
	printf("| stage | device Mpixel/s | device ms | cold ms (first tile, build) | "
	       "C reference Mpixel/s | speed-up |\n|---|---:|---:|---:|---:|---:|\n");
	double dev_total = 0.0, ref_total = 0.0;
	for (int s = 0; s < STAGES; s++) {
		double dt = median(dev[s], runs), rt = median(ref[s], runs);
		dev_total += dt;
		ref_total += rt;
		printf("| %s | %.0f | %.1f | %.1f | %.0f | %.1f |\n", stage_names[s], mpx / dt,
		       1e3 * dt, 1e3 * cold[s], mpx / rt, rt / dt);
	}
	printf("| all stages | %.0f | %.1f | | %.0f | %.1f |\n", mpx / dev_total, 1e3 * dev_total,
	       mpx / ref_total, ref_total / dev_total);
	double ut = median(upload, runs);
	printf(
	    "\nUpload of the 8-bit tiles: %.1f ms (%.0f Mpixel/s). Finder candidates: device %ld, "
	    "reference %ld (same inputs up to rounding near thresholds).\n",
	    1e3 * ut, (double)TILES * px / 1e6 / ut, dev_found, ref_found);

	double sdev, sref;
	size_t modules = bench_sample(&d, h2, rd, runs, &sdev, &sref);
	printf("\nSampling (sample.cl): %d symbols of version %d at %d px/module, %zu modules in "
	       "one launch: device %.1f Mmodule/s (%.2f ms), C reference %.1f Mmodule/s, "
	       "speed-up %.1f.\n",
	       SAMPLE_SYMBOLS, SAMPLE_VERSION, MODULE, modules, (double)modules / 1e6 / sdev,
	       1e3 * sdev, (double)modules / 1e6 / sref, sref / sdev);

	clReleaseMemObject(d.u8);
	clReleaseMemObject(d.f0);
	clReleaseMemObject(d.f1);
	clReleaseMemObject(d.f2);
	clReleaseMemObject(d.bin);
	clReleaseMemObject(d.cands);
	clReleaseMemObject(d.count);
	clReleaseMemObject(d.scratch);
	semqr__cl_context_destroy(d.ctx);
	free(scan);
	free(tile);
	free(hbin);
	free(h0);
	free(h1);
	free(h2);
	free(cands);
	return 0;
}
