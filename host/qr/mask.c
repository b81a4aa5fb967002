/* Data masking and mask evaluation (ISO/IEC 18004 section 7.8).
 *
 * A mask pattern inverts the data modules where its condition (table 10) holds,
 * with i the row and j the column. The encoder applies each of the eight
 * patterns and keeps the one whose symbol scores the lowest penalty:
 *  N1  per row and column, every run of 5 + k same-coloured modules: 3 + k;
 *  N2  every 2x2 block of one colour (overlapping blocks all count): 3;
 *  N3  every dark-light-dark-dark-dark-light-dark (1:1:3:1:1) run in a row or
 *      column with 4 light modules before it or after it (the outside of the
 *      symbol counts as light): 40, once per occurrence even when both sides
 *      are light;
 *  N4  10 * k where the dark proportion lies between 50 +- 5k % and
 *      50 +- 5(k + 1) %, k = floor(|100 * dark / total - 50| / 5).
 */
#include "qr/qr_internal.h"

int semqr__mask_bit(int mask, int x, int y)
{
	int i = y, j = x;
	switch (mask) {
	case 0: return (i + j) % 2 == 0;
	case 1: return i % 2 == 0;
	case 2: return j % 3 == 0;
	case 3: return (i + j) % 3 == 0;
	case 4: return (i / 2 + j / 3) % 2 == 0;
	case 5: return i * j % 2 + i * j % 3 == 0;
	case 6: return (i * j % 2 + i * j % 3) % 2 == 0;
	case 7: return ((i + j) % 2 + i * j % 3) % 2 == 0;
	default: return 0;
	}
}

void semqr__apply_mask(semqr_symbol *s, const uint8_t *is_func, int mask)
{
	int size = s->size;
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++)
			if (!is_func[y * size + x])
				s->modules[y * size + x] ^= (uint8_t)semqr__mask_bit(mask, x, y);
}

/* N1 and N3 along one line of `size` modules, m[0], m[step], m[2 * step]... */
static long line_penalty(const uint8_t *m, int size, int step)
{
	long score = 0;
	int run = 0;
	for (int k = 0; k < size; k++) {
		uint8_t v = m[k * step];
		run = k > 0 && v == m[(k - 1) * step] ? run + 1 : 1;
		if (run == 5)
			score += 3;
		else if (run > 5)
			score += 1;

		/* A finder-like pattern ending at k: 1011101 on k - 6..k. */
		static const uint8_t finder[7] = {1, 0, 1, 1, 1, 0, 1};
		if (k < 6)
			continue;
		int match = 1;
		for (int t = 0; t < 7 && match; t++)
			match = m[(k - 6 + t) * step] == finder[t];
		if (!match)
			continue;
		int light_before = 1, light_after = 1;
		for (int t = 1; t <= 4; t++) {
			int b = k - 6 - t, a = k + t;
			if (b >= 0 && m[b * step])
				light_before = 0;
			if (a < size && m[a * step])
				light_after = 0;
		}
		if (light_before || light_after)
			score += 40;
	}
	return score;
}

long semqr__penalty(const semqr_symbol *s)
{
	int size = s->size;
	const uint8_t *m = s->modules;
	long score = 0;
	for (int i = 0; i < size; i++) {
		score += line_penalty(m + i * size, size, 1);
		score += line_penalty(m + i, size, size);
	}

	long dark = 0;
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++) {
			uint8_t v = m[y * size + x];
			dark += v;
			if (x + 1 < size && y + 1 < size && v == m[y * size + x + 1] &&
			    v == m[(y + 1) * size + x] && v == m[(y + 1) * size + x + 1])
				score += 3;
		}

	/* |100 * dark / total - 50| / 5 = |20 * dark - 10 * total| / total. */
	long total = (long)size * size;
	long dev = 20 * dark - 10 * total;
	if (dev < 0)
		dev = -dev;
	score += 10 * (dev / total);
	return score;
}
