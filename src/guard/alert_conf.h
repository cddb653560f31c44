/* The [alerts] settings: what the configuration loader checks beyond
 * each key's own type, and what the channels need from a URL. */
#ifndef RF_GUARD_ALERT_CONF_H
#define RF_GUARD_ALERT_CONF_H

#include <stdbool.h>
#include <stddef.h>

struct rf_conf;

/* Rules across the [alerts] keys: URL schemes (smtps, smtp, https), no
 * credentials inside a URL, sender and recipients present and well
 * formed when email is on, user and password together. Returns 0, or
 * EINVAL with the key to blame in *key and the reason in why. */
int alert_conf_check(const struct rf_conf *c, const char **key, char *why, size_t whylen);

/* The parts of scheme://host[:port][/...] that the channels need. The
 * host loses its IPv6 brackets. Returns 0 or EINVAL. */
struct alert_url {
	char scheme[8];
	char host[256];
	unsigned port;   /* 0 when not given */
	bool userinfo;   /* user[:password]@ in the authority */
};
int alert_url_parse(const char *url, struct alert_url *out);

/* A host that is this machine: 127.0.0.0/8, ::1 or "localhost". */
bool alert_host_loopback(const char *host);

/* scheme://host:port, without path or query, to show where an alert
 * went without printing a webhook's token. */
void alert_url_public(const char *url, char *out, size_t outlen);

#endif
