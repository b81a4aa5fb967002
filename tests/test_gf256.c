/* GF(256) arithmetic (gf256.c) against a shift-and-add reference that does not
 * use the log/antilog tables: every one of the 65536 products, every quotient
 * and inverse, and the exp/log tables themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qr/qr_internal.h"
#include "support/testutil.h"

static void test_mul_all_pairs(void **state)
{
	(void)state;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			uint8_t got = semqr__gf_mul((uint8_t)a, (uint8_t)b);
			uint8_t want = test_gf_mul_ref((uint8_t)a, (uint8_t)b);
			if (got != want)
				fail_msg("%d * %d: %d, expected %d", a, b, got, want);
		}
}

static void test_div_inv(void **state)
{
	(void)state;
	for (int b = 1; b < 256; b++) {
		uint8_t inv = semqr__gf_inv((uint8_t)b);
		assert_int_equal(test_gf_mul_ref((uint8_t)b, inv), 1);
		for (int a = 0; a < 256; a++) {
			uint8_t q = semqr__gf_div((uint8_t)a, (uint8_t)b);
			assert_int_equal(test_gf_mul_ref(q, (uint8_t)b), a);
		}
	}
}

/* alpha = 2 is primitive: its powers, by repeated reference multiplication,
 * run through all 255 nonzero elements before returning to 1; exp and log
 * agree with them for every exponent and element. */
static void test_exp_log(void **state)
{
	(void)state;
	int seen[256] = {0};
	uint8_t p = 1;
	for (int e = 0; e < 3 * 255; e++) {
		assert_int_equal(semqr__gf_exp(e), p);
		if (e < 255) {
			assert_false(seen[p]);
			seen[p] = 1;
			assert_int_equal(semqr__gf_log(p), e);
		}
		p = test_gf_mul_ref(p, 2);
	}
	assert_false(seen[0]);
	assert_int_equal(semqr__gf_exp(255), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mul_all_pairs),
		cmocka_unit_test(test_div_inv),
		cmocka_unit_test(test_exp_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
