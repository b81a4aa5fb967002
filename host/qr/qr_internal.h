/* Internal interfaces shared by the codec's files (host/qr/). Not installed.
 *
 * Conventions
 * - Codewords are bytes; a block of n codewords c[0..n-1] is the polynomial
 *   c[0] x^(n-1) + ... + c[n-1] (first transmitted = highest degree), as in
 *   ISO/IEC 18004 section 7.5.
 * - GF(256) uses the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D),
 *   generator element alpha = 2. The RS generator polynomial of degree k is
 *   prod_{i=0}^{k-1} (x - alpha^i).
 * - Module indices are y * size + x.
 * Every function here is pure (no globals written, no heap) unless it says so.
 */
#ifndef SEMQR_QR_INTERNAL_H
#define SEMQR_QR_INTERNAL_H

#include <stdint.h>

#include "semqr/qr.h"

/* ---- tables.c: capacities from ISO/IEC 18004 tables 1, 9 and E.1 -------- */

#define SEMQR_CODEWORDS_MAX 3706   /* total codewords of version 40 */
#define SEMQR_BLOCK_LEN_MAX 255    /* an RS block over GF(256) is at most 255 codewords */

static inline int semqr__size(int version) { return 17 + 4 * version; }
/* Modules available for codewords (data + EC + remainder bits), function
 * patterns and format/version areas excluded. */
int semqr__raw_modules(int version);
/* Total codewords = raw_modules / 8. */
int semqr__total_codewords(int version);
/* EC codewords per block, and number of blocks, for version and level. */
int semqr__ec_per_block(int version, semqr_ecc ecc);
int semqr__block_count(int version, semqr_ecc ecc);
/* Data codewords in all blocks together. */
int semqr__data_codewords(int version, semqr_ecc ecc);
/* Misdecode-protection codewords p of table 9 (3 for 1-L, 2 for 1-M and
 * 2-L, 1 for 1-Q, 1-H and 3-L, else 0): per block, at most
 * ec_per_block - p of 2*errors + erasures may be corrected. */
int semqr__misdecode_protection(int version, semqr_ecc ecc);

/* Check codewords every decoding with erasures leaves unused, so that the
 * syndromes still check it (host/qr/decode.c, correct_block): the erasure
 * budget of a block is its correction budget less this. */
#define SEMQR__ERASURE_SPARE 2
/* Centre coordinates of alignment patterns along one axis, ascending; returns
 * their count (0 for version 1, else 2..7). out must hold 7. */
int semqr__alignment_positions(int version, int out[7]);

/* Block layout of one version/level: the first `short_count` blocks hold
 * `short_data` data codewords, the rest `short_data + 1`; each has `ec`
 * EC codewords. */
typedef struct semqr_block_layout {
	int blocks, short_count, short_data, ec;
} semqr_block_layout;
semqr_block_layout semqr__block_layout(int version, semqr_ecc ecc);

/* Character-count indicator length for a mode (NUMERIC, ALPHANUMERIC, BYTE,
 * KANJI) at a version. */
int semqr__char_count_bits(semqr_mode mode, int version);

/* ---- gf256.c ----------------------------------------------------------- */

/* alpha^i for i = 0..254, and log_alpha a for a = 1..255 (entry 0: 0). */
extern const uint8_t semqr__gf_exp_table[255];
extern const uint8_t semqr__gf_log_table[256];

/* a * b. Inline: the Reed-Solomon syndromes, Chien search and Forney's
 * formula call it for every term. */
static inline uint8_t semqr__gf_mul(uint8_t a, uint8_t b)
{
	if (a == 0 || b == 0)
		return 0;
	return semqr__gf_exp_table[(semqr__gf_log_table[a] + semqr__gf_log_table[b]) % 255];
}
uint8_t semqr__gf_div(uint8_t a, uint8_t b);   /* b != 0 */
uint8_t semqr__gf_inv(uint8_t a);              /* a != 0 */
uint8_t semqr__gf_exp(int e);                  /* alpha^e for any e >= 0 */
int semqr__gf_log(uint8_t a);                  /* a != 0; 0..254 */

/* ---- rs.c: Reed-Solomon over GF(256) ----------------------------------- */

/* Computes the ec EC codewords of data[0..ndata-1] into ecc_out[0..ec-1].
 * 1 <= ec <= 68. Buffers must not overlap. */
void semqr__rs_encode(const uint8_t *data, int ndata, int ec, uint8_t *ecc_out);

/* Decodes one block in place: block[0..n-1], of which the last ec are EC
 * codewords. erasures[0..nerasures-1] are distinct positions 0..n-1 known to
 * be unreliable (may be NULL when nerasures is 0). budget is the largest
 * 2*errors + erasures accepted (ec less misdecode protection).
 * Errors-and-erasures decoding: syndromes, erasure locator, Berlekamp-Massey
 * on the Forney syndromes, Chien search, Forney's formula; the corrected block
 * is re-checked for zero syndromes.
 * Returns 0 and sets *errors (codewords corrected that were not erased) and
 * *erased (erasures whose value changed or not: the number of erasures used)
 * on success; -1 when the block is beyond correction, leaving block unchanged. */
int semqr__rs_decode(uint8_t *block, int n, int ec, const int *erasures, int nerasures,
                     int budget, int *errors, int *erased);

/* ---- bch.c: format (15,5) and version (18,6) information --------------- */

/* The 15-bit format word for level and mask, BCH-coded and XORed with 0x5412.
 * Bit 14 is the most significant (first data bit). */
uint32_t semqr__format_bits(semqr_ecc ecc, int mask);
/* Nearest valid format word to `bits` (after the 0x5412 mask is accounted
 * for); returns its Hamming distance 0..3 and sets *ecc, *mask, or returns -1
 * when no word lies within distance 3. */
int semqr__format_decode(uint32_t bits, semqr_ecc *ecc, int *mask);
/* The 18-bit version word for version 7..40 (bit 17 most significant). */
uint32_t semqr__version_bits(int version);
/* Nearest valid version word within distance 3: returns the distance and
 * sets *version (7..40), or -1. */
int semqr__version_decode(uint32_t bits, int *version);

/* ---- placement.c: function patterns, format/version positions, data order */

/* Marks function modules (finders with separators, timing, alignment, dark
 * module, format and version areas) with 1 in is_func[size*size], 0 else. */
void semqr__function_map(int version, uint8_t *is_func);
/* Draws all function patterns of s->version into s->modules (format and
 * version areas drawn from s->ecc, s->mask); leaves data modules untouched. */
void semqr__draw_function_patterns(semqr_symbol *s);
/* Module positions of the format information: copy 1 around the top-left
 * finder and copy 2 split between the bottom-left and top-right ones.
 * pos1[i], pos2[i] are module indices of bit i (bit 0 = least significant). */
void semqr__format_positions(int version, int pos1[15], int pos2[15]);
/* Version information positions (version >= 7): copy near the top-right
 * finder and near the bottom-left one, bit i (0 = least significant). */
void semqr__version_positions(int version, int pos1[18], int pos2[18]);
/* The data modules in placement order (two-column zigzag from the bottom
 * right, skipping the vertical timing column); fills order[] with
 * raw_modules(version) module indices and returns that count. order must
 * hold SEMQR_SIZE_MAX * SEMQR_SIZE_MAX entries. */
int semqr__data_order(int version, int *order);

/* ---- mask.c ------------------------------------------------------------ */

/* 1 when mask pattern `mask` inverts module (x, y). */
int semqr__mask_bit(int mask, int x, int y);
/* XORs the mask onto every non-function module of s. */
void semqr__apply_mask(semqr_symbol *s, const uint8_t *is_func, int mask);
/* Penalty score N1..N4 of ISO/IEC 18004 section 7.8.3 for the whole symbol. */
long semqr__penalty(const semqr_symbol *s);

/* ---- interleave.c ------------------------------------------------------ */

/* Adds EC codewords to data[0..data_codewords-1] block by block and
 * interleaves data then EC codewords into out[0..total_codewords-1]. */
void semqr__interleave(int version, semqr_ecc ecc, const uint8_t *data, uint8_t *out);
/* For each interleaved codeword position i, the block it belongs to and its
 * index within that block (data codewords first, then EC):
 * block_of[i], index_of[i], for i < total_codewords(version). */
void semqr__deinterleave_map(int version, semqr_ecc ecc, int *block_of, int *index_of);

#endif
