/* libFuzzer harness for the SIP parser: the message parser over UDP and a
 * stream transport, stream framing, the stateless request checks, and every
 * value parser over the header fields of each message that parses. Besides
 * the sanitizers, it checks that every slice handed out lies inside the
 * input, which is the parser's core promise.
 *
 * Build: CC=clang cmake -S . -B build-fuzz -DRF_FUZZ=ON -DRF_TESTS=OFF */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"

static const char *in_lo, *in_hi;

/* Slices must lie inside the input (or be empty). */
static void in_input(struct sip_str s)
{
	if (s.len == 0)
		return;
	if (!s.p || s.p < in_lo || s.p + s.len > in_hi || s.p + s.len < s.p)
		abort();
}

static void uri(struct sip_str s)
{
	struct sip_uri u;

	if (sip_uri_parse(s, &u) == 0) {
		in_input(u.scheme);
		in_input(u.user);
		in_input(u.password);
		in_input(u.host);
		in_input(u.params);
		in_input(u.headers);
		sip_param_find(u.params, "transport", NULL);
	}
}

static void nameaddr(struct sip_str s)
{
	struct sip_nameaddr na;
	struct sip_str v;

	if (sip_nameaddr_parse(s, &na) == 0) {
		in_input(na.display);
		in_input(na.uri);
		in_input(na.params);
		in_input(na.tag);
		uri(na.uri);
		if (sip_param_find(na.params, "expires", &v))
			in_input(v);
	}
}

static void list(struct sip_str v, void (*each)(struct sip_str))
{
	struct sip_str parts[SIP_MAX_PARAMS];
	int n = sip_split_commas(v, parts, SIP_MAX_PARAMS);

	for (int i = 0; i < n; i++) {
		in_input(parts[i]);
		each(parts[i]);
	}
}

static void uint_any(struct sip_str s)
{
	uint64_t v;

	if (sip_parse_uint(s, 255, &v) == 0 && v > 255)
		abort();
	if (sip_parse_uint(s, SIP_MAX_UINT32, &v) == 0 && v > SIP_MAX_UINT32)
		abort();
}

static void vias(struct sip_str v)
{
	struct sip_via via;
	struct sip_str rest;
	unsigned guard = 0;

	while (v.len && sip_via_parse(v, &via, &rest) == 0) {
		in_input(via.transport);
		in_input(via.host);
		in_input(via.branch);
		in_input(via.params);
		in_input(rest);
		if (rest.len >= v.len || ++guard > 4096)
			abort(); /* must make progress */
		v = rest;
	}
}

static void digest(struct sip_str v)
{
	struct sip_digest_cred c;

	if (sip_digest_cred_parse(v, &c) == 0) {
		in_input(c.scheme);
		in_input(c.username);
		in_input(c.realm);
		in_input(c.nonce);
		in_input(c.uri);
		in_input(c.response);
		in_input(c.cnonce);
		in_input(c.nc);
	}
}

static void value_parsers(const struct sip_msg *m)
{
	struct sip_contact contacts[SIP_MAX_CONTACTS_PER_REGISTER];
	struct sip_parse_error err;
	size_t n;
	bool star;

	in_input(m->ruri);
	in_input(m->method_str);
	in_input(m->reason);
	in_input(m->call_id);
	in_input(m->cseq_method);
	in_input(m->body);
	uri(m->ruri);
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		in_input(h->name);
		in_input(h->value);
		uint_any(h->value);
		switch (h->id) {
		case SIP_H_VIA:
			vias(h->value);
			break;
		case SIP_H_FROM:
		case SIP_H_TO:
		case SIP_H_REFER_TO:
		case SIP_H_REFERRED_BY:
			nameaddr(h->value);
			break;
		case SIP_H_CONTACT:
		case SIP_H_ROUTE:
		case SIP_H_RECORD_ROUTE:
		case SIP_H_PATH:
			list(h->value, nameaddr);
			break;
		case SIP_H_AUTHORIZATION:
		case SIP_H_PROXY_AUTHORIZATION:
		case SIP_H_WWW_AUTHENTICATE:
		case SIP_H_PROXY_AUTHENTICATE:
			digest(h->value);
			break;
		default:
			list(h->value, uri);
			break;
		}
	}
	if (sip_contacts_parse(m, contacts, SIP_MAX_CONTACTS_PER_REGISTER, &n, &star) == 0) {
		if (n > SIP_MAX_CONTACTS_PER_REGISTER || (star && n))
			abort();
		for (size_t i = 0; i < n; i++)
			in_input(contacts[i].na.uri);
	}
	if (sip_request_check(m, &err) != 0) {
		if (err.status < 400 || err.status > 599)
			abort();
		in_input(err.unsupported);
	}
}

/* Returns the parsed length, or 0 when the message was refused. */
static size_t parse_one(const char *p, size_t len, enum sip_transport tp)
{
	static struct sip_msg m;
	struct sip_parse_error err;

	if (sip_msg_parse(&m, p, len, tp, &err) == 0) {
		if (m.len > len || m.nhdrs > SIP_MAX_HEADERS)
			abort();
		value_parsers(&m);
		return m.len;
	}
	if (!err.reason || (err.status && (err.status < 400 || err.status > 599)))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0, msglen;

	in_lo = buf;
	in_hi = buf + size;
	parse_one(buf, size, SIP_TP_UDP);

	/* The same bytes as a TCP stream: frame, then parse each message. */
	while (off < size) {
		int r = sip_frame(buf + off, size - off, &msglen);
		if (r != 0)
			break;
		if (msglen == 0 || msglen > size - off)
			abort();
		/* framing and parsing agree on where a message ends */
		size_t parsed = parse_one(buf + off, msglen, SIP_TP_TCP);
		if (parsed && parsed != msglen)
			abort();
		off += msglen;
	}
	return 0;
}
