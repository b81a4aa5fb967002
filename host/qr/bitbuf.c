/* Bit writer and reader, most significant bit first. */
#include <string.h>

#include "qr/bitbuf.h"

void semqr__bitbuf_init(semqr_bitbuf *b)
{
	memset(b->bytes, 0, sizeof b->bytes);
	b->len = 0;
	b->overflow = false;
}

void semqr__bitbuf_append(semqr_bitbuf *b, uint32_t value, int n)
{
	if (b->overflow || n > SEMQR_BITBUF_MAX_BITS - b->len) {
		b->overflow = true;
		return;
	}
	for (int i = n - 1; i >= 0; i--, b->len++)
		b->bytes[b->len >> 3] |= (uint8_t)(((value >> i) & 1) << (7 - (b->len & 7)));
}

void semqr__bitreader_init(semqr_bitreader *r, const uint8_t *bytes, size_t nbytes)
{
	r->bytes = bytes;
	r->bits = nbytes * 8;
	r->pos = 0;
}

size_t semqr__bitreader_remaining(const semqr_bitreader *r)
{
	return r->bits - r->pos;
}

long semqr__bitreader_read(semqr_bitreader *r, int n)
{
	if ((size_t)n > r->bits - r->pos)
		return -1;
	long v = 0;
	for (int i = 0; i < n; i++, r->pos++)
		v = v << 1 | ((r->bytes[r->pos >> 3] >> (7 - (r->pos & 7))) & 1);
	return v;
}
