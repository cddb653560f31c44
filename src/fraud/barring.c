/* Call barring (S11). See barring.h for the rules. */
#include <errno.h>
#include <string.h>

#include "fraud/barring.h"

/* Indexed by enum bar_verdict. */
static const char *const verdict_names[] = {
	[BAR_ALLOW] = "allow",
	[BAR_EMERGENCY] = "emergency",
	[BAR_INVALID] = "invalid",
	[BAR_SUSPENDED] = "suspended",
	[BAR_CLASS] = "class",
	[BAR_COUNTRY] = "country",
	[BAR_BLACKLIST] = "blacklist",
};

const char *bar_verdict_name(enum bar_verdict v)
{
	return (unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]) ?
	       verdict_names[v] : "invalid";
}

bool barring_class_allowable(enum num_class c)
{
	return c == NUM_PREMIUM || c == NUM_PERSONAL || c == NUM_DIRECTORY ||
	       c == NUM_SERVICE;
}

/* The next comma-separated item of *text into word (at most max - 1
 * bytes). Returns its length, or -1 for an empty or overlong item. */
static int next_item(const char **text, char *word, size_t max)
{
	const char *p = *text, *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);

	if (n == 0 || n >= max)
		return -1;
	memcpy(word, p, n);
	word[n] = '\0';
	*text = end ? end + 1 : p + n;
	if (end && !end[1])
		return -1; /* a trailing comma */
	return (int)n;
}

int barring_parse_classes(const char *text, uint32_t *mask, const char **why)
{
	enum num_class c;
	char word[16];

	*mask = 0;
	while (*text) {
		if (next_item(&text, word, sizeof(word)) < 0) {
			*why = "an empty or overlong item in the class list";
			return EINVAL;
		}
		if (num_class_parse(word, &c) != 0 || !barring_class_allowable(c)) {
			*why = "a class that is not premium, personal, directory or service";
			return EINVAL;
		}
		if (*mask & (1u << c)) {
			*why = "a class named twice";
			return EINVAL;
		}
		*mask |= 1u << c;
	}
	return 0;
}

static bool country_listed(const char (*list)[3], unsigned n, const char *iso)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(list[i], iso) == 0)
			return true;
	return false;
}

int barring_parse_countries(const struct numplan *np, const char *text,
			    char out[][3], unsigned max, unsigned *n, const char **why)
{
	char word[3];

	*n = 0;
	while (*text) {
		if (next_item(&text, word, sizeof(word)) != 2) {
			*why = "an item that is not a two-letter country code";
			return EINVAL;
		}
		if (!numplan_country_known(np, word)) {
			*why = "a country code the numbering plan does not know";
			return EINVAL;
		}
		if (country_listed(out, *n, word)) {
			*why = "a country named twice";
			return EINVAL;
		}
		if (*n == max) {
			*why = "too many countries";
			return EINVAL;
		}
		memcpy(out[(*n)++], word, 3);
	}
	return 0;
}

void barring_policy(const struct numplan *np, const struct ext_record *r,
		    struct bar_policy *out)
{
	const char *why;

	memset(out, 0, sizeof(*out));
	out->cos = r->cos;
	out->suspended = r->suspended;
	if (barring_parse_classes(r->allow_classes, &out->allowed, &why) != 0)
		out->allowed = 0;
	if (barring_parse_countries(np, r->countries, out->countries, EXT_COUNTRIES_MAX,
				    &out->ncountries, &why) != 0)
		out->ncountries = 0;
}

enum bar_verdict barring_check(const struct bar_policy *p, const struct num_info *n)
{
	if (n->cls == NUM_EMERGENCY)
		return BAR_EMERGENCY;
	if (n->cls == NUM_INVALID || n->cls >= NUM__COUNT)
		return BAR_INVALID;
	if (p->suspended)
		return BAR_SUSPENDED;
	if (p->cos == EXT_COS_INTERNAL)
		return BAR_CLASS;
	if (barring_class_allowable(n->cls) && !(p->allowed & (1u << n->cls)))
		return BAR_CLASS;
	if (n->cls != NUM_INTERNATIONAL)
		return BAR_ALLOW;
	if (p->cos != EXT_COS_INTERNATIONAL)
		return BAR_CLASS;
	return country_listed(p->countries, p->ncountries, n->country) ?
	       BAR_ALLOW : BAR_COUNTRY;
}
