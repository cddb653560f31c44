/* HTTP digest authentication and stateless nonces.
 *
 * The nonce MAC and the fake HA1 are both HMAC-SHA256 under the install
 * secret; a one-byte purpose label at the start of each MAC input keeps the
 * two uses apart, so a value computed for one can never be replayed as the
 * other. */
#include "sip/digest.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

/* Clock skew tolerated between issuing and checking a nonce. Several
 * workers read the clock at slightly different moments; anything further in
 * the future than this was not issued by us. */
#define NONCE_FUTURE_SKEW 5u

#define NONCE_TIME_HEX 8
#define NONCE_SALT_HEX 8 /* sequence number: no two challenges share a nonce */
#define NONCE_HEAD_HEX (NONCE_TIME_HEX + NONCE_SALT_HEX)
#define NONCE_MAC_BYTES ((DIGEST_NONCE_LEN - NONCE_HEAD_HEX) / 2)

enum mac_purpose {
	MAC_NONCE = 'N',
	MAC_FAKE_MD5 = 'M',
	MAC_FAKE_SHA256 = 'S',
};

/* Fetching an algorithm by name is costly in OpenSSL 3; do it once. */
static EVP_MD *md_by_alg[DIGEST_ALG__COUNT];
static EVP_MAC *mac_hmac;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch_all(void)
{
	md_by_alg[DIGEST_ALG_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	md_by_alg[DIGEST_ALG_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static const EVP_MD *md_get(enum digest_alg alg)
{
	pthread_once(&md_once, md_fetch_all);
	return md_by_alg[alg];
}

static size_t alg_hex_len(enum digest_alg alg)
{
	return alg == DIGEST_ALG_SHA256 ? DIGEST_SHA256_HEX : DIGEST_MD5_HEX;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool str_ieq(struct sip_str s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = s.p[i], b = lit[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

static bool str_eq(struct sip_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* ---- Hashing: H(a ":" b ":" ...) written as lower-case hex ---- */

static EVP_MD_CTX *thread_md_ctx(void);

static void hash_parts_hex(enum digest_alg alg, const struct sip_str *parts,
			   size_t nparts, char *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = thread_md_ctx();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, md_get(alg), NULL) == 1;

	for (size_t i = 0; ok && i < nparts; i++) {
		if (i > 0)
			ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
		if (ok && parts[i].len > 0)
			ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	if (!ok || mdlen * 2 != alg_hex_len(alg)) {
		/* Only an allocation failure gets here. An empty string
		 * never equals a well-formed response, so the caller fails
		 * closed. */
		out[0] = '\0';
		return;
	}
	hex_encode(md, mdlen, out);
}

static struct sip_str cstr(const char *s)
{
	return (struct sip_str){s, s != NULL ? strlen(s) : 0};
}

void digest_ha1_compute(const char *user, const char *realm,
			const char *password, struct digest_ha1 *out)
{
	struct sip_str parts[3] = {cstr(user), cstr(realm), cstr(password)};

	hash_parts_hex(DIGEST_ALG_MD5, parts, 3, out->md5);
	hash_parts_hex(DIGEST_ALG_SHA256, parts, 3, out->sha256);
}

/* ---- HMAC-SHA256 under the install secret ---- */

/* Contexts kept per thread. An HMAC context keyed once: fetching the
 * digest and keying a fresh context cost about five times the MAC itself,
 * and every registration needs six MACs (nonce, its check, two fake HA1s,
 * two To tags). The secret does not change while the daemon runs; the copy
 * kept here only tells a different secret (tests, a re-keyed instance)
 * apart. And a digest context, reused instead of allocated per hash. */
struct hmac_keyed {
	EVP_MAC_CTX *ctx;
	EVP_MD_CTX *md;
	uint8_t key[DIGEST_SECRET_LEN];
	bool keyed;
};

static pthread_key_t hmac_tls;
static bool hmac_tls_ok;
static pthread_once_t hmac_tls_once = PTHREAD_ONCE_INIT;

static void hmac_keyed_free(void *arg)
{
	struct hmac_keyed *k = arg;

	EVP_MAC_CTX_free(k->ctx);
	EVP_MD_CTX_free(k->md);
	OPENSSL_clear_free(k, sizeof(*k));
}

static void hmac_tls_create(void)
{
	hmac_tls_ok = pthread_key_create(&hmac_tls, hmac_keyed_free) == 0;
}

static struct hmac_keyed *hmac_keyed_get(void)
{
	struct hmac_keyed *k;

	pthread_once(&md_once, md_fetch_all);
	pthread_once(&hmac_tls_once, hmac_tls_create);
	if (!hmac_tls_ok || mac_hmac == NULL)
		return NULL;
	k = pthread_getspecific(hmac_tls);
	if (k != NULL)
		return k;
	k = OPENSSL_zalloc(sizeof(*k));
	if (k == NULL)
		return NULL;
	k->ctx = EVP_MAC_CTX_new(mac_hmac);
	k->md = EVP_MD_CTX_new();
	if (k->ctx == NULL || k->md == NULL || pthread_setspecific(hmac_tls, k) != 0) {
		hmac_keyed_free(k);
		return NULL;
	}
	return k;
}

static EVP_MD_CTX *thread_md_ctx(void)
{
	struct hmac_keyed *k = hmac_keyed_get();

	return k != NULL ? k->md : NULL;
}

/* The thread's context, ready for a new MAC under secret; NULL on failure. */
static EVP_MAC_CTX *hmac_start(const uint8_t secret[DIGEST_SECRET_LEN])
{
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 digest_name, 0),
		OSSL_PARAM_construct_end(),
	};
	struct hmac_keyed *k = hmac_keyed_get();

	if (k == NULL)
		return NULL;
	/* Same key: a NULL key restarts from the kept inner and outer
	 * states instead of hashing the key again. */
	if (k->keyed && CRYPTO_memcmp(k->key, secret, DIGEST_SECRET_LEN) == 0 &&
	    EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1)
		return k->ctx;
	k->keyed = false;
	if (EVP_MAC_init(k->ctx, secret, DIGEST_SECRET_LEN, params) != 1)
		return NULL;
	memcpy(k->key, secret, DIGEST_SECRET_LEN);
	k->keyed = true;
	return k->ctx;
}

static bool hmac_update_parts(EVP_MAC_CTX *ctx, const struct sip_str *parts,
			      size_t nparts)
{
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].len > 0 &&
		    EVP_MAC_update(ctx, (const uint8_t *)parts[i].p,
				   parts[i].len) != 1)
			return false;
	}
	return true;
}

static bool hmac_finish(EVP_MAC_CTX *ctx, uint8_t out[32])
{
	size_t outlen = 0;

	return EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
}

bool digest_hmac(const uint8_t secret[DIGEST_SECRET_LEN],
		 const struct sip_str *parts, size_t nparts, uint8_t out[32])
{
	EVP_MAC_CTX *ctx = hmac_start(secret);

	return ctx != NULL && hmac_update_parts(ctx, parts, nparts) &&
	       hmac_finish(ctx, out);
}

static bool hmac_parts(const uint8_t secret[DIGEST_SECRET_LEN],
		       enum mac_purpose purpose, const struct sip_str *parts,
		       size_t nparts, uint8_t out[32])
{
	uint8_t label = (uint8_t)purpose;
	EVP_MAC_CTX *ctx = hmac_start(secret);

	return ctx != NULL && EVP_MAC_update(ctx, &label, 1) == 1 &&
	       hmac_update_parts(ctx, parts, nparts) && hmac_finish(ctx, out);
}

void digest_ha1_fake(const uint8_t secret[DIGEST_SECRET_LEN],
		     struct sip_str user, struct digest_ha1 *out)
{
	uint8_t mac[32];

	/* On failure an empty HA1 matches no response: still a refusal. */
	if (hmac_parts(secret, MAC_FAKE_MD5, &user, 1, mac))
		hex_encode(mac, DIGEST_MD5_HEX / 2, out->md5);
	else
		out->md5[0] = '\0';
	if (hmac_parts(secret, MAC_FAKE_SHA256, &user, 1, mac))
		hex_encode(mac, DIGEST_SHA256_HEX / 2, out->sha256);
	else
		out->sha256[0] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* ---- Nonces ---- */

/* The bytes a nonce is bound to: family and IP address, not the port (NATs
 * re-map ports between a challenge and its answer). An IPv4-mapped IPv6
 * address binds as the IPv4 address it carries, so a dual-stack socket and
 * an IPv4 socket agree. */
static size_t nonce_addr_bytes(const struct sockaddr *src, uint8_t out[17])
{
	if (src == NULL) {
		out[0] = 0;
		return 1;
	}
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;

		out[0] = 4;
		memcpy(out + 1, &in->sin_addr, 4);
		return 5;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out[0] = 4;
			memcpy(out + 1, &in6->sin6_addr.s6_addr[12], 4);
			return 5;
		}
		out[0] = 6;
		memcpy(out + 1, &in6->sin6_addr, 16);
		return 17;
	}
	out[0] = 0;
	return 1;
}

/* The MAC over the nonce's head (time and salt, as the hex it is sent in)
 * and the source address. */
static bool nonce_mac_hex(const uint8_t secret[DIGEST_SECRET_LEN], const char head[NONCE_HEAD_HEX],
			  const struct sockaddr *src, char out[NONCE_MAC_BYTES * 2 + 1])
{
	uint8_t addr[17];
	size_t alen = nonce_addr_bytes(src, addr);
	struct sip_str parts[2] = {{head, NONCE_HEAD_HEX}, {(const char *)addr, alen}};
	uint8_t mac[32];

	if (!hmac_parts(secret, MAC_NONCE, parts, 2, mac))
		return false;
	hex_encode(mac, NONCE_MAC_BYTES, out);
	return true;
}

void digest_nonce_make(const uint8_t secret[DIGEST_SECRET_LEN], uint32_t now,
		       const struct sockaddr *src, char out[DIGEST_NONCE_LEN])
{
	static atomic_uint_fast32_t issued;
	char buf[DIGEST_NONCE_LEN + 1];
	uint32_t seq = (uint32_t)atomic_fetch_add(&issued, 1);

	/* A sequence number makes every challenge's nonce its own and orders
	 * nonces of the same second, so a nonce and its nc identify one use
	 * and an old unused nonce can be told from a new one
	 * (sip/nonce_use.h). It hides nothing: the MAC is what protects. */
	snprintf(buf, NONCE_HEAD_HEX + 1, "%08x%08x", (unsigned)now, (unsigned)seq);
	if (!nonce_mac_hex(secret, buf, src, buf + NONCE_HEAD_HEX)) {
		/* Keep the length fixed; a MAC of all 'x' never verifies
		 * because it is not hex. */
		memset(buf + NONCE_HEAD_HEX, 'x', DIGEST_NONCE_LEN - NONCE_HEAD_HEX);
	}
	memcpy(out, buf, DIGEST_NONCE_LEN);
}

/* Nonces are ours, so only lower-case hex is well formed. */
static bool nonce_well_formed(struct sip_str nonce, uint32_t *t)
{
	uint32_t v = 0;

	if (nonce.p == NULL || nonce.len != DIGEST_NONCE_LEN)
		return false;
	for (size_t i = 0; i < DIGEST_NONCE_LEN; i++) {
		char c = nonce.p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		if (i < NONCE_TIME_HEX)
			v = (v << 4) | (uint32_t)hex_value(c);
	}
	*t = v;
	return true;
}

enum digest_nonce_state digest_nonce_check(const uint8_t secret[DIGEST_SECRET_LEN],
					   struct sip_str nonce, uint32_t now,
					   uint32_t lifetime,
					   const struct sockaddr *src)
{
	char expect[NONCE_MAC_BYTES * 2 + 1];
	uint32_t issued;

	if (!nonce_well_formed(nonce, &issued))
		return DIGEST_NONCE_BAD;
	if (!nonce_mac_hex(secret, nonce.p, src, expect))
		return DIGEST_NONCE_BAD;
	if (CRYPTO_memcmp(expect, nonce.p + NONCE_HEAD_HEX, NONCE_MAC_BYTES * 2) != 0)
		return DIGEST_NONCE_BAD;
	/* Genuine from here on: only its age matters. */
	if (issued > now && issued - now > NONCE_FUTURE_SKEW)
		return DIGEST_NONCE_BAD;
	if (issued < now && now - issued > lifetime)
		return DIGEST_NONCE_STALE;
	return DIGEST_NONCE_OK;
}

/* ---- Algorithms ---- */

bool digest_alg_parse(struct sip_str s, enum digest_alg *alg)
{
	if (s.len == 0 || str_ieq(s, "MD5")) {
		*alg = DIGEST_ALG_MD5;
		return true;
	}
	if (str_ieq(s, "SHA-256")) {
		*alg = DIGEST_ALG_SHA256;
		return true;
	}
	return false;
}

const char *digest_alg_name(enum digest_alg alg)
{
	switch (alg) {
	case DIGEST_ALG_MD5:
		return "MD5";
	case DIGEST_ALG_SHA256:
		return "SHA-256";
	default:
		return "unknown";
	}
}

/* ---- Responses ---- */

void digest_response(const char *ha1_hex, enum digest_alg alg,
		     struct sip_str method, struct sip_str uri,
		     struct sip_str nonce, struct sip_str nc,
		     struct sip_str cnonce, struct sip_str qop, char *out)
{
	char ha2[DIGEST_SHA256_HEX + 1];
	struct sip_str a2[2] = {method, uri};

	if ((unsigned)alg >= DIGEST_ALG__COUNT) {
		out[0] = '\0';
		return;
	}
	hash_parts_hex(alg, a2, 2, ha2);
	if (qop.len > 0) {
		struct sip_str kd[6] = {cstr(ha1_hex), nonce, nc, cnonce, qop,
					cstr(ha2)};

		hash_parts_hex(alg, kd, 6, out);
	} else {
		/* RFC 2069 compatibility: no qop, no nc, no cnonce. */
		struct sip_str kd[3] = {cstr(ha1_hex), nonce, cstr(ha2)};

		hash_parts_hex(alg, kd, 3, out);
	}
}

static bool nc_well_formed(struct sip_str nc)
{
	if (nc.len != 8)
		return false;
	for (size_t i = 0; i < 8; i++)
		if (hex_value(nc.p[i]) < 0)
			return false;
	return true;
}

/* The shape checks that do not depend on any secret. */
static bool cred_well_formed(enum digest_alg alg, const struct sip_digest_cred *c)
{
	enum digest_alg named;

	if (!digest_alg_parse(c->algorithm, &named) || named != alg)
		return false;
	if (c->nonce.len == 0 || c->uri.len == 0)
		return false;
	if (c->response.len != alg_hex_len(alg))
		return false;
	if (c->qop.len == 0)
		return c->nc.len == 0 && c->cnonce.len == 0;
	return str_eq(c->qop, "auth") && nc_well_formed(c->nc) &&
	       c->cnonce.len > 0;
}

bool digest_verify(const struct digest_ha1 *ha1, enum digest_alg alg,
		   struct sip_str method, const struct sip_digest_cred *c)
{
	char expect[DIGEST_SHA256_HEX + 1];
	char got[DIGEST_SHA256_HEX];
	const char *ha1_hex;
	size_t n;

	if (ha1 == NULL || c == NULL || (unsigned)alg >= DIGEST_ALG__COUNT)
		return false;
	if (!cred_well_formed(alg, c))
		return false;
	ha1_hex = alg == DIGEST_ALG_SHA256 ? ha1->sha256 : ha1->md5;
	n = alg_hex_len(alg);
	if (strlen(ha1_hex) != n)
		return false;
	/* Hex is case-insensitive on the wire; compare in lower case. */
	for (size_t i = 0; i < n; i++) {
		char ch = c->response.p[i];

		if (hex_value(ch) < 0)
			return false;
		got[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
	}
	digest_response(ha1_hex, alg, method, c->uri, c->nonce, c->nc,
			c->cnonce, c->qop, expect);
	if (strlen(expect) != n)
		return false;
	return CRYPTO_memcmp(expect, got, n) == 0;
}
