/* BCH codes of the format information (15,5) and the version information
 * (18,6), ISO/IEC 18004 sections 7.9 and 7.10 and annexes C and D.
 *
 * Both are systematic: the data bits are followed by the remainder of
 * data(x) * x^k divided by the generator polynomial (k = 10 for format,
 * generator x^10 + x^8 + x^5 + x^4 + x^2 + x + 1 = 0x537; k = 12 for version,
 * generator x^12 + x^11 + x^10 + x^9 + x^8 + x^5 + x^2 + 1 = 0x1F25). The format
 * word is then XORed with 0x5412 so that it is never all zero.
 *
 * There are only 32 format and 34 version words, so decoding compares the
 * received bits with each of them and keeps the nearest. The codes have
 * minimum distances 7 and 8, so a word within distance 3 is unique.
 */
#include "qr/qr_internal.h"

#define FORMAT_GEN 0x537u
#define FORMAT_MASK 0x5412u
#define VERSION_GEN 0x1F25u

/* Error-correction level indicators (table 12), indexed by semqr_ecc. */
static const uint8_t ECC_INDICATOR[4] = {1, 0, 3, 2};

/* data * x^gen_deg with the remainder modulo gen in the low gen_deg bits. */
static uint32_t bch_encode(uint32_t data, uint32_t gen, int gen_deg)
{
	uint32_t rem = data << gen_deg;
	for (int bit = 31; bit >= gen_deg; bit--)
		if (rem >> bit & 1)
			rem ^= gen << (bit - gen_deg);
	return data << gen_deg | rem;
}

static int popcount(uint32_t v)
{
	int n = 0;
	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

uint32_t semqr__format_bits(semqr_ecc ecc, int mask)
{
	return bch_encode((uint32_t)ECC_INDICATOR[ecc] << 3 | (uint32_t)mask, FORMAT_GEN, 10) ^
	       FORMAT_MASK;
}

int semqr__format_decode(uint32_t bits, semqr_ecc *ecc, int *mask)
{
	int best = 4;
	for (int e = SEMQR_ECC_L; e <= SEMQR_ECC_H; e++)
		for (int m = 0; m < 8; m++) {
			int d = popcount(bits ^ semqr__format_bits((semqr_ecc)e, m));
			if (d < best) {
				best = d;
				*ecc = (semqr_ecc)e;
				*mask = m;
			}
		}
	return best <= 3 ? best : -1;
}

uint32_t semqr__version_bits(int version)
{
	return bch_encode((uint32_t)version, VERSION_GEN, 12);
}

int semqr__version_decode(uint32_t bits, int *version)
{
	int best = 4;
	for (int v = 7; v <= SEMQR_VERSION_MAX; v++) {
		int d = popcount(bits ^ semqr__version_bits(v));
		if (d < best) {
			best = d;
			*version = v;
		}
	}
	return best <= 3 ? best : -1;
}
