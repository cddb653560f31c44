/* Transport set-up and the parts shared by every transport: address
 * parsing, binding, formatting and dispatch of sends by transport kind. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "core/conf.h"
#include "sip/transport.h"
#include "sip/transport_priv.h"

const char *transport_name(enum sip_transport tp)
{
	switch (tp) {
	case SIP_TP_UDP: return "udp";
	case SIP_TP_TCP: return "tcp";
	case SIP_TP_TLS: return "tls";
	default: return "?";
	}
}

void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (!len)
		return;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

void sip_peer_format(const struct sip_peer *p, char *buf, size_t len)
{
	sockaddr_format(p ? (const struct sockaddr *)&p->addr : NULL, buf, len);
}

bool transport_is_keepalive(const char *buf, size_t len)
{
	static const char zeros[4];

	if (len == 0)
		return true;
	if (len == 4 && memcmp(buf, zeros, 4) == 0)
		return true;
	if (len > 4)
		return false;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			return false;
	return true;
}

int transport_parse_addr(const char *s, unsigned port,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	size_t n = strlen(s);
	struct addrinfo hints, *res = NULL;

	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host) || port > 65535)
		return EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return EINVAL;
	if (res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		return EINVAL;
	return 0;
}

int transport_bind(int type, const struct sockaddr *sa, socklen_t len)
{
	int one = 1, err;
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* A restart must not wait for TIME_WAIT sockets of the old process. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* "::" must not also take the IPv4 port: each family is bound
	 * explicitly so both can be listed in the configuration. */
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, sa, len) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	return -err;
}

static int open_address(struct transport *t, const struct rf_conf *c,
			const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int e;

	if (c->udp || c->tcp) {
		if (transport_parse_addr(addr, c->port, &ss, &len)) {
			snprintf(err, errlen, "listen address '%s' is not an IPv4 or IPv6 address", addr);
			return EINVAL;
		}
		if (c->udp && (e = udp_open(t, (struct sockaddr *)&ss, len, err, errlen)))
			return e;
		if (c->tcp && (e = stream_listen(t, SIP_TP_TCP, (struct sockaddr *)&ss, len, err, errlen)))
			return e;
	}
	if (c->tls && c->tls_port) {
		if (transport_parse_addr(addr, c->tls_port, &ss, &len)) {
			snprintf(err, errlen, "listen address '%s' is not an IPv4 or IPv6 address", addr);
			return EINVAL;
		}
		if ((e = stream_listen(t, SIP_TP_TLS, (struct sockaddr *)&ss, len, err, errlen)))
			return e;
	}
	return 0;
}

int transport_alloc(struct transport **tp, struct event_base *base,
		    const struct rf_conf *c, transport_rx_cb cb, void *arg,
		    char *err, size_t errlen)
{
	struct transport *t;
	int e = 0;

	if (!tp || !base || !c || !cb)
		return EINVAL;
	if (errlen)
		err[0] = '\0';
	if (!c->udp && !c->tcp && !(c->tls && c->tls_port)) {
		snprintf(err, errlen, "no SIP transport enabled");
		return EINVAL;
	}
	if (c->nlisten > CONF_MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses");
		return EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	t->base = base;
	t->rx_cb = cb;
	t->rx_arg = arg;
	t->next_conn_id = 1;

	if (c->tls && c->tls_port) {
		e = stream_tls_init(t, c->tls_cert, c->tls_key, err, errlen);
		if (e)
			goto out;
	}
	if (c->nlisten == 0) {
		/* No address configured: every interface, both families. */
		e = open_address(t, c, "0.0.0.0", err, errlen);
		if (!e)
			e = open_address(t, c, "::", err, errlen);
	}
	for (unsigned i = 0; !e && i < c->nlisten; i++)
		e = open_address(t, c, c->listen[i], err, errlen);
out:
	if (e) {
		transport_free(t);
		return e;
	}
	*tp = t;
	return 0;
}

void transport_free(struct transport *t)
{
	if (!t)
		return;
	t->freeing = true;
	stream_close_all(t);
	udp_close_all(t);
	free(t);
}

void transport_set_close_cb(struct transport *t, transport_close_cb cb,
			    void *arg)
{
	t->close_cb = cb;
	t->close_arg = arg;
}

int transport_send(struct transport *t, const struct sip_peer *dst,
		   const void *buf, size_t len)
{
	if (!t || !dst || !buf || len == 0 || len > SIP_MAX_MSG_SIZE)
		return EINVAL;
	switch (dst->tp) {
	case SIP_TP_UDP:
		return udp_send(t, dst, buf, len);
	case SIP_TP_TCP:
	case SIP_TP_TLS:
		return stream_send(t, dst, buf, len);
	default:
		return EINVAL;
	}
}

int transport_client_tls_init(struct transport *t, const char *ca_file,
			      const char *cert, const char *key,
			      char *err, size_t errlen)
{
	if (!t)
		return EINVAL;
	return stream_client_tls_init(t, ca_file ? ca_file : "", cert ? cert : "",
				      key ? key : "", err, errlen);
}

int transport_connect(struct transport *t, enum sip_transport tp,
		      const struct sockaddr *sa, socklen_t salen,
		      const char *name, uint64_t *conn_id)
{
	if (!t || !sa || !conn_id || (tp != SIP_TP_TCP && tp != SIP_TP_TLS))
		return EINVAL;
	return stream_connect(t, tp, sa, salen, name ? name : "", conn_id);
}

void transport_set_fail_cb(struct transport *t, transport_fail_cb cb,
			   void *arg)
{
	t->fail_cb = cb;
	t->fail_arg = arg;
}

int transport_conn_local_addr(const struct transport *t, uint64_t conn_id,
			      struct sockaddr_storage *ss, socklen_t *len)
{
	if (!t || !ss || !len)
		return EINVAL;
	return stream_conn_local_addr(t, conn_id, ss, len);
}

int transport_conn_close(struct transport *t, uint64_t conn_id)
{
	if (!t)
		return EINVAL;
	return stream_conn_close(t, conn_id);
}

int transport_conn_set_idle(struct transport *t, uint64_t conn_id,
			    unsigned seconds)
{
	if (!t)
		return EINVAL;
	return stream_conn_set_idle(t, conn_id, seconds);
}

unsigned transport_conn_count(const struct transport *t)
{
	return t ? t->nconns : 0;
}

unsigned transport_rx_backlog(const struct transport *t)
{
	return t ? t->rx_full_streak : 0;
}

static int local_addr_of(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getsockname(fd, (struct sockaddr *)ss, len) < 0 ? errno : 0;
}

int transport_local_addr(const struct transport *t, enum sip_transport tp,
			 int family, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	if (tp == SIP_TP_UDP) {
		for (unsigned i = 0; i < t->nudp; i++)
			if (t->udp[i].family == family)
				return local_addr_of(t->udp[i].fd, ss, len);
		return ENOENT;
	}
	for (unsigned i = 0; i < t->nlst; i++)
		if (t->lst[i].tp == tp && t->lst[i].family == family)
			return local_addr_of(evconnlistener_get_fd(t->lst[i].lev), ss, len);
	return ENOENT;
}

bool sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

bool sip_peer_same_flow(const struct sip_peer *a, const struct sip_peer *b)
{
	if (a->tp != b->tp)
		return false;
	if (a->tp != SIP_TP_UDP)
		return a->conn_id == b->conn_id;
	return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}
