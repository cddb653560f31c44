/* The firewall helper's command language (guard/nft.h) and, as root in a
 * network namespace of its own, the helper's loop against the real
 * kernel: only well-formed add/del/flush messages change the set, and
 * nothing a message holds reaches nft as text. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <nftables/libnftables.h>

#include "guard/nft.h"
#include "guard/nft_helper.h"

static int parse(const char *msg, struct nft_cmd *c)
{
	const char *why = NULL;
	int rc = nft_cmd_parse(msg, strlen(msg), c, &why);

	if (rc)
		assert_non_null(why);
	return rc;
}

static void refused(const char *msg)
{
	struct nft_cmd c;

	if (parse(msg, &c) != EINVAL)
		fail_msg("accepted: %s", msg);
}

/* Parse, format back and compare: the message the daemon sends is the
 * canonical text of the binary form. */
static void round_trip(const char *msg, const char *want)
{
	struct nft_cmd c;
	char buf[NFT_CMD_MAX + 1];

	if (parse(msg, &c) != 0)
		fail_msg("refused: %s", msg);
	assert_true(nft_cmd_format(&c, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, want);
}

static void good_messages_parse_into_binary(void **state)
{
	struct nft_cmd c;

	(void)state;
	assert_int_equal(parse("add 203.0.113.5 900", &c), 0);
	assert_int_equal(c.op, NFT_ADD);
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.addr.a[0], 203);
	assert_int_equal(c.addr.a[3], 5);
	assert_int_equal(c.timeout, 900);
	assert_int_equal(parse("del 2001:db8::1", &c), 0);
	assert_int_equal(c.op, NFT_DEL);
	assert_int_equal(c.addr.family, AF_INET6);
	assert_int_equal(parse("flush", &c), 0);
	assert_int_equal(c.op, NFT_FLUSH);

	round_trip("add 203.0.113.5 1", "add 203.0.113.5 1");
	round_trip("add 2001:DB8:0:0::1 86400", "add 2001:db8::1 86400");
	round_trip("add ::ffff:198.51.100.7 60", "add 198.51.100.7 60");
	round_trip("del 2001:0db8:0000::0001", "del 2001:db8::1");
	round_trip("add 203.0.113.5 31622400", "add 203.0.113.5 31622400");
}

static void bad_addresses_are_refused(void **state)
{
	(void)state;
	refused("add 999.1.1.1 60");
	refused("add 1.2.3 60");
	refused("add 1.2.3.4/24 60");
	refused("add fe80::1%eth0 60");
	refused("add [2001:db8::1] 60");
	refused("add 1.2.3.4:5060 60");
	refused("add 0.0.0.0 60");
	refused("add :: 60");
	refused("add 224.0.0.1 60");
	refused("add ff02::1 60");
	refused("add example.com 60");
	refused("del 1.2.3.4 60");
	refused("del ");
	refused("del");
}

static void injection_attempts_are_refused(void **state)
{
	static const char with_nul[] = "add 1.2.3.4 60\0flush";
	struct nft_cmd c;
	const char *why;

	(void)state;
	refused("add 1.2.3.4; flush ruleset 60");
	refused("add 1.2.3.4 60; flush ruleset");
	refused("add 1.2.3.4 60\nflush ruleset");
	refused("add 1.2.3.4 60\n");
	refused("del 1.2.3.4\nflush ruleset");
	refused("del 1.2.3.4 }; flush ruleset; add element inet x y { 1.2.3.4");
	refused("flush ruleset");
	refused("flush\n");
	refused(" flush");
	refused("FLUSH");
	refused("add  1.2.3.4 60");
	refused("add 1.2.3.4  60");
	refused("add 1.2.3.4 60 ");
	refused("add\t1.2.3.4 60");
	refused("list ruleset");
	refused("");
	assert_int_equal(nft_cmd_parse(with_nul, sizeof(with_nul) - 1, &c, &why), EINVAL);
	assert_string_equal(why, "message holds a NUL byte");
}

static void bad_timeouts_and_overlong_input_are_refused(void **state)
{
	char big[512];

	(void)state;
	refused("add 1.2.3.4");
	refused("add 1.2.3.4 ");
	refused("add 1.2.3.4 0");
	refused("add 1.2.3.4 060");
	refused("add 1.2.3.4 -60");
	refused("add 1.2.3.4 +60");
	refused("add 1.2.3.4 60s");
	refused("add 1.2.3.4 1e3");
	refused("add 1.2.3.4 31622401");          /* 366 days and a second */
	refused("add 1.2.3.4 99999999999999999999");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "add ", 4);
	refused(big);
	memcpy(big, "del 1.2.3.4", 11);
	refused(big);
}

static void format_refuses_what_parse_would(void **state)
{
	struct nft_cmd c = {.op = NFT_ADD};
	char buf[NFT_CMD_MAX + 1];

	(void)state;
	assert_int_equal(nft_cmd_format(&c, buf, sizeof(buf)), 0); /* no address */
	assert_int_equal(parse("add 192.0.2.1 60", &c), 0);
	c.timeout = 0;
	assert_int_equal(nft_cmd_format(&c, buf, sizeof(buf)), 0);
	c.timeout = NFT_TIMEOUT_MAX + 1;
	assert_int_equal(nft_cmd_format(&c, buf, sizeof(buf)), 0);
	c.timeout = 60;
	assert_int_equal(nft_cmd_format(&c, buf, 8), 0); /* too small */
}

static void scripts_are_written_from_the_binary_form(void **state)
{
	struct nft_target t;
	struct nft_cmd c;
	char why[256], buf[NFT_SCRIPT_MAX];

	(void)state;
	assert_int_equal(nft_target_parse("inet  fw\tbad_guys ", &t, why, sizeof(why)), 0);
	assert_int_equal(parse("add 2001:DB8::0:1 900", &c), 0);
	assert_true(nft_cmd_script(&c, &t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
			    "add element inet fw bad_guys6 { 2001:db8::1 }\n"
			    "delete element inet fw bad_guys6 { 2001:db8::1 }\n"
			    "add element inet fw bad_guys6 { 2001:db8::1 timeout 900s }\n");
	assert_int_equal(parse("del 192.0.2.1", &c), 0);
	assert_true(nft_cmd_script(&c, &t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
			    "add element inet fw bad_guys { 192.0.2.1 }\n"
			    "delete element inet fw bad_guys { 192.0.2.1 }\n");
	assert_int_equal(parse("flush", &c), 0);
	assert_true(nft_cmd_script(&c, &t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "flush set inet fw bad_guys\nflush set inet fw bad_guys6\n");
	assert_int_equal(nft_cmd_script(&c, &t, buf, 10), 0);
}

static void targets_are_checked(void **state)
{
	struct nft_target t;
	char why[256];
	char longname[64];

	(void)state;
	assert_int_equal(nft_target_parse("inet ringfence banned", &t, why, sizeof(why)), 0);
	assert_string_equal(t.family, "inet");
	assert_string_equal(t.table, "ringfence");
	assert_string_equal(t.set, "banned");
	assert_int_equal(nft_target_parse("", &t, why, sizeof(why)), EINVAL);
	assert_int_equal(nft_target_parse("ip6 ringfence banned", &t, why, sizeof(why)), EINVAL);
	assert_int_equal(nft_target_parse("inet 1table banned", &t, why, sizeof(why)), EINVAL);
	assert_int_equal(nft_target_parse("inet t b;x", &t, why, sizeof(why)), EINVAL);
	assert_int_equal(nft_target_parse("inet t {b}", &t, why, sizeof(why)), EINVAL);
	assert_int_equal(nft_target_parse("inet t b c", &t, why, sizeof(why)), EINVAL);
	/* 30 characters fit: the IPv6 set's name adds one. */
	snprintf(longname, sizeof(longname), "inet t %.30s", "abcdefghijklmnopqrstuvwxyzabcdefgh");
	assert_int_equal(nft_target_parse(longname, &t, why, sizeof(why)), 0);
	snprintf(longname, sizeof(longname), "inet t %.31s", "abcdefghijklmnopqrstuvwxyzabcdefgh");
	assert_int_equal(nft_target_parse(longname, &t, why, sizeof(why)), EINVAL);
	assert_string_equal(why, "the set name is longer than 30 characters");
}

/* ---- the helper against the kernel, in a namespace of its own ---- */

static int nft_do(struct nft_ctx *nft, const char *cmd)
{
	return nft_run_cmd_from_buffer(nft, cmd);
}

static void send_msg(int fd, const char *msg, size_t len)
{
	if (send(fd, msg, len, 0) != (ssize_t)len)
		_exit(10);
}

#define SEND(fd, s) send_msg(fd, s, strlen(s))

/* Runs in a child that owns a fresh network namespace; exits 0 when the
 * set holds exactly what the valid messages asked for. */
static void helper_child(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	struct nft_target t;
	char why[128], big[300];
	const char *out;
	int sv[2];

	if (!nft || nft_target_parse("inet rftest banned", &t, why, sizeof(why)) != 0)
		_exit(2);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_do(nft, "table inet rftest {\n"
			" set banned { type ipv4_addr; flags timeout; }\n"
			" set banned6 { type ipv6_addr; flags timeout; }\n"
			" chain input { type filter hook input priority 0; policy accept;\n"
			"  ip saddr @banned counter drop\n }\n"
			"}\n") != 0)
	{
		fprintf(stderr, "%s", nft_ctx_get_error_buffer(nft));
		_exit(3);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		_exit(4);
	/* Everything queues in the socket, then the helper runs to end of file. */
	SEND(sv[0], "add 192.0.2.1 600");
	SEND(sv[0], "add 192.0.2.2; flush ruleset 600");
	SEND(sv[0], "add 192.0.2.3 600\nflush ruleset");
	SEND(sv[0], "del 192.0.2.1\nadd 192.0.2.4 600");
	SEND(sv[0], "flush ruleset");
	memset(big, '1', sizeof(big));
	memcpy(big, "add 192.0.2.5 ", 14);
	send_msg(sv[0], big, sizeof(big));                 /* overlong */
	send_msg(sv[0], "add 192.0.2.6 600\0x", 19);     /* NUL inside */
	SEND(sv[0], "add 2001:db8::1 600");
	SEND(sv[0], "add 192.0.2.7 600");
	SEND(sv[0], "del 192.0.2.7");
	SEND(sv[0], "del 192.0.2.8");                    /* not there: no error */
	close(sv[0]);
	nft_helper_serve(sv[1], &t);
	close(sv[1]);

	if (nft_do(nft, "list table inet rftest") != 0)
		_exit(5);
	out = nft_ctx_get_output_buffer(nft);
	if (!strstr(out, "192.0.2.1 timeout 10m") || !strstr(out, "2001:db8::1 timeout 10m") ||
	    !strstr(out, "ip saddr @banned counter"))
		_exit(6);
	for (const char *p = out; (p = strstr(p, "192.0.2.")); p += 8)
		if (p[8] != '1')
			_exit(7); /* 2..8 must not be in the set */
	/* A new flush empties both sets and nothing else. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		_exit(8);
	SEND(sv[0], "flush");
	close(sv[0]);
	nft_helper_serve(sv[1], &t);
	if (nft_do(nft, "list table inet rftest") != 0)
		_exit(9);
	out = nft_ctx_get_output_buffer(nft);
	if (strstr(out, "elements") || !strstr(out, "chain input"))
		_exit(11);
	nft_ctx_free(nft);
	_exit(0);
}

static void helper_changes_only_what_valid_messages_ask(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0) {
		skip(); /* a namespace of our own needs root; CI runs as root */
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(77);
		helper_child();
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		if (getenv("RF_REQUIRE_NETNS"))
			fail_msg("cannot create a network namespace");
		skip();
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_messages_parse_into_binary),
		cmocka_unit_test(bad_addresses_are_refused),
		cmocka_unit_test(injection_attempts_are_refused),
		cmocka_unit_test(bad_timeouts_and_overlong_input_are_refused),
		cmocka_unit_test(format_refuses_what_parse_would),
		cmocka_unit_test(scripts_are_written_from_the_binary_form),
		cmocka_unit_test(targets_are_checked),
		cmocka_unit_test(helper_changes_only_what_valid_messages_ask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
