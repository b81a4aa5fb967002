/* Internal interfaces of the SEM simulator (host/sim/). Not installed.
 *
 * The path of one pixel, top to bottom:
 *   render.c      strips of rows, threads, the sink;
 *   instrument.c  pixel time -> scene position (drift, jumps, vibration,
 *                 jitter, distortion); the probe (PSF blur of a strip);
 *                 signal and noise (Poisson, read noise, line offsets,
 *                 fast-axis correlation, gain/offset/gamma, quantisation);
 *   scene.c       layout of the plate; the ideal brightness of a row of
 *                 pixels (symbols, rim, damage, texture, area sampling);
 *   symbol.c      one symbol: payload, matrix, pose, damage; the grid rows
 *                 a strip needs;
 *   rng.c         counter-based random numbers keyed by what they are for.
 * truth.c writes the ground truth, tiff_writer.c and databar.c the TIFF,
 * options.c the defaults, the checks and the JSON dump of the options.
 *
 * Units: scene positions in nm; displacements in pixels; brightness as a
 * factor of the film's (film = 1) within a symbol, in full-scale units (0..1)
 * from the ideal pixel rows (semqr__sim_ideal_row) onwards.
 */
#ifndef SEMQR_SIM_INTERNAL_H
#define SEMQR_SIM_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "semqr/sim.h"

#define SIM_PI 3.14159265358979323846

/* ---- rng.c -------------------------------------------------------------- */

/* What a random draw is for: part of every key, so that streams never meet. */
enum {
	SIM_STREAM_SHOT = 1, /* (frame, row) then column: shot noise */
	SIM_STREAM_READ,     /* (frame, row) then column / 2: read noise, in pairs */
	SIM_STREAM_LINE,     /* (frame, row): line offset and line jitter */
	SIM_STREAM_POSE,     /* (row, column): rotation and jitter of a symbol */
	SIM_STREAM_PAYLOAD,  /* (index): random payload bytes */
	SIM_STREAM_DAMAGE,   /* (row, column): flips, missing patch, scratches, particles */
	SIM_STREAM_VIBRATION,/* (component): frequency, amplitude, direction, phase */
	SIM_STREAM_JUMP      /* (frame): charging jumps */
};

typedef struct semqr__rng {
	uint64_t s;
} semqr__rng;

/* The generator for key (seed, stream, a, b, c). */
semqr__rng semqr__rng_at(uint64_t seed, uint32_t stream, uint64_t a, uint64_t b, uint64_t c);
/* A generator keyed by base's key plus one more word: cheap per-pixel keys
 * from a per-row base. */
semqr__rng semqr__rng_derive(semqr__rng base, uint64_t d);
uint64_t semqr__rng_next(semqr__rng *r);
/* Uniform in [0, 1), 53 bits. */
double semqr__rng_uniform(semqr__rng *r);
/* Standard normals: one, or an independent pair from the same draw. */
double semqr__rng_normal(semqr__rng *r);
void semqr__rng_normal_pair(semqr__rng *r, double *a, double *b);
/* Poisson with the given mean (0 for mean <= 0). */
uint32_t semqr__rng_poisson(semqr__rng *r, double mean);

/* ---- the prepared simulation (render.c) --------------------------------- */

typedef struct sim_vibration {
	double freq_hz, amp_px, dir_x, dir_y, phase;
} sim_vibration;

typedef struct sim_jump {
	int frame;
	double t;      /* seconds from the start of frame 0 */
	double dx, dy; /* pixels; the specimen moves by it (the image content too) */
} sim_jump;

typedef struct sim_kernel {
	int radius;  /* taps -radius..radius; 0 = identity */
	float *taps; /* 2 * radius + 1, summing to 1 */
} sim_kernel;

#define SIM_RIM_RES 16 /* rim table samples per module side */

typedef struct semqr__sim {
	semqr_sim_options o;
	int width, height;
	int rows, cols;        /* grid actually placed (0 x 0 for none) */
	long symbols;
	int size;              /* modules per symbol side */
	double pitch_nm, origin_x_nm, origin_y_nm; /* cell (r, c) spans origin + [c, c+1) pitch */
	double symbol_reach_nm;/* bound on |point of a symbol or its damage - cell centre| */

	double dose;           /* detected quanta per pixel on the film */
	double line_time_s, frame_time_s, frame_period_s;
	double motion_bound_px;/* bound on the displacement of any pixel, any frame, but
	                          the drift (see semqr__sim_strip_reach) */

	int vibrations;
	sim_vibration vib[SEMQR_SIM_VIBRATION_MAX];
	int jumps;
	sim_jump *jump;        /* sorted by time */

	/* Scene: brightness factors in film units. */
	float milled, missing;
	float *rim_table;      /* [256 neighbour sets][RES][RES]: a milled module's brightness */
	float *texture;        /* NULL or tex_w x tex_h modulation factors, mean 1 */
	int tex_w, tex_h;
	double tex_px_per_nm;

	/* Probe: (1 - halo_weight) * core + halo_weight * halo. */
	sim_kernel core_x, core_y; /* separable core (axis-aligned astigmatism) */
	float *core_2d;        /* or a (2 r + 1)^2 kernel, r = core_2d_radius, when tilted */
	int core_2d_radius;
	sim_kernel halo;
	int pad;               /* rows and columns of scene needed around a strip */

	int payload_fd;        /* FILE payloads, read with pread; -1 otherwise */
	uint64_t payload_size;
} semqr__sim;

/* Checks the options and derives everything above. On failure nothing needs
 * releasing. */
semqr_status semqr__sim_prepare(const semqr_sim_options *opts, semqr__sim *sim,
                                semqr_error *err);
void semqr__sim_release(semqr__sim *sim);
/* Renders every frame of a prepared simulation into sink. */
semqr_status semqr__sim_render(const semqr__sim *sim, semqr_sim_sink sink, void *user,
                               semqr_error *err);

/* ---- options.c ---------------------------------------------------------- */

/* SEMQR_ERR_INVALID_ARGUMENT naming the first option out of range. */
semqr_status semqr__sim_check_options(const semqr_sim_options *o, semqr_error *err);
/* Writes the options as one JSON object (every field, by its C name). */
void semqr__sim_options_json(FILE *f, const semqr_sim_options *o);
/* Writes v with the fewest of 15 or 17 significant digits that read back exactly. */
void semqr__sim_json_number(FILE *f, double v);

/* ---- truth.c ------------------------------------------------------------ */

semqr_status semqr__sim_write_truth(const semqr__sim *sim, const char *path, semqr_error *err);

/* ---- scene.c, symbol.c ------------------------------------------------- */

/* Bits of a module's cell word. */
#define SIM_CELL_NEIGHBOURS 0xFFu /* milled 8-neighbours, bit k for (dx, dy) in order
                                     (-1,-1) (0,-1) (1,-1) (-1,0) (1,0) (-1,1) (0,1) (1,1) */
static const int sim_neighbour_dx[8] = {-1, 0, 1, -1, 1, -1, 0, 1};
static const int sim_neighbour_dy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
#define SIM_CELL_MILLED 0x100u
#define SIM_CELL_MISSING 0x200u

#define SIM_PARTICLES_MAX 32
#define SIM_SCRATCHES_MAX 16
#define SIM_PAYLOAD_MAX 7089

typedef struct sim_particle {
	double x, y; /* nm */
} sim_particle;

typedef struct sim_scratch {
	double x0, y0, x1, y1; /* nm */
} sim_scratch;

/* One symbol of the plate, as rendered. */
typedef struct sim_symbol {
	long index;
	int row, col;
	uint8_t payload[SIM_PAYLOAD_MAX];
	size_t payload_len;
	int version, size, mask;
	semqr_ecc ecc;
	double cx, cy;       /* centre, nm */
	double angle;        /* radians */
	double cos_a, sin_a;
	double bx0, by0, bx1, by1; /* scene bounding box of everything it draws, nm */
	uint16_t *cell;      /* size * size cell words of the rendered (maybe transposed) matrix */
	int *flipped, nflipped;   /* module indices y * size + x of the logical matrix */
	int *missing, nmissing;
	int nparticles, nscratches;
	sim_particle particle[SIM_PARTICLES_MAX];
	sim_scratch scratch[SIM_SCRATCHES_MAX];
} sim_symbol;

/* The grid rows a strip needs, built on demand and kept while they are. */
typedef struct sim_cache {
	int first, count;    /* grid rows first .. first+count-1 */
	int cols;            /* symbols per grid row */
	sim_symbol *sym;     /* [count][cols] */
	semqr_symbol *scratch;
} sim_cache;

/* Placement: grid, pitch, origin (fills sim->rows, cols, symbols, pitch_nm,
 * origin, symbol_reach_nm, width, height). */
semqr_status semqr__sim_layout(semqr__sim *sim, semqr_error *err);
/* Rim table, levels, texture. */
semqr_status semqr__sim_scene_prepare(semqr__sim *sim, semqr_error *err);

/* Builds symbol (row, col): payload, matrix, pose, damage. s->cell etc. must
 * be NULL or allocated for the same size (they are reused). */
semqr_status semqr__sim_symbol_make(const semqr__sim *sim, int row, int col, sim_symbol *s,
                                    semqr_symbol *scratch, semqr_error *err);
void semqr__sim_symbol_free(sim_symbol *s);

/* Makes the cache hold every grid row whose symbols may reach scene rows
 * [y0_nm, y1_nm]. */
semqr_status semqr__sim_cache_cover(const semqr__sim *sim, sim_cache *c, double y0_nm,
                                    double y1_nm, semqr_error *err);
void semqr__sim_cache_free(sim_cache *c);

/* Ideal brightness of n pixels of one row (full-scale units, before the
 * probe): pixel i's top-left corner samples the scene at (qx[i], qy[i]) nm and
 * its area spans one pixel from there. dev is scratch of n floats. */
void semqr__sim_ideal_row(const semqr__sim *sim, const sim_cache *c, int x0, int n,
                          const float *qx, const float *qy, float *dev, float *out);

/* The scene position (nm) of logical module coordinates (mx, my) of s. */
void semqr__sim_module_to_scene(const semqr__sim *sim, const sim_symbol *s, double mx,
                                double my, double *qx, double *qy);

/* ---- instrument.c ------------------------------------------------------- */

/* Drift, jumps and vibration, motion parameters and the probe kernels. */
semqr_status semqr__sim_instrument_prepare(semqr__sim *sim, semqr_error *err);
/* The x jitter of row y of frame f in pixels: the probe misses the line by
 * it (applied after the probe's blur, see instrument.c). */
double semqr__sim_line_jitter(const semqr__sim *sim, int frame, int y);
/* Scene positions of the top-left corners of pixels x0 .. x0+n-1 of row y,
 * without the line jitter. */
void semqr__sim_row_positions(const semqr__sim *sim, int frame, int y, int x0, int n,
                              float *qx, float *qy);
/* The image point (continuous pixel coordinates) whose sample lands on scene
 * point (qx, qy) nm in frame f. */
void semqr__sim_locate(const semqr__sim *sim, int frame, double qx, double qy, double *px,
                       double *py);
/* Scene rows [*lo_nm, *hi_nm] that pixel rows y0 .. y1-1 of frame f and the
 * probe's halo rows around them can sample, at any column: the drift over
 * the strip's own time plus motion_bound_px. Bounded by the strip, not by
 * the frame time. */
void semqr__sim_strip_reach(const semqr__sim *sim, int frame, int y0, int y1, double *lo_nm,
                            double *hi_nm);
/* Applies the probe to a strip: in has rows + 2 pad rows of width + 2 pad
 * columns (stride width + 2 pad); out gets rows x width. tmp holds
 * rows * (width + 2 pad) floats. */
void semqr__sim_blur(const semqr__sim *sim, const float *in, int rows, float *tmp, float *out);
/* Detector: signal in full-scale units for one row of frame f -> noisy,
 * quantised samples (uint8_t or uint16_t by bits). */
void semqr__sim_detect_row(const semqr__sim *sim, int frame, int y, const float *signal,
                           void *out);

/* ---- tiff_writer.c, databar.c ------------------------------------------- */

/* Registers tags 34682 (FEI) and 34118 (Zeiss) with libtiff, once. */
void semqr__sim_tiff_register_tags(void);
/* Draws the data bar (sim->o.databar_rows x width) into out. */
void semqr__sim_databar(const semqr__sim *sim, void *out);

#endif
