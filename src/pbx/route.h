/* Outbound routes (P4): which trunk a dialled number leaves by, and how
 * it is rewritten for the provider.
 *
 * A route is a pattern, a trunk, and a rewrite (remove `strip` leading
 * characters, then put `prepend` in front). Routes are tried in order and
 * the first whose pattern matches wins. Patterns are written against the
 * number as the phone sent it, in the style PBX administrators know:
 *
 *     0-9     that digit
 *     X       any digit 0-9
 *     Z       any digit 1-9
 *     N       any digit 2-9
 *     [1-5]   one digit of a set: digits and ranges, [135], [1-35-7]
 *     +       a literal '+', only as the first character
 *     .       at the end only: one or more further digits
 *     !       at the end only: zero or more further digits
 *
 * "0[1-9]XXXXXXXXX" is a UK national number of eleven digits, "00." any
 * number dialled with the international prefix, "+." any number sent in
 * E.164. A dialled string holds digits and at most a leading '+'; anything
 * else matches no route.
 *
 * Compiling is strict: whatever is not in the grammar, and a pattern that
 * can never match (an empty set, a backwards range, more characters than
 * a dialled number may have), is refused with the reason and its 1-based
 * position. Pure functions, no allocation except the table. */
#ifndef RF_PBX_ROUTE_H
#define RF_PBX_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The longest dialled string a route matches: twice an E.164 number
 * (15 digits) with a prefix or two in front, and what numplan accepts. */
#define ROUTE_DIALLED_MAX 32
/* strip removes at most this many characters (the schema's limit). */
#define ROUTE_STRIP_MAX 32
/* The longest number a route can produce, with its NUL. */
#define ROUTE_NUMBER_MAX (ROUTE_PREPEND_MAX + ROUTE_DIALLED_MAX + 1)
/* Routes in one dial plan: far more than any site writes, few enough
 * that trying each in turn stays a few microseconds per call. */
#define ROUTE_TABLE_MAX 1000

/* What may follow the fixed positions of a pattern. */
enum route_tail {
	ROUTE_TAIL_NONE = 0, /* nothing: the number ends there */
	ROUTE_TAIL_MORE,     /* '.': one or more further digits */
	ROUTE_TAIL_ANY,      /* '!': zero or more further digits */
};

/* Bits of a position's set: bit d for digit d, and this one for '+'. */
#define ROUTE_SET_PLUS (1u << 10)
#define ROUTE_SET_DIGITS 0x3ffu

struct route_pattern {
	uint16_t set[ROUTE_DIALLED_MAX]; /* what each fixed position accepts */
	unsigned n;                      /* fixed positions */
	enum route_tail tail;
};

/* Compile `len` bytes of `text`. Returns 0, or EINVAL with a one-line
 * reason naming the position in why ("unclosed '[' at 2"). */
int route_pattern_compile(struct route_pattern *p, const char *text, size_t len,
			  char *why, size_t whylen);

/* Whether `dialled` (len bytes, no NUL needed) matches. */
bool route_pattern_match(const struct route_pattern *p, const char *dialled, size_t len);

/* The length of the shortest string the pattern matches. */
unsigned route_pattern_min_len(const struct route_pattern *p);

/* Whether every string `b` matches is matched by `a` too: then a route
 * with pattern b placed after one with pattern a is never used. */
bool route_pattern_covers(const struct route_pattern *a, const struct route_pattern *b);

/* One compiled route. */
struct route_rule {
	unsigned pos;                        /* 1-based order in the table */
	struct route_pattern pattern;
	char text[ROUTE_PATTERN_MAX + 1];    /* the pattern as written */
	char trunk[TRUNK_NAME_MAX + 1];
	unsigned strip;
	char prepend[ROUTE_PREPEND_MAX + 1];
};

/* Check a rewrite against its pattern: prepend is a '+' and/or digits,
 * at most ROUTE_PREPEND_MAX; strip keeps within the shortest matching
 * number; the result is never empty and never has a '+' after its first
 * character. Returns 0 or EINVAL with the reason (naming strip or
 * prepend) in why. */
int route_rewrite_check(const struct route_pattern *p, unsigned strip, const char *prepend,
			char *why, size_t whylen);

/* Compile a stored route, checking pattern and rewrite. Returns 0 or
 * EINVAL with the reason in why. */
int route_rule_compile(struct route_rule *rule, const struct route_record *rec,
		       char *why, size_t whylen);

/* The number to send for `dialled`, which the rule's pattern matched:
 * strip, then prepend. Returns 0, EINVAL (no match) or ENAMETOOLONG. */
int route_rewrite(const struct route_rule *rule, const char *dialled, size_t len,
		  char *out, size_t outlen);

/* The ordered dial plan. */
struct route_table;

int route_table_alloc(struct route_table **tp);
void route_table_free(struct route_table *t);
/* Append a stored route (rules keep the order they are added in).
 * EINVAL with why for a route that does not compile, ENOSPC past
 * ROUTE_TABLE_MAX, ENOMEM. */
int route_table_add(struct route_table *t, const struct route_record *rec, char *why,
		    size_t whylen);
size_t route_table_count(const struct route_table *t);
const struct route_rule *route_table_rule(const struct route_table *t, size_t i);
/* The first rule matching `dialled`, with the number to send in out;
 * NULL when none matches (or the result would not fit out). */
const struct route_rule *route_table_lookup(const struct route_table *t, const char *dialled,
					    size_t len, char *out, size_t outlen);
/* Every stored route, in order. A row that does not compile (written by
 * hand) fails the load with its position in why: a dial plan with a hole
 * would send calls through a later, unintended route. */
int route_table_load(struct route_table **tp, struct store *s, char *why, size_t whylen);

#endif
