/* SDES keys and per-direction SRTP over libsrtp2 (see media/srtp.h).
 *
 * Nothing here logs. Every buffer that held key bytes or their base64 is
 * wiped before it goes out of scope, and so is the libsrtp2 policy, which
 * points at them. */
#include "media/srtp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA1_* are deprecated in OpenSSL 3 in favour of EVP, but EVP copies a
 * digest context by allocating a new one, which the packet path must not
 * do; the low-level context is a plain struct that can be copied. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include "core/secret.h"

_Static_assert(MEDIA_SRTP_ROOM >= SRTP_MAX_TRAILER_LEN + 4,
	       "protect may write a tag, an MKI and the SRTCP index");
_Static_assert(RELAY_CRYPTO_KEY_MAX >= SRTP_AES_ICM_128_KEY_LEN_WSALT,
	       "a relay_crypto holds an AES_CM_128 master key and salt");

struct suite_info {
	enum relay_srtp_suite suite;
	const char *name;
	size_t key_len; /* master key + salt (RFC 4568 6.2, RFC 7714 12) */
	void (*rtp)(srtp_crypto_policy_t *p);
	void (*rtcp)(srtp_crypto_policy_t *p);
};

/* The default policies are AES_CM_128_HMAC_SHA1_80. SRTCP keeps the 80-bit
 * tag with the _32 suite (RFC 4568 6.2.2). */
static const struct suite_info suites[] = {
	{ RELAY_SRTP_AES_CM_128_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80", 30,
	  srtp_crypto_policy_set_rtp_default, srtp_crypto_policy_set_rtcp_default },
	{ RELAY_SRTP_AES_CM_128_HMAC_SHA1_32, "AES_CM_128_HMAC_SHA1_32", 30,
	  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32, srtp_crypto_policy_set_rtcp_default },
	{ RELAY_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", 28,
	  srtp_crypto_policy_set_aes_gcm_128_16_auth,
	  srtp_crypto_policy_set_aes_gcm_128_16_auth },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

struct media_srtp {
	srtp_t ctx;
	bool use_mki;
	uint32_t ssrc[MEDIA_SRTP_MAX_SSRC]; /* network order, as libsrtp2 keys them */
	unsigned nssrc, evict;              /* evict: oldest slot once full */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;
static bool gcm_works;
static bool openssl_crypto; /* AES_CM and HMAC-SHA1 run on OpenSSL */

static const struct suite_info *suite_find(enum relay_srtp_suite s)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (suites[i].suite == s)
			return &suites[i];
	return NULL;
}

/* ---- AES-128 counter mode and HMAC-SHA1 on OpenSSL ----
 *
 * Debian's libsrtp2 does its crypto through NSS, which builds a PKCS#11
 * context for every packet and slows down as sessions accumulate (tens of
 * microseconds per packet with a few hundred calls). libsrtp2 lets a
 * program replace a cipher or an authenticator: these two keep one
 * OpenSSL context per key and only reset it per packet, as libsrtp2's own
 * OpenSSL back end does. libsrtp2 runs its known-answer tests on them when
 * they are loaded; should that fail, NSS stays in use. */

/* Exported by libsrtp2 but not declared in its public headers. */
extern const srtp_cipher_test_case_t srtp_aes_icm_128_test_case_0;
extern const srtp_auth_test_case_t srtp_hmac_test_case_0;
extern const srtp_auth_type_t srtp_hmac;

static const srtp_cipher_type_t icm_openssl;
static const srtp_auth_type_t hmac_openssl;

struct icm_state {
	uint8_t counter[16], offset[16];
	EVP_CIPHER_CTX *ctx;
};

static srtp_err_status_t icm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
	srtp_cipher_t *c;
	struct icm_state *st;

	if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
		return srtp_err_status_bad_param;
	c = calloc(1, sizeof(*c));
	st = calloc(1, sizeof(*st));
	if (st)
		st->ctx = EVP_CIPHER_CTX_new();
	if (!c || !st || !st->ctx) {
		if (st)
			EVP_CIPHER_CTX_free(st->ctx);
		free(st);
		free(c);
		return srtp_err_status_alloc_fail;
	}
	c->type = &icm_openssl; /* libsrtp2 dispatches through it */
	c->state = st;
	c->key_len = key_len;
	c->algorithm = SRTP_AES_ICM_128;
	*cp = c;
	return srtp_err_status_ok;
}

static srtp_err_status_t icm_dealloc(srtp_cipher_t *c)
{
	struct icm_state *st = c->state;

	if (st) {
		EVP_CIPHER_CTX_free(st->ctx);
		secret_wipe(st, sizeof(*st));
		free(st);
	}
	free(c);
	return srtp_err_status_ok;
}

/* key: 16 bytes of AES key, then the 14-byte salt (RFC 3711 4.1.1). */
static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
	struct icm_state *st = state;

	memset(st->offset, 0, sizeof(st->offset));
	memcpy(st->offset, key + SRTP_AES_128_KEY_LEN, SRTP_SALT_LEN);
	if (!EVP_CIPHER_CTX_reset(st->ctx) ||
	    !EVP_EncryptInit_ex(st->ctx, EVP_aes_128_ctr(), NULL, key, NULL))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct icm_state *st = state;
	unsigned i;

	for (i = 0; i < 16; i++)
		st->counter[i] = st->offset[i] ^ iv[i];
	if (!EVP_EncryptInit_ex(st->ctx, NULL, NULL, NULL, st->counter))
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t icm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct icm_state *st = state;
	int out = 0;

	if (*len > INT_MAX || !EVP_EncryptUpdate(st->ctx, buf, &out, buf, (int)*len) ||
	    (unsigned)out != *len)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static const srtp_cipher_type_t icm_openssl = {
	.alloc = icm_alloc,
	.dealloc = icm_dealloc,
	.init = icm_init,
	.encrypt = icm_encrypt,
	.decrypt = icm_encrypt,
	.set_iv = icm_set_iv,
	.description = "AES-128 counter mode (OpenSSL)",
	.test_data = &srtp_aes_icm_128_test_case_0,
	.id = SRTP_AES_ICM_128,
};

/* HMAC-SHA1 (RFC 2104) with the inner and outer hash states of the key
 * computed once: a packet costs two context copies and no allocation.
 * These states are as good as the key, so they are wiped like one. */
struct hmac_state {
	SHA_CTX inner, outer, work;
};

static srtp_err_status_t hmac_alloc(srtp_auth_t **ap, int key_len, int out_len)
{
	srtp_auth_t *a;
	struct hmac_state *st;

	if (out_len > SHA_DIGEST_LENGTH || key_len > SHA_CBLOCK || key_len < 0)
		return srtp_err_status_bad_param;
	a = calloc(1, sizeof(*a));
	st = calloc(1, sizeof(*st));
	if (!a || !st) {
		free(st);
		free(a);
		return srtp_err_status_alloc_fail;
	}
	a->type = &hmac_openssl; /* libsrtp2 dispatches through it */
	a->state = st;
	a->out_len = out_len;
	a->key_len = key_len;
	*ap = a;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_t *a)
{
	if (a->state) {
		secret_wipe(a->state, sizeof(struct hmac_state));
		free(a->state);
	}
	free(a);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len)
{
	struct hmac_state *st = state;
	uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];
	int i;

	if (key_len < 0 || key_len > SHA_CBLOCK)
		return srtp_err_status_bad_param;
	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (i = 0; i < key_len; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
	SHA1_Init(&st->inner);
	SHA1_Update(&st->inner, ipad, sizeof(ipad));
	SHA1_Init(&st->outer);
	SHA1_Update(&st->outer, opad, sizeof(opad));
	st->work = st->inner;
	secret_wipe(ipad, sizeof(ipad));
	secret_wipe(opad, sizeof(opad));
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *state)
{
	struct hmac_state *st = state;

	st->work = st->inner;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
	struct hmac_state *st = state;

	if (len < 0)
		return srtp_err_status_bad_param;
	SHA1_Update(&st->work, buf, (size_t)len);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
				      uint8_t *tag)
{
	struct hmac_state *st = state;
	uint8_t mac[SHA_DIGEST_LENGTH];
	SHA_CTX outer;

	if (len < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH)
		return srtp_err_status_bad_param;
	SHA1_Update(&st->work, buf, (size_t)len);
	SHA1_Final(mac, &st->work);
	outer = st->outer;
	SHA1_Update(&outer, mac, sizeof(mac));
	SHA1_Final(mac, &outer);
	memcpy(tag, mac, (size_t)tag_len);
	secret_wipe(&outer, sizeof(outer));
	return srtp_err_status_ok;
}

static const srtp_auth_type_t hmac_openssl = {
	.alloc = hmac_alloc,
	.dealloc = hmac_dealloc,
	.init = hmac_init,
	.compute = hmac_compute,
	.update = hmac_update,
	.start = hmac_start,
	.description = "HMAC-SHA1 (OpenSSL)",
	.test_data = &srtp_hmac_test_case_0,
	.id = SRTP_HMAC_SHA1,
};

/* Both or neither: libsrtp2 checks each against its known answers. */
static bool use_openssl_crypto(void)
{
	if (srtp_replace_auth_type(&hmac_openssl, SRTP_HMAC_SHA1) != srtp_err_status_ok)
		return false;
	if (srtp_replace_cipher_type(&icm_openssl, SRTP_AES_ICM_128) != srtp_err_status_ok) {
		(void)srtp_replace_auth_type(&srtp_hmac, SRTP_HMAC_SHA1);
		return false;
	}
	return true;
}

/* ---- libsrtp2 sessions ---- */

static srtp_err_status_t create_session(srtp_t *ctx, const struct suite_info *si,
					const struct relay_crypto *key, enum media_srtp_dir dir)
{
	uint8_t key_salt[RELAY_CRYPTO_KEY_MAX];
	uint8_t mki[4];
	srtp_master_key_t mk = { 0 };
	srtp_master_key_t *keys[1] = { &mk };
	srtp_policy_t pol;
	srtp_err_status_t st;
	unsigned i;

	memset(&pol, 0, sizeof(pol));
	si->rtp(&pol.rtp);
	si->rtcp(&pol.rtcp);
	pol.ssrc.type = dir == MEDIA_SRTP_INBOUND ? ssrc_any_inbound : ssrc_any_outbound;
	pol.window_size = 128;
	pol.allow_repeat_tx = 0; /* never encrypt twice under one index */
	memcpy(key_salt, key->key_salt, key->key_len);
	if (key->mki_len) {
		for (i = 0; i < key->mki_len; i++)
			mki[i] = (uint8_t)(key->mki >> (8u * (key->mki_len - 1u - i)));
		mk.key = key_salt;
		mk.mki_id = mki;
		mk.mki_size = key->mki_len;
		pol.keys = keys;
		pol.num_master_keys = 1;
	} else {
		pol.key = key_salt;
	}
	st = srtp_create(ctx, &pol);
	secret_wipe(key_salt, sizeof(key_salt));
	secret_wipe(&pol, sizeof(pol));
	return st;
}

/* libsrtp2 may be built without GCM, or with a crypto back end that lacks
 * it: try it once instead of trusting the header. */
static bool probe_gcm(void)
{
	struct relay_crypto k = { .suite = RELAY_SRTP_AEAD_AES_128_GCM, .key_len = 28 };
	const struct suite_info *si = suite_find(k.suite);
	unsigned char pkt[64] = { 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 };
	int len = 32;
	srtp_t ctx;
	bool ok;

	if (create_session(&ctx, si, &k, MEDIA_SRTP_OUTBOUND) != srtp_err_status_ok)
		return false;
	ok = srtp_protect(ctx, pkt, &len) == srtp_err_status_ok && len == 32 + 16;
	srtp_dealloc(ctx);
	return ok;
}

static void init_once_fn(void)
{
	if (srtp_init() != srtp_err_status_ok) {
		init_err = EIO;
		return;
	}
	openssl_crypto = use_openssl_crypto();
	gcm_works = probe_gcm();
}

int media_srtp_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_err;
}

bool media_srtp_openssl_crypto(void)
{
	return media_srtp_init() == 0 && openssl_crypto;
}

const char *media_srtp_suite_name(enum relay_srtp_suite suite)
{
	const struct suite_info *si = suite_find(suite);

	return si ? si->name : NULL;
}

bool media_srtp_suite_available(enum relay_srtp_suite suite)
{
	if (!suite_find(suite) || media_srtp_init() != 0)
		return false;
	return suite != RELAY_SRTP_AEAD_AES_128_GCM || gcm_works;
}

/* libsrtp2 2.5 (Debian 12) looks for the MKI of an SRTCP packet behind the RTP
 * tag length, so SRTCP fails whenever the two tags differ, as they do with
 * _32 (fixed upstream in December 2024). */
static const char *mki_unsupported(const struct relay_crypto *k)
{
	if (k->mki_len && k->suite == RELAY_SRTP_AES_CM_128_HMAC_SHA1_32)
		return "a=crypto MKI with AES_CM_128_HMAC_SHA1_32 is not supported (libsrtp2 cannot check its SRTCP)";
	return NULL;
}

static bool key_valid(const struct relay_crypto *k, const struct suite_info **sip)
{
	const struct suite_info *si = suite_find(k->suite);

	if (!si || k->key_len != si->key_len || k->mki_len > 4 ||
	    (k->mki_len && k->mki_len < 4 && k->mki >> (8u * k->mki_len)) || mki_unsupported(k))
		return false;
	*sip = si;
	return true;
}

int media_srtp_alloc(struct media_srtp **mp, const struct relay_crypto *key,
		     enum media_srtp_dir dir)
{
	const struct suite_info *si;
	struct media_srtp *m;
	srtp_err_status_t st;
	int err;

	err = media_srtp_init();
	if (err)
		return err;
	if (!key_valid(key, &si) || !media_srtp_suite_available(key->suite))
		return EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;
	m->use_mki = key->mki_len != 0;
	st = create_session(&m->ctx, si, key, dir);
	if (st != srtp_err_status_ok) {
		free(m);
		return st == srtp_err_status_alloc_fail ? ENOMEM : EIO;
	}
	*mp = m;
	return 0;
}

void media_srtp_free(struct media_srtp *m)
{
	if (!m)
		return;
	srtp_dealloc(m->ctx); /* clears its expanded keys */
	free(m);
}

/* Keep at most MEDIA_SRTP_MAX_SSRC streams: libsrtp2 adds one per new SSRC
 * and would otherwise keep them all for the life of the call. */
static void track_ssrc(struct media_srtp *m, const unsigned char *ssrc_bytes)
{
	uint32_t ssrc;
	unsigned i;

	memcpy(&ssrc, ssrc_bytes, sizeof(ssrc));
	for (i = 0; i < m->nssrc; i++)
		if (m->ssrc[i] == ssrc)
			return;
	if (m->nssrc < MEDIA_SRTP_MAX_SSRC) {
		m->ssrc[m->nssrc++] = ssrc;
		return;
	}
	(void)srtp_remove_stream(m->ctx, m->ssrc[m->evict]);
	m->ssrc[m->evict] = ssrc;
	m->evict = (m->evict + 1u) % MEDIA_SRTP_MAX_SSRC;
}

static enum media_srtp_verdict verdict(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return MEDIA_SRTP_OK;
	case srtp_err_status_auth_fail:
	case srtp_err_status_bad_mki:
		return MEDIA_SRTP_AUTH_FAILED;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return MEDIA_SRTP_REPLAY;
	default:
		return MEDIA_SRTP_BAD;
	}
}

/* The smallest packet worth handing to libsrtp2, and where its SSRC is. */
static size_t min_len(bool rtcp)
{
	return rtcp ? 8 : 12;
}

enum media_srtp_verdict media_srtp_unprotect(struct media_srtp *m, bool rtcp,
					     unsigned char *pkt, size_t *len)
{
	srtp_err_status_t st;
	int n;

	if (*len < min_len(rtcp) || *len > INT_MAX - MEDIA_SRTP_ROOM)
		return MEDIA_SRTP_BAD;
	n = (int)*len;
	st = rtcp ? srtp_unprotect_rtcp_mki(m->ctx, pkt, &n, m->use_mki)
		  : srtp_unprotect_mki(m->ctx, pkt, &n, m->use_mki);
	if (st != srtp_err_status_ok)
		return verdict(st);
	track_ssrc(m, pkt + (rtcp ? 4 : 8));
	*len = (size_t)n;
	return MEDIA_SRTP_OK;
}

enum media_srtp_verdict media_srtp_protect(struct media_srtp *m, bool rtcp,
					   unsigned char *pkt, size_t *len)
{
	srtp_err_status_t st;
	int n;

	if (*len < min_len(rtcp) || *len > INT_MAX - MEDIA_SRTP_ROOM)
		return MEDIA_SRTP_BAD;
	n = (int)*len;
	st = rtcp ? srtp_protect_rtcp_mki(m->ctx, pkt, &n, m->use_mki, 0)
		  : srtp_protect_mki(m->ctx, pkt, &n, m->use_mki, 0);
	if (st != srtp_err_status_ok)
		return verdict(st);
	track_ssrc(m, pkt + (rtcp ? 4 : 8));
	*len = (size_t)n;
	return MEDIA_SRTP_OK;
}

/* ---- SDES key-params ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64, padding optional; at most `max` bytes out. Returns the
 * decoded length, or -1 for a bad character, bad padding or too much. */
static long b64_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
	uint32_t acc = 0;
	size_t pad = 0, n = 0, i;
	unsigned bits = 0;
	int v;

	while (len && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len == 0 || len % 4 == 1 || (pad && (len + pad) % 4))
		return -1;
	for (i = 0; i < len; i++) {
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1u;
		}
	}
	return (long)n;
}

/* Decimal digits only, at most `max`. */
static bool parse_dec(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* lifetime = ["2^"] 1*DIGIT, in packets. The relay does not re-key, so a
 * lifetime it could outlive in a call is refused; 2^48 is SRTP's limit. */
static const char *parse_lifetime(const char *p, size_t len)
{
	uint64_t v;

	if (len > 2 && p[0] == '2' && p[1] == '^') {
		if (!parse_dec(p + 2, len - 2, 63, &v))
			return "a=crypto key lifetime is not a power of two the relay understands";
		v = (uint64_t)1 << v;
	} else if (!parse_dec(p, len, UINT64_MAX, &v)) {
		return "a=crypto key lifetime is not a number";
	}
	if (v < (uint64_t)1 << 20)
		return "a=crypto key lifetime is shorter than 2^20 packets (re-keying is not supported)";
	if (v > (uint64_t)1 << 48)
		return "a=crypto key lifetime is longer than SRTP allows (2^48)";
	return NULL;
}

/* mki = value ":" length; only 1 to 4 bytes, with a value that fits. */
static const char *parse_mki(const char *p, size_t len, struct relay_crypto *k)
{
	const char *colon = memchr(p, ':', len);
	uint64_t v, n;

	if (!colon || !parse_dec(p, (size_t)(colon - p), UINT32_MAX, &v) ||
	    !parse_dec(colon + 1, len - (size_t)(colon - p) - 1, 128, &n) || n == 0)
		return "a=crypto MKI is not VALUE:LENGTH";
	if (n > 4)
		return "a=crypto MKI longer than 4 bytes is not supported";
	if (n < 4 && v >> (8u * n))
		return "a=crypto MKI value does not fit its length";
	k->mki = (uint32_t)v;
	k->mki_len = (uint8_t)n;
	return NULL;
}

/* The "|" parts after the key: [lifetime] ["|" MKI], lifetime first. */
static const char *parse_key_tail(const char *p, size_t len, struct relay_crypto *k)
{
	const char *bar = memchr(p, '|', len);
	size_t first = bar ? (size_t)(bar - p) : len;
	const char *why;

	if (!bar && memchr(p, ':', len))
		return parse_mki(p, len, k);
	why = parse_lifetime(p, first);
	if (why || !bar)
		return why;
	if (memchr(bar + 1, '|', len - first - 1))
		return "a=crypto key has too many | parts";
	return parse_mki(bar + 1, len - first - 1, k);
}

static const struct suite_info *suite_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (strlen(suites[i].name) == len && memcmp(suites[i].name, name, len) == 0)
			return &suites[i];
	return NULL;
}

static const char *parse_sdes(struct relay_crypto *k, const char *suite, size_t suite_len,
			      const char *kp, size_t kp_len)
{
	static const char pfx[] = "inline:";
	const size_t plen = sizeof(pfx) - 1;
	const struct suite_info *si = suite_by_name(suite, suite_len);
	const char *bar, *why;
	size_t key_chars;
	long got;

	if (!si)
		return "a=crypto suite is not supported";
	if (!media_srtp_suite_available(si->suite))
		return "a=crypto suite is not available in this build of libsrtp2";
	if (memchr(kp, ';', kp_len))
		return "a=crypto with more than one key is not supported";
	if (kp_len < plen || memcmp(kp, pfx, plen) != 0)
		return "a=crypto key does not start with the inline method";
	kp += plen;
	kp_len -= plen;
	bar = memchr(kp, '|', kp_len);
	key_chars = bar ? (size_t)(bar - kp) : kp_len;
	k->suite = si->suite;
	got = b64_decode(kp, key_chars, k->key_salt, sizeof(k->key_salt));
	if (got < 0)
		return "a=crypto key is not base64 or is too long";
	if ((size_t)got != si->key_len)
		return "a=crypto key has the wrong length for its suite";
	k->key_len = (size_t)got;
	if (!bar)
		return NULL;
	why = parse_key_tail(bar + 1, kp_len - key_chars - 1, k);
	return why ? why : mki_unsupported(k);
}

int media_srtp_parse_sdes(struct relay_crypto *out, const char *suite, size_t suite_len,
			  const char *key_params, size_t key_params_len, const char **reason)
{
	struct relay_crypto k;
	const char *why;

	memset(&k, 0, sizeof(k));
	why = parse_sdes(&k, suite, suite_len, key_params, key_params_len);
	if (why) {
		secret_wipe(&k, sizeof(k));
		*reason = why;
		return EINVAL;
	}
	*out = k;
	secret_wipe(&k, sizeof(k));
	return 0;
}

int media_srtp_generate(struct relay_crypto *out, enum relay_srtp_suite suite)
{
	const struct suite_info *si = suite_find(suite);
	struct relay_crypto k;

	if (!si || !media_srtp_suite_available(suite))
		return EINVAL;
	memset(&k, 0, sizeof(k));
	k.suite = suite;
	k.key_len = si->key_len;
	if (secret_random(k.key_salt, k.key_len) != 0) {
		secret_wipe(&k, sizeof(k));
		return EIO;
	}
	*out = k;
	secret_wipe(&k, sizeof(k));
	return 0;
}

size_t media_srtp_crypto_line(const struct relay_crypto *c, unsigned tag, char *out,
			      size_t outlen)
{
	unsigned char b64[4 * ((RELAY_CRYPTO_KEY_MAX + 2) / 3) + 1];
	char mki[24] = "";
	const struct suite_info *si;
	int n;

	if (!key_valid(c, &si))
		return 0;
	EVP_EncodeBlock(b64, c->key_salt, (int)c->key_len);
	if (c->mki_len)
		snprintf(mki, sizeof(mki), "|%u:%u", (unsigned)c->mki, (unsigned)c->mki_len);
	n = snprintf(out, outlen, "a=crypto:%u %s inline:%s%s", tag, si->name, (const char *)b64,
		     mki);
	secret_wipe(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen)
			secret_wipe(out, outlen);
		return 0;
	}
	return (size_t)n;
}

void media_srtp_wipe(struct relay_crypto *c)
{
	secret_wipe(c, sizeof(*c));
}
