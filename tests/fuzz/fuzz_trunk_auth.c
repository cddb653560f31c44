/* libFuzzer harness for the digest client (pbx/trunk_auth.h): the input
 * is a provider's response. When a challenge is picked, the values we
 * would echo back must be free of quotes, backslashes and control bytes,
 * and the Authorization header we build must be one line ending in CRLF,
 * so a hostile provider cannot inject a header into our next request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/trunk_auth.h"

static void check_value(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f || *v == '"' || *v == '\\')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_parse_error perr;
	struct trunk_challenge ch;
	struct sip_msg m;
	char out[1024];
	char *crlf;

	if (sip_msg_parse(&m, (const char *)data, size, SIP_TP_UDP, &perr) != 0 || m.is_request)
		return 0;
	if (trunk_challenge_pick(&m, &ch) != 0)
		return 0;
	if (!ch.nonce[0])
		abort();
	check_value(ch.realm);
	check_value(ch.nonce);
	check_value(ch.opaque);
	if (trunk_auth_header(&ch, "user", "password", "REGISTER", "sip:provider.test", 1,
			      "0123456789abcdef", out, sizeof(out)) != 0)
		return 0;
	crlf = strstr(out, "\r\n");
	if (!crlf || crlf[2] != '\0' || strchr(out, '\n') != crlf + 1)
		abort();
	return 0;
}
