/* libFuzzer harness for SDP: parse the input, rewrite it as the B2BUA
 * does, and check what the B2BUA relies on: every slice lies inside the
 * body, a parsed body is rewritten unless the result would break a cap,
 * the rewrite parses back to the relay's ports, a short buffer gets 0 and
 * no write past its end, and rewriting our own output changes nothing. */
#include <arpa/inet.h>
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
 * per line, and changed lines grow. */
static bool near_caps(const char *p, size_t len, unsigned nmedia)
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
	return len + lines + GROWTH_PER_LINE * (2 + 3 * (size_t)nmedia) > SDP_MAX_SIZE ||
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
		if (!why || sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, 9, strip, out,
					sizeof(out)))
			abort();
		return 0;
	}
	check_slices(&s, body, body + size);

	size_t n = sdp_rewrite(body, size, ra, ports, SDP_MAX_MEDIA, size, strip, out,
			       sizeof(out));
	if (n == 0) {
		if (!near_caps(body, size, s.nmedia))
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
