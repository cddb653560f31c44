/* A longest-prefix table over E.164 numbers, for blacklists (S12) and the
 * rate table (S13): which listed prefix is the longest one a dialled
 * number starts with.
 *
 * Keys are E.164 prefixes with their '+' ("+44909", "+9725"): 1 to 15
 * digits. Each maps to a value, the caller's index into its own array of
 * records. A table is filled once (prefix_table_add) and then only read;
 * lookups never write, so one table may be read from several threads.
 *
 * Lookup is an open-addressing hash probe per prefix length that the table
 * holds, longest first: at most 15 probes, usually one or two, whatever
 * the table's size, with no allocation.
 *
 * Memory is fixed when the table is made: a slot is 12 bytes (a packed key
 * and a value) and there are at least twice as many slots as `capacity`,
 * rounded up to a power of two, so 100,000 entries take 3 MiB and the
 * largest table (PREFIX_TABLE_MAX) 24 MiB. */
#ifndef RF_FRAUD_PREFIX_H
#define RF_FRAUD_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Digits after the '+' of an E.164 number (ITU-T E.164: at most 15). */
#define PREFIX_DIGITS_MAX 15
/* Entries one table may be made for: above the largest list the store
 * keeps (RF_MAX_RATES), so a table never runs out first. */
#define PREFIX_TABLE_MAX (1u << 20)

/* Whether s is an E.164 prefix: '+' and 1 to 15 digits, nothing else. */
bool prefix_valid(const char *s);

struct prefix_table;

/* A table for up to `capacity` entries (1..PREFIX_TABLE_MAX). Returns 0,
 * EINVAL for a capacity out of range, or ENOMEM. */
int prefix_table_alloc(struct prefix_table **tp, size_t capacity);
void prefix_table_free(struct prefix_table *t);

/* Add `prefix` with `value`. Returns 0; EINVAL when prefix is not an E.164
 * prefix; ENOSPC when the table holds `capacity` entries already; EEXIST
 * when the prefix is in the table, with its value in *existing (when not
 * NULL) and the table unchanged. */
int prefix_table_add(struct prefix_table *t, const char *prefix, uint32_t value,
		     uint32_t *existing);

/* The value of the longest prefix in the table that `number` starts with.
 * number is E.164 with its '+'; what follows its fifteenth digit is not
 * read, and anything else (no '+', a non-digit, a short code such as
 * "999") matches nothing. Returns false when nothing matches. */
bool prefix_table_find(const struct prefix_table *t, const char *number,
		       uint32_t *value);

/* Entries added so far. */
size_t prefix_table_count(const struct prefix_table *t);

/* Records collected for a table (the loaders' rows from the store): a
 * growable array of `size`-byte records, at most `max` of them. Fill in
 * size and max, zero the rest. */
struct prefix_list {
	void *recs;
	size_t n, cap;
	size_t size, max;
};

/* Append a copy of rec. Returns 0, ENOMEM, or E2BIG when the list holds
 * `max` records already. */
int prefix_list_push(struct prefix_list *l, const void *rec);
/* A table over the list: record i, whose prefix is the string at
 * `prefix_offset` inside it, has value i. Returns 0, ENOMEM, EINVAL for a
 * record whose prefix is not E.164, or EEXIST for a prefix listed twice. */
int prefix_list_index(const struct prefix_list *l, size_t prefix_offset,
		      struct prefix_table **tp);
/* Record i of the list. */
const void *prefix_list_at(const struct prefix_list *l, size_t i);
void prefix_list_free(struct prefix_list *l);

/* What a loader builds: the records and the table over them. */
struct prefix_set {
	struct prefix_list rows;
	struct prefix_table *table;  /* value: index into rows */
	size_t skipped;              /* rows the loader left out */
};

/* Index the rows collected (see prefix_list_index). */
int prefix_set_index(struct prefix_set *set, size_t prefix_offset);
/* The record of the longest prefix of number, or NULL. */
const void *prefix_set_find(const struct prefix_set *set, const char *number);
void prefix_set_free(struct prefix_set *set);

#endif
