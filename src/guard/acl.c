/* CIDR access lists.
 *
 * Addresses are compared in one canonical form: an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d), whether it is a peer on a dual-stack socket or
 * an entry written that way, is treated as the IPv4 address it carries. A
 * peer therefore gets the same verdict whichever socket it arrived on. */
#include "guard/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Reasons that quote the input need a buffer; it is per thread so parsing
 * in two threads at once cannot mix reasons up. Valid until the next call
 * to acl_cidr_parse() in the same thread. */
static _Thread_local char why_buf[128];

static int fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return EINVAL;
}

static unsigned family_bits(uint8_t family)
{
	return family == AF_INET ? 32u : 128u;
}

static const char *family_name(uint8_t family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Parse the prefix length after '/': 1 to 3 digits. */
static int parse_prefix(const char *p, uint8_t family, unsigned *out,
			const char **why)
{
	unsigned v = 0;
	size_t n = strlen(p);

	if (n == 0)
		return fail(why, "missing prefix length after '/'");
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return fail(why, "prefix length is not a number");
	if (n > 3) {
		snprintf(why_buf, sizeof(why_buf),
			 "prefix length %.16s out of range for %s", p,
			 family_name(family));
		return fail(why, why_buf);
	}
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	if (v > family_bits(family)) {
		snprintf(why_buf, sizeof(why_buf),
			 "prefix length %u out of range for %s", v,
			 family_name(family));
		return fail(why, why_buf);
	}
	*out = v;
	return 0;
}

static void mask_host_bits(uint8_t *addr, unsigned nbytes, unsigned prefix)
{
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned bit = i * 8;

		if (bit >= prefix)
			addr[i] = 0;
		else if (prefix - bit < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (prefix - bit)));
	}
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* An entry written as ::ffff:a.b.c.d/n (n >= 96) is the IPv4 entry
 * a.b.c.d/(n-96). */
static void canonicalise(struct acl_cidr *c)
{
	if (c->family != AF_INET6 || c->prefix < 96 || !is_v4_mapped(c->addr))
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix = (uint8_t)(c->prefix - 96);
}

int acl_cidr_parse(const char *s, struct acl_cidr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	struct acl_cidr c;
	const char *slash;
	size_t hostlen;
	unsigned prefix;
	int err;

	if (s == NULL || *s == '\0' || out == NULL)
		return fail(why, "empty address");
	slash = strchr(s, '/');
	hostlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hostlen == 0 || hostlen >= sizeof(host))
		return fail(why, "not an IP address");
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';

	memset(&c, 0, sizeof(c));
	c.family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, host, c.addr) != 1)
		return fail(why, "not an IP address");
	prefix = family_bits(c.family);
	if (slash != NULL) {
		err = parse_prefix(slash + 1, c.family, &prefix, why);
		if (err)
			return err;
	}
	c.prefix = (uint8_t)prefix;

	{
		struct acl_cidr net = c;
		char suggestion[INET6_ADDRSTRLEN + 4];

		mask_host_bits(net.addr, family_bits(c.family) / 8, prefix);
		if (memcmp(net.addr, c.addr, sizeof(c.addr)) != 0) {
			acl_cidr_format(&net, suggestion, sizeof(suggestion));
			snprintf(why_buf, sizeof(why_buf),
				 "host bits set beyond /%u: did you mean %s?",
				 prefix, suggestion);
			return fail(why, why_buf);
		}
	}
	canonicalise(&c);
	*out = c;
	return 0;
}

void acl_cidr_format(const struct acl_cidr *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	int family = c->family == AF_INET ? AF_INET : AF_INET6;

	if (len == 0)
		return;
	if (inet_ntop(family, c->addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s/%u", host, (unsigned)c->prefix);
}

/* The source in canonical form: family plus 4 or 16 address bytes. */
static bool source_addr(const struct sockaddr *sa, uint8_t *family,
			uint8_t addr[16])
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*family = AF_INET;
		memcpy(addr, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (is_v4_mapped(in6->sin6_addr.s6_addr)) {
			*family = AF_INET;
			memcpy(addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &in6->sin6_addr, 16);
		}
		return true;
	}
	return false;
}

static bool cidr_match_addr(const struct acl_cidr *c, uint8_t family,
			    const uint8_t addr[16])
{
	if (c->family != family || c->prefix > family_bits(family))
		return false;
	return prefix_match(c->addr, addr, c->prefix);
}

bool acl_cidr_match(const struct acl_cidr *c, const struct sockaddr *sa)
{
	uint8_t family, addr[16];

	if (c == NULL || !source_addr(sa, &family, addr))
		return false;
	return cidr_match_addr(c, family, addr);
}

static bool any_match(const struct acl_cidr *list, unsigned n, uint8_t family,
		      const uint8_t addr[16])
{
	if (n > RF_MAX_ACL_ENTRIES)
		n = RF_MAX_ACL_ENTRIES;
	for (unsigned i = 0; i < n; i++)
		if (cidr_match_addr(&list[i], family, addr))
			return true;
	return false;
}

bool acl_allows(const struct acl *a, const struct sockaddr *sa)
{
	uint8_t family, addr[16];

	if (a == NULL || !source_addr(sa, &family, addr))
		return false;
	if (any_match(a->deny, a->ndeny, family, addr))
		return false;
	return any_match(a->permit, a->npermit, family, addr);
}

#define V4(a, b, c, d, n) {AF_INET, n, {a, b, c, d}}

static const struct acl_cidr lan_builtin[] = {
	V4(10, 0, 0, 0, 8),
	V4(172, 16, 0, 0, 12),
	V4(192, 168, 0, 0, 16),
	V4(127, 0, 0, 0, 8),
	{AF_INET6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	{AF_INET6, 7, {0xfc}},
};

bool acl_is_lan(const struct sockaddr *sa, const struct acl_cidr *extra,
		unsigned nextra)
{
	uint8_t family, addr[16];
	size_t nbuiltin = sizeof(lan_builtin) / sizeof(lan_builtin[0]);

	if (!source_addr(sa, &family, addr))
		return false;
	for (size_t i = 0; i < nbuiltin; i++)
		if (cidr_match_addr(&lan_builtin[i], family, addr))
			return true;
	for (unsigned i = 0; extra != NULL && i < nextra; i++)
		if (cidr_match_addr(&extra[i], family, addr))
			return true;
	return false;
}

/* One network as a site sees it: the /24 of an IPv4 address, the /64 of an
 * IPv6 one (a home or office line is given about that much). */
int acl_network_of(const struct sockaddr *sa, struct acl_cidr *out)
{
	uint8_t family, addr[16] = {0};

	if (!source_addr(sa, &family, addr))
		return EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->prefix = family == AF_INET ? 24 : 64;
	memcpy(out->addr, addr, family == AF_INET ? 4 : 16);
	mask_host_bits(out->addr, family == AF_INET ? 4 : 16, out->prefix);
	return 0;
}
