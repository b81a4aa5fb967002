/* Test support: collecting a scan decode's symbols (see found_set.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "support/found_set.h"

void test_found_collect(void *user, const semqr_scan_symbol *sym)
{
	test_found_set *set = user;
	assert_true(set->n < TEST_FOUND_MAX);
	test_found *f = &set->s[set->n++];
	memset(f, 0, sizeof *f);
	f->decoded = sym->decoded;
	f->version = sym->version;
	f->tile_col = sym->tile_col;
	f->tile_row = sym->tile_row;
	if (sym->decoded) {
		assert_non_null(sym->data);
		assert_true(sym->data->payload_len < TEST_FOUND_PAYLOAD_MAX);
		memcpy(f->payload, sym->data->payload, sym->data->payload_len);
		set->decoded++;
	} else {
		assert_non_null(sym->reason);
		assert_true(strlen(sym->reason) > 0);
	}
	memcpy(f->corners, sym->corners_px, sizeof f->corners);
}
