/* Randomness, generated passwords and the install secret file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secret.h"

static const char unsafe_chars[] = "\"'\\;, #%=$`&<>|!";

static void test_random_fills(void **state)
{
	uint8_t a[64], b[64], zero[64] = {0};

	(void)state;
	assert_int_equal(secret_random(a, sizeof(a)), 0);
	assert_int_equal(secret_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(secret_random(a, 0), 0);
}

static void test_uniform_bounds(void **state)
{
	unsigned counts[6] = {0};
	uint32_t v;

	(void)state;
	assert_int_equal(secret_uniform(0, &v), EINVAL);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(secret_uniform(1, &v), 0);
		assert_int_equal(v, 0);
	}
	for (int i = 0; i < 60000; i++) {
		assert_int_equal(secret_uniform(6, &v), 0);
		assert_true(v < 6);
		counts[v]++;
	}
	/* Each face expects 10000; 9000..11000 is over 10 standard
	 * deviations wide, so only a biased generator fails. */
	for (int i = 0; i < 6; i++) {
		assert_true(counts[i] > 9000);
		assert_true(counts[i] < 11000);
	}
	/* With bound = 2/3 of 2^32, plain "random % bound" would make the
	 * lower half of the range twice as likely as the upper half. */
	{
		uint32_t bound = 0xaaaaaaabu, half = bound / 2, low = 0;

		for (int i = 0; i < 4000; i++) {
			assert_int_equal(secret_uniform(bound, &v), 0);
			assert_true(v < bound);
			low += v < half;
		}
		/* Unbiased: 2000 +- 32 (one s.d.); biased: about 2667. */
		assert_true(low > 1850 && low < 2150);
	}
}

static void check_password_shape(const char *pw, size_t len)
{
	bool up = false, lo = false, dg = false, sym = false;

	assert_int_equal(strlen(pw), len);
	for (size_t i = 0; i < len; i++) {
		char c = pw[i];

		assert_null(strchr(unsafe_chars, c));
		assert_true(c > ' ' && c < 0x7f);
		up |= c >= 'A' && c <= 'Z';
		lo |= c >= 'a' && c <= 'z';
		dg |= c >= '0' && c <= '9';
		sym |= !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') &&
		       !(c >= '0' && c <= '9');
	}
	assert_true(up && lo && dg && sym);
}

static void test_password_generated(void **state)
{
	char pw[65], prev[65] = "";

	(void)state;
	for (int i = 0; i < 2000; i++) {
		size_t len = 20 + (size_t)(i % 45);

		memset(pw, 'X', sizeof(pw));
		assert_int_equal(secret_password(pw, len), 0);
		check_password_shape(pw, len);
		assert_string_not_equal(pw, prev);
		memcpy(prev, pw, sizeof(pw));
	}
}

static void test_password_refuses_short(void **state)
{
	char pw[32];

	(void)state;
	assert_int_equal(secret_password(pw, 19), EINVAL);
	assert_int_equal(secret_password(pw, 0), EINVAL);
	assert_int_equal(secret_password(NULL, 24), EINVAL);
}

static void test_hex_and_wipe(void **state)
{
	const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
	char out[9];
	uint8_t buf[16];

	(void)state;
	secret_hex(in, sizeof(in), out);
	assert_string_equal(out, "0001abff");
	secret_hex(in, 0, out);
	assert_string_equal(out, "");
	memset(buf, 0xa5, sizeof(buf));
	secret_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	secret_wipe(NULL, 10);
}

/* ---- The secret file ---- */

struct tmpdir {
	char dir[64];
	char path[96];
};

static int dir_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/rf-secret-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/secret.key", t->dir);
	*state = t;
	return 0;
}

static int dir_teardown(void **state)
{
	struct tmpdir *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void test_file_created_then_loaded(void **state)
{
	struct tmpdir *t = *state;
	uint8_t a[32], b[32], zero[32] = {0};
	struct stat st;

	assert_int_equal(secret_load_or_create(t->path, a, sizeof(a)), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_memory_not_equal(a, zero, sizeof(a));
	/* Loading again gives the same bytes. */
	assert_int_equal(secret_load_or_create(t->path, b, sizeof(b)), 0);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_file_created_under_open_umask(void **state)
{
	struct tmpdir *t = *state;
	uint8_t a[32];
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(secret_load_or_create(t->path, a, sizeof(a)), 0);
	umask(old);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void write_file(const char *path, size_t n, mode_t mode)
{
	uint8_t data[64];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	memset(data, 7, sizeof(data));
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_file_wrong_size(void **state)
{
	struct tmpdir *t = *state;
	uint8_t buf[32], zero[32] = {0};

	write_file(t->path, 16, 0600);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EINVAL);
	/* Nothing partial is handed back. */
	assert_memory_equal(buf, zero, sizeof(buf));
	write_file(t->path, 33, 0600);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EINVAL);
	write_file(t->path, 0, 0600);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EINVAL);
}

static void test_file_loose_permissions(void **state)
{
	struct tmpdir *t = *state;
	uint8_t buf[32];

	write_file(t->path, 32, 0640);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EPERM);
	write_file(t->path, 32, 0604);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EPERM);
	write_file(t->path, 32, 0400);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 7);
}

static void test_file_not_regular(void **state)
{
	struct tmpdir *t = *state;
	uint8_t buf[32];
	char target[128];

	/* A symlink is refused, not followed. */
	snprintf(target, sizeof(target), "%s/elsewhere", t->dir);
	write_file(target, 32, 0600);
	assert_int_equal(symlink(target, t->path), 0);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), ELOOP);
	unlink(target);
	unlink(t->path);
	/* A directory is refused. */
	assert_int_equal(mkdir(t->path, 0700), 0);
	assert_int_equal(secret_load_or_create(t->path, buf, sizeof(buf)), EINVAL);
	rmdir(t->path);
}

static void test_file_missing_dir(void **state)
{
	struct tmpdir *t = *state;
	uint8_t buf[32];
	char path[160];

	snprintf(path, sizeof(path), "%s/no/such/dir/key", t->dir);
	assert_int_equal(secret_load_or_create(path, buf, sizeof(buf)), ENOENT);
	assert_int_equal(secret_load_or_create(NULL, buf, sizeof(buf)), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_fills),
		cmocka_unit_test(test_uniform_bounds),
		cmocka_unit_test(test_password_generated),
		cmocka_unit_test(test_password_refuses_short),
		cmocka_unit_test(test_hex_and_wipe),
		cmocka_unit_test_setup_teardown(test_file_created_then_loaded,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_created_under_open_umask,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_wrong_size, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_loose_permissions,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_not_regular, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_missing_dir, dir_setup,
						dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
