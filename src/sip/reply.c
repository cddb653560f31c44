#include "sip/reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/secret.h"
#include "sip/digest.h"
#include "sip/transaction.h"

const char *reply_reason(unsigned status)
{
	switch (status) {
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 423: return "Interval Too Brief";
	case 410: return "Gone";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 491: return "Request Pending";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 502: return "Bad Gateway";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	default:
		/* Our own words for a class, never a phone's reason phrase (S7). */
		return status < 200 ? "Session Progress" : status < 300 ? "OK" :
		       status < 400 ? "Redirection" : status < 500 ? "Request Failure" :
		       status < 600 ? "Server Failure" : "Global Failure";
	}
}

static void reply_append(struct sip_reply *r, const char *p, size_t len)
{
	if (r->overflow || len > sizeof(r->buf) - r->len) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + r->len, p, len);
	r->len += len;
}

/* Every reply is built from these appends rather than printf: formatting
 * was a tenth of the CPU a registration costs. */
static void reply_append_str(struct sip_reply *r, const char *s)
{
	reply_append(r, s, strlen(s));
}

/* An echoed header value ends at a NUL octet, as it always has: the
 * parser lets NUL through in values it does not interpret. */
static void reply_append_sip(struct sip_reply *r, struct sip_str s)
{
	const char *nul = s.len ? memchr(s.p, '\0', s.len) : NULL;

	reply_append(r, s.p, nul ? (size_t)(nul - s.p) : s.len);
}

static void reply_append_uint(struct sip_reply *r, unsigned long v)
{
	char digits[24];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	reply_append(r, digits + i, sizeof(digits) - i);
}

/* "Name: value\r\n" */
static void reply_append_header(struct sip_reply *r, const char *name,
				struct sip_str value)
{
	reply_append_str(r, name);
	reply_append_sip(r, value);
	reply_append(r, "\r\n", 2);
}

static void reply_vprintf(struct sip_reply *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void reply_vprintf(struct sip_reply *r, const char *fmt, va_list ap)
{
	size_t room = sizeof(r->buf) - r->len;
	int n;

	if (r->overflow)
		return;
	n = vsnprintf(r->buf + r->len, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		r->overflow = true;
		return;
	}
	r->len += (size_t)n;
}

static void reply_printf(struct sip_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply_printf(struct sip_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vprintf(r, fmt, ap);
	va_end(ap);
}

/* The source address as received= wants it. IPv4, the common case, is
 * written directly; inet_ntop formats it through sprintf. */
static void reply_append_ip(struct sip_reply *r, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		reply_append_str(r, ip);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		const uint8_t *b = (const uint8_t *)&s4->sin_addr;

		for (int i = 0; i < 4; i++) {
			if (i)
				reply_append(r, ".", 1);
			reply_append_uint(r, b[i]);
		}
	}
}

static unsigned sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
}

static struct sip_str str_trim(struct sip_str s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' || s.p[0] == '\n'))
		s.p++, s.len--;
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
			 s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

/* Copy one via-parm, replacing any received= we were sent and filling an
 * empty rport (RFC 3581) with the real source port. */
static void reply_top_via(struct sip_reply *r, struct sip_str parm,
			  const struct sip_peer *src)
{
	const struct sockaddr *sa = (const struct sockaddr *)&src->addr;
	const char *p = parm.p, *end = parm.p + parm.len;
	const char *semi = memchr(p, ';', parm.len);

	reply_append(r, p, (size_t)((semi ? semi : end) - p));
	while (semi && semi < end) {
		const char *start = semi + 1;
		const char *next = memchr(start, ';', (size_t)(end - start));
		struct sip_str param = str_trim((struct sip_str){start, (size_t)((next ? next : end) - start)});

		semi = next;
		if (param.len >= 8 && strncasecmp(param.p, "received", 8) == 0 &&
		    (param.len == 8 || param.p[8] == '=' || param.p[8] == ' '))
			continue;
		if (param.len == 5 && strncasecmp(param.p, "rport", 5) == 0) {
			reply_append(r, ";rport=", 7);
			reply_append_uint(r, sockaddr_port(sa));
			continue;
		}
		reply_append(r, ";", 1);
		reply_append(r, param.p, param.len);
	}
	reply_append(r, ";received=", 10);
	reply_append_ip(r, sa);
}

static void reply_vias(struct sip_reply *r, const struct sip_msg *req,
		       const struct sip_peer *src)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_H_VIA);
	bool first = true;

	for (; h; h = sip_msg_next_hdr(req, h)) {
		reply_append(r, "Via: ", 5);
		if (first) {
			struct sip_via via;
			struct sip_str rest = SIP_STR_NULL;
			struct sip_str parm = h->value;

			if (sip_via_parse(h->value, &via, &rest) == 0 && rest.len > 0) {
				/* rest starts after the comma that ends the first via-parm */
				const char *comma = rest.p;

				while (comma > h->value.p && *comma != ',')
					comma--;
				parm.len = (size_t)(comma - h->value.p);
			}
			parm = str_trim(parm);
			reply_top_via(r, parm, src);
			if (parm.p + parm.len < h->value.p + h->value.len && rest.len > 0) {
				reply_append(r, ", ", 2);
				reply_append(r, rest.p, rest.len);
			}
			first = false;
		} else {
			reply_append(r, h->value.p, h->value.len);
		}
		reply_append(r, "\r\n", 2);
	}
}

/* A tag that is the same for every retransmission of a request, so that a
 * stateless answer still looks like one dialog to the client. */
void reply_tag_for(const struct sip_ctx *ctx, const struct sip_msg *req, char out[17])
{
	uint8_t mac[32];
	const struct sip_hdr *from = sip_msg_hdr(req, SIP_H_FROM);
	struct sip_str parts[2] = {SIP_STR_NULL, SIP_STR_NULL};

	if (req->call_id.len > 0 && req->call_id.len <= SIP_MAX_CALL_ID_LEN)
		parts[0] = req->call_id;
	if (from) {
		struct sip_nameaddr na;

		if (sip_nameaddr_parse(from->value, &na) == 0 && na.tag.len > 0 &&
		    na.tag.len <= 255)
			parts[1] = na.tag;
	}
	if (!digest_hmac(ctx->secret, parts, 2, mac))
		memset(mac, 0, 8);
	secret_hex(mac, 8, out);
}

static void reply_echo(struct sip_ctx *ctx, const struct sip_msg *req,
		       bool add_tag)
{
	struct sip_reply *r = ctx->reply;
	const struct sip_hdr *h;

	if ((h = sip_msg_hdr(req, SIP_H_FROM)))
		reply_append_header(r, "From: ", h->value);
	if ((h = sip_msg_hdr(req, SIP_H_TO))) {
		struct sip_nameaddr na;

		reply_append(r, "To: ", 4);
		reply_append_sip(r, h->value);
		if (add_tag && sip_nameaddr_parse(h->value, &na) == 0 && na.tag.len == 0) {
			char tag[17];

			reply_tag_for(ctx, req, tag);
			reply_append(r, ";tag=", 5);
			reply_append(r, tag, 16);
		}
		reply_append(r, "\r\n", 2);
	}
	if ((h = sip_msg_hdr(req, SIP_H_CALL_ID)))
		reply_append_header(r, "Call-ID: ", h->value);
	if ((h = sip_msg_hdr(req, SIP_H_CSEQ)))
		reply_append_header(r, "CSeq: ", h->value);
}

void reply_start(struct sip_ctx *ctx, const struct sip_msg *req,
		 const struct sip_peer *src, unsigned status,
		 const char *reason)
{
	struct sip_reply *r = ctx->reply;

	r->len = 0;
	r->status = status;
	r->overflow = false;
	reply_append(r, "SIP/2.0 ", 8);
	reply_append_uint(r, status);
	reply_append(r, " ", 1);
	reply_append_str(r, reason ? reason : reply_reason(status));
	reply_append(r, "\r\n", 2);
	reply_vias(r, req, src);
	reply_echo(ctx, req, status > 100);
	if (ctx->conf->user_agent[0])
		reply_append_header(r, "Server: ", sip_str_from(ctx->conf->user_agent));
}

void reply_header(struct sip_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vprintf(ctx->reply, fmt, ap);
	va_end(ap);
	reply_append(ctx->reply, "\r\n", 2);
}

void reply_raw(struct sip_ctx *ctx, const char *p, size_t len)
{
	reply_append(ctx->reply, p, len);
}

int reply_send(struct sip_ctx *ctx, const struct sip_peer *src)
{
	struct sip_reply *r = ctx->reply;

	reply_append(r, "Content-Length: 0\r\n\r\n", 21);
	if (r->overflow)
		return EMSGSIZE;
	if (ctx->tsx_cur)
		return tsx_server_respond(ctx->tsx_cur, r->status, r->buf, r->len);
	return transport_send(ctx->tp, src, r->buf, r->len);
}

int reply_send_body(struct sip_ctx *ctx, const struct sip_peer *src,
		    const char *content_type, const char *body, size_t len)
{
	struct sip_reply *r = ctx->reply;

	if (len == 0)
		return reply_send(ctx, src);
	reply_printf(r, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type, len);
	reply_append(r, body, len);
	if (r->overflow)
		return EMSGSIZE;
	if (ctx->tsx_cur)
		return tsx_server_respond(ctx->tsx_cur, r->status, r->buf, r->len);
	return transport_send(ctx->tp, src, r->buf, r->len);
}

int reply_simple(struct sip_ctx *ctx, const struct sip_msg *req,
		 const struct sip_peer *src, unsigned status,
		 const char *reason)
{
	reply_start(ctx, req, src, status, reason);
	return reply_send(ctx, src);
}

int reply_parse_error(struct sip_ctx *ctx, const struct sip_msg *req,
		      const struct sip_peer *src,
		      const struct sip_parse_error *perr)
{
	if (perr->status < 300)
		return 0;
	if (!req->is_request || req->method == SIP_M_ACK || req->first[SIP_H_VIA] < 0)
		return 0;
	reply_start(ctx, req, src, (unsigned)perr->status, NULL);
	if (perr->status == 420 && perr->unsupported.len)
		reply_header(ctx, "Unsupported: %.*s", (int)perr->unsupported.len,
			     perr->unsupported.p);
	if (perr->status == 501 || perr->status == 405)
		reply_header(ctx, "Allow: REGISTER, INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
	return reply_send(ctx, src);
}
