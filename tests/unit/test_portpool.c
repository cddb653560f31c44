/* The relay's port pool: pair arithmetic, FIFO reuse order, exhaustion and
 * recovery, refused double gives, and skipping ports another program holds. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/portpool.h"

static void test_bad_ranges(void **state)
{
	struct portpool *p = NULL;

	(void)state;
	assert_int_equal(portpool_alloc(&p, 20001, 20010), EINVAL); /* odd start */
	assert_int_equal(portpool_alloc(&p, 20000, 20000), EINVAL); /* no pair */
	assert_int_equal(portpool_alloc(&p, 20000, 19000), EINVAL);
	assert_int_equal(portpool_alloc(&p, 0, 100), EINVAL);
	assert_null(p);
}

static void test_pairs_and_order(void **state)
{
	struct portpool *p;
	uint16_t port, got[5];
	unsigned i;

	(void)state;
	/* 20000..20008: an odd max leaves 20008 unused, so 4 pairs. */
	assert_int_equal(portpool_alloc(&p, 20000, 20008), 0);
	assert_int_equal(portpool_pairs(p), 4);
	assert_int_equal(portpool_pairs_free(p), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(portpool_take(p, &got[i]), 0);
		assert_int_equal(got[i], 20000 + 2 * i);
	}
	assert_int_equal(portpool_take(p, &port), EAGAIN);
	assert_int_equal(portpool_pairs_free(p), 0);

	/* Returned pairs come back in the order they were returned. */
	assert_int_equal(portpool_give(p, 20004), 0);
	assert_int_equal(portpool_give(p, 20000), 0);
	assert_int_equal(portpool_take(p, &port), 0);
	assert_int_equal(port, 20004);
	assert_int_equal(portpool_take(p, &port), 0);
	assert_int_equal(port, 20000);
	assert_int_equal(portpool_take(p, &port), EAGAIN);
	portpool_free(p);
}

static void test_round_robin_no_immediate_reuse(void **state)
{
	struct portpool *p;
	uint16_t a, b;

	(void)state;
	assert_int_equal(portpool_alloc(&p, 30000, 30009), 0);
	assert_int_equal(portpool_take(p, &a), 0);
	assert_int_equal(portpool_give(p, a), 0);
	assert_int_equal(portpool_take(p, &b), 0);
	assert_int_not_equal(a, b); /* four other pairs waited longer */
	portpool_free(p);
}

static void test_bad_gives(void **state)
{
	struct portpool *p;
	uint16_t port;

	(void)state;
	assert_int_equal(portpool_alloc(&p, 20000, 20003), 0);
	assert_int_equal(portpool_give(p, 20000), EINVAL); /* never taken */
	assert_int_equal(portpool_take(p, &port), 0);
	assert_int_equal(portpool_give(p, 20001), EINVAL); /* RTCP port */
	assert_int_equal(portpool_give(p, 19998), EINVAL);
	assert_int_equal(portpool_give(p, 20004), EINVAL);
	assert_int_equal(portpool_give(p, port), 0);
	assert_int_equal(portpool_give(p, port), EINVAL); /* double give */
	assert_int_equal(portpool_pairs_free(p), 2);
	portpool_free(p);
}

static int udp_bound(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A range of three pairs whose second RTCP port is held by someone else. */
static void test_bind_skips_busy_ports(void **state)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct portpool *p;
	uint16_t base = (uint16_t)(34000 + (getpid() % 1000) * 16);
	uint16_t port, first;
	int busy, fd[2], fd2[2], fd3[2];

	(void)state;
	busy = udp_bound((uint16_t)(base + 3));
	assert_true(busy >= 0);
	assert_int_equal(portpool_alloc(&p, base, (uint16_t)(base + 5)), 0);

	assert_int_equal(portpool_bind(p, (struct sockaddr *)&lo, sizeof(lo), &first, fd), 0);
	assert_int_equal(first, base);
	assert_int_equal(local_port(fd[0]), base);
	assert_int_equal(local_port(fd[1]), base + 1);

	/* base+2 cannot be used (its RTCP port is busy): base+4 is next. */
	assert_int_equal(portpool_bind(p, (struct sockaddr *)&lo, sizeof(lo), &port, fd2), 0);
	assert_int_equal(port, base + 4);
	assert_int_equal(portpool_pairs_free(p), 1); /* the busy pair went back */

	assert_int_equal(portpool_bind(p, (struct sockaddr *)&lo, sizeof(lo), &port, fd3), EAGAIN);
	assert_int_equal(portpool_pairs_free(p), 1);

	/* Once the other program lets go, the pair works again. */
	close(busy);
	assert_int_equal(portpool_bind(p, (struct sockaddr *)&lo, sizeof(lo), &port, fd3), 0);
	assert_int_equal(port, base + 2);
	close(fd[0]); close(fd[1]); close(fd2[0]); close(fd2[1]);
	close(fd3[0]); close(fd3[1]);
	portpool_free(p);
}

static void test_bind_bad_family(void **state)
{
	struct sockaddr_un_like { sa_family_t f; char pad[30]; } bad = { .f = AF_UNIX };
	struct portpool *p;
	uint16_t port;
	int fd[2];

	(void)state;
	assert_int_equal(portpool_alloc(&p, 20000, 20003), 0);
	assert_int_equal(portpool_bind(p, (struct sockaddr *)&bad, sizeof(bad), &port, fd),
			 EAFNOSUPPORT);
	assert_int_equal(portpool_pairs_free(p), 2); /* nothing kept */
	portpool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_pairs_and_order),
		cmocka_unit_test(test_round_robin_no_immediate_reuse),
		cmocka_unit_test(test_bad_gives),
		cmocka_unit_test(test_bind_skips_busy_ports),
		cmocka_unit_test(test_bind_bad_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
