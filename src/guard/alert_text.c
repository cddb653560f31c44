/* The text of alerts: sanitising, the email message, the JSON body. */
#include "guard/alert_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[ALERT__COUNT] = {
	[ALERT_BAN_ADDED] = "ban_added",
	[ALERT_ACCOUNT_LOCKED] = "account_locked",
	[ALERT_NEW_NETWORK] = "new_network",
	[ALERT_FLOOD] = "flood",
	[ALERT_CONFIG_CHANGED] = "config_changed",
	[ALERT_EMERGENCY] = "emergency_call",
	[ALERT_CALL_BARRED] = "call_barred",
	[ALERT_FRAUD] = "fraud",
	[ALERT_CREDIT] = "credit",
	[ALERT_TEST] = "test",
	[ALERT_SUMMARY] = "summary",
};

const char *alert_kind_name(enum alert_kind kind)
{
	return (unsigned)kind < ALERT__COUNT ? kind_names[kind] : NULL;
}

int alert_kind_parse(const char *name, enum alert_kind *out)
{
	for (unsigned i = 0; i < ALERT__COUNT; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum alert_kind)i;
			return 0;
		}
	}
	return EINVAL;
}

/* ---- sanitising ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * or overlong. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff) ||
	    (c >= 0x80 && c < 0xa0))
		return 0; /* C1 controls are controls too */
	return len;
}

size_t alert_sanitize(const char *in, char *out, size_t outlen, int keep_lf)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0;

	if (outlen == 0)
		return 0;
	while (i < n) {
		size_t len = utf8_len(s + i, n - i);
		bool plain = len > 1 || (len == 1 && ((s[i] >= 0x20 && s[i] != 0x7f) ||
						      (keep_lf && s[i] == '\n')));

		if (plain) {
			if (o + len >= outlen)
				break;
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		snprintf(out + o, outlen - o, "\\x%02X", s[i]);
		o += 4;
		i++;
	}
	out[o] = '\0';
	return o;
}

size_t alert_header_value(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < outlen; p++)
		out[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
	out[o] = '\0';
	return o;
}

size_t alert_json_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[8];
		size_t n;

		if (*p == '"' || *p == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p == '\n')
			n = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		else
			esc[0] = (char)*p, n = 1;
		if (o + n >= outlen) {
			if (outlen)
				out[0] = '\0';
			return 0;
		}
		memcpy(out + o, esc, n);
		o += n;
	}
	if (outlen)
		out[o] = '\0';
	return o;
}

void alert_iso_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "%lld", (long long)t);
}

/* ---- formats ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->full = true;
		return;
	}
	b->len += (size_t)n;
}

/* The body with CRLF line ends; a line never exceeds SMTP's 998 octets. */
static void put_body(struct buf *b, const char *text)
{
	size_t col = 0;

	for (const char *p = text; *p && !b->full; p++) {
		if (*p == '\n' || col >= 900) {
			put(b, "\r\n");
			col = 0;
			if (*p == '\n')
				continue;
		}
		put(b, "%c", *p);
		col++;
	}
	put(b, "\r\n");
}

int alert_mail_format(const struct alert_msg *m, const struct alert_origin *o,
		      const char *from, const char *to, char *out, size_t outlen)
{
	struct buf b = { out, 0, outlen, outlen == 0 };
	char subject[ALERT_SUBJECT_MAX + 1], realm[160], date[64], when[32];
	time_t t = (time_t)m->created;
	struct tm tm;

	alert_header_value(m->subject, subject, sizeof(subject));
	alert_header_value(o->realm, realm, sizeof(realm));
	if (!gmtime_r(&t, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm))
		date[0] = '\0';
	alert_iso_time(m->created, when, sizeof(when));
	put(&b, "From: Ringfence <%s>\r\n", from);
	put(&b, "To: %s\r\n", to);
	put(&b, "Subject: [Ringfence %s] %s\r\n", realm, subject);
	if (date[0])
		put(&b, "Date: %s\r\n", date);
	put(&b, "MIME-Version: 1.0\r\n");
	put(&b, "Content-Type: text/plain; charset=utf-8\r\n");
	put(&b, "Content-Transfer-Encoding: 8bit\r\n");
	put(&b, "X-Ringfence-Alert: %s\r\n\r\n", alert_kind_name(m->kind));
	put_body(&b, m->text);
	put(&b, "\r\n-- \r\n");
	put(&b, "Ringfence on %s, realm %s\r\n", o->host, realm);
	put(&b, "Alert %s, raised %s\r\n", alert_kind_name(m->kind), when);
	return b.full ? ENOSPC : 0;
}

int alert_json_format(const struct alert_msg *m, const struct alert_origin *o, char *out,
		      size_t outlen)
{
	struct buf b = { out, 0, outlen, outlen == 0 };
	char subject[2 * ALERT_SUBJECT_MAX + 64], text[2 * ALERT_TEXT_MAX + 64];
	char host[512], realm[512], when[32];

	alert_json_escape(m->subject, subject, sizeof(subject));
	alert_json_escape(m->text, text, sizeof(text));
	alert_json_escape(o->host, host, sizeof(host));
	alert_json_escape(o->realm, realm, sizeof(realm));
	alert_iso_time(m->created, when, sizeof(when));
	put(&b, "{\"id\":%lld,\"kind\":\"%s\",\"time\":\"%s\",\"subject\":\"%s\",\"text\":\"%s\","
		"\"host\":\"%s\",\"realm\":\"%s\"}",
	    (long long)m->id, alert_kind_name(m->kind), when, subject, text, host, realm);
	return b.full ? ENOSPC : 0;
}
