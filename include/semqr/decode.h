/* semqr — decoding every QR symbol of a whole SEM scan.
 *
 * semqr_decode_scan streams an open scan (semqr/scan.h) through the device
 * stages (load, flatten, denoise, binarize, finder runs; OpenCL) and the CPU
 * locator and decoder, and hands each located symbol to a callback as soon as
 * it is known: decoded, or located but not decoded (a failure, with the
 * reason). The library does the work; printing is the caller's business.
 *
 * Tiles and halos. The scan is cut into core tiles of tile x tile pixels.
 * Each is processed together with a halo of context around it, wide enough
 * that every symbol of up to max_version (at the largest module size
 * considered), turned any way, lies whole in the context of the tile whose
 * core holds its centre. A symbol is reported only by that tile, so each
 * symbol is reported exactly once however many tiles see it (deduplication
 * by construction: the cores partition the scan).
 *
 * Memory. The tiles are processed in column groups: adjacent tile columns
 * spanning at most 16384 pixels of cores, each group read top to bottom as
 * bands of rows of its own columns: its tiles with their halos, at the
 * file's native depth (16 bits for a registered stack), rows shared by
 * consecutive bands being kept rather than read again; two bands, the one
 * in use and the next. With the per-tile host and device buffers this is
 * the memory used, whatever the scan's height, and beyond a 16k scan
 * whatever its width. Where reading some columns costs whole rows anyway
 * (semqr_scan_info.column_reads 0: compressed strips, PNG, JPEG) and when a
 * band callback is set, the bands span the full width; narrower groups are
 * taken when the plan does not fit memory_budget otherwise (a scan of
 * compressed strips is then decoded once per group). semqr_decode_scan
 * checks the total against memory_budget before reading anything and fails
 * with SEMQR_ERR_INVALID_ARGUMENT naming the sizes when it does not fit.
 *
 * Coordinates reported are scan pixels in the convention of the datasets:
 * pixel (x, y) covers [x, x + 1) x [y, y + 1), x to the right, y down, row 0
 * the first row of the image proper.
 *
 * Threads. A reader thread reads the next band of rows (for a registered
 * stack: integrates the frames' rows on the device, in a context of its own)
 * while the calling thread runs the device stages tile after tile (one
 * in-order queue), and a pool of decoder threads locates and decodes the
 * tiles already through the device. Callbacks are called on the calling
 * thread, tile by tile in the order the tiles are processed (column group
 * after column group, row by row within a group), so the output is the
 * same whatever the number of threads. */
#ifndef SEMQR_DECODE_H
#define SEMQR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/cl.h"
#include "semqr/error.h"
#include "semqr/qr.h"
#include "semqr/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The drift measured for one frame (page) of a stack registered by
 * semqr_decode_scan. */
typedef struct semqr_scan_frame {
	int page;                    /* 0 .. pages - 1; page 0 is the reference */
	int integrated;              /* 1 when it was averaged in (page 0, and every frame of
	                                which at least one tile registered) */
	int tiles, tiles_used;       /* registration tiles, and those that registered and agreed */
	double shift_px[2];          /* median drift over its tiles: the frame's content sits at
	                                (x + dx, y + dy) where frame 0's sits at (x, y) */
	double shift_rms_px;         /* RMS distance of the used tiles' shifts from that median
	                                (how much the drift varies across the field) */
	int has_nm;                  /* 1 when the scan's pixel size is known: */
	double shift_nm[2];
	double start_s;              /* the frame's start from the first frame's: page x the
	                                frame period (see semqr_scan_decode_options); -1 when
	                                unknown */
} semqr_scan_frame;

/* Receives each frame's drift, in page order, after the registration and
 * before any symbol. */
typedef void (*semqr_scan_frame_callback)(void *user, const semqr_scan_frame *frame);

/* Receives each band of scan rows as it is read: rows y0 .. y0 + rows - 1,
 * every column, pixels uint8_t or uint16_t by bits, rows stride pixels apart.
 * Bands come in increasing y0 and may overlap their predecessor (rows shared
 * with the next row of tiles are handed again). For overlays and progress
 * reports: setting one makes the decoder read full-width bands (see Memory
 * above), so leave it NULL when nothing needs it. */
typedef void (*semqr_scan_band_callback)(void *user, int y0, int rows, const void *pixels,
                                         int bits, size_t stride);

/* How the pages of a multi-page scan (a frame stack) are combined. */
typedef enum semqr_stack_mode {
	SEMQR_STACK_REGISTER = 0, /* each frame registered to the first by phase correlation
	                             (a shift field over tiles, sub-pixel), then the shifted
	                             frames averaged on the device */
	SEMQR_STACK_MEAN          /* the plain mean of the frames, unshifted */
} semqr_stack_mode;

/* How a module's value is taken from the image (the module sampler). */
typedef enum semqr_sampling_mode {
	SEMQR_SAMPLING_SOFT = 0,  /* the mean over the module's area, turned into p(dark)
	                             against the symbol's own light and dark levels and the
	                             noise measured in the scan (see host/locate/sample.c) */
	SEMQR_SAMPLING_CENTRE     /* one pixel at each module centre, thresholded: what
	                             existing readers do (for comparison only) */
} semqr_sampling_mode;

/* Largest denoiser sigma in pixels (semqr_scan_decode_options.denoise_sigma):
 * the device stage's largest radius, 15, is 3 sigma. */
#define SEMQR_DENOISE_SIGMA_MAX 5.0

/* The automatic detect scale (semqr_scan_decode_options.detect_scale 0)
 * bins tiles 2 x 2 when modules are at least SEMQR_DETECT_SCALE2_MODULE_PX
 * scan pixels (the pixel size known) and the noise measured in the scan
 * (semqr_scan_summary.noise_quanta) is at least SEMQR_DETECT_SCALE2_QUANTA
 * detected quanta per pixel. 6 px is where the smallest finder runs
 * searched (m / 1.5) stay at 2 binned pixels, the finder stage's floor:
 * below it binning lost symbols (2048 x 2048 plates at default physics,
 * 3 seeds: 5.0 px modules 246 of 300 decoded binned against 300, 5.5 px
 * 242 of 243 against 243). At 6.1 px it lost symbols at low doses (40
 * quanta per pixel: 172 of 192 against 189; 45: 187 against 191; 55: 191
 * both, one plate losing one; since the binarize window at scale 2 is 1.25
 * modules instead of 2, binned: 179, 190, 192) and none from 60 quanta up
 * (60, 65, 70, 80, 100: 192 of 192 both; the 16384 x 16384 plate at 100:
 * 4624 both); the noise measured reads about 5 % under the simulated dose,
 * and 80 keeps a margin above 60 while taking scale 2 at default physics
 * (100). */
#define SEMQR_DETECT_SCALE2_MODULE_PX 6.0
#define SEMQR_DETECT_SCALE2_QUANTA 80.0

typedef struct semqr_scan_decode_options {
	/* The OpenCL device: NULL or "" for the default (see
	 * semqr_cl_select_device: SEMQR_DEVICE, else the first GPU, else the
	 * first device), "P:D", or a name substring. Default NULL. */
	const char *device;
	/* Side of the core tiles in pixels, 64..16384 (default 2048). */
	int tile;
	/* Upper bound of the memory used (band, host and device buffers), in
	 * bytes (default 1 GiB). */
	size_t memory_budget;
	/* Largest QR version expected, 1..40 (default 10): sets the halo and
	 * bounds the grouping of finder patterns. */
	int max_version;
	/* Module pitch on the sample in nm (default 49). With the scan's pixel
	 * size it gives the module size in pixels. */
	double module_nm;
	/* Range of module sizes in pixels searched when the scan's pixel size is
	 * unknown (default 3..12); ignored when it is known. */
	double module_px_min, module_px_max;
	/* Page of a multi-page scan, or SEMQR_SCAN_MEAN (default) for all
	 * pages combined as `stack` says. */
	int page;
	/* How the pages are combined (default SEMQR_STACK_REGISTER). */
	semqr_stack_mode stack;
	/* Seconds from the start of one frame to the start of the next, for the
	 * drift velocity; 0 (default) takes the frame time of the scan's
	 * metadata (semqr_scan_info.frame_time_s), which is the period when the
	 * frames follow each other without a pause, as in the instruments'
	 * frame integration. */
	double frame_period_s;
	/* Nonzero: estimate each scan line's shift along x from the lines
	 * around it (line jitter, charging jumps) and undo it before anything
	 * else (host/drift/lines.h), searching shifts up to line_shift_max
	 * pixels. It runs on the reader thread at about 17 Mpixel/s on one core
	 * of the 2-core test machine (line_shift_max 8), which then bounds the
	 * whole decoder, hence off by default. Default 0 (off), line_shift_max
	 * 8. */
	int line_shifts;
	int line_shift_max;
	/* Nonzero (default): the located image is denoised by a Gaussian whose
	 * sigma is 0.24 of the module when the pixel size gives the module
	 * size, a third of module_px_min otherwise (measured: see
	 * host/pipeline/stages.h). 0: it is not (sigma 0; for ablation). */
	int denoise;
	/* > 0: the Gaussian's sigma in pixels, at most SEMQR_DENOISE_SIGMA_MAX,
	 * instead of the chosen one (for comparisons); 0 (default): chosen.
	 * Ignored when denoise is 0. */
	double denoise_sigma;
	/* Module sampling (default SEMQR_SAMPLING_SOFT). */
	semqr_sampling_mode sampling;
	/* Time budget in milliseconds for the retries of one located symbol
	 * that does not decode at once (other images, grid offsets and
	 * thresholds, 16 at most); 0 for no retry. Default 200: a retry of a
	 * version-3 symbol took 0.6 ms on the 2-core test machine (2.4 ms
	 * under AddressSanitizer), so all 16 fit with room to spare, the
	 * budget only caps pathological cases, and the output does not depend
	 * on the machine's load; a smaller budget trades that for time. */
	double retry_ms;
	/* Timing-pattern agreement a symbol needs to count as located, in
	 * [-1, 1] (default 0.45: symbols of simulated plates score 0.5 to 0.85,
	 * chance alignments of finder-like patterns 0.3 to 0.42). */
	float min_timing;
	/* Detect scale: 2 bins each tile 2 x 2 on the device before anything
	 * else, so that the stages that find and locate symbols run on a
	 * quarter of the pixels (coordinates are still reported in scan
	 * pixels); 1 does not; 0 (default, automatic) takes 2 when the module
	 * size in pixels is known (pixel size from the metadata) and at least
	 * SEMQR_DETECT_SCALE2_MODULE_PX and the scan's noise is low enough
	 * (SEMQR_DETECT_SCALE2_QUANTA), else 1. */
	int detect_scale;
	/* Passed to semqr_decode_matrix (defaults as semqr_decode_options_init). */
	semqr_decode_options decode;
	/* CPU decoder threads locating and decoding tiles while the calling
	 * thread reads the scan and runs the device stages on the next tile:
	 * -1 (default) one per online processor, at most 16, fewer when the
	 * memory budget requires (each needs the buffers of one tile in
	 * flight); 0 decodes on the calling thread between tiles; at most 64.
	 * Results come in the same order whatever the number. */
	int threads;
	/* Called with every band read, with band_user, when not NULL (default
	 * NULL). For a registered stack the bands are the averaged frames,
	 * 16-bit. */
	semqr_scan_band_callback band;
	void *band_user;
	/* Called with every frame's drift when a stack is registered, with
	 * frame_user, when not NULL (default NULL). */
	semqr_scan_frame_callback frame;
	void *frame_user;
} semqr_scan_decode_options;

/* Fills *opts with the defaults documented above. */
void semqr_scan_decode_options_init(semqr_scan_decode_options *opts);

/* One located symbol, decoded or not. Valid only during the callback. */
typedef struct semqr_scan_symbol {
	int decoded;                 /* 1: `data` holds the decoded symbol; 0: a failure */
	const semqr_decoded *data;   /* when decoded, else NULL */
	const char *reason;          /* when not decoded: why (the decoder's message) */
	int version;                 /* the version the locator read (data->version when decoded) */
	int polarity;                /* 0: dark modules darker than the background, 1: brighter */
	double corners_px[4][2];     /* scan pixels of module corners (0, 0), (size, 0),
	                                (size, size), (0, size) of the symbol as sampled (for a
	                                mirrored symbol, of its transpose) */
	double center_px[2];         /* the symbol's centre (module (size/2, size/2)) */
	double finders_px[3][2];     /* centres of its top-left, top-right and bottom-left
	                                finder patterns as located */
	double module_px;            /* mean module pitch along the four sides, in pixels */
	int has_nm;                  /* 1 when the scan's pixel size is known: */
	double center_nm[2];         /* centre in nm from the scan's origin */
	double module_nm;            /* module pitch in nm */
	float timing;                /* the locator's timing-pattern agreement */
	int tile_col, tile_row;      /* the tile that reported it */
} semqr_scan_symbol;

/* Receives every located symbol, in tile order (column group after column
 * group, row by row within a group; see Memory above), within a tile in the
 * locator's order. */
typedef void (*semqr_scan_callback)(void *user, const semqr_scan_symbol *symbol);

/* Stage timings, in seconds. The device stages (flatten, denoise, binarize,
 * finder) are the device's own execution times of their kernels, from
 * OpenCL profiling events (the host enqueues a tile's whole chain and waits
 * once: seconds_device_wait). The others are wall-clock times
 * (CLOCK_MONOTONIC): read, integrate and lines on the reader thread;
 * register, upload and output on the calling thread; group, locate and
 * decode on the decoder threads, summed over them. The threads overlap, so
 * the sum of the stages may exceed seconds_total. Group, locate and
 * decode exclude each other: the grouping calls the locator and the decoder
 * for each candidate triplet, and their times are taken out of its own. */
typedef enum semqr_scan_stage {
	SEMQR_STAGE_READ = 0,  /* reading and converting the scan's bands (for a registered
	                          stack: reading the frames' rows) */
	SEMQR_STAGE_REGISTER,  /* stacks: measuring every frame's drift against frame 0
	                          (FFTW phase correlation over tiles, reading included) */
	SEMQR_STAGE_INTEGRATE, /* stacks: writing frame rows to the device, integrating them
	                          shifted, reading the sums back, dividing */
	SEMQR_STAGE_LINES,     /* line shift correction (option line_shifts) */
	SEMQR_STAGE_UPLOAD,    /* cutting tiles and writing them to the device */
	SEMQR_STAGE_LOAD,      /* device: 8/16 bits -> float (fused into flatten by the scan
	                          decoder, which then reports 0 here) */
	SEMQR_STAGE_FLATTEN,   /* device: background removal */
	SEMQR_STAGE_DENOISE,   /* device: Gaussian */
	SEMQR_STAGE_BINARIZE,  /* device: local-mean threshold */
	SEMQR_STAGE_FINDER,    /* device: finder runs, read back with the grey tile */
	SEMQR_STAGE_LOCATE,    /* CPU: geometry of candidate symbols (timing patterns,
	                          version, homography) */
	SEMQR_STAGE_DECODE,    /* CPU: soft sampling and Reed-Solomon decoding */
	SEMQR_STAGE_GROUP,     /* CPU: clustering finder runs into finder patterns and
	                          grouping these into symbols (the rest of the decoder
	                          threads' work: all but locate and decode) */
	SEMQR_STAGE_OUTPUT,    /* the caller's callback, timed around each call */
	SEMQR_STAGE_COUNT
} semqr_scan_stage;

/* The name of a stage ("read", "upload", "load", ...). */
const char *semqr_scan_stage_name(semqr_scan_stage stage);

typedef struct semqr_scan_summary {
	int width, height, pages;    /* the scan's image proper */
	/* How the pages were combined: "single" (one page, or the page asked
	 * for), "mean" or "register". Constant text. */
	const char *stack;
	int frames_integrated;       /* pages averaged into the image decoded */
	/* Registered stacks: the frame period used (0 when unknown) and where it
	 * came from ("option", "metadata frame time" or "none"; constant text),
	 * and the drift velocity fitted over the frames (least squares of shift
	 * against start time) when the period is known (has_drift_velocity 1),
	 * in pixels and nm (when the pixel size is known) per minute. */
	double frame_period_s;
	const char *frame_period_source;
	int has_drift_velocity;
	double drift_px_per_min[2];
	double drift_nm_per_min[2];
	double drift_max_px;         /* largest frame shift |(dx, dy)| measured */
	/* The register stage's time split into: reading the frames' bands,
	 * windowing and forward FFTs, cross-power spectra and inverse FFTs,
	 * peak refinement (upsampled DFT), outlier rejection and plane fits;
	 * and the number of tiles registered. */
	double register_read_s, register_fft_s, register_cross_s, register_peak_s,
	    register_combine_s;
	long register_tiles;
	/* With line_shifts: the RMS and the largest |shift| of the lines. */
	double line_shift_rms_px, line_shift_max_px;
	uint64_t pixels;             /* width x height */
	int tiles, tile_cols, tile_rows;
	int tile, halo;              /* core side and halo in pixels */
	double pixel_nm;             /* the scan's pixel size (0 when unknown) */
	double module_px_min, module_px_max; /* module sizes searched, in pixels */
	int modules_resolved;        /* 0 when all of them are under 2 px: the scan cannot
	                                show such symbols and was not searched */
	/* The noise measured in the scan before decoding, from a sample of its
	 * rows (host/pipeline/noise_level.h): the sample's median level and
	 * the noise standard deviation there, in full-scale units (grey value
	 * / (2^bits - 1)), and the detected quanta per pixel they amount to
	 * (INFINITY when no noise was seen); all 0 when the scan was too small
	 * to measure. */
	double noise_level, noise_sd, noise_quanta;
	double denoise_sigma_px;     /* the denoiser's Gaussian sigma (0: no denoising) */
	int detect_scale;            /* the detect scale used, 1 or 2 (see the options) */
	long candidates;             /* finder run candidates over all tiles */
	long finders;                /* finder patterns over all tiles (halos counted again) */
	long located;                /* symbols reported: decoded + failed */
	long decoded, failed;
	long retried, rescued;       /* symbols retried after a failed first sampling, and those
	                                a retry decoded (see retry_ms) */
	double seconds_retry;        /* the part of the decode stage spent on retries */
	size_t memory_bytes;         /* the planned band, host and device buffers */
	int threads;                 /* decoder threads used */
	double seconds[SEMQR_STAGE_COUNT];
	double seconds_device_wait;  /* the calling thread waiting for the device: each tile's
	                                chain of stages and read-back, enqueued at once and
	                                waited for once */
	double seconds_read_wait;    /* the calling thread waiting for the reader thread: the
	                                part of reading (and stack integration) that the
	                                device stages and decoders did not hide */
	double seconds_total;        /* the whole call, setup included */
	char device[SEMQR_CL_NAME_MAX]; /* the OpenCL device used */
} semqr_scan_summary;

/* Decodes every symbol of `scan`, calling `cb` (which may be NULL) for each
 * located one, and fills *summary (which may be NULL). Fails on bad options
 * (SEMQR_ERR_INVALID_ARGUMENT), a budget the plan exceeds (idem, naming the
 * sizes), no OpenCL device (SEMQR_ERR_NO_PLATFORM, the message of
 * semqr_cl_select_device), OpenCL errors, read errors of the scan, or
 * allocation failures; symbols already passed to cb stay valid output.
 * Finding no symbol is not an error, nor is a pixel size that makes every
 * module size considered smaller than 2 px (then nothing is searched and
 * summary->modules_resolved is 0). opts may be NULL for the defaults.
 *
 * A located symbol that does not decode is reported as a failure unless its
 * centre lies inside a symbol decoded in the same tile (it was then made of
 * finder-like patterns in that symbol's data); summary->failed counts the
 * reported ones. */
semqr_status semqr_decode_scan(semqr_scan *scan, const semqr_scan_decode_options *opts,
                               semqr_scan_callback cb, void *user, semqr_scan_summary *summary,
                               semqr_error *err);

#ifdef __cplusplus
}
#endif
#endif
