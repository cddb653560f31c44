/* libFuzzer harness for the DNS answers we read (pbx/dns_answer.h): the
 * input is one DNS message as a resolver would hand it to us. Beyond not
 * crashing, it checks the promises: a TTL inside the clamp, at most
 * DNS_MAX_RECORDS SRV records with a non-empty target and a port, and a
 * NAPTR replacement that fits its buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/dns_answer.h"

static void check_srv(const uint8_t *data, size_t size)
{
	struct dns_srv srv[DNS_MAX_RECORDS];
	unsigned n = 99;

	if (dns_answer_srv(data, size, srv, &n) != 0) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0 || n > DNS_MAX_RECORDS)
		abort();
	for (unsigned i = 0; i < n; i++)
		if (!srv[i].target[0] || srv[i].port == 0 ||
		    strnlen(srv[i].target, sizeof(srv[i].target)) == sizeof(srv[i].target))
			abort();
}

static unsigned first(unsigned max)
{
	(void)max;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sip_transport tps[] = { SIP_TP_UDP, SIP_TP_TCP, SIP_TP_TLS };
	struct dns_srv srv[DNS_MAX_RECORDS];
	char repl[256];
	uint32_t ttl;
	unsigned n = 0;

	if (dns_answer_min_ttl(data, size, &ttl) == 0 &&
	    (ttl < DNS_TTL_MIN_S || ttl > DNS_TTL_MAX_S))
		abort();
	check_srv(data, size);
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++)
		if (dns_answer_naptr(data, size, tps[i], repl, sizeof(repl)) == 0 &&
		    (!repl[0] || strnlen(repl, sizeof(repl)) == sizeof(repl)))
			abort();
	if (dns_answer_srv(data, size, srv, &n) == 0) {
		dns_srv_order(srv, n, first);
		for (unsigned i = 1; i < n; i++)
			if (srv[i].priority < srv[i - 1].priority)
				abort();
	}
	return 0;
}
