/* udp-flood SRC_IP DST_IP PORT SECONDS [MAX_PACKETS]
 *
 * Sends one unauthenticated REGISTER over and over from SRC_IP to
 * DST_IP:PORT with sendmmsg() in batches of 64, as fast as one core can,
 * for at most SECONDS (1..120) and MAX_PACKETS (default 100,000,000).
 * Prints "sent=N seconds=S pps=R". Loopback only: both addresses must be
 * in 127.0.0.0/8. A benchmark tool (bench/flood.sh), not a test. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int loopback(const char *ip, struct in_addr *a)
{
	return inet_pton(AF_INET, ip, a) == 1 && (ntohl(a->s_addr) >> 24) == 127;
}

int main(int argc, char **argv)
{
	struct sockaddr_in src = {0}, dst = {0};
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	char payload[512];
	unsigned long long sent = 0, max = 100000000ull;
	double start, end, seconds;
	int fd, len, port;

	if (argc < 5 || !loopback(argv[1], &src.sin_addr) || !loopback(argv[2], &dst.sin_addr)) {
		fprintf(stderr, "usage: udp-flood SRC_IP DST_IP PORT SECONDS [MAX_PACKETS] (127.0.0.0/8 only)\n");
		return 2;
	}
	port = atoi(argv[3]);
	seconds = atof(argv[4]);
	if (argc > 5)
		max = strtoull(argv[5], NULL, 10);
	if (port < 1 || port > 65535 || seconds < 1 || seconds > 120 || max == 0) {
		fprintf(stderr, "udp-flood: PORT 1..65535, SECONDS 1..120, MAX_PACKETS > 0\n");
		return 2;
	}
	src.sin_family = dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		perror("udp-flood: socket/bind");
		return 1;
	}
	len = snprintf(payload, sizeof(payload),
		       "REGISTER sip:%s SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP %s:5099;branch=z9hG4bKflood\r\n"
		       "Max-Forwards: 70\r\n"
		       "From: <sip:1000@%s>;tag=flood\r\n"
		       "To: <sip:1000@%s>\r\n"
		       "Call-ID: flood@%s\r\n"
		       "CSeq: 1 REGISTER\r\n"
		       "Contact: <sip:1000@%s:5099>\r\n"
		       "Content-Length: 0\r\n\r\n",
		       argv[2], argv[1], argv[2], argv[2], argv[1], argv[1]);
	iov.iov_base = payload;
	iov.iov_len = (size_t)len;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_s();
	end = start + seconds;
	while (sent < max) {
		unsigned n = max - sent < BATCH ? (unsigned)(max - sent) : BATCH;
		int r = sendmmsg(fd, msgs, n, 0);

		if (r > 0)
			sent += (unsigned)r;
		else if (r < 0 && errno != EINTR && errno != ENOBUFS && errno != ECONNREFUSED)
			break;
		if ((sent & 4095) < BATCH && now_s() >= end)
			break;
	}
	seconds = now_s() - start;
	printf("sent=%llu seconds=%.2f pps=%.0f\n", sent, seconds, (double)sent / seconds);
	close(fd);
	return 0;
}
