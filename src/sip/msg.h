/* SIP message parser: lazy and zero-copy.
 *
 * sip_msg_parse() makes one pass over the message: it checks the start line,
 * indexes every header field (name and value as slices of the caller's
 * buffer), recognises known header names by comparing the whole name (long
 * and compact form, case-insensitive), rejects duplicate singleton headers and
 * checks framing. It checks Call-ID, CSeq, Max-Forwards and Content-Length,
 * that Via, From and To are present, and the Via count; the syntax of From,
 * To, Via and Contact is left to sip_request_check(). Other header values
 * are parsed only when asked, by the sip_*_parse helpers below, which all
 * take a slice and never write to the buffer. After a failed parse the
 * fields indexed before the fault are still valid.
 *
 * Every slice borrows the buffer passed to sip_msg_parse(); the message is
 * valid only as long as that buffer is. */
#ifndef RF_SIP_MSG_H
#define RF_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* A borrowed, not NUL-terminated slice. */
struct sip_str {
	const char *p;
	size_t len;
};

#define SIP_STR_NULL ((struct sip_str){NULL, 0})

enum sip_method {
	SIP_M_UNKNOWN = 0,
	SIP_M_INVITE,
	SIP_M_ACK,
	SIP_M_BYE,
	SIP_M_CANCEL,
	SIP_M_REGISTER,
	SIP_M_OPTIONS,
	SIP_M_PRACK,
	SIP_M_SUBSCRIBE,
	SIP_M_NOTIFY,
	SIP_M_PUBLISH,
	SIP_M_INFO,
	SIP_M_REFER,
	SIP_M_MESSAGE,
	SIP_M_UPDATE,
};

/* Header names we recognise. Anything else is SIP_H_OTHER and kept as is. */
enum sip_hdr_id {
	SIP_H_OTHER = 0,
	SIP_H_VIA,                 /* v */
	SIP_H_FROM,                /* f */
	SIP_H_TO,                  /* t */
	SIP_H_CALL_ID,             /* i */
	SIP_H_CSEQ,
	SIP_H_CONTACT,             /* m */
	SIP_H_CONTENT_LENGTH,      /* l */
	SIP_H_CONTENT_TYPE,        /* c */
	SIP_H_MAX_FORWARDS,
	SIP_H_EXPIRES,
	SIP_H_MIN_EXPIRES,
	SIP_H_AUTHORIZATION,
	SIP_H_PROXY_AUTHORIZATION,
	SIP_H_WWW_AUTHENTICATE,
	SIP_H_PROXY_AUTHENTICATE,
	SIP_H_USER_AGENT,
	SIP_H_SERVER,
	SIP_H_ROUTE,
	SIP_H_RECORD_ROUTE,
	SIP_H_REQUIRE,
	SIP_H_PROXY_REQUIRE,
	SIP_H_SUPPORTED,           /* k */
	SIP_H_UNSUPPORTED,
	SIP_H_ALLOW,
	SIP_H_EVENT,               /* o */
	SIP_H_ACCEPT,
	SIP_H_CONTENT_ENCODING,    /* e */
	SIP_H_SUBJECT,             /* s */
	SIP_H_REFER_TO,            /* r */
	SIP_H_REFERRED_BY,         /* b */
	SIP_H_PATH,
	SIP_H__COUNT
};

enum sip_transport {
	SIP_TP_UDP = 0,
	SIP_TP_TCP,
	SIP_TP_TLS,
	SIP_TP__COUNT
};

struct sip_hdr {
	enum sip_hdr_id id;
	struct sip_str name;  /* as written on the wire */
	struct sip_str value; /* trimmed; may contain folded CRLF+WSP */
};

/* Why a message was refused. `status` is what to answer a request with
 * (400, 505, 413, 501 ...) or 0 when the message must be dropped silently
 * (malformed responses, or requests too broken to answer). `reason` is a
 * static string safe to log. */
struct sip_parse_error {
	int status;
	const char *reason;
	/* Set only by sip_request_check() on 420: the value of the first
	 * Require or Proxy-Require field naming an option tag we do not
	 * support (borrowed from the message), for the Unsupported header. */
	struct sip_str unsupported;
};

struct sip_msg {
	const char *buf; /* borrowed: the whole message */
	size_t len;      /* bytes of this message, body included */

	bool is_request;
	/* request line */
	enum sip_method method;
	struct sip_str method_str;
	struct sip_str ruri;
	/* status line */
	unsigned status;
	struct sip_str reason;

	struct sip_hdr hdrs[SIP_MAX_HEADERS];
	unsigned nhdrs;
	/* index into hdrs[] of the first field with that id, or -1 */
	int first[SIP_H__COUNT];
	unsigned count[SIP_H__COUNT];

	/* checked while parsing */
	uint32_t cseq;
	struct sip_str cseq_method;
	int max_forwards; /* -1 when absent */
	struct sip_str call_id;
	struct sip_str body;
};

/* Parse one complete message from buf[0..len). Over UDP, octets after
 * Content-Length are ignored (RFC 3261 18.3); a missing Content-Length
 * means the body runs to the end of the datagram. Returns 0 on success or
 * EBADMSG with *err filled in. */
int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len,
		  enum sip_transport tp, struct sip_parse_error *err);

/* Stream framing (TCP/TLS). Looks for the end of the headers and the
 * Content-Length. Returns 0 with *msglen set when buf holds at least one
 * whole message, EAGAIN when more bytes are needed, and EBADMSG when the
 * stream can never be re-synchronised (missing, negative, duplicate or
 * oversized Content-Length, oversized headers): the caller must close. */
int sip_frame(const char *buf, size_t len, size_t *msglen);
/* A stream may carry CRLF keep-alives (RFC 5626 3.5.1) between messages.
 * When buf starts with CR or LF, sip_frame() returns 0 with *msglen covering
 * just those octets; sip_msg_parse() on them fails with status 0 (drop), so
 * the caller consumes them like any other unit. */

/* Stateless checks a UAS or registrar makes before authentication, in the
 * order of RFC 3261 8.2: malformed From, To, Via or Contact 400 (the
 * parser only indexes them); unknown method 501; Request-URI scheme other
 * than sip/sips 416; REGISTER whose To is not a sip/sips URI 400; Require or
 * Proxy-Require with an option tag we do not support 420 (err->unsupported
 * names the tags); INVITE body whose Content-Type is not application/sdp
 * 415; INVITE whose Accept does not allow application/sdp 406. Returns 0
 * when the request may proceed (and for responses), else EBADMSG with
 * *err filled in. `m` must come from a successful sip_msg_parse(). */
int sip_request_check(const struct sip_msg *m, struct sip_parse_error *err);

/* Header access. sip_msg_hdr() returns the first field with that id or
 * NULL; sip_msg_next_hdr() continues after `prev`. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
const struct sip_hdr *sip_msg_next_hdr(const struct sip_msg *m,
				       const struct sip_hdr *prev);

/* ---- Value parsers. All return 0 or EBADMSG and never read outside the
 * slice. ---- */

/* Checked unsigned decimal: digits only (leading zeros allowed, no sign, no
 * spaces), value <= max. */
int sip_parse_uint(struct sip_str s, uint64_t max, uint64_t *out);

struct sip_param {
	struct sip_str name;
	struct sip_str value; /* empty when the parameter has no '=' */
};

struct sip_uri {
	struct sip_str scheme;   /* "sip", "sips", "tel", ... */
	struct sip_str user;     /* raw, still %-escaped; may contain ';' */
	struct sip_str password;
	struct sip_str host;     /* IPv6 references keep their brackets */
	uint16_t port;           /* 0 when absent */
	struct sip_str params;   /* after the first ';' of the hostport, no ';' */
	struct sip_str headers;  /* after '?', raw */
};

/* Parse a SIP or SIPS URI. Other schemes parse only `scheme` and return 0
 * with host empty, so callers can answer 416. Spaces are an error. */
int sip_uri_parse(struct sip_str s, struct sip_uri *u);

/* name-addr or addr-spec (From, To, Contact, Route ...). */
struct sip_nameaddr {
	struct sip_str display; /* without quotes, still escaped */
	struct sip_str uri;     /* without the angle brackets */
	struct sip_str params;  /* header params after the URI, without leading ';' */
	struct sip_str tag;     /* value of ;tag= or empty */
};

int sip_nameaddr_parse(struct sip_str s, struct sip_nameaddr *na);

/* Find a parameter by name (case-insensitive) in a ';'-separated list. */
bool sip_param_find(struct sip_str params, const char *name,
		    struct sip_str *value);

struct sip_via {
	struct sip_str transport; /* "UDP", "TCP", "TLS", ... */
	struct sip_str host;
	uint16_t port;            /* 0 when absent */
	struct sip_str branch;
	bool has_rport;
	struct sip_str params;
};

/* Parse the first via-parm of a Via value; *rest is set to what follows
 * its comma (empty when none). */
int sip_via_parse(struct sip_str v, struct sip_via *via, struct sip_str *rest);

/* Split a comma-separated header value into elements, respecting quotes
 * and angle brackets. Returns the number of elements (<= max), or -1 if
 * there are more than max or an element is empty (e.g. "a,,b"). */
int sip_split_commas(struct sip_str v, struct sip_str *out, size_t max);

/* Walk a comma-separated value one element at a time without copying,
 * with the same quote and angle-bracket rules as sip_split_commas().
 * sip_list_next() returns 1 with *elem set (trimmed, never empty), 0 at the
 * end, and -1 for an empty element or an unterminated quoted string. */
struct sip_list_iter {
	const char *p, *end;
	bool started;
};
void sip_list_init(struct sip_list_iter *it, struct sip_str v);
int sip_list_next(struct sip_list_iter *it, struct sip_str *elem);

struct sip_contact {
	struct sip_nameaddr na;
	bool has_expires;
	uint32_t expires;
};

/* All Contact values of the message, across every Contact header. *star is
 * true for "Contact: *" (which must then be the only value). Returns 0 or
 * EBADMSG (bad syntax, more than max contacts, '*' mixed with others). */
int sip_contacts_parse(const struct sip_msg *m, struct sip_contact *out,
		       size_t max, size_t *n, bool *star);

/* Digest credentials from an Authorization or Proxy-Authorization value. */
struct sip_digest_cred {
	struct sip_str scheme; /* "Digest" expected; anything else -> unknown */
	struct sip_str username, realm, nonce, uri, response, algorithm;
	struct sip_str cnonce, qop, nc, opaque;
};

/* Quoted values are returned without their quotes (still escaped: a
 * quoted-pair '\x' stays as two octets). Returns EBADMSG for a malformed
 * value or a parameter that appears twice. */
int sip_digest_cred_parse(struct sip_str v, struct sip_digest_cred *c);

/* ---- Small helpers ---- */
bool sip_str_eq(struct sip_str a, const char *lit);      /* exact */
bool sip_str_ieq(struct sip_str a, const char *lit);     /* ASCII case-insensitive */
bool sip_str_eq_str(struct sip_str a, struct sip_str b); /* exact */
struct sip_str sip_str_from(const char *cstr);
const char *sip_method_name(enum sip_method m);

#endif
