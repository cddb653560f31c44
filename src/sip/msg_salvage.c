#include "sip/msg_salvage.h"

#include <string.h>

/* The headers an answer echoes, long and compact names. */
static enum sip_hdr_id salvage_id(struct sip_str name)
{
	static const struct {
		const char *name;
		enum sip_hdr_id id;
	} known[] = {
		{"via", SIP_H_VIA},         {"v", SIP_H_VIA},
		{"from", SIP_H_FROM},       {"f", SIP_H_FROM},
		{"to", SIP_H_TO},           {"t", SIP_H_TO},
		{"call-id", SIP_H_CALL_ID}, {"i", SIP_H_CALL_ID},
		{"cseq", SIP_H_CSEQ},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (sip_str_ieq(name, known[i].name))
			return known[i].id;
	}
	return SIP_H_OTHER;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static struct sip_str trim(const char *p, const char *e)
{
	while (p < e && is_wsp(*p))
		p++;
	while (e > p && (is_wsp(e[-1]) || e[-1] == '\r'))
		e--;
	return (struct sip_str){p, (size_t)(e - p)};
}

/* End of the line starting at p (the position of its '\n', or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

static void salvage_reset(struct sip_msg *m, const char *buf, size_t len)
{
	m->buf = buf;
	m->len = len;
	m->nhdrs = 0;
	for (unsigned i = 0; i < SIP_H__COUNT; i++) {
		m->first[i] = -1;
		m->count[i] = 0;
	}
	m->call_id = SIP_STR_NULL;
}

static void salvage_add(struct sip_msg *m, enum sip_hdr_id id, struct sip_str name,
			struct sip_str value)
{
	struct sip_hdr *h;

	/* Singletons keep their first value; every Via is echoed. */
	if (m->nhdrs >= SIP_MAX_HEADERS || (id != SIP_H_VIA && m->first[id] >= 0))
		return;
	h = &m->hdrs[m->nhdrs];
	h->id = id;
	h->name = name;
	h->value = value;
	if (m->first[id] < 0)
		m->first[id] = (int)m->nhdrs;
	m->count[id]++;
	m->nhdrs++;
	if (id == SIP_H_CALL_ID)
		m->call_id = value;
}

bool sip_msg_salvage(struct sip_msg *m, const char *buf, size_t len)
{
	const char *end = buf + len, *p = buf, *le, *colon, *ve;
	struct sip_str name;
	enum sip_hdr_id id;

	salvage_reset(m, buf, len);
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if ((size_t)(end - p) >= 4 && memcmp(p, "SIP/", 4) == 0)
		return false;
	m->is_request = true;
	le = line_end(p, end);
	m->method_str = trim(p, memchr(p, ' ', (size_t)(le - p)) ?: le);
	m->method = sip_str_eq(m->method_str, "ACK") ? SIP_M_ACK : SIP_M_UNKNOWN;
	for (p = le + 1; p < end; p = le + 1) {
		le = line_end(p, end);
		if (trim(p, le).len == 0)
			break; /* the empty line ending the headers */
		colon = memchr(p, ':', (size_t)(le - p));
		if (is_wsp(*p) || !colon)
			continue;
		name = trim(p, colon);
		id = salvage_id(name);
		if (id == SIP_H_OTHER)
			continue;
		/* Folded continuation lines belong to this value. */
		for (ve = le; ve + 1 < end && is_wsp(ve[1]); ve = line_end(ve + 1, end))
			;
		salvage_add(m, id, name, trim(colon + 1, ve));
		le = ve;
	}
	return m->first[SIP_H_VIA] >= 0 && m->method != SIP_M_ACK;
}
