/* Parser micro-benchmark: nanoseconds per sip_msg_parse() of a typical
 * authenticated REGISTER, and of the same plus the value parsers the
 * registrar runs (request checks, Contact, Authorization).
 *
 * Not built by default. Build and run from the repository root:
 *   cc -O2 -D_GNU_SOURCE -Isrc bench/parse_bench.c src/sip/msg.c \
 *      src/sip/msg_value.c -o /tmp/parse_bench && /tmp/parse_bench [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/msg.h"

static const char reg[] =
	"REGISTER sip:192.0.2.10 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-524287-1---8c3ab0f1e2d4c5b6;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Contact: <sip:1001@192.0.2.20:5062;rinstance=6f8e1a2b3c4d5e6f;transport=UDP>\r\n"
	"To: <sip:1001@192.0.2.10>\r\n"
	"From: <sip:1001@192.0.2.10>;tag=9a8b7c6d\r\n"
	"Call-ID: ZDk4NmQ5ZTIwYzM0YjM1NTNlZjE0ZGRlMGI1ZDI0Yjk\r\n"
	"CSeq: 2 REGISTER\r\n"
	"Expires: 3600\r\n"
	"Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
	"Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n"
	"User-Agent: Softphone 5.1\r\n"
	"Authorization: Digest username=\"1001\",realm=\"ringfence\",nonce=\"6566a1b2c3d4e5f60718293a4b5c6d7e8f901234\","
	"uri=\"sip:192.0.2.10\",response=\"0123456789abcdef0123456789abcdef\",cnonce=\"abcdef\",nc=00000001,"
	"qop=auth,algorithm=MD5\r\n"
	"Allow-Events: presence, kpml, talk\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

/* The first REGISTER of a phone, before it is challenged. */
static const char reg_first[] =
	"REGISTER sip:192.0.2.10 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-524287-1---1c3ab0f1e2d4c5b6;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Contact: <sip:1001@192.0.2.20:5062;rinstance=6f8e1a2b3c4d5e6f>\r\n"
	"To: <sip:1001@192.0.2.10>\r\n"
	"From: <sip:1001@192.0.2.10>;tag=9a8b7c6d\r\n"
	"Call-ID: ZDk4NmQ5ZTIwYzM0YjM1NTNlZjE0ZGRlMGI1ZDI0Yjk\r\n"
	"CSeq: 1 REGISTER\r\n"
	"Expires: 3600\r\n"
	"User-Agent: Softphone 5.1\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	static struct sip_msg m;
	struct sip_parse_error err;
	struct sip_contact c[SIP_MAX_CONTACTS_PER_REGISTER];
	struct sip_digest_cred cred;
	size_t n;
	bool star;
	volatile unsigned sink = 0;
	double t0, t1, t2;

	if (sip_msg_parse(&m, reg, sizeof(reg) - 1, SIP_TP_UDP, &err) != 0) {
		fprintf(stderr, "benchmark message does not parse: %s\n", err.reason);
		return 1;
	}
	double f0 = now_ns();
	for (long i = 0; i < iters; i++) {
		sip_msg_parse(&m, reg_first, sizeof(reg_first) - 1, SIP_TP_UDP, &err);
		sink += m.nhdrs;
	}
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		sip_msg_parse(&m, reg, sizeof(reg) - 1, SIP_TP_UDP, &err);
		sink += m.nhdrs;
	}
	t1 = now_ns();
	for (long i = 0; i < iters; i++) {
		sip_msg_parse(&m, reg, sizeof(reg) - 1, SIP_TP_UDP, &err);
		sip_request_check(&m, &err);
		sip_contacts_parse(&m, c, SIP_MAX_CONTACTS_PER_REGISTER, &n, &star);
		sip_digest_cred_parse(sip_msg_hdr(&m, SIP_H_AUTHORIZATION)->value, &cred);
		sink += (unsigned)n + (unsigned)cred.nonce.len;
	}
	t2 = now_ns();
	printf("%ld iterations each\n", iters);
	printf("sip_msg_parse, first REGISTER (%zu bytes): %.0f ns/msg\n",
	       sizeof(reg_first) - 1, (t0 - f0) / iters);
	printf("sip_msg_parse, REGISTER with Authorization (%zu bytes): %.0f ns/msg\n",
	       sizeof(reg) - 1, (t1 - t0) / iters);
	printf("  + request check, contacts, digest credentials: %.0f ns/msg\n",
	       (t2 - t1) / iters);
	return sink == 0;
}
