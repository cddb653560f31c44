/* libFuzzer harness for SDP: parse the input, rewrite it as the B2BUA
 * does, and check what the B2BUA relies on: every slice lies inside the
 * body, a parsed body is rewritten unless the result would break a cap,
 * the rewrite parses back to the relay's ports, a short buffer gets 0 and
 * no write past its end, and rewriting our own output changes nothing.
 * The same again for sdp_rewrite_ex, with options picked from a hash of
 * the input (stream index, proto, a=crypto line, some taken from the
 * input's own bytes): refused options write nothing, and an accepted
 * rewrite shows the proto and exactly our one crypto line, last in the
 * anchored section, with the body's line ends. */
#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "sip/sdp.h"

static const uint16_t ports[SDP_MAX_MEDIA] = {40000, 40002, 40004, 40006};

/* Room for what a rewrite may add per line it changes: o= and c= get the
 * relay address (at most 39 characters), m= and a=rtcp five-digit ports. */
#define GROWTH_PER_LINE 64u

static void inside(struct sip_str s, const char *lo, const char *hi)
{
	if (s.len && (!s.p || s.p < lo || s.p + s.len > hi))
		abort();
}

static void check_slices(const struct sdp *s, const char *lo, const char *hi)
{
	if (s->nmedia > SDP_MAX_MEDIA)
		abort();
	for (unsigned i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];
		inside(m->type, lo, hi);
		inside(m->proto, lo, hi);
		inside(m->formats, lo, hi);
		if (m->ncrypto > SDP_MAX_CRYPTO)
			abort();
		for (unsigned k = 0; k < m->ncrypto; k++) {
			inside(m->crypto[k].suite, lo, hi);
			inside(m->crypto[k].key, lo, hi);
		}
	}
}

/* Whether the rewrite may legitimately fail for size: CRLF can add one byte
 * per line, changed lines grow, and `extra` bytes may be added. */
static bool near_caps(const char *p, size_t len, unsigned nmedia, size_t extra)
{
	size_t lines = 1, longest = 0, cur = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			lines++;
			cur = 0;
		} else if (++cur > longest) {
			longest = cur;
		}
	}
	return len + lines + extra + GROWTH_PER_LINE * (2 + 3 * (size_t)nmedia) > SDP_MAX_SIZE ||
	       longest + GROWTH_PER_LINE > SDP_MAX_LINE_LEN;
}

static struct sockaddr_storage relay_for(size_t size)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (size & 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:fff7", &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, "198.51.100.7", &a->sin_addr);
	}
	return ss;
}

static bool attr_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && memcmp(line, name, n) == 0 &&
	       (len == n || line[n] == ':' || line[n] == '\r');
}

/* Any ICE attribute line in a rewritten body (they must all be dropped). */
static bool ice_left(const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((lf ? lf : end) - p);
		if (attr_is(p, l, "a=candidate") || attr_is(p, l, "a=end-of-candidates") ||
		    attr_is(p, l, "a=remote-candidates") || (l >= 6 && !memcmp(p, "a=ice-", 6)))
			return true;
		p += l + 1;
	}
	return false;
}

static void check_rewrite(const struct sdp *before, const char *out, size_t n, bool strip)
{
	struct sdp after;
	const char *why;

	if (sdp_parse(out, n, &after, &why) || after.nmedia != before->nmedia)
		abort();
	check_slices(&after, out, out + n);
	for (unsigned i = 0; i < after.nmedia; i++) {
		const struct sdp_media *m0 = &before->media[i], *m1 = &after.media[i];
		uint16_t port = m0->port ? ports[i] : 0;
		if (m1->port != port || m1->rtcp_mux != m0->rtcp_mux || m1->dir != m0->dir)
			abort();
		if (m1->rtcp_port != (m0->rtcp_port && !m0->rtcp_mux && port ? port + 1 : 0))
			abort();
		if (m1->ncrypto != (strip ? 0 : m0->ncrypto))
			abort();
	}
	if (ice_left(out, n))
		abort();
}

/* ---- sdp_rewrite_ex ---- */

#define KEY30 "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

/* Options a valid body may be given; `valid` is what sdp_rewrite_ex must
 * decide for them on a live stream (before any clash with the body). */
static const struct {
	const char *text;
	bool valid;
} protos[] = {
	{"RTP/AVP", true}, {"RTP/SAVP", true}, {"RTP/SAVPF", true},
	{"UDP/TLS/RTP/SAVP", true}, {"12345678901234567890123456789012", true},
	{"", false}, {"RTP/AVP\r\n", false}, {"RTP AVP", false}, {"RTP/AVP+", false},
	{"123456789012345678901234567890123", false},
}, cryptos[] = {
	{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30, true},
	{"a=crypto:2 AES_CM_128_HMAC_SHA1_32 " KEY30 "|2^31|1:4", true},
	{"a=crypto:7 AEAD_AES_128_GCM inline:rMKNsr63tCuqHLAkPUAcy04/zkTXsCh5pSeZqg==", true},
	{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30 "\r\n", false},
	{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=", false},
	{"crypto:1 AES_CM_128_HMAC_SHA1_80 " KEY30, false},
	{"", false},
};

#define NPROTOS (sizeof(protos) / sizeof(protos[0]))
#define NCRYPTOS (sizeof(cryptos) / sizeof(cryptos[0]))

struct ex_case {
	struct sdp_rewrite_opts o;
	char proto_buf[48];   /* a proto cut from the input */
	char crypto_buf[240]; /* "a=crypto:" and bytes of the input */
	int predict;          /* 1 accepted, 0 refused, -1 unknown */
};

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Up to `max` input bytes from a hash-chosen offset, NUL-terminated. */
static void cut(char *dst, size_t cap, size_t max, const uint8_t *data, size_t size,
		uint32_t h)
{
	size_t off = size ? h % size : 0;
	size_t n = size - off < max ? size - off : max;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, data + off, n);
	dst[n] = '\0';
}

static bool own_proto_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool has_nonprintable(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return true;
	return false;
}

/* Our line clashes with the crypto lines that stay on the stream. */
static bool crypto_clash(const char *line, const struct sdp_media *m, bool strip)
{
	unsigned tag = (unsigned)strtoul(line + strlen("a=crypto:"), NULL, 10);

	if (strip)
		return false;
	if (m->ncrypto >= SDP_MAX_CRYPTO)
		return true;
	for (unsigned k = 0; k < m->ncrypto; k++)
		if (m->crypto[k].tag == tag)
			return true;
	return false;
}

static int pick_media(const struct sdp *s, uint32_t h)
{
	return (int)(h % (s->nmedia + 3)) - 2; /* -2 .. nmedia: both ends out of range */
}

static void pick_proto(struct ex_case *c, const uint8_t *data, size_t size, uint32_t h)
{
	unsigned i = h % (NPROTOS + 2);

	if (i == NPROTOS) {
		c->o.proto = NULL;
	} else if (i == NPROTOS + 1) {
		cut(c->proto_buf, sizeof(c->proto_buf), 40, data, size, h >> 8);
		c->o.proto = c->proto_buf;
	} else {
		c->o.proto = protos[i].text;
	}
}

static void pick_crypto(struct ex_case *c, const uint8_t *data, size_t size, uint32_t h)
{
	unsigned i = h % (NCRYPTOS + 2);

	if (i == NCRYPTOS) {
		c->o.crypto = NULL;
	} else if (i == NCRYPTOS + 1) {
		int n = snprintf(c->crypto_buf, sizeof(c->crypto_buf), "a=crypto:");
		cut(c->crypto_buf + n, sizeof(c->crypto_buf) - (size_t)n, 220, data, size, h >> 8);
		c->o.crypto = c->crypto_buf;
	} else {
		c->o.crypto = cryptos[i].text;
	}
}

static bool table_crypto_valid(const char *crypto)
{
	for (size_t i = 0; i < NCRYPTOS; i++)
		if (crypto == cryptos[i].text)
			return cryptos[i].valid;
	abort();
}

/* 1, 0, or -1 when only sdp_parse could tell (a crypto cut from input). */
static int predict(const struct ex_case *c, const struct sdp *s)
{
	const struct sdp_rewrite_opts *o = &c->o;

	if (o->media == -1)
		return !o->proto && !o->crypto;
	if (o->media < 0 || (unsigned)o->media >= s->nmedia || s->media[o->media].port == 0)
		return 0;
	if (o->proto && !own_proto_ok(o->proto))
		return 0;
	if (!o->crypto)
		return 1;
	if (o->crypto == c->crypto_buf)
		return strlen(o->crypto) > 200 || has_nonprintable(o->crypto) ? 0 : -1;
	if (!table_crypto_valid(o->crypto))
		return 0;
	return !crypto_clash(o->crypto, &s->media[o->media], o->strip_crypto);
}

static void pick_ex(struct ex_case *c, const struct sdp *s, const struct sockaddr *ra,
		    bool strip, uint64_t version, const uint8_t *data, size_t size)
{
	uint32_t h = fnv1a(data, size);

	memset(c, 0, sizeof(*c));
	c->o = (struct sdp_rewrite_opts){.addr = ra, .ports = ports, .nports = SDP_MAX_MEDIA,
					 .version = version, .strip_crypto = strip};
	c->o.media = pick_media(s, h);
	pick_proto(c, data, size, h >> 4);
	pick_crypto(c, data, size, h >> 12);
	c->predict = predict(c, s);
}

static bool line_is(const char *p, size_t l, const char *text)
{
	return l == strlen(text) && memcmp(p, text, l) == 0;
}

/* Line ends all as the body's first line; our crypto line exactly once,
 * and as the last line of the anchored section. */
static void check_ex_text(const char *out, size_t n, bool crlf, const struct sdp_rewrite_opts *o)
{
	const char *p = out, *end = out + n;
	int mi = -1;
	unsigned ours = 0;
	bool last_was_ours = false;

	if (n == 0 || out[n - 1] != '\n')
		abort();
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)(lf - p);
		if (!lf || (crlf != (l > 0 && p[l - 1] == '\r')))
			abort();
		if (crlf)
			l--;
		if (memchr(p, '\r', l))
			abort();
		if (l >= 2 && p[0] == 'm' && p[1] == '=') {
			if (mi == o->media && o->crypto && !last_was_ours)
				abort();
			mi++;
		}
		last_was_ours = o->crypto && mi == o->media && line_is(p, l, o->crypto);
		ours += last_was_ours;
		p = lf + 1;
	}
	if (o->crypto && (ours != 1 || (mi == o->media && !last_was_ours)))
		abort();
}

static void check_ex(const struct sdp *before, const char *out, size_t n,
		     const struct sdp_rewrite_opts *o, bool crlf)
{
	struct sdp after;
	const char *why;

	if (n > SDP_MAX_SIZE || sdp_parse(out, n, &after, &why) ||
	    after.nmedia != before->nmedia)
		abort();
	check_slices(&after, out, out + n);
	for (unsigned i = 0; i < after.nmedia; i++) {
		const struct sdp_media *m0 = &before->media[i], *m1 = &after.media[i];
		bool anchored = (int)i == o->media;
		const char *proto = anchored && o->proto ? o->proto : NULL;
		unsigned ncrypto = (o->strip_crypto ? 0 : m0->ncrypto) +
				   (anchored && o->crypto ? 1 : 0);
		if (m1->port != (m0->port ? ports[i] : 0) || m1->ncrypto != ncrypto)
			abort();
		if (proto ? !sip_str_eq(m1->proto, proto)
			  : (m1->proto.len != m0->proto.len ||
			     memcmp(m1->proto.p, m0->proto.p, m0->proto.len)))
			abort();
		if (m1->type.len != m0->type.len || m1->formats.len != m0->formats.len ||
		    memcmp(m1->formats.p, m0->formats.p, m0->formats.len))
			abort();
	}
	check_ex_text(out, n, crlf, o);
	if (ice_left(out, n))
		abort();
}

static bool first_line_crlf(const char *body, size_t size)
{
	const char *lf = memchr(body, '\n', size);

	return lf && lf > body && lf[-1] == '\r';
}

/* Room for what sdp_rewrite_ex adds on top of sdp_rewrite: a proto of up
 * to 32 bytes and a crypto line of up to 200. */
#define EX_GROWTH 240u

static void fuzz_ex(const char *body, size_t size, const struct sdp *s,
		    const struct sockaddr *ra, bool strip)
{
	static char out[SDP_MAX_SIZE], again[SDP_MAX_SIZE];
	struct ex_case c;

	pick_ex(&c, s, ra, strip, size, (const uint8_t *)body, size);
	if (c.predict == 0)
		memset(out, 0xA5, sizeof(out));
	size_t n = sdp_rewrite_ex(body, size, &c.o, out, sizeof(out));
	if (c.predict == 0) {
		/* refused before writing: not one byte touched */
		if (n != 0)
			abort();
		for (size_t i = 0; i < sizeof(out); i++)
			if (out[i] != (char)0xA5)
				abort();
		return;
	}
	if (n == 0) {
		if (c.predict == 1 && !near_caps(body, size, s->nmedia, EX_GROWTH))
			abort();
		return;
	}
	check_ex(s, out, n, &c.o, first_line_crlf(body, size));

	/* our output is a fixed point when our crypto line is not added twice */
	if ((strip || !c.o.crypto) &&
	    (sdp_rewrite_ex(out, n, &c.o, again, sizeof(again)) != n || memcmp(out, again, n)))
		abort();

	char *tight = malloc(n);
	if (!tight)
		return;
	if (sdp_rewrite_ex(body, size, &c.o, tight, n - 1) != 0 ||
	    sdp_rewrite_ex(body, size, &c.o, tight, n) != n || memcmp(tight, out, n) != 0)
		abort();
	free(tight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct sockaddr_storage relay = relay_for(size);
	const struct sockaddr *ra = (const struct sockaddr *)&relay;
	bool strip = size & 2;
	struct sdp s;
	const char *why = NULL;
	static char out[SDP_MAX_SIZE], again[SDP_MAX_SIZE];

	if (sdp_parse(body, size, &s, &why)) {
		struct sdp_rewrite_opts o = {.addr = ra, .ports = ports,
					     .nports = SDP_MAX_MEDIA, .media = (int)(size % 3) - 1};
		if (!why || sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, 9, strip, out,
					sizeof(out)) ||
		    sdp_rewrite_ex(body, size, &o, out, sizeof(out)))
			abort();
		return 0;
	}
	check_slices(&s, body, body + size);
	fuzz_ex(body, size, &s, ra, strip);

	size_t n = sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, size, strip, out,
			       sizeof(out));
	if (n == 0) {
		if (!near_caps(body, size, s.nmedia, 0))
			abort();
		return 0;
	}
	if (n > sizeof(out))
		abort();
	check_rewrite(&s, out, n, strip);

	/* our own output is a fixed point */
	if (sdp_rewrite(out, n, ra, ports, SDP_MAX_MEDIA, size, strip, again,
			sizeof(again)) != n || memcmp(out, again, n) != 0)
		abort();

	/* a buffer one byte short, sized exactly so ASan sees any overrun */
	char *tight = malloc(n);
	if (!tight)
		return 0;
	if (sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, size, strip, tight, n - 1) != 0 ||
	    sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, size, strip, tight, n) != n ||
	    memcmp(tight, out, n) != 0)
		abort();
	free(tight);
	return 0;
}
