/* SRTP for the media relay (P5, S15): SDES keys (RFC 4568) and one
 * direction of one leg's SRTP/SRTCP, over libsrtp2.
 *
 * Each phone has its own keys. The key a phone wrote in its a=crypto line
 * decrypts what it sends (inbound); the key the PBX generated and wrote in
 * the SDP towards that phone encrypts what the relay sends to it
 * (outbound). A key is never used on another leg, so the relay decrypts
 * and re-encrypts between two SRTP phones, and bridges RTP and SRTP.
 *
 * Key hygiene: nothing here logs or formats a key except
 * media_srtp_crypto_line(), whose output belongs in an SDP body and
 * nowhere else. Refusal reasons are static strings that never quote the
 * input. media_srtp_wipe() clears a struct relay_crypto; the libsrtp2
 * session keeps its own expanded keys and clears them when freed. */
#ifndef RF_MEDIA_SRTP_H
#define RF_MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>

#include "media/relay.h"

/* Bytes past the end of a packet that media_srtp_protect() may write:
 * the longest tag plus MKI, and the SRTCP index. */
#define MEDIA_SRTP_ROOM 148u

/* Longest a=crypto line media_srtp_crypto_line() writes, with its NUL. */
#define MEDIA_SRTP_LINE_MAX 128u

/* Initialise libsrtp2 once per process; safe from any thread and any number
 * of times. Returns 0 or EIO. */
int media_srtp_init(void);

/* Whether AES_CM and HMAC-SHA1 run on OpenSSL (see srtp.c) rather than
 * on the NSS back end Debian's libsrtp2 comes with, whose cost per packet
 * grows with the number of calls. Calls media_srtp_init(). */
bool media_srtp_openssl_crypto(void);

/* The suite's SDP name, or NULL for a value outside the enum. */
const char *media_srtp_suite_name(enum relay_srtp_suite suite);

/* Whether this build of libsrtp2 can run the suite. */
bool media_srtp_suite_available(enum relay_srtp_suite suite);

/* Parse one a=crypto line's suite and key-params (the sdp_crypto fields):
 * "inline:" base64 of the master key and salt, then optionally "|" a
 * lifetime (2^N or a number, 2^20 to 2^48 packets) and "|" an MKI of
 * 1 to 4 bytes ("1:1"). Several keys (";"), other methods, other lengths,
 * and suites this build cannot run are refused. Returns 0, or EINVAL with
 * *reason set to a static sentence that quotes nothing from the input.
 * *out is written only on success. */
int media_srtp_parse_sdes(struct relay_crypto *out, const char *suite, size_t suite_len,
			  const char *key_params, size_t key_params_len, const char **reason);

/* A fresh random master key and salt for `suite`, no MKI. Returns 0,
 * EINVAL for an unknown or unavailable suite, or EIO when the random
 * generator fails. */
int media_srtp_generate(struct relay_crypto *out, enum relay_srtp_suite suite);

/* The SDP line "a=crypto:<tag> <suite> inline:<key>[|<mki>:<len>]" without
 * CRLF, NUL-terminated. Returns the length, or 0 when `out` is too small
 * or the key is not valid (then nothing useful is in `out`). */
size_t media_srtp_crypto_line(const struct relay_crypto *c, unsigned tag, char *out,
			      size_t outlen);

/* Clear a key that is no longer needed; the compiler cannot skip it. */
void media_srtp_wipe(struct relay_crypto *c);

enum media_srtp_dir {
	MEDIA_SRTP_INBOUND,  /* from the phone: verify, check replay, decrypt */
	MEDIA_SRTP_OUTBOUND, /* to the phone: encrypt and sign */
};

enum media_srtp_verdict {
	MEDIA_SRTP_OK,
	MEDIA_SRTP_AUTH_FAILED, /* tampered, wrong key, or not SRTP at all */
	MEDIA_SRTP_REPLAY,      /* seen before, or too old for the window */
	MEDIA_SRTP_BAD,         /* too short, too long, or refused for another reason */
};

/* One direction of one leg: a libsrtp2 session for any SSRC of that
 * direction, with replay protection. At most MEDIA_SRTP_MAX_SSRC streams
 * are kept; a further SSRC evicts the oldest, so a phone cannot make the
 * relay hold state without bound. Used by one thread at a time. */
#define MEDIA_SRTP_MAX_SSRC 4u
struct media_srtp;

/* Returns 0, EINVAL for a bad or unavailable key, ENOMEM, or EIO. */
int media_srtp_alloc(struct media_srtp **mp, const struct relay_crypto *key,
		     enum media_srtp_dir dir);
void media_srtp_free(struct media_srtp *m);

/* Packets are changed in place, *len updated; nothing is allocated except
 * the state for a new SSRC. protect needs MEDIA_SRTP_ROOM writable bytes
 * after *len. `rtcp` selects SRTCP. */
enum media_srtp_verdict media_srtp_unprotect(struct media_srtp *m, bool rtcp,
					     unsigned char *pkt, size_t *len);
enum media_srtp_verdict media_srtp_protect(struct media_srtp *m, bool rtcp,
					   unsigned char *pkt, size_t *len);

#endif
