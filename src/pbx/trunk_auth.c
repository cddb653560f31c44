/* Digest client for trunks; see trunk_auth.h. */
#include "pbx/trunk_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"

/* A value we will put back between quotes: printable, no quote or
 * backslash (an escaped value is legal but no provider needs one, and
 * refusing it keeps our header well formed whatever arrives). */
static bool value_copy(struct sip_str v, char *out, size_t outlen, bool required)
{
	out[0] = '\0';
	if (!v.p)
		return !required;
	if (v.len >= outlen || (required && v.len == 0))
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return true;
}

/* qop absent: the RFC 2069 form. Present: it must list "auth". */
static bool qop_usable(struct sip_str qop, bool *auth)
{
	struct sip_list_iter it;
	struct sip_str elem;

	*auth = false;
	if (!qop.p)
		return true;
	sip_list_init(&it, qop);
	for (unsigned n = 0; n < 8 && sip_list_next(&it, &elem) == 1; n++)
		if (sip_str_ieq(elem, "auth"))
			*auth = true;
	return *auth;
}

static bool challenge_read(struct sip_str value, bool proxy, struct trunk_challenge *ch)
{
	struct sip_digest_cred c;

	if (sip_digest_cred_parse(value, &c) != 0 || !sip_str_ieq(c.scheme, "digest"))
		return false;
	memset(ch, 0, sizeof(*ch));
	ch->proxy = proxy;
	return digest_alg_parse(c.algorithm, &ch->alg) && qop_usable(c.qop, &ch->qop_auth) &&
	       value_copy(c.realm, ch->realm, sizeof(ch->realm), false) &&
	       value_copy(c.nonce, ch->nonce, sizeof(ch->nonce), true) &&
	       value_copy(c.opaque, ch->opaque, sizeof(ch->opaque), false);
}

int trunk_challenge_pick(const struct sip_msg *resp, struct trunk_challenge *ch)
{
	bool proxy = resp->status == 407;
	enum sip_hdr_id id = proxy ? SIP_H_PROXY_AUTHENTICATE : SIP_H_WWW_AUTHENTICATE;
	const struct sip_hdr *h = sip_msg_hdr(resp, id);
	struct trunk_challenge cand;
	bool found = false;

	for (unsigned n = 0; h && n < TRUNK_MAX_CHALLENGES; n++, h = sip_msg_next_hdr(resp, h)) {
		if (!challenge_read(h->value, proxy, &cand))
			continue;
		if (!found || (cand.alg == DIGEST_ALG_SHA256 && ch->alg != DIGEST_ALG_SHA256)) {
			*ch = cand;
			found = true;
		}
	}
	return found ? 0 : ENOENT;
}

int trunk_auth_header(const struct trunk_challenge *ch, const char *user,
		      const char *password, const char *method, const char *uri,
		      unsigned nc, const char *cnonce, char *out, size_t outlen)
{
	struct digest_ha1 ha1;
	char resp[DIGEST_SHA256_HEX + 1], ncs[9], opaque[TRUNK_MAX_OPAQUE_LEN + 16] = "";
	const char *qop = ch->qop_auth ? "auth" : "";
	int n;

	snprintf(ncs, sizeof(ncs), "%08x", nc);
	digest_ha1_compute(user, ch->realm, password, &ha1);
	digest_response(ch->alg == DIGEST_ALG_SHA256 ? ha1.sha256 : ha1.md5, ch->alg,
			sip_str_from(method), sip_str_from(uri), sip_str_from(ch->nonce),
			ch->qop_auth ? sip_str_from(ncs) : SIP_STR_NULL,
			ch->qop_auth ? sip_str_from(cnonce) : SIP_STR_NULL,
			ch->qop_auth ? sip_str_from(qop) : SIP_STR_NULL, resp);
	secret_wipe(&ha1, sizeof(ha1));
	if (ch->opaque[0])
		snprintf(opaque, sizeof(opaque), ", opaque=\"%s\"", ch->opaque);
	if (ch->qop_auth)
		n = snprintf(out, outlen, "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
			     "uri=\"%s\", response=\"%s\", algorithm=%s, qop=auth, nc=%s, "
			     "cnonce=\"%s\"%s\r\n",
			     ch->proxy ? "Proxy-Authorization" : "Authorization", user, ch->realm,
			     ch->nonce, uri, resp, digest_alg_name(ch->alg), ncs, cnonce, opaque);
	else
		n = snprintf(out, outlen, "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
			     "uri=\"%s\", response=\"%s\", algorithm=%s%s\r\n",
			     ch->proxy ? "Proxy-Authorization" : "Authorization", user, ch->realm,
			     ch->nonce, uri, resp, digest_alg_name(ch->alg), opaque);
	secret_wipe(resp, sizeof(resp));
	return n < 0 || (size_t)n >= outlen ? EMSGSIZE : 0;
}
