/* SIP message indexing, stream framing and the stateless request checks.
 *
 * One pass over the start line and header section records slices and
 * checks what framing and transaction matching rest on: the start line,
 * header syntax, singletons, Call-ID, CSeq, Max-Forwards, Content-Length,
 * the presence of Via, From and To, and the Via count. The syntax of From,
 * To, Via and Contact is checked by sip_request_check(), so a response or
 * a retransmission absorbed by the transaction layer never pays for it.
 * No allocation, no copy, no reliance on NUL termination: messages
 * legitimately carry NUL octets. */
#include <errno.h>
#include <string.h>

#include "sip/msg.h"

/* ---- header names ---- */

/* Character classes, shared with msg_value.c (defined there). */
extern const uint8_t sip_char_class[256];
#define C_TOKEN 0x01

static inline bool is_token_ch(unsigned char c)
{
	return (sip_char_class[c] & C_TOKEN) != 0;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static bool mem_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* Known header names, lower case, sorted by length so a lookup only looks
 * at names of the right length. */
#define HN(lit, id) {lit, sizeof(lit) - 1, id}

static const struct {
	const char *name;
	unsigned char len;
	unsigned char id;
} hdr_names[] = {
	HN("to", SIP_H_TO),
	HN("via", SIP_H_VIA),
	HN("from", SIP_H_FROM),
	HN("cseq", SIP_H_CSEQ),
	HN("path", SIP_H_PATH),
	HN("route", SIP_H_ROUTE),
	HN("allow", SIP_H_ALLOW),
	HN("event", SIP_H_EVENT),
	HN("server", SIP_H_SERVER),
	HN("accept", SIP_H_ACCEPT),
	HN("call-id", SIP_H_CALL_ID),
	HN("contact", SIP_H_CONTACT),
	HN("expires", SIP_H_EXPIRES),
	HN("require", SIP_H_REQUIRE),
	HN("subject", SIP_H_SUBJECT),
	HN("refer-to", SIP_H_REFER_TO),
	HN("supported", SIP_H_SUPPORTED),
	HN("user-agent", SIP_H_USER_AGENT),
	HN("min-expires", SIP_H_MIN_EXPIRES),
	HN("unsupported", SIP_H_UNSUPPORTED),
	HN("referred-by", SIP_H_REFERRED_BY),
	HN("content-type", SIP_H_CONTENT_TYPE),
	HN("max-forwards", SIP_H_MAX_FORWARDS),
	HN("record-route", SIP_H_RECORD_ROUTE),
	HN("authorization", SIP_H_AUTHORIZATION),
	HN("proxy-require", SIP_H_PROXY_REQUIRE),
	HN("content-length", SIP_H_CONTENT_LENGTH),
	HN("www-authenticate", SIP_H_WWW_AUTHENTICATE),
	HN("content-encoding", SIP_H_CONTENT_ENCODING),
	HN("proxy-authenticate", SIP_H_PROXY_AUTHENTICATE),
	HN("proxy-authorization", SIP_H_PROXY_AUTHORIZATION),
};

/* Compact forms, RFC 3261 7.3.3 and the extensions that define one. */
static enum sip_hdr_id compact_hdr(unsigned char c)
{
	switch (lower(c)) {
	case 'v': return SIP_H_VIA;
	case 'f': return SIP_H_FROM;
	case 't': return SIP_H_TO;
	case 'i': return SIP_H_CALL_ID;
	case 'm': return SIP_H_CONTACT;
	case 'l': return SIP_H_CONTENT_LENGTH;
	case 'c': return SIP_H_CONTENT_TYPE;
	case 'k': return SIP_H_SUPPORTED;
	case 'o': return SIP_H_EVENT;
	case 'e': return SIP_H_CONTENT_ENCODING;
	case 's': return SIP_H_SUBJECT;
	case 'r': return SIP_H_REFER_TO;
	case 'b': return SIP_H_REFERRED_BY;
	default: return SIP_H_OTHER;
	}
}

/* `name` holds token characters only (the caller scanned it). For those,
 * OR-ing 0x20 lower-cases letters and leaves '-' and digits alone, and no
 * other token character lands on a letter or '-'. */
static bool name_eq(const char *name, const char *lc, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)(name[i] | 0x20) != (unsigned char)lc[i])
			return false;
	return true;
}

/* The whole name is compared: "Vias" or "qbkba" is never Via. */
static enum sip_hdr_id hdr_lookup(const char *name, size_t len)
{
	/* first entry of each length in hdr_names[] */
	static const unsigned char by_len[] = {
		0, 0, 0, 1, 2, 5, 8, 10, 15, 16, 17, 18, 21, 24, 26, 27, 27, 29, 29, 30, 31,
	};
	const unsigned char lc0 = (unsigned char)(name[0] | 0x20);

	if (len == 1)
		return compact_hdr((unsigned char)name[0]);
	if (len + 1 >= sizeof(by_len))
		return SIP_H_OTHER;
	for (unsigned i = by_len[len]; i < by_len[len + 1]; i++)
		if ((unsigned char)hdr_names[i].name[0] == lc0 &&
		    name_eq(name + 1, hdr_names[i].name + 1, len - 1))
			return (enum sip_hdr_id)hdr_names[i].id;
	return SIP_H_OTHER;
}

/* Headers that must appear at most once, with the reason we give. */
static const char *duplicate_reason(enum sip_hdr_id id)
{
	switch (id) {
	case SIP_H_CALL_ID: return "duplicate Call-ID";
	case SIP_H_CSEQ: return "duplicate CSeq";
	case SIP_H_FROM: return "duplicate From";
	case SIP_H_TO: return "duplicate To";
	case SIP_H_CONTENT_LENGTH: return "duplicate Content-Length";
	case SIP_H_MAX_FORWARDS: return "duplicate Max-Forwards";
	default: return NULL;
	}
}

/* ---- methods ---- */

static const char *const method_names[] = {
	[SIP_M_UNKNOWN] = "UNKNOWN",
	[SIP_M_INVITE] = "INVITE",
	[SIP_M_ACK] = "ACK",
	[SIP_M_BYE] = "BYE",
	[SIP_M_CANCEL] = "CANCEL",
	[SIP_M_REGISTER] = "REGISTER",
	[SIP_M_OPTIONS] = "OPTIONS",
	[SIP_M_PRACK] = "PRACK",
	[SIP_M_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_M_NOTIFY] = "NOTIFY",
	[SIP_M_PUBLISH] = "PUBLISH",
	[SIP_M_INFO] = "INFO",
	[SIP_M_REFER] = "REFER",
	[SIP_M_MESSAGE] = "MESSAGE",
	[SIP_M_UPDATE] = "UPDATE",
};

const char *sip_method_name(enum sip_method m)
{
	if ((unsigned)m >= sizeof(method_names) / sizeof(method_names[0]))
		return "UNKNOWN";
	return method_names[m];
}

/* Methods are case-sensitive (RFC 3261 7.1): "invite" is an extension. */
static enum sip_method method_lookup(struct sip_str s)
{
	for (unsigned i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
		const char *n = method_names[i];
		if (n[0] == s.p[0] && strncmp(n, s.p, s.len) == 0 && n[s.len] == '\0')
			return (enum sip_method)i;
	}
	return SIP_M_UNKNOWN;
}

/* ---- character helpers ---- */

static inline bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct sip_str mkstr(const char *p, const char *end)
{
	return (struct sip_str){p, (size_t)(end - p)};
}

static struct sip_str trim(const char *p, const char *end)
{
	while (p < end && is_lws((unsigned char)*p))
		p++;
	while (end > p && is_lws((unsigned char)end[-1]))
		end--;
	return mkstr(p, end);
}

static bool all_token(struct sip_str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_token_ch((unsigned char)s.p[i]))
			return false;
	return true;
}

/* ---- header access ---- */

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_H__COUNT || m->first[id] < 0)
		return NULL;
	return &m->hdrs[m->first[id]];
}

const struct sip_hdr *sip_msg_next_hdr(const struct sip_msg *m,
				       const struct sip_hdr *prev)
{
	size_t i = (size_t)(prev - m->hdrs) + 1;

	for (; i < m->nhdrs; i++)
		if (m->hdrs[i].id == prev->id)
			return &m->hdrs[i];
	return NULL;
}

/* ---- parsing ---- */

struct pctx {
	struct sip_msg *m;
	struct sip_parse_error *err;
	const char *b;   /* message start (after leading CRLFs) */
	size_t len;
	bool response;
};

/* Responses are never answered: any fault in one means drop (status 0). */
static int fail(struct pctx *c, int status, const char *reason)
{
	c->err->status = c->response ? 0 : status;
	c->err->reason = reason;
	return EBADMSG;
}

/* Finds the CRLF ending the line at `pos` within `limit`; returns the
 * index of its CR, or -1 (none), -2 (bare LF or CR). */
static long line_end(const char *b, size_t pos, size_t limit)
{
	const char *nl = memchr(b + pos, '\n', limit - pos);
	size_t i;

	if (!nl)
		return -1;
	i = (size_t)(nl - b);
	if (i == pos || b[i - 1] != '\r' || memchr(b + pos, '\r', i - 1 - pos))
		return -2;
	return (long)(i - 1);
}

static bool version_like(struct sip_str v)
{
	size_t i = 4, d;

	if (v.len < 7 || !mem_ieq(v.p, "SIP/", 4))
		return false;
	for (d = i; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
		;
	if (i == d || i == v.len || v.p[i] != '.')
		return false;
	for (d = ++i; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
		;
	return i != d && i == v.len;
}

static int parse_status_line(struct pctx *c, struct sip_str line)
{
	struct sip_msg *m = c->m;
	const char *p = line.p, *end = line.p + line.len;
	uint64_t code;

	if (line.len < 11 || memcmp(p, "SIP/2.0 ", 8) != 0)
		return fail(c, 0, "malformed Status-Line");
	p += 8;
	if (sip_parse_uint(mkstr(p, p + 3), 699, &code) || code < 100 ||
	    (p + 3 < end && p[3] != ' '))
		return fail(c, 0, "bad status code");
	m->status = (unsigned)code;
	p += 3;
	/* RFC 4475 3.1.1.13: the SP before an empty reason may be missing */
	m->reason = p < end ? mkstr(p + 1, end) : mkstr(end, end);
	return 0;
}

static int parse_request_line(struct pctx *c, struct sip_str line)
{
	struct sip_msg *m = c->m;
	const char *p = line.p, *end = line.p + line.len, *q;
	struct sip_str ver;
	struct sip_uri u;

	for (q = p; q < end && is_token_ch((unsigned char)*q); q++)
		;
	if (q == p || q == end || *q != ' ')
		return fail(c, 0, "not a SIP message");
	m->method_str = mkstr(p, q);
	m->method = method_lookup(m->method_str);
	p = q + 1;
	q = memchr(p, ' ', (size_t)(end - p));
	if (!q)
		return fail(c, 400, "Request-Line without SIP-Version");
	if (q == p)
		return fail(c, 400, "extra space in Request-Line");
	m->ruri = mkstr(p, q);
	ver = mkstr(q + 1, end);
	if (!(ver.len == 7 && mem_ieq(ver.p, "SIP/2.0", 7))) {
		if (version_like(ver))
			return fail(c, 505, "SIP version not supported");
		return fail(c, 400, "malformed Request-Line");
	}
	for (q = m->ruri.p; q < m->ruri.p + m->ruri.len; q++)
		if ((unsigned char)*q < 0x21 || *q == 0x7f)
			return fail(c, 400, "control octet in Request-URI");
	if (sip_uri_parse(m->ruri, &u))
		return fail(c, 400, "bad Request-URI");
	if (u.headers.p)
		return fail(c, 400, "headers in Request-URI");
	return 0;
}

static int parse_start_line(struct pctx *c, size_t *pos)
{
	size_t limit = c->len < SIP_MAX_LINE_LEN + 2 ? c->len : SIP_MAX_LINE_LEN + 2;
	long cr = line_end(c->b, 0, limit);
	struct sip_str line;

	if (cr == -1) {
		if (c->len > limit)
			return fail(c, 400, "start line too long");
		return fail(c, 0, "no end of start line");
	}
	if (cr < 0)
		return fail(c, 0, "bare CR or LF in start line");
	line = mkstr(c->b, c->b + cr);
	*pos = (size_t)cr + 2;
	if (c->response)
		return parse_status_line(c, line);
	c->m->is_request = true;
	return parse_request_line(c, line);
}

/* One header field, folded continuation lines included. */
static int parse_header(struct pctx *c, size_t *posp)
{
	struct sip_msg *m = c->m;
	const char *b = c->b;
	size_t pos = *posp, ns = pos, ne, vs, limit;
	enum sip_hdr_id id;
	struct sip_hdr *h;
	long cr;

	/* Everything of this field, name included, lies below `limit`. */
	limit = c->len - ns > SIP_MAX_LINE_LEN + 2 ? ns + SIP_MAX_LINE_LEN + 2 : c->len;
	if (is_wsp((unsigned char)b[pos]))
		return fail(c, 400, "continuation line without a header");
	while (pos < limit && is_token_ch((unsigned char)b[pos]))
		pos++;
	ne = pos;
	if (ne == ns)
		return fail(c, 400, "malformed header name");
	while (pos < limit && is_wsp((unsigned char)b[pos]))
		pos++;
	if (pos >= limit)
		return fail(c, 400, limit < c->len ? "header line too long"
						  : "header line without colon");
	if (b[pos] != ':')
		return fail(c, 400, "header line without colon");
	vs = ++pos;

	for (;;) {
		cr = line_end(b, pos, limit);
		if (cr == -1)
			return fail(c, 400, limit < c->len ? "header line too long"
							   : "headers not terminated by an empty line");
		if (cr == -2)
			return fail(c, 400, "bare CR or LF in header");
		pos = (size_t)cr + 2;
		if (pos < c->len && is_wsp((unsigned char)b[pos]))
			continue; /* folded: part of this value */
		break;
	}
	if (pos - ns > SIP_MAX_LINE_LEN + 2)
		return fail(c, 400, "header line too long");

	id = hdr_lookup(b + ns, ne - ns);
	if (m->nhdrs >= SIP_MAX_HEADERS)
		return fail(c, 400, "too many header fields");
	if (m->count[id] && duplicate_reason(id))
		return fail(c, 400, duplicate_reason(id));
	h = &m->hdrs[m->nhdrs];
	h->id = id;
	h->name = mkstr(b + ns, b + ne);
	h->value = trim(b + vs, b + cr);
	if (m->first[id] < 0)
		m->first[id] = (int)m->nhdrs;
	m->count[id]++;
	m->nhdrs++;
	*posp = pos;
	return 0;
}

static int check_call_id(struct pctx *c)
{
	const struct sip_hdr *h = sip_msg_hdr(c->m, SIP_H_CALL_ID);

	if (!h)
		return fail(c, 400, "missing Call-ID");
	if (h->value.len == 0)
		return fail(c, 400, "empty Call-ID");
	/* Records keep this many bytes of it: two longer Call-IDs alike in
	 * those would be one call in the CDRs and the live calls. */
	if (h->value.len > SIP_MAX_CALL_ID_LEN)
		return fail(c, 400, "Call-ID too long");
	for (size_t i = 0; i < h->value.len; i++) {
		unsigned char ch = (unsigned char)h->value.p[i];
		if (ch <= 0x20 || ch == 0x7f)
			return fail(c, 400, "bad Call-ID");
	}
	c->m->call_id = h->value;
	return 0;
}

static int check_cseq(struct pctx *c)
{
	struct sip_msg *m = c->m;
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_CSEQ);
	const char *p, *q, *end;
	uint64_t n;

	if (!h)
		return fail(c, 400, "missing CSeq");
	p = h->value.p;
	end = p + h->value.len;
	for (q = p; q < end && *q >= '0' && *q <= '9'; q++)
		;
	if (sip_parse_uint(mkstr(p, q), SIP_MAX_UINT32, &n))
		return fail(c, 400, "bad CSeq number");
	p = q;
	while (q < end && is_lws((unsigned char)*q))
		q++;
	if (q == p)
		return fail(c, 400, "bad CSeq");
	m->cseq = (uint32_t)n;
	m->cseq_method = mkstr(q, end);
	if (!all_token(m->cseq_method))
		return fail(c, 400, "bad CSeq method");
	/* An unknown method with a mismatching CSeq is answered 501 by
	 * sip_request_check (RFC 4475 3.1.2.18); a known one is a 400. */
	if (m->is_request && m->method != SIP_M_UNKNOWN &&
	    !sip_str_eq_str(m->cseq_method, m->method_str))
		return fail(c, 400, "CSeq method does not match the Request-Line");
	return 0;
}

/* Via is required, and its values are counted against SIP_MAX_VIA here;
 * their syntax is checked by sip_request_check() (and by whoever reads a
 * response's Via), so a retransmission or a response costs no Via parse. */
static int check_via_count(struct pctx *c)
{
	const struct sip_hdr *h = sip_msg_hdr(c->m, SIP_H_VIA);
	unsigned n = 0;

	if (!h)
		return fail(c, 400, "missing Via");
	for (; h; h = sip_msg_next_hdr(c->m, h)) {
		struct sip_list_iter it;
		struct sip_str e;
		int r, here = 0;

		sip_list_init(&it, h->value);
		while ((r = sip_list_next(&it, &e)) == 1) {
			here++;
			if (++n > SIP_MAX_VIA)
				return fail(c, 400, "too many Via values");
		}
		if (r < 0 || !here)
			return fail(c, 400, "bad Via");
	}
	return 0;
}

/* Route and Record-Route values are bounded like Via: a proxy chain is a
 * few hops, and thousands of entries are work for nothing. Counted only
 * where the headers appear, so most messages pay nothing. */
static int check_route_count(struct pctx *c, enum sip_hdr_id id)
{
	unsigned n = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(c->m, id); h; h = sip_msg_next_hdr(c->m, h)) {
		struct sip_list_iter it;
		struct sip_str e;

		sip_list_init(&it, h->value);
		while (sip_list_next(&it, &e) == 1) {
			if (++n > SIP_MAX_ROUTES)
				return fail(c, 400, id == SIP_H_ROUTE ? "too many Route values" :
					    "too many Record-Route values");
		}
	}
	return 0;
}

static int check_max_forwards(struct pctx *c)
{
	const struct sip_hdr *h = sip_msg_hdr(c->m, SIP_H_MAX_FORWARDS);
	uint64_t v;

	if (!h)
		return 0;
	if (sip_parse_uint(h->value, SIP_MAX_MAX_FORWARDS, &v))
		return fail(c, 400, "bad Max-Forwards");
	c->m->max_forwards = (int)v;
	return 0;
}

/* RFC 3261 18.3: over UDP the datagram may hold more than Content-Length
 * says (ignored) but never less; a stream message must carry it. */
static int check_body(struct pctx *c, size_t hend, enum sip_transport tp)
{
	struct sip_msg *m = c->m;
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_CONTENT_LENGTH);
	uint64_t cl;

	if (!h) {
		if (tp != SIP_TP_UDP)
			return fail(c, 400, "missing Content-Length");
		m->body = mkstr(c->b + hend, c->b + c->len);
		m->len = c->len;
		return 0;
	}
	if (sip_parse_uint(h->value, SIP_MAX_CONTENT_LENGTH, &cl))
		return fail(c, 400, "bad Content-Length");
	if (cl > c->len - hend)
		return fail(c, 400, "Content-Length larger than message");
	m->body = mkstr(c->b + hend, c->b + hend + cl);
	m->len = hend + (size_t)cl;
	return 0;
}

static void msg_init(struct sip_msg *m, const char *buf, size_t len)
{
	m->buf = buf;
	m->len = len;
	m->is_request = false;
	m->method = SIP_M_UNKNOWN;
	m->method_str = SIP_STR_NULL;
	m->ruri = SIP_STR_NULL;
	m->status = 0;
	m->reason = SIP_STR_NULL;
	m->nhdrs = 0;
	for (unsigned i = 0; i < SIP_H__COUNT; i++) {
		m->first[i] = -1;
		m->count[i] = 0;
	}
	m->cseq = 0;
	m->cseq_method = SIP_STR_NULL;
	m->max_forwards = -1;
	m->call_id = SIP_STR_NULL;
	m->body = SIP_STR_NULL;
}

int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len,
		  enum sip_transport tp, struct sip_parse_error *err)
{
	struct pctx c = {.m = m, .err = err};
	size_t off = 0, pos;
	int r;

	err->status = 0;
	err->reason = NULL;
	err->unsupported = SIP_STR_NULL;
	/* RFC 3261 7.5: CRLFs before the start line are ignored. */
	while (off < len && (buf[off] == '\r' || buf[off] == '\n'))
		off++;
	c.b = buf + off;
	c.len = len - off;
	msg_init(m, c.b, c.len);
	if (c.len == 0)
		return fail(&c, 0, "empty message");
	c.response = c.len >= 4 && memcmp(c.b, "SIP/", 4) == 0;
	if (len > SIP_MAX_MSG_SIZE)
		return fail(&c, 513, "message too large");

	if ((r = parse_start_line(&c, &pos)))
		return r;
	for (;;) {
		if (pos + 1 < c.len && c.b[pos] == '\r' && c.b[pos + 1] == '\n') {
			pos += 2;
			break;
		}
		if (pos >= c.len)
			return fail(&c, 400, "headers not terminated by an empty line");
		if ((r = parse_header(&c, &pos)))
			return r;
	}

	if ((r = check_call_id(&c)) || (r = check_cseq(&c)))
		return r;
	if (!sip_msg_hdr(m, SIP_H_FROM))
		return fail(&c, 400, "missing From");
	if (!sip_msg_hdr(m, SIP_H_TO))
		return fail(&c, 400, "missing To");
	if ((r = check_via_count(&c)) || (r = check_route_count(&c, SIP_H_ROUTE)) ||
	    (r = check_route_count(&c, SIP_H_RECORD_ROUTE)) || (r = check_max_forwards(&c)) ||
	    (r = check_body(&c, pos, tp)))
		return r;
	return 0;
}

/* ---- stream framing ---- */

/* Content-Length of the header section [0, hend): EBADMSG when missing,
 * duplicated or not a number within the cap. */
static int frame_content_length(const char *b, size_t hend, uint64_t *cl)
{
	const char *end = b + hend, *p = memchr(b, '\n', hend);
	bool seen = false;

	while (p && p + 1 < end) {
		const char *ns = p + 1, *q = ns, *ve;

		p = memchr(ns, '\n', (size_t)(end - ns));
		if (!p)
			break;
		/* the field runs on over folded lines */
		while (p + 1 < end && is_wsp((unsigned char)p[1]))
			p = memchr(p + 1, '\n', (size_t)(end - p - 1));
		if (!p)
			break;
		ve = p;
		while (q < ve && is_token_ch((unsigned char)*q))
			q++;
		if (hdr_lookup(ns, (size_t)(q - ns)) != SIP_H_CONTENT_LENGTH || q == ns)
			continue;
		while (q < ve && is_wsp((unsigned char)*q))
			q++;
		if (q == ve || *q != ':')
			continue;
		if (seen)
			return EBADMSG;
		seen = true;
		if (sip_parse_uint(trim(q + 1, ve), SIP_MAX_CONTENT_LENGTH, cl))
			return EBADMSG;
	}
	return seen ? 0 : EBADMSG;
}

int sip_frame(const char *buf, size_t len, size_t *msglen)
{
	size_t lim = len < SIP_MAX_MSG_SIZE ? len : SIP_MAX_MSG_SIZE, hend, n = 0;
	const char *e;
	uint64_t cl;

	if (!buf || len == 0)
		return EAGAIN;
	if (buf[0] == '\r' || buf[0] == '\n') {
		while (n < len && (buf[n] == '\r' || buf[n] == '\n'))
			n++;
		*msglen = n;
		return 0;
	}
	e = memmem(buf, lim, "\r\n\r\n", 4);
	if (!e)
		return len >= SIP_MAX_MSG_SIZE ? EBADMSG : EAGAIN;
	hend = (size_t)(e - buf) + 4;
	if (frame_content_length(buf, hend - 2, &cl))
		return EBADMSG;
	if (hend + cl > SIP_MAX_MSG_SIZE)
		return EBADMSG;
	if (len < hend + cl)
		return EAGAIN;
	*msglen = hend + (size_t)cl;
	return 0;
}

/* ---- stateless request checks ---- */

/* Option tags we implement. None yet: a peer that requires 100rel, timer
 * or anything else gets 420 up front instead of a call that half works.
 * Add a tag here only together with its implementation. */
static const char *const supported_tags[] = {NULL};

static bool tag_supported(struct sip_str tag)
{
	for (const char *const *t = supported_tags; *t; t++)
		if (sip_str_ieq(tag, *t))
			return true;
	return false;
}

static int verdict(struct sip_parse_error *err, int status, const char *reason)
{
	err->status = status;
	err->reason = reason;
	return EBADMSG;
}

/* ---- syntax of the fields an answer is built from ---- */

static int syntax_addr(const struct sip_msg *m, enum sip_hdr_id id, const char *bad,
		       struct sip_parse_error *err)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	struct sip_nameaddr na;

	if (!h || sip_nameaddr_parse(h->value, &na))
		return verdict(err, 400, bad);
	return 0;
}

static int syntax_vias(const struct sip_msg *m, struct sip_parse_error *err)
{
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_VIA); h; h = sip_msg_next_hdr(m, h)) {
		struct sip_str v = h->value, rest;
		struct sip_via via;

		do {
			if (sip_via_parse(v, &via, &rest))
				return verdict(err, 400, "bad Via");
			v = rest;
		} while (v.len);
	}
	return 0;
}

static int syntax_contacts(const struct sip_msg *m, struct sip_parse_error *err)
{
	unsigned n = 0;
	bool star = false;

	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_H_CONTACT); h; h = sip_msg_next_hdr(m, h)) {
		struct sip_list_iter it;
		struct sip_str e;
		struct sip_nameaddr na;
		int r;
		bool any = false;

		sip_list_init(&it, h->value);
		while ((r = sip_list_next(&it, &e)) == 1) {
			any = true;
			if (e.len == 1 && e.p[0] == '*') {
				if (n || star)
					return verdict(err, 400, "Contact * with other contacts");
				star = true;
				continue;
			}
			if (star)
				return verdict(err, 400, "Contact * with other contacts");
			if (sip_nameaddr_parse(e, &na))
				return verdict(err, 400, "bad Contact");
			n++;
		}
		if (r < 0 || !any)
			return verdict(err, 400, "bad Contact");
	}
	return 0;
}

static int check_option_tags(const struct sip_msg *m, enum sip_hdr_id id,
			     struct sip_parse_error *err)
{
	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_next_hdr(m, h)) {
		struct sip_list_iter it;
		struct sip_str tag;
		int r;

		sip_list_init(&it, h->value);
		while ((r = sip_list_next(&it, &tag)) == 1) {
			if (!all_token(tag))
				return verdict(err, 400, id == SIP_H_REQUIRE ? "bad Require"
									    : "bad Proxy-Require");
			if (!tag_supported(tag)) {
				err->unsupported = h->value;
				return verdict(err, 420, "unsupported option tag");
			}
		}
		if (r < 0)
			return verdict(err, 400, id == SIP_H_REQUIRE ? "bad Require"
								    : "bad Proxy-Require");
	}
	return 0;
}

/* type "/" subtype of a media-type, without parameters */
static struct sip_str media_type(struct sip_str v)
{
	const char *semi = memchr(v.p, ';', v.len);
	return trim(v.p, semi ? semi : v.p + v.len);
}

static bool is_sdp(struct sip_str t)
{
	return sip_str_ieq(t, "application/sdp");
}

/* RFC 3261 20.1 / RFC 2616 14.1: a range with q=0 is one the sender
 * refuses. qvalue is "0" with up to three decimals, or "1". */
static bool q_is_zero(struct sip_str range)
{
	const char *semi = memchr(range.p, ';', range.len);
	struct sip_str params, q;

	if (!semi)
		return false;
	params.p = semi + 1;
	params.len = range.len - (size_t)(params.p - range.p);
	if (!sip_param_find(params, "q", &q) || q.len == 0 || q.p[0] != '0')
		return false;
	for (size_t i = 1; i < q.len; i++) {
		if (q.p[i] != '0' && !(i == 1 && q.p[i] == '.'))
			return false;
	}
	return true;
}

static bool accepts_sdp(struct sip_str range)
{
	struct sip_str t = media_type(range);

	return (is_sdp(t) || sip_str_ieq(t, "application/*") || sip_str_eq(t, "*/*")) &&
	       !q_is_zero(range);
}

static int check_invite_body(const struct sip_msg *m, struct sip_parse_error *err)
{
	const struct sip_hdr *h;

	if (m->body.len) {
		h = sip_msg_hdr(m, SIP_H_CONTENT_TYPE);
		if (!h)
			return verdict(err, 400, "body without Content-Type");
		if (!is_sdp(media_type(h->value)))
			return verdict(err, 415, "unsupported Content-Type");
		for (h = sip_msg_hdr(m, SIP_H_CONTENT_ENCODING); h;
		     h = sip_msg_next_hdr(m, h)) {
			struct sip_list_iter it;
			struct sip_str enc;

			sip_list_init(&it, h->value);
			while (sip_list_next(&it, &enc) == 1)
				if (!sip_str_ieq(enc, "identity"))
					return verdict(err, 415, "unsupported Content-Encoding");
		}
	}
	h = sip_msg_hdr(m, SIP_H_ACCEPT);
	if (!h)
		return 0;
	for (; h; h = sip_msg_next_hdr(m, h)) {
		struct sip_list_iter it;
		struct sip_str range;

		sip_list_init(&it, h->value);
		while (sip_list_next(&it, &range) == 1) {
			if (accepts_sdp(range))
				return 0;
		}
	}
	return verdict(err, 406, "Accept does not allow application/sdp");
}

static bool is_sip_uri_scheme(struct sip_str uri)
{
	struct sip_uri u;

	if (sip_uri_parse(uri, &u))
		return false;
	return sip_str_ieq(u.scheme, "sip") || sip_str_ieq(u.scheme, "sips");
}

int sip_request_check(const struct sip_msg *m, struct sip_parse_error *err)
{
	int r;

	err->status = 0;
	err->reason = NULL;
	err->unsupported = SIP_STR_NULL;
	if (!m->is_request)
		return 0;
	/* RFC 3261 8.2: a malformed request is a 400 before anything else */
	if ((r = syntax_addr(m, SIP_H_FROM, "bad From", err)) ||
	    (r = syntax_addr(m, SIP_H_TO, "bad To", err)) || (r = syntax_vias(m, err)) ||
	    (r = syntax_contacts(m, err)))
		return r;
	if (m->method == SIP_M_UNKNOWN)
		return verdict(err, 501, "method not implemented");
	if (!is_sip_uri_scheme(m->ruri))
		return verdict(err, 416, "unsupported Request-URI scheme");
	if (m->method == SIP_M_REGISTER) {
		const struct sip_hdr *to = sip_msg_hdr(m, SIP_H_TO);
		struct sip_nameaddr na;

		/* RFC 3261 10.3: the address of record must be SIP or SIPS */
		if (!to || sip_nameaddr_parse(to->value, &na) || !is_sip_uri_scheme(na.uri))
			return verdict(err, 400, "To is not a SIP URI");
	}
	/* ACK and CANCEL get no answer to carry an Unsupported header. */
	if (m->method != SIP_M_ACK && m->method != SIP_M_CANCEL) {
		if ((r = check_option_tags(m, SIP_H_REQUIRE, err)) ||
		    (r = check_option_tags(m, SIP_H_PROXY_REQUIRE, err)))
			return r;
	}
	if (m->method == SIP_M_INVITE)
		return check_invite_body(m, err);
	return 0;
}
