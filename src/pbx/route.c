/* Outbound route patterns and the ordered dial plan (see route.h for the
 * grammar). A compiled pattern is one digit set per fixed position and a
 * tail, so matching is a single pass with no backtracking, and whether
 * one pattern covers another can be decided exactly. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "pbx/route.h"

/* ---- compiling ---- */

struct compiler {
	const char *text;
	size_t len;
	struct route_pattern *p;
	unsigned needed;  /* positions the pattern asks for, even past the array */
	char *why;
	size_t whylen;
};

static int fail(struct compiler *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct compiler *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static void add_position(struct compiler *c, uint16_t set)
{
	if (c->needed < ROUTE_DIALLED_MAX)
		c->p->set[c->needed] = set;
	c->needed++;
}

/* The digit sets of the letters: X any digit, Z 1-9, N 2-9. */
static uint16_t letter_set(char ch)
{
	switch (ch) {
	case 'X': return ROUTE_SET_DIGITS;
	case 'Z': return ROUTE_SET_DIGITS & ~1u;
	case 'N': return ROUTE_SET_DIGITS & ~3u;
	default: return 0;
	}
}

static int set_junk(struct compiler *c, size_t i)
{
	char ch[16];

	if (c->text[i] == '-')
		return fail(c, "'-' at %zu needs a digit on each side, as in [1-5]", i + 1);
	if (c->text[i] == '[')
		return fail(c, "'[' at %zu inside another set: sets do not nest", i + 1);
	return fail(c, "%s at %zu in a set: a set holds digits and ranges, such as "
		    "[135] or [1-5]", log_char_name((unsigned char)c->text[i], ch, sizeof(ch)), i + 1);
}

/* One digit or range inside [...] starting at i; *next is where the
 * next item starts. `end` is the index of the closing ']'. */
static int set_item(struct compiler *c, size_t i, size_t end, uint16_t *mask, size_t *next)
{
	char lo = c->text[i], hi;

	if (!is_digit(lo))
		return set_junk(c, i);
	if (i + 1 == end || c->text[i + 1] != '-') {
		*mask |= (uint16_t)(1u << (lo - '0'));
		*next = i + 1;
		return 0;
	}
	if (i + 2 == end || !is_digit(c->text[i + 2]))
		return i + 2 == end ? set_junk(c, i + 1) : set_junk(c, i + 2);
	hi = c->text[i + 2];
	if (hi < lo)
		return fail(c, "backwards range '%c-%c' at %zu matches no digit: write '%c-%c'",
			    lo, hi, i + 1, hi, lo);
	for (char d = lo; d <= hi; d++)
		*mask |= (uint16_t)(1u << (d - '0'));
	*next = i + 3;
	return 0;
}

/* A set "[...]" whose '[' is at `open`; *close receives the index of its
 * ']'. The closing bracket is looked for first, so "0[1-9XX" is reported
 * as the unclosed set it is, not as a stray X. */
static int parse_set(struct compiler *c, size_t open, size_t *close)
{
	const char *end = memchr(c->text + open + 1, ']', c->len - open - 1);
	uint16_t mask = 0;
	size_t i, stop;
	int err;

	if (!end)
		return fail(c, "unclosed '[' at %zu", open + 1);
	stop = (size_t)(end - c->text);
	if (stop == open + 1)
		return fail(c, "empty set '[]' at %zu matches no digit", open + 1);
	for (i = open + 1; i < stop;)
		if ((err = set_item(c, i, stop, &mask, &i)))
			return err;
	add_position(c, mask);
	*close = stop;
	return 0;
}

static int parse_tail(struct compiler *c, size_t i)
{
	char ch = c->text[i];

	if (i + 1 != c->len)
		return fail(c, "'%c' at %zu must be the last character: it stands for %s", ch,
			    i + 1, ch == '.' ? "one or more further digits"
					     : "zero or more further digits");
	c->p->tail = ch == '.' ? ROUTE_TAIL_MORE : ROUTE_TAIL_ANY;
	return 0;
}

static int parse_other(struct compiler *c, size_t i)
{
	char ch = c->text[i], shown[16];

	if (ch == 'x' || ch == 'z' || ch == 'n')
		return fail(c, "'%c' at %zu: write it in capitals, '%c'", ch, i + 1, ch - 'a' + 'A');
	if (ch == '+')
		return fail(c, "'+' at %zu: a '+' may only be the first character", i + 1);
	if (ch == ']')
		return fail(c, "']' at %zu without an opening '['", i + 1);
	if (ch == '_' && i == 0)
		return fail(c, "'_' at 1: leave it out; every route is a pattern, so no "
			    "leading '_' is needed");
	return fail(c, "%s at %zu is not part of a pattern: use digits, X, Z, N, sets such "
		    "as [1-5], a leading '+' and a final '.' or '!'",
		    log_char_name((unsigned char)ch, shown, sizeof(shown)), i + 1);
}

/* One element at i; *i moves past it. */
static int parse_element(struct compiler *c, size_t *i)
{
	char ch = c->text[*i];
	int err = 0;

	if (is_digit(ch))
		add_position(c, (uint16_t)(1u << (ch - '0')));
	else if (letter_set(ch))
		add_position(c, letter_set(ch));
	else if (ch == '+' && *i == 0)
		add_position(c, ROUTE_SET_PLUS);
	else if (ch == '[')
		err = parse_set(c, *i, i);
	else if (ch == '.' || ch == '!')
		err = parse_tail(c, *i);
	else
		err = parse_other(c, *i);
	(*i)++;
	return err;
}

static unsigned digit_positions(const struct route_pattern *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->n; i++)
		n += (p->set[i] & ROUTE_SET_DIGITS) != 0;
	return n;
}

/* What the whole pattern must satisfy once every element parsed. */
static int check_whole(struct compiler *c)
{
	struct route_pattern *p = c->p;

	if (c->needed + (p->tail == ROUTE_TAIL_MORE) > ROUTE_DIALLED_MAX)
		return fail(c, "the pattern needs at least %u characters, but a dialled "
			    "number has at most %d: it can never match",
			    c->needed + (p->tail == ROUTE_TAIL_MORE), ROUTE_DIALLED_MAX);
	p->n = c->needed;
	if (digit_positions(p) == 0 && p->tail != ROUTE_TAIL_MORE)
		return fail(c, "the pattern matches no digit: give at least one digit, X, Z, "
			    "N, set or a final '.'");
	return 0;
}

int route_pattern_compile(struct route_pattern *p, const char *text, size_t len,
			  char *why, size_t whylen)
{
	struct compiler c = { text, len, p, 0, why, whylen };
	size_t i = 0;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (len == 0)
		return fail(&c, "the pattern is empty");
	if (len > ROUTE_PATTERN_MAX)
		return fail(&c, "the pattern is longer than %d characters", ROUTE_PATTERN_MAX);
	if (memchr(text, '\0', len))
		return fail(&c, "the pattern holds a NUL byte");
	while (!err && i < len)
		err = parse_element(&c, &i);
	if (!err)
		err = check_whole(&c);
	if (err)
		memset(p, 0, sizeof(*p));
	return err;
}

/* ---- matching ---- */

static uint16_t char_bit(char ch)
{
	if (is_digit(ch))
		return (uint16_t)(1u << (ch - '0'));
	return ch == '+' ? ROUTE_SET_PLUS : 0;
}

bool route_pattern_match(const struct route_pattern *p, const char *dialled, size_t len)
{
	size_t i;

	if (len > ROUTE_DIALLED_MAX || len < p->n)
		return false;
	for (i = 0; i < p->n; i++)
		if (!(p->set[i] & char_bit(dialled[i])))
			return false;
	for (; i < len; i++)
		if (!(char_bit(dialled[i]) & ROUTE_SET_DIGITS))
			return false;
	switch (p->tail) {
	case ROUTE_TAIL_NONE: return len == p->n;
	case ROUTE_TAIL_MORE: return len > p->n;
	case ROUTE_TAIL_ANY: return true;
	}
	return false;
}

unsigned route_pattern_min_len(const struct route_pattern *p)
{
	return p->n + (p->tail == ROUTE_TAIL_MORE);
}

/* Every length b matches is one a matches. */
static bool lengths_covered(const struct route_pattern *a, const struct route_pattern *b)
{
	unsigned bmin = route_pattern_min_len(b);

	switch (a->tail) {
	case ROUTE_TAIL_NONE: return b->tail == ROUTE_TAIL_NONE && b->n == a->n;
	case ROUTE_TAIL_MORE: return bmin >= a->n + 1;
	case ROUTE_TAIL_ANY: return bmin >= a->n;
	}
	return false;
}

bool route_pattern_covers(const struct route_pattern *a, const struct route_pattern *b)
{
	unsigned i, most = a->n > b->n ? a->n : b->n;
	uint16_t aset, bset;

	if (!lengths_covered(a, b))
		return false;
	/* Both languages are products of per-position sets, so b is inside a
	 * exactly when each of b's sets is inside a's at that position. */
	for (i = 0; i < most; i++) {
		bset = i < b->n ? b->set[i] : ROUTE_SET_DIGITS;
		aset = i < a->n ? a->set[i] : ROUTE_SET_DIGITS;
		if (bset & ~aset)
			return false;
	}
	return true;
}

/* ---- rewriting ---- */

static int prepend_check(const char *prepend, char *why, size_t whylen)
{
	size_t i, n = strnlen(prepend, ROUTE_PREPEND_MAX + 1);
	char ch[16];

	if (n > ROUTE_PREPEND_MAX) {
		snprintf(why, whylen, "prepend is longer than %d characters", ROUTE_PREPEND_MAX);
		return EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (is_digit(prepend[i]) || (i == 0 && prepend[i] == '+'))
			continue;
		snprintf(why, whylen, "prepend: %s at %zu is not a digit (a '+' may only "
			 "come first)", log_char_name((unsigned char)prepend[i], ch, sizeof(ch)),
			 i + 1);
		return EINVAL;
	}
	return 0;
}

int route_rewrite_check(const struct route_pattern *p, unsigned strip, const char *prepend,
			char *why, size_t whylen)
{
	unsigned shortest = route_pattern_min_len(p);
	int err = prepend_check(prepend, why, whylen);

	if (err)
		return err;
	if (strip > shortest) {
		snprintf(why, whylen, "strip %u removes more than the %u characters of the "
			 "shortest number the pattern matches", strip, shortest);
		return EINVAL;
	}
	if (strip == shortest && !prepend[0]) {
		snprintf(why, whylen, "strip %u with no prepend leaves nothing to send for the "
			 "shortest number the pattern matches", strip);
		return EINVAL;
	}
	if (p->n && p->set[0] == ROUTE_SET_PLUS && strip == 0 && prepend[0]) {
		snprintf(why, whylen, "prepend '%s' would stand before the number's '+': strip "
			 "the '+' too (strip 1 or more)", prepend);
		return EINVAL;
	}
	return 0;
}

int route_rule_compile(struct route_rule *rule, const struct route_record *rec,
		       char *why, size_t whylen)
{
	size_t n = strnlen(rec->pattern, sizeof(rec->pattern));
	int err;

	memset(rule, 0, sizeof(*rule));
	if (n == sizeof(rec->pattern)) {
		snprintf(why, whylen, "the pattern is longer than %d characters", ROUTE_PATTERN_MAX);
		return EINVAL;
	}
	if (rec->strip > ROUTE_STRIP_MAX) {
		snprintf(why, whylen, "strip %u is more than %d", rec->strip, ROUTE_STRIP_MAX);
		return EINVAL;
	}
	err = route_pattern_compile(&rule->pattern, rec->pattern, n, why, whylen);
	if (!err)
		err = route_rewrite_check(&rule->pattern, rec->strip, rec->prepend, why, whylen);
	if (err)
		return err;
	rule->pos = rec->pos;
	rule->strip = rec->strip;
	memcpy(rule->text, rec->pattern, n + 1);
	snprintf(rule->trunk, sizeof(rule->trunk), "%s", rec->trunk);
	snprintf(rule->prepend, sizeof(rule->prepend), "%s", rec->prepend);
	return 0;
}

int route_rewrite(const struct route_rule *rule, const char *dialled, size_t len,
		  char *out, size_t outlen)
{
	size_t pre = strlen(rule->prepend);

	if (!route_pattern_match(&rule->pattern, dialled, len) || rule->strip > len)
		return EINVAL;
	if (pre + (len - rule->strip) + 1 > outlen)
		return ENAMETOOLONG;
	memcpy(out, rule->prepend, pre);
	memcpy(out + pre, dialled + rule->strip, len - rule->strip);
	out[pre + len - rule->strip] = '\0';
	return 0;
}

/* ---- the table ---- */

struct route_table {
	struct route_rule *rules; /* owned; in evaluation order */
	size_t n, cap;
};

int route_table_alloc(struct route_table **tp)
{
	struct route_table *t = calloc(1, sizeof(*t));
	int err = 0;

	if (!t) {
		err = ENOMEM;
		goto out;
	}
	*tp = t;
out:
	return err;
}

void route_table_free(struct route_table *t)
{
	if (!t)
		return;
	free(t->rules);
	free(t);
}

static int table_grow(struct route_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 8;
	struct route_rule *rules;

	if (cap > ROUTE_TABLE_MAX)
		cap = ROUTE_TABLE_MAX;
	rules = realloc(t->rules, cap * sizeof(*rules));
	if (!rules)
		return ENOMEM;
	t->rules = rules;
	t->cap = cap;
	return 0;
}

int route_table_add(struct route_table *t, const struct route_record *rec, char *why,
		    size_t whylen)
{
	int err;

	if (t->n >= ROUTE_TABLE_MAX) {
		snprintf(why, whylen, "more than %d routes", ROUTE_TABLE_MAX);
		return ENOSPC;
	}
	if (t->n == t->cap && (err = table_grow(t)))
		return err;
	err = route_rule_compile(&t->rules[t->n], rec, why, whylen);
	if (err)
		return err;
	if (!t->rules[t->n].pos)
		t->rules[t->n].pos = (unsigned)t->n + 1;
	t->n++;
	return 0;
}

size_t route_table_count(const struct route_table *t)
{
	return t->n;
}

const struct route_rule *route_table_rule(const struct route_table *t, size_t i)
{
	return i < t->n ? &t->rules[i] : NULL;
}

const struct route_rule *route_table_lookup(const struct route_table *t, const char *dialled,
					    size_t len, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (!route_pattern_match(&t->rules[i].pattern, dialled, len))
			continue;
		/* First match wins even when its number does not fit: falling
		 * through to a later route would send the call elsewhere. */
		if (route_rewrite(&t->rules[i], dialled, len, out, outlen) != 0)
			return NULL;
		return &t->rules[i];
	}
	return NULL;
}

struct table_load {
	struct route_table *t;
	char *why;
	size_t whylen;
};

static int load_one(const struct route_record *rec, void *arg)
{
	struct table_load *l = arg;
	char reason[192];
	int err = route_table_add(l->t, rec, reason, sizeof(reason));

	if (err)
		snprintf(l->why, l->whylen, "route %u (%.*s): %s", rec->pos, ROUTE_PATTERN_MAX,
			 rec->pattern, reason);
	return err;
}

int route_table_load(struct route_table **tp, struct store *s, char *why, size_t whylen)
{
	struct table_load l = { NULL, why, whylen };
	int err;

	err = route_table_alloc(&l.t);
	if (err)
		return err;
	snprintf(why, whylen, "cannot read the routes");
	err = store_route_foreach(s, load_one, &l);
	if (err) {
		route_table_free(l.t);
		return err;
	}
	why[0] = '\0';
	*tp = l.t;
	return 0;
}
