/* The firewall helper's command language and the nft commands made of it
 * (guard/nft.h). Everything here is pure text work, so it is unit tested
 * without a kernel. */
#include "guard/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NFT_ADDR_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1: the longest IPv6 text */

/* ---- the target set ---- */

static bool name_char(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return !first && ((ch >= '0' && ch <= '9') || ch == '_');
}

/* One word of `spec` into out: a name as nft_target_parse describes. */
static int take_name(const char **sp, char *out, size_t outlen, const char *what,
		     char *why, size_t whylen)
{
	const char *s = *sp, *start;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	start = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	n = (size_t)(s - start);
	if (n == 0) {
		snprintf(why, whylen, "the %s name is missing: write 'inet TABLE SET'", what);
		return EINVAL;
	}
	if (n >= outlen) {
		snprintf(why, whylen, "the %s name is longer than %zu characters", what, outlen - 1);
		return EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char(start[i], i == 0)) {
			snprintf(why, whylen, "the %s name '%.*s' may hold only letters, digits "
				 "and '_', starting with a letter", what, (int)n, start);
			return EINVAL;
		}
	}
	memcpy(out, start, n);
	out[n] = '\0';
	*sp = s;
	return 0;
}

int nft_target_parse(const char *spec, struct nft_target *t, char *why, size_t whylen)
{
	struct nft_target r = {0};
	char family[16];
	const char *s = spec;

	if (take_name(&s, family, sizeof(family), "family", why, whylen))
		return EINVAL;
	if (strcmp(family, "inet") != 0) {
		snprintf(why, whylen, "family '%s' is not supported: use inet, whose one "
			 "table filters IPv4 and IPv6 alike", family);
		return EINVAL;
	}
	memcpy(r.family, "inet", sizeof("inet"));
	if (take_name(&s, r.table, sizeof(r.table), "table", why, whylen) ||
	    take_name(&s, r.set, NFT_NAME_MAX, "set", why, whylen))
		return EINVAL;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s) {
		snprintf(why, whylen, "unexpected text after the set name: write 'inet TABLE SET'");
		return EINVAL;
	}
	*t = r;
	return 0;
}

/* ---- messages ---- */

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return EINVAL;
}

/* An address word: only the characters an IPv4 or IPv6 literal has, so a
 * zone index, a prefix or anything nft would read differently never gets
 * as far as inet_pton. */
static int parse_addr(const char *p, size_t n, struct ban_addr *out, const char **why)
{
	char text[NFT_ADDR_TEXT_MAX + 1];
	static const uint8_t zero[16];

	if (n == 0)
		return refuse(why, "the address is missing");
	if (n > NFT_ADDR_TEXT_MAX)
		return refuse(why, "the address is too long");
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
			return refuse(why, "the address holds a character no IP address has");
	}
	memcpy(text, p, n);
	text[n] = '\0';
	if (ban_addr_parse(text, out) != 0)
		return refuse(why, "not an IPv4 or IPv6 address");
	if (!memcmp(out->a, zero, sizeof(zero)))
		return refuse(why, "the unspecified address cannot be banned");
	if ((out->family == AF_INET && out->a[0] >= 224 && out->a[0] <= 239) ||
	    (out->family == AF_INET6 && out->a[0] == 0xff))
		return refuse(why, "a multicast address cannot be banned");
	return 0;
}

static int parse_timeout(const char *p, size_t n, unsigned *out, const char **why)
{
	unsigned long v = 0;

	if (n == 0)
		return refuse(why, "the timeout is missing");
	if (n > 8)
		return refuse(why, "the timeout is too long");
	if (p[0] == '0')
		return refuse(why, "the timeout must be 1 or more, without a leading zero");
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return refuse(why, "the timeout is not a whole number of seconds");
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > NFT_TIMEOUT_MAX)
		return refuse(why, "the timeout is longer than 366 days");
	*out = (unsigned)v;
	return 0;
}

int nft_cmd_parse(const char *msg, size_t len, struct nft_cmd *out, const char **why)
{
	struct nft_cmd c = {0};
	const char *end = msg + len, *sp;

	if (len == 0)
		return refuse(why, "empty message");
	if (len > NFT_CMD_MAX)
		return refuse(why, "message too long");
	if (memchr(msg, '\0', len))
		return refuse(why, "message holds a NUL byte");
	if (len == 5 && !memcmp(msg, "flush", 5)) {
		c.op = NFT_FLUSH;
	} else if (len > 4 && !memcmp(msg, "add ", 4)) {
		c.op = NFT_ADD;
		sp = memchr(msg + 4, ' ', len - 4);
		if (!sp)
			return refuse(why, "add needs an address and a timeout");
		if (parse_addr(msg + 4, (size_t)(sp - msg - 4), &c.addr, why) ||
		    parse_timeout(sp + 1, (size_t)(end - sp - 1), &c.timeout, why))
			return EINVAL;
	} else if (len > 4 && !memcmp(msg, "del ", 4)) {
		c.op = NFT_DEL;
		if (parse_addr(msg + 4, len - 4, &c.addr, why))
			return EINVAL;
	} else {
		return refuse(why, "unknown command: only add, del and flush");
	}
	*out = c;
	return 0;
}

size_t nft_cmd_format(const struct nft_cmd *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (c->op == NFT_FLUSH) {
		n = snprintf(buf, len, "flush");
	} else {
		if (c->addr.family != AF_INET && c->addr.family != AF_INET6)
			return 0;
		ban_addr_format(&c->addr, addr, sizeof(addr));
		if (c->op == NFT_DEL)
			n = snprintf(buf, len, "del %s", addr);
		else if (c->timeout >= 1 && c->timeout <= NFT_TIMEOUT_MAX)
			n = snprintf(buf, len, "add %s %u", addr, c->timeout);
		else
			return 0;
	}
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* ---- nft commands ---- */

size_t nft_cmd_script(const struct nft_cmd *c, const struct nft_target *t, char *buf,
		      size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *six = c->addr.family == AF_INET6 ? "6" : "";
	const char *fam = t->family, *tab = t->table, *set = t->set;
	int n;

	switch (c->op) {
	case NFT_FLUSH:
		n = snprintf(buf, len, "flush set %s %s %s\nflush set %s %s %s6\n",
			     fam, tab, set, fam, tab, set);
		break;
	case NFT_ADD:
		ban_addr_format(&c->addr, addr, sizeof(addr));
		n = snprintf(buf, len,
			     "add element %s %s %s%s { %s }\n"
			     "delete element %s %s %s%s { %s }\n"
			     "add element %s %s %s%s { %s timeout %us }\n",
			     fam, tab, set, six, addr, fam, tab, set, six, addr,
			     fam, tab, set, six, addr, c->timeout);
		break;
	case NFT_DEL:
		ban_addr_format(&c->addr, addr, sizeof(addr));
		n = snprintf(buf, len,
			     "add element %s %s %s%s { %s }\n"
			     "delete element %s %s %s%s { %s }\n",
			     fam, tab, set, six, addr, fam, tab, set, six, addr);
		break;
	default:
		return 0;
	}
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}
