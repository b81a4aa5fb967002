/* Mode classification and least-bit-length segmentation of a payload. */
#include <limits.h>
#include <stdlib.h>

#include "qr/charset.h"
#include "qr/qr_internal.h"
#include "qr/segment.h"

enum { NMODES = 4 };

/* The modes the segmenter chooses among, and their cost per character in
 * sixths of a bit. */
static const semqr_mode modes[NMODES] = {
	SEMQR_MODE_NUMERIC, SEMQR_MODE_ALPHANUMERIC, SEMQR_MODE_BYTE, SEMQR_MODE_KANJI
};
static const int char_cost[NMODES] = { 20, 33, 48, 78 };

int semqr__alnum_value(uint8_t c)
{
	static const char specials[] = " $%*+-./:";
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	for (int i = 0; specials[i]; i++)
		if (c == (uint8_t)specials[i])
			return 36 + i;
	return -1;
}

void semqr__find_kanji(const uint8_t *data, size_t len, semqr_kanji *kanji)
{
	for (size_t i = 0; i < len; i++) {
		uint16_t sjis = 0;
		/* ASCII and continuation bytes never start a Kanji character:
		 * skip the iconv round trip for them. */
		int n = data[i] >= 0xC2 ? semqr__utf8_to_kanji(data + i, len - i, &sjis) : 0;
		kanji[i].len = (uint8_t)n;
		kanji[i].sjis = sjis;
	}
}

long semqr__segment_bits(semqr_mode mode, int chars, int version)
{
	long data;
	switch (mode) {
	case SEMQR_MODE_NUMERIC:
		data = 10L * (chars / 3) + (chars % 3 ? 3 * (chars % 3) + 1 : 0);
		break;
	case SEMQR_MODE_ALPHANUMERIC:
		data = 11L * (chars / 2) + 6 * (chars % 2);
		break;
	case SEMQR_MODE_KANJI:
		data = 13L * chars;
		break;
	default:
		data = 8L * chars;
		break;
	}
	return 4 + semqr__char_count_bits(mode, version) + data;
}

/* Payload bytes taken by one character of mode index m at data[i], or 0 when
 * none of that mode starts there. */
static int char_len(int m, const uint8_t *data, size_t i, const semqr_kanji *kanji)
{
	switch (modes[m]) {
	case SEMQR_MODE_NUMERIC:
		return data[i] >= '0' && data[i] <= '9';
	case SEMQR_MODE_ALPHANUMERIC:
		return semqr__alnum_value(data[i]) >= 0;
	case SEMQR_MODE_KANJI:
		return kanji ? kanji[i].len : 0;
	default:
		return 1;
	}
}

int semqr__segment_whole(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                         semqr_mode mode, semqr_seg *seg, size_t *bad)
{
	int m = 0;
	while (modes[m] != mode)
		m++;
	int chars = 0;
	for (size_t i = 0; i < len; chars++) {
		int n = char_len(m, data, i, kanji);
		if (n == 0) {
			*bad = i;
			return -1;
		}
		i += (size_t)n;
	}
	*seg = (semqr_seg){ mode, 0, len, chars };
	return 0;
}

/* One DP state: least cost in sixths of a bit of bytes [0, i) with a segment
 * of this mode open, the mode open before its last character (-1 at the
 * start) and that character's length in bytes. */
typedef struct state {
	long cost;
	int8_t prev;
	uint8_t step;
} state;

static long round_up6(long sixths)
{
	return (sixths + 5) / 6 * 6;
}

int semqr__segment_optimal(const uint8_t *data, size_t len, const semqr_kanji *kanji,
                           int version, semqr_seg *segs, long *bits)
{
	*bits = 0;
	if (len == 0)
		return 0;

	state *t = malloc((len + 1) * NMODES * sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < (len + 1) * NMODES; i++)
		t[i] = (state){ LONG_MAX, -1, 0 };
	long head[NMODES];
	for (int m = 0; m < NMODES; m++)
		head[m] = 6L * (4 + semqr__char_count_bits(modes[m], version));

	for (size_t i = 0; i < len; i++) {
		const state *cur = &t[i * NMODES];
		/* Cheapest way to close whatever segment is open at i. */
		long closed[NMODES];
		for (int m = 0; m < NMODES; m++)
			closed[m] = cur[m].cost == LONG_MAX ? LONG_MAX : round_up6(cur[m].cost);

		for (int m = 0; m < NMODES; m++) {
			int n = char_len(m, data, i, kanji);
			if (n == 0)
				continue;
			long best = LONG_MAX;
			int from = -1;
			if (i == 0) {
				best = head[m];
			} else {
				if (cur[m].cost != LONG_MAX) {
					best = cur[m].cost;
					from = m;
				}
				for (int p = 0; p < NMODES; p++) {
					if (p != m && closed[p] != LONG_MAX && closed[p] + head[m] < best) {
						best = closed[p] + head[m];
						from = p;
					}
				}
				if (best == LONG_MAX)
					continue;
			}
			best += char_cost[m];
			state *next = &t[(i + (size_t)n) * NMODES + m];
			if (best < next->cost)
				*next = (state){ best, (int8_t)from, (uint8_t)n };
		}
	}

	/* Every byte can be a byte-mode character, so the end is reachable. */
	int m = 0;
	long total = LONG_MAX;
	for (int k = 0; k < NMODES; k++) {
		long c = t[len * NMODES + k].cost;
		if (c != LONG_MAX && round_up6(c) < total) {
			total = round_up6(c);
			m = k;
		}
	}
	*bits = total / 6;

	/* Walk back, closing a segment wherever the previous mode differs. */
	int count = 0, chars = 0;
	size_t pos = len, end = len;
	while (pos > 0) {
		const state *s = &t[pos * NMODES + m];
		pos -= s->step;
		chars++;
		if (s->prev != m) {
			segs[count++] = (semqr_seg){ modes[m], pos, end - pos, chars };
			end = pos;
			chars = 0;
			m = s->prev;
		}
	}
	free(t);
	for (int i = 0, j = count - 1; i < j; i++, j--) {
		semqr_seg tmp = segs[i];
		segs[i] = segs[j];
		segs[j] = tmp;
	}
	return count;
}
