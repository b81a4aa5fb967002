/* Registration time per tile size: semqr__register_tile (window + FFT of the
 * moving tile, normalised cross-power spectrum + inverse FFT, integer peak +
 * upsampled-DFT refinement at upsample 20) on 256, 512 and 1024 px tiles of
 * random smoothed texture, median of 5 runs, with the plan time (FFTW_MEASURE,
 * or from the wisdom file SEMQR_FFTW_WISDOM names) and each stage's share.
 * Usage: bench_register [upsample] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "drift/register.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Texture: uniform noise box-filtered over 3 x 3, shifted copy for the
 * moving tile (3 px right, 2 down), so that registration does real work. */
static void texture(float *ref, float *mov, int n, unsigned seed)
{
	int w = n + 8;
	float *raw = malloc((size_t)w * (size_t)w * sizeof *raw);
	if (!raw)
		exit(1);
	for (size_t i = 0; i < (size_t)w * (size_t)w; i++) {
		seed = seed * 1103515245u + 12345u;
		raw[i] = (float)(seed >> 16 & 0x7fff);
	}
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			float s = 0, t = 0;
			for (int j = 0; j < 3; j++)
				for (int i = 0; i < 3; i++) {
					s += raw[(size_t)(y + 3 + j) * (size_t)w + (size_t)(x + 3 + i)];
					t += raw[(size_t)(y + 1 + j) * (size_t)w + (size_t)(x + i)];
				}
			ref[(size_t)y * (size_t)n + (size_t)x] = s;
			mov[(size_t)y * (size_t)n + (size_t)x] = t;
		}
	free(raw);
}

int main(int argc, char **argv)
{
	int upsample = argc > 1 ? atoi(argv[1]) : 20;
	static const int sizes[] = {256, 512, 1024};
	printf("tile  plan_ms  median_ms  mean per stage: window_fft_ms  cross_power_ms  peak_ms"
	       "  shift\n");
	for (int s = 0; s < 3; s++) {
		int n = sizes[s];
		float *ref = malloc((size_t)n * (size_t)n * sizeof *ref);
		float *mov = malloc((size_t)n * (size_t)n * sizeof *mov);
		if (!ref || !mov)
			return 1;
		texture(ref, mov, n, 7u);
		semqr__register *r;
		semqr_error err;
		double t0 = now();
		if (semqr__register_create(n, n, upsample, 0.15, 1, &r, &err) != SEMQR_OK) {
			fprintf(stderr, "%s\n", err.message);
			return 1;
		}
		double plan = now() - t0;
		semqr__register_set_reference(r, 0, ref, (size_t)n);
		semqr__register_times before = semqr__register_get_times(r);
		double runs[5];
		semqr__shift sh = {0, 0, 0};
		for (int k = 0; k < 5; k++) {
			t0 = now();
			semqr__register_tile(r, 0, mov, (size_t)n, &sh);
			runs[k] = now() - t0;
		}
		semqr__register_times t = semqr__register_get_times(r);
		qsort(runs, 5, sizeof runs[0], cmp);
		printf("%4d  %7.1f  %9.2f  %29.2f  %14.2f  %7.2f  (%.2f, %.2f) q %.0f\n", n,
		       1e3 * plan, 1e3 * runs[2], 1e3 * (t.window_fft - before.window_fft) / 5,
		       1e3 * t.cross_power / 5, 1e3 * t.peak / 5, sh.dx, sh.dy, sh.quality);
		semqr__register_destroy(r);
		free(ref);
		free(mov);
	}
	return 0;
}
