/* Internal: the noise of a scan, measured from its own pixels before it is
 * decoded, for the scan decoder (pipeline/scheduler.c: the summary, the
 * detection scale). The denoiser's sigma does not depend on it
 * (pipeline/stages.h says why).
 *
 * Model. An SEM pixel counts detected quanta (secondary electrons): n of
 * them, Poisson distributed, read as the grey value v = v0 + g n plus a
 * small read noise, so that its noise variance grows linearly with its
 * expected level (the noise-level function):
 *     var(v) = g (v - v0) + r^2 = g (v - b)        b = v0 - r^2 / g
 * with g the grey value per quantum, v0 the black level and r the read
 * noise. The detected quanta per pixel at level v are (v - b) / g: the
 * dose in the simulator's terms (`semqr simulate --dose` is that number at
 * the film's level). Levels are in full-scale units: grey value / (2^bits
 * - 1).
 *
 * Method. At every sampled pixel (x, y) the high-pass
 *     L = sum_{j=-1..1} sum_{i=-1..1} a_j a_i v(x + 2i, y + j),  a = (1, -2, 1)
 * (a second difference across rows times one along the row at lag 2) is
 * zero wherever the image is a sum of a function of x and one of y: flat
 * areas, gradients, line offsets and module edges along the scan axes
 * vanish, and only corners and slanted edges leak in. For independent
 * pixel noise of variance s^2, E[L^2] = 36 s^2 (the squared weights sum to
 * 36). Lag 2 along the row keeps most of the noise's correlation along the
 * fast axis out: with a lag-1 correlation rho the estimate is low by 8
 * rho^2 / 6 (0.3 % at rho 0.05, the default physics; 1.3 % at 0.1, the
 * fastest real scans), where lag 1 would be by 8 rho / 6. Two levels come
 * with each sample from pixels L does not use, so that their noise is
 * independent of L's: the mean of the four pixels (x +- 1, y +- 1) sorts
 * the samples into 16 bins of equal count, and the mean of the two pixels
 * (x +- 1, y), averaged over a bin, is the bin's level. (Binning and
 * measuring by one noisy level would select each bin's noise along with
 * its level and flatten the slope: to half at 25 quanta, measured.) A bin's
 * noise variance is the median of its L^2 / 36 divided by 0.4549, the
 * median of a chi-square with one degree of freedom (L is close to
 * Gaussian): the minority of samples with structure in them does not move
 * it. Then var = g v + c is fitted to the bins by least squares weighted by
 * 1 / var^2 (a variance estimate's spread is proportional to it), and b =
 * -c / g is kept when the bins' levels span at least a tenth of the
 * median level, g > 0, and b lies below the lowest bin and more than 3
 * standard errors (from the residuals) above 0: an offset of the black
 * level. Otherwise b = 0 and g is fitted through the origin, var = g v, so
 * that read noise and rounding count as shot noise (933 quanta for 1000,
 * 8 bits, read noise 1 grey level). Plates of symbols span 0.7-1.3 of the
 * film's level, too little to tell an offset from noise: an offset of 0.1
 * full scale (film at 0.6) reads 56 quanta at the median level for 40.
 *
 * Cost. semqr__noise_measure reads 16 bands of 18 consecutive rows (16
 * sampled and the rows around them), centred in 16 equal parts of the
 * height (fewer bands when the scan has fewer than 288 rows), in
 * increasing order, with semqr_scan_read_rows: for TIFF that decodes the
 * strips or tile rows holding them, at most 16 x (18 + the block height)
 * rows; PNG and JPEG, read in file order, are decoded down to the last
 * band, a second pass over most of the file before the decoding proper
 * reads it again. At most 2^18 pixels are measured (columns evenly
 * strided). Measured on the test machine: 0.015 s for a 16384 x 16384 and
 * 0.016 s for a 65536 x 65536 8-bit plate (uncompressed strips, in the page
 * cache), reading included; the binning and medians are selections, not
 * sorts (0.063 s for the 16384^2 plate with qsort). Memory: one band of
 * rows at the scan's depth and 24 bytes per sample (6 MiB), 8.4 MiB for a
 * 65536-pixel-wide 16-bit scan, freed on return. */
#ifndef SEMQR_PIPELINE_NOISE_LEVEL_H
#define SEMQR_PIPELINE_NOISE_LEVEL_H

#include <stddef.h>

#include "semqr/error.h"
#include "semqr/scan.h"

typedef struct semqr__noise_level {
	long samples;  /* pixels measured; 0 when there were none (fewer than 3 rows or 5
	                  columns), and then nothing below is set */
	double level;  /* the median level of the samples (full scale) */
	double sd;     /* the noise standard deviation at that level (full scale) */
	double gain;   /* g: noise variance per unit of level above b (full scale) */
	double black;  /* b: the level at which the fitted variance vanishes */
	int fitted;    /* 1: gain and black fitted over the levels; 0: black taken as 0 */
	double quanta; /* detected quanta per pixel at `level`: (level - black) / gain;
	                  INFINITY when the samples show no noise at all (gain 0) */
} semqr__noise_level;

/* Measures the noise of page `page` (0 .. pages - 1, or SEMQR_SCAN_MEAN
 * for the mean of the pages, as semqr_scan_read_rows takes it) of scan, as
 * described above, into *out. Fails on read errors (the reader's message,
 * prefixed with "noise estimate") and allocation failures. */
semqr_status semqr__noise_measure(semqr_scan *scan, int page, semqr__noise_level *out,
                                  semqr_error *err);

/* The same over the height x width image at pixels (uint8_t when bits is 8,
 * uint16_t when 16), rows stride pixels apart, as one band (pixels evenly
 * strided when it holds more than 2^18). Fails only on allocation
 * failures, or with SEMQR_ERR_INVALID_ARGUMENT for bits other than 8 and
 * 16, negative sizes or a stride under the width. */
semqr_status semqr__noise_from_rows(const void *pixels, int bits, int width, int height,
                                    size_t stride, semqr__noise_level *out, semqr_error *err);

/* The detected quanta per pixel at `level` by n's noise-level function,
 * (level - black) / gain: 0 when level <= black, INFINITY when gain is 0
 * (no noise seen), 0 when n has no samples. */
double semqr__noise_quanta_at(const semqr__noise_level *n, double level);

#endif
