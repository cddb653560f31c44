/* Known scanner marks; see scanner.h. */
#include "guard/scanner.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

enum mark_kind {
	UA_EXACT,      /* the whole User-Agent value */
	UA_PREFIX,     /* the User-Agent value starts with it */
	FROM_CONTAINS, /* anywhere in the From value */
};

struct mark {
	enum mark_kind kind;
	const char *text;
	const char *tool;
};

/* Only marks no legitimate product uses: a false positive bans a phone. */
static const struct mark marks[] = {
	{UA_EXACT, "friendly-scanner", "sipvicious"},
	{UA_EXACT, "sundayddr", "sipvicious"},
	{FROM_CONTAINS, "\"sipvicious\"", "sipvicious"},
	{FROM_CONTAINS, "\"sipsscuser\"", "sipvicious"},
	{FROM_CONTAINS, "@1.1.1.1>", "sipvicious"},
	{UA_EXACT, "pplsip", "sippts"},
	{UA_EXACT, "sipptk", "sippts"},
	{UA_PREFIX, "sipcli/", "sipcli"},
	{UA_PREFIX, "VaxSIPUserAgent", "vaxsip"},
	{UA_PREFIX, "VaxIPUserAgent", "vaxsip"},
	{UA_EXACT, "Nmap NSE", "nmap"},
	{FROM_CONTAINS, "<sip:nm@nm>", "nmap"},
	{UA_PREFIX, "sipsak", "sipsak"},
	{UA_PREFIX, "iWar", "iwar"},
	{UA_PREFIX, "sip-scan", "sip-scan"},
	{FROM_CONTAINS, "SIVuS_VoIP_Scanner", "sivus"},
	{FROM_CONTAINS, "<sip:smap@", "smap"},
};

static bool has_prefix_ci(const char *s, size_t len, const char *prefix, size_t plen)
{
	return plen > 0 && len >= plen && strncasecmp(s, prefix, plen) == 0;
}

static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	return n <= len && memmem(s, len, needle, n) != NULL;
}

static bool mark_matches(const struct mark *m, const char *ua, size_t ualen, const char *from,
			 size_t fromlen)
{
	size_t n = strlen(m->text);

	switch (m->kind) {
	case UA_EXACT:
		return ua && ualen == n && strncasecmp(ua, m->text, n) == 0;
	case UA_PREFIX:
		return ua && has_prefix_ci(ua, ualen, m->text, n);
	case FROM_CONTAINS:
		return from && contains(from, fromlen, m->text);
	}
	return false;
}

/* One of the administrator's comma-separated prefixes, spaces trimmed. */
static bool extra_matches(const char *ua, size_t ualen, const char *extra)
{
	const char *p = extra;

	while (ua && p && *p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *b = p;

		while (b < end && (*b == ' ' || *b == '\t'))
			b++;
		while (end > b && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (has_prefix_ci(ua, ualen, b, (size_t)(end - b)))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

const char *scanner_match(const char *ua, size_t ualen, const char *from, size_t fromlen,
			  const char *extra)
{
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (mark_matches(&marks[i], ua, ualen, from, fromlen))
			return marks[i].tool;
	}
	return extra_matches(ua, ualen, extra) ? "configured" : NULL;
}
