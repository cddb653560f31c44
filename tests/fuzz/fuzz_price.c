/* libFuzzer harness for the rating parsers: a price as `rates import`
 * reads it, written back and read again, the cost of a call at whatever
 * price, and the prefix table built from the input's lines and looked up
 * with each of them. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fraud/prefix.h"
#include "fraud/rating.h"

#define MAX_KEYS 64

static void check_price(const uint8_t *data, size_t size)
{
	char text[RATE_PRICE_BUF];
	const char *why = NULL;
	int64_t micro = -1, again = -1;

	if (rating_parse_price((const char *)data, size, &micro, &why) != 0) {
		if (!why || micro != -1)
			__builtin_trap();
		return;
	}
	if (micro < 0 || micro > RATE_PRICE_MAX)
		__builtin_trap();
	rating_format_price(micro, text, sizeof(text));
	if (rating_parse_price(text, strlen(text), &again, &why) != 0 || again != micro)
		__builtin_trap();
}

static void check_cost(const uint8_t *data, size_t size)
{
	struct rate_record r = { .per_minute = 0 };
	uint32_t seconds = 0;
	int64_t c;

	if (size < 20)
		return;
	memcpy(&r.per_minute, data, 8);
	memcpy(&r.connection, data + 8, 8);
	memcpy(&seconds, data + 16, 4);
	c = rating_cost(&r, seconds);
	if (c < 0 || (r.connection > 0 && c < r.connection))
		__builtin_trap();
	/* At most one micro-unit above the exact share, never below it. */
	if (r.per_minute > 0 && r.per_minute <= RATE_PRICE_MAX && r.connection == 0 &&
	    seconds < 86400 * 366) {
		__int128 exact = (__int128)r.per_minute * seconds;

		if ((__int128)c * 60 < exact || (__int128)(c - 1) * 60 >= exact)
			__builtin_trap();
	}
}

/* The length of the longest valid key that number starts with, 0 if none. */
static size_t longest(char *const *keys, size_t n, const char *number)
{
	size_t best = 0;

	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(keys[k]);

		if (prefix_valid(keys[k]) && len > best && strncmp(number, keys[k], len) == 0)
			best = len;
	}
	return best;
}

/* Every line a key. Then each key, and each key with more digits after
 * it, is a number to look up: the match must be the longest key that the
 * number starts with, and a number without its '+' matches nothing. */
static void check_table(const uint8_t *data, size_t size)
{
	char buf[4096], *keys[MAX_KEYS], *line, *nl, number[24];
	struct prefix_table *t = NULL;
	size_t n = 0, best;
	uint32_t v;

	if (size >= sizeof(buf))
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = buf; n < MAX_KEYS; line = nl + 1) {
		nl = strchr(line, '\n');
		keys[n++] = line;
		if (!nl)
			break;
		*nl = '\0';
	}
	if (n == 0 || prefix_table_alloc(&t, n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int err = prefix_table_add(t, keys[i], (uint32_t)i, &v);

		if (err == 0 ? !prefix_valid(keys[i]) :
		    err == EEXIST ? strcmp(keys[v], keys[i]) != 0 :
		    err != EINVAL || prefix_valid(keys[i]))
			__builtin_trap();
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i][0] != '+' && prefix_table_find(t, keys[i], &v))
			__builtin_trap();
		if (!prefix_valid(keys[i]))
			continue;
		/* A number is at most 15 digits: only those are read. */
		snprintf(number, 1 + PREFIX_DIGITS_MAX + 1, "%s9876543210", keys[i]);
		best = longest(keys, n, number);
		if (prefix_table_find(t, number, &v) != (best > 0))
			__builtin_trap();
		if (best && strlen(keys[v]) != best)
			__builtin_trap();
	}
	prefix_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_price(data, size);
	check_cost(data, size);
	check_table(data, size);
	return 0;
}
