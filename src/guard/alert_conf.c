/* Checks of the [alerts] settings and URL helpers; see alert_conf.h. */
#include "guard/alert_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "guard/alert.h"

int alert_url_parse(const char *url, struct alert_url *out)
{
	const char *sep = strstr(url, "://"), *auth, *end, *at, *host, *hend, *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!sep || (size_t)(sep - url) >= sizeof(out->scheme) || sep == url)
		return EINVAL;
	memcpy(out->scheme, url, (size_t)(sep - url));
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	out->userinfo = at != NULL;
	host = at ? at + 1 : auth;
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(end - host));
		if (!hend)
			return EINVAL;
		colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
		if (!colon && hend + 1 != end)
			return EINVAL;
		host++;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		hend = colon ? colon : end;
	}
	n = (size_t)(hend - host);
	if (n == 0 || n >= sizeof(out->host))
		return EINVAL;
	memcpy(out->host, host, n);
	if (colon) {
		char *stop;
		unsigned long port = strtoul(colon + 1, &stop, 10);

		if (stop != end || colon + 1 == end || port == 0 || port > 65535)
			return EINVAL;
		out->port = (unsigned)port;
	}
	return 0;
}

bool alert_host_loopback(const char *host)
{
	unsigned char bin[16];

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, bin) == 1)
		return bin[0] == 127;
	return inet_pton(AF_INET6, host, bin) == 1 &&
	       IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)(const void *)bin);
}

void alert_url_public(const char *url, char *out, size_t outlen)
{
	struct alert_url u;

	if (alert_url_parse(url, &u) != 0) {
		snprintf(out, outlen, "(invalid URL)");
		return;
	}
	if (u.port)
		snprintf(out, outlen, strchr(u.host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
			 u.scheme, u.host, u.port);
	else
		snprintf(out, outlen, strchr(u.host, ':') ? "%s://[%s]" : "%s://%s", u.scheme,
			 u.host);
}

/* ---- the checks ---- */

static int bad(const char **key, const char *name, char *why, size_t whylen, const char *msg)
{
	*key = name;
	snprintf(why, whylen, "%s: %s", name, msg);
	return EINVAL;
}

/* local@domain, nothing that could break out of a header or an SMTP
 * command: no spaces, angle brackets, commas, quotes or semicolons. */
static bool mail_address_ok(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);

	if (n == 0 || n > 254 || !at || at == a || at == a + n - 1 ||
	    memchr(at + 1, '@', n - (size_t)(at + 1 - a)))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f ||
		    strchr("<>,;:()[]\"'\\", a[i]))
			return false;
	return true;
}

static int check_mail_to(const char *list, const char **key, char *why, size_t whylen)
{
	const char *p = list;
	unsigned n = 0;

	for (;;) {
		size_t len = strcspn(p, ",");
		const char *item = p;

		while (len && (*item == ' ' || *item == '\t'))
			item++, len--;
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			len--;
		if (!mail_address_ok(item, len)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "'%.*s' is not an email address (local@domain)",
				 (int)(len > 100 ? 100 : len), item);
			return bad(key, "mail_to", why, whylen, msg);
		}
		n++;
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return n ? 0 : bad(key, "mail_to", why, whylen, "no recipient");
}

static int check_smtp(const struct rf_conf *c, const char **key, char *why, size_t whylen)
{
	struct alert_url u;

	if (alert_url_parse(c->smtp_url, &u) != 0)
		return bad(key, "smtp_url", why, whylen,
			   "not a URL: write smtps://HOST[:PORT] or smtp://HOST[:PORT]");
	if (strcmp(u.scheme, "smtps") != 0 && strcmp(u.scheme, "smtp") != 0)
		return bad(key, "smtp_url", why, whylen,
			   "the scheme must be smtps:// (TLS from the start) or smtp:// (STARTTLS, required)");
	if (u.userinfo)
		return bad(key, "smtp_url", why, whylen,
			   "holds credentials: put them in smtp_user and smtp_password");
	if (!c->mail_from[0])
		return bad(key, "mail_from", why, whylen, "needed when smtp_url is set");
	if (!mail_address_ok(c->mail_from, strlen(c->mail_from)))
		return bad(key, "mail_from", why, whylen, "not an email address (local@domain)");
	if (!c->mail_to[0])
		return bad(key, "mail_to", why, whylen, "needed when smtp_url is set");
	return check_mail_to(c->mail_to, key, why, whylen);
}

static int check_webhook(const struct rf_conf *c, const char **key, char *why, size_t whylen)
{
	struct alert_url u;

	if (alert_url_parse(c->webhook_url, &u) != 0 || strcmp(u.scheme, "https") != 0)
		return bad(key, "webhook_url", why, whylen, "must be an https:// URL");
	if (u.userinfo)
		return bad(key, "webhook_url", why, whylen,
			   "holds user:password@: use a token in the path or query instead");
	return 0;
}

int alert_conf_check(const struct rf_conf *c, const char **key, char *why, size_t whylen)
{
	int err;

	if (c->smtp_url[0] && (err = check_smtp(c, key, why, whylen)) != 0)
		return err;
	if (!c->smtp_url[0]) {
		static const char *const mail_keys[] = { "smtp_user", "smtp_password", "mail_from",
							 "mail_to" };
		const char *vals[] = { c->smtp_user, c->smtp_password, c->mail_from, c->mail_to };

		for (size_t i = 0; i < 4; i++)
			if (vals[i][0])
				return bad(key, mail_keys[i], why, whylen,
					   "is set but smtp_url is empty");
	}
	if (!c->smtp_user[0] != !c->smtp_password[0])
		return bad(key, c->smtp_user[0] ? "smtp_password" : "smtp_user", why, whylen,
			   "smtp_user and smtp_password go together");
	if (c->webhook_url[0] && (err = check_webhook(c, key, why, whylen)) != 0)
		return err;
	return 0;
}

unsigned alert_channels(const struct rf_conf *c)
{
	return (c->smtp_url[0] ? ALERT_CH_EMAIL : 0u) |
	       (c->webhook_url[0] ? ALERT_CH_WEBHOOK : 0u);
}
