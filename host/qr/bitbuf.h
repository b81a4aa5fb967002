/* Internal: bit strings of a QR symbol's data codewords, most significant bit
 * first, as ISO/IEC 18004 section 7.4 lays them out.
 *
 * The writer has a fixed capacity of SEMQR_BITBUF_MAX_BITS, the data capacity
 * of the largest symbol (version 40-L, 2956 codewords), so it needs no heap.
 * The reader walks any byte array.
 */
#ifndef SEMQR_BITBUF_H
#define SEMQR_BITBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEMQR_BITBUF_MAX_BITS 23648 /* 2956 data codewords of version 40-L */

typedef struct semqr_bitbuf {
	uint8_t bytes[SEMQR_BITBUF_MAX_BITS / 8];
	int len;        /* bits written; bits past len in bytes[] are zero */
	bool overflow;  /* an append did not fit and was dropped */
} semqr_bitbuf;

/* Empties b. */
void semqr__bitbuf_init(semqr_bitbuf *b);

/* Appends the n low bits of value (0 <= n <= 31), most significant first.
 * When they do not fit, appends nothing and sets b->overflow, which stays set
 * until the next init, so that a writer may check once at the end. */
void semqr__bitbuf_append(semqr_bitbuf *b, uint32_t value, int n);

typedef struct semqr_bitreader {
	const uint8_t *bytes;
	size_t bits;    /* total readable bits: 8 * byte count */
	size_t pos;     /* next bit to read */
} semqr_bitreader;

/* Starts reading bytes[0..nbytes) at its first bit. */
void semqr__bitreader_init(semqr_bitreader *r, const uint8_t *bytes, size_t nbytes);

/* Bits not yet read. */
size_t semqr__bitreader_remaining(const semqr_bitreader *r);

/* Reads n bits (0 <= n <= 31), most significant first, and returns them as a
 * non-negative value; returns -1 without consuming anything when fewer than n
 * bits remain. */
long semqr__bitreader_read(semqr_bitreader *r, int n);

#endif
