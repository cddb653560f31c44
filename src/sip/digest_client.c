/* Answering digest challenges. See digest_client.h. */
#include "sip/digest_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"
#include "sip/digest.h"

/* Values we put between quotes must not need escaping. */
static bool quotable(struct sip_str s, size_t max)
{
	if (s.len > max)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"' || s.p[i] == '\\' || (unsigned char)s.p[i] < 0x20)
			return false;
	}
	return true;
}

/* Whether a challenge's qop list ("auth", "auth,auth-int") offers auth. */
static bool offers_auth(struct sip_str qop)
{
	struct sip_list_iter it;
	struct sip_str v;

	sip_list_init(&it, qop);
	while (sip_list_next(&it, &v) == 1) {
		if (sip_str_ieq(v, "auth"))
			return true;
	}
	return false;
}

/* A fresh client nonce per answer: 16 hex characters. */
static void make_cnonce(char out[17])
{
	uint8_t raw[8];

	if (secret_random(raw, sizeof(raw)) != 0)
		memset(raw, 0x5a, sizeof(raw)); /* the kernel failing: still a valid answer */
	secret_hex(raw, sizeof(raw), out);
}

static int check_challenge(const struct sip_digest_cred *ch, enum digest_alg *alg)
{
	if (!sip_str_ieq(ch->scheme, "Digest") || !digest_alg_parse(ch->algorithm, alg))
		return EINVAL;
	if (ch->nonce.len == 0 || !quotable(ch->nonce, DIGEST_CHALLENGE_VALUE_MAX) ||
	    !quotable(ch->realm, DIGEST_REALM_MAX) ||
	    !quotable(ch->opaque, DIGEST_CHALLENGE_VALUE_MAX))
		return EINVAL;
	if (ch->qop.len > 0 && !offers_auth(ch->qop))
		return EINVAL;
	return 0;
}

int digest_answer(const struct sip_digest_cred *ch, const char *user, const char *password,
		  const char *method, const char *uri, char *out, size_t outlen)
{
	char realm[DIGEST_REALM_MAX + 1], cnonce[17], resp[DIGEST_SHA256_HEX + 1];
	bool qop = ch->qop.len > 0;
	struct digest_ha1 ha1;
	enum digest_alg alg;
	int n, err = check_challenge(ch, &alg);

	if (err)
		return err;
	if (!quotable(sip_str_from(user), 128) || !quotable(sip_str_from(uri), 512))
		return EINVAL;
	snprintf(realm, sizeof(realm), "%.*s", (int)ch->realm.len, ch->realm.p);
	make_cnonce(cnonce);
	digest_ha1_compute(user, realm, password, &ha1);
	digest_response(alg == DIGEST_ALG_MD5 ? ha1.md5 : ha1.sha256, alg, sip_str_from(method),
			sip_str_from(uri), ch->nonce, sip_str_from(qop ? "00000001" : ""),
			sip_str_from(qop ? cnonce : ""), sip_str_from(qop ? "auth" : ""), resp);
	secret_wipe(&ha1, sizeof(ha1));
	n = snprintf(out, outlen,
		     "Digest username=\"%s\", realm=\"%s\", nonce=\"%.*s\", uri=\"%s\", "
		     "response=\"%s\", algorithm=%s%s%s%s%s%.*s%s",
		     user, realm, (int)ch->nonce.len, ch->nonce.p, uri, resp, digest_alg_name(alg),
		     qop ? ", qop=auth, nc=00000001, cnonce=\"" : "", qop ? cnonce : "",
		     qop ? "\"" : "", ch->opaque.len ? ", opaque=\"" : "",
		     (int)ch->opaque.len, ch->opaque.p, ch->opaque.len ? "\"" : "");
	return n < 0 || (size_t)n >= outlen ? ENOSPC : 0;
}
