/* Numbering plans (S11): every dialled number normalised to E.164 and
 * classified, so that barring, blacklists, rating and pattern analysis all
 * see one spelling of a number whatever the phone sent.
 *
 * A profile is a country's plan: its country code, its national and
 * international prefixes, and a table of national ranges (prefix, class,
 * lengths). The tables ship as data files (data/numplan/, sources in
 * docs/numbering.md) built into the binary, so a running daemon never
 * depends on a file it might not find. The ITU country-code table gives
 * international numbers their country.
 *
 * Only UK ("GB") ships today. Pure functions over the loaded tables; a
 * loaded plan is read-only and may be shared between threads. */
#ifndef RF_FRAUD_NUMPLAN_H
#define RF_FRAUD_NUMPLAN_H

#include <stdbool.h>
#include <stddef.h>

/* E.164: at most 15 digits after the '+'. */
#define NUM_E164_MAX 16
/* What we accept as a dialled string before normalisation: digits, a
 * leading '+', and the visual separators of RFC 3966 ('-', '.', '(', ')',
 * ' '), which are dropped. Longer is refused. */
#define NUM_DIALLED_MAX 32
/* A bare digit string at least this long that does not start with the
 * national prefix is E.164 without its '+' ("972501234567"): longer than
 * any short code or local number, so no national number is misread. */
#define NUM_BARE_E164_MIN 10
/* Digits after a country code, at the least: the shortest numbers in
 * service (Niue, Tokelau, Saint Helena) have 4. */
#define NUM_SUBSCRIBER_MIN 4

enum num_class {
	NUM_INVALID = 0,    /* not a number this plan can place */
	NUM_EMERGENCY,      /* 999, 112 */
	NUM_GEOGRAPHIC,     /* UK 01, 02 */
	NUM_NONGEOGRAPHIC,  /* UK 03: charged like geographic */
	NUM_MOBILE,         /* UK 071-075, 077-079 */
	NUM_FREEPHONE,      /* UK 0800, 0808 */
	NUM_SHORTCODE,      /* UK 101, 105, 111, 116xxx, 100 ... */
	NUM_SERVICE,        /* UK 084, 087 */
	NUM_PREMIUM,        /* UK 09 */
	NUM_PERSONAL,       /* UK 070 (and 076 pagers) */
	NUM_DIRECTORY,      /* UK 118xxx */
	NUM_INTERNATIONAL,  /* another country code */
	NUM__COUNT
};

/* "emergency", "geographic", ... ; "invalid" for NUM_INVALID. */
const char *num_class_name(enum num_class c);
/* The inverse, exact lower-case words. Returns 0 or EINVAL. */
int num_class_parse(const char *s, enum num_class *out);

struct num_info {
	/* E.164 with its '+' ("+441632960000"), or the short code or emergency
	 * number as dialled ("999", "118118", "101"), which have no E.164 form. */
	char e164[NUM_E164_MAX + 1];
	enum num_class cls;
	unsigned cc;          /* country calling code: 44, 972, 1 ... */
	char country[3];      /* ISO 3166 alpha-2 of cc ("GB", "IL", "JM"); "" if unknown */
};

struct numplan;

/* Load the profile for an ISO country code ("GB"). Returns 0, ENOENT for a
 * country with no profile, or EINVAL/ENOMEM; *err then names the problem
 * (a data file line, for a bad table). *err points into a per-thread
 * buffer, valid until the next numplan_alloc in the same thread. */
int numplan_alloc(struct numplan **np, const char *country, const char **err);
void numplan_free(struct numplan *np);

/* The profile's own country code and ISO code (44, "GB"). */
unsigned numplan_cc(const struct numplan *np);
const char *numplan_country(const struct numplan *np);

/* Normalise and classify what a phone dialled, as the plan's subscribers
 * dial: "01632 960000", "+44 1632 960000", "00441632960000" are one
 * number; "00972..." "+972..." and a bare "972..." of international length
 * are another. Returns 0 with *out filled, or EINVAL with *why set to a
 * short static reason ("letters", "too long", "too short", "unknown country
 * code", "not in the numbering plan" ...; docs/numbering.md lists them):
 * out is then zeroed, its cls NUM_INVALID. Extensions are not the plan's
 * business: the caller looks those up first. */
int numplan_classify(const struct numplan *np, const char *dialled, size_t len,
		     struct num_info *out, const char **why);

/* Normalise a number or a number prefix as an administrator writes it in a
 * blacklist or a rate table ("0909", "+9725", "00 972 5", "44"), to E.164
 * with its '+'. A bare prefix is read as international only with a '+' or
 * the international prefix; "0..." is national. Returns 0 or EINVAL with
 * *why set (per-thread text, valid until the next call in the thread) and
 * out "". */
int numplan_normalise_prefix(const struct numplan *np, const char *in, size_t len,
			     char out[NUM_E164_MAX + 1], const char **why);

/* The ISO code of the country an E.164 number or prefix belongs to
 * ("+1876..." is "JM", "+44..." is "GB"); NULL if no code matches, or if
 * the code belongs to no country (+881 satellite, +979 international
 * premium rate ...). */
const char *numplan_country_of(const struct numplan *np, const char *e164);

/* Whether an ISO 3166 alpha-2 code (upper case, "JM") is in the
 * country-code table (for validating `--countries` lists). */
bool numplan_country_known(const struct numplan *np, const char *iso2);

#endif
