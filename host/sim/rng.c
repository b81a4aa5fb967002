/* Counter-based random numbers for the simulator.
 *
 * Every random quantity is addressed by a key (seed, stream, a, b, c) — for
 * example (seed, SHOT, frame, row, column) — hashed into the starting state
 * of a small SplitMix64 generator. A pixel's noise is therefore the same
 * whichever strip, thread or order renders it, and nothing is shared between
 * threads.
 *
 * Hash: SplitMix64's finaliser (Stafford's "mix13"), applied after each key
 * word is added; the generator then steps by the golden-ratio increment and
 * finalises each state, as SplitMix64 does.
 */
#include <math.h>

#include "sim/sim_internal.h"

#define GOLDEN 0x9E3779B97F4A7C15ull

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

semqr__rng semqr__rng_at(uint64_t seed, uint32_t stream, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = mix(seed + GOLDEN);
	h = mix(h ^ ((uint64_t)stream + GOLDEN));
	h = mix(h ^ (a + 2 * GOLDEN));
	h = mix(h ^ (b + 3 * GOLDEN));
	h = mix(h ^ (c + 4 * GOLDEN));
	return (semqr__rng){h};
}

semqr__rng semqr__rng_derive(semqr__rng base, uint64_t d)
{
	return (semqr__rng){mix(base.s ^ (d + 5 * GOLDEN))};
}

uint64_t semqr__rng_next(semqr__rng *r)
{
	r->s += GOLDEN;
	return mix(r->s);
}

double semqr__rng_uniform(semqr__rng *r)
{
	return (double)(semqr__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller: two independent standard normals from two uniforms. */
void semqr__rng_normal_pair(semqr__rng *r, double *a, double *b)
{
	double u = 1.0 - semqr__rng_uniform(r); /* (0, 1] */
	double v = semqr__rng_uniform(r);
	double m = sqrt(-2.0 * log(u));
	*a = m * cos(2.0 * SIM_PI * v);
	*b = m * sin(2.0 * SIM_PI * v);
}

double semqr__rng_normal(semqr__rng *r)
{
	double a, b;
	semqr__rng_normal_pair(r, &a, &b);
	return a;
}

/* Poisson variates.
 * - mean < 10: inversion by sequential search from 0, multiplying the
 *   probability p(k) = p(k-1) * mean / k.
 * - mean >= 10: Hörmann's transformed rejection with squeeze (PTRS;
 *   W. Hörmann, "The transformed rejection method for generating Poisson
 *   random variables", Insurance: Mathematics and Economics 12, 1993):
 *   a hat built from a transformed uniform gives a candidate k; most are
 *   accepted by the inner squeeze, the rest by comparing the log density. */
uint32_t semqr__rng_poisson(semqr__rng *r, double mean)
{
	if (!(mean > 0))
		return 0;
	if (mean < 10) {
		double u = semqr__rng_uniform(r);
		double p = exp(-mean), cdf = p;
		uint32_t k = 0;
		while (u > cdf && k < 1000) {
			k++;
			p *= mean / k;
			cdf += p;
		}
		return k;
	}
	double slam = sqrt(mean);
	double b = 0.931 + 2.53 * slam;
	double a = -0.059 + 0.02483 * b;
	double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
	double vr = 0.9277 - 3.6224 / (b - 2);
	for (;;) {
		double u = semqr__rng_uniform(r) - 0.5;
		double v = semqr__rng_uniform(r);
		double us = 0.5 - fabs(u);
		double k = floor((2 * a / us + b) * u + mean + 0.43);
		if (us >= 0.07 && v <= vr)
			return (uint32_t)k;
		if (k < 0 || (us < 0.013 && v > us))
			continue;
		if (log(v) + log(inv_alpha) - log(a / (us * us) + b) <=
		    -mean + k * log(mean) - lgamma(k + 1))
			return (uint32_t)k;
	}
}
