/* What a store change means for a trunk's registration
 * (trunk_reg_action, pbx/trunk_reg.h): a deletion or --register turned
 * off stops it, a new host, port, transport, username or password starts
 * it over, and any other change keeps a registered trunk's binding while
 * giving one that is not registered a new attempt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pbx/trunk_reg.h"
#include "store/store.h"

static void registering(struct trunk_record *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "voipco");
	snprintf(r->host, sizeof(r->host), "sip.voipco.example");
	snprintf(r->transport, sizeof(r->transport), "udp");
	snprintf(r->username, sizeof(r->username), "4420");
	snprintf(r->password, sizeof(r->password), "old-pw");
	r->reg = true;
	r->max_calls = 30;
	r->updated = 1000;
}

static void test_deleted_or_register_off_stops(void **state)
{
	struct trunk_record old, now;

	(void)state;
	registering(&old);
	now = old;
	now.reg = false;
	now.updated++;
	for (int registered = 0; registered < 2; registered++) {
		assert_int_equal(trunk_reg_action(&old, NULL, registered), TRUNK_REG_STOP);
		assert_int_equal(trunk_reg_action(&old, &now, registered), TRUNK_REG_STOP);
	}
	/* A trunk that never registered and still does not. */
	assert_int_equal(trunk_reg_action(NULL, &now, false), TRUNK_REG_STOP);
}

static void test_new_trunk_starts(void **state)
{
	struct trunk_record now;

	(void)state;
	registering(&now);
	assert_int_equal(trunk_reg_action(NULL, &now, false), TRUNK_REG_RESTART);
}

static void test_binding_change_restarts(void **state)
{
	struct trunk_record old, now;

	(void)state;
	registering(&old);
	for (int field = 0; field < 5; field++) {
		now = old;
		now.updated++;
		switch (field) {
		case 0: snprintf(now.host, sizeof(now.host), "sip2.voipco.example"); break;
		case 1: now.port = 5070; break;
		case 2: snprintf(now.transport, sizeof(now.transport), "tls"); break;
		case 3: snprintf(now.username, sizeof(now.username), "4421"); break;
		default: snprintf(now.password, sizeof(now.password), "new-pw"); break;
		}
		assert_int_equal(trunk_reg_action(&old, &now, true), TRUNK_REG_RESTART);
		assert_int_equal(trunk_reg_action(&old, &now, false), TRUNK_REG_RESTART);
		/* Even when the record's change time did not move. */
		now.updated = old.updated;
		assert_int_equal(trunk_reg_action(&old, &now, true), TRUNK_REG_RESTART);
	}
}

static void test_other_change_keeps_a_registered_trunk(void **state)
{
	struct trunk_record old, now;

	(void)state;
	registering(&old);
	now = old;
	now.max_calls = 5;
	now.daily_cap = 50000000;
	now.nips = 1;
	now.updated++;
	assert_int_equal(trunk_reg_action(&old, &now, true), TRUNK_REG_KEEP);
	/* Not registered (failed, or still trying): the change is a retry. */
	assert_int_equal(trunk_reg_action(&old, &now, false), TRUNK_REG_RESTART);
}

static void test_unchanged_keeps(void **state)
{
	struct trunk_record old, now;

	(void)state;
	registering(&old);
	now = old;
	assert_int_equal(trunk_reg_action(&old, &now, true), TRUNK_REG_KEEP);
	assert_int_equal(trunk_reg_action(&old, &now, false), TRUNK_REG_KEEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deleted_or_register_off_stops),
		cmocka_unit_test(test_new_trunk_starts),
		cmocka_unit_test(test_binding_change_restarts),
		cmocka_unit_test(test_other_change_keeps_a_registered_trunk),
		cmocka_unit_test(test_unchanged_keeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
