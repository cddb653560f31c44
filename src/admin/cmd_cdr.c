/* cdr list, cdr export: the call detail records the daemon writes when a
 * call attempt ends, read back as a table, JSON or CSV. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/cmd_cdr.h"
#include "admin/util.h"
#include "fraud/rating.h"
#include "store/store.h"

#define MS_PER_S INT64_C(1000)
#define MS_PER_DAY (86400 * MS_PER_S)
#define SINCE_HELP "give a date (2026-11-26), a time (2026-11-26T15:04:05Z) " \
	"or an age (90s, 15m, 24h, 7d)"

/* ---- --since ---- */

/* Exactly n digits at *p, advancing past them. */
static bool take_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool take_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no time zone, no libc state. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct since_err {
	char *why;
	size_t len;
	const char *text; /* printable copy of the value */
};

static int since_fail(const struct since_err *e, const char *what)
{
	snprintf(e->why, e->len, "'%s' %s", e->text, what);
	return EINVAL;
}

/* "YYYY-MM-DD" at *p. */
static int parse_date(const char **p, const struct since_err *e, int64_t *days)
{
	int y, m, d;

	if (!take_digits(p, 4, &y) || !take_char(p, '-') || !take_digits(p, 2, &m) ||
	    !take_char(p, '-') || !take_digits(p, 2, &d))
		return since_fail(e, "is not a date: write YYYY-MM-DD, for example 2026-11-26");
	if (y < 1970)
		return since_fail(e, "is before 1970");
	if (m < 1 || m > 12)
		return since_fail(e, "has no such month: months are 01 to 12");
	if (d < 1 || d > days_in_month(y, m))
		return since_fail(e, "has no such day in that month");
	*days = days_from_civil(y, m, d);
	return 0;
}

/* Up to 9 digits of a fraction of a second, as milliseconds. */
static int parse_fraction(const char **p, const struct since_err *e, int64_t *ms)
{
	int n = 0, digit;

	*ms = 0;
	while (**p >= '0' && **p <= '9') {
		if (++n > 9)
			return since_fail(e, "has too many digits after the seconds");
		take_digits(p, 1, &digit);
		if (n <= 3)
			*ms = *ms * 10 + digit;
	}
	if (n == 0)
		return since_fail(e, "has a '.' without digits after the seconds");
	for (; n < 3; n++)
		*ms *= 10;
	return 0;
}

/* "Z", "+HH:MM" or "-HH:MM" at *p: the offset of the given time from UTC. */
static int parse_zone(const char **p, const struct since_err *e, int64_t *off_ms)
{
	int sign, hh, mm;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off_ms = 0;
		return 0;
	}
	if (**p == '\0')
		return since_fail(e, "has no time zone: add Z for UTC "
				  "(2026-11-26T15:04:05Z) or an offset (+01:00)");
	if (**p != '+' && **p != '-')
		return since_fail(e, "has junk after the time: expected Z or an offset like +01:00");
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &hh) || !take_char(p, ':') || !take_digits(p, 2, &mm))
		return since_fail(e, "has a malformed offset: write +HH:MM or -HH:MM");
	if (hh > 23 || mm > 59)
		return since_fail(e, "has an offset out of range");
	*off_ms = sign * ((int64_t)hh * 3600 + mm * 60) * MS_PER_S;
	return 0;
}

/* "THH:MM[:SS[.fff]]" + zone at *p, as milliseconds into the day (UTC). */
static int parse_time(const char **p, const struct since_err *e, int64_t *ms)
{
	int hh, mm, ss = 0;
	int64_t frac = 0, off;
	int err;

	if (!take_digits(p, 2, &hh) || !take_char(p, ':') || !take_digits(p, 2, &mm))
		return since_fail(e, "has a malformed time: write HH:MM or HH:MM:SS after the T");
	if (take_char(p, ':') && !take_digits(p, 2, &ss))
		return since_fail(e, "has malformed seconds: write two digits");
	if (hh > 23 || mm > 59 || ss > 59)
		return since_fail(e, "has a time out of range (00:00:00 to 23:59:59)");
	if (take_char(p, '.') && (err = parse_fraction(p, e, &frac)))
		return err;
	if ((err = parse_zone(p, e, &off)))
		return err;
	*ms = ((int64_t)hh * 3600 + mm * 60 + ss) * MS_PER_S + frac - off;
	return 0;
}

static int parse_absolute(const char *text, const struct since_err *e, int64_t *out)
{
	const char *p = text;
	int64_t days, ms = 0;
	int err;

	if ((err = parse_date(&p, e, &days)))
		return err;
	if (*p == 'T' || *p == 't') {
		p++;
		if ((err = parse_time(&p, e, &ms)))
			return err;
	} else if (*p == ' ') {
		return since_fail(e, "has a space: join date and time with T "
				  "(2026-11-26T15:04:05Z)");
	}
	if (*p)
		return since_fail(e, "has junk at the end");
	*out = days * MS_PER_DAY + ms;
	if (*out < 0)
		return since_fail(e, "is before 1970");
	return 0;
}

static int parse_relative(const char *text, const struct since_err *e,
			  int64_t now_ms, int64_t *out)
{
	const char *p = text;
	int64_t n = 0, unit_ms, age_ms;

	if (*p == '-')
		return since_fail(e, "is negative: an age counts back from now (15m, 7d)");
	if (*p < '0' || *p > '9')
		return since_fail(e, "is not a date, time or age: " SINCE_HELP);
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > (int64_t)CDR_SINCE_MAX_DAYS * 86400)
			return since_fail(e, "reaches back more than 100 years");
	}
	switch (*p) {
	case 's': unit_ms = MS_PER_S; break;
	case 'm': unit_ms = 60 * MS_PER_S; break;
	case 'h': unit_ms = 3600 * MS_PER_S; break;
	case 'd': unit_ms = MS_PER_DAY; break;
	case '\0':
		return since_fail(e, "has no unit: add s, m, h or d (90s, 15m, 24h, 7d)");
	default:
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			return since_fail(e, "has an unknown unit: use s, m, h or d "
					  "(90s, 15m, 24h, 7d)");
		return since_fail(e, "is not a date, time or age: " SINCE_HELP);
	}
	if (p[1])
		return since_fail(e, "has junk after the unit: write one number and "
				  "one unit (90s, 15m, 24h, 7d)");
	age_ms = n * unit_ms; /* n * unit <= 100 years * 86400 s * 1000: no overflow */
	if (age_ms > (int64_t)CDR_SINCE_MAX_DAYS * MS_PER_DAY)
		return since_fail(e, "reaches back more than 100 years");
	*out = now_ms > age_ms ? now_ms - age_ms : 0;
	return 0;
}

int cdr_parse_since(const char *text, int64_t now_ms, int64_t *since_ms,
		    char *why, size_t whylen)
{
	char shown[64];
	struct since_err e = { why, whylen, admin_printable(text, shown, sizeof(shown)) };
	int64_t v;
	int err;

	if (!text[0]) {
		snprintf(why, whylen, "empty value: " SINCE_HELP);
		return EINVAL;
	}
	/* A date starts with four digits and a dash; an age never has one. */
	if (strlen(text) >= 5 && text[4] == '-')
		err = parse_absolute(text, &e, &v);
	else
		err = parse_relative(text, &e, now_ms, &v);
	if (!err)
		*since_ms = v;
	return err;
}

/* ---- formatting ---- */

const char *cdr_iso_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / MS_PER_S);
	struct tm tm;
	char day[24];

	if (ms <= 0 || !gmtime_r(&t, &tm) ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "%s.%03dZ", day, (int)(ms % MS_PER_S));
	return buf;
}

/* Spreadsheets read a cell starting with one of these as a formula (TAB
 * and CR too, after some importers strip them). */
static bool formula_start(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Append byte c to out if there is room; count it either way. */
static void put(char *out, size_t len, size_t *n, char c)
{
	if (*n + 1 < len)
		out[*n] = c;
	(*n)++;
}

size_t cdr_csv_field(const char *val, char *out, size_t len)
{
	bool quote = strpbrk(val, ",\"\r\n") != NULL;
	size_t n = 0;
	const char *p;

	if (quote)
		put(out, len, &n, '"');
	if (formula_start(val[0]))
		put(out, len, &n, '\'');
	for (p = val; *p; p++) {
		if (*p == '"')
			put(out, len, &n, '"');
		put(out, len, &n, *p);
	}
	if (quote)
		put(out, len, &n, '"');
	if (len)
		out[n < len ? n : len - 1] = '\0';
	return n;
}

static void duration_text(unsigned s, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

/* JSON and the table carry counters as int64: store_cdr_add saturates at
 * INT64_MAX, so only a hand-made sum can exceed it. */
static int64_t as_int(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* --since, or 0 (everything). Fails the reply with a usage error. */
static int since_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		     struct admin_reply *r, int64_t *since_ms)
{
	const char *v = admin_arg(cmd, a, "--since");
	char why[256];

	*since_ms = 0;
	if (v && cdr_parse_since(v, admin_now_ms(), since_ms, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "--since: %s", why);
	return ADMIN_OK;
}

static int limit_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		     struct admin_reply *r, unsigned *limit)
{
	const char *v = admin_arg(cmd, a, "--limit"), *p;
	char shown[64];
	uint64_t n = 0;

	*limit = 0;
	if (!v)
		return ADMIN_OK;
	for (p = v; *p >= '0' && *p <= '9' && n <= CDR_LIST_LIMIT_MAX; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (p == v || *p || n < 1 || n > CDR_LIST_LIMIT_MAX)
		return admin_reply_error(r, ADMIN_USAGE, "--limit: '%s' is not a whole "
					 "number from 1 to %u",
					 admin_printable(v, shown, sizeof(shown)),
					 CDR_LIST_LIMIT_MAX);
	*limit = (unsigned)n;
	return ADMIN_OK;
}

/* ---- cdr list ---- */

static const struct admin_column cdr_columns[] = {
	{ "start", "START (UTC)" },
	{ "caller", "CALLER" },
	{ "callee", "CALLEE" },
	{ "result", "RESULT" },
	{ "duration", "DURATION" },
	{ "hangup", "HANGUP" },
	{ "packets", "PACKETS" },
	{ "srtp", "SRTP" },
	{ "srtp_a", "SRTP-A" },
	{ "srtp_b", "SRTP-B" },
};

struct list_walk {
	struct admin_reply *r;
	size_t rows;
};

static void record_times(struct admin_reply *r, const struct cdr_record *c)
{
	char t[40];

	admin_reply_str(r, "start", cdr_iso_ms(c->start_ms, t, sizeof(t)));
	admin_reply_int(r, "start_ms", c->start_ms);
	admin_reply_str(r, "answer", cdr_iso_ms(c->answer_ms, t, sizeof(t)));
	admin_reply_int(r, "answer_ms", c->answer_ms);
	admin_reply_str(r, "end", cdr_iso_ms(c->end_ms, t, sizeof(t)));
	admin_reply_int(r, "end_ms", c->end_ms);
	duration_text(c->duration_s, t, sizeof(t));
	admin_reply_str(r, "duration", t);
	admin_reply_int(r, "duration_s", c->duration_s);
}

static void record_media(struct admin_reply *r, const struct cdr_record *c)
{
	uint64_t total = c->packets_a + c->packets_b;

	if (total < c->packets_a)
		total = UINT64_MAX; /* saturate the sum, as the store does */
	admin_reply_int(r, "packets", as_int(total));
	admin_reply_int(r, "packets_a", as_int(c->packets_a));
	admin_reply_int(r, "bytes_a", as_int(c->bytes_a));
	admin_reply_int(r, "packets_b", as_int(c->packets_b));
	admin_reply_int(r, "bytes_b", as_int(c->bytes_b));
	admin_reply_int(r, "dropped_foreign", as_int(c->dropped_foreign));
	admin_reply_int(r, "lost", as_int(c->lost));
	admin_reply_bool(r, "srtp", c->srtp);
	admin_reply_bool(r, "srtp_a", c->srtp_a);
	admin_reply_bool(r, "srtp_b", c->srtp_b);
}

static int list_one(const struct cdr_record *c, void *arg)
{
	struct list_walk *w = arg;
	struct admin_reply *r = w->r;

	admin_reply_record(r);
	admin_reply_int(r, "id", c->id);
	record_times(r, c);
	admin_reply_str(r, "caller", c->caller);
	admin_reply_str(r, "callee", c->callee);
	admin_reply_str(r, "call_id", c->call_id);
	admin_reply_int(r, "result", c->result);
	admin_reply_str(r, "hangup", c->hangup);
	record_media(r, c);
	admin_reply_str(r, "direction", c->direction[0] ? c->direction : "internal");
	admin_reply_str(r, "e164", c->e164);
	admin_reply_str(r, "class", c->dest_class);
	admin_reply_str(r, "trunk", c->trunk);
	admin_reply_price(r, "cost", c->cost);
	w->rows++;
	return admin_reply_broken(r) ? ENOMEM : 0;
}

int cmd_cdr_list(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		 const struct admin_args *a, struct admin_reply *r)
{
	struct list_walk w = { r, 0 };
	int64_t since_ms;
	unsigned limit;
	char t[40];
	int err;

	if (since_arg(cmd, a, r, &since_ms) || limit_arg(cmd, a, r, &limit))
		return ADMIN_USAGE;
	admin_reply_table(r, cdr_columns, sizeof(cdr_columns) / sizeof(cdr_columns[0]));
	if (limit)
		err = store_cdr_foreach_latest(ctx->store, since_ms, limit, list_one, &w);
	else
		err = store_cdr_foreach(ctx->store, since_ms, list_one, &w);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read call records: %s",
					 strerror(err));
	if (w.rows == 0 && since_ms > 0)
		admin_reply_note(r, "no call records since %s",
				 cdr_iso_ms(since_ms, t, sizeof(t)));
	else if (w.rows == 0)
		admin_reply_note(r, "no call records");
	return ADMIN_OK;
}

/* ---- cdr export ---- */

static const char *const csv_header[] = {
	"id", "start", "start_ms", "answer", "answer_ms", "end", "end_ms",
	"duration_s", "caller", "callee", "call_id", "result", "hangup",
	"packets_a", "bytes_a", "packets_b", "bytes_b", "dropped_foreign",
	"lost", "srtp",
	/* Added later, and so at the end: consumers that read columns by
	 * position keep working. */
	"srtp_a", "srtp_b",
	"direction", "e164", "class", "trunk", "cost",
};
#define CSV_NFIELDS (sizeof(csv_header) / sizeof(csv_header[0]))
/* Twice the longest field (every byte a quote) plus quotes and prefix,
 * for all fields together: a row never needs more. */
#define CSV_LINE_MAX 4096

/* Join fields into line as one CSV record. Returns false if it would not
 * fit, which the sizes above rule out. */
static bool csv_join(const char *const *fields, size_t n, char *line, size_t len)
{
	size_t used = 0, i;

	for (i = 0; i < n; i++) {
		if (i) {
			if (used + 1 >= len)
				return false;
			line[used++] = ',';
		}
		used += cdr_csv_field(fields[i], line + used, len - used);
		if (used >= len)
			return false;
	}
	line[used] = '\0';
	return true;
}

#define U64(buf, v) (snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(v)), buf)
#define I64(buf, v) (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), buf)

static const char *yes_no(bool v)
{
	return v ? "yes" : "no";
}

static int export_one(const struct cdr_record *c, void *arg)
{
	struct admin_reply *r = arg;
	char id[24], start[40], start_ms[24], answer[40], answer_ms[24], end[40];
	char end_ms[24], dur[24], result[24], pa[24], ba[24], pb[24], bb[24];
	char drop[24], lost[24], cost[RATE_PRICE_BUF], line[CSV_LINE_MAX];
	const char *f[CSV_NFIELDS] = {
		I64(id, c->id), cdr_iso_ms(c->start_ms, start, sizeof(start)),
		I64(start_ms, c->start_ms), cdr_iso_ms(c->answer_ms, answer, sizeof(answer)),
		I64(answer_ms, c->answer_ms), cdr_iso_ms(c->end_ms, end, sizeof(end)),
		I64(end_ms, c->end_ms), U64(dur, c->duration_s), c->caller, c->callee,
		c->call_id, U64(result, c->result), c->hangup, U64(pa, c->packets_a),
		U64(ba, c->bytes_a), U64(pb, c->packets_b), U64(bb, c->bytes_b),
		U64(drop, c->dropped_foreign), U64(lost, c->lost), yes_no(c->srtp),
		yes_no(c->srtp_a), yes_no(c->srtp_b),
		c->direction[0] ? c->direction : "internal", c->e164, c->dest_class, c->trunk,
		rating_format_price(c->cost, cost, sizeof(cost)),
	};

	if (!csv_join(f, CSV_NFIELDS, line, sizeof(line)))
		return EOVERFLOW;
	admin_reply_note(r, "%s", line);
	return admin_reply_broken(r) ? ENOMEM : 0;
}

int cmd_cdr_export(const struct admin_cmd *cmd, struct admin_ctx *ctx,
		   const struct admin_args *a, struct admin_reply *r)
{
	char line[CSV_LINE_MAX];
	int64_t since_ms;
	int err;

	if (!admin_flag(cmd, a, "--csv"))
		return admin_reply_error(r, ADMIN_USAGE, "choose the output format: "
					 "--csv (the only one so far)");
	if (since_arg(cmd, a, r, &since_ms))
		return ADMIN_USAGE;
	csv_join(csv_header, CSV_NFIELDS, line, sizeof(line));
	admin_reply_note(r, "%s", line);
	err = store_cdr_foreach(ctx->store, since_ms, export_one, r);
	if (err)
		return admin_reply_error(r, ADMIN_FAILED, "cannot read call records: %s",
					 strerror(err));
	return ADMIN_OK;
}
