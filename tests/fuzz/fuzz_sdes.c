/* libFuzzer harness for the SDES key parser (a=crypto, RFC 4568) that
 * every SRTP offer and answer from a phone goes through. Input: the suite
 * name, one space, the key-params. A key that parses must survive the
 * round trip through the line Ringfence writes towards a phone. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "media/srtp.h"

static void check_round_trip(const struct relay_crypto *key)
{
	char line[MEDIA_SRTP_LINE_MAX];
	struct relay_crypto again;
	const char *why = NULL, *suite, *params;
	size_t n = media_srtp_crypto_line(key, 7, line, sizeof(line));

	/* "a=crypto:7 SUITE inline:..." */
	if (n == 0 || n >= sizeof(line) || strncmp(line, "a=crypto:7 ", 11) != 0)
		__builtin_trap();
	suite = line + 11;
	params = strchr(suite, ' ');
	if (!params)
		__builtin_trap();
	if (media_srtp_parse_sdes(&again, suite, (size_t)(params - suite), params + 1,
				  strlen(params + 1), &why) != 0)
		__builtin_trap();
	if (again.suite != key->suite || again.key_len != key->key_len ||
	    memcmp(again.key_salt, key->key_salt, key->key_len) != 0 ||
	    again.mki_len != key->mki_len || (key->mki_len && again.mki != key->mki))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *space = memchr(data, ' ', size);
	struct relay_crypto key;
	const char *why = NULL;
	size_t suite_len;

	if (!space)
		return 0;
	suite_len = (size_t)(space - data);
	if (media_srtp_parse_sdes(&key, (const char *)data, suite_len, (const char *)space + 1,
				  size - suite_len - 1, &why) != 0) {
		/* A refusal always says why, in a static sentence. */
		if (!why || !why[0])
			__builtin_trap();
		return 0;
	}
	check_round_trip(&key);
	media_srtp_wipe(&key);
	return 0;
}
