/* Capacity tables of QR Code Model 2 (ISO/IEC 18004:2015 tables 1, 3, 9 and
 * annex E), as constant data or the closed forms they follow.
 *
 * A version's codeword capacity is its raw data modules divided by 8 (the
 * 0..7 leftover modules are remainder bits). Each level splits the codewords
 * into blocks that all carry the same number of EC codewords; when the data
 * codewords do not divide evenly, the later blocks hold one more, so a layout
 * is fully determined by the EC codewords per block and the block count.
 */
#include "qr/qr_internal.h"

/* Index 0 is unused; rows in semqr_ecc order L, M, Q, H. */
static const uint8_t EC_PER_BLOCK[4][41] = {
	{0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
	 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
	 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	{0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
	 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
	 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
};

static const uint8_t BLOCKS[4][41] = {
	{0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
	 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
	 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	{0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
	 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	{0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
	 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
};

/* The symbol has size^2 = (17 + 4v)^2 modules. Removed are: three finders with
 * separators and the two format areas (3 * 64 + 31 = 223, dark module
 * included), the two timing patterns outside the finder areas (2 * (size - 16)),
 * for v >= 2 the n^2 - 3 alignment patterns of 25 modules, n = v / 7 + 2, less
 * the 2 * (n - 2) of them that sit on a timing pattern and overlap it by 5
 * modules each, and for v >= 7 the two 18-module version areas. Expanding
 * gives (16v + 128)v + 64 before the alignment and version terms. */
int semqr__raw_modules(int version)
{
	int raw = (16 * version + 128) * version + 64;
	if (version >= 2) {
		int n = version / 7 + 2;
		raw -= 25 * (n * n - 3) - 10 * (n - 2);
	}
	if (version >= 7)
		raw -= 36;
	return raw;
}

int semqr__total_codewords(int version)
{
	return semqr__raw_modules(version) / 8;
}

int semqr__ec_per_block(int version, semqr_ecc ecc)
{
	return EC_PER_BLOCK[ecc][version];
}

int semqr__block_count(int version, semqr_ecc ecc)
{
	return BLOCKS[ecc][version];
}

int semqr__data_codewords(int version, semqr_ecc ecc)
{
	return semqr__total_codewords(version) - EC_PER_BLOCK[ecc][version] * BLOCKS[ecc][version];
}

/* Table 9 lists p for the small symbols where the EC codewords alone would
 * leave too little margin against decoding to a wrong codeword. */
int semqr__misdecode_protection(int version, semqr_ecc ecc)
{
	if (version == 1)
		return ecc == SEMQR_ECC_L ? 3 : ecc == SEMQR_ECC_M ? 2 : 1;
	if (version == 2 && ecc == SEMQR_ECC_L)
		return 2;
	if (version == 3 && ecc == SEMQR_ECC_L)
		return 1;
	return 0;
}

/* Annex E places n = v / 7 + 2 centres per axis: the first at 6, the last at
 * size - 7, and the others backwards from the last at a constant step, the
 * smallest even number not below (size - 13) / (n - 1), i.e.
 * 2 * ceil((4v + 4) / (2n - 2)), so that only the first gap can be shorter.
 * Version 32 is the one exception: its step is 26, not 28. */
int semqr__alignment_positions(int version, int out[7])
{
	if (version == 1)
		return 0;
	int n = version / 7 + 2;
	int step = version == 32 ? 26 : (version * 4 + n * 2 + 1) / (n * 2 - 2) * 2;
	out[0] = 6;
	for (int i = n - 1, pos = semqr__size(version) - 7; i >= 1; i--, pos -= step)
		out[i] = pos;
	return n;
}

semqr_block_layout semqr__block_layout(int version, semqr_ecc ecc)
{
	semqr_block_layout l;
	int total = semqr__total_codewords(version);
	l.blocks = BLOCKS[ecc][version];
	l.ec = EC_PER_BLOCK[ecc][version];
	l.short_count = l.blocks - total % l.blocks;
	l.short_data = total / l.blocks - l.ec;
	return l;
}

/* Table 3: character-count bits of numeric, alphanumeric, byte and Kanji
 * modes for versions 1-9, 10-26 and 27-40. */
static const uint8_t CHAR_COUNT_BITS[4][3] = {
	{10, 12, 14}, {9, 11, 13}, {8, 16, 16}, {8, 10, 12},
};

int semqr__char_count_bits(semqr_mode mode, int version)
{
	int range = version <= 9 ? 0 : version <= 26 ? 1 : 2;
	switch (mode) {
	case SEMQR_MODE_NUMERIC: return CHAR_COUNT_BITS[0][range];
	case SEMQR_MODE_ALPHANUMERIC: return CHAR_COUNT_BITS[1][range];
	case SEMQR_MODE_BYTE: return CHAR_COUNT_BITS[2][range];
	case SEMQR_MODE_KANJI: return CHAR_COUNT_BITS[3][range];
	default: return 0;
	}
}
