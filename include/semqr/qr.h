/* semqr — the QR codec: payload bytes to module matrix, soft module matrix to payload.
 *
 * ISO/IEC 18004:2015 QR Code Model 2, versions 1-40, error-correction levels
 * L, M, Q, H. The codec knows nothing of images, files or devices: the encoder
 * produces a matrix of modules and the decoder takes, for every module, the
 * probability that it is dark, so that unreliable modules can be treated as
 * erasures by the Reed-Solomon decoder.
 *
 * Matrices are row-major, row 0 at the top, column 0 at the left, without a
 * quiet zone; module (x, y) is modules[y * size + x].
 */
#ifndef SEMQR_QR_H
#define SEMQR_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "semqr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEMQR_VERSION_MIN 1
#define SEMQR_VERSION_MAX 40
#define SEMQR_SIZE_MIN 21
#define SEMQR_SIZE_MAX 177 /* 17 + 4 * 40 */
#define SEMQR_BLOCKS_MAX 81 /* Reed-Solomon blocks of version 40-H */
#define SEMQR_STRUCTURED_APPEND_MAX 16

/* Error-correction level, in increasing order of strength. */
typedef enum semqr_ecc {
	SEMQR_ECC_L = 0, /* ~7% of codewords recoverable */
	SEMQR_ECC_M = 1, /* ~15% */
	SEMQR_ECC_Q = 2, /* ~25% */
	SEMQR_ECC_H = 3  /* ~30% */
} semqr_ecc;

/* Segment modes, valued by their 4-bit mode indicator. */
typedef enum semqr_mode {
	SEMQR_MODE_AUTO = 0, /* encoder only: choose modes minimising the bit length */
	SEMQR_MODE_NUMERIC = 1,
	SEMQR_MODE_ALPHANUMERIC = 2,
	SEMQR_MODE_STRUCTURED_APPEND = 3,
	SEMQR_MODE_BYTE = 4,
	SEMQR_MODE_FNC1_FIRST = 5,
	SEMQR_MODE_ECI = 7,
	SEMQR_MODE_KANJI = 8,
	SEMQR_MODE_FNC1_SECOND = 9
} semqr_mode;

/* A symbol as a hard matrix of modules: 1 = dark, 0 = light. */
typedef struct semqr_symbol {
	int version;       /* 1..40 */
	int size;          /* 17 + 4 * version */
	semqr_ecc ecc;
	int mask;          /* 0..7 */
	uint8_t modules[SEMQR_SIZE_MAX * SEMQR_SIZE_MAX]; /* first size*size entries used */
} semqr_symbol;

/* ---------------------------------------------------------------------------
 * Encoder
 * ------------------------------------------------------------------------- */

typedef struct semqr_encode_options {
	int min_version;   /* smallest version to try, 1..40 (default 1) */
	int max_version;   /* largest version to try, min..40 (default 40); min == max forces it */
	semqr_ecc ecc;     /* requested level (default M) */
	bool boost_ecc;    /* raise the level while the data still fits the chosen version (default true) */
	int mask;          /* 0..7, or -1 to choose by the four penalty rules (default -1) */
	semqr_mode mode;   /* SEMQR_MODE_AUTO (default), or NUMERIC, ALPHANUMERIC, BYTE, KANJI to
	                      force one segment of that mode; the data must be valid for it */
	int eci;           /* ECI assignment number 0..999999 written before the data, or -1 for
	                      none (default -1). With 26 (UTF-8) the data must be valid UTF-8. */
	bool kanji;        /* allow Kanji mode in AUTO for UTF-8 input whose characters are in
	                      Shift JIS X 0208 (default true; never used together with an ECI
	                      other than 20, Shift JIS) */
	/* Structured append header (written when sa_total >= 2): */
	int sa_index;      /* position of this symbol, 0..sa_total-1 */
	int sa_total;      /* number of symbols, 2..16; 0 = no header (default 0) */
	int sa_parity;     /* XOR of every byte of the whole message, 0..255 */
} semqr_encode_options;

/* Fills *opts with the defaults documented above. */
void semqr_encode_options_init(semqr_encode_options *opts);

/* Encodes len bytes at data (binary safe; len may be 0) into *out.
 * Chooses the smallest version in [min_version, max_version] that holds the
 * data at opts->ecc, the segmentation of least bit length, and the mask.
 * Returns SEMQR_ERR_DATA_TOO_LONG when no allowed version holds the data,
 * SEMQR_ERR_INVALID_ARGUMENT for out-of-range options or data invalid for a
 * forced mode. On failure *out is unspecified. opts may be NULL (defaults). */
semqr_status semqr_encode(const uint8_t *data, size_t len,
                          const semqr_encode_options *opts,
                          semqr_symbol *out, semqr_error *err);

/* Splits a message into `count` symbols (2..16) joined by structured append,
 * each encoded with opts (whose sa_* fields are ignored). Parts are as equal
 * as possible in bytes and never split a UTF-8 character when the message is
 * valid UTF-8. out must hold count symbols. */
semqr_status semqr_encode_structured(const uint8_t *data, size_t len, int count,
                                     const semqr_encode_options *opts,
                                     semqr_symbol *out, semqr_error *err);

/* ---------------------------------------------------------------------------
 * Decoder
 * ------------------------------------------------------------------------- */

/* A soft matrix: for every module the probability that it is dark, in [0, 1];
 * 0.5 means unknown. Row-major, size*size values, size = 17 + 4v. */
typedef struct semqr_soft_matrix {
	int size;
	const float *dark;
} semqr_soft_matrix;

typedef struct semqr_decode_options {
	bool try_mirrored;   /* also try the transposed matrix (default true) */
	bool use_erasures;   /* when errors alone fail, erase least reliable modules (default true) */
	bool use_padding;    /* when blocks fail, assume the message ends early and its pad
	                        codewords (0xEC, 0x11) fill the rest (default true) */
} semqr_decode_options;

void semqr_decode_options_init(semqr_decode_options *opts);

/* One data segment of a decoded symbol. */
typedef struct semqr_segment {
	semqr_mode mode;     /* NUMERIC, ALPHANUMERIC, BYTE or KANJI */
	int eci;             /* ECI assignment in force for this segment, -1 for none */
	size_t offset;       /* where its bytes start in semqr_decoded.payload */
	size_t length;       /* how many payload bytes it produced */
	int char_count;      /* the character count from its header */
} semqr_segment;

typedef struct semqr_decoded {
	int version;
	semqr_ecc ecc;
	int mask;
	bool mirrored;          /* the matrix decoded only after transposition */
	int format_distance;    /* bit errors corrected in the format information (0..3) */
	int version_distance;   /* bits in which the better version-information copy differs from
	                           the word of the version the size implies (the size decides, so
	                           this may exceed 3); -1 below version 7 */

	/* The message: numeric and alphanumeric segments as ASCII, byte segments
	 * as stored, Kanji segments converted from Shift JIS to UTF-8 (so that a
	 * UTF-8 message given to semqr_encode comes back byte for byte; a Kanji
	 * code without a Unicode mapping keeps its segment as Shift JIS bytes,
	 * and text is then NULL). */
	uint8_t *payload;
	size_t payload_len;
	/* The message as UTF-8 text, NUL-terminated: byte segments converted from
	 * the character set of their ECI (without ECI: taken as UTF-8 when valid,
	 * else as ISO-8859-1). NULL when it cannot be converted. */
	char *text;

	semqr_segment *segments;
	int segment_count;
	int eci;                /* first ECI designator in the symbol, -1 for none */
	int fnc1;               /* 0 none, 1 first position (GS1), 2 second position */
	int fnc1_indicator;     /* application indicator (0..255) when fnc1 == 2, else -1 */

	bool structured_append; /* a structured append header was present */
	int sa_index, sa_total, sa_parity;

	int block_count;
	int errors[SEMQR_BLOCKS_MAX];    /* codeword errors corrected per block (with
	                                    padding, the assumed pads that differed count) */
	int erasures[SEMQR_BLOCKS_MAX];  /* codeword erasures filled per block */
	int ec_capacity[SEMQR_BLOCKS_MAX]; /* correction budget per block (EC codewords less
	                                      misdecode protection) */
	int errors_total, erasures_total;
	double ec_unused;       /* min over blocks of 1 - (2e + f) / budget, in [0, 1] (e: the errors
	                           the Reed-Solomon correction found, assumed pads not counted) */
	int pad_codewords;      /* trailing data codewords taken as known padding (use_padding),
	                           0 when the blocks decoded without */
} semqr_decoded;

/* Decodes a soft matrix. On SEMQR_OK *out holds the result, which the caller
 * releases with semqr_decoded_free. On failure *out holds nothing to free and
 * err says why (format information unreadable, a block beyond correction,
 * invalid segment data...). A payload is returned only when every block
 * decoded and its syndromes re-checked to zero. opts may be NULL. */
semqr_status semqr_decode_matrix(const semqr_soft_matrix *m,
                                 const semqr_decode_options *opts,
                                 semqr_decoded *out, semqr_error *err);

/* Releases what semqr_decode_matrix allocated; safe on a zeroed struct. */
void semqr_decoded_free(semqr_decoded *d);

/* ---------------------------------------------------------------------------
 * Structured append: joining the symbols of one message
 * ------------------------------------------------------------------------- */

/* A collector of decoded symbols that carry a structured append header. */
typedef struct semqr_sa_set semqr_sa_set;

/* Receives one joined message: the payloads of indices 0..total-1 in order,
 * `len` bytes valid during the call. */
typedef void (*semqr_sa_message_fn)(void *user, const uint8_t *message, size_t len, int total,
                                    int parity);

/* An empty collector, or NULL when out of memory. */
semqr_sa_set *semqr_sa_set_create(void);
/* Keeps a copy of d's payload when d has a structured append header; other
 * symbols are ignored (SEMQR_OK). */
semqr_status semqr_sa_set_add(semqr_sa_set *set, const semqr_decoded *d, semqr_error *err);
/* Calls cb for every complete set among the symbols added: one (total,
 * parity) header with every index 0..total-1 present (a symbol added twice
 * must repeat the same bytes, else the set is ambiguous and skipped) and the
 * joined payload bytes XOR to the parity. Returns how many were joined;
 * incomplete or inconsistent sets are left out. May reorder the collector's
 * contents, nothing else. */
int semqr_sa_set_merge(semqr_sa_set *set, semqr_sa_message_fn cb, void *user);
void semqr_sa_set_free(semqr_sa_set *set);

/* Convenience: a hard symbol as a soft matrix (dark = 1.0 or 0.0).
 * dark must hold size*size floats. */
void semqr_symbol_to_soft(const semqr_symbol *s, float *dark);

/* Names: "L", "M", "Q", "H"; "numeric", "alphanumeric", "byte", "kanji", ... */
const char *semqr_ecc_name(semqr_ecc ecc);
const char *semqr_mode_name(semqr_mode mode);

#ifdef __cplusplus
}
#endif
#endif
