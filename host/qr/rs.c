/* Reed-Solomon coding over GF(256) as QR uses it (ISO/IEC 18004 section 7.5.2).
 *
 * A block of n codewords c[0..n-1] is the polynomial c(x) = sum c[j] x^(n-1-j).
 * With ec EC codewords it is a codeword when g(x) = prod_{i=0}^{ec-1} (x - alpha^i)
 * divides it, i.e. when every syndrome S_i = c(alpha^i), i = 0..ec-1, is zero.
 *
 * Encoding: the EC codewords are the remainder of data(x) * x^ec divided by g.
 *
 * Decoding, errors and erasures (Blahut, "Algebraic Codes for Data
 * Transmission", ch. 7): an error of value Y at position j has locator
 * X = alpha^(n-1-j) and contributes Y X^i to S_i.
 *  1. Syndromes S_0..S_{ec-1}; all zero means the block is a codeword.
 *  2. Erasure locator Gamma(x) = prod (1 - X_k x) over the f erasures.
 *  3. Forney syndromes T = S * Gamma mod x^ec; T_f..T_{ec-1} depend on the
 *     errors alone and obey the recurrence whose connection polynomial is the
 *     error locator sigma(x). Berlekamp-Massey finds the shortest one, of
 *     length L = number of errors.
 *  4. Lambda = sigma * Gamma locates errors and erasures together. Chien
 *     search tries X^-1 for every position of the block and must find exactly
 *     deg Lambda roots, else the errors lie outside the block or are too many.
 *  5. Forney: with Omega = S * Lambda mod x^ec, the value at locator X is
 *     Y = X * Omega(X^-1) / Lambda'(X^-1) (first consecutive root alpha^0).
 *  6. The corrected copy must have zero syndromes before it replaces the block.
 * Every stage works on fixed-size local arrays; time is O(n * ec + ec^2).
 */
#include <string.h>

#include "qr/qr_internal.h"

#define EC_MAX 68

/* Coefficients of g(x) = prod_{i<ec} (x - alpha^i), highest degree first with
 * the leading 1 omitted: g(x) = x^ec + gen[0] x^(ec-1) + ... + gen[ec-1].
 * gen[j] holds the coefficient of x^(ec-1-j) of the product so far, which
 * starts as the constant 1; the x^ec term of the final product, the only one
 * that falls off the array, is the monic leading 1. */
static void generator(int ec, uint8_t gen[EC_MAX])
{
	memset(gen, 0, (size_t)ec);
	gen[ec - 1] = 1;
	for (int i = 0; i < ec; i++) {
		/* Multiply by (x - alpha^i): each coefficient becomes alpha^i times
		 * itself plus the next lower one shifted up a degree. */
		uint8_t root = semqr__gf_exp(i);
		for (int j = 0; j < ec; j++) {
			gen[j] = semqr__gf_mul(gen[j], root);
			if (j + 1 < ec)
				gen[j] ^= gen[j + 1];
		}
	}
}

void semqr__rs_encode(const uint8_t *data, int ndata, int ec, uint8_t *ecc_out)
{
	uint8_t gen[EC_MAX];
	generator(ec, gen);
	/* Long division, keeping only the running remainder in ecc_out. */
	memset(ecc_out, 0, (size_t)ec);
	for (int i = 0; i < ndata; i++) {
		uint8_t factor = data[i] ^ ecc_out[0];
		memmove(ecc_out, ecc_out + 1, (size_t)(ec - 1));
		ecc_out[ec - 1] = 0;
		for (int j = 0; j < ec; j++)
			ecc_out[j] ^= semqr__gf_mul(gen[j], factor);
	}
}

/* Adds value v at exponent e (the term v x^e of a received word) to the
 * syndromes: S_i += v alpha^(i e) for i < ec, in the log domain (v != 0). */
static void add_term(uint8_t s[EC_MAX], int ec, uint8_t v, int e)
{
	int idx = semqr__gf_log_table[v], step = e % 255;
	for (int i = 0; i < ec; i++) {
		s[i] ^= semqr__gf_exp_table[idx];
		idx += step;
		if (idx >= 255)
			idx -= 255;
	}
}

/* S_i = c(alpha^i) for i < ec, c[j] the coefficient of x^(n-1-j), term by
 * term (add_term); returns 1 when any is nonzero. */
static int syndromes(const uint8_t *c, int n, int ec, uint8_t s[EC_MAX])
{
	memset(s, 0, (size_t)ec);
	for (int j = 0; j < n; j++)
		if (c[j])
			add_term(s, ec, c[j], n - 1 - j);
	int nonzero = 0;
	for (int i = 0; i < ec; i++)
		nonzero |= s[i];
	return nonzero != 0;
}

/* p(x) for a polynomial p[0] + p[1] x + ... + p[deg] x^deg. */
static uint8_t poly_eval(const uint8_t *p, int deg, uint8_t x)
{
	uint8_t v = 0;
	for (int i = deg; i >= 0; i--)
		v = semqr__gf_mul(v, x) ^ p[i];
	return v;
}

/* Berlekamp-Massey on t[0..len-1]: the shortest LFSR generating it, as the
 * connection polynomial c[0..L] (c[0] = 1, degree at most L), returns L. */
static int berlekamp_massey(const uint8_t *t, int len, uint8_t c[EC_MAX + 1])
{
	uint8_t b[EC_MAX + 1], tmp[EC_MAX + 1];
	memset(c, 0, EC_MAX + 1);
	memset(b, 0, sizeof b);
	c[0] = b[0] = 1;
	int L = 0, shift = 1;
	uint8_t last_d = 1;
	for (int k = 0; k < len; k++) {
		uint8_t d = t[k];
		for (int i = 1; i <= L; i++)
			d ^= semqr__gf_mul(c[i], t[k - i]);
		if (d == 0) {
			shift++;
			continue;
		}
		/* c -= (d / last_d) x^shift b, where b is c as it was before the last
		 * length change; the degree of c never exceeds the updated L. */
		uint8_t q = semqr__gf_div(d, last_d);
		memcpy(tmp, c, sizeof tmp);
		for (int i = 0; i + shift <= EC_MAX; i++)
			c[i + shift] ^= semqr__gf_mul(q, b[i]);
		if (2 * L <= k) {
			L = k + 1 - L;
			memcpy(b, tmp, sizeof b);
			last_d = d;
			shift = 1;
		} else {
			shift++;
		}
	}
	return L;
}

int semqr__rs_decode(uint8_t *block, int n, int ec, const int *erasures, int nerasures,
                     int budget, int *errors, int *erased)
{
	if (n < 1 || n > SEMQR_BLOCK_LEN_MAX || ec < 1 || ec > EC_MAX || ec > n ||
	    nerasures < 0 || budget < 0)
		return -1;
	/* Every accepted result has 2e + f <= budget, so more erasures than the
	 * budget are refused even when the block happens to be a codeword. */
	if (budget > ec)
		budget = ec;
	if (nerasures > budget)
		return -1;

	/* Erasure positions must be distinct and inside the block. */
	uint8_t is_erased[SEMQR_BLOCK_LEN_MAX] = {0};
	for (int k = 0; k < nerasures; k++) {
		int j = erasures[k];
		if (j < 0 || j >= n || is_erased[j])
			return -1;
		is_erased[j] = 1;
	}

	uint8_t s[EC_MAX];
	if (!syndromes(block, n, ec, s)) {
		*errors = 0;
		*erased = nerasures;
		return 0;
	}

	/* Gamma(x) = prod (1 - X_k x) = prod (1 + X_k x), one factor at a time. */
	uint8_t gamma[EC_MAX + 1] = {1};
	for (int k = 0; k < nerasures; k++) {
		uint8_t x = semqr__gf_exp(n - 1 - erasures[k]);
		for (int i = k + 1; i >= 1; i--)
			gamma[i] ^= semqr__gf_mul(gamma[i - 1], x);
	}

	/* Forney syndromes T_i = sum_m Gamma_m S_{i-m}, needed for i = f..ec-1. */
	uint8_t t[EC_MAX];
	int nt = ec - nerasures;
	for (int i = 0; i < nt; i++) {
		uint8_t v = 0;
		for (int m = 0; m <= nerasures; m++)
			v ^= semqr__gf_mul(gamma[m], s[nerasures + i - m]);
		t[i] = v;
	}
	uint8_t sigma[EC_MAX + 1];
	int nerr = berlekamp_massey(t, nt, sigma);
	if (2 * nerr + nerasures > budget)
		return -1;

	/* Lambda = sigma * Gamma, of degree nerr + f at most. */
	int deg = nerr + nerasures;
	uint8_t lambda[EC_MAX + 1] = {0};
	for (int i = 0; i <= nerr; i++)
		for (int m = 0; m <= nerasures; m++)
			lambda[i + m] ^= semqr__gf_mul(sigma[i], gamma[m]);

	/* Omega = S * Lambda mod x^ec. */
	uint8_t omega[EC_MAX] = {0};
	for (int i = 0; i < ec; i++)
		for (int m = 0; m <= i && m <= deg; m++)
			omega[i] ^= semqr__gf_mul(lambda[m], s[i - m]);

	/* Lambda'(x): in characteristic 2 only the odd terms survive,
	 * Lambda'(x) = sum_{i odd} Lambda_i x^(i-1). */
	uint8_t dlambda[EC_MAX + 1] = {0};
	for (int i = 1; i <= deg; i += 2)
		dlambda[i - 1] = lambda[i];

	/* Chien search over the block's positions, Forney's formula at each root.
	 * The erasure positions are roots by construction; the others are the
	 * errors. deg roots, all simple, are needed: fewer means some locators lie
	 * outside the block (or Lambda does not split), a zero derivative means a
	 * repeated root; either way the damage exceeds what the code can locate. */
	/* The corrected word's syndromes are the received ones plus those of
	 * the corrections (linearity): they must all vanish. */
	uint8_t fixed[SEMQR_BLOCK_LEN_MAX];
	memcpy(fixed, block, (size_t)n);
	int roots = 0;
	for (int j = 0; j < n; j++) {
		int e = n - 1 - j;
		uint8_t xinv = semqr__gf_exp(255 - e);
		if (poly_eval(lambda, deg, xinv) != 0)
			continue;
		uint8_t den = poly_eval(dlambda, deg, xinv);
		if (den == 0)
			return -1;
		uint8_t mag = semqr__gf_mul(semqr__gf_exp(e),
		                            semqr__gf_div(poly_eval(omega, ec - 1, xinv), den));
		fixed[j] ^= mag;
		if (mag)
			add_term(s, ec, mag, e);
		roots++;
	}
	int residual = 0;
	for (int i = 0; i < ec; i++)
		residual |= s[i];
	if (roots != deg || residual)
		return -1;
	memcpy(block, fixed, (size_t)n);
	*errors = nerr;
	*erased = nerasures;
	return 0;
}
