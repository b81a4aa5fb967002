/* Names of levels and modes, and a hard symbol as a soft matrix. */
#include "semqr/qr.h"

const char *semqr_ecc_name(semqr_ecc ecc)
{
	switch (ecc) {
	case SEMQR_ECC_L: return "L";
	case SEMQR_ECC_M: return "M";
	case SEMQR_ECC_Q: return "Q";
	case SEMQR_ECC_H: return "H";
	}
	return "?";
}

const char *semqr_mode_name(semqr_mode mode)
{
	switch (mode) {
	case SEMQR_MODE_AUTO: return "auto";
	case SEMQR_MODE_NUMERIC: return "numeric";
	case SEMQR_MODE_ALPHANUMERIC: return "alphanumeric";
	case SEMQR_MODE_STRUCTURED_APPEND: return "structured append";
	case SEMQR_MODE_BYTE: return "byte";
	case SEMQR_MODE_FNC1_FIRST: return "FNC1 first";
	case SEMQR_MODE_ECI: return "ECI";
	case SEMQR_MODE_KANJI: return "kanji";
	case SEMQR_MODE_FNC1_SECOND: return "FNC1 second";
	}
	return "unknown";
}

void semqr_symbol_to_soft(const semqr_symbol *s, float *dark)
{
	int n = s->size * s->size;
	for (int i = 0; i < n; i++)
		dark[i] = s->modules[i] ? 1.0f : 0.0f;
}
