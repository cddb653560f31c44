/* Numbering plans: UK numbers in the spellings phones send, their classes,
 * international numbers and prefixes, and the strict table reader. The UK
 * examples are Ofcom's ranges for drama and fiction (01632 960xxx,
 * 020 7946 0xxx, 07700 900xxx ...), which are never given to anyone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fraud/numplan.h"
#include "fraud/numplan_table.h"

static struct numplan *np;

static int setup(void **state)
{
	const char *err = "unset";

	(void)state;
	assert_int_equal(numplan_alloc(&np, "GB", &err), 0);
	assert_null(err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	numplan_free(np);
	np = NULL;
	return 0;
}

/* dialled must be accepted as e164 in class cls. */
static void expect(const char *dialled, const char *e164, enum num_class cls)
{
	struct num_info in;
	const char *why = NULL;
	int err = numplan_classify(np, dialled, strlen(dialled), &in, &why);

	if (err != 0)
		fail_msg("\"%s\": %s", dialled, why);
	assert_string_equal(in.e164, e164);
	if (in.cls != cls)
		fail_msg("\"%s\": class %s, expected %s", dialled, num_class_name(in.cls),
			 num_class_name(cls));
}

/* dialled must be refused with exactly this reason. */
static void refused(const char *dialled, const char *reason)
{
	struct num_info in;
	const char *why = NULL;

	if (numplan_classify(np, dialled, strlen(dialled), &in, &why) != EINVAL)
		fail_msg("\"%s\" accepted as %s", dialled, in.e164);
	assert_non_null(why);
	if (strcmp(why, reason) != 0)
		fail_msg("\"%s\": \"%s\", expected \"%s\"", dialled, why, reason);
	assert_int_equal(in.cls, NUM_INVALID);
	assert_string_equal(in.e164, "");
}

struct accepted {
	const char *dialled, *e164;
	enum num_class cls;
};

struct refusal {
	const char *dialled, *why;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void expect_all(const struct accepted *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect(a[i].dialled, a[i].e164, a[i].cls);
}

static void refused_all(const struct refusal *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		refused(r[i].dialled, r[i].why);
}

static void test_profile(void **state)
{
	struct numplan *other = NULL;
	const char *err = NULL;

	(void)state;
	assert_int_equal(numplan_cc(np), 44);
	assert_string_equal(numplan_country(np), "GB");
	assert_int_equal(numplan_alloc(&other, "FR", &err), ENOENT);
	assert_null(other);
	assert_string_equal(err, "no numbering plan for \"FR\"; GB ships");
	assert_int_equal(numplan_alloc(&other, "gb", &err), ENOENT);
}

static void test_spellings_are_one_number(void **state)
{
	static const char *const spellings[] = {
		"01632960000", "01632 960000", "(01632) 960000", "01632-960-000",
		"01632.960.000", "+441632960000", "+44 1632 960000", "+44 (1632) 960-000",
		"00441632960000", "00 44 1632 960000", "441632960000",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
		expect(spellings[i], "+441632960000", NUM_GEOGRAPHIC);
}

static void test_uk_classes(void **state)
{
	static const struct accepted ok[] = {
		{"020 7946 0123", "+442079460123", NUM_GEOGRAPHIC},
		{"0113 496 0000", "+441134960000", NUM_GEOGRAPHIC},
		{"0118 496 0999", "+441184960999", NUM_GEOGRAPHIC},
		{"0121 496 0000", "+441214960000", NUM_GEOGRAPHIC},
		{"0191 498 0000", "+441914980000", NUM_GEOGRAPHIC},
		{"028 9649 6000", "+442896496000", NUM_GEOGRAPHIC},
		{"029 2018 0000", "+442920180000", NUM_GEOGRAPHIC},
		/* Brampton's 4-digit local numbers: a national number of 9 digits. */
		{"016977 2345", "+44169772345", NUM_GEOGRAPHIC},
		{"03069 990123", "+443069990123", NUM_NONGEOGRAPHIC},
		{"07700 900123", "+447700900123", NUM_MOBILE},
		{"07123 456789", "+447123456789", NUM_MOBILE},
		{"07912 345678", "+447912345678", NUM_MOBILE},
		{"07624 123456", "+447624123456", NUM_MOBILE},
		{"07600 123456", "+447600123456", NUM_PERSONAL},
		{"070 1234 5678", "+447012345678", NUM_PERSONAL},
		{"0808 157 0000", "+448081570000", NUM_FREEPHONE},
		{"0800 123 4567", "+448001234567", NUM_FREEPHONE},
		{"0800 123 456", "+44800123456", NUM_FREEPHONE},
		{"0800 1111", "+448001111", NUM_FREEPHONE},
		{"0800 111 111", "+44800111111", NUM_FREEPHONE},
		{"0845 123 4567", "+448451234567", NUM_SERVICE},
		{"0871 123 4567", "+448711234567", NUM_SERVICE},
		{"0909 879 0000", "+449098790000", NUM_PREMIUM},
		{"0980 000 0000", "+449800000000", NUM_PREMIUM},
		{"0551 234 5678", "+445512345678", NUM_SERVICE},
		{"0561 234 5678", "+445612345678", NUM_NONGEOGRAPHIC},
	};

	(void)state;
	expect_all(ok, ARRAY_LEN(ok));
}

static void test_short_codes(void **state)
{
	static const struct accepted ok[] = {
		{"999", "999", NUM_EMERGENCY},
		{"112", "112", NUM_EMERGENCY},
		{"118 118", "118118", NUM_DIRECTORY},
		{"118500", "118500", NUM_DIRECTORY},
		{"101", "101", NUM_SHORTCODE},
		{"111", "111", NUM_SHORTCODE},
		{"100", "100", NUM_SHORTCODE},
		{"105", "105", NUM_SHORTCODE},
		{"116123", "116123", NUM_SHORTCODE},
		{"123", "123", NUM_PREMIUM},
	};
	static const struct refusal bad[] = {
		{"118", "too short"},
		{"1181", "too short"},
		{"1181181", "too long"},
		{"116", "too short"},
		{"9999", "too long"},
		{"11", "too short"},
		{"147", "not in the numbering plan"},
		{"960000", "not in the numbering plan"},
	};
	struct num_info in;
	const char *why;

	(void)state;
	expect_all(ok, ARRAY_LEN(ok));
	refused_all(bad, ARRAY_LEN(bad));
	assert_int_equal(numplan_classify(np, "999", 3, &in, &why), 0);
	assert_int_equal(in.cc, 44);
	assert_string_equal(in.country, "GB");
}

static void test_lengths(void **state)
{
	static const struct refusal bad[] = {
		{"020 7946 012", "too short"},
		{"020 7946 01234", "too long"},
		{"07700 90012", "too short"},
		{"07700 9001234", "too long"},
		{"0909 879 000", "too short"},
		{"0800 12", "too short"},
		{"0800 11111", "wrong length for its range"},
		{"0113 496 000", "too short"},
		{"01632 9600", "too short"},
		{"01632 9600000", "too long"},
		{"+44 20 7946 01234", "too long"},
		{"0", "too short"},
		{"01", "too short"},
		{"+44", "too short"},
		{"0044", "too short"},
		{"+44999", "too short"},
		{"06 1234 5678", "not in the numbering plan"},
		{"04 1234 5678", "not in the numbering plan"},
		{"+44 6 1234 5678", "not in the numbering plan"},
		{"+44 0 20 7946 0123", "national prefix after the country code"},
	};

	(void)state;
	refused_all(bad, ARRAY_LEN(bad));
}

static void test_bad_characters(void **state)
{
	static const struct refusal bad[] = {
		{"0800 FLOWERS", "letters"},
		{"sip:1001", "letters"},
		{"0207946x0123", "letters"},
		{"*67 020 7946 0123", "a character that is not a digit"},
		{"020#7946", "a character that is not a digit"},
		{"020\t7946 0123", "a character that is not a digit"},
		{"44+1632", "'+' not at the start"},
		{"++441632960000", "'+' not at the start"},
		{"", "empty"},
		{" - ", "empty"},
		{"+", "too short"},
	};
	char big[NUM_DIALLED_MAX + 2];

	(void)state;
	refused_all(bad, ARRAY_LEN(bad));
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "01632960000", 11);
	refused(big, "too long");
	big[NUM_DIALLED_MAX] = '\0';
	expect(big, "+441632960000", NUM_GEOGRAPHIC);
}

/* A NUL inside the given length is a character like any other. */
static void test_embedded_nul(void **state)
{
	struct num_info in;
	const char *why = NULL;

	(void)state;
	assert_int_equal(numplan_classify(np, "999\0" "1", 5, &in, &why), EINVAL);
	assert_string_equal(why, "a character that is not a digit");
	assert_int_equal(numplan_classify(np, "9991", 3, &in, &why), 0);
	assert_string_equal(in.e164, "999");
}

static void test_international(void **state)
{
	struct num_info in;
	const char *why;

	(void)state;
	expect("972501234567", "+972501234567", NUM_INTERNATIONAL);
	expect("+972501234567", "+972501234567", NUM_INTERNATIONAL);
	expect("00972501234567", "+972501234567", NUM_INTERNATIONAL);
	expect("+972 50-123-4567", "+972501234567", NUM_INTERNATIONAL);
	assert_int_equal(numplan_classify(np, "00972501234567", 14, &in, &why), 0);
	assert_int_equal(in.cc, 972);
	assert_string_equal(in.country, "IL");
	expect("0033 1 23 45 67 89", "+33123456789", NUM_INTERNATIONAL);
	expect("+683 4002", "+6834002", NUM_INTERNATIONAL);
	/* Numbers with no country: satellite, international networks. */
	assert_int_equal(numplan_classify(np, "+881 6 0000 0000", 16, &in, &why), 0);
	assert_int_equal(in.cc, 881);
	assert_string_equal(in.country, "");
	expect("+979 123456789", "+979123456789", NUM_INTERNATIONAL);
	refused("+999 123 4567", "unknown country code");
	refused("00999 123 4567", "unknown country code");
	refused("+0 123 4567", "unknown country code");
	refused("9991234567", "unknown country code");
	refused("+8", "too short");
	refused("+972 123", "too short");
	refused("+1 234567890123456", "too long");
	refused("0012345678901234567", "too long");
	expect("+123456789012345", "+123456789012345", NUM_INTERNATIONAL);
}

static void expect_country(const char *dialled, unsigned cc, const char *iso2)
{
	struct num_info in;
	const char *why = NULL;

	if (numplan_classify(np, dialled, strlen(dialled), &in, &why) != 0)
		fail_msg("\"%s\": %s", dialled, why);
	assert_int_equal(in.cls, NUM_INTERNATIONAL);
	assert_int_equal(in.cc, cc);
	if (strcmp(in.country, iso2) != 0)
		fail_msg("\"%s\": country %s, expected %s", dialled, in.country, iso2);
}

/* NANP countries share +1; the area code tells them apart. */
static void test_nanp_and_shared_codes(void **state)
{
	(void)state;
	expect_country("+1 876 555 0123", 1, "JM");
	expect_country("0018765550123", 1, "JM");
	expect_country("18765550123", 1, "JM");
	expect_country("+1 284 555 0123", 1, "VG");
	expect_country("+1 809 555 0123", 1, "DO");
	expect_country("+1 787 555 0123", 1, "PR");
	expect_country("+1 441 555 0123", 1, "BM");
	expect_country("+1 416 555 0123", 1, "CA");
	expect_country("+1 604 555 0123", 1, "CA");
	expect_country("+1 212 555 0123", 1, "US");
	expect_country("+1 800 555 0123", 1, "US");
	expect_country("+7 495 123 4567", 7, "RU");
	expect_country("+7 701 123 4567", 7, "KZ");
	expect_country("+358 18 12345", 358, "AX");
	expect_country("+358 9 1234567", 358, "FI");
	expect_country("+39 06 698 12345", 39, "VA");
	expect_country("+39 06 1234 5678", 39, "IT");
	expect_country("+599 9 123 4567", 599, "CW");
	expect_country("+599 7 123 456", 599, "BQ");
}

static void expect_prefix(const char *in, const char *e164)
{
	char out[NUM_E164_MAX + 1];
	const char *why = NULL;

	if (numplan_normalise_prefix(np, in, strlen(in), out, &why) != 0)
		fail_msg("prefix \"%s\": %s", in, why);
	assert_string_equal(out, e164);
}

static void prefix_refused(const char *in, const char *reason)
{
	char out[NUM_E164_MAX + 1] = "x";
	const char *why = NULL;

	if (numplan_normalise_prefix(np, in, strlen(in), out, &why) != EINVAL)
		fail_msg("prefix \"%s\" accepted as %s", in, out);
	if (strcmp(why, reason) != 0)
		fail_msg("prefix \"%s\": \"%s\", expected \"%s\"", in, why, reason);
	assert_string_equal(out, "");
}

static void test_prefixes(void **state)
{
	(void)state;
	expect_prefix("0909", "+44909");
	expect_prefix("09", "+449");
	expect_prefix("0118", "+44118");
	expect_prefix("07700 900", "+447700900");
	expect_prefix("00 972", "+972");
	expect_prefix("+9725", "+9725");
	expect_prefix("00 972 5", "+9725");
	expect_prefix("+1876", "+1876");
	expect_prefix("+1 (876)", "+1876");
	expect_prefix("+44", "+44");
	expect_prefix("0044", "+44");
	expect_prefix("+44 909", "+44909");
	expect_prefix("+88", "+88");
	expect_prefix("+881", "+881");
	expect_prefix("+441632960000", "+441632960000");
	prefix_refused("44", "ambiguous: write +44 or 0044 for a country code, "
			     "or 0 and the national number");
	prefix_refused("972", "ambiguous: write +972 or 00972 for a country code, "
			      "or 0 and the national number");
	prefix_refused("0", "0 alone is every national number: write +44 for that");
	prefix_refused("+44 0909", "national prefix after the country code");
	prefix_refused("00", "a country code must follow + or the international prefix");
	prefix_refused("+", "too short");
	prefix_refused("+999", "unknown country code");
	prefix_refused("+0", "unknown country code");
	prefix_refused("06", "not in the numbering plan");
	prefix_refused("0909 879 0000 1", "too long");
	prefix_refused("+1 234567890123456", "too long");
	prefix_refused("09O9", "letters");
	prefix_refused("", "empty");
}

static void test_country_of(void **state)
{
	(void)state;
	assert_string_equal(numplan_country_of(np, "+18765550123"), "JM");
	assert_string_equal(numplan_country_of(np, "+1876"), "JM");
	assert_string_equal(numplan_country_of(np, "+1"), "US");
	assert_string_equal(numplan_country_of(np, "+441632960000"), "GB");
	assert_string_equal(numplan_country_of(np, "+972"), "IL");
	assert_string_equal(numplan_country_of(np, "+77011234567"), "KZ");
	assert_null(numplan_country_of(np, "+8816"));
	assert_null(numplan_country_of(np, "+8"));
	assert_null(numplan_country_of(np, "+999"));
	assert_null(numplan_country_of(np, "972"));
	assert_null(numplan_country_of(np, "+"));
	assert_null(numplan_country_of(np, "+97 2"));
	assert_null(numplan_country_of(np, "+1234567890123456"));
	assert_null(numplan_country_of(np, NULL));
}

static void test_country_known(void **state)
{
	(void)state;
	assert_true(numplan_country_known(np, "GB"));
	assert_true(numplan_country_known(np, "JM"));
	assert_true(numplan_country_known(np, "CA"));
	assert_true(numplan_country_known(np, "KZ"));
	assert_true(numplan_country_known(np, "IL"));
	assert_false(numplan_country_known(np, "gb"));
	assert_false(numplan_country_known(np, "XX"));
	assert_false(numplan_country_known(np, "G"));
	assert_false(numplan_country_known(np, "GBR"));
	assert_false(numplan_country_known(np, ""));
	assert_false(numplan_country_known(np, NULL));
}

static void test_class_names(void **state)
{
	enum num_class c;

	(void)state;
	for (unsigned i = 0; i < NUM__COUNT; i++) {
		assert_int_equal(num_class_parse(num_class_name((enum num_class)i), &c), 0);
		assert_int_equal(c, i);
	}
	assert_string_equal(num_class_name(NUM_NONGEOGRAPHIC), "nongeographic");
	assert_string_equal(num_class_name(NUM__COUNT), "invalid");
	assert_int_equal(num_class_parse("Premium", &c), EINVAL);
	assert_int_equal(num_class_parse("premium ", &c), EINVAL);
	assert_int_equal(num_class_parse("", &c), EINVAL);
}

/* ---- the table reader ---- */

#define RANGES_HEAD "prefix,class,min_nsn_len,max_nsn_len,comment\n"
#define CODES_HEAD "cc,area,iso2,name\n"
#define CODES_OK CODES_HEAD "44,,GB,United Kingdom\n1,,US,United States\n1,876,JM,Jamaica\n"
#define RANGES_OK RANGES_HEAD "999,emergency,3,3,Emergency\n01,geographic,9,10,Geographic\n"

static void load_fails(const char *ranges, const char *codes, const char *msg)
{
	struct numplan *p = NULL;
	const char *err = NULL;
	int e = numplan_alloc_text(&p, "GB", ranges, strlen(ranges), codes, strlen(codes), &err);

	if (e != EINVAL)
		fail_msg("table loaded (%d) but should fail with: %s", e, msg);
	assert_null(p);
	if (strcmp(err, msg) != 0)
		fail_msg("\"%s\", expected \"%s\"", err, msg);
}

static void bad_ranges(const char *body, const char *msg)
{
	char text[1024];

	snprintf(text, sizeof(text), "# a comment\n%s%s", RANGES_HEAD, body);
	load_fails(text, CODES_OK, msg);
}

static void bad_codes(const char *body, const char *msg)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", CODES_HEAD, body);
	load_fails(RANGES_OK, text, msg);
}

static void test_small_tables(void **state)
{
	struct numplan *p = NULL;
	const char *err = NULL, *why;
	struct num_info in;
	const char ranges[] = "\r\n# only two ranges\n" RANGES_HEAD "\n"
			      "999,emergency,3,3,Emergency, with a comma\r\n"
			      "01,geographic,9,10,Geographic";

	(void)state;
	assert_int_equal(numplan_alloc_text(&p, "GB", ranges, strlen(ranges), CODES_OK,
					    strlen(CODES_OK), &err), 0);
	assert_int_equal(numplan_classify(p, "01632960000", 11, &in, &why), 0);
	assert_int_equal(in.cls, NUM_GEOGRAPHIC);
	assert_int_equal(numplan_classify(p, "07700900123", 11, &in, &why), EINVAL);
	assert_string_equal(why, "not in the numbering plan");
	assert_int_equal(numplan_classify(p, "+33123456789", 12, &in, &why), EINVAL);
	assert_string_equal(why, "unknown country code");
	assert_string_equal(numplan_country_of(p, "+1876"), "JM");
	numplan_free(p);
	numplan_free(NULL);
}

static void test_bad_range_tables(void **state)
{
	const char *f = "data/numplan/gb.csv";
	char msg[256];

	(void)state;
	load_fails("", CODES_OK, "data/numplan/gb.csv: no header line "
				 "\"prefix,class,min_nsn_len,max_nsn_len,comment\"");
	load_fails(RANGES_HEAD, CODES_OK, "data/numplan/gb.csv: no entries");
	load_fails("prefix,class,min,max,comment\n", CODES_OK,
		   "data/numplan/gb.csv:1: header must be "
		   "\"prefix,class,min_nsn_len,max_nsn_len,comment\"");
	bad_ranges("01,geographic,10\n", "data/numplan/gb.csv:3: 5 fields expected "
					 "(prefix,class,min_nsn_len,max_nsn_len,comment)");
	bad_ranges("01,geographic,9,10,ok\n09,premum,10,10,x\n",
		   "data/numplan/gb.csv:4: unknown class \"premum\"");
	bad_ranges("01,international,9,10,x\n",
		   "data/numplan/gb.csv:3: class \"international\" cannot be a range of this plan");
	bad_ranges("01,invalid,9,10,x\n",
		   "data/numplan/gb.csv:3: class \"invalid\" cannot be a range of this plan");
	bad_ranges("0a,geographic,9,10,x\n",
		   "data/numplan/gb.csv:3: prefix \"0a\" must be digits, at most 8");
	bad_ranges("012345678,geographic,10,10,x\n",
		   "data/numplan/gb.csv:3: prefix \"012345678\" must be digits, at most 8");
	bad_ranges(",geographic,9,10,x\n", "data/numplan/gb.csv:3: empty prefix");
	bad_ranges("0,geographic,9,10,x\n",
		   "data/numplan/gb.csv:3: prefix \"0\" is only the national prefix");
	bad_ranges("001,geographic,9,10,x\n",
		   "data/numplan/gb.csv:3: prefix \"001\" starts with the international prefix 00");
	bad_ranges("01,geographic,x,10,x\n",
		   "data/numplan/gb.csv:3: min_nsn_len \"x\" is not a number from 1 to 99");
	bad_ranges("01,geographic,9,100,x\n",
		   "data/numplan/gb.csv:3: max_nsn_len \"100\" is not a number from 1 to 99");
	bad_ranges("01,geographic,9, 10,x\n",
		   "data/numplan/gb.csv:3: max_nsn_len \" 10\" is not a number from 1 to 99");
	bad_ranges("01,geographic,10,9,x\n",
		   "data/numplan/gb.csv:3: max_nsn_len 9 must be from min_nsn_len 10 to 13");
	bad_ranges("01,geographic,9,14,x\n",
		   "data/numplan/gb.csv:3: max_nsn_len 14 must be from min_nsn_len 9 to 13");
	bad_ranges("0800,freephone,2,10,x\n",
		   "data/numplan/gb.csv:3: min_nsn_len 2 is shorter than the prefix's own 3 digits");
	bad_ranges("118,directory,6,10,x\n",
		   "data/numplan/gb.csv:3: max_nsn_len 10 must be from min_nsn_len 6 to 9");
	bad_ranges("01,geographic,9,10,a\n02,geographic,10,10,b\n01,geographic,10,10,c\n",
		   "data/numplan/gb.csv:5: prefix 01: lengths overlap those on line 3");
	bad_ranges("01,geographic,9,10,x\x01y\n",
		   "data/numplan/gb.csv:3: control character 0x01");
	snprintf(msg, sizeof(msg), "%s:3: line longer than %u bytes", f, NP_LINE_MAX);
	{
		char longline[NP_LINE_MAX + 40];

		snprintf(longline, sizeof(longline), "01,geographic,9,10,%0*d\n",
			 (int)NP_LINE_MAX, 0);
		bad_ranges(longline, msg);
	}
}

static void test_bad_code_tables(void **state)
{
	(void)state;
	load_fails(RANGES_OK, "cc,iso2,name\n",
		   "data/numplan/country-codes.csv:1: header must be \"cc,area,iso2,name\"");
	bad_codes("44,,GB\n", "data/numplan/country-codes.csv:2: 4 fields expected "
			      "(cc,area,iso2,name)");
	bad_codes("044,,GB,x\n", "data/numplan/country-codes.csv:2: country code \"044\" is not "
				 "1 to 3 digits without a leading 0");
	bad_codes("4444,,GB,x\n", "data/numplan/country-codes.csv:2: country code \"4444\" is not "
				  "1 to 3 digits without a leading 0");
	bad_codes("44,,gb,x\n", "data/numplan/country-codes.csv:2: iso2 \"gb\" is not two "
				"capital letters or empty");
	bad_codes("44,,GB,\n", "data/numplan/country-codes.csv:2: empty name");
	bad_codes("44,x,GB,y\n",
		  "data/numplan/country-codes.csv:2: area \"x\" must be digits, at most 6");
	bad_codes("44,,GB,a\n44,,GB,b\n",
		  "data/numplan/country-codes.csv:3: code 44 is also on line 2");
	bad_codes("44,,GB,a\n1,876,JM,b\n",
		  "data/numplan/country-codes.csv:3: code 1 has no line of its own");
	bad_codes("44,,GB,a\n4,,XA,b\n",
		  "data/numplan/country-codes.csv:2: code 44 starts with code 4 (line 3)");
	bad_codes("1,,US,a\n", "data/numplan/country-codes.csv: no line gives code 44 to GB");
	bad_codes("44,,JE,a\n", "data/numplan/country-codes.csv: no line gives code 44 to GB");
}

/* Every table line is checked, so a table of NP_TABLE_MAX + 1 rows fails
 * on the row past the cap. */
static void test_table_cap(void **state)
{
	static char text[(NP_TABLE_MAX + 4) * 32];
	size_t n = 0;
	char msg[128];

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", RANGES_HEAD);
	for (unsigned i = 0; i <= NP_TABLE_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "0%u,geographic,9,10,\n",
				      10000u + i);
	snprintf(msg, sizeof(msg), "data/numplan/gb.csv:%u: more than %u entries",
		 NP_TABLE_MAX + 2, NP_TABLE_MAX);
	load_fails(text, CODES_OK, msg);
}

/* The daemon classifies every outbound call and every CLI command loads
 * the plan: both must stay cheap. Bounds are loose, for a loaded machine
 * and sanitizer builds; a linear scan or a reload per call would miss them. */
static void test_cost(void **state)
{
	struct timespec a, b;
	struct num_info in;
	const char *why;
	double load_ms, classify_us;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 20; i++) {
		struct numplan *p;
		const char *err;

		assert_int_equal(numplan_alloc(&p, "GB", &err), 0);
		numplan_free(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	load_ms = ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / 20;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(numplan_classify(np, "+1 876 555 0123", 15, &in, &why), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	classify_us = ((double)(b.tv_sec - a.tv_sec) * 1e6 +
		       (double)(b.tv_nsec - a.tv_nsec) / 1e3) / 100000;
	print_message("load %.3f ms, classify %.3f us\n", load_ms, classify_us);
	assert_true(load_ms < 20.0);
	assert_true(classify_us < 20.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_spellings_are_one_number),
		cmocka_unit_test(test_uk_classes),
		cmocka_unit_test(test_short_codes),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_bad_characters),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_international),
		cmocka_unit_test(test_nanp_and_shared_codes),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_country_of),
		cmocka_unit_test(test_country_known),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_small_tables),
		cmocka_unit_test(test_bad_range_tables),
		cmocka_unit_test(test_bad_code_tables),
		cmocka_unit_test(test_table_cap),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
