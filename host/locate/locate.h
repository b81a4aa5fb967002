/* Internal: symbol finding on the CPU, from finder-run candidates to located
 * symbols and soft module matrices. The stages, in order:
 *
 *     finders.c   cluster row and column run candidates into finder patterns
 *     group.c     group finder patterns into symbols (three per symbol)
 *     geometry.c  version, module->pixel homography, corners
 *     grid.c      correction of the module grid inside a symbol (distortion
 *                 that changes while the symbol is scanned)
 *     sample.c    soft module matrix: p(dark) per module for the decoder (and
 *                 the hard centre sampling of other readers, for comparison)
 *
 * This module knows no OpenCL and no files: it takes plain arrays and a grey
 * image in memory, and returns plain arrays.
 *
 * Coordinates. Pixel coordinates are those of the image the candidates were
 * found in, pixel centres at integers (as in pipeline/stages.h), x to the
 * right and y down. Module coordinates (u, v) of a symbol put its top-left
 * corner at (0, 0) and its bottom-right corner at (size, size); module (i, j)
 * (column i, row j) covers [i, i + 1) x [j, j + 1) and its centre is
 * (i + 0.5, j + 0.5). The finder centres are therefore (3.5, 3.5) (top-left),
 * (size - 3.5, 3.5) (top-right) and (3.5, size - 3.5) (bottom-left).
 *
 * Polarity. Run candidates carry the binary value of the finder's centre run:
 * 0 when it is darker than its surroundings, 1 when brighter. A module is
 * "set" when it has the finder centre's value; set modules are the dark
 * modules of the QR matrix whatever the image contrast, so p(set) is the
 * p(dark) the decoder wants.
 *
 * Mirroring. Three finder centres do not tell a symbol from its mirror image.
 * Symbols are always framed right-handed in the image (the top-right finder
 * is reached from the top-left one by turning the bottom-left direction by
 * -90 degrees on screen, y down); a mirrored symbol then samples as the
 * transpose of its matrix, which semqr_decode_matrix undoes when
 * try_mirrored is set (and reports as mirrored).
 *
 * Memory: every function allocates only per-call arrays (sized by its input)
 * and frees them before returning; none allocates in its inner loops. */
#ifndef SEMQR_LOCATE_H
#define SEMQR_LOCATE_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/qr.h"

/* ---- inputs ---------------------------------------------------------------- */

/* One finder run candidate: a 1:1:3:1:1 run pattern crossing a line of the
 * image. Same layout as semqr__finder_candidate of pipeline/stages.h (the
 * device stage's output), so that the pipeline can pass that array as is. */
typedef struct semqr__run_candidate {
	float x, y;       /* centre: sub-pixel along the line, the line index across it */
	float module;     /* module size in pixels measured along the line */
	int32_t polarity; /* binary value of the centre run: 0 darker, 1 brighter */
	int32_t axis;     /* 0: found along a row, 1: along a column */
} semqr__run_candidate;

/* A grey image in memory: pixel (x, y) is data[y * stride + x], 0 <= x <
 * width, 0 <= y < height, pixel centres at integer coordinates. Any linear
 * grey scale (the flattened or denoised image of the pipeline). */
typedef struct semqr__grey_image {
	const float *data;
	int stride, width, height;
} semqr__grey_image;

/* ---- a spatial hash (finders.c) ------------------------------------------ */

/* Points bucketed by the square cell of side `cell` they fall in: cell
 * (cx, cy) = (floor(x / cell), floor(y / cell)). Buckets are chosen by a hash
 * of (cx, cy) in a table of a power of two >= 2n slots, so the memory is
 * linear in the number of points whatever their spread. Building is O(n)
 * (a counting sort); `index` lists the point indices bucket by bucket, those
 * of bucket b in index[start[b] .. start[b + 1]), in increasing order. */
typedef struct semqr__spatial_hash {
	float cell;
	uint32_t mask;  /* table slots - 1 */
	int *start;     /* mask + 2 entries */
	int *index;     /* n entries */
	int32_t *cx, *cy; /* cell of every point */
} semqr__spatial_hash;

/* Builds the hash of n >= 0 points (x[i * step], y[i * step]), coordinates
 * finite, cell > 0. Returns SEMQR_ERR_NO_MEMORY on allocation failure (then
 * nothing needs freeing). */
semqr_status semqr__spatial_hash_build(semqr__spatial_hash *h, const float *x, const float *y,
                                       int step, int n, float cell, semqr_error *err);
void semqr__spatial_hash_free(semqr__spatial_hash *h);
/* The bucket of cell (cx, cy): points i = index[*begin .. *end) to filter by
 * cx[i] == cx && cy[i] == cy (other cells may share the bucket). */
void semqr__spatial_hash_bucket(const semqr__spatial_hash *h, int32_t cx, int32_t cy, int *begin,
                                int *end);
/* The cell coordinate of a pixel coordinate, clamped to the int32 range. */
int32_t semqr__spatial_hash_cell(const semqr__spatial_hash *h, float coord);

/* ---- finder patterns (finders.c) ------------------------------------------ */

typedef struct semqr__finder {
	float x, y;     /* centre in pixels */
	float module;   /* mean module size of its candidates, in pixels, measured along
	                   rows and columns (a finder turned by t reads 1 / max(|cos t|,
	                   |sin t|) times its true module size) */
	int polarity;   /* as the candidates' */
	int support;    /* number of run candidates merged into it */
} semqr__finder;

/* Clusters run candidates into finder patterns. Two candidates of the same
 * polarity are linked when their centres lie within 1.5 times the smaller of
 * their module sizes and the module sizes differ by less than a factor 1.5;
 * a cluster (a connected component, found with a grid of cells and
 * union-find) is a finder when it holds at least one row and one column
 * candidate, the row and column module sizes agree within a factor 1.5 and
 * the row candidates' centre line crosses the column candidates' centre line
 * within 1.5 modules of both clusters' means.
 * The centre is that crossing: the row candidates' x fitted as a line in y,
 * the column candidates' y as a line in x (chord midpoints of a turned square
 * lie on lines through its centre), both solved together.
 * A cluster of rows only (or columns only) is a finder too when it holds at
 * least 1.5 times its mean module size of candidates (lines through a real
 * finder's 3-module centre give up to 3 module sizes of them; noise can
 * spoil every run of the other axis); its centre is the mean of its
 * candidates' centres.
 * Candidates with a non-finite coordinate or a module <= 0 are ignored.
 * `out` must hold n / 2 + 1 finders; *count receives how many were written.
 * Finders come out in the order of their first candidate. */
semqr_status semqr__finders_cluster(const semqr__run_candidate *cands, int n, semqr__finder *out,
                                    int *count, semqr_error *err);

/* ---- grouping into symbols (group.c) --------------------------------------- */

typedef struct semqr__triplet {
	int tl, tr, bl;   /* finder indices: top-left (the right-angle corner), top-right,
	                     bottom-left, in the right-handed frame described above */
	int version;      /* estimate from finder distance and module size */
	float score;      /* geometric error, lower is better (0 for a perfect triangle) */
	float span;       /* mean distance of tr and bl from tl, in modules */
	int loose;        /* 1 when within the loose tolerances only (see below): a
	                     symbol seen in perspective, or finders of different
	                     symbols; worth accepting only on stronger evidence */
} semqr__triplet;

/* Verifies a triplet before it is accepted (e.g. from the image): returns
 * 0 to reject it, SEMQR__TRIPLET_ACCEPT to accept it, or
 * SEMQR__TRIPLET_COVER to accept it as a symbol whose grid the image
 * confirms (decoded, or timing patterns clear), so that the weak finders in
 * its area are chance patterns of its data. May refine t->version. */
enum { SEMQR__TRIPLET_ACCEPT = 1, SEMQR__TRIPLET_COVER = 2 };
typedef int (*semqr__triplet_check)(void *user, const semqr__finder *finders,
                                    semqr__triplet *t);

/* Groups finders into symbols of versions 1..max_version.
 * For every finder A taken as the right-angle corner, a spatial hash gives
 * the partners B of the same polarity, module size within a factor 1.4 and
 * distance d with 11 / 1.4 <= d / m' <= 4 max_version + 13 (m' = m max(|cos|,
 * |sin|) of the direction AB: the module size corrected for the symbol's
 * turn); the third finder C is any finder within 0.74 d of A + R(B - A), R
 * the quarter turn that makes (A, B, C) right-handed, taken from A's
 * neighbours bucketed by direction (only those where the rules below can
 * accept C are scored). A triangle is a candidate when |AB| and |AC| differ
 * by less than 40 % of their mean, the angle at A is 90 degrees within 20
 * degrees, the three module sizes agree within a factor 1.4, and its mean
 * side spans 11 to 4 max_version + 13 modules (m' of the three finders' mean). It is
 * strict when the sides differ by less than 12 % and the angle is within 7
 * degrees (a symbol seen square on, whatever its turn), else loose (a
 * symbol seen in perspective, leaning up to about 20 degrees). Its version is
 * the nearest v with 4 v + 10 modules between finder centres (clamped to
 * 1..max_version; only an estimate: the image decides in geometry.c). Its
 * score adds the relative side difference, the cosine of the corner angle,
 * half the module ratio less 1, and the distance of the span from 4 v + 10
 * modules, divided by 8.
 * The candidates are taken in three tiers, good strict ones (score < 0.15),
 * the other strict ones, then the loose ones, within each tier
 * by increasing span + 40 score (finders of neighbouring symbols on a plate
 * form exact right isosceles triangles too, but always larger than the
 * symbols' own, which span less than a symbol pitch), and one is accepted
 * when none of its finders is used yet and `check` (when not NULL) accepts
 * it. Each corner finder keeps only its first 8 candidates in that order.
 * All this runs in two passes: first among the strong finders only (support
 * at least twice the module size: a real finder's 3-module centre is
 * crossed by up to 6 module sizes of rows and columns, a chance pattern in
 * a symbol's data by few; measured: on an 8192 x 8192 plate at default
 * physics 99.8 % of the real finders are strong and 0.1 % of the chance
 * patterns, at 50 quanta per pixel 94 % and none), then among the finders
 * still unused, with the triangles of three strong finders left out (they
 * were offered in the first pass). Symbols whose finders are all strong
 * thus take their finders, and cover their areas, before the weak finders
 * are grouped at all.
 * When `check` says SEMQR__TRIPLET_COVER for a strict triplet, the weak
 * finders (see above) inside the symbol are used too: those whose centres
 * lie at A + s (B - A) + t (C - A) with -e <= s, t <= 1 + e, e = 3 / (s' -
 * 7), s' = 17 + 4 t->version its size in modules: within the symbol, half
 * a module in from its edges as the three finders frame it (a strict
 * triangle is seen nearly square on; its fourth corner may lie a little
 * off, but a neighbour's finder centre lies 3.5 modules and a quiet zone
 * further out). They are chance patterns in its data, and the triplets
 * they would make are not offered to `check`. Strong finders are never
 * covered: a symbol wrongly confirmed cannot hide a real finder that is
 * clearly seen.
 * Time is linear in the number of finders times the number of finders within
 * reach of each, (4 max_version + 13) modules: give max_version no larger
 * than the scan needs. `out` must hold n / 3 + 1 triplets. */
semqr_status semqr__group_symbols(const semqr__finder *finders, int n, int max_version,
                                  semqr__triplet_check check, void *user, semqr__triplet *out,
                                  int *count, semqr_error *err);

/* ---- geometry (geometry.c) ----------------------------------------------- */

/* A correction of a symbol's module grid for distortion that varies inside
 * the symbol, which no homography follows: an SEM scans line by line, and
 * drift that changes while it scans the symbol (a charging jump, drift
 * acceleration, vibration) moves each line of pixels by its own amount, so
 * module rows shift along the lines by different amounts (shear that is
 * not linear) and lie unevenly apart; a symbol turned a quarter turn sees
 * the same along its columns. Module (i, j) is displaced by (du, dv)
 * modules in module coordinates,
 *     du = du_row[j] + du_col[i],   dv = dv_row[j] + dv_col[i],
 * that is every sample of the module is taken at module point (u + du,
 * v + dv) instead of (u, v) before the homography; a row's samples are
 * moved alike, so that a step between two rows (a jump) is followed
 * exactly. Entries beyond the symbol's size are 0. When `on` is 0 the
 * arrays are all 0 and the grid is the homography's alone. */
typedef struct semqr__grid {
	int on;
	float du_row[SEMQR_SIZE_MAX], dv_row[SEMQR_SIZE_MAX]; /* per module row j */
	float du_col[SEMQR_SIZE_MAX], dv_col[SEMQR_SIZE_MAX]; /* per module column i */
} semqr__grid;

/* The displacement of module (i, j), 0 <= i, j < SEMQR_SIZE_MAX, under g
 * (0 when g->on is 0). Inline: the samplers call it for every module. */
static inline void semqr__grid_displacement(const semqr__grid *g, int i, int j, double *du,
                                            double *dv)
{
	*du = (double)g->du_row[j] + (double)g->du_col[i];
	*dv = (double)g->dv_row[j] + (double)g->dv_col[i];
}

typedef struct semqr__located {
	int version, size;
	int polarity;          /* of the finders: 0 set modules darker, 1 brighter */
	double h[9];           /* module -> pixel homography, row-major:
	                          (x, y, w) = H (u, v, 1), pixel = (x / w, y / w) */
	float corners[4][2];   /* pixel positions of module corners (0, 0), (size, 0),
	                          (size, size), (0, size) */
	float timing;          /* timing-pattern agreement in [-1, 1] (see semqr__locate_symbol),
	                          of the homography alone */
	int aligned;           /* 1 when the bottom-right alignment pattern was found and used */
	semqr__grid grid;      /* correction of the grid inside the symbol (semqr__grid_refine);
	                          corners and h are the homography's */
} semqr__located;

/* Maps module coordinates (u, v) to pixels through h. Inline: the locator
 * and the samplers call it for every sample they take. */
static inline void semqr__homography_apply(const double h[9], double u, double v, double *x,
                                           double *y)
{
	double w = h[6] * u + h[7] * v + h[8];
	*x = (h[0] * u + h[1] * v + h[2]) / w;
	*y = (h[3] * u + h[4] * v + h[5]) / w;
}

/* Locates the symbol of a triplet in the grey image.
 * Version: every v within 1 of the triplet's estimate (and in 1..max_version)
 * gets the affine map of the three finder centres, and is scored by its
 * timing patterns (row and column 6 between the separators, modules
 * alternating set/unset from a set one): the correlation, in [-1, 1], of the
 * samples with the expected alternation once centred on the mean of set and
 * unset levels read from the finders' centres and separators. The best v wins.
 * Alignment: for v >= 2 the bottom-right alignment pattern (centre at module
 * (size - 6.5, size - 6.5)) is searched within 2 modules of its predicted
 * position by correlation with its 5 x 5 module template, refined to a
 * quarter module and then by a parabola; when its correlation is at least
 * 0.5 the four point pairs (three finder centres and the alignment centre)
 * give a homography, else the affine map is kept.
 * Grid: when the best timing correlation falls short of min_timing,
 * semqr__grid_refine then corrects the grid inside the symbol, when that
 * helps (out->grid; out->h, corners and timing stay the homography's);
 * otherwise out->grid is left off, for the caller to refine when the symbol
 * does not decode as it is (the scan decoder does: refining every located
 * symbol cost 13 % of its CPU time on the 16k plate, where few need it).
 * Returns 1 and fills *out when the best timing correlation is at least
 * min_timing (0.5 suits: real symbols scored 0.71-0.99 in the plate tests, at pixel
 * contrast-to-noise 4-7), or, when the three finders are well supported
 * (at least 2.5 run candidates per module of their size, as for
 * semqr__locate_perspective), it is at least min_timing - 0.25 and the
 * timing agreement of the corrected grid (semqr__timing_agreement) reaches
 * min_timing: distortion inside a symbol can put half its timing modules
 * off any homography's grid. Else 0 (*out untouched). Pure: reads the
 * image only. */
int semqr__locate_symbol(const semqr__grey_image *img, const semqr__finder *finders,
                         const semqr__triplet *t, int max_version, float min_timing,
                         semqr__located *out);

/* As semqr__locate_symbol, for a symbol seen in perspective (a photograph):
 * the affine map of the finder centres misplaces the modules far from them.
 * Tried only when every finder of t is well supported (at least 2.5 run
 * candidates per module of its size: rows and columns through a real
 * finder's 3-module centre give about 6; a chance 1:1:3:1:1 pattern in data
 * gives few), else returns 0. For every version within 2 of t's estimate,
 * the homography of the three finder centres and a fourth point, module
 * (size - 3.5, size - 3.5), is chosen by its timing-pattern correlation:
 * the fourth point on a 1-module grid within 6 modules of the affine map's,
 * then refined by half and quarter modules, 0.002 of correlation charged per
 * module of lean so that the least lean wins ties. The best version and
 * map win; min_timing applies as in semqr__locate_symbol. Then the
 * bottom-right alignment pattern as there (from that map); when it is not
 * found, the fourth point within 3 modules of the chosen one, in
 * half-module steps, that maximises the mean absolute difference between
 * neighbouring module centres (sharp when every sample falls inside its
 * module). For versions >= 7, every alignment pattern is then searched
 * within 2 modules of where the map puts it, and with more than one found,
 * the map becomes the least-squares homography of the finder centres and
 * those found. Pure; costs some thousand timing evaluations: meant as a
 * second try, for triplets that semqr__locate_symbol does not locate or
 * whose sampling does not decode. */
int semqr__locate_perspective(const semqr__grey_image *img, const semqr__finder *finders,
                              const semqr__triplet *t, int max_version, float min_timing,
                              semqr__located *out);

/* The timing-pattern agreement of semqr__locate_symbol (in [-1, 1], -1 when
 * a sample leaves the image) of loc's grid: its homography and, when
 * loc->grid.on, its grid correction, which displaces the timing modules and
 * the finder modules the levels are read from. Pure. */
double semqr__timing_agreement(const semqr__grey_image *img, const semqr__located *loc);

/* ---- grid correction (grid.c) --------------------------------------------- */

/* Measures how far loc's module rows and columns lie from its homography in
 * img and sets loc->grid to that when it stands out of the noise; returns 1
 * then, else 0 with loc->grid all 0. img is the image loc was located in,
 * smoothed (the measurement relies on the blur of the probe and of the scan
 * decoder's denoising); loc->h, version and size are read.
 * Measuring: every edge between two modules decided differently (known
 * function modules taking their values, the quiet zone around the symbol
 * counted unset) reads its offset along the line crossing it; a row's edges
 * between columns give its du_row, each boundary between columns its share
 * of du_col, a column's edges between rows its dv_col and the boundaries
 * between rows dv_row, by robust means with a bias model, outliers along
 * the symbol dropped; three passes, each measuring at the grid the last
 * left, then whole-module steps (offsets beyond the half module an edge can
 * read) chosen from the known modules, and two passes more when some row
 * moved (grid.c says how and why).
 * Terms by the scan direction: when a step along v moves the pixel's y
 * (the scan's slow axis, time) more than a step along u, du_row and dv_row
 * take any value per row (drift as it changes between rows), du_col is a
 * quadratic along the symbol (distortion along the fast axis) and dv_col
 * stays 0; the other way round for a symbol turned a quarter turn (dv_col
 * and du_col free, dv_row quadratic, du_row 0). A term is used only when
 * some row or column of it lies further than 0.1 module + 2 standard
 * errors from the homography (a free boundary term: two neighbouring ones),
 * after the first pass; a symbol where none is keeps no correction. The
 * correction is kept when every sample the samplers take of the corrected
 * grid lies inside img and the timing agreement (semqr__timing_agreement)
 * does not fall by more than 0.05 (the timing patterns hardly see rows
 * moved along the rows, the main correction).
 * Beyond it: offsets of more than 1 module, whole-module steps the known
 * modules do not tell, and distortion that neither follows the rows and
 * columns nor is smooth over a few modules. Cost: about 3 size^2 bilinear
 * samples and fits linear in the edges per pass, about a million
 * instructions for a version-3 symbol; on the 8192^2 plate at default
 * physics 1450 of the scan decoder's 1520 calls paid one pass and 33 kept a
 * correction, and on the 2048^2 one the calls took 3.4 % of the decoder's
 * instructions (callgrind). Pure but for *loc; allocates one block sized by
 * the symbol (on failure: returns 0). */
int semqr__grid_refine(const semqr__grey_image *img, semqr__located *loc);

/* ---- soft sampling (sample.c) -------------------------------------------- */

/* The function modules of a symbol of `version` whose values depend on
 * neither the data nor the format and version information (finders with
 * separators, timing patterns, alignment patterns, the dark module):
 * known[k] = 1 for those (k = j * size + i), with their value (1 set) in
 * value[k]; both 0 elsewhere. Each array holds size^2 bytes. */
void semqr__known_modules(int version, uint8_t *known, uint8_t *value);

/* Bilinear grey value of img at pixel coordinates (x, y) (pixel centres at
 * integers): inside [0, width - 1] x [0, height - 1] of an image at least
 * 2 x 2; elsewhere returns 0 and clears *ok (which is otherwise untouched).
 * Inline: the locator and the samplers call it for every sample they take. */
static inline double semqr__grey_bilinear(const semqr__grey_image *img, double x, double y,
                                          int *ok)
{
	if (!(x >= 0.0 && y >= 0.0 && x <= img->width - 1 && y <= img->height - 1)
	    || img->width < 2 || img->height < 2) {
		*ok = 0;
		return 0.0;
	}
	int x0 = (int)x, y0 = (int)y;
	if (x0 > img->width - 2)
		x0 = img->width - 2;
	if (y0 > img->height - 2)
		y0 = img->height - 2;
	double fx = x - x0, fy = y - y0;
	const float *p = img->data + (size_t)y0 * (size_t)img->stride + (size_t)x0;
	const float *q = p + img->stride;
	return (1.0 - fy) * ((1.0 - fx) * p[0] + fx * p[1]) + fy * ((1.0 - fx) * q[0] + fx * q[1]);
}

/* The module sampler's footprints (semqr__sample_module_means): samples per
 * side of the wide one, for modules of at least SEMQR__SAMPLE_WIDE_MIN_PX
 * pixels, of the narrow one, for modules of SEMQR__SAMPLE_NARROW_MIN_PX up
 * to that, and of the small one, for smaller modules. */
#define SEMQR__SAMPLE_SIDE_WIDE 7
#define SEMQR__SAMPLE_SIDE_NARROW 4
#define SEMQR__SAMPLE_SIDE_SMALL 3
#define SEMQR__SAMPLE_WIDE_MIN_PX 4.5
#define SEMQR__SAMPLE_NARROW_MIN_PX 3.5

/* The footprint semqr__sample_module_means uses for a symbol of `size`
 * modules mapped by h: SEMQR__SAMPLE_SIDE_WIDE when the module at the
 * symbol's centre, (size / 2, size / 2), covers at least
 * SEMQR__SAMPLE_WIDE_MIN_PX^2 square pixels (the absolute determinant of
 * h's Jacobian there, in double), else SEMQR__SAMPLE_SIDE_SMALL when it
 * covers less than SEMQR__SAMPLE_NARROW_MIN_PX^2, else
 * SEMQR__SAMPLE_SIDE_NARROW (also when that area is not finite). One choice
 * per symbol, so that every module of a symbol is measured alike. Pure. */
int semqr__sample_side(const double h[9], int size);

/* Writes loc->size^2 module means (row-major, module (i, j) at
 * means[j * size + i]): each a weighted mean of a side x side grid of
 * bilinear samples around the module's centre, (i + 0.5, j + 0.5) moved by
 * the module's displacement when loc->grid.on (see semqr__grid), through
 * loc->h; side is semqr__sample_side(loc->h, loc->size). Per axis the
 * samples lie at module offsets t with weights summing to 1 (sample (a, b)
 * weighs the product of its two):
 *     wide (7):   t = k * 5/32, k = -3..3 (+-15/32 of a module), weights
 *                 exp(-t^2 / (2 * 0.3^2)) normalised;
 *     narrow (4): t = -9/32, -3/32, 3/32, 9/32, weights 1/4;
 *     small (3):  t = -1/4, 0, 1/4, weights 1/3.
 * The wide footprint is a matched filter: its weights follow the expected
 * difference between a set and an unset module, full in the middle and
 * falling towards the edges, where the milled modules' bright rim, the
 * probe's halo, vibration and a grid error of a fraction of a module mix
 * in the neighbours; its samples are about a pixel apart at 6 px per
 * module and reach to within 1/32 of a module of its edges. On modules of
 * 3 px (the scan decoder at half resolution) bilinear interpolation itself
 * reaches a third of a module beyond the samples, and the narrow one keeps
 * to the central +-9/32 with 16 samples, spaced 0.57 px there.
 * Measured on 2048^2 plates (version 3, 6.1 px modules), against the
 * former uniform 5 x 5 at +-5/16, all else alike. Full resolution, 6 seeds
 * (384 symbols) per dose: decoded 39, 204, 345, 378 instead of 31, 166,
 * 325, 377 at doses 25, 30, 35, 40 quanta per pixel (3 seeds at 20, 45,
 * 50, 60: the same counts), no wrong payload; the first try's mean
 * correction load (2 errors + erasures, all symbols decoded) at doses 60
 * and 80 fell from 8.98 and 4.19 to 7.20 and 3.51. Worse there: uniform
 * weights over +-0.375 or more, 5 samples at +-0.375 (1.15 px apart),
 * Gaussians of 0.2 to 0.25 module or of 0.4 or more. Half resolution
 * (forced, 3.05 px modules): at doses 40 and 45 (10 plates, 640 symbols)
 * the narrow footprint decoded 618, 5 x 5 619, the wide one's Gaussian on
 * 4 x 4 at +-5/16 616, on 5 x 5 614, uniform 4 x 4 at +-5/16 614, 3 x 3 at
 * +-1/4 616; at doses 80 and 100 (6 plates) every one decoded all 384, the
 * narrow one with a first-try load of 3.43 instead of 3.51. The 16384^2
 * plate (4624 symbols, half resolution) decodes alike with 6 % less CPU
 * time (sampling took about a fifth of it).
 * The small footprint takes the modules under 3.5 px, the scan decoder's
 * at half resolution (modules of 3 to 3.5 px there) among them, with 9
 * samples instead of 16. Measured at half resolution (forced) on the
 * 2048^2 plates of bench/lowdose.sh (seeds 16-18, 192 symbols per dose):
 * decoded 181 and 190 against the narrow one's 179 and 190 at doses 40 and
 * 45, all 192 from 50 up; first-try load (2 errors + erasures, summed) 2 to
 * 4 % above the narrow one's from 40 to 80, 1 % below at 100 (470 against
 * 476); +-0.3 instead of +-1/4 was worse from 60 up (load 606 at 100). The
 * 16384^2 plate: the same 4624 symbols with 6 % less CPU time. At 4.26 px
 * modules (full resolution, 11.5 nm pixels, 432 symbols per dose) the
 * narrow one stays better: the small one decoded 363 against its 371 at
 * dose 100, hence the 3.5 px bound.
 * Samples are taken b (v offset) outer, a (u offset) inner. Bilinear
 * interpolation uses the four pixels around (x, y); a sample is missing
 * when (x, y) lies outside [0, width - 1] x [0, height - 1] (borders
 * included) or is not finite, and every sample is missing when width < 2
 * or height < 2. A module with a missing sample gets NAN. Computed in
 * double, stored as float. Without a grid correction this is the
 * definition kernels/sample.cl implements on the device (in float, its
 * wide weights rounded to float); the device sampler knows no grid correction
 * (it samples through loc->h alone). Pure. */
void semqr__sample_module_means(const semqr__grey_image *img, const semqr__located *loc,
                                float *means);

/* Turns the size^2 module means of a symbol of `version` (size = 17 + 4
 * version, layout as above) into probabilities of "set" (= dark in the QR
 * sense) in dark (same layout; dark may equal means).
 * The levels come from the symbol's own function modules whose values are
 * known (finders with separators, timing patterns, alignment patterns, the
 * dark module; not the format and version areas), "known modules" below.
 * 1. First decision: the set and unset means mu1, mu0 of the known modules
 *    and their pooled variance s^2; a data module is set when it lies on
 *    mu1's side of (mu0 + mu1) / 2.
 * 2. Neighbour model (a milled module's bright rim lifts it where it meets
 *    unmilled ones, and blur mixes neighbours in): under the current
 *    decisions, each class c gets a level linear in the number nb of set
 *    4-neighbours (outside the matrix counts unset), l_c(nb) = a_c + b_c nb,
 *    fitted by least squares to the known modules alone (so that a patch of
 *    damaged data modules cannot pull the levels), and the noise variance
 *    s^2 is their pooled residual variance: the noise is measured in the
 *    scan itself.
 * 3. p(set | g) under three classes: set and unset, Gaussian of spread s
 *    about l_1(nb), l_0(nb), and damaged, with prior weight 0.02, uniform
 *    between the two levels and set or unset alike (missing or half-milled
 *    modules). So p is the two-Gaussian logistic near the levels, and a grey
 *    between them but many spreads from both comes out near 0.5: an erasure
 *    for the decoder.
 * Steps 2 and 3 run three times, each deciding the data modules again
 * (p > 0.5) for the next; the third writes p, unless step 4 replaces it.
 * 4. Local levels (a background varying across the symbol: a textured
 *    substrate, uneven charging): when the lag-1 correlation of the known
 *    modules' residuals between 4-neighbours under the third round's fit
 *    is at least 0.5, the third round is replaced by three rounds in which
 *    each module's level per class is the Gaussian-weighted (1 module, out
 *    to 3) mean of the other modules of that class around it, with 0.5
 *    module's weight of the class's mean over the symbol, plus the
 *    neighbour terms of step 2 fitted to the known modules' residuals from
 *    those levels; the last writes p as step 3 does (see sample.c).
 * Variances are floored at
 * 1e-4 (mu1 - mu0)^2 (a noiseless image saturates p). NAN means (missing
 * modules) are ignored for the fits, count unset as neighbours and get 0.5;
 * every module gets 0.5 when the two levels of step 1 are not apart
 * (|mu1 - mu0| <= s / 4); when a class has fewer than 3 finite known
 * modules, step 1's logistic 1 / (1 + exp(-(mu1 - mu0) (g - (mu0 + mu1) / 2)
 * / s^2)) is written instead. */
void semqr__soft_from_means(int version, const float *means, float *dark);

/* As semqr__soft_from_means with the boundary between the classes moved:
 * every data module (not a known one) is decided, and gets its p, as if its
 * grey were moved by (0.5 - threshold) (l1 - l0), l0 and l1 the unset and
 * set levels of the step concerned (mu0, mu1 in step 1, l_0(nb), l_1(nb)
 * after). So a module whose grey lies `threshold` of the way from the unset
 * to the set level is decided as one half way is by semqr__soft_from_means:
 * threshold 0.5 is semqr__soft_from_means itself, below 0.5 calls more
 * modules set, above fewer. The levels and the noise are fitted as there
 * (to the known modules, which are not moved). */
void semqr__soft_from_means_at(int version, const float *means, double threshold, float *dark);

/* semqr__sample_module_means then semqr__soft_from_means: loc->size^2
 * probabilities of "set" in dark. */
void semqr__sample_soft(const semqr__grey_image *img, const semqr__located *loc, float *dark);

/* semqr__sample_module_means then semqr__soft_from_means_at. */
void semqr__sample_soft_at(const semqr__grey_image *img, const semqr__located *loc,
                           double threshold, float *dark);

/* Hard centre sampling, what existing readers do (kept for comparison):
 * module (i, j) is the bilinear grey of img at the pixel its centre
 * (i + 0.5, j + 0.5) maps to (moved by the grid correction when
 * loc->grid.on), set (p = 1) when it lies beyond the cut on
 * the set side, else unset (p = 0): no reliability, so the decoder gets no
 * erasures. The cut is at `threshold` of the way from the unset level mu0
 * to the set level mu1 (0.5: their midpoint), the levels being those of
 * semqr__soft_from_means' step 1 (the module means of the known modules).
 * A module whose centre lies outside the image is unset; every module gets
 * 0.5 when the levels are not apart (as in semqr__soft_from_means). Writes
 * loc->size^2 values into dark (also used as scratch for the means). */
void semqr__sample_centre(const semqr__grey_image *img, const semqr__located *loc,
                          double threshold, float *dark);

#endif
