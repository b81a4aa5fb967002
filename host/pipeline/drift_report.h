/* Internal: the drift of a registered stack as the scan decoder reports it.
 *
 * Each frame's shift is the median over its registered tiles
 * (semqr__drift_frame_shift), its spread the RMS distance of those tiles
 * from it; nm use the scan's pixel size. With a frame period (the caller's,
 * else the frame time of the scan's metadata: the instruments' frame time is
 * the period of back-to-back frame integration, but a pause between frames,
 * which no vendor records, would make the velocity an overestimate), frame
 * k starts at k periods and the drift velocity is the least-squares slope
 * of the integrated frames' shifts against their start times
 * (semqr__drift_velocity). */
#ifndef SEMQR_PIPELINE_DRIFT_REPORT_H
#define SEMQR_PIPELINE_DRIFT_REPORT_H

#include "drift/register.h"
#include "semqr/decode.h"

/* Calls cb (when not NULL) with every frame of d in page order, and sets the
 * summary's drift fields (frame_period_s and its source, drift_max_px,
 * has_drift_velocity and the velocities; the nm velocities are 0 without a
 * pixel size). period_s > 0 is the caller's frame period, 0 for the
 * metadata's. */
void semqr__drift_report(const semqr__drift *d, const semqr_scan_info *info, double period_s,
                         semqr_scan_frame_callback cb, void *user, semqr_scan_summary *sum);

#endif
