/* Internal: splitting a payload into mode segments (ISO/IEC 18004 7.4.2-7.4.6).
 *
 * A segment is a run of payload bytes encoded in one mode:
 *   numeric       digits 0-9, 10 bits per 3 (7 for a final 2, 4 for a final 1)
 *   alphanumeric  0-9 A-Z space $ % * + - . / :, 11 bits per 2 (6 for a final 1)
 *   byte          any byte, 8 bits each
 *   kanji         a UTF-8 character whose Shift JIS code Kanji mode holds
 *                 (2..4 payload bytes), 13 bits each
 * plus a 4-bit mode indicator and a character count whose width depends on
 * the version range 1-9, 10-26 or 27-40 (semqr__char_count_bits).
 *
 * Count-field overflow never arises: for every version and level, the most
 * characters of any mode that fit the data capacity are below the count
 * field's maximum (tests/test_segment.c checks all 40 x 4 x 4 cases), so a
 * segmentation that fits a symbol needs no segment split for its count.
 */
#ifndef SEMQR_SEGMENT_H
#define SEMQR_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/qr.h"

typedef struct semqr_seg {
	semqr_mode mode;  /* NUMERIC, ALPHANUMERIC, BYTE or KANJI */
	size_t offset;    /* first payload byte */
	size_t length;    /* payload bytes */
	int chars;        /* characters: digits, alphanumerics, bytes or Kanji */
} semqr_seg;

/* The Kanji-mode character starting at one payload byte, if any. */
typedef struct semqr_kanji {
	uint8_t len;      /* its UTF-8 length 2..4, or 0 when none starts here */
	uint16_t sjis;    /* its Shift JIS code (0x8140..0x9FFC or 0xE040..0xEBBF) */
} semqr_kanji;

/* Value 0..44 of an alphanumeric-mode character, -1 for other bytes. */
int semqr__alnum_value(uint8_t c);

/* Fills kanji[0..len) from semqr__utf8_to_kanji at every byte (iconv). */
void semqr__find_kanji(const uint8_t *data, size_t len, semqr_kanji *kanji);

/* Bits of one segment of `chars` characters in `mode` at `version`: mode
 * indicator, character count and data. */
long semqr__segment_bits(semqr_mode mode, int chars, int version);

/* The single segment of `mode` (NUMERIC, ALPHANUMERIC, BYTE or KANJI)
 * covering all of data[0..len). kanji (from
 * semqr__find_kanji) is required for KANJI and ignored otherwise. Returns 0,
 * or -1 with *bad set to the offset of the first byte the mode cannot
 * encode. */
int semqr__segment_whole(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                         semqr_mode mode, semqr_seg *seg, size_t *bad);

/* A segmentation of data[0..len) (len < INT_MAX) of least total bit length
 * for the count-field widths of `version`'s range. Kanji mode is considered
 * only when kanji is non-NULL. Writes the segments in payload order into
 * segs (which must hold len entries), sets *bits to their total length and
 * returns their count (0 for empty data); returns -1 when memory for the
 * search runs out.
 *
 * Algorithm: dynamic programming over byte positions with one state per mode,
 * the state's value being the least cost of encoding the bytes so far with a
 * segment of that mode still open. Costs are kept in sixths of a bit, so
 * that every character has a whole cost (numeric 20, alphanumeric 33, byte
 * 48, Kanji 78); closing a segment rounds its cost up to whole bits, which
 * gives exactly the 10/7/4 and 11/6 bit groupings. Each step either extends
 * the open segment or closes another mode's and opens a new one, paying 6 *
 * (4 + count bits). Since all later steps are monotone in the state's value,
 * keeping the least value per state is optimal. */
int semqr__segment_optimal(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                           int version, semqr_seg *segs, long *bits);

#endif
