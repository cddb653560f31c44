/* The trunk snapshot: a trunk is found by the address its packets come
 * from (its --ip networks and its host's addresses, any port), never by
 * name alone; DIDs lead to their extension; the routes come along; and a
 * host name contributes addresses only once the resolver reports them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "pbx/trunks.h"

static void add_trunk(struct store *s, const char *name, const char *host, const char *cidr)
{
	struct trunk_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.host, sizeof(r.host), "%s", host);
	snprintf(r.transport, sizeof(r.transport), "udp");
	r.max_calls = 30;
	if (cidr) {
		assert_int_equal(acl_cidr_parse(cidr, &r.ips[0], NULL), 0);
		r.nips = 1;
	}
	assert_int_equal(store_trunk_add(s, &r), 0);
}

static void add_did(struct store *s, const char *number, const char *ext)
{
	struct ext_record e;
	struct did_record d;

	memset(&e, 0, sizeof(e));
	snprintf(e.ext, sizeof(e.ext), "%s", ext);
	memset(e.ha1.md5, 'a', DIGEST_MD5_HEX);
	memset(e.ha1.sha256, 'b', DIGEST_SHA256_HEX);
	assert_int_equal(store_ext_add(s, &e), 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.number, sizeof(d.number), "%s", number);
	snprintf(d.ext, sizeof(d.ext), "%s", ext);
	assert_int_equal(store_did_add(s, &d), 0);
}

static const struct sockaddr *v4(const char *ip, uint16_t port)
{
	static struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return (const struct sockaddr *)&sin;
}

static struct trunks *loaded(struct store *s)
{
	struct trunks *t = NULL;
	char why[160];

	assert_int_equal(trunks_load(&t, s, why, sizeof(why)), 0);
	return t;
}

static const char *source_name(const struct trunks *t, const char *ip, uint16_t port)
{
	const struct trunk *tr = trunks_by_source(t, v4(ip, port));

	return tr ? tr->rec.name : "";
}

static void test_a_trunk_is_known_by_its_addresses_on_any_port(void **state)
{
	struct fixture *f = *state;
	struct trunks *t;

	add_trunk(f->s, "literal", "192.0.2.10", NULL);
	add_trunk(f->s, "net", "sip.example.net", "198.51.100.0/24");
	t = loaded(f->s);
	assert_int_equal(trunks_count(t), 2);
	assert_string_equal(source_name(t, "192.0.2.10", 5060), "literal");
	assert_string_equal(source_name(t, "192.0.2.10", 40123), "literal");
	assert_string_equal(source_name(t, "198.51.100.77", 5060), "net");
	assert_string_equal(source_name(t, "192.0.2.11", 5060), "");
	assert_string_equal(source_name(t, "198.51.101.1", 5060), "");
	trunks_free(t);
}

static void test_a_literal_host_is_where_calls_go(void **state)
{
	struct fixture *f = *state;
	const struct sockaddr_in *dest;
	struct trunks *t;

	add_trunk(f->s, "literal", "192.0.2.10", NULL);
	t = loaded(f->s);
	dest = (const struct sockaddr_in *)&trunks_find(t, "literal")->dest;
	assert_int_equal(trunks_find(t, "literal")->destlen, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(dest->sin_port), 5060);
	assert_null(trunks_find(t, "nosuch"));
	trunks_free(t);
}

static void test_a_host_name_counts_once_resolved(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage addrs[2];
	struct trunks *t;

	add_trunk(f->s, "named", "sip.example.net", NULL);
	t = loaded(f->s);
	assert_int_equal(trunks_find(t, "named")->destlen, 0);
	assert_string_equal(source_name(t, "203.0.113.5", 5060), "");
	memset(addrs, 0, sizeof(addrs));
	memcpy(&addrs[0], v4("203.0.113.5", 5080), sizeof(struct sockaddr_in));
	memcpy(&addrs[1], v4("203.0.113.6", 5080), sizeof(struct sockaddr_in));
	assert_int_equal(trunks_set_resolved(t, "named", addrs, 2), 0);
	assert_string_equal(source_name(t, "203.0.113.6", 1234), "named");
	assert_int_equal(trunks_find(t, "named")->destlen, sizeof(struct sockaddr_in));
	assert_int_equal(trunks_set_resolved(t, "other", addrs, 1), ENOENT);
	trunks_free(t);
}

/* A later lookup replaces the set: the first address is where calls go,
 * the old ones are no longer the trunk's, and an empty set leaves the
 * trunk without an address to call. */
static void test_a_new_resolution_replaces_the_old(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage addrs[2];
	const struct trunk *tr;
	struct trunks *t;

	add_trunk(f->s, "named", "sip.example.net", NULL);
	t = loaded(f->s);
	memset(addrs, 0, sizeof(addrs));
	memcpy(&addrs[0], v4("203.0.113.5", 5080), sizeof(struct sockaddr_in));
	memcpy(&addrs[1], v4("203.0.113.6", 5090), sizeof(struct sockaddr_in));
	assert_int_equal(trunks_set_resolved(t, "named", addrs, 2), 0);
	memcpy(&addrs[0], v4("203.0.113.6", 5090), sizeof(struct sockaddr_in));
	assert_int_equal(trunks_set_resolved(t, "named", addrs, 1), 0);
	tr = trunks_find(t, "named");
	assert_int_equal(tr->nresolved, 1);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&tr->dest)->sin_port), 5090);
	assert_int_equal(trunk_addr_len(&tr->resolved[0]), sizeof(struct sockaddr_in));
	assert_string_equal(source_name(t, "203.0.113.5", 5080), "");
	assert_string_equal(source_name(t, "203.0.113.6", 5060), "named");
	assert_int_equal(trunks_set_resolved(t, "named", addrs, 0), 0);
	assert_int_equal(tr->destlen, 0);
	assert_string_equal(source_name(t, "203.0.113.6", 5060), "");
	trunks_free(t);
}

/* Walking the snapshot (how resolved addresses are handed to a new one)
 * sees every trunk in name order, and each names its transport. */
static void test_trunks_are_walked_in_name_order_with_their_transport(void **state)
{
	struct fixture *f = *state;
	struct trunk_record r;
	struct trunks *t;

	add_trunk(f->s, "zulu", "192.0.2.10", NULL);
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "alpha");
	snprintf(r.host, sizeof(r.host), "sip.example.net");
	snprintf(r.transport, sizeof(r.transport), "tls");
	assert_int_equal(store_trunk_add(f->s, &r), 0);
	t = loaded(f->s);
	assert_int_equal(trunks_count(t), 2);
	assert_string_equal(trunks_at(t, 0)->rec.name, "alpha");
	assert_string_equal(trunks_at(t, 1)->rec.name, "zulu");
	assert_null(trunks_at(t, 2));
	assert_int_equal(trunk_transport(&trunks_at(t, 0)->rec), SIP_TP_TLS);
	assert_int_equal(trunk_transport(&trunks_at(t, 1)->rec), SIP_TP_UDP);
	snprintf(r.transport, sizeof(r.transport), "tcp");
	assert_int_equal(trunk_transport(&r), SIP_TP_TCP);
	trunks_free(t);
}

static void test_dids_lead_to_their_extension(void **state)
{
	struct fixture *f = *state;
	struct trunks *t;

	add_did(f->s, "+441632960100", "1001");
	add_did(f->s, "+441632960200", "1002");
	t = loaded(f->s);
	assert_string_equal(trunks_did_ext(t, "+441632960100"), "1001");
	assert_string_equal(trunks_did_ext(t, "+441632960200"), "1002");
	assert_null(trunks_did_ext(t, "+441632960300"));
	assert_null(trunks_did_ext(t, "1001"));
	trunks_free(t);
}

static void test_routes_come_along(void **state)
{
	struct fixture *f = *state;
	struct route_record r;
	char out[ROUTE_NUMBER_MAX];
	const struct route_rule *rule;
	struct trunks *t;

	add_trunk(f->s, "main", "192.0.2.10", NULL);
	memset(&r, 0, sizeof(r));
	snprintf(r.pattern, sizeof(r.pattern), "0[1-9]XXXXXXXXX");
	snprintf(r.trunk, sizeof(r.trunk), "main");
	r.strip = 1;
	snprintf(r.prepend, sizeof(r.prepend), "+44");
	assert_int_equal(store_route_add(f->s, &r), 0);
	t = loaded(f->s);
	rule = route_table_lookup(trunks_routes(t), "01632960000", 11, out, sizeof(out));
	assert_non_null(rule);
	assert_string_equal(rule->trunk, "main");
	assert_string_equal(out, "+441632960000");
	trunks_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_trunk_is_known_by_its_addresses_on_any_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_literal_host_is_where_calls_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_host_name_counts_once_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_new_resolution_replaces_the_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunks_are_walked_in_name_order_with_their_transport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dids_lead_to_their_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes_come_along, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
