/* Symbol layout: the capacity tables (tables.c) and where modules go
 * (placement.c).
 * - Tables against ISO/IEC 18004 as published: codewords per version
 *   (table 1), data codewords per version and level (table 7), alignment
 *   centres (annex E), remainder bits, misdecode protection (table 9),
 *   character-count lengths (table 3); and the block layouts' invariants.
 * - The function map leaves exactly raw_modules(v) data modules for all 40
 *   versions, and data_order lists each of them exactly once.
 * - Drawing: finders, separators, timing, alignment patterns and the dark
 *   module are as the standard draws them; the format and version words read
 *   back from both copies; every function module is written and no data
 *   module is touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"

/* Table 1: total codewords of versions 1..40. */
static const int TOTAL[40] = {
	26, 44, 70, 100, 134, 172, 196, 242, 292, 346, 404, 466, 532, 581, 655, 733, 815,
	901, 991, 1085, 1156, 1258, 1364, 1474, 1588, 1706, 1828, 1921, 2051, 2185, 2323,
	2465, 2611, 2761, 2876, 3034, 3196, 3362, 3532, 3706,
};

/* Table 1: remainder bits (raw modules mod 8). */
static int remainder_bits(int v)
{
	return v == 1 ? 0 : v <= 6 ? 7 : v <= 13 ? 0 : v <= 20 ? 3 : v <= 27 ? 4 : v <= 34 ? 3 : 0;
}

/* Table 7: data codewords of versions 1..40 at L, M, Q, H. */
static const int DATA[40][4] = {
	{19, 16, 13, 9}, {34, 28, 22, 16}, {55, 44, 34, 26}, {80, 64, 48, 36},
	{108, 86, 62, 46}, {136, 108, 76, 60}, {156, 124, 88, 66}, {194, 154, 110, 86},
	{232, 182, 132, 100}, {274, 216, 154, 122}, {324, 254, 180, 140}, {370, 290, 206, 158},
	{428, 334, 244, 180}, {461, 365, 261, 197}, {523, 415, 295, 223}, {589, 453, 325, 253},
	{647, 507, 367, 283}, {721, 563, 397, 313}, {795, 627, 445, 341}, {861, 669, 485, 385},
	{932, 714, 512, 406}, {1006, 782, 568, 442}, {1094, 860, 614, 464}, {1174, 914, 664, 514},
	{1276, 1000, 718, 538}, {1370, 1062, 754, 596}, {1468, 1128, 808, 628}, {1531, 1193, 871, 661},
	{1631, 1267, 911, 701}, {1735, 1373, 985, 745}, {1843, 1455, 1033, 793}, {1955, 1541, 1115, 845},
	{2071, 1631, 1171, 901}, {2191, 1725, 1231, 961}, {2306, 1812, 1286, 986}, {2434, 1914, 1354, 1054},
	{2566, 1992, 1426, 1096}, {2702, 2102, 1502, 1142}, {2812, 2216, 1582, 1222}, {2956, 2334, 1666, 1276},
};

/* Annex E: alignment pattern centres of versions 2..40 (0-terminated). */
static const int ALIGN[41][8] = {
	[2] = {6, 18}, [3] = {6, 22}, [4] = {6, 26}, [5] = {6, 30}, [6] = {6, 34},
	[7] = {6, 22, 38}, [8] = {6, 24, 42}, [9] = {6, 26, 46}, [10] = {6, 28, 50},
	[11] = {6, 30, 54}, [12] = {6, 32, 58}, [13] = {6, 34, 62}, [14] = {6, 26, 46, 66},
	[15] = {6, 26, 48, 70}, [16] = {6, 26, 50, 74}, [17] = {6, 30, 54, 78},
	[18] = {6, 30, 56, 82}, [19] = {6, 30, 58, 86}, [20] = {6, 34, 62, 90},
	[21] = {6, 28, 50, 72, 94}, [22] = {6, 26, 50, 74, 98}, [23] = {6, 30, 54, 78, 102},
	[24] = {6, 28, 54, 80, 106}, [25] = {6, 32, 58, 84, 110}, [26] = {6, 30, 58, 86, 114},
	[27] = {6, 34, 62, 90, 118}, [28] = {6, 26, 50, 74, 98, 122},
	[29] = {6, 30, 54, 78, 102, 126}, [30] = {6, 26, 52, 78, 104, 130},
	[31] = {6, 30, 56, 82, 108, 134}, [32] = {6, 34, 60, 86, 112, 138},
	[33] = {6, 30, 58, 86, 114, 142}, [34] = {6, 34, 62, 90, 118, 146},
	[35] = {6, 30, 54, 78, 102, 126, 150}, [36] = {6, 24, 50, 76, 102, 128, 154},
	[37] = {6, 28, 54, 80, 106, 132, 158}, [38] = {6, 32, 58, 84, 110, 136, 162},
	[39] = {6, 26, 54, 82, 110, 138, 166}, [40] = {6, 30, 58, 86, 114, 142, 170},
};

/* ---- tables ---------------------------------------------------------------- */

static void test_codeword_totals(void **state)
{
	(void)state;
	assert_int_equal(semqr__raw_modules(1), 208);
	assert_int_equal(semqr__raw_modules(7), 1568);
	assert_int_equal(semqr__raw_modules(40), 29648);
	for (int v = 1; v <= 40; v++) {
		assert_int_equal(semqr__total_codewords(v), TOTAL[v - 1]);
		assert_int_equal(semqr__raw_modules(v) / 8, TOTAL[v - 1]);
		assert_int_equal(semqr__raw_modules(v) % 8, remainder_bits(v));
	}
	assert_int_equal(semqr__total_codewords(40), SEMQR_CODEWORDS_MAX);
}

static void test_levels(void **state)
{
	(void)state;
	int max_blocks = 0;
	for (int v = 1; v <= 40; v++)
		for (int lv = 0; lv < 4; lv++) {
			semqr_ecc ecc = (semqr_ecc)lv;
			int data = semqr__data_codewords(v, ecc);
			int ec = semqr__ec_per_block(v, ecc), blocks = semqr__block_count(v, ecc);
			assert_int_equal(data, DATA[v - 1][lv]);
			assert_int_equal(data + ec * blocks, TOTAL[v - 1]);

			semqr_block_layout l = semqr__block_layout(v, ecc);
			assert_int_equal(l.blocks, blocks);
			assert_int_equal(l.ec, ec);
			assert_true(l.short_count >= 1 && l.short_count <= l.blocks);
			assert_int_equal(l.short_count * l.short_data +
			                 (l.blocks - l.short_count) * (l.short_data + 1), data);
			assert_true(l.short_data + 1 + ec <= SEMQR_BLOCK_LEN_MAX);
			/* Table 9: the EC codewords correct more at each higher level. */
			if (lv > 0)
				assert_true(data < DATA[v - 1][lv - 1]);
			int p = semqr__misdecode_protection(v, ecc);
			assert_true(p >= 0 && p < ec);
			if (blocks > max_blocks)
				max_blocks = blocks;
		}
	assert_int_equal(max_blocks, SEMQR_BLOCKS_MAX);

	/* Spot values from table 9. */
	semqr_block_layout l = semqr__block_layout(10, SEMQR_ECC_Q);
	assert_int_equal(l.blocks, 8);
	assert_int_equal(l.short_count, 6);
	assert_int_equal(l.short_data, 19);
	assert_int_equal(l.ec, 24);
	l = semqr__block_layout(40, SEMQR_ECC_H);
	assert_int_equal(l.blocks, 81);
	assert_int_equal(l.short_count, 20);
	assert_int_equal(l.short_data, 15);
	assert_int_equal(l.ec, 30);
	l = semqr__block_layout(1, SEMQR_ECC_L);
	assert_int_equal(l.blocks, 1);
	assert_int_equal(l.short_data, 19);
	assert_int_equal(l.ec, 7);
}

static void test_misdecode_and_char_counts(void **state)
{
	(void)state;
	static const int p1[4] = {3, 2, 1, 1};
	for (int lv = 0; lv < 4; lv++)
		assert_int_equal(semqr__misdecode_protection(1, (semqr_ecc)lv), p1[lv]);
	assert_int_equal(semqr__misdecode_protection(2, SEMQR_ECC_L), 2);
	assert_int_equal(semqr__misdecode_protection(3, SEMQR_ECC_L), 1);
	int nonzero = 0;
	for (int v = 1; v <= 40; v++)
		for (int lv = 0; lv < 4; lv++)
			nonzero += semqr__misdecode_protection(v, (semqr_ecc)lv) != 0;
	assert_int_equal(nonzero, 6);

	static const struct { semqr_mode mode; int bits[3]; } table3[] = {
		{SEMQR_MODE_NUMERIC, {10, 12, 14}},
		{SEMQR_MODE_ALPHANUMERIC, {9, 11, 13}},
		{SEMQR_MODE_BYTE, {8, 16, 16}},
		{SEMQR_MODE_KANJI, {8, 10, 12}},
	};
	static const int first[3] = {1, 10, 27}, last[3] = {9, 26, 40};
	for (int m = 0; m < 4; m++)
		for (int r = 0; r < 3; r++) {
			assert_int_equal(semqr__char_count_bits(table3[m].mode, first[r]), table3[m].bits[r]);
			assert_int_equal(semqr__char_count_bits(table3[m].mode, last[r]), table3[m].bits[r]);
		}
}

static void test_alignment_positions(void **state)
{
	(void)state;
	int pos[7];
	assert_int_equal(semqr__alignment_positions(1, pos), 0);
	for (int v = 2; v <= 40; v++) {
		int n = semqr__alignment_positions(v, pos), expect = 0;
		while (expect < 8 && ALIGN[v][expect])
			expect++;
		assert_int_equal(n, expect);
		assert_memory_equal(pos, ALIGN[v], (size_t)n * sizeof(int));
	}
}

/* ---- function map and data order --------------------------------------------- */

static void test_function_map_and_order(void **state)
{
	(void)state;
	static uint8_t is_func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	static int order[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	static uint8_t listed[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	for (int v = 1; v <= 40; v++) {
		int size = semqr__size(v), free_modules = 0;
		semqr__function_map(v, is_func);
		for (int i = 0; i < size * size; i++) {
			assert_true(is_func[i] <= 1);
			free_modules += !is_func[i];
		}
		assert_int_equal(free_modules, semqr__raw_modules(v));

		int count = semqr__data_order(v, order);
		assert_int_equal(count, free_modules);
		memset(listed, 0, sizeof listed);
		for (int k = 0; k < count; k++) {
			assert_true(order[k] >= 0 && order[k] < size * size);
			assert_false(is_func[order[k]]);
			assert_false(listed[order[k]]);
			listed[order[k]] = 1;
		}
	}
}

/* Version 1 by hand. The zigzag starts at the bottom right going up columns
 * 20/19 over rows 20..9 (rows 0..8 are the top-right finder and format area),
 * turns down in 18/17, and alternates; the tenth and last pair, columns 1/0
 * (after the skip of column 6), goes down over rows 9..12 between the
 * top-left format area and the bottom-left separator. */
static void test_data_order_v1(void **state)
{
	(void)state;
	static int order[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	int n = semqr__data_order(1, order);
	assert_int_equal(n, 208);
#define AT(x, y) ((y) * 21 + (x))
	static const int head[] = {AT(20, 20), AT(19, 20), AT(20, 19), AT(19, 19)};
	for (int k = 0; k < 4; k++)
		assert_int_equal(order[k], head[k]);
	/* 12 rows * 2 columns in the first pair, then the second starts at row 9. */
	assert_int_equal(order[22], AT(20, 9));
	assert_int_equal(order[23], AT(19, 9));
	assert_int_equal(order[24], AT(18, 9));
	assert_int_equal(order[25], AT(17, 9));
	/* Column 6 is never visited; the last modules are (1, 12) and (0, 12). */
	for (int k = 0; k < n; k++)
		assert_int_not_equal(order[k] % 21, 6);
	assert_int_equal(order[n - 2], AT(1, 12));
	assert_int_equal(order[n - 1], AT(0, 12));
#undef AT
}

/* ---- drawing ------------------------------------------------------------------ */

static const char *const FINDER[7] = {
	"1111111", "1000001", "1011101", "1011101", "1011101", "1000001", "1111111",
};

static int module(const semqr_symbol *s, int x, int y)
{
	return s->modules[y * s->size + x];
}

/* Draws over a light and over a dark background and checks the result. */
static void check_drawing(int version, semqr_ecc ecc, int mask)
{
	static semqr_symbol a, b;
	static uint8_t is_func[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX];
	int size = semqr__size(version);
	memset(&a, 0, sizeof a);
	a.version = version;
	a.size = size;
	a.ecc = ecc;
	a.mask = mask;
	b = a;
	memset(b.modules, 1, (size_t)(size * size));
	semqr__draw_function_patterns(&a);
	semqr__draw_function_patterns(&b);
	semqr__function_map(version, is_func);

	/* Function modules are fully determined; data modules untouched. */
	for (int i = 0; i < size * size; i++) {
		if (is_func[i])
			assert_int_equal(a.modules[i], b.modules[i]);
		else {
			assert_int_equal(a.modules[i], 0);
			assert_int_equal(b.modules[i], 1);
		}
	}

	/* Finders in the three corners, light separators around them. */
	static const int fx[3] = {0, -7, 0}, fy[3] = {0, 0, -7};
	for (int f = 0; f < 3; f++) {
		int x0 = fx[f] < 0 ? size + fx[f] : fx[f], y0 = fy[f] < 0 ? size + fy[f] : fy[f];
		for (int dy = 0; dy < 7; dy++)
			for (int dx = 0; dx < 7; dx++)
				assert_int_equal(module(&a, x0 + dx, y0 + dy), FINDER[dy][dx] == '1');
		for (int k = -1; k <= 7; k++) {
			int sx[4] = {x0 - 1, x0 + 7, x0 + k, x0 + k};
			int sy[4] = {y0 + k, y0 + k, y0 - 1, y0 + 7};
			for (int e = 0; e < 4; e++)
				if (sx[e] >= 0 && sx[e] < size && sy[e] >= 0 && sy[e] < size)
					assert_int_equal(module(&a, sx[e], sy[e]), 0);
		}
	}

	/* Timing between the separators: dark on even coordinates. */
	for (int i = 8; i < size - 8; i++) {
		assert_int_equal(module(&a, i, 6), i % 2 == 0);
		assert_int_equal(module(&a, 6, i), i % 2 == 0);
	}

	/* Dark module at (8, 4v + 9). */
	assert_int_equal(module(&a, 8, 4 * version + 9), 1);

	/* Alignment patterns: rings dark, light, dark around each centre. */
	int pos[7], n = semqr__alignment_positions(version, pos);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0))
				continue;
			for (int dy = -2; dy <= 2; dy++)
				for (int dx = -2; dx <= 2; dx++) {
					int ring = (dx == 2 || dx == -2 || dy == 2 || dy == -2) ? 2
					         : (dx == 0 && dy == 0) ? 0 : 1;
					assert_int_equal(module(&a, pos[i] + dx, pos[j] + dy), ring != 1);
				}
		}

	/* Format and version words read back from both copies. */
	int p1[18], p2[18];
	uint32_t f1 = 0, f2 = 0;
	semqr__format_positions(version, p1, p2);
	for (int i = 0; i < 15; i++) {
		f1 |= (uint32_t)a.modules[p1[i]] << i;
		f2 |= (uint32_t)a.modules[p2[i]] << i;
	}
	assert_int_equal(f1, semqr__format_bits(ecc, mask));
	assert_int_equal(f2, semqr__format_bits(ecc, mask));
	if (version >= 7) {
		uint32_t v1 = 0, v2 = 0;
		semqr__version_positions(version, p1, p2);
		for (int i = 0; i < 18; i++) {
			v1 |= (uint32_t)a.modules[p1[i]] << i;
			v2 |= (uint32_t)a.modules[p2[i]] << i;
		}
		assert_int_equal(v1, semqr__version_bits(version));
		assert_int_equal(v2, semqr__version_bits(version));
	}
}

static void test_draw(void **state)
{
	(void)state;
	for (int lv = 0; lv < 4; lv++)
		for (int mask = 0; mask < 8; mask++)
			check_drawing(1, (semqr_ecc)lv, mask);
	for (int v = 2; v <= 40; v++)
		check_drawing(v, (semqr_ecc)(v % 4), v % 8);
}

/* Figure 25 and annex D positions, by hand, for version 2 (size 25). */
static void test_info_positions(void **state)
{
	(void)state;
	int p1[18], p2[18];
	const int size = 25;
#define AT(x, y) ((y) * size + (x))
	semqr__format_positions(2, p1, p2);
	static const int copy1[15][2] = {
		{8, 0}, {8, 1}, {8, 2}, {8, 3}, {8, 4}, {8, 5}, {8, 7}, {8, 8},
		{7, 8}, {5, 8}, {4, 8}, {3, 8}, {2, 8}, {1, 8}, {0, 8},
	};
	static const int copy2[15][2] = {
		{24, 8}, {23, 8}, {22, 8}, {21, 8}, {20, 8}, {19, 8}, {18, 8}, {17, 8},
		{8, 18}, {8, 19}, {8, 20}, {8, 21}, {8, 22}, {8, 23}, {8, 24},
	};
	for (int i = 0; i < 15; i++) {
		assert_int_equal(p1[i], AT(copy1[i][0], copy1[i][1]));
		assert_int_equal(p2[i], AT(copy2[i][0], copy2[i][1]));
	}
#undef AT

	/* Version 7 (size 45): bit 0 at (34, 0) / (0, 34), bit 17 at (36, 5) /
	 * (5, 36), three bits per row of the top-right block. */
	semqr__version_positions(7, p1, p2);
	assert_int_equal(p1[0], 0 * 45 + 34);
	assert_int_equal(p1[1], 0 * 45 + 35);
	assert_int_equal(p1[3], 1 * 45 + 34);
	assert_int_equal(p1[17], 5 * 45 + 36);
	assert_int_equal(p2[0], 34 * 45 + 0);
	assert_int_equal(p2[1], 35 * 45 + 0);
	assert_int_equal(p2[3], 34 * 45 + 1);
	assert_int_equal(p2[17], 36 * 45 + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codeword_totals),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_misdecode_and_char_counts),
		cmocka_unit_test(test_alignment_positions),
		cmocka_unit_test(test_function_map_and_order),
		cmocka_unit_test(test_data_order_v1),
		cmocka_unit_test(test_draw),
		cmocka_unit_test(test_info_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
