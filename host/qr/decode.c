/* The QR decoder: a soft module matrix to a message (ISO/IEC 18004:2015
 * section 12).
 *
 * 1. Format information: both copies are read by hard decision (dark when
 *    p > 0.5) and, as a third reading, their soft combination (dark when the
 *    two probabilities sum to more than 1); each reading is decoded to the
 *    nearest format word within 3 bits. The distinct results are tried,
 *    nearest first (see read_format).
 * 2. Version information (versions 7..40): only measured, see
 *    version_distance().
 * 3. The data modules are read in placement order and unmasked, eight to a
 *    codeword; a codeword's reliability is the least reliability |p - 0.5| of
 *    its modules. Codewords are de-interleaved into their blocks.
 * 4. Each Reed-Solomon block is corrected (see correct_block), within the
 *    budget ec - p (p: misdecode protection of table 9). When blocks fail
 *    and use_padding is set, the message is assumed to end early, with the
 *    standard's pad codewords after it (see decode_padded).
 * 5. The data codewords of all blocks, in block order, are parsed into
 *    segments (decode_segments.c).
 * When the matrix fails and try_mirrored is set, its transpose (the mirror
 * image of the symbol) goes through the same steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "qr/decode_segments.h"
#include "qr/qr_internal.h"

#define CELLS (SEMQR_SIZE_MAX * SEMQR_SIZE_MAX)
#define FORMAT_MAX_DISTANCE 3

/* Scratch space of one call, on the heap (about 400 KB). */
typedef struct workspace {
	float dark[CELLS];   /* p(dark) of module y * size + x in the orientation tried */
	int order[CELLS];    /* data modules in placement order */
	int block_of[SEMQR_CODEWORDS_MAX], index_of[SEMQR_CODEWORDS_MAX];
	uint8_t block[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX];   /* received, then corrected */
	float reliability[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX];
	uint8_t failed[SEMQR_BLOCKS_MAX];                      /* 1: left as received */
	uint8_t padded[SEMQR_BLOCKS_MAX][SEMQR_BLOCK_LEN_MAX]; /* decode_padded's */
	float trial_rel[SEMQR_BLOCK_LEN_MAX];
	uint8_t data[SEMQR_CODEWORDS_MAX];
} workspace;

void semqr_decode_options_init(semqr_decode_options *opts)
{
	opts->try_mirrored = true;
	opts->use_erasures = true;
	opts->use_padding = true;
}

void semqr_decoded_free(semqr_decoded *d)
{
	free(d->payload);
	free(d->text);
	free(d->segments);
	d->payload = NULL;
	d->text = NULL;
	d->segments = NULL;
}

static int popcount(uint32_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* ---- format and version information ----------------------------------- */

typedef struct format_choice {
	semqr_ecc ecc;
	int mask;
	int distance;  /* to the nearest of the three readings */
} format_choice;

/* Decodes the three readings of the format information (copy 1, copy 2,
 * their soft combination) and returns the distinct (level, mask) results in
 * out, by increasing distance to the nearest reading (ties in reading order).
 * Returns 0 when no reading is within 3 bits of a format word. Every result
 * is tried in turn, so when the copies name different formats the one that
 * decodes wins. */
static int read_format(const workspace *w, int version, format_choice out[3])
{
	int pos1[15], pos2[15];
	semqr__format_positions(version, pos1, pos2);
	uint32_t reading[3] = {0, 0, 0};
	for (int i = 0; i < 15; i++) {
		float p1 = w->dark[pos1[i]], p2 = w->dark[pos2[i]];
		reading[0] |= (uint32_t)(p1 > 0.5f) << i;
		reading[1] |= (uint32_t)(p2 > 0.5f) << i;
		reading[2] |= (uint32_t)(p1 + p2 > 1.0f) << i;
	}
	int n = 0;
	for (int r = 0; r < 3; r++) {
		format_choice c;
		if (semqr__format_decode(reading[r], &c.ecc, &c.mask) < 0)
			continue;
		uint32_t word = semqr__format_bits(c.ecc, c.mask);
		c.distance = FORMAT_MAX_DISTANCE;
		for (int k = 0; k < 3; k++) {
			int d = popcount(word ^ reading[k]);
			c.distance = d < c.distance ? d : c.distance;
		}
		int k = 0;
		while (k < n && !(out[k].ecc == c.ecc && out[k].mask == c.mask))
			k++;
		if (k < n)
			continue;
		for (k = n++; k > 0 && out[k - 1].distance > c.distance; k--)
			out[k] = out[k - 1];
		out[k] = c;
	}
	return n;
}

/* The version is fixed by the matrix size: a matrix sampled on another
 * version's grid cannot be decoded whatever its version information says. So
 * instead of decoding each copy to its nearest version word, the decoder
 * measures the Hamming distance from each copy to the word of the size's
 * version and reports the smaller one. When a copy lies within 3 bits of that
 * word this is exactly what nearest-word decoding gives (the (18,6) code has
 * minimum distance 8, so no other word is nearer); when both copies are
 * unreadable or name another version, decoding falls back to the size's
 * version and version_distance is the number of bits that disagree with it
 * (then more than 3). -1 below version 7, which has no version information. */
static int version_distance(const workspace *w, int version)
{
	if (version < 7)
		return -1;
	int pos1[18], pos2[18];
	semqr__version_positions(version, pos1, pos2);
	uint32_t word = semqr__version_bits(version), copy1 = 0, copy2 = 0;
	for (int i = 0; i < 18; i++) {
		copy1 |= (uint32_t)(w->dark[pos1[i]] > 0.5f) << i;
		copy2 |= (uint32_t)(w->dark[pos2[i]] > 0.5f) << i;
	}
	int d1 = popcount(word ^ copy1), d2 = popcount(word ^ copy2);
	return d1 < d2 ? d1 : d2;
}

/* ---- Reed-Solomon blocks ------------------------------------------------ */

/* Forney's generalized-minimum-distance criterion, the acceptance test for
 * decodings with erasures. Given weights a_i in [0, 1] fixed before any
 * trial, and s_i = +1 where a decoded block agrees with the received one, -1
 * where it differs, at most one codeword of a code of minimum distance d has
 * sum a_i s_i > n - d (two such codewords would differ in d positions, where
 * at most one of them agrees with the received block). So however many
 * trials decode, at most one result can pass. d = budget + 1 (at most the
 * code's ec + 1) keeps the misdecode protection.
 *
 * Weights: codewords at least as reliable as `tau` weigh 1, less reliable
 * ones rel / tau. With tau the reliability of the least reliable codeword
 * that no trial erases (see correct_block), every codeword outside the
 * largest erasure set counts as fully reliable. With equal reliabilities the
 * test is 2 * differences <= budget, the errors-only radius, so erasing
 * codewords no less reliable than the rest never accepts more than errors
 * alone; a block changed in many unreliable codewords is accepted when few
 * reliable ones disagree. */
static bool gmd_accepts(const uint8_t *received, const uint8_t *decoded, const float *rel,
                        int n, int budget, float tau)
{
	double sum = 0;
	for (int i = 0; i < n; i++) {
		double a = rel[i] >= tau ? 1.0 : rel[i] / tau;
		sum += received[i] == decoded[i] ? a : -a;
	}
	return sum > n - budget - 1;
}

/* Corrects block[0..n-1] (the last ec codewords are EC codewords) in place.
 * First errors only, within `budget` (2 * errors <= budget). When that fails
 * and erasures are allowed, generalized-minimum-distance decoding within
 * the erasure budget b' = budget - SEMQR__ERASURE_SPARE: the f least reliable
 * codewords (ties by position) are erased for f = 2, 4, ... up to b' (the
 * last trial erases b' when it is odd), errors corrected within what the
 * erasures leave (2 * errors + f <= b'), and the first decoding accepted by
 * gmd_accepts() is taken; at most (b' + 1) / 2 trials. When more than b'
 * codewords have a module at p = 0.5 exactly, tau is 0, nothing ranks the
 * candidates for erasure and no trial is made.
 *
 * Why the spare: a decoding that spends the whole budget on erasures has no
 * redundancy left to notice an error among the codewords taken as reliable
 * (with f = ec erasures some codeword always agrees with the n - ec others),
 * and only the reliabilities would then vouch for it; low-dose plates gave
 * such wrong payloads. Two check codewords left unused make a wrong
 * decoding pass rs_decode's syndrome check with probability about 256^-2.
 * Returns 0 and the errors and erasures used, or -1 leaving the block as
 * received. */
static int correct_block(uint8_t *block, const float *rel, int n, int ec, int budget,
                         bool use_erasures, int *errors, int *erasures)
{
	if (semqr__rs_decode(block, n, ec, NULL, 0, budget, errors, erasures) == 0)
		return 0;
	int ebudget = budget - SEMQR__ERASURE_SPARE;
	if (!use_erasures || ebudget < 2)
		return -1;
	int by_rel[SEMQR_BLOCK_LEN_MAX];
	for (int i = 0; i < n; i++) {
		int k = i;
		for (; k > 0 && rel[by_rel[k - 1]] > rel[i]; k--)
			by_rel[k] = by_rel[k - 1];
		by_rel[k] = i;
	}
	float tau = rel[by_rel[ebudget]]; /* ebudget < ec < n */
	if (tau == 0)
		return -1;

	uint8_t trial[SEMQR_BLOCK_LEN_MAX];
	for (int f = 2; f <= ebudget + 1; f += 2) {
		int nf = f <= ebudget ? f : ebudget;
		memcpy(trial, block, (size_t)n);
		int e, used;
		if (semqr__rs_decode(trial, n, ec, by_rel, nf, ebudget, &e, &used) == 0 &&
		    gmd_accepts(block, trial, rel, n, budget, tau)) {
			memcpy(block, trial, (size_t)n);
			*errors = e;
			*erasures = used;
			return 0;
		}
	}
	return -1;
}

/* ---- padding-aware decoding ------------------------------------------- */

/* A message shorter than the symbol's data capacity is followed by the
 * terminator and then pad codewords, 0xEC and 0x11 alternately, up to the
 * capacity (ISO/IEC 18004:2015 7.4.10), so every pad codeword is known once
 * the message's length is: a symbol whose blocks fail can still decode when
 * its errors outside the pads are within the code's reach. For P trailing
 * pad codewords (the last P of the data codewords in block order) the
 * failed blocks get the pad values there, marked fully reliable so that no
 * erasure takes them, and are corrected again (correct_block) within the
 * budget less PAD_SPARE; a correction that changes a pad position refutes
 * P, as does a block that decoded on its own without the pads there.
 * P is estimated from the received data codewords: with a codeword error
 * rate of about PAD_ERROR_RATE, the log-likelihood of P pads against
 * random message bytes gains log(256 (1 - rate)) for every one of the last
 * P codewords that equals its pad value and log(256 rate / 255) for every
 * one that does not, a walk that rises through the pads and falls beyond
 * them; its maximum P* (when above 0) is tried, then P* - 1 down to
 * P* - PAD_BELOW (fewer pads assumed: still right when P* overshoots the
 * message's end by a codeword that equals its pad value by chance), then
 * the pads a message of one segment leaves by its own header (header_pads:
 * right when a run of wrong pads at the message's end misleads the walk).
 * Why the spare: every hypothesis is another chance for a block to decode
 * to a wrong codeword that happens to agree with the pads; with PAD_SPARE
 * more check codewords left unused, each wrong trial passes with
 * probability below about 256^-(PAD_SPARE + SEMQR__ERASURE_SPARE) when it
 * uses erasures (256^-PAD_SPARE times a vanishing sphere fraction when not).
 * Returns 1 with every block corrected in place and out's per-block counts
 * and pad_codewords set (errors count the pad positions that differed from
 * the received values), else 0 with the blocks untouched. */
#define PAD_SPARE 2
#define PAD_ERROR_RATE 0.3
#define PAD_BELOW 3

/* The pad value of the data codeword at index g of total data codewords
 * `data` when the last p are pads (only p's parity matters). */
static int pad_value(int g, int data, int p)
{
	return (g - data + p) % 2 == 0 ? 0xEC : 0x11;
}

/* The pads after a message of one numeric, alphanumeric, byte or Kanji
 * segment as its header in the data codewords reads (start: each block's
 * first data index; data: the data codewords): the mode indicator and
 * character count give the message's bits, and with the terminator (up to 4
 * bits) its codewords. 0 when the header names no such mode or the message
 * would not leave a pad. */
static int header_pads(const workspace *w, const int *start, int data, int version)
{
	uint32_t bits = 0; /* the first 24 bits in data order */
	for (int g = 0, b = 0; g < 3; g++) {
		while (g >= start[b + 1] && g < data)
			b++;
		bits = bits << 8 | (g < data ? w->block[b][g - start[b]] : 0u);
	}
	semqr_mode mode = (semqr_mode)(bits >> 20);
	int cc = semqr__char_count_bits(mode, version);
	if (cc == 0)
		return 0;
	long count = (long)(bits >> (20 - cc)) & ((1L << cc) - 1);
	long len = 4 + cc;
	switch (mode) {
	case SEMQR_MODE_NUMERIC:
		len += 10 * (count / 3) + (count % 3 == 1 ? 4 : count % 3 == 2 ? 7 : 0);
		break;
	case SEMQR_MODE_ALPHANUMERIC: len += 11 * (count / 2) + 6 * (count % 2); break;
	case SEMQR_MODE_BYTE: len += 8 * count; break;
	default: len += 13 * count; break; /* Kanji */
	}
	long capacity = 8L * data, term = capacity - len < 4 ? capacity - len : 4;
	long codewords = (len + term + 7) / 8;
	return len <= capacity && codewords < data ? (int)(data - codewords) : 0;
}

static int decode_padded(workspace *w, semqr_block_layout lay, int version, int budget,
                         bool use_erasures, semqr_decoded *out)
{
	int data = lay.blocks * lay.short_data + (lay.blocks - lay.short_count);
	int start[SEMQR_BLOCKS_MAX + 1]; /* first data index of each block */
	start[0] = 0;
	for (int b = 0; b < lay.blocks; b++)
		start[b + 1] = start[b] + lay.short_data + (b >= lay.short_count);
	/* The received data codeword g is w->block[b][g - start[b]] for failed
	 * blocks; decoded blocks hold their corrected values. */
	const double hit = log(256.0 * (1.0 - PAD_ERROR_RATE)),
	             miss = log(256.0 * PAD_ERROR_RATE / 255.0);
	/* A pad's value depends on the parity of P (the first pad is 0xEC):
	 * one walk per parity, walk[q] adding codeword g as if P were of
	 * parity q; P = p takes walk[p % 2]. */
	double walk[2] = {0.0, 0.0}, best = 0.0;
	int best_p = 0;
	for (int p = 1, b = lay.blocks - 1; p < data; p++) {
		int g = data - p;
		while (g < start[b])
			b--;
		int v = w->block[b][g - start[b]];
		for (int q = 0; q < 2; q++)
			walk[q] += v == pad_value(g, data, q) ? hit : miss;
		if (walk[p % 2] > best) {
			best = walk[p % 2];
			best_p = p;
		}
	}
	int budget_pad = budget - PAD_SPARE;
	if (budget_pad < 2)
		return 0;
	int tries[PAD_BELOW + 2], ntries = 0;
	for (int p = best_p; p >= 1 && p > best_p - 1 - PAD_BELOW; p--)
		tries[ntries++] = p;
	int from_header = header_pads(w, start, data, version);
	if (from_header > 0 && (best_p == 0 || from_header > best_p || from_header < best_p - PAD_BELOW))
		tries[ntries++] = from_header;
	for (int t = 0; t < ntries; t++) {
		int p = tries[t];
		int ok = 1;
		int errors[SEMQR_BLOCKS_MAX], erasures[SEMQR_BLOCKS_MAX], fixed[SEMQR_BLOCKS_MAX];
		for (int b = 0; b < lay.blocks && ok; b++) {
			int first = start[b] > data - p ? start[b] : data - p;
			if (!w->failed[b]) {
				/* a block that decoded must hold the pads already */
				for (int g = first; g < start[b + 1]; g++)
					ok &= w->block[b][g - start[b]] == pad_value(g, data, p);
				continue;
			}
			/* the received block with the pads set, corrected into padded[b] */
			int n = start[b + 1] - start[b] + lay.ec;
			uint8_t *pb = w->padded[b];
			memcpy(pb, w->block[b], (size_t)n);
			memcpy(w->trial_rel, w->reliability[b], (size_t)n * sizeof(float));
			fixed[b] = 0;
			for (int g = first; g < start[b + 1]; g++) {
				uint8_t v = (uint8_t)pad_value(g, data, p);
				fixed[b] += pb[g - start[b]] != v;
				pb[g - start[b]] = v;
				w->trial_rel[g - start[b]] = 0.5f;
			}
			ok = correct_block(pb, w->trial_rel, n, lay.ec, budget_pad, use_erasures,
			                   &errors[b], &erasures[b]) == 0;
			for (int g = first; ok && g < start[b + 1]; g++)
				ok = pb[g - start[b]] == pad_value(g, data, p);
		}
		if (!ok)
			continue;
		/* P holds for every block: take the corrections. */
		out->errors_total = out->erasures_total = 0;
		out->ec_unused = 1.0;
		for (int b = 0; b < lay.blocks; b++) {
			if (w->failed[b]) {
				memcpy(w->block[b], w->padded[b],
				       (size_t)(start[b + 1] - start[b] + lay.ec));
				out->errors[b] = errors[b] + fixed[b];
				out->erasures[b] = erasures[b];
				out->ec_capacity[b] = budget;
			}
			/* the budget the corrections took; the pads took none */
			int e = out->errors[b] - (w->failed[b] ? fixed[b] : 0), f = out->erasures[b];
			out->errors_total += out->errors[b];
			out->erasures_total += f;
			double unused = 1.0 - (double)(2 * e + f) / budget;
			out->ec_unused = unused < out->ec_unused ? unused : out->ec_unused;
		}
		out->pad_codewords = p;
		return 1;
	}
	return 0;
}

/* ---- one orientation, one format -------------------------------------- */

/* Decodes w->dark as a symbol of `version` with the format fc. On failure
 * *out holds nothing to free. */
static semqr_status decode_with_format(workspace *w, int version, const format_choice *fc,
                                       const semqr_decode_options *opts, semqr_decoded *out,
                                       semqr_error *err)
{
	int size = semqr__size(version);
	semqr_block_layout lay = semqr__block_layout(version, fc->ecc);
	int budget = lay.ec - semqr__misdecode_protection(version, fc->ecc);
	int total = semqr__total_codewords(version);

	semqr__data_order(version, w->order);
	semqr__deinterleave_map(version, fc->ecc, w->block_of, w->index_of);
	for (int i = 0; i < total; i++) {
		int byte = 0;
		float rel = 0.5f;
		for (int b = 0; b < 8; b++) {
			int m = w->order[8 * i + b];
			float p = w->dark[m];
			byte = byte << 1 | ((p > 0.5f) ^ semqr__mask_bit(fc->mask, m % size, m / size));
			float r = fabsf(p - 0.5f); /* p is in [0, 1] (checked) */
			rel = r < rel ? r : rel;
		}
		w->block[w->block_of[i]][w->index_of[i]] = (uint8_t)byte;
		w->reliability[w->block_of[i]][w->index_of[i]] = rel;
	}

	/* ec_unused: each block leaves 1 - (2 * errors + erasures) / budget of its
	 * budget (budget >= 4 for every version and level, and rs_decode keeps
	 * 2e + f <= budget, so this lies in [0, 1]); the symbol reports the
	 * least of its blocks. */
	int failed = 0, first_failed = 0;
	size_t ndata = 0;
	out->block_count = lay.blocks;
	out->errors_total = out->erasures_total = 0;
	out->ec_unused = 1.0;
	for (int b = 0; b < lay.blocks; b++) {
		int data_len = lay.short_data + (b >= lay.short_count);
		int n = data_len + lay.ec;
		int e = 0, f = 0;
		w->failed[b] = 0;
		if (correct_block(w->block[b], w->reliability[b], n, lay.ec, budget,
		                  opts->use_erasures, &e, &f) != 0) {
			w->failed[b] = 1;
			if (failed++ == 0)
				first_failed = b;
			continue;
		}
		out->errors[b] = e;
		out->erasures[b] = f;
		out->ec_capacity[b] = budget;
		out->errors_total += e;
		out->erasures_total += f;
		double unused = 1.0 - (double)(2 * e + f) / budget;
		out->ec_unused = unused < out->ec_unused ? unused : out->ec_unused;
		memcpy(w->data + ndata, w->block[b], (size_t)data_len);
		ndata += (size_t)data_len;
	}
	out->pad_codewords = 0;
	if (failed && opts->use_padding &&
	    decode_padded(w, lay, version, budget, opts->use_erasures, out))
		failed = 0;
	if (failed) {
		int n = lay.short_data + (first_failed >= lay.short_count) + lay.ec;
		return semqr__fail(err, SEMQR_ERR_DECODE,
		                   "version %d-%s mask %d: %d of %d Reed-Solomon blocks beyond "
		                   "correction; block %d (%d codewords, %d EC): not correctable within "
		                   "2*errors + erasures <= %d",
		                   version, semqr_ecc_name(fc->ecc), fc->mask, failed, lay.blocks,
		                   first_failed + 1, n, lay.ec, budget);
	}

	if (out->pad_codewords) {
		/* decode_padded corrected every block in place */
		ndata = 0;
		for (int b = 0; b < lay.blocks; b++) {
			int data_len = lay.short_data + (b >= lay.short_count);
			memcpy(w->data + ndata, w->block[b], (size_t)data_len);
			ndata += (size_t)data_len;
		}
	}
	out->version = version;
	out->ecc = fc->ecc;
	out->mask = fc->mask;
	out->format_distance = fc->distance;
	out->version_distance = version_distance(w, version);
	return semqr__parse_segments(w->data, ndata, version, out, err);
}

/* Decodes w->dark, a size x size matrix in the orientation to try: every
 * format candidate in turn; a decoding failure is reported as that of the
 * nearest candidate. err must not be NULL. */
static semqr_status decode_oriented(workspace *w, int size, const semqr_decode_options *opts,
                                    semqr_decoded *out, semqr_error *err)
{
	int version = (size - 17) / 4;
	format_choice fc[3];
	int n = read_format(w, version, fc);
	if (n == 0)
		return semqr__fail(err, SEMQR_ERR_DECODE,
		                   "format information unreadable (both copies and their soft "
		                   "combination > %d bit errors)", FORMAT_MAX_DISTANCE);
	semqr_status st = decode_with_format(w, version, &fc[0], opts, out, err);
	for (int k = 1; k < n && st == SEMQR_ERR_DECODE; k++) {
		semqr_error later;
		st = decode_with_format(w, version, &fc[k], opts, out, &later);
		if (st == SEMQR_ERR_NO_MEMORY)
			*err = later;
	}
	return st;
}

semqr_status semqr_decode_matrix(const semqr_soft_matrix *m, const semqr_decode_options *opts,
                                 semqr_decoded *out, semqr_error *err)
{
	semqr_decode_options defaults;
	if (!opts) {
		semqr_decode_options_init(&defaults);
		opts = &defaults;
	}
	if (!m || !m->dark || !out)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "decode: matrix, its modules and the result must not be NULL");
	memset(out, 0, sizeof *out);
	int size = m->size;
	if (size < SEMQR_SIZE_MIN || size > SEMQR_SIZE_MAX || (size - SEMQR_SIZE_MIN) % 4 != 0)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "decode: matrix size %d is not 17 + 4 * version for a version "
		                   "1..40 (21, 25, ..., 177)", size);
	for (int i = 0; i < size * size; i++) {
		float p = m->dark[i];
		if (!(p >= 0.0f && p <= 1.0f))
			return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
			                   "decode: module (%d, %d): probability %g outside [0, 1]",
			                   i % size, i / size, (double)p);
	}
	workspace *w = malloc(sizeof *w);
	if (!w)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "decode: out of memory");

	semqr_error direct, transposed;
	memcpy(w->dark, m->dark, (size_t)size * (size_t)size * sizeof *w->dark);
	semqr_status st = decode_oriented(w, size, opts, out, &direct);
	bool tried_transposed = st == SEMQR_ERR_DECODE && opts->try_mirrored;
	if (tried_transposed) {
		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++)
				w->dark[y * size + x] = m->dark[x * size + y];
		memset(out, 0, sizeof *out);
		st = decode_oriented(w, size, opts, out, &transposed);
		out->mirrored = st == SEMQR_OK;
	}
	free(w);
	if (st == SEMQR_OK) {
		semqr__clear(err);
		return SEMQR_OK;
	}
	memset(out, 0, sizeof *out);
	if (!tried_transposed)
		return semqr__fail(err, st, "%s", direct.message);
	if (st != SEMQR_ERR_DECODE)
		return semqr__fail(err, st, "%s", transposed.message);
	return semqr__fail(err, st, "%s; transposed: %s", direct.message, transposed.message);
}
