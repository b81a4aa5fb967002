/* The drift of a registered stack as the scan decoder reports it: one
 * semqr_scan_frame per page through the caller's callback, and the summary's
 * drift fields (contracts in semqr/decode.h). */
#include <math.h>
#include <string.h>

#include "pipeline/drift_report.h"

/* Fills *f with frame k's drift. */
static void describe_frame(const semqr__drift *d, int k, const semqr_scan_info *info,
                           double period_s, semqr_scan_frame *f)
{
	memset(f, 0, sizeof *f);
	int nx, ny;
	semqr__drift_grid(d, &nx, &ny);
	f->page = k;
	f->tiles = nx * ny;
	double dx = 0.0, dy = 0.0;
	f->tiles_used = k ? semqr__drift_frame_shift(d, k, &dx, &dy) : 0;
	f->integrated = k == 0 || f->tiles_used > 0;
	f->shift_px[0] = dx;
	f->shift_px[1] = dy;
	double ss = 0.0;
	for (int j = 0; j < ny && f->tiles_used; j++)
		for (int i = 0; i < nx; i++) {
			double cx, cy;
			semqr__shift m;
			int used;
			semqr__drift_tile(d, k, i, j, &cx, &cy, &m, &used);
			if (used)
				ss += (m.dx - dx) * (m.dx - dx) + (m.dy - dy) * (m.dy - dy);
		}
	f->shift_rms_px = f->tiles_used ? sqrt(ss / f->tiles_used) : 0.0;
	f->has_nm = info->pixel_nm_x > 0.0 && info->pixel_nm_y > 0.0;
	f->shift_nm[0] = f->has_nm ? dx * info->pixel_nm_x : 0.0;
	f->shift_nm[1] = f->has_nm ? dy * info->pixel_nm_y : 0.0;
	f->start_s = period_s > 0.0 ? k * period_s : -1.0;
}

void semqr__drift_report(const semqr__drift *d, const semqr_scan_info *info, double period_s,
                         semqr_scan_frame_callback cb, void *user, semqr_scan_summary *sum)
{
	sum->frame_period_source = period_s > 0.0             ? "option"
	                           : info->frame_time_s > 0.0 ? "metadata frame time"
	                                                      : "none";
	if (!(period_s > 0.0))
		period_s = info->frame_time_s > 0.0 ? info->frame_time_s : 0.0;
	sum->frame_period_s = period_s;
	sum->drift_max_px = 0.0;
	for (int k = 0; k < semqr__drift_frames(d); k++) {
		semqr_scan_frame f;
		describe_frame(d, k, info, period_s, &f);
		if (f.integrated)
			sum->drift_max_px = fmax(sum->drift_max_px, hypot(f.shift_px[0], f.shift_px[1]));
		if (cb)
			cb(user, &f);
	}
	sum->has_drift_velocity = 0;
	if (period_s > 0.0) {
		double vx, vy;
		semqr__drift_velocity(d, period_s, &vx, &vy);
		sum->has_drift_velocity = 1;
		sum->drift_px_per_min[0] = 60.0 * vx;
		sum->drift_px_per_min[1] = 60.0 * vy;
		sum->drift_nm_per_min[0] = 60.0 * vx * info->pixel_nm_x;
		sum->drift_nm_per_min[1] = 60.0 * vy * info->pixel_nm_y;
	}
}
