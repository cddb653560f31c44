/* udp-sink IP PORT SECONDS
 *
 * The floor of the UDP read path: reads datagrams on IP:PORT with
 * recvmmsg() in batches of 32 (as Ringfence does: SIP_UDP_RECV_BATCH) into
 * 64 KiB slots, and throws them away, for SECONDS (1..120). Prints
 * "received=N cpu_s=C per_cpu_s=R": what one core can read at all, before
 * any SIP work. A benchmark tool (bench/flood.sh), not a test. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 65537

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_storage from[BATCH];
	struct sockaddr_in a = {0};
	unsigned long long got = 0;
	int fd, rcvbuf = 4 * 1024 * 1024;
	double seconds, c0, c1;
	time_t end;
	char *buf;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 ||
	    (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "usage: udp-sink IP PORT SECONDS (127.0.0.0/8 only)\n");
		return 2;
	}
	seconds = atof(argv[3]);
	if (seconds < 1 || seconds > 120)
		return 2;
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	buf = malloc((size_t)BATCH * SLOT);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (!buf || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udp-sink");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	printf("ready\n");
	fflush(stdout);
	c0 = cpu_s();
	end = time(NULL) + (time_t)seconds;
	while (time(NULL) < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		int n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		/* Up to 8 batches per wake-up, as the daemon's UDP reader does
		 * (SIP_UDP_RECV_ROUNDS). */
		for (int round = 0; round < 8; round++) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf + (size_t)i * SLOT;
			iov[i].iov_len = SLOT - 1;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n > 0)
			got += (unsigned)n;
		if (n < BATCH)
			break;
		}
	}
	c1 = cpu_s();
	printf("received=%llu cpu_s=%.2f per_cpu_s=%.0f\n", got, c1 - c0,
	       c1 > c0 ? (double)got / (c1 - c0) : 0.0);
	return 0;
}
