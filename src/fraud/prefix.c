/* The longest-prefix table: an open-addressing hash of packed keys.
 *
 * A prefix of n digits packs into one 64-bit key, n in the top byte and the
 * digits as a number below (15 digits are less than 2^50), so "+44" and
 * "+044" can never meet, and 0 is never a key: it marks an empty slot.
 * Keys and values sit in two arrays, so a probe walks keys only. A lookup
 * builds the packed key of each prefix of the number as it reads its
 * digits, then probes from the longest length the table holds down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fraud/prefix.h"

struct prefix_table {
	uint64_t *keys;       /* 0: empty slot */
	uint32_t *values;
	size_t mask;          /* slots - 1; slots is a power of two */
	size_t count, capacity;
	uint16_t lengths;     /* bit n: some key has n digits */
};

/* Fibonacci hashing: the multiply spreads keys that differ only in their
 * last digits, which is most of a rate table. */
static size_t slot_of(const struct prefix_table *t, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
}

static uint64_t pack(unsigned ndigits, uint64_t digits)
{
	return (uint64_t)ndigits << 56 | digits;
}

bool prefix_valid(const char *s)
{
	size_t n = 0;

	if (!s || s[0] != '+')
		return false;
	for (s++; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n == PREFIX_DIGITS_MAX)
			return false;
	}
	return n > 0;
}

int prefix_table_alloc(struct prefix_table **tp, size_t capacity)
{
	struct prefix_table *t = NULL;
	size_t slots = 2;
	int err = ENOMEM;

	if (capacity == 0 || capacity > PREFIX_TABLE_MAX)
		return EINVAL;
	/* At most half full: probes stay short even for clustered keys. */
	while (slots < 2 * capacity)
		slots *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->keys = calloc(slots, sizeof(*t->keys));
	t->values = calloc(slots, sizeof(*t->values));
	if (!t->keys || !t->values)
		goto out;
	t->mask = slots - 1;
	t->capacity = capacity;
	err = 0;
out:
	if (err)
		prefix_table_free(t);
	else
		*tp = t;
	return err;
}

void prefix_table_free(struct prefix_table *t)
{
	if (!t)
		return;
	free(t->keys);
	free(t->values);
	free(t);
}

/* The slot holding key, or the empty slot where it belongs. */
static size_t probe(const struct prefix_table *t, uint64_t key)
{
	size_t i = slot_of(t, key);

	while (t->keys[i] && t->keys[i] != key)
		i = (i + 1) & t->mask;
	return i;
}

int prefix_table_add(struct prefix_table *t, const char *prefix, uint32_t value,
		     uint32_t *existing)
{
	uint64_t digits = 0, key;
	unsigned n = 0;
	size_t i;

	if (!prefix_valid(prefix))
		return EINVAL;
	for (const char *p = prefix + 1; *p; p++, n++)
		digits = digits * 10 + (uint64_t)(*p - '0');
	key = pack(n, digits);
	i = probe(t, key);
	if (t->keys[i]) {
		if (existing)
			*existing = t->values[i];
		return EEXIST;
	}
	if (t->count == t->capacity)
		return ENOSPC;
	t->keys[i] = key;
	t->values[i] = value;
	t->lengths |= (uint16_t)(1u << n);
	t->count++;
	return 0;
}

bool prefix_table_find(const struct prefix_table *t, const char *number,
		       uint32_t *value)
{
	uint64_t keys[PREFIX_DIGITS_MAX + 1];
	uint64_t digits = 0;
	unsigned n = 0;
	size_t i;

	if (!number || number[0] != '+')
		return false;
	for (const char *p = number + 1; *p && n < PREFIX_DIGITS_MAX; p++) {
		if (*p < '0' || *p > '9')
			return false;
		digits = digits * 10 + (uint64_t)(*p - '0');
		n++;
		keys[n] = pack(n, digits);
	}
	for (; n > 0; n--) {
		if (!(t->lengths & (1u << n)))
			continue;
		i = probe(t, keys[n]);
		if (t->keys[i]) {
			*value = t->values[i];
			return true;
		}
	}
	return false;
}

size_t prefix_table_count(const struct prefix_table *t)
{
	return t->count;
}

/* ---- collecting records ---- */

int prefix_list_push(struct prefix_list *l, const void *rec)
{
	if (l->n == l->max)
		return E2BIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p;

		if (cap > l->max)
			cap = l->max;
		p = realloc(l->recs, cap * l->size);
		if (!p)
			return ENOMEM;
		l->recs = p;
		l->cap = cap;
	}
	memcpy((char *)l->recs + l->n * l->size, rec, l->size);
	l->n++;
	return 0;
}

const void *prefix_list_at(const struct prefix_list *l, size_t i)
{
	return (const char *)l->recs + i * l->size;
}

int prefix_list_index(const struct prefix_list *l, size_t prefix_offset,
		      struct prefix_table **tp)
{
	struct prefix_table *t;
	int err;

	/* An empty list still gets a table: lookups then simply miss. */
	err = prefix_table_alloc(&t, l->n ? l->n : 1);
	if (err)
		return err;
	for (size_t i = 0; i < l->n; i++) {
		const char *prefix = (const char *)prefix_list_at(l, i) + prefix_offset;

		err = prefix_table_add(t, prefix, (uint32_t)i, NULL);
		if (err) {
			prefix_table_free(t);
			return err;
		}
	}
	*tp = t;
	return 0;
}

void prefix_list_free(struct prefix_list *l)
{
	free(l->recs);
	l->recs = NULL;
	l->n = l->cap = 0;
}

/* ---- sets ---- */

int prefix_set_index(struct prefix_set *set, size_t prefix_offset)
{
	return prefix_list_index(&set->rows, prefix_offset, &set->table);
}

const void *prefix_set_find(const struct prefix_set *set, const char *number)
{
	uint32_t i;

	if (!prefix_table_find(set->table, number, &i))
		return NULL;
	return prefix_list_at(&set->rows, i);
}

void prefix_set_free(struct prefix_set *set)
{
	prefix_table_free(set->table);
	set->table = NULL;
	prefix_list_free(&set->rows);
}
