/* Interoperability with real clients, for every version 1-40 and level L/M/Q/H:
 * - semqr encodes, renders to PNG, and zbarimg (ZBar) must read the same payload;
 * - qrencode encodes (PNG, 1 pixel per module, quiet zone 4), and
 *   `semqr decode --pure --raw` must print the same payload bytes.
 * Payloads fill most of the chosen version so that every block structure is
 * exercised; semqr's payloads rotate through numeric, alphanumeric and byte
 * text, qrencode's are random bytes 1..255 in 8-bit mode. Seeded, so any
 * failure reproduces. Skipped (with a message) when a peer is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "semqr/semqr.h"
#include "support/run.h"
#include "support/testutil.h"

static const char levels[] = "LMQH";

/* Characters of one mode that fit version v at level e with a single
 * segment, leaving 10% slack so the data also fits after mode-switch choices. */
static size_t capacity(semqr_mode mode, int v, semqr_ecc e)
{
	long bits = 8L * semqr__data_codewords(v, e) - 4 - semqr__char_count_bits(mode, v);
	long n = mode == SEMQR_MODE_NUMERIC ? bits * 3 / 10
	       : mode == SEMQR_MODE_ALPHANUMERIC ? bits * 2 / 11 : bits / 8;
	n = n * 9 / 10;
	return n < 1 ? 1 : (size_t)n;
}

static void make_payload(test_rng *rng, semqr_mode mode, size_t n, char *out)
{
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	for (size_t i = 0; i < n; i++) {
		uint32_t r = test_rng_u32(rng);
		if (mode == SEMQR_MODE_NUMERIC)
			out[i] = (char)('0' + r % 10);
		else if (mode == SEMQR_MODE_ALPHANUMERIC)
			out[i] = alnum[r % 45];
		else
			out[i] = (char)(' ' + 1 + r % 94); /* printable ASCII, no space */
	}
	out[n] = 0;
}

static void zbar_reads_semqr(void **state)
{
	(void)state;
	if (!test_have_program("zbarimg"))
		skip();
	const char *dir = SEMQR_TEST_TMP "/zbar";
	assert_int_equal(test_mkdir(dir), 0);
	static semqr_symbol sym;
	static char payload[8000], path[512], cmd[1024];
	int failures = 0, runs = 0;
	test_rng rng;
	test_rng_seed(&rng, 12345u);
	for (int v = 1; v <= 40; v++) {
		for (int e = 0; e < 4; e++) {
			semqr_mode mode = (semqr_mode[]){SEMQR_MODE_NUMERIC, SEMQR_MODE_ALPHANUMERIC,
			                                 SEMQR_MODE_BYTE}[(v + e) % 3];
			make_payload(&rng, mode, capacity(mode, v, (semqr_ecc)e), payload);
			semqr_error err = {0};
			assert_int_equal(test_encode_forced((const uint8_t *)payload, strlen(payload), v,
			                                    (semqr_ecc)e, -1, SEMQR_MODE_AUTO, &sym, &err),
			                 SEMQR_OK);
			assert_int_equal(sym.version, v);
			semqr_image img = {0};
			assert_int_equal(semqr_render(&sym, 4, 4, &img, &err), SEMQR_OK);
			snprintf(path, sizeof path, "%s/v%02d%c.png", dir, v, levels[e]);
			assert_int_equal(semqr_image_write(path, &img, &err), SEMQR_OK);
			semqr_image_free(&img);
			snprintf(cmd, sizeof cmd, "zbarimg --quiet --raw -Sdisable -Sqrcode.enable '%s'", path);
			uint8_t *out;
			size_t len;
			int rc = test_run(cmd, &out, &len);
			/* zbarimg ends the payload with a newline */
			int ok = rc == 0 && len == strlen(payload) + 1 && !memcmp(out, payload, len - 1);
			if (!ok) {
				failures++;
				print_message("zbarimg failed on version %d-%c (%s, %zu chars): exit %d\n", v,
				              levels[e], semqr_mode_name(mode), strlen(payload), rc);
			}
			free(out);
			runs++;
		}
	}
	print_message("zbarimg read %d of %d semqr symbols\n", runs - failures, runs);
	assert_int_equal(failures, 0);
}

static void semqr_reads_qrencode(void **state)
{
	(void)state;
	if (!test_have_program("qrencode"))
		skip();
	const char *dir = SEMQR_TEST_TMP "/qrencode";
	assert_int_equal(test_mkdir(dir), 0);
	static uint8_t payload[4000];
	static char png[512], bin[512], cmd[2048];
	int failures = 0, runs = 0;
	test_rng rng;
	test_rng_seed(&rng, 12345u);
	for (int v = 1; v <= 40; v++) {
		for (int e = 0; e < 4; e++) {
			size_t n = capacity(SEMQR_MODE_BYTE, v, (semqr_ecc)e);
			for (size_t i = 0; i < n; i++)
				payload[i] = (uint8_t)(1 + test_rng_below(&rng, 255));
			snprintf(bin, sizeof bin, "%s/v%02d%c.bin", dir, v, levels[e]);
			snprintf(png, sizeof png, "%s/v%02d%c.png", dir, v, levels[e]);
			assert_int_equal(test_write_file(bin, payload, n), 0);
			snprintf(cmd, sizeof cmd, "qrencode -8 -v %d -l %c -s 1 -m 4 -o '%s' < '%s'", v,
			         levels[e], png, bin);
			assert_int_equal(system(cmd), 0);
			snprintf(cmd, sizeof cmd, "'%s' decode --pure --raw '%s'", SEMQR_CLI, png);
			uint8_t *out;
			size_t len;
			int rc = test_run(cmd, &out, &len);
			int ok = rc == 0 && len == n && !memcmp(out, payload, n);
			if (!ok) {
				failures++;
				print_message("semqr failed on qrencode version %d-%c (%zu bytes): exit %d, "
				              "%zu bytes out\n", v, levels[e], n, rc, len);
			}
			free(out);
			runs++;
		}
	}
	print_message("semqr read %d of %d qrencode symbols\n", runs - failures, runs);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(zbar_reads_semqr),
		cmocka_unit_test(semqr_reads_qrencode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
