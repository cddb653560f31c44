/* Password and PIN policy (S2). Every refusal has a specific reason that the
 * CLI prints as is, e.g. "password too short: 8 < 10". */
#ifndef RF_GUARD_PWPOLICY_H
#define RF_GUARD_PWPOLICY_H

#include <stddef.h>

#define PW_MIN_LEN 10
#define PIN_MIN_LEN 6

/* Check a password chosen by a person for extension `ext`. Returns 0 when
 * acceptable, or EINVAL with a reason in why[0..whylen). The checks:
 * length, upper, lower, digit, symbol, no extension inside, and the
 * dictionary check of libpwquality/cracklib (which catches decorated words
 * like "Password123!"). */
int pwpolicy_check_password(const char *ext, const char *pw, char *why,
			    size_t whylen);

/* PINs: digits only, >= 6, not all one digit, not an ascending or
 * descending run, and not containing the extension number. */
int pwpolicy_check_pin(const char *ext, const char *pin, char *why,
		       size_t whylen);

#endif
