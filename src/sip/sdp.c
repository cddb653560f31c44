/* SDP (RFC 4566) parsing and rewriting for the B2BUA; see sdp.h.
 *
 * One line reader serves both directions: sdp_parse() checks every line and
 * fills struct sdp, sdp_rewrite() parses first and then walks the same lines
 * again, copying what it does not change. Refusal reasons are static strings
 * that never quote the body, so a key from a=crypto cannot reach a log. */
#include "sip/sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"

_Static_assert(SDP_MAX_MEDIA == 4, "reason strings below say 4 m= lines");
_Static_assert(SDP_MAX_CRYPTO == 4, "reason strings below say 4 a=crypto lines");

/* ---- Small helpers over slices ---- */

static struct sip_str mkstr(const char *p, const char *end)
{
	return (struct sip_str){p, (size_t)(end - p)};
}

/* token-char of RFC 4566 section 9 */
static bool is_token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b ||
	       c == 0x2d || c == 0x2e || (c >= 0x30 && c <= 0x39) ||
	       (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

static bool all_chars(struct sip_str s, bool (*ok)(unsigned char))
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!ok((unsigned char)s.p[i]))
			return false;
	return true;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_proto_char(unsigned char c)
{
	return c == '/' || is_token_char(c);
}

static bool is_suite_char(unsigned char c)
{
	return c == '_' || is_digit(c) || (c >= 'A' && c <= 'Z');
}

/* Next field separated by spaces; leading spaces are skipped. Returns false
 * when nothing is left. */
static bool next_field(struct sip_str *rest, struct sip_str *field)
{
	const char *p = rest->p, *end = rest->p + rest->len;

	while (p < end && *p == ' ')
		p++;
	if (p == end) {
		*rest = mkstr(end, end);
		return false;
	}
	const char *q = p;
	while (q < end && *q != ' ')
		q++;
	*field = mkstr(p, q);
	*rest = mkstr(q, end);
	return true;
}

/* Split into at most max fields; *n is max + 1 when there are more. */
static void split_fields(struct sip_str v, struct sip_str *f, unsigned max,
			 unsigned *n)
{
	struct sip_str extra;

	*n = 0;
	while (*n < max && next_field(&v, &f[*n]))
		(*n)++;
	if (*n == max && next_field(&v, &extra))
		*n = max + 1;
}

static struct sip_str trim_spaces(struct sip_str s)
{
	while (s.len && s.p[0] == ' ') {
		s.p++;
		s.len--;
	}
	while (s.len && s.p[s.len - 1] == ' ')
		s.len--;
	return s;
}

/* Decimal numbers in o= and t= are up to 64-bit NTP-style values; only
 * their syntax matters to us. */
static bool is_number_field(struct sip_str s)
{
	return s.len <= 20 && all_chars(s, is_digit);
}

/* ---- Line reader ---- */

struct sdp_reader {
	const char *p, *end;
	unsigned nlines;
	bool blank_seen;
};

/* One line, without its CRLF or LF. Returns 1 with *line, 0 at the end of
 * the body, -1 with *why when the line breaks a rule. Blank lines are
 * tolerated only at the very end (some phones pad the body). */
static int next_line(struct sdp_reader *r, struct sip_str *line, const char **why)
{
	while (r->p < r->end) {
		const char *lf = memchr(r->p, '\n', (size_t)(r->end - r->p));
		const char *le = lf ? lf : r->end;
		const char *next = lf ? lf + 1 : r->end;

		if (le > r->p && le[-1] == '\r')
			le--;
		if (++r->nlines > SDP_MAX_LINES) {
			*why = "too many SDP lines";
			return -1;
		}
		if ((size_t)(le - r->p) > SDP_MAX_LINE_LEN) {
			*why = "SDP line too long";
			return -1;
		}
		if (memchr(r->p, '\0', (size_t)(le - r->p))) {
			*why = "NUL byte in SDP";
			return -1;
		}
		if (memchr(r->p, '\r', (size_t)(le - r->p))) {
			*why = "bare CR in SDP line";
			return -1;
		}
		const char *start = r->p;
		r->p = next;
		if (le == start) {
			r->blank_seen = true;
			continue;
		}
		if (r->blank_seen) {
			*why = "empty line inside SDP";
			return -1;
		}
		*line = mkstr(start, le);
		return 1;
	}
	return 0;
}

/* ---- Addresses ---- */

/* "IN" IP4|IP6 address, as in c= and a=rtcp. Returns NULL or a reason. */
static const char *parse_conn(struct sip_str nettype, struct sip_str addrtype,
			      struct sip_str addr, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];
	int family;

	if (!sip_str_eq(nettype, "IN"))
		return "c= network type is not IN";
	if (sip_str_eq(addrtype, "IP4"))
		family = AF_INET;
	else if (sip_str_eq(addrtype, "IP6"))
		family = AF_INET6;
	else
		return "c= address type is not IP4 or IP6";
	if (memchr(addr.p, '/', addr.len))
		return "c= address with TTL or count (multicast) is not supported";
	if (addr.len >= sizeof(buf))
		return "c= address is not IPv4/IPv6";
	memcpy(buf, addr.p, addr.len);
	buf[addr.len] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
			return "c= address is not IPv4/IPv6";
		if (IN_MULTICAST(ntohl(sin->sin_addr.s_addr)))
			return "c= address is multicast";
		sin->sin_family = AF_INET;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return "c= address is not IPv4/IPv6";
		if (IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr))
			return "c= address is multicast";
		sin6->sin6_family = AF_INET6;
	}
	return NULL;
}

static bool addr_is_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == INADDR_ANY;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

static void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static const char *parse_c_value(struct sip_str v, struct sockaddr_storage *ss)
{
	struct sip_str f[3];
	unsigned n;

	split_fields(v, f, 3, &n);
	if (n != 3)
		return "c= line does not have 3 fields";
	return parse_conn(f[0], f[1], f[2], ss);
}

/* ---- Parser state ---- */

struct parse_state {
	struct sdp *out;
	struct sdp_media *m;       /* current media section, NULL at session level */
	bool seen_o, seen_s, seen_t, seen_c, seen_dir, session_mux;
	bool media_c[SDP_MAX_MEDIA];
	bool media_dir[SDP_MAX_MEDIA];
	bool media_rtcp[SDP_MAX_MEDIA];
};

static unsigned media_index(const struct parse_state *st)
{
	return (unsigned)(st->m - st->out->media);
}

static const char *parse_o(struct parse_state *st, struct sip_str v)
{
	struct sip_str f[6];
	unsigned n;

	if (st->seen_o)
		return "more than one o= line";
	st->seen_o = true;
	split_fields(v, f, 6, &n);
	if (n != 6)
		return "o= line does not have 6 fields";
	if (!is_number_field(f[1]) || !is_number_field(f[2]))
		return "o= session id or version is not a number";
	if (!sip_str_eq(f[3], "IN"))
		return "o= network type is not IN";
	if (!sip_str_eq(f[4], "IP4") && !sip_str_eq(f[4], "IP6"))
		return "o= address type is not IP4 or IP6";
	return NULL;
}

static const char *parse_t(struct parse_state *st, struct sip_str v)
{
	struct sip_str f[2];
	unsigned n;

	st->seen_t = true;
	split_fields(v, f, 2, &n);
	if (n != 2 || !is_number_field(f[0]) || !is_number_field(f[1]))
		return "t= line is not two numbers";
	return NULL;
}

static const char *parse_c(struct parse_state *st, struct sip_str v)
{
	if (!st->m) {
		if (st->seen_c)
			return "more than one c= line at session level";
		st->seen_c = true;
		return parse_c_value(v, &st->out->addr);
	}
	unsigned i = media_index(st);
	if (st->media_c[i])
		return "more than one c= line in a media section";
	st->media_c[i] = true;
	return parse_c_value(v, &st->m->addr);
}

/* m=<media> <port> <proto> <fmt> ... */
static const char *parse_m(struct parse_state *st, struct sip_str v)
{
	struct sdp *s = st->out;
	struct sip_str type, port, proto, rest = v;
	uint64_t n;

	if (s->nmedia >= SDP_MAX_MEDIA)
		return "more than 4 m= lines";
	st->m = &s->media[s->nmedia++];
	if (!next_field(&rest, &type) || !next_field(&rest, &port) ||
	    !next_field(&rest, &proto))
		return "m= line has fewer than 4 fields";
	struct sip_str formats = trim_spaces(rest);
	if (formats.len == 0)
		return "m= line has no formats";
	if (!all_chars(type, is_token_char))
		return "m= media type is not a token";
	if (memchr(port.p, '/', port.len))
		return "m= port with a port count is not supported";
	if (sip_parse_uint(port, 65535, &n))
		return "m= port is not a number in 0..65535";
	if (!all_chars(proto, is_proto_char))
		return "m= transport protocol is not a token";
	for (size_t i = 0; i < formats.len; i++)
		if (formats.p[i] != ' ' && !is_token_char((unsigned char)formats.p[i]))
			return "m= formats are not tokens";
	st->m->type = type;
	st->m->port = (uint16_t)n;
	st->m->proto = proto;
	st->m->formats = formats;
	return NULL;
}

/* ---- Attributes ---- */

static const char *set_dir(struct parse_state *st, enum sdp_dir d, bool has_value)
{
	bool *seen = st->m ? &st->media_dir[media_index(st)] : &st->seen_dir;

	if (has_value)
		return "direction attribute with a value";
	if (*seen)
		return "more than one direction attribute";
	*seen = true;
	if (st->m)
		st->m->dir = d;
	else
		st->out->dir = d;
	return NULL;
}

/* a=rtcp:<port> [IN IP4|IP6 <addr>] (RFC 3605) */
static const char *parse_rtcp(struct parse_state *st, struct sip_str v)
{
	struct sip_str f[4];
	struct sockaddr_storage ss;
	uint64_t port;
	unsigned n;

	if (!st->m)
		return "a=rtcp at session level";
	if (st->media_rtcp[media_index(st)])
		return "more than one a=rtcp line in a media section";
	st->media_rtcp[media_index(st)] = true;
	split_fields(v, f, 4, &n);
	if (n != 1 && n != 4)
		return "a=rtcp is not PORT [IN IP4|IP6 address]";
	if (sip_parse_uint(f[0], 65535, &port) || port == 0)
		return "a=rtcp port is not a number in 1..65535";
	if (n == 4 && parse_conn(f[1], f[2], f[3], &ss))
		return "a=rtcp address is not IN IP4/IP6 unicast";
	st->m->rtcp_port = (uint16_t)port;
	return NULL;
}

static bool is_b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
	       c == '+' || c == '/';
}

/* Decoded length of base64 text (padding optional), or -1 when invalid. */
static long b64_decoded_len(struct sip_str s)
{
	size_t n = s.len, pad = 0;

	while (n && s.p[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n == 0 || (pad && (n + pad) % 4))
		return -1;
	if (!all_chars(mkstr(s.p, s.p + n), is_b64_char) || n % 4 == 1)
		return -1;
	return (long)(n * 6 / 8);
}

/* Master key plus salt, in bytes, for the suites we know (RFC 4568 6.2,
 * RFC 6188, RFC 7714); 0 for a suite we do not know, whose key we only
 * check for syntax (the caller picks the suites it accepts). */
static long suite_key_len(struct sip_str suite)
{
	static const struct {
		const char *name;
		long len;
	} suites[] = {
		{"AES_CM_128_HMAC_SHA1_80", 30}, {"AES_CM_128_HMAC_SHA1_32", 30},
		{"F8_128_HMAC_SHA1_80", 30},     {"AES_192_CM_HMAC_SHA1_80", 38},
		{"AES_192_CM_HMAC_SHA1_32", 38}, {"AES_256_CM_HMAC_SHA1_80", 46},
		{"AES_256_CM_HMAC_SHA1_32", 46}, {"AEAD_AES_128_GCM", 28},
		{"AEAD_AES_256_GCM", 44},
	};
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (sip_str_eq(suite, suites[i].name))
			return suites[i].len;
	return 0;
}

/* lifetime: ["2^"] 1*DIGIT */
static bool lifetime_ok(struct sip_str s)
{
	if (s.len > 2 && s.p[0] == '2' && s.p[1] == '^')
		s = mkstr(s.p + 2, s.p + s.len);
	return s.len <= 20 && all_chars(s, is_digit);
}

/* MKI: 1*DIGIT ":" length, the length 1..128 bytes */
static bool mki_ok(struct sip_str s)
{
	const char *colon = memchr(s.p, ':', s.len);
	uint64_t v, len;

	if (!colon)
		return false;
	return sip_parse_uint(mkstr(s.p, colon), SIP_MAX_UINT32, &v) == 0 &&
	       sip_parse_uint(mkstr(colon + 1, s.p + s.len), 128, &len) == 0 &&
	       len >= 1;
}

/* One "inline:" key-salt ["|" lifetime] ["|" MKI ":" length]. */
static const char *parse_key_param(struct sip_str kp, long want)
{
	static const char pfx[] = "inline:";
	const size_t plen = sizeof(pfx) - 1;

	if (kp.len < plen || memcmp(kp.p, pfx, plen) != 0)
		return "a=crypto key does not start with the inline method";
	struct sip_str rest = mkstr(kp.p + plen, kp.p + kp.len);
	const char *bar = memchr(rest.p, '|', rest.len);
	struct sip_str key = bar ? mkstr(rest.p, bar) : rest;
	long got = b64_decoded_len(key);
	if (got < 0)
		return "a=crypto key is not base64";
	if (want && got != want)
		return "a=crypto key has the wrong length for its suite";
	struct sip_str tail[2];
	unsigned nt = 0;
	while (bar) {
		const char *p = bar + 1, *end = rest.p + rest.len;
		if (nt == 2)
			return "a=crypto key has too many | parts";
		bar = memchr(p, '|', (size_t)(end - p));
		tail[nt++] = mkstr(p, bar ? bar : end);
	}
	/* the lifetime comes first when both are present */
	bool ok = nt == 0 ||
		  (nt == 1 && (mki_ok(tail[0]) || lifetime_ok(tail[0]))) ||
		  (nt == 2 && lifetime_ok(tail[0]) && mki_ok(tail[1]));
	return ok ? NULL : "a=crypto key lifetime or MKI is malformed";
}

/* key-params = key-param *(";" key-param) */
static const char *parse_key_params(struct sip_str kps, long want)
{
	const char *p = kps.p, *end = kps.p + kps.len;

	for (;;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *why = parse_key_param(mkstr(p, semi ? semi : end), want);
		if (why)
			return why;
		if (!semi)
			return NULL;
		p = semi + 1;
	}
}

/* a=crypto:<tag> <suite> <key-params> [<session-params>] (RFC 4568).
 * A line that is not even TAG SUITE KEY spoils the body; one whose key
 * cannot be used is only counted in ncrypto_refused (*key_why says why), so
 * the offer's other lines, or plain RTP, can still be answered. */
static const char *parse_crypto_line(struct parse_state *st, struct sip_str v,
				     const char **key_why)
{
	struct sip_str tag, suite, keys, rest = v;
	uint64_t n;

	if (!st->m)
		return "a=crypto at session level";
	if (st->m->ncrypto >= SDP_MAX_CRYPTO)
		return "more than 4 a=crypto lines in a media section";
	if (!next_field(&rest, &tag) || !next_field(&rest, &suite) ||
	    !next_field(&rest, &keys))
		return "a=crypto line is not TAG SUITE KEY";
	if (tag.len > 9 || sip_parse_uint(tag, 999999999, &n))
		return "a=crypto tag is not a number of 1 to 9 digits";
	if (suite.len > 64 || !all_chars(suite, is_suite_char))
		return "a=crypto suite is not a suite name";
	for (unsigned i = 0; i < st->m->ncrypto; i++)
		if (st->m->crypto[i].tag == n)
			return "a=crypto tag used twice in a media section";
	*key_why = parse_key_params(keys, suite_key_len(suite));
	if (*key_why) {
		st->m->ncrypto_refused++;
		return NULL;
	}
	st->m->crypto[st->m->ncrypto++] =
		(struct sdp_crypto){.tag = (unsigned)n, .suite = suite, .key = keys};
	return NULL;
}

static const char *parse_crypto(struct parse_state *st, struct sip_str v)
{
	const char *key_why = NULL;

	return parse_crypto_line(st, v, &key_why);
}

/* Splits a=<name>[:<value>]. */
static bool split_attr(struct sip_str v, struct sip_str *name, struct sip_str *value,
		       bool *has_value)
{
	const char *colon = memchr(v.p, ':', v.len);

	*name = colon ? mkstr(v.p, colon) : v;
	*has_value = colon != NULL;
	*value = colon ? mkstr(colon + 1, v.p + v.len) : mkstr(v.p + v.len, v.p + v.len);
	return all_chars(*name, is_token_char);
}

static const char *parse_a(struct parse_state *st, struct sip_str v)
{
	static const char *const dirs[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
	struct sip_str name, value;
	bool has_value;

	if (!split_attr(v, &name, &value, &has_value))
		return "a= attribute name is empty or not a token";
	for (unsigned d = 0; d < 4; d++)
		if (sip_str_eq(name, dirs[d]))
			return set_dir(st, (enum sdp_dir)d, has_value);
	if (sip_str_eq(name, "rtcp-mux")) {
		if (has_value)
			return "a=rtcp-mux with a value";
		if (st->m)
			st->m->rtcp_mux = true;
		else
			st->session_mux = true;
		return NULL;
	}
	if (sip_str_eq(name, "rtcp"))
		return has_value ? parse_rtcp(st, value) : "a=rtcp without a port";
	if (sip_str_eq(name, "crypto"))
		return has_value ? parse_crypto(st, value) : "a=crypto without a value";
	return NULL; /* everything else is the endpoints' business */
}

/* ---- The line dispatcher ---- */

static const char *parse_session_only(struct parse_state *st, char type, struct sip_str v)
{
	if (st->m)
		return "session-level line (o=, s=, t=, r=, z=, u=, e=, p=) in a media section";
	switch (type) {
	case 'o':
		return parse_o(st, v);
	case 's':
		if (st->seen_s)
			return "more than one s= line";
		st->seen_s = true;
		return NULL;
	case 't':
		return parse_t(st, v);
	case 'r':
		return st->seen_t ? NULL : "r= line before t=";
	default: /* z u e p: not ours to judge */
		return NULL;
	}
}

static const char *parse_line(struct parse_state *st, struct sip_str line,
			      bool first)
{
	if (line.len < 2 || line.p[1] != '=')
		return "SDP line is not <type>=<value>";
	char type = line.p[0];
	struct sip_str v = mkstr(line.p + 2, line.p + line.len);

	if (first != (type == 'v'))
		return first ? "SDP does not start with v=" : "v= line after the first line";
	switch (type) {
	case 'v':
		return sip_str_eq(v, "0") ? NULL : "SDP version is not 0";
	case 'o':
	case 's':
	case 't':
	case 'r':
	case 'z':
	case 'u':
	case 'e':
	case 'p':
		return parse_session_only(st, type, v);
	case 'c':
		return parse_c(st, v);
	case 'm':
		return parse_m(st, v);
	case 'a':
		return parse_a(st, v);
	case 'i':
	case 'b':
	case 'k':
		return NULL;
	default:
		/* RFC 4566 5: a description with a type letter we do not
		 * understand must be ignored as a whole. */
		return "unknown SDP line type";
	}
}

/* Checks that need the whole body, then inherit session-level values. */
static const char *finish(struct parse_state *st)
{
	struct sdp *s = st->out;

	if (!st->seen_o)
		return "SDP has no o= line";
	if (!st->seen_s)
		return "SDP has no s= line";
	if (!st->seen_t)
		return "SDP has no t= line";
	for (unsigned i = 0; i < s->nmedia; i++) {
		struct sdp_media *m = &s->media[i];
		if (!st->media_c[i])
			m->addr = s->addr;
		if (m->addr.ss_family == 0 && m->port != 0)
			return "m= line without c= at media or session level";
		addr_set_port(&m->addr, m->port);
		if (!st->media_dir[i])
			m->dir = s->dir;
		if (st->session_mux)
			m->rtcp_mux = true;
	}
	return NULL;
}

int sdp_parse(const char *body, size_t len, struct sdp *out, const char **why)
{
	struct parse_state st = {.out = out};
	struct sdp_reader r = {body, body + len, 0, false};
	struct sip_str line;
	const char *reason = NULL;
	unsigned nlines = 0;

	memset(out, 0, sizeof(*out));
	if (!body || len == 0)
		reason = "empty SDP body";
	else if (len > SDP_MAX_SIZE)
		reason = "SDP body too large";
	while (!reason && next_line(&r, &line, &reason) == 1)
		reason = parse_line(&st, line, ++nlines == 1);
	if (!reason && nlines == 0)
		reason = "empty SDP body";
	if (!reason)
		reason = finish(&st);
	if (reason) {
		memset(out, 0, sizeof(*out));
		if (why)
			*why = reason;
		return EBADMSG;
	}
	return 0;
}

/* ---- Rewriting ---- */

struct writer {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct writer *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void put_str(struct writer *w, struct sip_str s)
{
	put(w, s.p, s.len);
}

static void put_lit(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_u64(struct writer *w, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	put(w, buf, (size_t)n);
}

struct rewrite_ctx {
	const struct sdp *parsed;
	const uint16_t *ports;
	uint64_t version;
	bool strip_crypto;
	const char *addrtype;          /* "IP4" or "IP6" */
	char host[INET6_ADDRSTRLEN];   /* the relay address */
	const char *unspec;            /* 0.0.0.0 or :: in the relay's family */
	const char *eol;               /* "\r\n", or "\n" for an LF body (_ex) */
	int mi;                        /* current media section, -1 at session level */
	int anchor;                    /* the stream that gets proto/crypto, or -1 */
	const char *proto;             /* its new transport protocol, or NULL */
	const char *crypto;            /* our a=crypto line for it, or NULL */
};

static bool is_ice_attr(struct sip_str name)
{
	return sip_str_eq(name, "candidate") || sip_str_eq(name, "end-of-candidates") ||
	       sip_str_eq(name, "remote-candidates") ||
	       (name.len >= 4 && memcmp(name.p, "ice-", 4) == 0);
}

static uint16_t out_port(const struct rewrite_ctx *c, int mi)
{
	return c->parsed->media[mi].port == 0 ? 0 : c->ports[mi];
}

/* Returns false when the line cannot be written (an RTCP port would pass
 * 65535). Dropped lines write nothing. */
static bool rewrite_attr(struct writer *w, struct rewrite_ctx *c, struct sip_str line)
{
	struct sip_str name, value;
	bool has_value;

	split_attr(mkstr(line.p + 2, line.p + line.len), &name, &value, &has_value);
	if (is_ice_attr(name) || sip_str_eq(name, "tool"))
		return true;
	if (sip_str_eq(name, "crypto") && c->strip_crypto)
		return true;
	if (sip_str_eq(name, "rtcp") && c->mi >= 0) {
		uint16_t port = out_port(c, c->mi);
		if (c->parsed->media[c->mi].rtcp_mux || port == 0)
			return true;
		if (port == 65535)
			return false;
		put_lit(w, "a=rtcp:");
		put_u64(w, (uint64_t)port + 1);
		put_lit(w, c->eol);
		return true;
	}
	put_str(w, line);
	put_lit(w, c->eol);
	return true;
}

static void put_conn(struct writer *w, const struct rewrite_ctx *c, const char *host)
{
	put_lit(w, "IN ");
	put_lit(w, c->addrtype);
	put_lit(w, " ");
	put_lit(w, host);
}

/* Our a=crypto line closes the anchored media section: called when the
 * section ends, at the next m= line or at the end of the body. */
static void end_media_section(struct writer *w, const struct rewrite_ctx *c)
{
	if (c->mi >= 0 && c->mi == c->anchor && c->crypto) {
		put_lit(w, c->crypto);
		put_lit(w, c->eol);
	}
}

static void put_m_line(struct writer *w, struct rewrite_ctx *c)
{
	end_media_section(w, c);
	const struct sdp_media *m = &c->parsed->media[++c->mi];
	put_lit(w, "m=");
	put_str(w, m->type);
	put_lit(w, " ");
	put_u64(w, out_port(c, c->mi));
	put_lit(w, " ");
	if (c->mi == c->anchor && c->proto)
		put_lit(w, c->proto);
	else
		put_str(w, m->proto);
	put_lit(w, " ");
	put_str(w, m->formats);
}

static bool rewrite_line(struct writer *w, struct rewrite_ctx *c, struct sip_str line)
{
	struct sip_str v = mkstr(line.p + 2, line.p + line.len), f[6];
	struct sockaddr_storage ss;
	unsigned n;

	switch (line.p[0]) {
	case 'o':
		/* Our origin: the phone's user name and address would leak. */
		split_fields(v, f, 6, &n);
		put_lit(w, "o=- ");
		put_str(w, f[1]);
		put_lit(w, " ");
		put_u64(w, c->version);
		put_lit(w, " ");
		put_conn(w, c, c->host);
		break;
	case 's':
		put_lit(w, "s=-"); /* often names the phone's software */
		break;
	case 'c':
		/* c=0.0.0.0 is hold (RFC 3264 8.4): keep it hold. */
		parse_c_value(v, &ss);
		put_lit(w, "c=");
		put_conn(w, c, addr_is_unspecified(&ss) ? c->unspec : c->host);
		break;
	case 'm':
		put_m_line(w, c);
		break;
	case 'a':
		return rewrite_attr(w, c, line);
	default:
		put_str(w, line);
		break;
	}
	put_lit(w, c->eol);
	return true;
}

static bool rewrite_ctx_init(struct rewrite_ctx *c, const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		c->addrtype = "IP4";
		c->unspec = "0.0.0.0";
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr,
				 c->host, sizeof(c->host)) != NULL;
	}
	if (addr->sa_family == AF_INET6) {
		c->addrtype = "IP6";
		c->unspec = "::";
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr,
				 c->host, sizeof(c->host)) != NULL;
	}
	return false;
}

/* The line end of the body's first line (v=0, which sdp_parse demands
 * first); a body mixing both gets that one throughout. */
static const char *body_eol(const char *body, size_t len)
{
	const char *lf = memchr(body, '\n', len);

	return lf && lf > body && lf[-1] == '\r' ? "\r\n" : "\n";
}

/* ---- SRTP options of sdp_rewrite_ex ---- */

/* The longest proto in use is UDP/TLS/RTP/SAVPF (16 bytes); twice that
 * leaves room for any profile yet to come. */
#define SDP_REWRITE_MAX_PROTO 32u
/* Our own a=crypto line: the longest suite with a 46-byte key-salt, a
 * lifetime and an MKI stays well below this. */
#define SDP_REWRITE_MAX_CRYPTO 200u

static bool is_rewrite_proto_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
	       c == '/' || c == '.' || c == '_' || c == '-';
}

static bool is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool proto_ok(const char *proto)
{
	size_t n = strnlen(proto, SDP_REWRITE_MAX_PROTO + 1);

	return n <= SDP_REWRITE_MAX_PROTO &&
	       all_chars((struct sip_str){proto, n}, is_rewrite_proto_char);
}

/* Our a=crypto line must be one sdp_parse accepts on the anchored stream
 * as it will be written: checked against the crypto lines that stay there
 * (tags are unique per stream, at most SDP_MAX_CRYPTO), so a clash is
 * refused before anything is written. */
static bool crypto_ok(const char *crypto, const struct sdp_media *anchored, bool strip)
{
	static const char pfx[] = "a=crypto:";
	const size_t plen = sizeof(pfx) - 1;
	size_t n = strnlen(crypto, SDP_REWRITE_MAX_CRYPTO + 1);
	struct sdp scratch = {.nmedia = 1};
	struct parse_state st = {.out = &scratch, .m = &scratch.media[0]};

	if (n > SDP_REWRITE_MAX_CRYPTO || n < plen || memcmp(crypto, pfx, plen) != 0 ||
	    !all_chars((struct sip_str){crypto, n}, is_printable))
		return false;
	scratch.media[0] = *anchored;
	if (strip)
		scratch.media[0].ncrypto = 0;
	const char *key_why = NULL;

	return parse_crypto_line(&st, mkstr(crypto + plen, crypto + n), &key_why) == NULL &&
	       key_why == NULL;
}

/* The options as a whole: proto and crypto need a live stream to go on. */
static bool srtp_opts_ok(const struct sdp_rewrite_opts *o, const struct sdp *parsed)
{
	if (o->media == -1)
		return !o->proto && !o->crypto;
	if (o->media < 0 || (unsigned)o->media >= parsed->nmedia ||
	    parsed->media[o->media].port == 0)
		return false;
	if (o->proto && !proto_ok(o->proto))
		return false;
	return !o->crypto || crypto_ok(o->crypto, &parsed->media[o->media], o->strip_crypto);
}

/* ---- The one rewrite path ---- */

/* sdp_rewrite always ends lines with CRLF (its contract since the first
 * release); sdp_rewrite_ex keeps the body's own line end. */
static size_t rewrite_body(const char *body, size_t len, const struct sdp_rewrite_opts *o,
			   bool always_crlf, char *out, size_t outlen)
{
	struct sdp parsed, check;
	struct rewrite_ctx c = {.parsed = &parsed, .mi = -1};
	struct writer w = {out, outlen, 0, false};
	struct sdp_reader r = {body, body + len, 0, false};
	struct sip_str line;
	const char *why;
	bool ok = true;

	if (!o || !o->addr || !out || sdp_parse(body, len, &parsed, &why) ||
	    o->nports < parsed.nmedia || (parsed.nmedia && !o->ports) ||
	    !rewrite_ctx_init(&c, o->addr) || !srtp_opts_ok(o, &parsed))
		return 0;
	c.ports = o->ports;
	c.version = o->version;
	c.strip_crypto = o->strip_crypto;
	c.anchor = o->media;
	c.proto = o->proto;
	c.crypto = o->crypto;
	c.eol = always_crlf ? "\r\n" : body_eol(body, len);
	while (ok && next_line(&r, &line, &why) == 1)
		ok = rewrite_line(&w, &c, line);
	end_media_section(&w, &c);
	/* What we hand out must itself be SDP we accept (CRLF growth can
	 * push a body over SDP_MAX_SIZE, longer ports over a line cap). */
	if (!ok || w.overflow || sdp_parse(out, w.len, &check, &why)) {
		memset(out, 0, w.len); /* may hold a copied a=crypto key */
		return 0;
	}
	return w.len;
}

size_t sdp_rewrite(const char *body, size_t len, const struct sockaddr *addr,
		   const uint16_t *ports, unsigned nports, uint64_t version,
		   bool strip_crypto, char *out, size_t outlen)
{
	const struct sdp_rewrite_opts o = {
		.addr = addr, .ports = ports, .nports = nports, .version = version,
		.strip_crypto = strip_crypto, .media = -1,
	};

	return rewrite_body(body, len, &o, true, out, outlen);
}

size_t sdp_rewrite_ex(const char *body, size_t len, const struct sdp_rewrite_opts *o,
		      char *out, size_t outlen)
{
	return rewrite_body(body, len, o, false, out, outlen);
}
