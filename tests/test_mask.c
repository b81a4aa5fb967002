/* Mask patterns and the penalty score (mask.c).
 * - The eight conditions over the top-left 6x6 modules, written out row by
 *   row as in figure 23 of ISO/IEC 18004 (i = row, j = column), and their
 *   orientation: pattern 1 depends on the row only, pattern 2 on the column.
 * - apply_mask touches data modules only and is its own inverse.
 * - The penalty on small matrices worked out by hand, one rule at a time,
 *   with the N1/N2/N3/N4 breakdown in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"

static const char *const MASK_ROWS[8][6] = {
	{"101010", "010101", "101010", "010101", "101010", "010101"},
	{"111111", "000000", "111111", "000000", "111111", "000000"},
	{"100100", "100100", "100100", "100100", "100100", "100100"},
	{"100100", "001001", "010010", "100100", "001001", "010010"},
	{"111000", "111000", "000111", "000111", "111000", "111000"},
	{"111111", "100000", "100100", "101010", "100100", "100000"},
	{"111111", "111000", "110110", "101010", "101101", "100011"},
	{"101010", "000111", "100011", "010101", "111000", "011100"},
};

static void test_mask_patterns(void **state)
{
	(void)state;
	for (int m = 0; m < 8; m++)
		for (int y = 0; y < 6; y++)
			for (int x = 0; x < 6; x++)
				if (semqr__mask_bit(m, x, y) != (MASK_ROWS[m][y][x] == '1'))
					fail_msg("mask %d at x=%d y=%d", m, x, y);
	/* Over a whole version 40 symbol: pattern 1 is horizontal stripes,
	 * pattern 2 vertical ones; 4 has period 6 across and 4 down. */
	for (int y = 0; y < SEMQR_SIZE_MAX; y++)
		for (int x = 0; x < SEMQR_SIZE_MAX; x++) {
			assert_int_equal(semqr__mask_bit(1, x, y), y % 2 == 0);
			assert_int_equal(semqr__mask_bit(2, x, y), x % 3 == 0);
			if (x + 6 < SEMQR_SIZE_MAX && y + 4 < SEMQR_SIZE_MAX)
				assert_int_equal(semqr__mask_bit(4, x, y), semqr__mask_bit(4, x + 6, y + 4));
		}
}

static void test_apply_mask(void **state)
{
	(void)state;
	static semqr_symbol s, orig;
	static uint8_t is_func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	int version = 7, size = semqr__size(version);
	memset(&s, 0, sizeof s);
	s.version = version;
	s.size = size;
	uint32_t r = 99;
	for (int i = 0; i < size * size; i++) {
		r = r * 1103515245u + 12345u;
		s.modules[i] = r >> 16 & 1;
	}
	semqr__function_map(version, is_func);
	orig = s;
	for (int m = 0; m < 8; m++) {
		semqr__apply_mask(&s, is_func, m);
		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++) {
				int i = y * size + x;
				int flip = !is_func[i] && semqr__mask_bit(m, x, y);
				assert_int_equal(s.modules[i], orig.modules[i] ^ flip);
			}
		semqr__apply_mask(&s, is_func, m);
		assert_memory_equal(s.modules, orig.modules, (size_t)(size * size));
	}
}

/* Builds a size x size symbol from row strings ('1' dark). */
static void from_rows(semqr_symbol *s, int size, const char *const *rows)
{
	memset(s, 0, sizeof *s);
	s->size = size;
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++)
			s->modules[y * size + x] = rows[y][x] == '1';
}

static long penalty_of(int size, const char *const *rows)
{
	static semqr_symbol s;
	from_rows(&s, size, rows);
	return semqr__penalty(&s);
}

static void test_penalty_n1_n2(void **state)
{
	(void)state;
	/* Checkerboard: no runs, no 2x2 blocks, no finder-like run, 50% dark. */
	static const char *const checker[6] = {"101010", "010101", "101010",
	                                       "010101", "101010", "010101"};
	assert_int_equal(penalty_of(6, checker), 0);

	/* All light 5x5: N1 = 10 lines * 3, N2 = 16 blocks * 3 = 48,
	 * N4: 0% dark, |0 - 50| / 5 = 10 -> 100. Total 178. */
	static const char *const light[5] = {"00000", "00000", "00000", "00000", "00000"};
	assert_int_equal(penalty_of(5, light), 178);

	/* Checkerboard 7x7 with row 0 all dark: one run of 7 -> N1 = 3 + 2 = 5;
	 * N2 0 (row 1 alternates); dark 28/49 = 57.1% -> N4 10. Total 15. */
	static const char *const run7[7] = {"1111111", "0101010", "1010101", "0101010",
	                                    "1010101", "0101010", "1010101"};
	assert_int_equal(penalty_of(7, run7), 15);

	/* A 3x3 dark square in a checkerboard: 4 overlapping 2x2 blocks -> N2 = 12;
	 * longest runs are 4 (row 1, column 1) -> N1 0; dark 22/36 = 61.1% ->
	 * N4 = 10 * 2. Total 32. */
	static const char *const block3[6] = {"111010", "111101", "111010",
	                                      "010101", "101010", "010101"};
	assert_int_equal(penalty_of(6, block3), 32);
}

static void test_penalty_n3(void **state)
{
	(void)state;
	/* 1011101 across row 3 of an otherwise light 7x7; the outside counts as
	 * light on both sides, yet the pattern scores once: N3 = 40.
	 * N1: 6 light rows of 7 (5 each) + columns 1 and 5, all light (5 each) = 40.
	 * N2: 4 light row pairs * 6 blocks = 24 blocks = 72. N4: 5/49 -> 70.
	 * Total 222, and the same for the transpose (the pattern in a column). */
	static const char *const row[7] = {"0000000", "0000000", "0000000", "1011101",
	                                   "0000000", "0000000", "0000000"};
	static const char *const col[7] = {"0001000", "0000000", "0001000", "0001000",
	                                   "0001000", "0000000", "0001000"};
	assert_int_equal(penalty_of(7, row), 222);
	assert_int_equal(penalty_of(7, col), 222);

	/* 15x15, all light but row 7 = 1 000 1011101 000 1: only 3 light modules
	 * on each side of the pattern, so N3 = 0.
	 * N1: 14 light rows of 15 (13 each) = 182; 7 columns with a dark module at
	 * row 7 (two light runs of 7: 5 + 5) = 70; 8 light columns = 104 -> 356.
	 * N2: 12 all-light row pairs * 14 = 168, plus 4 light pairs in row 7 times
	 * the 2 row pairs touching it = 8 -> 176 blocks = 528. N4: 7/225 -> 90.
	 * Total 974. */
	static const char *const blocked[15] = {
		"000000000000000", "000000000000000", "000000000000000", "000000000000000",
		"000000000000000", "000000000000000", "000000000000000", "100010111010001",
		"000000000000000", "000000000000000", "000000000000000", "000000000000000",
		"000000000000000", "000000000000000", "000000000000000",
	};
	assert_int_equal(penalty_of(15, blocked), 974);

	/* The same with the last dark module removed: 4 light modules follow the
	 * pattern, N3 = 40. N1: 182 + 6 * 10 + 9 * 13 = 359. N2: 168 + 5 * 2 = 178
	 * blocks = 534. N4: 6/225 -> 90. Total 1023. */
	static const char *const open_right[15] = {
		"000000000000000", "000000000000000", "000000000000000", "000000000000000",
		"000000000000000", "000000000000000", "000000000000000", "100010111010000",
		"000000000000000", "000000000000000", "000000000000000", "000000000000000",
		"000000000000000", "000000000000000", "000000000000000",
	};
	assert_int_equal(penalty_of(15, open_right), 1023);
}

/* N4 alone: a 10x10 checkerboard with f dark modules turned light at (i, 3i
 * mod 10), i < f (distinct rows and columns, never diagonally adjacent, so no
 * run, block or finder-like pattern appears). Dark share (50 - f)%. */
static void test_penalty_n4(void **state)
{
	(void)state;
	static const int flips[] = {0, 4, 5, 9, 10};
	static const long expect[] = {0, 0, 10, 10, 20}; /* 50, 46, 45, 41, 40 % */
	static semqr_symbol s;
	for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
		memset(&s, 0, sizeof s);
		s.size = 10;
		for (int y = 0; y < 10; y++)
			for (int x = 0; x < 10; x++)
				s.modules[y * 10 + x] = (x + y) % 2 == 0;
		for (int i = 0; i < flips[k]; i++)
			s.modules[(3 * i % 10) * 10 + i] = 0;
		assert_int_equal(semqr__penalty(&s), expect[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_patterns),
		cmocka_unit_test(test_apply_mask),
		cmocka_unit_test(test_penalty_n1_n2),
		cmocka_unit_test(test_penalty_n3),
		cmocka_unit_test(test_penalty_n4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
