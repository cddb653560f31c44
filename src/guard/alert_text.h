/* The text of an alert on its way out: sanitising untrusted bytes, the
 * email message and the webhook's JSON body. Pure functions. */
#ifndef RF_GUARD_ALERT_TEXT_H
#define RF_GUARD_ALERT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "guard/alert.h"

/* One alert as it is queued and sent. */
struct alert_msg {
	int64_t id;                       /* the queue row; 0 before it is stored */
	enum alert_kind kind;
	int64_t created;                  /* unix seconds */
	char subject[ALERT_SUBJECT_MAX + 1];
	char text[ALERT_TEXT_MAX + 1];
};

/* Copy untrusted text so that what comes out is printable UTF-8: line
 * feeds are kept when `keep_lf` (a body), every other control byte,
 * DEL and every byte of invalid UTF-8 is written as \xHH. Cut (on a
 * character boundary) to fit outlen. Returns the length written. */
size_t alert_sanitize(const char *in, char *out, size_t outlen, int keep_lf);

/* A header value: printable ASCII only, anything else '?', at most
 * outlen - 1 bytes. No CR or LF can come through, so no header can be
 * added by whoever chose the text. */
size_t alert_header_value(const char *in, char *out, size_t outlen);

/* A JSON string body (without quotes): '"', '\\' and control bytes
 * escaped; the input is expected sanitised UTF-8. Returns the length, or
 * 0 with out empty when it does not fit. */
size_t alert_json_escape(const char *in, char *out, size_t outlen);

/* Where the alert comes from, for the message. */
struct alert_origin {
	const char *host;   /* this machine's name */
	const char *realm;  /* the PBX's realm */
};

#define ALERT_MAIL_MAX 8192
#define ALERT_JSON_MAX 8192

/* The whole RFC 5322 message (CRLF line ends), headers included. The
 * recipients are comma-separated. Returns 0 or ENOSPC. */
int alert_mail_format(const struct alert_msg *m, const struct alert_origin *o,
		      const char *from, const char *to, char *out, size_t outlen);
/* {"id":..,"kind":"..","time":"..","subject":"..","text":"..","host":"..","realm":".."}
 * Returns 0 or ENOSPC. */
int alert_json_format(const struct alert_msg *m, const struct alert_origin *o, char *out,
		      size_t outlen);

/* Unix seconds as 2026-11-26T20:30:00Z. */
void alert_iso_time(int64_t t, char *out, size_t outlen);

#endif
