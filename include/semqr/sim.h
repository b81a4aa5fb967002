/* semqr — the SEM scan simulator: QR plates rendered as a scanning electron
 * microscope images them, with the ground truth of every symbol.
 *
 * A scene is a plate of symbols made by the encoder: one symbol, a grid of
 * rows x columns at a pitch, or an image size filled with such a grid. Each
 * symbol has its own payload, rotation and position jitter; milled modules
 * are darker or brighter than the film and carry a bright rim near their
 * edges; damage (flipped or missing modules, scratches, particles) and a real
 * SEM background can be added.
 *
 * The instrument scans the plate pixel by pixel. Pixel (x, y) of frame f is
 * acquired at
 *     t = f * (H * line_time + frame_gap) + y * line_time + x * dwell,
 *     line_time = W * dwell + flyback,
 * and every time-dependent effect (drift, charging jumps, vibration, line
 * offsets and jitter) acts at that time. The probe is a Gaussian core (with
 * astigmatism) plus a wide Gaussian halo; the signal is Poisson-distributed
 * detected quanta plus read noise, correlated along the fast axis, with
 * gain, offset and gamma, quantised to 8 or 16 bits.
 *
 * Coordinates: image pixel (x, y) covers [x, x+1) x [y, y+1), so its centre
 * is (x + 0.5, y + 0.5); the scene (plate) has its origin at the top-left
 * corner of pixel (0, 0) in the undistorted, undrifted scan, x to the right,
 * y down, in nanometres.
 *
 * Rendering streams strips of rows: memory is bounded by the image width,
 * never by its height, and the output is a pure function of the options:
 * the same options give the same bytes whatever the strip height or the
 * number of threads.
 */
#ifndef SEMQR_SIM_H
#define SEMQR_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"
#include "semqr/qr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum semqr_sim_polarity {
	SEMQR_SIM_MILLED_DARK = 0,  /* milled modules darker than the film */
	SEMQR_SIM_MILLED_BRIGHT = 1 /* milled modules brighter than the film */
} semqr_sim_polarity;

typedef enum semqr_sim_payload {
	SEMQR_SIM_PAYLOAD_TEMPLATE = 0, /* payload_template with {plate} {row} {col} {index} */
	SEMQR_SIM_PAYLOAD_RANDOM = 1,   /* random_length random bytes per symbol */
	SEMQR_SIM_PAYLOAD_FILE = 2      /* consecutive chunk_length-byte chunks of payload_file */
} semqr_sim_payload;

typedef enum semqr_sim_compression {
	SEMQR_SIM_COMPRESS_NONE = 0,
	SEMQR_SIM_COMPRESS_LZW = 1,
	SEMQR_SIM_COMPRESS_DEFLATE = 2
} semqr_sim_compression;

#define SEMQR_SIM_VIBRATION_MAX 32

/* Every parameter of a simulation. semqr_sim_options_init sets each field to
 * the default given in its comment (from sem-physics.json: a fast 1 us scan
 * of a 49 nm version-3 code at 8 nm pixels, 2 kV). Strings are borrowed: they
 * must stay valid while a call uses the options. */
typedef struct semqr_sim_options {
	uint64_t seed;               /* every random choice derives from it (1) */

	/* ---- scene: the plate ---- */
	int rows, cols;              /* grid of symbols (1 x 1); 0 x 0 with width and
	                                height set fills the image with symbols at the
	                                pitch; a negative count means no symbol at all */
	double pitch_um;             /* centre-to-centre distance of grid cells; 0 = the
	                                smallest pitch holding a symbol with its quiet
	                                zone at any allowed rotation, in 0.1 um steps (0) */
	int quiet_modules;           /* quiet zone used by the automatic pitch (4) */
	int width, height;           /* image size in pixels; 0 = the grid's size (0) */
	semqr_sim_payload payload;   /* (TEMPLATE) */
	const char *payload_template;/* ("P{plate}-R{row}-C{col}"); {index} counts from 0
	                                row by row; "{{" and "}}" are literal braces */
	int plate;                   /* value of {plate} (1) */
	int random_length;           /* bytes for RANDOM (16) */
	const char *payload_file;    /* file for FILE (NULL); chunks wrap around at its end */
	int chunk_length;            /* bytes per chunk for FILE (32) */
	int version;                 /* symbol version, 1..40 (3) */
	semqr_ecc ecc;               /* level (M) */
	int mask;                    /* 0..7, or -1 for the encoder's choice (-1) */
	bool mirrored;               /* render each matrix transposed (false) */
	double module_nm;            /* module pitch (49) */
	double pixel_nm;             /* pixel size (8) */
	double rotation_deg;         /* rotation of every symbol, clockwise on screen (0) */
	double rotation_range_deg;   /* plus a uniform random angle in +-range; 180 gives
	                                arbitrary orientations (0) */
	double jitter_nm;            /* plus a uniform random offset in +-jitter per axis (0) */

	/* ---- contrast ---- */
	semqr_sim_polarity polarity; /* (MILLED_DARK) */
	double film_level;           /* film brightness as a fraction of full scale (0.5) */
	double contrast;             /* milled level = film * (1 -+ contrast) (0.3) */
	double rim;                  /* rim inside milled modules: + rim * film * exp(-d / rim_nm)
	                                at distance d from the edge of the milled region (0.3) */
	double rim_nm;               /* rim decay length (16: b = 0.5 per 8 nm pixel) */
	const char *texture_path;    /* real SEM image modulating the scene (NULL) */
	double texture_pixel_nm;     /* its pixel size; 0 = pixel_nm (0) */
	double texture_strength;     /* brightness *= 1 + strength * (T / mean(T) - 1) (0.5) */

	/* ---- damage, per symbol ---- */
	int flip_modules;            /* data modules inverted, spread at random (0) */
	int missing_modules;         /* data modules neither milled nor intact (grey, halfway),
	                                in one compact patch (0) */
	double scratches;            /* mean number of scratches (Poisson) (0) */
	double scratch_width_nm;     /* (20) */
	double scratch_length_nm;    /* (800) */
	double scratch_depth;        /* brightness *= 1 - depth on the scratch (0.6) */
	double particles;            /* mean number of bright particles (Poisson) (0) */
	double particle_sigma_nm;    /* Gaussian radius (15) */
	double particle_level;       /* peak brightness added, in film units (1.0) */

	/* ---- scan timing ---- */
	double dwell_us;             /* per pixel (1) */
	double flyback_us;           /* per line (20) */
	int frames;                  /* frames of the same field, written as pages (1) */
	double frame_gap_s;          /* pause between frames (0) */

	/* ---- probe ---- */
	double psf_sigma_px;         /* Gaussian core; 0 = no core blur (1.0) */
	double astig_ratio;          /* core sigma along astig_angle / across it, >= 1 (1) */
	double astig_angle_deg;      /* direction of the wider axis, from +x towards +y (0) */
	double halo_weight;          /* fraction of the signal in the halo, 0..1 (0.2) */
	double halo_sigma_nm;        /* halo Gaussian (20: 2 kV in CrN; 95 at 5 kV) */
	double hv_kv;                /* accelerating voltage, for the metadata (2) */

	/* ---- signal and noise ---- */
	bool noise;                  /* false renders expected values, no noise at all (true) */
	double dose;                 /* detected quanta per pixel on the film (100) */
	double beam_current_pa;      /* > 0: dose = 6.24 * pA * dwell_us * efficiency (0) */
	double detector_efficiency;  /* detected quanta per primary electron (0.2) */
	double read_noise_dn;        /* Gaussian detector noise, 8-bit grey levels (1.0) */
	double line_noise;           /* per-line offset std / film shot-noise std (0.05) */
	double fast_axis_rho;        /* AR(1) correlation of the noise along a line (0.05) */
	double offset;               /* output = offset + gain * signal, full-scale units (0) */
	double gain;                 /* (1) */
	double gamma;                /* output^(1/gamma) after clipping to [0, 1] (1) */
	int bits;                    /* 8 or 16 (8) */

	/* ---- motion ---- */
	double drift_nm_per_min[2];  /* linear specimen drift, x and y ({8, 4}) */
	double drift_accel_nm_per_min2[2]; /* its change per minute ({0, 0}) */
	double jumps_per_frame;      /* mean number of charging jumps (Poisson) (0) */
	double jump_min_px, jump_max_px; /* jump length, uniform, random direction (0.5, 5) */
	double line_jitter_px;       /* std of each line's shift along x (0.05) */
	int vibrations;              /* sinusoids, 0..SEMQR_SIM_VIBRATION_MAX (10) */
	double vibration_px;         /* largest amplitude; each is uniform in [0, it] (0.05) */
	double vibration_min_hz, vibration_max_hz; /* frequencies, log-uniform (3, 200) */
	double distortion;           /* radial warp: r -> r (1 + k r^2), r in half-widths (0) */
	double line_start_px;        /* x shift A exp(-x / line_start_decay_px) at line start (0) */
	double line_start_decay_px;  /* (32) */

	/* ---- rendering and output ---- */
	int supersample;             /* n x n samples per pixel of the ideal scene (4) */
	int threads;                 /* worker threads; never changes the output (2) */
	int strip_rows;              /* rows rendered at once; 0 = automatic; never changes
	                                the output (0) */
	bool tiled;                  /* tiles instead of strips (false) */
	int tile_size;               /* multiple of 16 (256) */
	semqr_sim_compression compression; /* (NONE) */
	int bigtiff;                 /* -1 automatic (past 4 GiB), 0 never, 1 always (-1) */
	bool fei_metadata;           /* INI text in tag 34682 (true) */
	bool zeiss_metadata;         /* CZ_SEM text in tag 34118 (false) */
	int databar_rows;            /* data bar rows below the image, 0 = none (0) */
} semqr_sim_options;

/* Sets every field of *opts to its default. */
void semqr_sim_options_init(semqr_sim_options *opts);

/* The range semqr_simulate accepts for the numeric field that lies
 * `offset` bytes into semqr_sim_options (offsetof(semqr_sim_options,
 * field)): true with [*min, *max] filled when that field has a plain range
 * check, false for fields checked by other rules (bits, rows, cols, the
 * drift vectors, enumerations) and offsets of no field. For front ends that
 * check options as they parse them, in the library's own terms. */
bool semqr_sim_option_range(size_t offset, double *min, double *max);

/* Receives the image strip by strip, in order: rows y0 .. y0+rows-1 of frame
 * `frame`, each `width` samples (uint8_t or uint16_t by opts->bits), rows
 * contiguous. Returning anything but SEMQR_OK (with err filled) stops the
 * rendering with that status. */
typedef semqr_status (*semqr_sim_sink)(void *user, int frame, int y0, int rows, int width,
                                       const void *pixels, semqr_error *err);

/* The image size the options give (after automatic sizing), and the number
 * of symbols on the plate. Fails with SEMQR_ERR_INVALID_ARGUMENT naming the
 * first option out of range. */
semqr_status semqr_sim_geometry(const semqr_sim_options *opts, int *width, int *height,
                                long *symbols, semqr_error *err);

/* Renders every frame, strip by strip, into sink. */
semqr_status semqr_sim_render(const semqr_sim_options *opts, semqr_sim_sink sink, void *user,
                              semqr_error *err);

/* Writes the ground truth as JSON: every option, derived quantities (dose,
 * timing, vibration components, charging jumps) and, for every symbol, its
 * payload (text and hex), version, level, mask and the four corners of the
 * symbol in image pixels in each frame, drift included. */
semqr_status semqr_sim_write_truth(const semqr_sim_options *opts, const char *path,
                                   semqr_error *err);

/* Renders into a TIFF at tiff_path (libtiff; strips or tiles, 8 or 16 bits,
 * optional compression, BigTIFF when needed, one page per frame, vendor
 * metadata, optional data bar) and, when truth_path is not NULL, writes the
 * ground truth there. A failed write removes the partial file. */
semqr_status semqr_simulate(const semqr_sim_options *opts, const char *tiff_path,
                            const char *truth_path, semqr_error *err);

#ifdef __cplusplus
}
#endif
#endif
