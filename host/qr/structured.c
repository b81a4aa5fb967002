/* Structured append: joining the symbols of a message split over up to 16
 * symbols (ISO/IEC 18004 section 8). Each symbol's header carries its index,
 * the number of symbols and a parity byte, the XOR of every byte of the whole
 * message; a set is complete when every index 0..total-1 is present for one
 * (total, parity) pair and the joined message's bytes XOR to the parity. */
#include <stdlib.h>
#include <string.h>

#include "common/error_internal.h"
#include "semqr/qr.h"

typedef struct sa_part {
	int index, total, parity;
	uint8_t *payload;
	size_t len;
} sa_part;

struct semqr_sa_set {
	sa_part *parts;
	int count, cap;
};

semqr_sa_set *semqr_sa_set_create(void)
{
	return calloc(1, sizeof(semqr_sa_set));
}

void semqr_sa_set_free(semqr_sa_set *set)
{
	if (!set)
		return;
	for (int i = 0; i < set->count; i++)
		free(set->parts[i].payload);
	free(set->parts);
	free(set);
}

semqr_status semqr_sa_set_add(semqr_sa_set *set, const semqr_decoded *d, semqr_error *err)
{
	if (!d->structured_append)
		return SEMQR_OK;
	if (set->count == set->cap) {
		int cap = set->cap ? 2 * set->cap : 16;
		sa_part *p = realloc(set->parts, (size_t)cap * sizeof *p);
		if (!p)
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "structured append: out of memory");
		set->parts = p;
		set->cap = cap;
	}
	sa_part *p = &set->parts[set->count];
	p->payload = malloc(d->payload_len ? d->payload_len : 1);
	if (!p->payload)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "structured append: out of memory");
	memcpy(p->payload, d->payload, d->payload_len);
	p->len = d->payload_len;
	p->index = d->sa_index;
	p->total = d->sa_total;
	p->parity = d->sa_parity;
	set->count++;
	return SEMQR_OK;
}

static int same_bytes(const sa_part *a, const sa_part *b)
{
	return a->len == b->len && !memcmp(a->payload, b->payload, a->len);
}

/* Order by (total, parity, index) so that every candidate set is a run. */
static int by_set(const void *pa, const void *pb)
{
	const sa_part *a = pa, *b = pb;
	if (a->total != b->total)
		return a->total - b->total;
	if (a->parity != b->parity)
		return a->parity - b->parity;
	return a->index - b->index;
}

int semqr_sa_set_merge(semqr_sa_set *set, semqr_sa_message_fn cb, void *user)
{
	if (set->count > 1)
		qsort(set->parts, (size_t)set->count, sizeof *set->parts, by_set);
	int merged = 0;
	for (int start = 0, end; start < set->count; start = end) {
		const sa_part *first = &set->parts[start];
		for (end = start + 1; end < set->count && set->parts[end].total == first->total &&
		                      set->parts[end].parity == first->parity;
		     end++)
			;
		/* One part per index; the same index read twice (the same symbol seen
		 * twice) must agree byte for byte, else two sets share this header. */
		const sa_part *chosen[SEMQR_STRUCTURED_APPEND_MAX] = {0};
		int ok = first->total >= 1 && first->total <= SEMQR_STRUCTURED_APPEND_MAX;
		for (int i = start; ok && i < end; i++) {
			const sa_part *p = &set->parts[i];
			if (p->index < 0 || p->index >= p->total)
				ok = 0;
			else if (!chosen[p->index])
				chosen[p->index] = p;
			else if (!same_bytes(chosen[p->index], p))
				ok = 0;
		}
		size_t len = 0;
		uint8_t parity = 0;
		for (int k = 0; ok && k < first->total; k++) {
			if (!chosen[k]) {
				ok = 0;
				break;
			}
			len += chosen[k]->len;
			for (size_t b = 0; b < chosen[k]->len; b++)
				parity ^= chosen[k]->payload[b];
		}
		if (!ok || parity != first->parity)
			continue;
		uint8_t *message = malloc(len ? len : 1);
		if (!message)
			continue;
		size_t at = 0;
		for (int k = 0; k < first->total; k++) {
			memcpy(message + at, chosen[k]->payload, chosen[k]->len);
			at += chosen[k]->len;
		}
		cb(user, message, len, first->total, first->parity);
		free(message);
		merged++;
	}
	return merged;
}
