/* Test support: payloads against a ground truth (contracts in truth_count.h). */
#include <string.h>

#include "support/truth_count.h"

int test_truth_has_payload(const semqr_truth *truth, const uint8_t *payload, size_t len)
{
	for (size_t i = 0; i < truth->count; i++)
		if (truth->symbols[i].payload_len == len &&
		    (len == 0 || !memcmp(truth->symbols[i].payload, payload, len)))
			return 1;
	return 0;
}

void test_truth_count_symbol(void *user, const semqr_scan_symbol *s)
{
	test_truth_count *c = user;
	if (!s->decoded)
		return;
	if (test_truth_has_payload(c->truth, s->data->payload, s->data->payload_len))
		c->right++;
	else
		c->wrong++;
}
