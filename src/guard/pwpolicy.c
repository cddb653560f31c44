/* Password and PIN policy.
 *
 * Our own checks run first, because their reasons are the most specific
 * ("password needs a digit"). Then libpwquality judges the whole password
 * with its cracklib dictionary check. cracklib alone accepts a dictionary
 * word with decorations around it ("Password123!", "Summer2025#"), so we
 * also ask it about the word inside: the password with its leading and
 * trailing digits and symbols removed, and that word with common
 * look-alike substitutions undone ("P@ssw0rd" -> "Password"). */
#include "guard/pwpolicy.h"

#include <errno.h>
#include <libintl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <pwquality.h>

/* Longest password we accept: far beyond what a person types, short
 * enough to bound the work of the dictionary check. */
#define PW_MAX_LEN 128
#define PIN_MAX_LEN 16

/* Extensions shorter than this are not searched for inside a password or
 * PIN: "7" or "12" would forbid most good passwords and protect nothing. */
#define EXT_MIN_SEARCH_LEN 3

/* cracklib refuses words shorter than this outright ("it is too short"),
 * which says nothing about the dictionary, so shorter words inside a
 * password are not looked up. */
#define DICT_MIN_WORD 6

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}

static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return is_upper(c) || is_lower(c); }

/* Printable ASCII other than letters, digits and space. */
static bool is_symbol(char c)
{
	return c > ' ' && c < 0x7f && !is_letter(c) && !is_digit(c);
}

static bool has_class(const char *s, bool (*pred)(char))
{
	for (; *s != '\0'; s++)
		if (pred(*s))
			return true;
	return false;
}

static char fold(char c)
{
	return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive substring search: extensions may contain letters. */
static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), h = strlen(hay);

	for (size_t i = 0; n > 0 && i + n <= h; i++) {
		size_t j = 0;

		while (j < n && fold(hay[i + j]) == fold(needle[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

static bool ext_inside(const char *ext, const char *s)
{
	return ext != NULL && strlen(ext) >= EXT_MIN_SEARCH_LEN &&
	       contains_ci(s, ext);
}

/* ---- libpwquality ---- */

/* Built from the library defaults, not /etc/security/pwquality.conf: the
 * policy of a PBX must not change with the host's login policy. */
static pwquality_settings_t *pwq_settings(int minlen)
{
	pwquality_settings_t *s = pwquality_default_settings();

	if (s == NULL)
		return NULL;
	if (pwquality_set_int_value(s, PWQ_SETTING_MIN_LENGTH, minlen) != 0 ||
	    pwquality_set_int_value(s, PWQ_SETTING_DICT_CHECK, 1) != 0 ||
	    /* Our own checks cover character classes; pwquality's credit
	     * system would only blur the minimum length. */
	    pwquality_set_int_value(s, PWQ_SETTING_DIG_CREDIT, 0) != 0 ||
	    pwquality_set_int_value(s, PWQ_SETTING_UP_CREDIT, 0) != 0 ||
	    pwquality_set_int_value(s, PWQ_SETTING_LOW_CREDIT, 0) != 0 ||
	    pwquality_set_int_value(s, PWQ_SETTING_OTH_CREDIT, 0) != 0 ||
	    /* The GECOS check reads the local passwd database: extensions
	     * are not system accounts, so it could only misfire. */
	    pwquality_set_int_value(s, PWQ_SETTING_GECOS_CHECK, 0) != 0) {
		pwquality_free_settings(s);
		return NULL;
	}
	return s;
}

/* The messages cracklib returns, in the language cracklib will use, so the
 * comparison holds under any locale. */
static bool cracklib_says(const void *aux, const char *msgid)
{
	return aux != NULL && strcmp(aux, dgettext("cracklib", msgid)) == 0;
}

static bool cracklib_dictionary_missing(const void *aux)
{
	return cracklib_says(aux, "error loading dictionary");
}

static bool cracklib_dictionary_word(const void *aux)
{
	return cracklib_says(aux, "it is based on a dictionary word") ||
	       cracklib_says(aux, "it is based on a (reversed) dictionary word");
}

static int refuse_missing_dictionary(char *why, size_t whylen)
{
	return refuse(why, whylen,
		      "password dictionary unavailable: install "
		      "cracklib-runtime (or run update-cracklib)");
}

static int check_whole(pwquality_settings_t *s, const char *pw, char *why,
		       size_t whylen)
{
	char msg[PWQ_MAX_ERROR_MESSAGE_LEN];
	void *aux = NULL;
	int r = pwquality_check(s, pw, NULL, NULL, &aux);

	if (r >= 0)
		return 0;
	if (r == PWQ_ERROR_CRACKLIB_CHECK && cracklib_dictionary_missing(aux))
		return refuse_missing_dictionary(why, whylen);
	pwquality_strerror(msg, sizeof(msg), r, aux);
	/* The library writes a sentence; ours continue after a colon. */
	if (is_upper(msg[0]))
		msg[0] = (char)(msg[0] - 'A' + 'a');
	return refuse(why, whylen, "password too weak: %s", msg);
}

/* Undo the substitutions people use to dress up a word. */
static char unleet(char c)
{
	switch (c) {
	case '@': case '4': return 'a';
	case '8': return 'b';
	case '(': return 'c';
	case '3': return 'e';
	case '6': case '9': return 'g';
	case '1': case '!': case '|': return 'i';
	case '0': return 'o';
	case '$': case '5': return 's';
	case '7': case '+': return 't';
	case '2': return 'z';
	default: return c;
	}
}

/* Look the word up alone. Only a dictionary hit counts here: the shape of
 * the whole password (length, variety, runs) was judged already. */
static int check_word(pwquality_settings_t *s, const char *word, char *why,
		      size_t whylen)
{
	void *aux = NULL;
	int r = pwquality_check(s, word, NULL, NULL, &aux);

	if (r != PWQ_ERROR_CRACKLIB_CHECK)
		return 0;
	if (cracklib_dictionary_missing(aux))
		return refuse_missing_dictionary(why, whylen);
	if (cracklib_dictionary_word(aux))
		return refuse(why, whylen,
			      "password is a dictionary word with digits or symbols "
			      "added");
	return 0;
}

static int check_decorated(pwquality_settings_t *s, const char *pw, char *why,
			   size_t whylen)
{
	char word[PW_MAX_LEN + 1];
	size_t start = 0, end = strlen(pw), n;
	int err;

	while (start < end && !is_letter(pw[start]))
		start++;
	while (end > start && !is_letter(pw[end - 1]))
		end--;
	n = end - start;
	if (n < DICT_MIN_WORD)
		return 0;
	memcpy(word, pw + start, n);
	word[n] = '\0';
	err = check_word(s, word, why, whylen);
	for (size_t i = 0; !err && i < n; i++)
		word[i] = unleet(word[i]);
	if (!err)
		err = check_word(s, word, why, whylen);
	/* '1' also stands for 'l' ("He11o"). */
	for (size_t i = 0; !err && i < n; i++)
		if (pw[start + i] == '1')
			word[i] = 'l';
	if (!err)
		err = check_word(s, word, why, whylen);
	memset(word, 0, sizeof(word));
	return err;
}

static int check_dictionary(const char *pw, char *why, size_t whylen)
{
	pwquality_settings_t *whole = pwq_settings(PW_MIN_LEN);
	pwquality_settings_t *inner = pwq_settings(DICT_MIN_WORD);
	int err;

	if (whole == NULL || inner == NULL)
		err = refuse(why, whylen,
			     "password check unavailable: out of memory");
	else
		err = check_whole(whole, pw, why, whylen);
	if (!err)
		err = check_decorated(inner, pw, why, whylen);
	pwquality_free_settings(whole);
	pwquality_free_settings(inner);
	return err;
}

/* ---- Passwords ---- */

static int check_password_shape(const char *ext, const char *pw, size_t len,
				char *why, size_t whylen)
{
	if (len < PW_MIN_LEN)
		return refuse(why, whylen, "password too short: %zu < %d", len,
			      PW_MIN_LEN);
	if (len > PW_MAX_LEN)
		return refuse(why, whylen, "password too long: %zu > %d", len,
			      PW_MAX_LEN);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || (unsigned char)pw[i] > 0x7e)
			return refuse(why, whylen,
				      "password must use printable ASCII "
				      "characters only");
	if (!has_class(pw, is_upper))
		return refuse(why, whylen, "password needs an upper-case letter");
	if (!has_class(pw, is_lower))
		return refuse(why, whylen, "password needs a lower-case letter");
	if (!has_class(pw, is_digit))
		return refuse(why, whylen, "password needs a digit");
	if (!has_class(pw, is_symbol))
		return refuse(why, whylen, "password needs a symbol");
	if (ext_inside(ext, pw))
		return refuse(why, whylen,
			      "password must not contain the extension number");
	return 0;
}

int pwpolicy_check_password(const char *ext, const char *pw, char *why,
			    size_t whylen)
{
	int err;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (pw == NULL || pw[0] == '\0')
		return refuse(why, whylen, "password is empty");
	err = check_password_shape(ext, pw, strlen(pw), why, whylen);
	if (err)
		return err;
	return check_dictionary(pw, why, whylen);
}

/* ---- PINs ---- */

/* A run steps by the same +1 or -1 between every pair of digits; 9->0 and
 * 0->9 continue a run, as on a keypad ("567890"). */
static bool is_run(const char *pin, size_t len, int dir)
{
	for (size_t i = 1; i < len; i++) {
		int step = (pin[i] - pin[i - 1] + 10) % 10;

		if (step != (dir > 0 ? 1 : 9))
			return false;
	}
	return true;
}

int pwpolicy_check_pin(const char *ext, const char *pin, char *why,
		       size_t whylen)
{
	size_t len;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (pin == NULL || pin[0] == '\0')
		return refuse(why, whylen, "PIN is empty");
	len = strlen(pin);
	for (size_t i = 0; i < len; i++)
		if (!is_digit(pin[i]))
			return refuse(why, whylen, "PIN must contain digits only");
	if (len < PIN_MIN_LEN)
		return refuse(why, whylen, "PIN too short: %zu < %d", len,
			      PIN_MIN_LEN);
	if (len > PIN_MAX_LEN)
		return refuse(why, whylen, "PIN too long: %zu > %d", len,
			      PIN_MAX_LEN);
	if (strspn(pin, (char[]){pin[0], '\0'}) == len)
		return refuse(why, whylen, "PIN must not be one repeated digit");
	if (is_run(pin, len, 1))
		return refuse(why, whylen,
			      "PIN must not be an ascending run of digits");
	if (is_run(pin, len, -1))
		return refuse(why, whylen,
			      "PIN must not be a descending run of digits");
	if (ext_inside(ext, pin))
		return refuse(why, whylen,
			      "PIN must not contain the extension number");
	return 0;
}
