/* Internal: the scan decoder's plan and per-tile chain, shared by
 * scheduler.c (tiles, bands, memory, the public entry point) and
 * scan_decode.c (one tile through the device stages, the locator and the
 * decoder).
 *
 * Tile layout. A tile has a core [core_x0, core_x1) x [core_y0, core_y1) of
 * scan pixels; the cores partition the scan. Its context is the core grown by
 * the halo on every side and clipped to the scan: the finder and locator
 * stages see exactly the context. The tile buffer uploaded to the device is
 * the context grown by `pad` = denoise radius + binarize radius on every side
 * (pixels beyond the scan replicate its edge), so that the filters never read
 * outside the buffer. In the device buffers (tile buffer coordinates, stride
 * = buffer width):
 *
 *     load and flatten (one stage)
 *               whole buffer            native -> float B
 *     denoise   buffer shrunk by rd     B -> A
 *     binarize  buffer shrunk by pad    A -> bin       (= the context)
 *     finder    the context             bin, grey A
 *
 * and the context of A (denoised) and of B (flattened) is read back to the
 * host: the locator finds the geometry in the denoised image, where finders
 * and timing patterns stand out of the noise, and the sampler reads the
 * flattened one, whose module edges the Gaussian has not blurred (the
 * weighted mean of a module's samples does the denoising there, see
 * semqr__sample_module_means).
 *
 * Detect scale. At scale s = 2 (plan->scale) the tile buffer is still cut
 * at scan resolution, native depth, but its pad is s * dpad scan pixels, and
 * the device first bins it 2 x 2 (semqr__stage_bin2, into A); everything
 * after runs on the binned buffer of ceil(bw / 2) x ceil(bh / 2) pixels
 * ("detect pixels"), whose pad is dpad = rd + rb and whose context is
 * det_w x det_h = ceil(ctx_w / 2) x ceil(ctx_h / 2) (an odd context's last
 * detect column or row also covers one pad column or row of the scan):
 *
 *     bin       whole buffer            native -> float A   (detect size)
 *     flatten   whole detect buffer     A -> B
 *     denoise, binarize, finder as above in the detect buffer,
 *
 * and the read-back contexts, the finder runs and everything the locator
 * finds are in detect pixels. Detect pixel i (centre at i in the locator's
 * coordinates, which put pixel centres at integers) covers context pixels
 * s i .. s i + s - 1, so a detect coordinate u is the scan coordinate
 * ctx_x0 + s u + s / 2 in the scan's convention (pixel x covers [x, x + 1));
 * s = 1 is the chain above (load and flatten fused, no binning). Every
 * coordinate reported (corners, centre, finders, module size) and the core
 * test use scan coordinates, so tiles partition the scan as at scale 1. */
#ifndef SEMQR_PIPELINE_INTERNAL_H
#define SEMQR_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "locate/locate.h"
#include "pipeline/stages.h"
#include "semqr/decode.h"

/* Everything decided before the first tile: sizes and stage parameters. */
typedef struct semqr__scan_plan {
	int width, height, bits, page;
	int scale;                    /* detect scale s, 1 or 2 (see above) */
	int tile, halo, pad;          /* core side, halo, filter pad s (rd + rb): scan px */
	int tile_cols, tile_rows;
	int group_cols, groups;       /* column groups: tile columns in each (the last may
	                                 have fewer), and their number (scheduler.c) */
	int group_margin;             /* columns a group's bands reach beyond its tiles'
	                                 buffers (the line corrector's largest shift) */
	int buf_w, buf_h;             /* the largest tile buffer: context + 2 pad (scan px) */
	int dpad;                     /* rd + rb: the pad in detect pixels */
	int dbuf_w, dbuf_h;           /* the largest detect buffer: ceil(buf_w / s) x .. */
	double pixel_nm;              /* 0 when unknown */
	/* Scan pixels: */
	float module_px_min, module_px_max;   /* finder runs accepted */
	float symbol_module_lo, symbol_module_hi; /* module pitch of symbols accepted */
	/* Detect pixels (scan pixels / s): */
	float sigma;                  /* denoise */
	int rd, rb;                   /* denoise and binarize radii */
	int flatten_block;
	semqr__finder_params finder;  /* module sizes of finder runs accepted */
	int resolved;                 /* 0: every module size considered is under 2 px */
	int max_version;
	float min_timing;
	semqr_decode_options decode;
	semqr_stack_mode stack;       /* for scans of several pages read as one */
	semqr_sampling_mode sampling;
	double retry_ms;              /* retry budget per symbol, 0: none */
	int threads;                  /* CPU decoder threads (0: on the scheduler's thread) */
} semqr__scan_plan;

/* One tile: its core and context in scan pixels, and its place in the grid. */
typedef struct semqr__tile {
	int col, row;
	int core_x0, core_y0, core_x1, core_y1;
	int ctx_x0, ctx_y0, ctx_w, ctx_h;
	int det_w, det_h;             /* the context in detect pixels: ceil(ctx_w / s) .. */
} semqr__tile;

/* Initial room for finder run candidates per tile; grown on overflow. */
#define SEMQR__CANDIDATES_INITIAL (1 << 16)

/* The device side of the per-tile chain: the OpenCL context and buffers,
 * sized for plan->buf_w x plan->buf_h (the input) and plan->dbuf_w x
 * plan->dbuf_h (the others) and reused across tiles, and
 * `host_in`, where the scheduler cuts the tile (native depth, dense rows of
 * the tile's buffer width): the input buffer `in` itself, allocated in host
 * memory (CL_MEM_ALLOC_HOST_PTR) and mapped for writing between tiles, so
 * that the tile reaches the device without a copy where the device shares
 * host memory (PoCL). host_in is valid after semqr__device_create and after
 * each successful semqr__device_run, until the next run.
 * The two float images a tile ends with, the denoised (a) and the
 * flattened (b), are one pair per slot (semqr__device_slots), likewise in
 * host memory: a run leaves its slot's pair mapped for reading (map_a,
 * map_b; the slot's grey and flat point into them), and the next run on
 * that slot unmaps it first, so that the decoders read the images where
 * the device wrote them. Used by the scheduler's thread only. */
typedef struct semqr__tile_device {
	semqr__cl_context *ctx;
	cl_mem in, bin, scratch, dcands, count;
	int slots;
	cl_mem *a, *b;                /* per slot */
	void **map_a, **map_b;        /* per slot: the mapped pair, or NULL */
	int capacity;                 /* candidates dcands holds */
	void *host_in;
} semqr__tile_device;

/* The slots of a plan's pool: one per decoder thread and one more, filled
 * while the others are located. */
static inline int semqr__device_slots(const semqr__scan_plan *plan)
{
	return plan->threads + 1;
}

typedef struct semqr__tile_result semqr__tile_result;

/* The host side of one tile in flight: what the device stages read back and
 * what the CPU stages make of it. A slot is filled by semqr__device_run,
 * worked on by semqr__slot_locate (on any one thread) and reported by
 * semqr__slot_emit; different slots are independent, so several tiles can
 * be located at once on different threads. */
typedef struct semqr__tile_slot {
	semqr__tile tile;
	const float *grey;            /* the denoised context, rows `stride` floats apart */
	const float *flat;            /* the flattened context, likewise */
	int stride;
	semqr__finder_candidate *cands;
	int capacity, found;          /* room in cands / finders / triplets; runs found */
	semqr__finder *finders;       /* capacity / 2 + 1 */
	semqr__triplet *triplets;     /* capacity / 6 + 2 */
	float *dark;                  /* SEMQR_SIZE_MAX^2 */
	/* Set by semqr__slot_locate: */
	semqr__tile_result *results;
	int nresults;
	long nfinders;
	/* CPU seconds: geometry, sampling + decoding, and the rest (sorting,
	 * clustering, grouping), exclusive of each other; seconds_retry is the
	 * part of seconds_decode spent on retries. */
	double seconds_locate, seconds_decode, seconds_group, seconds_retry;
	/* Symbols in the core located but not decoded at the first sampling,
	 * hence retried (plan->retry_ms > 0), and those a retry decoded. */
	long retried, rescued;
	semqr_status status;
	semqr_error err;
} semqr__tile_slot;

/* Bytes of one device side and of one slot (host and device memory), for
 * the budget. */
size_t semqr__device_bytes(const semqr__scan_plan *plan);
size_t semqr__slot_bytes(const semqr__scan_plan *plan);

/* Creates the context on `dev` and the buffers; on failure everything created
 * is released and *d is zeroed. */
semqr_status semqr__device_create(const semqr__scan_plan *plan, const semqr_cl_device_info *dev,
                                  semqr__tile_device *d, semqr_error *err);
void semqr__device_destroy(semqr__tile_device *d);

/* Allocates a slot's buffers; on failure nothing is left to free. */
semqr_status semqr__slot_init(semqr__tile_slot *s, semqr_error *err);
void semqr__slot_free(semqr__tile_slot *s);

/* Runs the tile whose buffer (context + 2 pad) is in d->host_in through the
 * device stages into the images of slot number k (0 <= k <
 * semqr__device_slots), reads the finder runs back into slot s (growing its
 * arrays when needed) and maps the denoised and flattened contexts for s
 * (s->grey, s->flat, s->stride); s->tile becomes *tile. Adds the device
 * stages' times and the candidates to sum. */
semqr_status semqr__device_run(semqr__tile_device *d, const semqr__scan_plan *plan,
                               const semqr__tile *tile, int k, semqr__tile_slot *s,
                               semqr_scan_summary *sum, semqr_error *err);

/* The CPU stages of a filled slot: finder clustering, grouping, geometry,
 * sampling and decoding of every symbol whose centre lies in the tile's
 * core. Results, counts, times and the status stay in the slot. Touches
 * nothing outside s and the read-only plan. */
void semqr__slot_locate(semqr__tile_slot *s, const semqr__scan_plan *plan);

/* Reports a located slot: calls cb for each symbol (failures inside a
 * decoded symbol of the tile left out), adds its counts and times to sum,
 * and releases its results. Returns the slot's status. */
semqr_status semqr__slot_emit(semqr__tile_slot *s, semqr_scan_callback cb, void *user,
                              semqr_scan_summary *sum, semqr_error *err);

/* semqr_decode_scan with column groups of at most group_cols tile columns
 * when group_cols > 0 (0: as semqr_decode_scan chooses; see scheduler.c),
 * so that tests can force them. The memory budget still narrows them, and a
 * band callback still takes the full width. */
semqr_status semqr__decode_scan_grouped(semqr_scan *scan, const semqr_scan_decode_options *opts,
                                        int group_cols, semqr_scan_callback cb, void *user,
                                        semqr_scan_summary *summary, semqr_error *err);

/* Seconds of CLOCK_MONOTONIC. */
double semqr__now(void);

#endif
