/* Sending alerts through libcurl; see alert_send.h. */
#include "guard/alert_send.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guard/alert.h"
#include "guard/alert_conf.h"

void alert_channels_init(struct alert_channels *ch, const struct rf_conf *c)
{
	memset(ch, 0, sizeof(*ch));
	ch->enabled = alert_channels(c);
	snprintf(ch->smtp_url, sizeof(ch->smtp_url), "%s", c->smtp_url);
	snprintf(ch->smtp_user, sizeof(ch->smtp_user), "%s", c->smtp_user);
	snprintf(ch->smtp_password, sizeof(ch->smtp_password), "%s", c->smtp_password);
	snprintf(ch->mail_from, sizeof(ch->mail_from), "%s", c->mail_from);
	snprintf(ch->mail_to, sizeof(ch->mail_to), "%s", c->mail_to);
	snprintf(ch->webhook_url, sizeof(ch->webhook_url), "%s", c->webhook_url);
	snprintf(ch->ca_file, sizeof(ch->ca_file), "%s", c->alert_ca_file);
	snprintf(ch->realm, sizeof(ch->realm), "%s", c->realm);
	if (gethostname(ch->host, sizeof(ch->host) - 1) != 0 || !ch->host[0])
		snprintf(ch->host, sizeof(ch->host), "%s", "localhost");
}

void alert_channels_wipe(struct alert_channels *ch)
{
	explicit_bzero(ch->smtp_password, sizeof(ch->smtp_password));
	explicit_bzero(ch->webhook_url, sizeof(ch->webhook_url));
}

const char *alert_channel_name(unsigned channel)
{
	return channel == ALERT_CH_EMAIL ? "email" : channel == ALERT_CH_WEBHOOK ? "webhook" : "?";
}

void alert_channel_target(const struct alert_channels *ch, unsigned channel, char *out,
			  size_t outlen)
{
	char url[300];

	if (channel == ALERT_CH_EMAIL) {
		alert_url_public(ch->smtp_url, url, sizeof(url));
		snprintf(out, outlen, "%s via %s", ch->mail_to, url);
	} else {
		alert_url_public(ch->webhook_url, out, outlen);
	}
}

int alert_send_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : EIO;
}

void alert_send_global_cleanup(void)
{
	curl_global_cleanup();
}

/* ---- transfers ---- */

struct upload {
	const char *data;
	size_t len, off;
};

static size_t upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

static size_t discard(char *buf, size_t size, size_t nmemb, void *arg)
{
	(void)buf;
	(void)arg;
	return size * nmemb;
}

static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	const atomic_bool *abort_flag = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return abort_flag && atomic_load(abort_flag) ? 1 : 0;
}

/* What every transfer shares: timeouts, verification, no signals. */
static void common_options(CURL *c, const struct alert_channels *ch, const char *protocols,
			   const atomic_bool *abort_flag, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ALERT_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ALERT_SEND_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ch->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, ch->ca_file);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)abort_flag);
}

static const char *failure_class(CURLcode rc, long os_errno)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return os_errno == ECONNREFUSED ? "connection refused" : "cannot connect";
	case CURLE_COULDNT_RESOLVE_HOST:
		return "cannot resolve the host";
	case CURLE_OPERATION_TIMEDOUT:
		return "timed out";
	case CURLE_LOGIN_DENIED:
		return "authentication failed";
	case CURLE_USE_SSL_FAILED:
		return "TLS failure: the server does not offer STARTTLS";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "TLS failure: the server's certificate is not trusted";
	case CURLE_SSL_CONNECT_ERROR:
		return "TLS failure";
	case CURLE_SSL_CACERT_BADFILE:
		return "TLS failure: cannot read the CA file";
	case CURLE_ABORTED_BY_CALLBACK:
		return "abandoned: the daemon is stopping";
	default:
		return curl_easy_strerror(rc);
	}
}

/* The reason of a failed transfer, printable ASCII only: libcurl's
 * message may quote what the server said. */
static int transfer_error(CURL *c, CURLcode rc, const char *errbuf, char *err, size_t errlen)
{
	long os_errno = 0;
	char detail[CURL_ERROR_SIZE];

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	alert_header_value(errbuf, detail, sizeof(detail));
	if (detail[0])
		snprintf(err, errlen, "%s: %s", failure_class(rc, os_errno), detail);
	else
		snprintf(err, errlen, "%s", failure_class(rc, os_errno));
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return ECANCELED;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return ETIMEDOUT;
	return rc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO;
}

/* STARTTLS is required on smtp:// unless the server is this machine. */
static long smtp_tls_policy(const char *url)
{
	struct alert_url u;

	if (alert_url_parse(url, &u) != 0 || strcmp(u.scheme, "smtp") != 0)
		return (long)CURLUSESSL_ALL;
	return alert_host_loopback(u.host) ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL;
}

/* The recipients, each as <addr>. NULL on a failed allocation. */
static struct curl_slist *recipients(const char *list)
{
	struct curl_slist *rcpt = NULL, *next;
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *item = p;
		char one[300];

		while (len && (*item == ' ' || *item == '\t'))
			item++, len--;
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			len--;
		if (len) {
			snprintf(one, sizeof(one), "<%.*s>", (int)len, item);
			if (!(next = curl_slist_append(rcpt, one))) {
				curl_slist_free_all(rcpt);
				return NULL;
			}
			rcpt = next;
		}
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	return rcpt;
}

static int send_email(const struct alert_channels *ch, const struct alert_msg *m,
		      const atomic_bool *abort_flag, char *err, size_t errlen)
{
	struct alert_origin o = { ch->host, ch->realm };
	char msg[ALERT_MAIL_MAX], from[160], errbuf[CURL_ERROR_SIZE] = "";
	struct upload up = { msg, 0, 0 };
	struct curl_slist *rcpt;
	CURL *c;
	CURLcode rc;
	int ret = 0;

	if (alert_mail_format(m, &o, ch->mail_from, ch->mail_to, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "the message is too long");
		return ENOSPC;
	}
	up.len = strlen(msg);
	rcpt = recipients(ch->mail_to);
	c = curl_easy_init();
	if (!rcpt || !c) {
		curl_slist_free_all(rcpt);
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	snprintf(from, sizeof(from), "<%s>", ch->mail_from);
	common_options(c, ch, "smtp,smtps", abort_flag, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, ch->smtp_url);
	curl_easy_setopt(c, CURLOPT_USE_SSL, smtp_tls_policy(ch->smtp_url));
	if (ch->smtp_user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, ch->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, ch->smtp_password);
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		ret = transfer_error(c, rc, errbuf, err, errlen);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return ret;
}

static int send_webhook(const struct alert_channels *ch, const struct alert_msg *m,
			const atomic_bool *abort_flag, char *err, size_t errlen)
{
	struct alert_origin o = { ch->host, ch->realm };
	char body[ALERT_JSON_MAX], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	long status = 0;
	CURL *c;
	CURLcode rc;
	int ret = 0;

	if (alert_json_format(m, &o, body, sizeof(body)) != 0) {
		snprintf(err, errlen, "the message is too long");
		return ENOSPC;
	}
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	c = curl_easy_init();
	if (!hdrs || !c) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	common_options(c, ch, "https", abort_flag, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, ch->webhook_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "Ringfence-Alerts");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		ret = transfer_error(c, rc, errbuf, err, errlen);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status > 299) {
			snprintf(err, errlen, "HTTP status %ld", status);
			ret = EPROTO;
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return ret;
}

int alert_send(const struct alert_channels *ch, unsigned channel, const struct alert_msg *m,
	       const atomic_bool *abort_flag, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (channel == ALERT_CH_EMAIL && (ch->enabled & ALERT_CH_EMAIL))
		return send_email(ch, m, abort_flag, err, errlen);
	if (channel == ALERT_CH_WEBHOOK && (ch->enabled & ALERT_CH_WEBHOOK))
		return send_webhook(ch, m, abort_flag, err, errlen);
	snprintf(err, errlen, "channel not configured");
	return ENOENT;
}
