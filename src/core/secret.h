/* Randomness and generated secrets. Everything comes from the OS CSPRNG
 * (through OpenSSL RAND_bytes); a failure to get randomness is fatal to the
 * caller, never silently replaced by something weaker. */
#ifndef RF_CORE_SECRET_H
#define RF_CORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with n random bytes. Returns 0 or EIO. */
int secret_random(void *buf, size_t n);

/* Uniform random integer in [0, bound). Returns 0 or EIO. */
int secret_uniform(uint32_t bound, uint32_t *out);

/* Generate a password of `len` (>= 20) characters with at least one upper
 * case letter, lower case letter, digit and symbol. The symbol set avoids
 * characters that break INI files, CSV, shells and SIP quoting
 * (quote, backslash, semicolon, comma, space, '#'). out must hold len+1.
 * Returns 0, EINVAL or EIO. */
int secret_password(char *out, size_t len);

/* `bytes` random bytes (at most 16) as lower-case hex into out (2 *
 * bytes + 1): branches, tags, Call-IDs, cnonces. */
void secret_random_hex(char *out, size_t bytes);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void secret_hex(const uint8_t *in, size_t n, char *out);

/* Load a binary secret of exactly n bytes from path, or create it (mode
 * 0600, O_EXCL) with random bytes if it does not exist. Returns 0 or an
 * errno value; a file of the wrong size is EINVAL. */
int secret_load_or_create(const char *path, uint8_t *buf, size_t n);

/* Wipe memory that held a secret; the compiler may not optimise it away. */
void secret_wipe(void *p, size_t n);

#endif
