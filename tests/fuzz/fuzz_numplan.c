/* libFuzzer harness for the numbering plan: what phones dial, what
 * administrators write as prefixes, and the table reader. The first octet
 * picks the target ('0' a dialled number, '1' a prefix, '2' a range table,
 * '3' a country-code table); the rest is its input.
 *
 * Beyond not crashing: a refusal says why and leaves no number behind; a
 * number that is accepted reads back as itself, so normalising is
 * idempotent and no two spellings of one number can drift apart. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fraud/numplan.h"
#include "fraud/numplan_table.h"

static struct numplan *plan(void)
{
	static struct numplan *np;
	const char *err;

	if (np == NULL && numplan_alloc(&np, "GB", &err) != 0)
		__builtin_trap();
	return np;
}

static void check_e164(const char *s)
{
	size_t n = strnlen(s, NUM_E164_MAX + 1);

	if (n < 2 || n > NUM_E164_MAX || s[0] != '+' || strspn(s + 1, "0123456789") != n - 1)
		__builtin_trap();
}

static void check_number(const struct numplan *np, const struct num_info *in)
{
	struct num_info again;
	char prefix[NUM_E164_MAX + 1];
	const char *why = NULL, *country;

	if (in->cls == NUM_INVALID || in->cls >= NUM__COUNT || in->e164[0] == '\0')
		__builtin_trap();
	if (numplan_classify(np, in->e164, strlen(in->e164), &again, &why) != 0 ||
	    strcmp(again.e164, in->e164) != 0 || again.cls != in->cls || again.cc != in->cc)
		__builtin_trap();
	if (in->e164[0] != '+')
		return;
	check_e164(in->e164);
	if (numplan_normalise_prefix(np, in->e164, strlen(in->e164), prefix, &why) != 0 ||
	    strcmp(prefix, in->e164) != 0)
		__builtin_trap();
	country = numplan_country_of(np, in->e164);
	if (strcmp(country ? country : "", in->country) != 0)
		__builtin_trap();
}

static void dialled(const uint8_t *data, size_t size)
{
	const struct numplan *np = plan();
	struct num_info in;
	const char *why = NULL;

	if (numplan_classify(np, (const char *)data, size, &in, &why) == 0)
		check_number(np, &in);
	else if (why == NULL || in.cls != NUM_INVALID || in.e164[0] != '\0')
		__builtin_trap();
}

static void prefix(const uint8_t *data, size_t size)
{
	const struct numplan *np = plan();
	char out[NUM_E164_MAX + 1], again[NUM_E164_MAX + 1];
	const char *why = NULL;

	if (numplan_normalise_prefix(np, (const char *)data, size, out, &why) != 0) {
		if (why == NULL || out[0] != '\0')
			__builtin_trap();
		return;
	}
	check_e164(out);
	if (numplan_normalise_prefix(np, out, strlen(out), again, &why) != 0 ||
	    strcmp(out, again) != 0)
		__builtin_trap();
}

/* A table that loads must give a working plan. */
static void table(const uint8_t *data, size_t size, bool ranges)
{
	static const char codes[] = "cc,area,iso2,name\n44,,GB,United Kingdom\n1,,US,USA\n";
	static const char gb[] = "prefix,class,min_nsn_len,max_nsn_len,comment\n"
				 "999,emergency,3,3,x\n01,geographic,9,10,x\n";
	struct numplan *np = NULL;
	struct num_info in;
	const char *err = NULL, *why;
	const char *text = (const char *)data;
	int e = ranges ? numplan_alloc_text(&np, "GB", text, size, codes, strlen(codes), &err)
		       : numplan_alloc_text(&np, "GB", gb, strlen(gb), text, size, &err);

	if (e != 0) {
		if (np != NULL || err == NULL)
			__builtin_trap();
		return;
	}
	if (numplan_classify(np, "+441632960000", 13, &in, &why) == 0)
		check_number(np, &in);
	if (numplan_classify(np, "999", 3, &in, &why) == 0)
		check_number(np, &in);
	numplan_free(np);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		dialled(data + 1, size - 1);
		break;
	case 1:
		prefix(data + 1, size - 1);
		break;
	default:
		table(data + 1, size - 1, data[0] % 4 == 2);
		break;
	}
	return 0;
}
