/* NAPTR/SRV answer handling; see dns_answer.h. */
#include "pbx/dns_answer.h"

#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DNS_HEADER_LEN 12u
#define DNS_RR_FIXED_LEN 10u /* type, class, ttl, rdlength */

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Skip a (possibly compressed) name at *off. False when malformed. */
static bool skip_name(const unsigned char *buf, size_t len, size_t *off)
{
	char *name = NULL;
	long enclen = 0;

	if (*off >= len || len > (size_t)INT32_MAX)
		return false;
	if (ares_expand_name(buf + *off, buf, (int)len, &name, &enclen) != ARES_SUCCESS)
		return false;
	ares_free_string(name);
	if (enclen <= 0 || (size_t)enclen > len - *off)
		return false;
	*off += (size_t)enclen;
	return true;
}

static uint32_t clamp_ttl(uint32_t ttl)
{
	if (ttl < DNS_TTL_MIN_S)
		return DNS_TTL_MIN_S;
	return ttl > DNS_TTL_MAX_S ? DNS_TTL_MAX_S : ttl;
}

int dns_answer_min_ttl(const unsigned char *buf, size_t len, uint32_t *ttl)
{
	size_t off = DNS_HEADER_LEN;
	uint32_t best = DNS_TTL_MAX_S;
	unsigned qd, an;

	if (!buf || len < DNS_HEADER_LEN)
		return EBADMSG;
	qd = get16(buf + 4);
	an = get16(buf + 6);
	if (qd > 1)
		return EBADMSG; /* every query we send has one question */
	for (unsigned i = 0; i < qd; i++) {
		if (!skip_name(buf, len, &off) || len - off < 4)
			return EBADMSG;
		off += 4;
	}
	for (unsigned i = 0; i < an && i < DNS_MAX_RECORDS * 4u; i++) {
		uint32_t t;
		uint16_t rdlen;

		if (!skip_name(buf, len, &off) || len - off < DNS_RR_FIXED_LEN)
			return EBADMSG;
		t = ((uint32_t)buf[off + 4] << 24) | ((uint32_t)buf[off + 5] << 16) |
		    ((uint32_t)buf[off + 6] << 8) | buf[off + 7];
		rdlen = get16(buf + off + 8);
		off += DNS_RR_FIXED_LEN;
		if (rdlen > len - off)
			return EBADMSG;
		off += rdlen;
		if (t < best)
			best = t;
	}
	*ttl = clamp_ttl(best);
	return 0;
}

static int ares_to_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS: return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND: return ENOENT;
	case ARES_ENOMEM: return ENOMEM;
	default: return EBADMSG;
	}
}

int dns_answer_srv(const unsigned char *buf, size_t len,
		   struct dns_srv *out, unsigned *n)
{
	struct ares_srv_reply *srv = NULL;
	int e;

	*n = 0;
	if (!buf || len > (size_t)INT32_MAX)
		return EBADMSG;
	e = ares_to_errno(ares_parse_srv_reply(buf, (int)len, &srv));
	if (e)
		return e;
	for (struct ares_srv_reply *r = srv; r && *n < DNS_MAX_RECORDS; r = r->next) {
		size_t hl = strlen(r->host);

		/* "." is RFC 2782's "no service here"; an empty name is useless. */
		if (hl == 0 || hl >= sizeof(out->target) || strcmp(r->host, ".") == 0 ||
		    r->port == 0)
			continue;
		memcpy(out[*n].target, r->host, hl + 1);
		out[*n].priority = r->priority;
		out[*n].weight = r->weight;
		out[*n].port = r->port;
		(*n)++;
	}
	ares_free_data(srv);
	return *n ? 0 : ENOENT;
}

static const char *naptr_service(enum sip_transport tp)
{
	switch (tp) {
	case SIP_TP_TLS: return "SIPS+D2T";
	case SIP_TP_TCP: return "SIP+D2T";
	default: return "SIP+D2U";
	}
}

int dns_answer_naptr(const unsigned char *buf, size_t len,
		     enum sip_transport tp, char *replacement, size_t rlen)
{
	struct ares_naptr_reply *naptr = NULL, *best = NULL;
	const char *want = naptr_service(tp);
	unsigned seen = 0;
	int e;

	if (!buf || len > (size_t)INT32_MAX || rlen == 0)
		return EBADMSG;
	e = ares_to_errno(ares_parse_naptr_reply(buf, (int)len, &naptr));
	if (e)
		return e;
	for (struct ares_naptr_reply *r = naptr; r && seen < DNS_MAX_RECORDS; r = r->next, seen++) {
		if (strcasecmp((const char *)r->flags, "s") != 0 ||
		    strcasecmp((const char *)r->service, want) != 0 ||
		    !r->replacement[0] || strlen(r->replacement) >= rlen)
			continue;
		if (!best || r->order < best->order ||
		    (r->order == best->order && r->preference < best->preference))
			best = r;
	}
	if (best)
		snprintf(replacement, rlen, "%s", best->replacement);
	ares_free_data(naptr);
	return best ? 0 : ENOENT;
}
