/* Internal: pixel size and image height from SEM vendors' TIFF metadata.
 *
 * Each parser is a pure function over the bytes of one TIFF tag as stored in
 * the file: the bytes need not be NUL-terminated, may contain NULs or binary
 * junk, and are never read past len. A parser fills only the fields it finds
 * and returns 1 when it found a pixel size (both axes), else 0.
 *
 * Where the vendors keep it (see shared/MISSION.md, "Vendor metadata"):
 * - FEI / Thermo Fisher, tag 34682 (34680 on older systems): INI text;
 *   [Scan] PixelWidth, PixelHeight in metres; [Image] ResolutionX and
 *   ResolutionY give the size of the image proper, which excludes a data bar
 *   stored below it.
 * - Zeiss SmartSEM, tag 34118: after a block of bare numbers, pairs of lines
 *   "AP_IMAGE_PIXEL_SIZE" / "Image Pixel Size = 11.16 nm" (key line, then
 *   "Label = value unit"); ap_image_pixel_size is preferred, ap_pixel_size
 *   is the fallback. One value, used for both axes.
 * - Fibics / Zeiss Atlas, tag 51023: XML; <Scan> holds the pixel step
 *   vectors in micrometres: U = (Ux, Uy) from one column to the next and
 *   V = (Vx, Vy) from one row to the next. The pixel size is |U| by |V|, so
 *   a rotated scan (ScanRot) gives the same size as an unrotated one.
 * - Tescan, tag 50431: INI text, possibly after binary bytes; [MAIN] (else
 *   [SEM]) PixelSizeX, PixelSizeY in metres.
 *
 * Scan timing, independent of the pixel size (a parser may find one without
 * the other). Times are kept only within 1 ps .. 1 day, else left 0. What
 * each vendor states:
 * - FEI: FrameTime, LineTime (seconds) and Dwelltime (seconds) in [Scan].
 *   Real files leave some out of [Scan] (a Helios PFIB writes no LineTime
 *   there); each missing one is then taken from the beam's own scan section,
 *   [EScan] or [IScan] as [Beam] Scan names it, where the dwell key is
 *   Dwell.
 * - Zeiss: pairs of lines "AP_FRAME_TIME" / "Cycle Time = 48.7 Secs",
 *   "AP_LINE_TIME" / "Line Time = 63.43 ms", "DP_DWELL_TIME" / "Dwell Time =
 *   100 ns"; units ns, us, µs, ms, s, Sec, Secs.
 * - Fibics: <Dwell units="ns"> in <Scan> (units ns, us, µs, ms, s; none:
 *   not read); no frame or line time.
 * - Tescan: [SEM] DwellTime in seconds (the key public Tescan readers use;
 *   no Tescan file was at hand to confirm it); no frame or line time.
 * No time is derived from another: with line averaging or flyback, a frame
 * is not width x dwell x height, and whoever needs a frame time where only
 * the line time is stated multiplies by the lines of the scan knowingly.
 */
#ifndef SEMQR_VENDOR_META_H
#define SEMQR_VENDOR_META_H

#include <stddef.h>
#include <stdint.h>

/* TIFF tags read by the scan reader. */
enum {
	SEMQR__TAG_FEI_SFEG = 34680,
	SEMQR__TAG_FEI_HELIOS = 34682,
	SEMQR__TAG_ZEISS_SEM = 34118,
	SEMQR__TAG_TESCAN = 50431,
	SEMQR__TAG_FIBICS = 51023
};

/* Room for the longest timing source text, with its NUL. */
#define SEMQR__TIMING_SOURCE_MAX 96

typedef struct semqr__vendor_meta {
	const char *vendor;        /* "FEI/Thermo Fisher", "Zeiss SmartSEM", ...; NULL if none */
	double pixel_nm_x;         /* > 0 when found, else 0 */
	double pixel_nm_y;
	const char *pixel_source;  /* constant text naming tag and keys; NULL if none */
	uint32_t image_width;      /* image proper stated by the metadata; 0 if not */
	uint32_t image_height;
	const char *size_source;   /* constant text naming tag and keys; NULL if none */
	double frame_time_s;       /* seconds per frame (page), > 0 when found, else 0 */
	double line_time_s;        /* seconds per scan line, > 0 when found, else 0 */
	double dwell_s;            /* seconds per pixel and pass, > 0 when found, else 0 */
	/* The tag and the keys of the times found, e.g. "FEI tag 34682 [Scan]
	 * FrameTime, Dwelltime; [IScan] LineTime"; "" when none was found. */
	char timing_source[SEMQR__TIMING_SOURCE_MAX];
} semqr__vendor_meta;

/* Parsers, one per vendor (see the header comment). tag is 34680 or 34682
 * for FEI, so that the sources name the tag actually read. The pixel size
 * and the timing fields are filled independently; *m must start zeroed. */
int semqr__meta_fei(const uint8_t *text, size_t len, int tag, semqr__vendor_meta *m);
int semqr__meta_zeiss(const uint8_t *text, size_t len, semqr__vendor_meta *m);
int semqr__meta_fibics(const uint8_t *text, size_t len, semqr__vendor_meta *m);
int semqr__meta_tescan(const uint8_t *text, size_t len, semqr__vendor_meta *m);

/* Statistics of one image row, for semqr__find_data_zone: how many of its
 * `width` pixels are exactly 0 and how many exactly full scale. */
typedef struct semqr__row_stat {
	uint32_t black, white;
} semqr__row_stat;

/* The burnt-in data zone heuristic for Zeiss SmartSEM files, whose metadata
 * does not state where the data zone starts. SmartSEM draws it as a box of
 * black text on white (or the reverse) framed by full-width black lines,
 * over the bottom of the image. Given the stats of the last n rows of an
 * image `width` pixels wide, returns the index (0..n-1) of the data zone's
 * top frame line, or -1 when there is none. Rule, scanning up from the last
 * row:
 *   - at most 8 trailing rows that are not saturated are skipped (image rows
 *     left visible below the box);
 *   - then a run of at least 8 saturated rows (at least 80 % of the pixels
 *     exactly 0 or full scale) must follow;
 *   - the top row of that run must be a frame line (at least 98 % of its
 *     pixels 0, or at least 98 % full scale), and a row that is not
 *     saturated must lie above it within the n rows (else the run may go on
 *     above the rows given).
 * Natural SEM images almost never have 8 consecutive rows 80 % clipped, so
 * false positives need a deliberately clipped picture. */
int semqr__find_data_zone(const semqr__row_stat *rows, int n, uint32_t width);

#endif
