/* semqr finder stage: 1:1:3:1:1 run patterns along rows and columns.
 *
 * finder_rows scans the rows of a binary image, finder_columns its columns,
 * 16 lines per work-item (finder_scan16 below). A line is cut into runs of equal
 * value; a run is complete when a transition bounds it on both sides, so the
 * run touching the line's start and the one touching its end are never used
 * (the tile's halo covers patterns cut by the tile edge). Whenever a complete
 * run ends, the last five complete runs l0..l4 are tested: with
 * m = (l0 + l1 + l2 + l3 + l4) / 7 and expected widths e = 1, 1, 3, 1, 1,
 *     min_module <= m <= max_module  and  |l_i - e_i m| <= tolerance e_i m.
 * Runs alternate in value, so every five runs are a candidate of one polarity
 * or the other: polarity is the binary value of the centre run (0: darker
 * than its surroundings, 1: brighter).
 *
 * Sub-pixel edges. The edge between pixels q and q + 1 of a line is refined
 * from the grey line g (the denoised image the binary one came from): with the
 * differences a = g[q] - g[q-1], b = g[q+1] - g[q], c = g[q+2] - g[q+1], each
 * multiplied by the sign the edge should have (+1 into a run of value 1), the
 * parabola through (-1, a), (0, b), (1, c) peaks at
 *     d = (a - c) / (2 (a - 2b + c)),
 * and the edge lies at q + 1/2 + d. d is clamped to [-1/2, 1/2], and is 0 when
 * the parabola has no maximum (a - 2b + c >= 0). Indices q - 1 and q + 2 are
 * clamped to the line. With E0, E2, E3, E5 the refined edges before runs 0, 2
 * and 3 and after run 4, the candidate's centre along the line is
 * (E0 + E2 + E3 + E5) / 4 (the centres of the outer and central runs
 * averaged) and its module size (E5 - E0) / 7. Across the line the centre is
 * the line's own index. Coordinates are in window pixels, pixel centres at
 * integers.
 *
 * Output. Each candidate takes a slot with atomic_inc on *count and is stored
 * when the slot is below capacity; *count ends as the number found, so the
 * host detects overflow as *count > capacity and can retry with more room.
 * Slot order is not deterministic across lines.
 *
 * Layout: pixel (x, y) of a window is element origin + y * stride + x, for the
 * binary (uchar) and grey (float) images alike. OpenCL C 1.2, no extensions;
 * contraction off, as in the C reference. */
#pragma OPENCL FP_CONTRACT OFF

/* Must match struct semqr__finder_candidate in host/pipeline/stages.h. */
struct finder_candidate {
	float x, y, module;
	int polarity; /* binary value of the centre run */
	int axis;     /* 0: found along a row, 1: along a column */
};

/* The refined position of the edge between samples q and q + 1 of a line of n
 * grey samples spaced step apart; sign is +1 for a rising edge, -1 for a
 * falling one. */
static float finder_edge(__global const float *g, int step, int n, int q, float sign)
{
	float gm = g[max(q - 1, 0) * step];
	float g0 = g[q * step];
	float g1 = g[(q + 1) * step];
	float g2 = g[min(q + 2, n - 1) * step];
	float a = sign * (g0 - gm);
	float b = sign * (g1 - g0);
	float c = sign * (g2 - g1);
	float den = a - 2.0f * b + c;
	float d = den < 0.0f ? (a - c) / (2.0f * den) : 0.0f;
	return (float)q + 0.5f + clamp(d, -0.5f, 0.5f);
}

/* Whether run length l fits e module widths of m within tolerance. */
static int finder_fits(int l, float e, float m, float tolerance)
{
	return fabs((float)l - e * m) <= tolerance * e * m;
}

/* Refines and stores the candidate whose runs 0, 2 and 3 start at samples
 * s0, s2 and s3 and whose run 4 ends before sample t, runs 0, 2 and 4 having
 * the value prev, on the grey line g of n samples spaced gstep apart. */
static void finder_found(__global const float *g, int gstep, int n, int s0, int s2, int s3,
                         int t, int prev, int line, int axis,
                         __global struct finder_candidate *cands, int capacity,
                         volatile __global int *count)
{
	float sign = prev ? 1.0f : -1.0f;
	float e0 = finder_edge(g, gstep, n, s0 - 1, sign);
	float e2 = finder_edge(g, gstep, n, s2 - 1, sign);
	float e3 = finder_edge(g, gstep, n, s3 - 1, -sign);
	float e5 = finder_edge(g, gstep, n, t - 1, -sign);
	float along = (e0 + e2 + e3 + e5) * 0.25f;
	int slot = atomic_inc(count);
	if (slot < capacity) {
		cands[slot].x = axis ? (float)line : along;
		cands[slot].y = axis ? along : (float)line;
		cands[slot].module = (e5 - e0) / 7.0f;
		cands[slot].polarity = prev;
		cands[slot].axis = axis;
	}
}

/* Scans one line: n binary samples bin[t * bstep] and grey samples
 * g[t * gstep]; `line` is the line's index across, axis 0 for rows. */
static void finder_scan(__global const uchar *bin, int bstep, __global const float *g,
                        int gstep, int n, int line, int axis, float tolerance,
                        float min_module, float max_module,
                        __global struct finder_candidate *cands, int capacity,
                        volatile __global int *count)
{
	/* The last five complete runs, oldest first: starts s and lengths l. */
	int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
	int l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0;
	int complete = 0;
	int start = 0;
	int prev = bin[0];
	for (int t = 1; t < n; t++) {
		int v = bin[t * bstep];
		if (v == prev)
			continue;
		if (start > 0) {
			s0 = s1; s1 = s2; s2 = s3; s3 = s4; s4 = start;
			l0 = l1; l1 = l2; l2 = l3; l3 = l4; l4 = t - start;
			complete++;
			float m = (float)(l0 + l1 + l2 + l3 + l4) / 7.0f;
			if (complete >= 5 && m >= min_module && m <= max_module
			    && finder_fits(l0, 1.0f, m, tolerance)
			    && finder_fits(l1, 1.0f, m, tolerance)
			    && finder_fits(l2, 3.0f, m, tolerance)
			    && finder_fits(l3, 1.0f, m, tolerance)
			    && finder_fits(l4, 1.0f, m, tolerance))
				finder_found(g, gstep, n, s0, s2, s3, t, prev, line, axis, cands,
				             capacity, count);
		}
		start = t;
		prev = v;
	}
}

/* Whether run lengths l fit e module widths of m within tolerance, lane by
 * lane (-1 true, 0 false), with finder_fits' arithmetic. */
static int16 finder_fits16(int16 l, float e, float16 m, float tolerance)
{
	return fabs(convert_float16(l) - e * m) <= tolerance * e * m;
}

/* Samples p[0], p[stride], ..., p[15 stride]. */
static int16 finder_gather(__global const uchar *p, int stride)
{
	return (int16)(p[0], p[stride], p[2 * stride], p[3 * stride], p[4 * stride],
	               p[5 * stride], p[6 * stride], p[7 * stride], p[8 * stride],
	               p[9 * stride], p[10 * stride], p[11 * stride], p[12 * stride],
	               p[13 * stride], p[14 * stride], p[15 * stride]);
}

/* Scans 16 lines side by side: sample t of line k is bin[t * bstep + k *
 * bline] (binary) and g[t * gstep + k * gline] (grey); the lines' indices
 * across are line0 .. line0 + 15. finder_scan's state machine runs in int16
 * lanes, each lane's state changing only where its line has a transition
 * (select), so that the sixteen lines go through one loop without branches;
 * only when some lane completes a candidate are its edges refined and stored,
 * lane by lane, with finder_scan's arithmetic. The candidates are those
 * finder_scan finds on each line. (PoCL does not vectorise finder_scan's
 * branchy loop across work-items: one line per work-item ran at a fraction of
 * the speed of the other stages.) */
static void finder_scan16(__global const uchar *bin, int bstep, int bline,
                          __global const float *g, int gstep, int gline, int n, int line0,
                          int axis, float tolerance, float min_module, float max_module,
                          __global struct finder_candidate *cands, int capacity,
                          volatile __global int *count)
{
	int16 l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0;
	int16 complete = 0, start = 0;
	/* Lines one byte apart load as one vector, others sample by sample. */
	int16 prev = bline == 1 ? convert_int16(vload16(0, bin)) : finder_gather(bin, bline);
	for (int t = 1; t < n; t++) {
		__global const uchar *row = bin + t * bstep;
		int16 v = bline == 1 ? convert_int16(vload16(0, row)) : finder_gather(row, bline);
		int16 change = v != prev;
		int16 shift = change & (start > 0);
		/* Only the runs' lengths are kept: their starts follow from them
		 * where a candidate needs them (below), five selects a step fewer
		 * (the row and column scans took a fifth less time). */
		l0 = select(l0, l1, shift);
		l1 = select(l1, l2, shift);
		l2 = select(l2, l3, shift);
		l3 = select(l3, l4, shift);
		l4 = select(l4, t - start, shift);
		complete -= shift;
		float16 m = convert_float16(l0 + l1 + l2 + l3 + l4) / 7.0f;
		int16 hit = shift & (complete >= 5) & (m >= min_module) & (m <= max_module) &
		            finder_fits16(l0, 1.0f, m, tolerance) &
		            finder_fits16(l1, 1.0f, m, tolerance) &
		            finder_fits16(l2, 3.0f, m, tolerance) &
		            finder_fits16(l3, 1.0f, m, tolerance) &
		            finder_fits16(l4, 1.0f, m, tolerance);
		if (any(hit)) {
			/* The runs' starts from their lengths: run 4 is [start, t). */
			int16 s3 = start - l3, s2 = s3 - l2, s0 = s2 - l1 - l0;
			int h[16], p[16], a0[16], a2[16], a3[16];
			vstore16(hit, 0, h);
			vstore16(prev, 0, p);
			vstore16(s0, 0, a0);
			vstore16(s2, 0, a2);
			vstore16(s3, 0, a3);
			for (int k = 0; k < 16; k++)
				if (h[k])
					finder_found(g + k * gline, gstep, n, a0[k], a2[k], a3[k], t,
					             p[k], line0 + k, axis, cands, capacity, count);
		}
		start = select(start, (int16)t, change);
		prev = select(prev, v, change);
	}
}

/* Work-item i scans rows 16 i .. 16 i + 15 (finder_rows) or columns 16 i ..
 * 16 i + 15 (finder_columns) with finder_scan16; the work-item whose lines
 * run past the window's edge scans its remaining lines one by one with
 * finder_scan. */
__kernel void finder_rows(__global const uchar *bin, int bin_origin, int bin_stride,
                          __global const float *grey, int grey_origin, int grey_stride,
                          int width, int height, float tolerance,
                          float min_module, float max_module,
                          __global struct finder_candidate *cands, int capacity,
                          volatile __global int *count)
{
	int y0 = 16 * (int)get_global_id(0);
	if (y0 >= height)
		return;
	if (y0 + 16 > height) {
		for (int y = y0; y < height; y++)
			finder_scan(bin + bin_origin + y * bin_stride, 1,
			            grey + grey_origin + y * grey_stride, 1, width, y, 0, tolerance,
			            min_module, max_module, cands, capacity, count);
		return;
	}
	finder_scan16(bin + bin_origin + y0 * bin_stride, 1, bin_stride,
	              grey + grey_origin + y0 * grey_stride, 1, grey_stride, width, y0, 0,
	              tolerance, min_module, max_module, cands, capacity, count);
}

__kernel void finder_columns(__global const uchar *bin, int bin_origin, int bin_stride,
                             __global const float *grey, int grey_origin, int grey_stride,
                             int width, int height, float tolerance,
                             float min_module, float max_module,
                             __global struct finder_candidate *cands, int capacity,
                             volatile __global int *count)
{
	int x0 = 16 * (int)get_global_id(0);
	if (x0 >= width)
		return;
	if (x0 + 16 > width) {
		for (int x = x0; x < width; x++)
			finder_scan(bin + bin_origin + x, bin_stride, grey + grey_origin + x,
			            grey_stride, height, x, 1, tolerance, min_module, max_module,
			            cands, capacity, count);
		return;
	}
	finder_scan16(bin + bin_origin + x0, bin_stride, 1, grey + grey_origin + x0, grey_stride,
	              1, height, x0, 1, tolerance, min_module, max_module, cands, capacity,
	              count);
}
