/* Where things go in the module matrix (ISO/IEC 18004 sections 6.3, 7.7, 7.9, 7.10).
 *
 * Function patterns: three finder patterns (7x7, centres 3 modules in from
 * three corners) each with a one-module light separator; the timing patterns
 * along row 6 and column 6 (dark on even coordinates); 5x5 alignment patterns
 * centred on every pair of annex E positions except the three that would
 * overlap a finder; the dark module at (8, size - 8); two copies of the format
 * information next to the finders; and, from version 7 on, two 6x3 copies of
 * the version information beside the top-right and bottom-left finders.
 *
 * Data modules are everything else. Codeword bits fill them in a zigzag: pairs
 * of columns from the right edge, right module before left, moving up in the
 * first pair, down in the next and so on; column 6 (the vertical timing
 * pattern) is skipped, so left of it the pairs are columns (5,4), (3,2), (1,0).
 */
#include <stdlib.h>
#include <string.h>

#include "qr/qr_internal.h"

#define ALIGNMENT_MAX 46 /* 7 * 7 - 3 patterns in versions 35-40 */

static void fill(uint8_t *m, int size, int x0, int y0, int w, int h)
{
	for (int y = y0; y < y0 + h; y++)
		memset(m + y * size + x0, 1, (size_t)w);
}

/* Centres of the version's alignment patterns: every pair of annex E
 * positions except the three corners taken by finder patterns. Returns the
 * count. */
static int alignment_centres(int version, int cx[ALIGNMENT_MAX], int cy[ALIGNMENT_MAX])
{
	int pos[7], count = 0;
	int n = semqr__alignment_positions(version, pos);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0))
				continue;
			cx[count] = pos[i];
			cy[count] = pos[j];
			count++;
		}
	return count;
}

void semqr__function_map(int version, uint8_t *is_func)
{
	int size = semqr__size(version);
	memset(is_func, 0, (size_t)(size * size));
	/* Finders with separators and format areas (the dark module is in the
	 * bottom-left one). */
	fill(is_func, size, 0, 0, 9, 9);
	fill(is_func, size, size - 8, 0, 8, 9);
	fill(is_func, size, 0, size - 8, 9, 8);
	/* Timing patterns. */
	fill(is_func, size, 0, 6, size, 1);
	fill(is_func, size, 6, 0, 1, size);
	int cx[ALIGNMENT_MAX], cy[ALIGNMENT_MAX];
	int na = alignment_centres(version, cx, cy);
	for (int k = 0; k < na; k++)
		fill(is_func, size, cx[k] - 2, cy[k] - 2, 5, 5);
	if (version >= 7) {
		fill(is_func, size, size - 11, 0, 3, 6);
		fill(is_func, size, 0, size - 11, 6, 3);
	}
}

/* Chebyshev distance of (dx, dy) from the origin: which square ring it is on. */
static int ring(int dx, int dy)
{
	return abs(dx) > abs(dy) ? abs(dx) : abs(dy);
}

void semqr__draw_function_patterns(semqr_symbol *s)
{
	int size = s->size;
	uint8_t *m = s->modules;
	for (int i = 0; i < size; i++) {
		m[6 * size + i] = i % 2 == 0;
		m[i * size + 6] = i % 2 == 0;
	}

	/* Finders: dark on rings 0, 1 and 3 around the centre, light on ring 2
	 * and on ring 4, the separator (clipped at the symbol's edges). */
	static const int finder_cx[3] = {3, -4, 3}, finder_cy[3] = {3, 3, -4};
	for (int f = 0; f < 3; f++) {
		int cx = finder_cx[f] < 0 ? size + finder_cx[f] : finder_cx[f];
		int cy = finder_cy[f] < 0 ? size + finder_cy[f] : finder_cy[f];
		for (int dy = -4; dy <= 4; dy++)
			for (int dx = -4; dx <= 4; dx++) {
				int x = cx + dx, y = cy + dy;
				if (x >= 0 && x < size && y >= 0 && y < size)
					m[y * size + x] = ring(dx, dy) != 2 && ring(dx, dy) != 4;
			}
	}

	/* Alignment patterns: dark centre, light ring 1, dark ring 2. */
	int cx[ALIGNMENT_MAX], cy[ALIGNMENT_MAX];
	int na = alignment_centres(s->version, cx, cy);
	for (int k = 0; k < na; k++)
		for (int dy = -2; dy <= 2; dy++)
			for (int dx = -2; dx <= 2; dx++)
				m[(cy[k] + dy) * size + cx[k] + dx] = ring(dx, dy) != 1;

	int pos1[18], pos2[18];
	uint32_t bits = semqr__format_bits(s->ecc, s->mask);
	semqr__format_positions(s->version, pos1, pos2);
	for (int i = 0; i < 15; i++)
		m[pos1[i]] = m[pos2[i]] = bits >> i & 1;
	m[(size - 8) * size + 8] = 1;
	if (s->version >= 7) {
		bits = semqr__version_bits(s->version);
		semqr__version_positions(s->version, pos1, pos2);
		for (int i = 0; i < 18; i++)
			m[pos1[i]] = m[pos2[i]] = bits >> i & 1;
	}
}

/* Figure 25: copy 1 runs down column 8 from row 0 to row 8 (bits 0..7,
 * skipping the timing module at row 6) and then left along row 8 from column 7
 * to column 0 (bits 8..14, skipping column 6). Copy 2 runs along row 8 from
 * the right edge leftwards (bits 0..7) and then down column 8 from row
 * size - 7 to the bottom edge (bits 8..14). */
void semqr__format_positions(int version, int pos1[15], int pos2[15])
{
	int size = semqr__size(version);
	for (int i = 0; i < 15; i++) {
		if (i < 8) {
			pos1[i] = (i < 6 ? i : i + 1) * size + 8;
			pos2[i] = 8 * size + size - 1 - i;
		} else {
			pos1[i] = 8 * size + (i == 8 ? 7 : 14 - i);
			pos2[i] = (size - 15 + i) * size + 8;
		}
	}
}

/* Annex D: bit i sits at (size - 11 + i % 3, i / 3) in the top-right block and
 * at the transposed position (i / 3, size - 11 + i % 3) in the bottom-left. */
void semqr__version_positions(int version, int pos1[18], int pos2[18])
{
	int size = semqr__size(version);
	for (int i = 0; i < 18; i++) {
		int a = size - 11 + i % 3, b = i / 3;
		pos1[i] = b * size + a;
		pos2[i] = a * size + b;
	}
}

int semqr__data_order(int version, int *order)
{
	uint8_t is_func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	int size = semqr__size(version), count = 0, upward = 1;
	semqr__function_map(version, is_func);
	for (int right = size - 1; right >= 1; right -= 2) {
		if (right == 6)
			right = 5;
		for (int step = 0; step < size; step++) {
			int y = upward ? size - 1 - step : step;
			for (int x = right; x >= right - 1; x--)
				if (!is_func[y * size + x])
					order[count++] = y * size + x;
		}
		upward = !upward;
	}
	return count;
}
