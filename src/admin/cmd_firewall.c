/* firewall print (S25): a complete host ruleset, in nft's own syntax, for
 * this instance's configuration. Everything not asked for is dropped: the
 * SIP ports, the RTP relay range and ssh from the LAN are the only doors,
 * and a banned source does not even get through those. The sets the
 * daemon mirrors its bans into ([firewall] nft_set) are part of it, and
 * loading the ruleset again keeps their elements: it flushes the rules,
 * not the sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "admin/admin.h"
#include "admin/cmd_firewall.h"
#include "core/conf.h"
#include "guard/nft.h"

#define FIREWALL_SSH_PORT 22

/* Administration is for the LAN only: RFC 1918 and ULA (loopback has its
 * own rule), the same LAN the SIP side knows (guard/acl.h). */
static const char *const lan_v4[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"};
static const char *const lan_v6[] = {"fc00::/7"};

static void print_sets(FILE *out, const struct nft_target *t, bool synced)
{
	if (synced)
		fprintf(out, "  # Ringfence mirrors its bans here ([firewall] nft_set = %s %s %s).\n",
			t->family, t->table, t->set);
	else
		fprintf(out, "  # For bans mirrored by Ringfence, set [firewall] nft_set = %s %s %s.\n",
			t->family, t->table, t->set);
	fprintf(out, "  set %s {\n    type ipv4_addr\n    flags timeout\n  }\n", t->set);
	fprintf(out, "  set %s6 {\n    type ipv6_addr\n    flags timeout\n  }\n\n", t->set);
}

static void print_basics(FILE *out, const struct nft_target *t)
{
	fputs("  chain input {\n"
	      "    type filter hook input priority filter; policy drop;\n\n"
	      "    # Banned sources first: not even an established connection stays.\n", out);
	fprintf(out, "    ip saddr @%s counter drop\n", t->set);
	fprintf(out, "    ip6 saddr @%s6 counter drop\n\n", t->set);
	fputs("    iif \"lo\" accept\n"
	      "    ct state invalid drop\n"
	      "    ct state established,related accept\n"
	      "    # IPv6 does not work without neighbour discovery.\n"
	      "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, "
	      "nd-router-solicit } accept\n"
	      "    icmp type echo-request limit rate 10/second accept\n"
	      "    icmpv6 type echo-request limit rate 10/second accept\n\n", out);
}

static void print_sip(FILE *out, const struct rf_conf *c)
{
	fputs("    # SIP signalling ([sip] port, tls_port, transports)\n", out);
	if (c->udp)
		fprintf(out, "    udp dport %u accept\n", c->port);
	if (c->tcp)
		fprintf(out, "    tcp dport %u accept\n", c->port);
	if (c->tls && c->tls_port)
		fprintf(out, "    tcp dport %u accept\n", c->tls_port);
	fputs("    # RTP and RTCP through the media relay ([media] rtp_port_min..rtp_port_max)\n",
	      out);
	fprintf(out, "    udp dport %u-%u accept\n\n", c->rtp_port_min, c->rtp_port_max);
}

static void print_admin(FILE *out, const struct rf_conf *c)
{
	char cidr[INET6_ADDRSTRLEN + 8];

	fputs("    # Administration (ssh) from the LAN only: RFC 1918, ULA and [security] lan\n",
	      out);
	for (size_t i = 0; i < sizeof(lan_v4) / sizeof(lan_v4[0]); i++)
		fprintf(out, "    ip saddr %s tcp dport %u accept\n", lan_v4[i], FIREWALL_SSH_PORT);
	for (size_t i = 0; i < sizeof(lan_v6) / sizeof(lan_v6[0]); i++)
		fprintf(out, "    ip6 saddr %s tcp dport %u accept\n", lan_v6[i], FIREWALL_SSH_PORT);
	for (unsigned i = 0; i < c->nlan; i++) {
		acl_cidr_format(&c->lan[i], cidr, sizeof(cidr));
		fprintf(out, "    %s saddr %s tcp dport %u accept\n",
			c->lan[i].family == AF_INET ? "ip" : "ip6", cidr, FIREWALL_SSH_PORT);
	}
	fputs("\n    # Everything else is dropped by the policy.\n  }\n", out);
}

int firewall_ruleset(const struct rf_conf *c, FILE *out, char *why, size_t whylen)
{
	struct nft_target t;
	bool synced = c->nft_set[0] != '\0';

	if (!synced)
		nft_target_parse("inet ringfence banned", &t, why, whylen);
	else if (nft_target_parse(c->nft_set, &t, why, whylen) != 0)
		return -1; /* conf_load refuses it first; a caller may skip that */
	fprintf(out, "#!/usr/sbin/nft -f\n"
		"# Host firewall for the Ringfence instance %s,\n"
		"# written by 'ringfence firewall print'. Load it with 'nft -f FILE'.\n"
		"# Loading it again replaces the rules and keeps the banned sets.\n\n",
		c->path[0] ? c->path : "(defaults)");
	fprintf(out, "table %s %s {\n}\nflush table %s %s\n\n", t.family, t.table, t.family,
		t.table);
	fprintf(out, "table %s %s {\n", t.family, t.table);
	print_sets(out, &t, synced);
	print_basics(out, &t);
	print_sip(out, c);
	print_admin(out, c);
	fputs("}\n", out);
	return 0;
}

/* Like check-config: one note per line. The text renderer escapes control
 * characters, tabs included, which is why the ruleset is indented with
 * spaces. */
static void notes_from_text(struct admin_reply *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		admin_reply_note(r, "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

int cmd_firewall_print(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		       const struct admin_args *a, struct admin_reply *r)
{
	char *buf = NULL, why[256] = "";
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	if (!mem)
		return admin_reply_error(r, ADMIN_FAILED, "out of memory");
	rc = firewall_ruleset(ctx->conf, mem, why, sizeof(why));
	fclose(mem);
	if (rc == 0)
		notes_from_text(r, buf, len);
	free(buf);
	if (rc != 0)
		return admin_reply_error(r, ADMIN_FAILED, "[firewall] nft_set: %s", why);
	return ADMIN_OK;
}
