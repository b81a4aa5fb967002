/* Splitting the data codewords into RS blocks and interleaving them
 * (ISO/IEC 18004 section 7.6).
 *
 * The data codewords are cut into consecutive blocks: short_count blocks of
 * short_data codewords, then the rest with one more. Each block gets its ec
 * EC codewords. The final sequence takes data codeword 0 of every block in
 * block order, then codeword 1 of every block, and so on; the extra last data
 * codeword of the long blocks comes after all the short blocks have run out.
 * The EC codewords follow in the same column order, all blocks having ec.
 *
 * Positions: data codeword i of block b lands at i * blocks + b when
 * i < short_data, and at short_data * blocks + (b - short_count) for the long
 * blocks' last one; EC codeword i of block b at data_total + i * blocks + b.
 */
#include "qr/qr_internal.h"

void semqr__interleave(int version, semqr_ecc ecc, const uint8_t *data, uint8_t *out)
{
	semqr_block_layout l = semqr__block_layout(version, ecc);
	int data_total = semqr__data_codewords(version, ecc);
	const uint8_t *block = data;
	for (int b = 0; b < l.blocks; b++) {
		int len = l.short_data + (b >= l.short_count);
		for (int i = 0; i < l.short_data; i++)
			out[i * l.blocks + b] = block[i];
		if (len > l.short_data)
			out[l.short_data * l.blocks + b - l.short_count] = block[l.short_data];

		uint8_t ec[SEMQR_BLOCK_LEN_MAX];
		semqr__rs_encode(block, len, l.ec, ec);
		for (int i = 0; i < l.ec; i++)
			out[data_total + i * l.blocks + b] = ec[i];
		block += len;
	}
}

void semqr__deinterleave_map(int version, semqr_ecc ecc, int *block_of, int *index_of)
{
	semqr_block_layout l = semqr__block_layout(version, ecc);
	int data_total = semqr__data_codewords(version, ecc);
	for (int b = 0; b < l.blocks; b++) {
		int len = l.short_data + (b >= l.short_count);
		for (int i = 0; i < len; i++) {
			int p = i < l.short_data ? i * l.blocks + b
			                         : l.short_data * l.blocks + b - l.short_count;
			block_of[p] = b;
			index_of[p] = i;
		}
		for (int i = 0; i < l.ec; i++) {
			block_of[data_total + i * l.blocks + b] = b;
			index_of[data_total + i * l.blocks + b] = len + i;
		}
	}
}
