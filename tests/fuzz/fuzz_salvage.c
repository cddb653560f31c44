/* libFuzzer harness for sip_msg_salvage(): it reads requests the strict
 * parser refused, so it sees the worst input of all. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip/msg.h"
#include "sip/msg_salvage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	struct sip_parse_error err;

	if (size > SIP_MAX_MSG_SIZE)
		return 0;
	sip_msg_parse(&m, (const char *)data, size, SIP_TP_UDP, &err);
	if (sip_msg_salvage(&m, (const char *)data, size)) {
		/* Everything salvaged must lie inside the input. */
		for (unsigned i = 0; i < m.nhdrs; i++) {
			const struct sip_hdr *h = &m.hdrs[i];

			if (h->value.p < (const char *)data ||
			    h->value.p + h->value.len > (const char *)data + size)
				__builtin_trap();
		}
	}
	return 0;
}
