/* libFuzzer harness for outbound route patterns (pbx/route.h). The input
 * is "PATTERN\nDIALLED": the pattern is compiled and, when it compiles,
 * the dialled string is matched and rewritten. Beyond not crashing, it
 * checks what the grammar promises: a refusal always says why; a
 * compiled pattern matches its own shortest number, covers itself, and
 * the rewrite of a match is exactly prepend + the dialled number less
 * its first `strip` characters. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pbx/route.h"

/* The smallest digit (or the '+') of each position, then one more digit
 * for a '.' tail: the shortest number the pattern matches. */
static size_t shortest_number(const struct route_pattern *p, char *out)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		uint16_t set = p->set[i];

		if (set & ROUTE_SET_PLUS) {
			out[i] = '+';
			continue;
		}
		out[i] = '0';
		while (!(set & 1u)) {
			set >>= 1;
			out[i]++;
		}
	}
	if (p->tail == ROUTE_TAIL_MORE)
		out[i++] = '7';
	return i;
}

static void check_rewrite(const struct route_rule *rule, const char *dialled, size_t len)
{
	char out[ROUTE_NUMBER_MAX];
	size_t pre = strlen(rule->prepend);

	if (route_rewrite(rule, dialled, len, out, sizeof(out)) != 0)
		__builtin_trap();
	if (strlen(out) != pre + len - rule->strip || memcmp(out, rule->prepend, pre) != 0 ||
	    memcmp(out + pre, dialled + rule->strip, len - rule->strip) != 0 || !out[0] ||
	    strchr(out + 1, '+'))
		__builtin_trap();
}

static void check_compiled(const struct route_pattern *p, const uint8_t *text, size_t tlen,
			   const char *dialled, size_t dlen)
{
	struct route_record rec;
	struct route_rule rule;
	char shortest[ROUTE_DIALLED_MAX + 1], why[256];
	size_t n = shortest_number(p, shortest);

	if (!route_pattern_match(p, shortest, n) || !route_pattern_covers(p, p))
		__builtin_trap();
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.pattern, text, tlen);
	memcpy(rec.trunk, "t", 2);
	/* A rewrite taken from the dialled string's own bytes. */
	rec.strip = dlen ? (unsigned)(uint8_t)dialled[0] % 4 : 0;
	if (dlen > 1 && dialled[1] >= '0' && dialled[1] <= '9')
		rec.prepend[0] = dialled[1];
	if (route_rule_compile(&rule, &rec, why, sizeof(why)) != 0) {
		if (!why[0])
			__builtin_trap();
		return;
	}
	if (route_pattern_match(p, dialled, dlen))
		check_rewrite(&rule, dialled, dlen);
	if (route_pattern_match(p, shortest, n))
		check_rewrite(&rule, shortest, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tlen = nl ? (size_t)(nl - data) : size;
	const char *dialled = nl ? (const char *)nl + 1 : "";
	size_t dlen = nl ? size - tlen - 1 : 0;
	struct route_pattern p;
	char why[256] = "";

	if (route_pattern_compile(&p, (const char *)data, tlen, why, sizeof(why)) != 0) {
		if (!why[0] || p.n != 0)
			__builtin_trap();
		return 0;
	}
	if (tlen > ROUTE_PATTERN_MAX || p.n > ROUTE_DIALLED_MAX)
		__builtin_trap();
	check_compiled(&p, data, tlen, dialled, dlen);
	return 0;
}
