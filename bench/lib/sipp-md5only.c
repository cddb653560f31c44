/* sipp-md5only.so: lets Debian's SIPp 3.6.1 answer a server that offers
 * SHA-256 digest before MD5 (RFC 8760), as Ringfence does by default.
 *
 * SIPp 3.6.1 reads only the first challenge of a 401/407 and only knows
 * MD5, so it gives up on "algorithm=SHA-256". Loaded with LD_PRELOAD into
 * SIPp, this wraps recvfrom() and, in a 401 or 407 response that still
 * holds another challenge, removes the WWW-Authenticate/Proxy-Authenticate
 * lines that ask for SHA-256. Nothing else changes, and the server is
 * measured in its default configuration doing its normal work (it builds
 * both challenges; the MD5 answer is checked the same way).
 *
 * The filter runs inside SIPp, so its (small) cost is counted as SIPp's
 * CPU, not the server's. bench/register.sh loads it for both servers so both
 * face the identical client; a response with a single challenge (Kamailio's)
 * passes through untouched. */
#include <ctype.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *,
			       socklen_t *);

static bool starts_with_ci(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && strncasecmp(p, prefix, k) == 0;
}

/* Compares only where the first letter matches: this runs in SIPp for
 * every challenge, and SIPp shares the machine with the server measured. */
static bool contains_ci(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;
	int first = tolower((unsigned char)needle[0]);

	for (i = 0; i + k <= n; i++)
		if (tolower((unsigned char)p[i]) == first &&
		    strncasecmp(p + i, needle, k) == 0)
			return true;
	return false;
}

static bool is_challenge_line(const char *p, size_t n)
{
	return starts_with_ci(p, n, "WWW-Authenticate:") ||
	       starts_with_ci(p, n, "Proxy-Authenticate:");
}

static bool is_sha256_challenge(const char *p, size_t n)
{
	return is_challenge_line(p, n) &&
	       (contains_ci(p, n, "algorithm=SHA-256") ||
		contains_ci(p, n, "algorithm=\"SHA-256\""));
}

/* Length of the header section (up to and including the blank line), or
 * the whole buffer when there is none. */
static size_t header_len(const char *buf, size_t n)
{
	const char *end = memmem(buf, n, "\r\n\r\n", 4);

	return end ? (size_t)(end - buf) + 4 : n;
}

/* Remove SHA-256 challenges in place when another challenge stays;
 * returns the new length. */
static size_t strip_sha256(char *buf, size_t n)
{
	size_t hl = header_len(buf, n), pos, keep = 0, drop = 0;
	const char *eol;

	for (pos = 0; pos < hl; pos = (size_t)(eol - buf) + 2) {
		eol = memmem(buf + pos, hl - pos, "\r\n", 2);
		if (!eol)
			break;
		if (is_sha256_challenge(buf + pos, (size_t)(eol - buf) - pos))
			drop++;
		else if (is_challenge_line(buf + pos, (size_t)(eol - buf) - pos))
			keep++;
	}
	if (drop == 0 || keep == 0)
		return n;
	for (pos = 0; pos < hl;) {
		size_t linelen;

		eol = memmem(buf + pos, hl - pos, "\r\n", 2);
		if (!eol)
			break;
		linelen = (size_t)(eol - buf) + 2 - pos;
		if (is_sha256_challenge(buf + pos, linelen - 2)) {
			memmove(buf + pos, buf + pos + linelen, n - pos - linelen);
			n -= linelen;
			hl -= linelen;
			continue;
		}
		pos += linelen;
	}
	return n;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *src, socklen_t *srclen)
{
	static recvfrom_fn real;
	ssize_t n;

	if (!real)
		real = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
	n = real(fd, buf, len, flags, src, srclen);
	if (n > 12 && !(flags & MSG_PEEK) &&
	    (starts_with_ci(buf, (size_t)n, "SIP/2.0 401") ||
	     starts_with_ci(buf, (size_t)n, "SIP/2.0 407")))
		n = (ssize_t)strip_sha256(buf, (size_t)n);
	return n;
}
