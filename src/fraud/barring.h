/* Call barring (S11): whether an extension may call a classified number.
 *
 * The rules, in order:
 * - emergency numbers are always allowed (and the caller alerts);
 * - a suspended extension (S14) may call nothing else outside;
 * - class of service internal reaches nothing outside;
 * - premium, personal, directory and service numbers are barred unless the
 *   extension lists the class in allow_classes;
 * - international numbers need class international and a country on the
 *   extension's allow-list;
 * - the country's other numbers (geographic, non-geographic, mobile,
 *   freephone, short codes) need class national or international.
 *
 * Pure: the caller classifies the number first (fraud/numplan.h) and acts
 * on the verdict. Every path that places a call outside, forwards and
 * transfers included, goes through barring_check. */
#ifndef RF_FRAUD_BARRING_H
#define RF_FRAUD_BARRING_H

#include <stdbool.h>
#include <stdint.h>

#include "fraud/numplan.h"
#include "store/store.h"

enum bar_verdict {
	BAR_ALLOW = 0,
	BAR_EMERGENCY,   /* allowed: always, whatever else holds */
	BAR_INVALID,     /* not a number the plan can place */
	BAR_SUSPENDED,   /* outbound calling suspended */
	BAR_CLASS,       /* the class of service or the number's class bars it */
	BAR_COUNTRY,     /* international to a country off the allow-list */
	BAR_BLACKLIST,   /* the destination blacklist has it (S12; fraud/fraud.h) */
};

/* "allow", "emergency", "invalid", "suspended", "class", "country",
 * "blacklist": the reason= of a call_barred event. */
const char *bar_verdict_name(enum bar_verdict v);

/* An extension's policy as the check needs it, parsed once from its
 * record's words. */
struct bar_policy {
	enum ext_cos cos;
	uint32_t allowed;      /* bit (1u << class) per barred class allowed anyway */
	char countries[EXT_COUNTRIES_MAX][3];
	unsigned ncountries;
	bool suspended;
};

/* The classes allow_classes may name: the ones barred by default. */
bool barring_class_allowable(enum num_class c);

/* Parse "premium,directory" (comma-separated, no blanks, no repeats) into a
 * class mask; "" is none. Returns 0 or EINVAL with *why set (names the
 * word). */
int barring_parse_classes(const char *text, uint32_t *mask, const char **why);
/* Parse "FR,DE,IE" (comma-separated ISO codes, upper case) against the
 * plan's country table. Returns 0 or EINVAL with *why set. */
int barring_parse_countries(const struct numplan *np, const char *text,
			    char out[][3], unsigned max, unsigned *n, const char **why);

/* Build the policy of an extension record. Words stored by hand that do
 * not parse leave the policy narrower, never wider. */
void barring_policy(const struct numplan *np, const struct ext_record *r,
		    struct bar_policy *out);

enum bar_verdict barring_check(const struct bar_policy *p, const struct num_info *n);

#endif
