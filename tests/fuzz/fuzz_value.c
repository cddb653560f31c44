/* libFuzzer harness for the value parsers on their own: the first octet
 * picks the parser, the rest is the slice. Reaches corners a whole message
 * rarely does, since fuzz_msg only feeds values that survived the message
 * checks. */
#include <stdint.h>
#include <stdlib.h>

#include "sip/msg.h"

static const char *lo, *hi;

static void inside(struct sip_str s)
{
	if (s.len && (!s.p || s.p < lo || s.p + s.len > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_str v, rest, parts[8], e;
	struct sip_uri u;
	struct sip_nameaddr na;
	struct sip_via via;
	struct sip_digest_cred c;
	struct sip_list_iter it;
	uint64_t n;
	int k;

	if (size < 1)
		return 0;
	v = (struct sip_str){(const char *)data + 1, size - 1};
	lo = v.p;
	hi = v.p + v.len;
	switch (data[0] % 7) {
	case 0:
		if (sip_uri_parse(v, &u) == 0) {
			inside(u.user);
			inside(u.host);
			inside(u.params);
			inside(u.headers);
		}
		break;
	case 1:
		if (sip_nameaddr_parse(v, &na) == 0) {
			inside(na.display);
			inside(na.uri);
			inside(na.params);
			inside(na.tag);
		}
		break;
	case 2:
		while (v.len && sip_via_parse(v, &via, &rest) == 0) {
			inside(via.host);
			inside(via.branch);
			inside(rest);
			if (rest.len >= v.len)
				abort();
			v = rest;
		}
		break;
	case 3:
		if (sip_digest_cred_parse(v, &c) == 0) {
			inside(c.username);
			inside(c.nonce);
			inside(c.response);
		}
		break;
	case 4:
		k = sip_split_commas(v, parts, 8);
		if (k > 8)
			abort();
		for (int i = 0; i < k; i++)
			inside(parts[i]);
		sip_list_init(&it, v);
		while (sip_list_next(&it, &e) == 1)
			inside(e);
		break;
	case 5:
		if (sip_param_find(v, "tag", &e))
			inside(e);
		break;
	default:
		if (sip_parse_uint(v, 65535, &n) == 0 && n > 65535)
			abort();
		break;
	}
	return 0;
}
