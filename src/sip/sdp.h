/* SDP (RFC 4566) as the B2BUA needs it: read where a phone wants its
 * media, and rewrite a body so the other phone sends to the relay instead.
 * Parsing is zero-copy over the body; rewriting writes a new body into the
 * caller's buffer. Every bound is in limits.h; a body that breaks one, or
 * is not SDP we understand, is refused (the caller answers 488 or 400). */
#ifndef RF_SIP_SDP_H
#define RF_SIP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"

#define SDP_MAX_MEDIA 4
#define SDP_MAX_CRYPTO 4

enum sdp_dir { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_crypto {
	unsigned tag;
	struct sip_str suite;    /* e.g. AES_CM_128_HMAC_SHA1_80 */
	struct sip_str key;      /* inline:... key-params, raw */
};

struct sdp_media {
	struct sip_str type;     /* audio, video, ... */
	uint16_t port;           /* 0: rejected/disabled stream */
	struct sip_str proto;    /* RTP/AVP, RTP/SAVP, ... */
	struct sip_str formats;  /* the payload type list, raw */
	struct sockaddr_storage addr; /* c= of the media, else of the session, */
				      /* with `port` in it; family 0 if none */
	bool rtcp_mux;
	uint16_t rtcp_port;      /* a=rtcp:, 0 when absent */
	enum sdp_dir dir;
	struct sdp_crypto crypto[SDP_MAX_CRYPTO];
	unsigned ncrypto;
	unsigned ncrypto_refused; /* a=crypto lines whose key is malformed: left out above */
};

struct sdp {
	struct sockaddr_storage addr; /* session-level c=, family 0 if none */
	enum sdp_dir dir;             /* session-level direction attribute */
	struct sdp_media media[SDP_MAX_MEDIA];
	unsigned nmedia;
};

/* Parse body[0..len). Returns 0 or EBADMSG with a static reason in *why
 * (e.g. "m= line with port 70000", "c= address is not IPv4/IPv6",
 * "more than 4 m= lines"). Accepts CRLF or LF line ends. */
int sdp_parse(const char *body, size_t len, struct sdp *out, const char **why);

/* Write body with every c= address replaced by `addr` (IN IP4 / IN IP6
 * chosen by its family), each m= port i replaced by ports[i] (a stream
 * whose port is 0 stays 0), a=rtcp: lines rewritten to ports[i]+1 (or
 * dropped when the stream uses rtcp-mux), ICE attributes (a=candidate,
 * a=ice-*, a=end-of-candidates, a=remote-candidates) dropped since the
 * relay anchors media, and the o= line's address and version replaced by
 * `addr` and `version` (our own origin, not the phone's). When
 * `strip_crypto` is set, a=crypto lines are removed (the caller adds its
 * own for SRTP). Returns the new length, or 0 when out is too small or the
 * body does not parse. */
size_t sdp_rewrite(const char *body, size_t len, const struct sockaddr *addr,
		   const uint16_t *ports, unsigned nports, uint64_t version,
		   bool strip_crypto, char *out, size_t outlen);

/* The rewrite with SRTP (SDES) control, for the B2BUA: the same as
 * sdp_rewrite, plus, on the one m= line `media` (the stream the relay
 * anchors; -1 for none), the transport protocol replaced by `proto` when
 * not NULL (e.g. "RTP/SAVP" or "RTP/AVP"), and the attribute line
 * `crypto` (e.g. "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:...", without
 * CRLF) added as the last line of that media section when not NULL. With
 * `strip_crypto`, every a=crypto line of the body is dropped first. A
 * `proto` or `crypto` holding CR, LF or NUL, a `proto` that is not a
 * token, or a `media` index that is not a live stream (port 0 or beyond
 * the last m= line) makes the call fail (returns 0). The line ends of the
 * output follow the input.
 *
 * In detail: `proto` is 1 to 32 bytes of [A-Za-z0-9/._-] and replaces the
 * whole proto field (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP ... alike); the
 * port and format list of that m= line are rewritten as by sdp_rewrite.
 * `crypto` is at most 200 bytes of printable ASCII, starts with
 * "a=crypto:" and must be a line sdp_parse accepts on that stream: without
 * `strip_crypto` the phone's own a=crypto lines stay, so ours must not
 * repeat one of their tags nor make more than SDP_MAX_CRYPTO. A `proto` or
 * `crypto` with `media` -1 is a caller error and also returns 0; so does a
 * `media` below -1. These checks come first: a refused option writes
 * nothing to `out`. Unlike sdp_rewrite, which always writes CRLF, every
 * output line (ours included) ends as the body's first line does: CRLF, or
 * LF for an LF body. Failures after writing began (out too small, a cap)
 * zero what was written, as sdp_rewrite does. sdp_rewrite is this call
 * with `media` -1, no `proto` or `crypto`, and CRLF line ends. */
struct sdp_rewrite_opts {
	const struct sockaddr *addr;
	const uint16_t *ports;
	unsigned nports;
	uint64_t version;
	bool strip_crypto;
	int media;
	const char *proto;
	const char *crypto;
};

size_t sdp_rewrite_ex(const char *body, size_t len, const struct sdp_rewrite_opts *o,
		      char *out, size_t outlen);

#endif
