/* The SQLite store: extensions, access lists, contacts, and the change
 * counter the daemon polls. Every test uses a real database file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "store/store.h"

static void fill_ha1(struct digest_ha1 *h, char c)
{
	memset(h->md5, c, DIGEST_MD5_HEX);
	h->md5[DIGEST_MD5_HEX] = '\0';
	memset(h->sha256, c, DIGEST_SHA256_HEX);
	h->sha256[DIGEST_SHA256_HEX] = '\0';
}

static void make_ext(struct ext_record *r, const char *ext, const char *name)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ext, sizeof(r->ext), "%s", ext);
	snprintf(r->name, sizeof(r->name), "%s", name);
	fill_ha1(&r->ha1, 'a');
}

static void add_cidr(struct acl_cidr *list, unsigned *n, const char *text)
{
	assert_int_equal(acl_cidr_parse(text, &list[*n], NULL), 0);
	(*n)++;
}

static void make_loc(struct loc_record *l, const char *ext, const char *contact,
		     int64_t expires_at)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->ext, sizeof(l->ext), "%s", ext);
	snprintf(l->contact, sizeof(l->contact), "%s", contact);
	snprintf(l->source, sizeof(l->source), "127.0.0.1:5062");
	snprintf(l->transport, sizeof(l->transport), "udp");
	snprintf(l->user_agent, sizeof(l->user_agent), "Phone/1.0");
	snprintf(l->call_id, sizeof(l->call_id), "abc@host");
	l->cseq = 7;
	l->expires_at = expires_at;
	l->registered_at = expires_at - 60;
}

static int count_loc(const struct loc_record *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int count_loc_all(struct store *s, int64_t now)
{
	int n = 0;

	assert_int_equal(store_loc_foreach(s, now, count_loc, &n), 0);
	return n;
}

static void test_file_mode_0600(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_ext_crud(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1001", "Front desk");
	r.remote = true;
	r.srtp = EXT_SRTP_REQUIRED; /* a remote extension always is */
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_string_equal(got.ext, "1001");
	assert_string_equal(got.name, "Front desk");
	assert_string_equal(got.ha1.md5, r.ha1.md5);
	assert_string_equal(got.ha1.sha256, r.ha1.sha256);
	assert_true(got.remote);
	assert_int_equal(got.srtp, EXT_SRTP_REQUIRED);
	assert_true(got.created > 0);

	snprintf(r.name, sizeof(r.name), "Lobby");
	fill_ha1(&r.ha1, 'b');
	r.remote = false;
	r.srtp = EXT_SRTP_OFF;
	assert_int_equal(store_ext_update(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_string_equal(got.name, "Lobby");
	assert_int_equal(got.ha1.md5[0], 'b');
	assert_false(got.remote);
	assert_int_equal(got.srtp, EXT_SRTP_OFF);

	assert_int_equal(store_ext_del(f->s, "1001"), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), ENOENT);
}

static void test_ext_errors(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_add(f->s, &r), EEXIST);
	make_ext(&r, "1002", "");
	assert_int_equal(store_ext_update(f->s, &r), ENOENT);
	assert_int_equal(store_ext_del(f->s, "1002"), ENOENT);
	assert_int_equal(store_ext_get(f->s, "1002", &got), ENOENT);
	/* A record without both HA1s is refused: no extension without a
	 * credential. */
	r.ha1.sha256[0] = '\0';
	assert_int_equal(store_ext_add(f->s, &r), EINVAL);
}

static void test_acl_round_trip(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;
	char text[64];

	make_ext(&r, "2001", "");
	add_cidr(r.acl.permit, &r.acl.npermit, "192.168.1.0/24");
	add_cidr(r.acl.permit, &r.acl.npermit, "10.0.0.5/32");
	add_cidr(r.acl.permit, &r.acl.npermit, "2001:db8::/32");
	add_cidr(r.acl.deny, &r.acl.ndeny, "192.168.1.66/32");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_int_equal(got.acl.npermit, 3);
	assert_int_equal(got.acl.ndeny, 1);
	/* Order is kept: it is the order the administrator gave. */
	assert_memory_equal(&got.acl.permit[0], &r.acl.permit[0], sizeof(struct acl_cidr));
	assert_memory_equal(&got.acl.permit[1], &r.acl.permit[1], sizeof(struct acl_cidr));
	assert_memory_equal(&got.acl.permit[2], &r.acl.permit[2], sizeof(struct acl_cidr));
	assert_memory_equal(&got.acl.deny[0], &r.acl.deny[0], sizeof(struct acl_cidr));
	acl_cidr_format(&got.acl.deny[0], text, sizeof(text));
	assert_string_equal(text, "192.168.1.66/32");

	/* An update replaces the lists as a whole. */
	memset(&r.acl, 0, sizeof(r.acl));
	add_cidr(r.acl.deny, &r.acl.ndeny, "172.16.0.0/12");
	assert_int_equal(store_ext_update(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "2001", &got), 0);
	assert_int_equal(got.acl.npermit, 0);
	assert_int_equal(got.acl.ndeny, 1);
	acl_cidr_format(&got.acl.deny[0], text, sizeof(text));
	assert_string_equal(text, "172.16.0.0/12");
}

struct ext_list {
	char names[8][RF_MAX_EXT_LEN + 1];
	unsigned n;
	unsigned npermit_total;
};

static int collect_ext(const struct ext_record *r, void *arg)
{
	struct ext_list *l = arg;

	if (l->n >= 8)
		return E2BIG;
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", r->ext);
	l->npermit_total += r->acl.npermit;
	return 0;
}

static int stop_at_first(const struct ext_record *r, void *arg)
{
	(*(int *)arg)++;
	return 42;
}

static void test_ext_foreach(void **state)
{
	struct fixture *f = *state;
	struct ext_record r;
	struct ext_list l = { 0 };
	int calls = 0;

	make_ext(&r, "1003", "");
	add_cidr(r.acl.permit, &r.acl.npermit, "10.1.0.0/16");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_ext(&r, "1002", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_foreach(f->s, collect_ext, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.names[0], "1001");
	assert_string_equal(l.names[1], "1002");
	assert_string_equal(l.names[2], "1003");
	assert_int_equal(l.npermit_total, 1);
	assert_int_equal(store_ext_foreach(f->s, stop_at_first, &calls), 42);
	assert_int_equal(calls, 1);
}

static void test_cascade_delete(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;
	struct loc_record l;

	make_ext(&r, "1001", "");
	add_cidr(r.acl.permit, &r.acl.npermit, "10.0.0.0/8");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_loc(&l, "1001", "sip:1001@10.0.0.2:5060", 2000000000);
	assert_int_equal(store_loc_put(f->s, &l), 0);
	assert_int_equal(count_loc_all(f->s, 0), 1);

	assert_int_equal(store_ext_del(f->s, "1001"), 0);
	assert_int_equal(count_loc_all(f->s, 0), 0);
	/* Re-adding the extension does not resurrect its old access list. */
	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_int_equal(got.acl.npermit, 0);
}

static void test_contacts(void **state)
{
	struct fixture *f = *state;
	struct ext_record r;
	struct loc_record l;

	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	/* A contact for an extension that does not exist is refused. */
	make_loc(&l, "9999", "sip:9999@10.0.0.2", 1000);
	assert_int_equal(store_loc_put(f->s, &l), ENOENT);

	make_loc(&l, "1001", "sip:1001@10.0.0.2", 1000);
	assert_int_equal(store_loc_put(f->s, &l), 0);
	/* Same binding again replaces it instead of duplicating it. */
	l.expires_at = 1100;
	l.cseq = 8;
	assert_int_equal(store_loc_put(f->s, &l), 0);
	make_loc(&l, "1001", "sip:1001@10.0.0.3", 500);
	assert_int_equal(store_loc_put(f->s, &l), 0);

	assert_int_equal(count_loc_all(f->s, 0), 2);
	assert_int_equal(count_loc_all(f->s, 600), 1);
	assert_int_equal(count_loc_all(f->s, 1100), 0);

	assert_int_equal(store_loc_del(f->s, "1001", "sip:1001@10.0.0.3"), 0);
	assert_int_equal(store_loc_del(f->s, "1001", "sip:1001@10.0.0.3"), ENOENT);
	assert_int_equal(count_loc_all(f->s, 0), 1);
	assert_int_equal(store_loc_del_ext(f->s, "1001"), 0);
	assert_int_equal(count_loc_all(f->s, 0), 0);
}

static int first_loc(const struct loc_record *r, void *arg)
{
	*(struct loc_record *)arg = *r;
	return 0;
}

static void test_purge_expired(void **state)
{
	struct fixture *f = *state;
	struct ext_record r;
	struct loc_record l, got;

	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_loc(&l, "1001", "sip:old@10.0.0.2", 100);
	assert_int_equal(store_loc_put(f->s, &l), 0);
	make_loc(&l, "1001", "sip:new@10.0.0.2", 300);
	assert_int_equal(store_loc_put(f->s, &l), 0);

	assert_int_equal(store_loc_purge(f->s, 200), 0);
	/* Purged rows are gone even when asked with an earlier clock. */
	assert_int_equal(count_loc_all(f->s, 0), 1);
	assert_int_equal(store_loc_foreach(f->s, 0, first_loc, &got), 0);
	assert_string_equal(got.contact, "sip:new@10.0.0.2");
	assert_string_equal(got.transport, "udp");
	assert_string_equal(got.user_agent, "Phone/1.0");
	assert_int_equal(got.cseq, 7);
	assert_int_equal(got.expires_at, 300);
}

static void test_data_version_sees_other_connection(void **state)
{
	struct fixture *f = *state;
	struct store *other;
	struct ext_record r;
	uint64_t v1, v2, v3;

	assert_int_equal(store_open(&other, f->path, NULL), 0);
	assert_int_equal(store_data_version(f->s, &v1), 0);
	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(other, &r), 0);
	assert_int_equal(store_data_version(f->s, &v2), 0);
	assert_true(v2 != v1);
	/* Its own commits do not count: only other writers do. */
	make_ext(&r, "1002", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_data_version(f->s, &v3), 0);
	assert_true(v3 == v2);
	store_close(other);
}

/* The counters move with the rows behind each in-memory copy, and only
 * with those: a CDR or an alert leaves them alone. */
static void test_change_counts_follow_their_tables(void **state)
{
	struct fixture *f = *state;
	struct blacklist_record b = { .dir = BLACKLIST_DEST, .prefix = "+449", .created = 1 };
	struct cdr_record c = { .caller = "1001", .callee = "1002", .result = 200 };
	struct ext_record r;
	int64_t dir0, dir1, bl0, bl1, n;

	assert_int_equal(store_change_count(f->s, "directory", &dir0), 0);
	assert_int_equal(store_change_count(f->s, "blacklist", &bl0), 0);
	make_ext(&r, "1001", "");
	add_cidr(r.acl.permit, &r.acl.npermit, "10.0.0.0/8");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_change_count(f->s, "directory", &dir1), 0);
	assert_true(dir1 > dir0);
	assert_int_equal(store_cdr_add(f->s, &c), 0);
	assert_int_equal(store_change_count(f->s, "directory", &n), 0);
	assert_int_equal(n, dir1);
	assert_int_equal(store_change_count(f->s, "blacklist", &n), 0);
	assert_int_equal(n, bl0);
	assert_int_equal(store_blacklist_put(f->s, &b), 0);
	assert_int_equal(store_change_count(f->s, "blacklist", &bl1), 0);
	assert_true(bl1 > bl0);
	assert_int_equal(store_change_count(f->s, "directory", &n), 0);
	assert_int_equal(n, dir1);
	assert_int_equal(store_ext_del(f->s, "1001"), 0);
	assert_int_equal(store_change_count(f->s, "directory", &n), 0);
	assert_true(n > dir1);
	assert_int_equal(store_change_count(f->s, "trunks", &n), 0);
	assert_int_equal(store_change_count(f->s, "bans", &n), ENOENT);
}

static void test_transaction_rollback(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;

	assert_int_equal(store_begin(f->s), 0);
	make_ext(&r, "1001", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_ext(&r, "1002", "");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), ENOENT);
	assert_int_equal(store_ext_get(f->s, "1002", &got), ENOENT);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_ext_add(f->s, &r), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_ext_get(f->s, "1002", &got), 0);
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct ext_record r, got;
	struct loc_record l;

	make_ext(&r, "1001", "Kept");
	add_cidr(r.acl.deny, &r.acl.ndeny, "10.9.9.9/32");
	assert_int_equal(store_ext_add(f->s, &r), 0);
	make_loc(&l, "1001", "sip:1001@10.0.0.2", 2000000000);
	assert_int_equal(store_loc_put(f->s, &l), 0);
	store_close(f->s);
	f->s = NULL;

	assert_int_equal(store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(store_ext_get(f->s, "1001", &got), 0);
	assert_string_equal(got.name, "Kept");
	assert_int_equal(got.acl.ndeny, 1);
	assert_int_equal(count_loc_all(f->s, 0), 1);
}

static void test_open_refuses_garbage(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct store *s = NULL;
	const char *err = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/not-a-db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, just some text\n", fp);
	fclose(fp);
	assert_int_not_equal(store_open(&s, path, &err), 0);
	assert_null(s);
	assert_non_null(err);
	assert_true(strlen(err) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_version_sees_other_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_counts_follow_their_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_garbage, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
