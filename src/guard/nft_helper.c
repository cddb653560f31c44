/* The firewall helper process (guard/nft_helper.h). */
#include "guard/nft_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <nftables/libnftables.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define HELPER_FD 3                   /* the helper's one descriptor besides stdio */
#define HELPER_SNDBUF (4 << 20)       /* room for a resync of thousands of bans */
#define HELPER_BATCH_MAX 1024         /* messages run as one nft transaction */
#define HELPER_STOP_WAIT_MS 2000      /* then the helper is killed */
#define HELPER_ERR_SHOWN 300          /* characters of an nft error in the log */

struct nft_helper {
	int fd;                        /* the daemon's end, non-blocking */
	pid_t pid;
	/* Commands not yet taken by the socket, oldest at `head`; bounded by
	 * NFT_QUEUE_MAX. */
	struct nft_cmd *queue;
	size_t head, len, cap;
};

/* ---- the helper process ---- */

/* Keep only CAP_NET_ADMIN across the change to `user`: enough to change
 * nftables, nothing else. A process whose permitted set is not a subset of
 * the daemon's cannot be traced or read by it, although both share a uid. */
static int helper_drop(const char *user)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (geteuid() != 0)
		return 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		log_error("firewall helper: user '%s' does not exist", user);
		return ENOENT;
	}
	if (pw.pw_uid == 0 || prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 ||
	    setgroups(0, NULL) != 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
	    setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0)
		return EPERM;
	memset(data, 0, sizeof(data));
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &hdr, data) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		return EPERM;
	if (setuid(0) == 0) /* a drop that can be undone is no drop */
		return EPERM;
	return 0;
}

/* A caret line under the command nft quotes: not worth a log line. */
static bool caret_line(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '^' && *p != '~' && *p != ' ')
			return false;
	return true;
}

/* nft's first error ("Error: No such file or directory") and the command
 * it names, on one line without control characters. */
static void helper_log_failure(struct nft_ctx *nft, const char *what)
{
	const char *e = nft_ctx_get_error_buffer(nft);
	char shown[HELPER_ERR_SHOWN + 1];
	size_t n = 0;
	unsigned lines = 0;

	while (e && *e && n < HELPER_ERR_SHOWN && lines < 2) {
		const char *nl = strchr(e, '\n');
		const char *end = nl ? nl : e + strlen(e);

		if (end > e && !caret_line(e, end)) {
			lines++;
			if (n && n + 3 < HELPER_ERR_SHOWN) {
				memcpy(shown + n, " | ", 3);
				n += 3;
			}
			for (const char *p = e; p < end && n < HELPER_ERR_SHOWN; p++)
				shown[n++] = (*p < 0x20 || *p == 0x7f) ? ' ' : *p;
		}
		e = nl ? nl + 1 : end;
	}
	shown[n] = '\0';
	log_warn("firewall helper: nft refused %s: %s%s", what, n ? shown : "no reason given",
		 strstr(shown, "No such file or directory") ?
		 " (load the ruleset from 'ringfence firewall print' first)" : "");
}

static bool helper_run(struct nft_ctx *nft, const char *script, const char *what)
{
	bool ok = nft_run_cmd_from_buffer(nft, script) == 0;

	if (!ok)
		helper_log_failure(nft, what);
	/* Reading a buffer empties it: neither may grow over a long life. */
	nft_ctx_get_output_buffer(nft);
	nft_ctx_get_error_buffer(nft);
	return ok;
}

/* One message into `out` (appended at *used); false when it was refused. */
static bool helper_take(const char *msg, size_t len, const struct nft_target *t,
			char *out, size_t cap, size_t *used)
{
	struct nft_cmd c;
	const char *why = NULL;
	size_t n;

	if (nft_cmd_parse(msg, len, &c, &why) != 0) {
		/* Never echo the message: it is the input being refused. */
		log_warn("firewall helper: refused a message of %zu bytes: %s", len, why);
		return false;
	}
	n = nft_cmd_script(&c, t, out + *used, cap - *used);
	if (n == 0)
		return false;
	*used += n;
	return true;
}

static size_t helper_recv(int fd, char *msg, size_t cap, int flags, bool *eof)
{
	ssize_t n;

	do
		n = recv(fd, msg, cap, flags | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		*eof = true;
	return n > 0 ? (size_t)n : 0;
}

void nft_helper_serve(int fd, const struct nft_target *t)
{
	static char msgs[HELPER_BATCH_MAX][NFT_CMD_MAX + 1];
	static size_t lens[HELPER_BATCH_MAX];
	static char script[HELPER_BATCH_MAX * NFT_SCRIPT_MAX];
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	bool eof = false;

	if (!nft) {
		log_error("firewall helper: cannot create an nftables context");
		return;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	while (!eof) {
		unsigned count = 0;
		size_t used = 0;

		/* Wait for one message, then take what else is queued, so a
		 * resync of many bans is one transaction. MSG_TRUNC reports a
		 * message's full length, so an overlong one is refused, not cut. */
		lens[0] = helper_recv(fd, msgs[0], sizeof(msgs[0]), 0, &eof);
		if (eof)
			break;
		count = 1;
		while (count < HELPER_BATCH_MAX) {
			bool end = false;
			size_t n = helper_recv(fd, msgs[count], sizeof(msgs[count]), MSG_DONTWAIT, &end);
			if (n == 0) {
				eof = end;
				break;
			}
			lens[count++] = n;
		}
		for (unsigned i = 0; i < count; i++) {
			if (lens[i] > NFT_CMD_MAX) {
				log_warn("firewall helper: refused a message of %zu bytes: message too long",
					 lens[i]);
				lens[i] = 0;
			} else if (!helper_take(msgs[i], lens[i], t, script, sizeof(script), &used)) {
				lens[i] = 0;
			}
		}
		if (used == 0 || helper_run(nft, script, count > 1 ? "a batch" : "a command"))
			continue;
		/* A batch failed as a whole: run its commands one by one, so
		 * that one bad element (an IPv6 ban without the IPv6 set) does
		 * not cost the rest. */
		for (unsigned i = 0; i < count && count > 1; i++) {
			size_t one = 0;
			if (lens[i] && helper_take(msgs[i], lens[i], t, script, sizeof(script), &one))
				helper_run(nft, script, "a command");
		}
	}
	nft_ctx_free(nft);
}

static void helper_child(int fd, const struct nft_target *t, const char *user, pid_t parent)
{
	/* The helper lives exactly as long as the daemon. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0L, 0L, 0L) != 0 || getppid() != parent)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* the daemon's shutdown ends us, by end of file */
	if (fd != HELPER_FD && (dup2(fd, HELPER_FD) != HELPER_FD || close(fd) != 0))
		_exit(1);
	/* Nothing of the daemon's but stdio and our socket. */
	if (close_range(HELPER_FD + 1, ~0U, 0) != 0)
		_exit(1);
	if (helper_drop(user) != 0) {
		log_error("firewall helper: cannot drop to '%s' with CAP_NET_ADMIN only", user);
		_exit(1);
	}
	nft_helper_serve(HELPER_FD, t);
	_exit(0);
}

/* ---- the daemon's side ---- */

int nft_helper_start(struct nft_helper **hp, const struct nft_target *t, const char *user,
		     char *err, size_t errlen)
{
	struct nft_helper *h = calloc(1, sizeof(*h));
	int sv[2], sndbuf = HELPER_SNDBUF, e;
	pid_t parent = getpid();

	if (!h)
		return ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		e = errno;
		snprintf(err, errlen, "firewall helper: socketpair: %s", strerror(e));
		free(h);
		return e;
	}
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	h->pid = fork();
	if (h->pid < 0) {
		e = errno;
		snprintf(err, errlen, "firewall helper: fork: %s", strerror(e));
		close(sv[0]);
		close(sv[1]);
		free(h);
		return e;
	}
	if (h->pid == 0) {
		close(sv[0]);
		helper_child(sv[1], t, user, parent);
	}
	close(sv[1]);
	h->fd = sv[0];
	if (fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK) != 0) {
		e = errno;
		snprintf(err, errlen, "firewall helper: %s", strerror(e));
		nft_helper_stop(h);
		return e;
	}
	*hp = h;
	return 0;
}

void nft_helper_stop(struct nft_helper *h)
{
	struct timespec tick = {0, 10 * 1000 * 1000};

	if (!h)
		return;
	close(h->fd);
	for (int waited = 0; waited < HELPER_STOP_WAIT_MS; waited += 10) {
		pid_t r = waitpid(h->pid, NULL, WNOHANG);
		if (r == h->pid || (r < 0 && errno != EINTR))
			goto out;
		nanosleep(&tick, NULL);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
out:
	free(h->queue);
	free(h);
}

static int helper_send_once(struct nft_helper *h, const struct nft_cmd *c)
{
	char msg[NFT_CMD_MAX + 1];
	size_t n = nft_cmd_format(c, msg, sizeof(msg));
	ssize_t r;

	if (n == 0)
		return 0; /* cannot happen: nft_helper_queue checked it */
	do
		r = send(h->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)n)
		return 0;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return EAGAIN;
	return EPIPE;
}

int nft_helper_pump(struct nft_helper *h)
{
	int rc = 0;

	while (h->head < h->len && (rc = helper_send_once(h, &h->queue[h->head])) == 0)
		h->head++;
	if (h->head == h->len)
		h->head = h->len = 0;
	return rc == EPIPE ? EPIPE : 0;
}

static int helper_grow(struct nft_helper *h)
{
	size_t cap = h->cap ? h->cap * 2 : 1024;
	struct nft_cmd *q;

	if (h->head > 0) { /* room at the front first */
		memmove(h->queue, h->queue + h->head, (h->len - h->head) * sizeof(*q));
		h->len -= h->head;
		h->head = 0;
		if (h->len < h->cap)
			return 0;
	}
	if (cap > NFT_QUEUE_MAX)
		cap = NFT_QUEUE_MAX;
	if (cap <= h->cap)
		return ENOSPC;
	q = realloc(h->queue, cap * sizeof(*q));
	if (!q)
		return ENOSPC;
	h->queue = q;
	h->cap = cap;
	return 0;
}

int nft_helper_queue(struct nft_helper *h, const struct nft_cmd *c)
{
	char msg[NFT_CMD_MAX + 1];

	if (nft_cmd_format(c, msg, sizeof(msg)) == 0)
		return EINVAL;
	if (h->len == h->cap && helper_grow(h) != 0)
		return ENOSPC;
	h->queue[h->len++] = *c;
	return nft_helper_pump(h);
}

void nft_helper_discard(struct nft_helper *h)
{
	h->head = h->len = 0;
}

size_t nft_helper_pending(const struct nft_helper *h)
{
	return h->len - h->head;
}
