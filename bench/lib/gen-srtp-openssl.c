/* gen-srtp-openssl: linked into the shared harness's load generator
 * (../shared/bench/relay/rtpblast.c, unchanged) by bench/relay.sh, so the
 * generator's libsrtp2 does AES-CM and HMAC-SHA1 through OpenSSL, as
 * Ringfence's relay does (media_srtp_init, src/media/srtp.c).
 *
 * Why: Debian's libsrtp2 does its crypto through NSS, whose cost per
 * packet grows with the number of live sessions. With the stock crypto the
 * generator runs out of its core at about 60,000-75,000 SRTP-bridged
 * packets/s, so no relay can be measured at 1,000 streams in srtp mode.
 * The generator is a separate process on its own core: its crypto changes
 * how much load it can offer, not what a relay's CPU figure measures, and
 * every relay in a run gets the same generator.
 *
 * The switch runs before rtpblast's main(). libsrtp2 refuses a second
 * srtp_init() (its debug module is already loaded), so the program is
 * linked with -Wl,--wrap=srtp_init and rtpblast's call, which comes after
 * ours, is answered with the first one's result. If libsrtp2's self-tests
 * refuse the OpenSSL types, the generator stops rather than measure with
 * a crypto other than the one the summary names. */
#include <stdio.h>
#include <stdlib.h>

#include <srtp2/srtp.h>

#include "media/srtp.h"

srtp_err_status_t __real_srtp_init(void);
srtp_err_status_t __wrap_srtp_init(void);

srtp_err_status_t __wrap_srtp_init(void)
{
	static srtp_err_status_t first = srtp_err_status_fail;
	static int done;

	if (!done) {
		first = __real_srtp_init();
		done = 1;
	}
	return first;
}

__attribute__((constructor)) static void gen_srtp_openssl(void)
{
	if (!media_srtp_openssl_crypto()) {
		fprintf(stderr, "gen-srtp-openssl: libsrtp2 refused the OpenSSL crypto\n");
		exit(2);
	}
}
