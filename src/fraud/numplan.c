/* Numbering plans: dialled numbers to E.164 and a class. The rules, the
 * classes and the data sources are in docs/numbering.md. */
#include "fraud/numplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fraud/numplan_table.h"

/* Built at build time from data/numplan/ (CMakeLists.txt, scripts/embed.cmake). */
extern const unsigned char numplan_gb_csv[], numplan_country_codes_csv[];
extern const size_t numplan_gb_csv_len, numplan_country_codes_csv_len;

#define CODES_FILE "data/numplan/country-codes.csv"

static const struct np_profile profiles[] = {
	{"GB", "44", "0", "00", "data/numplan/gb.csv", numplan_gb_csv, &numplan_gb_csv_len},
};

struct numplan {
	const struct np_profile *prof; /* static */
	unsigned cc;
	struct np_table ranges;        /* national ranges and short codes */
	struct np_table codes;         /* ITU country codes */
};

static const char *const class_names[NUM__COUNT] = {
	[NUM_INVALID] = "invalid",
	[NUM_EMERGENCY] = "emergency",
	[NUM_GEOGRAPHIC] = "geographic",
	[NUM_NONGEOGRAPHIC] = "nongeographic",
	[NUM_MOBILE] = "mobile",
	[NUM_FREEPHONE] = "freephone",
	[NUM_SHORTCODE] = "shortcode",
	[NUM_SERVICE] = "service",
	[NUM_PREMIUM] = "premium",
	[NUM_PERSONAL] = "personal",
	[NUM_DIRECTORY] = "directory",
	[NUM_INTERNATIONAL] = "international",
};

/* Reasons that quote the input or a file line; per thread, valid until
 * the next call that fills it in the same thread. */
static _Thread_local char msg_buf[192];

const char *num_class_name(enum num_class c)
{
	return (unsigned)c < NUM__COUNT ? class_names[c] : "invalid";
}

int num_class_parse(const char *s, enum num_class *out)
{
	for (unsigned c = 0; c < NUM__COUNT; c++) {
		if (strcmp(s, class_names[c]) == 0) {
			*out = (enum num_class)c;
			return 0;
		}
	}
	return EINVAL;
}

static const struct np_profile *profile_find(const char *iso2)
{
	if (iso2 == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].iso2, iso2) == 0)
			return &profiles[i];
	return NULL;
}

/* The code table must know the profile's own code as its country's. */
static int check_own_code(const struct numplan *p, const char **err)
{
	const struct np_entry *e;
	const char *cc = p->prof->cc;

	if (np_table_match(&p->codes, cc, strlen(cc), &e) > 0 && e->plen == strlen(cc) &&
	    strcmp(e->iso2, p->prof->iso2) == 0)
		return 0;
	snprintf(msg_buf, sizeof(msg_buf), "%s: no line gives code %s to %s", CODES_FILE, cc,
		 p->prof->iso2);
	*err = msg_buf;
	return EINVAL;
}

static int no_profile(const char *country, const char **err)
{
	snprintf(msg_buf, sizeof(msg_buf), "no numbering plan for \"%.8s\"; GB ships",
		 country ? country : "");
	*err = msg_buf;
	return ENOENT;
}

static int load_tables(struct numplan *p, const char *ranges, size_t ranges_len,
		       const char *codes, size_t codes_len, const char **err)
{
	int e;

	*err = msg_buf;
	e = np_ranges_parse(&p->ranges, p->prof, ranges, ranges_len, msg_buf, sizeof(msg_buf));
	if (!e)
		e = np_codes_parse(&p->codes, CODES_FILE, codes, codes_len, msg_buf, sizeof(msg_buf));
	if (!e)
		e = check_own_code(p, err);
	if (e == ENOMEM)
		*err = "out of memory";
	return e;
}

int numplan_alloc_text(struct numplan **np, const char *country,
		       const char *ranges, size_t ranges_len,
		       const char *codes, size_t codes_len, const char **err)
{
	const struct np_profile *prof = profile_find(country);
	struct numplan *p;
	int e;

	if (prof == NULL)
		return no_profile(country, err);
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		*err = "out of memory";
		return ENOMEM;
	}
	p->prof = prof;
	p->cc = (unsigned)strtoul(prof->cc, NULL, 10);
	e = load_tables(p, ranges, ranges_len, codes, codes_len, err);
	if (e)
		goto out;
	*err = NULL;
	*np = p;
	p = NULL;
out:
	numplan_free(p);
	return e;
}

int numplan_alloc(struct numplan **np, const char *country, const char **err)
{
	const struct np_profile *prof = profile_find(country);

	if (prof == NULL)
		return no_profile(country, err);
	return numplan_alloc_text(np, country, (const char *)prof->ranges, *prof->ranges_len,
				  (const char *)numplan_country_codes_csv,
				  numplan_country_codes_csv_len, err);
}

void numplan_free(struct numplan *np)
{
	if (np == NULL)
		return;
	np_table_free(&np->ranges);
	np_table_free(&np->codes);
	free(np);
}

unsigned numplan_cc(const struct numplan *np)
{
	return np->cc;
}

const char *numplan_country(const struct numplan *np)
{
	return np->prof->iso2;
}

/* ---- reading what was dialled ---- */

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return EINVAL;
}

static bool is_separator(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* What was written, digits only, and how it starts. */
struct written {
	char d[NUM_DIALLED_MAX + 1];
	size_t n;
	bool plus;
};

/* The digits of a dialled string, separators dropped, and whether it
 * began with '+'. */
static int digits_of(const char *in, size_t len, struct written *w, const char **why)
{
	w->n = 0;
	w->plus = false;
	if (len > NUM_DIALLED_MAX)
		return refuse(why, "too long");
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c >= '0' && c <= '9')
			w->d[w->n++] = c;
		else if (c == '+' && w->n == 0 && !w->plus)
			w->plus = true;
		else if (c == '+')
			return refuse(why, "'+' not at the start");
		else if (is_letter(c))
			return refuse(why, "letters");
		else if (!is_separator(c))
			return refuse(why, "a character that is not a digit");
	}
	w->d[w->n] = '\0';
	if (w->n == 0)
		return refuse(why, w->plus ? "too short" : "empty");
	return 0;
}

static bool starts_with(const char *d, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && memcmp(d, prefix, plen) == 0;
}

/* The digits after '+' or the international prefix, if w has either. */
static bool international_part(const struct numplan *np, const struct written *w,
			       const char **d, size_t *n)
{
	size_t skip = w->plus ? 0 : strlen(np->prof->intl);

	if (!w->plus && !starts_with(w->d, w->n, np->prof->intl))
		return false;
	*d = w->d + skip;
	*n = w->n - skip;
	return true;
}

/* The entry among a prefix's lines whose lengths hold a number of n digits
 * (after the national prefix, for a national range). */
static const struct np_entry *fit_length(const struct np_entry *e, size_t count, size_t n,
					 const char **why)
{
	size_t len = n - e->skip;

	for (size_t i = 0; i < count; i++)
		if (len >= e[i].min_len && len <= e[i].max_len)
			return &e[i];
	if (len < e[0].min_len)
		*why = "too short";
	else if (len > e[count - 1].max_len)
		*why = "too long";
	else
		*why = "wrong length for its range";
	return NULL;
}

static void fill(struct num_info *out, enum num_class cls, unsigned cc, const char *iso2)
{
	out->cls = cls;
	out->cc = cc;
	snprintf(out->country, sizeof(out->country), "%s", iso2);
}

/* A number the profile's own table decides: a national number ("0...") or
 * a short code. */
static int classify_in_plan(const struct numplan *np, const char *d, size_t n,
			    struct num_info *out, const char **why)
{
	const struct np_entry *first, *e;
	size_t count = np_table_match(&np->ranges, d, n, &first);

	if (count == 0)
		return refuse(why, np_table_extends(&np->ranges, d, n) ? "too short"
								       : "not in the numbering plan");
	e = fit_length(first, count, n, why);
	if (e == NULL)
		return EINVAL;
	if (e->skip)
		snprintf(out->e164, sizeof(out->e164), "+%s%s", np->prof->cc, d + e->skip);
	else
		snprintf(out->e164, sizeof(out->e164), "%s", d);
	fill(out, e->cls, np->cc, np->prof->iso2);
	return 0;
}

/* The national spelling of what follows the profile's own country code:
 * "+44 1632 ..." is "01632 ...". nat has room for NUM_DIALLED_MAX + 1. */
static int own_country_rest(const struct numplan *np, const char *rest, size_t n, char *nat,
			    size_t *natn, const char **why)
{
	const char *national = np->prof->national;

	if (starts_with(rest, n, national))
		return refuse(why, "national prefix after the country code");
	*natn = (size_t)snprintf(nat, NUM_DIALLED_MAX + 2, "%s%.*s", national, (int)n, rest);
	return 0;
}

/* Digits after '+' or the international prefix. */
static int classify_international(const struct numplan *np, const char *d, size_t n,
				  struct num_info *out, const char **why)
{
	const struct np_entry *e;
	char nat[NUM_DIALLED_MAX + 2];
	size_t natn;

	if (n == 0)
		return refuse(why, "too short");
	if (n > NUM_E164_MAX - 1)
		return refuse(why, "too long");
	if (np_table_match(&np->codes, d, n, &e) == 0)
		return refuse(why, np_table_extends(&np->codes, d, n) ? "too short"
								      : "unknown country code");
	if (e->cc == np->cc) {
		int err = own_country_rest(np, d + e->cc_len, n - e->cc_len, nat, &natn, why);

		return err ? err : classify_in_plan(np, nat, natn, out, why);
	}
	if (n < e->cc_len + (size_t)NUM_SUBSCRIBER_MIN)
		return refuse(why, "too short");
	snprintf(out->e164, sizeof(out->e164), "+%s", d);
	fill(out, NUM_INTERNATIONAL, e->cc, e->iso2);
	return 0;
}

int numplan_classify(const struct numplan *np, const char *dialled, size_t len,
		     struct num_info *out, const char **why)
{
	struct written w;
	const char *d;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	err = digits_of(dialled, len, &w, why);
	if (err)
		return err;
	if (international_part(np, &w, &d, &n))
		err = classify_international(np, d, n, out, why);
	else if (!starts_with(w.d, w.n, np->prof->national) && w.n >= NUM_BARE_E164_MIN)
		err = classify_international(np, w.d, w.n, out, why);
	else
		err = classify_in_plan(np, w.d, w.n, out, why);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

/* ---- prefixes an administrator writes ---- */

/* A national prefix ("0909"): within a range, or the start of one, and no
 * longer than its range's numbers. */
static int national_prefix(const struct numplan *np, const char *d, size_t n,
			   char out[NUM_E164_MAX + 1], const char **why)
{
	const char *national = np->prof->national;
	const struct np_entry *e;
	size_t count, nsn = n - strlen(national);

	if (nsn == 0) {
		snprintf(msg_buf, sizeof(msg_buf),
			 "%s alone is every national number: write +%s for that", national,
			 np->prof->cc);
		return refuse(why, msg_buf);
	}
	count = np_table_match(&np->ranges, d, n, &e);
	if (count == 0 && !np_table_extends(&np->ranges, d, n))
		return refuse(why, "not in the numbering plan");
	if (count > 0 && nsn > e[count - 1].max_len)
		return refuse(why, "too long");
	snprintf(out, NUM_E164_MAX + 1, "+%s%s", np->prof->cc, d + strlen(national));
	return 0;
}

/* Digits after '+' or the international prefix ("972", "1876"). A prefix
 * of several codes ("+8") is allowed: it covers all of them. */
static int international_prefix(const struct numplan *np, const char *d, size_t n,
				char out[NUM_E164_MAX + 1], const char **why)
{
	const struct np_entry *e;
	char nat[NUM_DIALLED_MAX + 2];
	size_t natn, count;
	int err;

	if (n == 0)
		return refuse(why, "a country code must follow + or the international prefix");
	if (n > NUM_E164_MAX - 1)
		return refuse(why, "too long");
	count = np_table_match(&np->codes, d, n, &e);
	if (count == 0 && !np_table_extends(&np->codes, d, n))
		return refuse(why, "unknown country code");
	if (count > 0 && e->cc == np->cc && n > e->cc_len) {
		err = own_country_rest(np, d + e->cc_len, n - e->cc_len, nat, &natn, why);
		return err ? err : national_prefix(np, nat, natn, out, why);
	}
	/* n fits, checked above: a copy, not a format the compiler must size. */
	out[0] = '+';
	memcpy(out + 1, d, n);
	out[n + 1] = '\0';
	return 0;
}

/* A bare prefix could be a country code or the start of a number. */
static int ambiguous(const struct numplan *np, const struct written *w, const char **why)
{
	snprintf(msg_buf, sizeof(msg_buf),
		 "ambiguous: write +%.15s or %s%.15s for a country code, or %s and the "
		 "national number", w->d, np->prof->intl, w->d, np->prof->national);
	return refuse(why, msg_buf);
}

int numplan_normalise_prefix(const struct numplan *np, const char *in, size_t len,
			     char out[NUM_E164_MAX + 1], const char **why)
{
	struct written w;
	const char *d;
	size_t n;
	int err;

	out[0] = '\0';
	err = digits_of(in, len, &w, why);
	if (err)
		return err;
	if (international_part(np, &w, &d, &n))
		err = international_prefix(np, d, n, out, why);
	else if (starts_with(w.d, w.n, np->prof->national))
		err = national_prefix(np, w.d, w.n, out, why);
	else
		err = ambiguous(np, &w, why);
	if (err)
		out[0] = '\0';
	return err;
}

/* ---- countries ---- */

const char *numplan_country_of(const struct numplan *np, const char *e164)
{
	const struct np_entry *e;
	size_t n;

	if (e164 == NULL || e164[0] != '+')
		return NULL;
	n = strnlen(e164 + 1, NUM_E164_MAX);
	if (n == 0 || n > NUM_E164_MAX - 1 || strspn(e164 + 1, "0123456789") != n)
		return NULL;
	if (np_table_match(&np->codes, e164 + 1, n, &e) == 0 || e->iso2[0] == '\0')
		return NULL;
	return e->iso2;
}

bool numplan_country_known(const struct numplan *np, const char *iso2)
{
	if (iso2 == NULL || strlen(iso2) != 2)
		return false;
	for (size_t i = 0; i < np->codes.n; i++)
		if (strcmp(np->codes.e[i].iso2, iso2) == 0)
			return true;
	return false;
}
