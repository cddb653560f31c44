/* Value parsers for SIP header fields (RFC 3261 25.1 grammar).
 *
 * Each parser takes a borrowed slice, never reads outside it, never writes
 * to it and never allocates. They are strict where leniency would let two
 * elements read the same bytes differently (a proxy and a phone disagreeing
 * on where a URI ends is how smuggling starts), and accept the folded
 * whitespace the grammar allows everywhere. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sip/msg.h"

/* ---- character classes ---- */

/* One table lookup per octet: the parser's inner loops are all "skip while
 * the octet is in class X". Built with range designators (GNU C, also
 * accepted by clang). */
enum {
	C_TOKEN = 0x01,  /* token (RFC 3261 25.1) */
	C_USER = 0x02,   /* URI user: unreserved / user-unreserved */
	C_PASS = 0x04,   /* URI password */
	C_PARAM = 0x08,  /* URI paramchar */
	C_HDR = 0x10,    /* URI hname / hvalue */
	C_HOST = 0x20,   /* host name or IPv4 ('_' tolerated, see below) */
	C_LWS = 0x40,    /* SP, HTAB and the CR LF of a folded line */
	C_GENV = 0x80,   /* generic-param value: token, host, IPv6 */
};

#define C_ALNUM (C_TOKEN | C_USER | C_PASS | C_PARAM | C_HDR | C_HOST | C_GENV)
#define C_UNRES (C_USER | C_PASS | C_PARAM | C_HDR)

/* '_' is not a host character in the grammar, but real devices put it in
 * host names and accepting it cannot move the end of the host. */
const uint8_t sip_char_class[256] = {
	['a' ... 'z'] = C_ALNUM,
	['A' ... 'Z'] = C_ALNUM,
	['0' ... '9'] = C_ALNUM,
	['-'] = C_UNRES | C_TOKEN | C_GENV | C_HOST,
	['_'] = C_UNRES | C_TOKEN | C_GENV | C_HOST,
	['.'] = C_UNRES | C_TOKEN | C_GENV | C_HOST,
	['!'] = C_UNRES | C_TOKEN | C_GENV,
	['~'] = C_UNRES | C_TOKEN | C_GENV,
	['*'] = C_UNRES | C_TOKEN | C_GENV,
	['\''] = C_UNRES | C_TOKEN | C_GENV,
	['('] = C_UNRES,
	[')'] = C_UNRES,
	['%'] = C_TOKEN | C_GENV,
	['+'] = C_UNRES | C_TOKEN | C_GENV,
	['`'] = C_TOKEN | C_GENV,
	['&'] = C_USER | C_PASS | C_PARAM,
	['='] = C_USER | C_PASS,
	['$'] = C_USER | C_PASS | C_PARAM | C_HDR,
	[','] = C_USER | C_PASS,
	[';'] = C_USER,
	['?'] = C_USER | C_HDR,
	['/'] = C_USER | C_PARAM | C_HDR,
	['['] = C_PARAM | C_HDR | C_GENV,
	[']'] = C_PARAM | C_HDR | C_GENV,
	[':'] = C_PARAM | C_HDR | C_GENV,
	[' '] = C_LWS,
	['\t'] = C_LWS,
	['\r'] = C_LWS,
	['\n'] = C_LWS,
};

#define IS(c, cls) ((sip_char_class[(unsigned char)(c)] & (cls)) != 0)

static inline bool is_alpha(unsigned char c)
{
	c |= 0x20;
	return c >= 'a' && c <= 'z';
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static inline bool is_hex(unsigned char c)
{
	unsigned char l = c | 0x20;
	return is_digit(c) || (l >= 'a' && l <= 'f');
}

static inline bool is_lws(unsigned char c)
{
	return IS(c, C_LWS);
}

static inline bool is_token_ch(unsigned char c)
{
	return IS(c, C_TOKEN);
}

static inline bool is_host_ch(unsigned char c)
{
	return IS(c, C_HOST);
}

static inline bool is_gen_value_ch(unsigned char c)
{
	return IS(c, C_GENV);
}

/* ---- small helpers ---- */

static const char *skip_lws(const char *p, const char *end)
{
	while (p < end && is_lws((unsigned char)*p))
		p++;
	return p;
}

static struct sip_str mkstr(const char *p, const char *end)
{
	return (struct sip_str){p, (size_t)(end - p)};
}

static struct sip_str trim(const char *p, const char *end)
{
	p = skip_lws(p, end);
	while (end > p && is_lws((unsigned char)end[-1]))
		end--;
	return mkstr(p, end);
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

/* Case-insensitive compare of token characters (the caller scanned them)
 * with a lower-case literal: for token octets, OR-ing 0x20 lower-cases
 * letters, keeps digits and "-.!%*+'~`" as they are, and maps nothing else
 * onto a letter. */
static inline bool tok_ieq(const char *a, const char *lc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)(a[i] | 0x20) != (unsigned char)lc[i])
			return false;
	return true;
}

static inline bool ieq_n(struct sip_str a, const char *lit, size_t n)
{
	return a.len == n && tok_ieq(a.p, lit, n);
}
#define IEQ(a, lit) ieq_n((a), (lit), sizeof(lit) - 1)

bool sip_str_eq(struct sip_str a, const char *lit)
{
	size_t n = strlen(lit);
	return a.len == n && (n == 0 || memcmp(a.p, lit, n) == 0);
}

bool sip_str_ieq(struct sip_str a, const char *lit)
{
	size_t n = strlen(lit);
	return a.len == n && mem_ieq(a.p, lit, n);
}

bool sip_str_eq_str(struct sip_str a, struct sip_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

struct sip_str sip_str_from(const char *cstr)
{
	if (!cstr)
		return SIP_STR_NULL;
	return (struct sip_str){cstr, strlen(cstr)};
}

/* [p, end) made only of `ok` characters and %HH escapes. Empty is fine;
 * callers check emptiness where the grammar needs 1*. */
static bool chars_ok(const char *p, const char *end, uint8_t cls)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '%') {
			if (end - p < 3 || !is_hex((unsigned char)p[1]) ||
			    !is_hex((unsigned char)p[2]))
				return false;
			p += 3;
			continue;
		}
		if (!IS(c, cls))
			return false;
		p++;
	}
	return true;
}

/* p at an opening '"'. Returns the octet after the closing quote, or NULL
 * when the string is unterminated. A quoted-pair may escape any octet but
 * CR and LF (RFC 3261 25.1), NUL included. */
static const char *quoted_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p >= end || *p == '\r' || *p == '\n')
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* ---- numbers ---- */

int sip_parse_uint(struct sip_str s, uint64_t max, uint64_t *out)
{
	const uint64_t lim = max / 10, last = max % 10;
	uint64_t v = 0;

	if (!s.p || s.len == 0)
		return EBADMSG;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (!is_digit(c))
			return EBADMSG;
		unsigned d = c - '0';
		/* v * 10 + d <= max, without overflow */
		if (v > lim || (v == lim && d > last))
			return EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int port_parse(const char *p, const char *end, uint16_t *port)
{
	uint64_t v;

	if (sip_parse_uint(mkstr(p, end), 65535, &v) || v == 0)
		return EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

/* ---- URIs ---- */

/* uri-parameters: each ";" pname [ "=" pvalue ], both non-empty. */
static int uri_params_check(const char *p, const char *end)
{
	unsigned n = 0;

	for (;;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pe = semi ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ne = eq ? eq : pe;

		if (ne == p || !chars_ok(p, ne, C_PARAM))
			return EBADMSG;
		if (eq && (eq + 1 == pe || !chars_ok(eq + 1, pe, C_PARAM)))
			return EBADMSG;
		if (++n > SIP_MAX_PARAMS)
			return EBADMSG;
		if (!semi)
			return 0;
		p = semi + 1;
	}
}

/* headers: hname "=" hvalue *( "&" hname "=" hvalue ). */
static int uri_headers_check(const char *p, const char *end)
{
	for (;;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *he = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(he - p));

		if (!eq || eq == p || !chars_ok(p, eq, C_HDR) ||
		    !chars_ok(eq + 1, he, C_HDR))
			return EBADMSG;
		if (!amp)
			return 0;
		p = amp + 1;
	}
}

/* IPv6 reference: "[" hex, ':' and '.' "]". p at '['. */
static const char *ipv6_ref_end(const char *p, const char *end)
{
	const char *q = p + 1;

	while (q < end && (is_hex((unsigned char)*q) || *q == ':' || *q == '.'))
		q++;
	if (q == end || *q != ']' || q == p + 1 || !memchr(p, ':', (size_t)(q - p)))
		return NULL;
	return q + 1;
}

/* host: IPv6 reference or host name / IPv4. Returns the end or NULL. */
static const char *host_end(const char *p, const char *end)
{
	const char *q = p;

	if (p < end && *p == '[')
		return ipv6_ref_end(p, end);
	while (q < end && is_host_ch((unsigned char)*q))
		q++;
	return q == p ? NULL : q;
}

static bool is_sip_scheme(struct sip_str scheme)
{
	return IEQ(scheme, "sip") || IEQ(scheme, "sips"); /* scheme chars only */
}

int sip_uri_parse(struct sip_str s, struct sip_uri *u)
{
	const char *p = s.p, *end = s.p + s.len, *q, *at;

	memset(u, 0, sizeof(*u));
	if (!s.p || s.len == 0 || !is_alpha((unsigned char)*p))
		return EBADMSG;
	q = p + 1;
	while (q < end && (is_alnum((unsigned char)*q) || *q == '+' || *q == '-' ||
			   *q == '.'))
		q++;
	if (q == end || *q != ':')
		return EBADMSG;
	u->scheme = mkstr(p, q);
	p = q + 1;

	if (!is_sip_scheme(u->scheme)) {
		/* Opaque: we only promise it holds no whitespace or controls,
		 * so the caller can answer 416 safely. */
		if (p == end)
			return EBADMSG;
		for (; p < end; p++) {
			unsigned char c = (unsigned char)*p;
			if (c <= 0x20 || c == 0x7f)
				return EBADMSG;
		}
		return 0;
	}

	/* '@' is in neither parameters nor headers, so the first one ends
	 * the userinfo. */
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *ue = colon ? colon : at;

		if (ue == p || !chars_ok(p, ue, C_USER))
			return EBADMSG;
		u->user = mkstr(p, ue);
		if (colon) {
			if (!chars_ok(colon + 1, at, C_PASS))
				return EBADMSG;
			u->password = mkstr(colon + 1, at);
		}
		p = at + 1;
	}

	q = host_end(p, end);
	if (!q)
		return EBADMSG;
	u->host = mkstr(p, q);
	p = q;

	if (p < end && *p == ':') {
		q = ++p;
		while (q < end && is_digit((unsigned char)*q))
			q++;
		if (port_parse(p, q, &u->port))
			return EBADMSG;
		p = q;
	}
	if (p < end && *p == ';') {
		const char *qm = memchr(p, '?', (size_t)(end - p));
		q = qm ? qm : end;
		if (uri_params_check(p + 1, q))
			return EBADMSG;
		u->params = mkstr(p + 1, q);
		p = q;
	}
	if (p < end && *p == '?') {
		if (uri_headers_check(p + 1, end))
			return EBADMSG;
		u->headers = mkstr(p + 1, end);
		p = end;
	}
	return p == end ? 0 : EBADMSG;
}

/* ---- generic parameters ---- */

/* A parameter the caller wants while the list is being checked, so the
 * common ones (branch, rport, tag, expires) cost no second scan. */
struct param_want {
	const char *name; /* lower case */
	size_t len;
	struct sip_str value;
	bool found;
};

#define WANT(lit) {lit, sizeof(lit) - 1, {NULL, 0}, false}

/* Parses *( SEMI generic-param ) with p at the first ';'. Returns where the
 * list stops (end, or a ',' or other octet for the caller to judge) or
 * NULL for an empty or malformed parameter, or a wanted one given twice
 * (two tags or branches would let two elements disagree). */
static const char *gen_params_parse(const char *p, const char *end,
				    struct param_want *want, size_t nwant)
{
	unsigned n = 0;

	while (p < end && *p == ';') {
		const char *ns, *ne, *vs = NULL, *ve = NULL;

		p = skip_lws(p + 1, end);
		ns = p;
		while (p < end && is_token_ch((unsigned char)*p))
			p++;
		ne = p;
		if (p == ns || ++n > SIP_MAX_PARAMS)
			return NULL;
		p = skip_lws(p, end);
		if (p < end && *p == '=') {
			p = skip_lws(p + 1, end);
			vs = p;
			if (p < end && *p == '"') {
				p = quoted_end(p, end);
				if (!p)
					return NULL;
			} else {
				while (p < end && is_gen_value_ch((unsigned char)*p))
					p++;
				if (p == vs)
					return NULL;
			}
			ve = p;
			p = skip_lws(p, end);
		}
		for (size_t i = 0; i < nwant; i++) {
			if ((size_t)(ne - ns) != want[i].len ||
			    !tok_ieq(ns, want[i].name, want[i].len))
				continue;
			if (want[i].found)
				return NULL;
			want[i].found = true;
			want[i].value = vs ? mkstr(vs, ve) : mkstr(ne, ne);
		}
	}
	return p;
}

bool sip_param_find(struct sip_str params, const char *name,
		    struct sip_str *value)
{
	const char *p = params.p, *end = params.p + params.len;
	size_t nlen = strlen(name);

	if (!params.p)
		return false;
	while (p < end) {
		const char *s = p, *eq = NULL;
		struct sip_str n;

		/* one element, honouring quotes */
		while (p < end && *p != ';') {
			if (*p == '"') {
				const char *q = quoted_end(p, end);
				p = q ? q : end;
				continue;
			}
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		n = trim(s, eq ? eq : p);
		if (n.len == nlen && mem_ieq(n.p, name, nlen)) {
			if (value)
				*value = eq ? trim(eq + 1, p) : mkstr(p, p);
			return true;
		}
		if (p < end)
			p++;
	}
	return false;
}

/* ---- comma-separated lists ---- */

void sip_list_init(struct sip_list_iter *it, struct sip_str v)
{
	it->p = v.p;
	it->end = v.p ? v.p + v.len : NULL;
	it->started = false;
}

int sip_list_next(struct sip_list_iter *it, struct sip_str *elem)
{
	const char *p = it->p, *end = it->end, *s;
	bool angle = false;

	if (!p)
		return 0;
	if (it->started) {
		if (p >= end)
			return 0;
		p++; /* the comma that ended the previous element */
	} else {
		it->started = true;
		if (skip_lws(p, end) == end) {
			it->p = end;
			return 0;
		}
		/* Most values are a single element: with no comma and no quote
		 * there is nothing to split. */
		if (!memchr(p, ',', (size_t)(end - p)) && !memchr(p, '"', (size_t)(end - p))) {
			it->p = end;
			*elem = trim(p, end);
			return 1;
		}
	}
	s = p;
	while (p < end) {
		if (*p == '"') {
			p = quoted_end(p, end);
			if (!p)
				return -1;
			continue;
		}
		if (*p == '<')
			angle = true;
		else if (*p == '>')
			angle = false;
		else if (*p == ',' && !angle)
			break;
		p++;
	}
	it->p = p;
	*elem = trim(s, p);
	return elem->len ? 1 : -1;
}

int sip_split_commas(struct sip_str v, struct sip_str *out, size_t max)
{
	struct sip_list_iter it;
	struct sip_str e;
	size_t n = 0;
	int r;

	sip_list_init(&it, v);
	while ((r = sip_list_next(&it, &e)) == 1) {
		if (n == max)
			return -1;
		out[n++] = e;
	}
	return r < 0 ? -1 : (int)n;
}

/* ---- name-addr / addr-spec ---- */

int sip_nameaddr_parse(struct sip_str s, struct sip_nameaddr *na)
{
	struct sip_str t;
	const char *p, *end, *after;
	struct sip_uri u;

	memset(na, 0, sizeof(*na));
	if (!s.p)
		return EBADMSG;
	t = trim(s.p, s.p + s.len);
	p = t.p;
	end = t.p + t.len;
	if (p == end)
		return EBADMSG;

	if (*p == '"') {
		const char *q = quoted_end(p, end);
		if (!q)
			return EBADMSG;
		na->display = mkstr(p + 1, q - 1);
		p = skip_lws(q, end);
		if (p == end || *p != '<')
			return EBADMSG;
	} else {
		/* A display name of tokens (RFC 4475 3.1.1.6 allows no space
		 * before '<'), or else an addr-spec. */
		const char *q = p;
		while (q < end && (is_token_ch((unsigned char)*q) || is_lws((unsigned char)*q)))
			q++;
		if (q < end && *q == '<') {
			na->display = trim(p, q);
			p = q;
		}
	}

	if (*p == '<') {
		const char *gt = memchr(p + 1, '>', (size_t)(end - p - 1));
		if (!gt)
			return EBADMSG;
		na->uri = mkstr(p + 1, gt);
		after = gt + 1;
	} else {
		/* addr-spec: parameters after it belong to the header, so a
		 * URI with ',', '?' or ';' needs brackets (RFC 3261 20.10). */
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *ue = semi ? semi : end;
		while (ue > p && is_lws((unsigned char)ue[-1]))
			ue--;
		if (memchr(p, ',', (size_t)(ue - p)) || memchr(p, '?', (size_t)(ue - p)))
			return EBADMSG;
		na->uri = mkstr(p, ue);
		after = semi ? semi : end;
	}
	if (sip_uri_parse(na->uri, &u))
		return EBADMSG;

	after = skip_lws(after, end);
	if (after == end)
		return 0;
	struct param_want tag = WANT("tag");
	if (*after != ';' || gen_params_parse(after, end, &tag, 1) != end)
		return EBADMSG;
	na->params = trim(after + 1, end);
	if (tag.found && tag.value.len == 0)
		return EBADMSG;
	na->tag = tag.value;
	return 0;
}

/* ---- Via ---- */

/* A token at p (after LWS); returns its end, or NULL when empty. */
static const char *token_end(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && is_token_ch((unsigned char)*q))
		q++;
	return q == p ? NULL : q;
}

/* SWS "/" SWS */
static const char *slash(const char *p, const char *end)
{
	p = skip_lws(p, end);
	if (p == end || *p != '/')
		return NULL;
	return skip_lws(p + 1, end);
}

int sip_via_parse(struct sip_str v, struct sip_via *via, struct sip_str *rest)
{
	const char *p, *q, *end, *hs;

	memset(via, 0, sizeof(*via));
	*rest = SIP_STR_NULL;
	if (!v.p)
		return EBADMSG;
	end = v.p + v.len;
	p = skip_lws(v.p, end);

	q = token_end(p, end);
	if (!q || !IEQ(mkstr(p, q), "sip") || !(p = slash(q, end)))
		return EBADMSG;
	q = token_end(p, end);
	if (!q || (q - p != 3 || memcmp(p, "2.0", 3) != 0) || !(p = slash(q, end)))
		return EBADMSG;
	q = token_end(p, end);
	if (!q)
		return EBADMSG;
	via->transport = mkstr(p, q);

	p = skip_lws(q, end);
	if (p == q)
		return EBADMSG; /* LWS is required before sent-by */
	hs = p;
	q = host_end(p, end);
	if (!q)
		return EBADMSG;
	via->host = mkstr(hs, q);
	p = skip_lws(q, end);
	if (p < end && *p == ':') {
		p = skip_lws(p + 1, end);
		q = p;
		while (q < end && is_digit((unsigned char)*q))
			q++;
		if (port_parse(p, q, &via->port))
			return EBADMSG;
		p = skip_lws(q, end);
	}
	if (p < end && *p == ';') {
		struct param_want w[2] = {WANT("branch"), WANT("rport")};
		q = gen_params_parse(p, end, w, 2);
		if (!q)
			return EBADMSG;
		via->params = trim(p + 1, q);
		via->branch = w[0].value;
		via->has_rport = w[1].found;
		p = q;
	}
	if (p == end)
		return 0;
	if (*p != ',')
		return EBADMSG;
	p = skip_lws(p + 1, end);
	if (p == end || *p == ',')
		return EBADMSG; /* a comma promises a via-parm */
	*rest = mkstr(p, end);
	return 0;
}

/* ---- Contact ---- */

int sip_contacts_parse(const struct sip_msg *m, struct sip_contact *out,
		       size_t max, size_t *n, bool *star)
{
	size_t cap = max, count = 0;
	bool saw_star = false;
	const struct sip_hdr *h;

	if (m->is_request && m->method == SIP_M_REGISTER &&
	    cap > SIP_MAX_CONTACTS_PER_REGISTER)
		cap = SIP_MAX_CONTACTS_PER_REGISTER;

	for (h = sip_msg_hdr(m, SIP_H_CONTACT); h; h = sip_msg_next_hdr(m, h)) {
		struct sip_list_iter it;
		struct sip_str e;
		int r, seen = 0;

		sip_list_init(&it, h->value);
		while ((r = sip_list_next(&it, &e)) == 1) {
			struct sip_contact *c;
			struct sip_str ev;

			seen++;
			if (e.len == 1 && e.p[0] == '*') {
				if (saw_star || count)
					return EBADMSG;
				saw_star = true;
				continue;
			}
			if (saw_star || count >= cap)
				return EBADMSG;
			c = &out[count];
			if (sip_nameaddr_parse(e, &c->na))
				return EBADMSG;
			c->has_expires = false;
			c->expires = 0;
			if (sip_param_find(c->na.params, "expires", &ev)) {
				uint64_t x;
				if (sip_parse_uint(ev, SIP_MAX_EXPIRES, &x))
					return EBADMSG;
				c->has_expires = true;
				c->expires = (uint32_t)x;
			}
			count++;
		}
		if (r < 0 || !seen)
			return EBADMSG;
	}
	*n = count;
	*star = saw_star;
	return 0;
}

/* ---- Digest credentials ---- */

#define DF(n) {#n, sizeof(#n) - 1, offsetof(struct sip_digest_cred, n)}
static const struct {
	const char *name;
	size_t len;
	size_t off;
} digest_fields[] = {
	DF(username),
	DF(realm),
	DF(nonce),
	DF(uri),
	DF(response),
	DF(algorithm),
	DF(cnonce),
	DF(qop),
	DF(nc),
	DF(opaque),
};

static struct sip_str *digest_field(struct sip_digest_cred *c, struct sip_str name)
{
	for (size_t i = 0; i < sizeof(digest_fields) / sizeof(digest_fields[0]); i++)
		if (ieq_n(name, digest_fields[i].name, digest_fields[i].len))
			return (struct sip_str *)((char *)c + digest_fields[i].off);
	return NULL;
}

int sip_digest_cred_parse(struct sip_str v, struct sip_digest_cred *c)
{
	const char *p, *q, *end;

	memset(c, 0, sizeof(*c));
	if (!v.p)
		return EBADMSG;
	end = v.p + v.len;
	p = skip_lws(v.p, end);
	q = token_end(p, end);
	if (!q)
		return EBADMSG;
	c->scheme = mkstr(p, q);
	if (!IEQ(c->scheme, "digest"))
		return 0; /* the caller challenges in a scheme it knows */

	p = skip_lws(q, end);
	if (p == q || p == end)
		return EBADMSG;
	for (;;) {
		struct sip_str name, val, *field;

		q = token_end(p, end);
		if (!q)
			return EBADMSG;
		name = mkstr(p, q);
		p = skip_lws(q, end);
		if (p == end || *p != '=')
			return EBADMSG;
		p = skip_lws(p + 1, end);
		if (p < end && *p == '"') {
			q = quoted_end(p, end);
			if (!q)
				return EBADMSG;
			val = mkstr(p + 1, q - 1);
		} else {
			q = token_end(p, end);
			if (!q)
				return EBADMSG;
			val = mkstr(p, q);
		}
		field = digest_field(c, name);
		if (field) {
			if (field->p)
				return EBADMSG; /* the same parameter twice */
			*field = val;
		}
		p = skip_lws(q, end);
		if (p == end)
			return 0;
		if (*p != ',')
			return EBADMSG;
		p = skip_lws(p + 1, end);
	}
}
