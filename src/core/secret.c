/* Randomness, generated passwords and the install secret file. */
#include "core/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Shortest generated password: 20 characters from 73 is over 120
 * bits, beyond any online or offline guessing against an HA1. */
#define SECRET_PASSWORD_MIN_LEN 20

/* Attempts before giving up on a password. A candidate is accepted with a
 * probability above 0.5, so running out means the generator is broken. */
#define SECRET_PASSWORD_TRIES 1000

/* Symbols safe everywhere a password ends up: INI values, CSV exports, shell
 * arguments and SIP quoted strings. Left out on purpose: quotes, backslash,
 * ';' ',' '#' '%' '=' and space (comment, separator or escape characters
 * somewhere), '$' and '`' (shell expansion), '&' '<' '>' '|' (shell and
 * markup), '!' (interactive shell history). */
static const char pw_symbols[] = "*+-./:?@^_~";
static const char pw_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char pw_lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char pw_digits[] = "0123456789";

int secret_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (RAND_bytes(p, chunk) != 1)
			return EIO;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int secret_uniform(uint32_t bound, uint32_t *out)
{
	/* Values below 2^32 mod bound would make the low residues more
	 * likely; drawing again instead keeps every residue equally likely. */
	uint32_t reject_below;
	uint32_t v;
	int err;

	if (bound == 0)
		return EINVAL;
	reject_below = (uint32_t)(-bound) % bound;
	do {
		err = secret_random(&v, sizeof(v));
		if (err)
			return err;
	} while (v < reject_below);
	*out = v % bound;
	return 0;
}

static char case_fold(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* A candidate must contain every class, and no two neighbours may be
 * consecutive characters ("ab", "32", "Cd"): password checkers such as
 * cracklib count those steps as a sign of a systematic password, and a
 * generated password must always pass the policy a person's password
 * would. Rejecting whole candidates keeps the result uniform over the
 * accepted set. */
static bool pw_acceptable(const char *pw, size_t len)
{
	bool upper = false, lower = false, digit = false, symbol = false;

	for (size_t i = 0; i < len; i++) {
		char c = pw[i];

		upper |= memchr(pw_upper, c, sizeof(pw_upper) - 1) != NULL;
		lower |= memchr(pw_lower, c, sizeof(pw_lower) - 1) != NULL;
		digit |= memchr(pw_digits, c, sizeof(pw_digits) - 1) != NULL;
		symbol |= memchr(pw_symbols, c, sizeof(pw_symbols) - 1) != NULL;
		if (i > 0) {
			int step = case_fold(c) - case_fold(pw[i - 1]);

			if (step == 1 || step == -1)
				return false;
		}
	}
	return upper && lower && digit && symbol;
}

static int pw_candidate(char *out, size_t len, const char *alphabet,
			uint32_t nalpha)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t k;
		int err = secret_uniform(nalpha, &k);

		if (err)
			return err;
		out[i] = alphabet[k];
	}
	out[len] = '\0';
	return 0;
}

int secret_password(char *out, size_t len)
{
	char alphabet[sizeof(pw_upper) + sizeof(pw_lower) + sizeof(pw_digits) +
		      sizeof(pw_symbols)];
	int n;

	if (out == NULL || len < SECRET_PASSWORD_MIN_LEN || len > 4096)
		return EINVAL;
	n = snprintf(alphabet, sizeof(alphabet), "%s%s%s%s", pw_upper,
		     pw_lower, pw_digits, pw_symbols);
	for (int tries = 0; tries < SECRET_PASSWORD_TRIES; tries++) {
		int err = pw_candidate(out, len, alphabet, (uint32_t)n);

		if (err) {
			secret_wipe(out, len + 1);
			return err;
		}
		if (pw_acceptable(out, len))
			return 0;
	}
	secret_wipe(out, len + 1);
	return EIO;
}

void secret_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

/* ---- The secret file ---- */

static int read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return EINVAL; /* shrank under us: wrong size */
		got += (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		done += (size_t)w;
	}
	return 0;
}

/* A secret readable by anyone but its owner is no longer a secret: refuse
 * it (EPERM) rather than silently use or repair it, so the administrator
 * learns that it may have leaked. */
static int secret_load(const char *path, uint8_t *buf, size_t n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	int err = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		err = EPERM;
	else if (st.st_size < 0 || (size_t)st.st_size != n)
		err = EINVAL;
	else
		err = read_exact(fd, buf, n);
	close(fd);
	return err;
}

/* Write the new secret to a private temporary file first and link it into
 * place: link() never replaces an existing file, and a crash midway leaves
 * no short secret behind under the real name. */
static int secret_create(const char *path, uint8_t *buf, size_t n)
{
	char tmp[PATH_MAX];
	uint8_t tag[6];
	char taghex[sizeof(tag) * 2 + 1];
	int fd, err, len;

	err = secret_random(tag, sizeof(tag));
	if (err)
		return err;
	secret_hex(tag, sizeof(tag), taghex);
	len = snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, taghex);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return ENAMETOOLONG;
	err = secret_random(buf, n);
	if (err)
		return err;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  S_IRUSR | S_IWUSR);
	if (fd < 0)
		return errno;
	/* The umask can only remove bits; make the mode exact anyway. */
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0)
		err = errno;
	if (!err)
		err = write_all(fd, buf, n);
	if (!err && fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && !err)
		err = errno;
	if (!err && link(tmp, path) != 0)
		err = errno;
	unlink(tmp);
	return err;
}

int secret_load_or_create(const char *path, uint8_t *buf, size_t n)
{
	int err;

	if (path == NULL || buf == NULL || n == 0)
		return EINVAL;
	err = secret_load(path, buf, n);
	if (err == ENOENT) {
		err = secret_create(path, buf, n);
		/* Another process created it first: use theirs. */
		if (err == EEXIST)
			err = secret_load(path, buf, n);
	}
	if (err)
		secret_wipe(buf, n);
	return err;
}

void secret_random_hex(char *out, size_t bytes)
{
	uint8_t raw[16];

	if (bytes > sizeof(raw))
		bytes = sizeof(raw);
	if (secret_random(raw, bytes) != 0)
		memset(raw, 0, bytes); /* secret_random only fails if the kernel does */
	secret_hex(raw, bytes, out);
}
