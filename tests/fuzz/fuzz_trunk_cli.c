/* libFuzzer harness for the argument parsers of the trunk, DID and route
 * commands (admin/cmd_trunk.h) and admin_parse_uint. The first byte
 * picks the parser, the rest is the argument. Beyond not crashing: a
 * refusal always says why, and what is accepted is what the store and
 * the SIP side expect (a canonical host parses again to itself, a DID is
 * normalised to '+' and digits). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "fraud/numplan.h"
#include "store/store.h"

static void check_host(const char *arg)
{
	char out[TRUNK_HOST_MAX + 1], again[TRUNK_HOST_MAX + 1], why[256] = "";

	if (trunk_cli_host_parse(arg, out, sizeof(out), why, sizeof(why)) != 0) {
		if (!why[0])
			__builtin_trap();
		return;
	}
	if (!out[0] || strlen(out) > TRUNK_HOST_MAX ||
	    strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789.-:") != strlen(out))
		__builtin_trap();
	if (trunk_cli_host_parse(out, again, sizeof(again), why, sizeof(why)) != 0 ||
	    strcmp(out, again) != 0)
		__builtin_trap();
}

static void check_number(const char *arg)
{
	static struct numplan *np;
	char out[NUM_E164_MAX + 1], why[256] = "";
	const char *err = NULL;
	size_t n;

	if (!np && numplan_alloc(&np, "GB", &err) != 0)
		__builtin_trap();
	if (did_cli_number_parse(np, arg, out, sizeof(out), why, sizeof(why)) != 0) {
		if (!why[0])
			__builtin_trap();
		return;
	}
	n = strlen(out);
	if (out[0] != '+' || n < 3 || n > 16 || strspn(out + 1, "0123456789") != n - 1)
		__builtin_trap();
}

static void check_simple(uint8_t which, const char *arg)
{
	char why[256] = "";
	unsigned v = 0;
	int err;

	switch (which % 5) {
	case 0: err = trunk_cli_name_check(arg, why, sizeof(why)); break;
	case 1: err = trunk_cli_username_check(arg, why, sizeof(why)); break;
	case 2: err = trunk_cli_password_check(arg, why, sizeof(why)); break;
	case 3: err = route_cli_dialled_check(arg, why, sizeof(why)); break;
	default:
		err = admin_parse_uint("--n", arg, 1, 65535, &v, why, sizeof(why));
		if (!err && (v < 1 || v > 65535))
			__builtin_trap();
		break;
	}
	if (err && !why[0])
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg[512];

	if (size < 1 || size > sizeof(arg))
		return 0;
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';
	if (data[0] % 7 == 5)
		check_host(arg);
	else if (data[0] % 7 == 6)
		check_number(arg);
	else
		check_simple(data[0], arg);
	return 0;
}
