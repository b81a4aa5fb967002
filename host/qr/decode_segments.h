/* Internal: the data bitstream of a decoded symbol into its message.
 *
 * The bitstream (ISO/IEC 18004:2015 section 7.4) is a sequence of segments,
 * each a 4-bit mode indicator and its fields, ended by the terminator 0000 or
 * by the end of the data codewords (a terminator may be shortened or left out
 * when fewer than 4 bits remain). Bits after the terminator are padding and
 * are not examined.
 */
#ifndef SEMQR_DECODE_SEGMENTS_H
#define SEMQR_DECODE_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "semqr/qr.h"

/* Parses data[0..len) (the data codewords of a symbol of `version`, 1..40,
 * which sets the character-count lengths) and fills the message fields of
 * *out: payload, payload_len, text, segments, segment_count, eci, fnc1, fnc1_indicator,
 * structured_append, sa_index, sa_total, sa_parity. Other fields are left
 * alone.
 *
 * payload: numeric and alphanumeric characters as ASCII (after FNC1, an
 * alphanumeric "%%" gives '%' and a single '%' gives GS 0x1D), byte segments
 * as stored, Kanji segments as UTF-8. A Kanji segment whose Shift JIS codes
 * have no Unicode mapping is kept as its Shift JIS bytes (two per character)
 * and text is then NULL. payload is never NULL on success.
 * text: see semqr_decoded.text.
 * An FNC1 second-position application indicator goes to fnc1_indicator.
 *
 * Returns SEMQR_OK, SEMQR_ERR_DECODE for an invalid bitstream (a message
 * naming the segment and what is wrong: unknown mode indicator, numeric or
 * alphanumeric value out of range, invalid Kanji code, ECI designator out of
 * range, inconsistent structured append header, data ending inside a segment)
 * or SEMQR_ERR_NO_MEMORY; on failure the message fields hold nothing to free
 * (pointers NULL). */
semqr_status semqr__parse_segments(const uint8_t *data, size_t len, int version,
                                   semqr_decoded *out, semqr_error *err);

#endif
