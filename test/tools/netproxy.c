/*
 * netproxy.c — a userspace TCP forwarder put in front of a test host's sshd
 * to emulate what this kernel cannot (it has no netem): link latency, a
 * link cut abruptly, and a link that freezes.  Test-only; loopback only.
 *
 * Usage: netproxy [-d MS] [-c FIFO] LISTEN_ADDR[:PORT] TARGET_ADDR:PORT
 *
 * Listens on LISTEN_ADDR:PORT (PORT 0 or none: the kernel picks one) and
 * prints "PORT\n" on stdout once it accepts connections.  Every accepted
 * connection is forwarded to TARGET.  Both addresses must be IPv4 loopback
 * (127.0.0.0/8): the tool refuses anything else.
 *
 * Commands, one a line, on the control FIFO (-c; created when missing):
 *   delay MS   hold every byte MS milliseconds in each direction before
 *              passing it on (round trip 2*MS); applies to bytes read from
 *              then on.  -d MS sets it from the start.
 *   cut        close every forwarded connection at once, both sides, with
 *              a TCP reset (SO_LINGER 0); new connections are still accepted.
 *   freeze     stop moving bytes on every connection, old and new, without
 *              closing anything (a black hole: the kernel's buffers fill).
 *   thaw       resume after freeze.
 *   quit       exit.
 * Signals: SIGUSR1 = cut, SIGUSR2 = freeze, SIGHUP = thaw, SIGTERM/SIGINT = quit.
 *
 * Delay is kept per chunk read: each chunk carries the time it arrived and
 * is written when that time plus the delay has passed (ppoll with a
 * nanosecond timeout), so a bulk stream keeps its bandwidth and gains only
 * latency.  At most QUEUE_LIMIT bytes wait per direction; past that the
 * proxy stops reading, which pushes back on the sender through TCP.
 *
 * Exit: 0 on quit or a signal to end, 1 on a setup failure, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define USAGE "usage: netproxy [-d MS] [-c FIFO] LISTEN_ADDR[:PORT] TARGET_ADDR:PORT\n"
#define CHUNK (64 * 1024)
/* 16 MiB each way: a 20 ms round trip at ~400 MB/s needs ~8 MiB in flight. */
#define QUEUE_LIMIT (16u * 1024 * 1024)
#define MAX_CONNS 512

/* Bytes read from one side, due to be written to the other at DUE_NS. */
struct chunk {
	struct chunk *next;
	int64_t due_ns;
	size_t len, off; /* len 0: the reader's EOF, to be passed on as a half-close */
	char data[];
};

/* One direction of a forwarded connection. */
struct dir {
	int from, to; /* indexes into the pair's fds */
	struct chunk *head, *tail;
	size_t queued;
	int read_eof; /* EOF read from the source */
	int done; /* EOF passed on */
};

struct pair {
	int fd[2]; /* 0 accepted (client side), 1 towards the target */
	int connected; /* the target connection is established */
	struct dir d[2]; /* d[0]: client -> target, d[1]: target -> client */
};

static struct pair *pairs[MAX_CONNS];
static int64_t delay_ns;
static int frozen;

/* Parses "A.B.C.D[:PORT]" into SA; only 127.0.0.0/8.  Returns 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_in *sa, int need_port)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	char *end;
	long port = 0;

	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -1;
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
			return -1;
	}
	if (need_port && port == 0)
		return -1;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* Closes FD so that the peer sees a reset, not an orderly end. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void pair_free(int i, int reset)
{
	struct pair *p = pairs[i];
	struct chunk *c;
	int k;

	if (p == NULL)
		return;
	for (k = 0; k < 2; k++) {
		while ((c = p->d[k].head) != NULL) {
			p->d[k].head = c->next;
			free(c);
		}
		if (reset)
			close_reset(p->fd[k]);
		else if (p->fd[k] >= 0)
			close(p->fd[k]);
	}
	free(p);
	pairs[i] = NULL;
}

static void cut_all(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_CONNS; i++) {
		if (pairs[i] != NULL) {
			pair_free(i, 1);
			n++;
		}
	}
	fprintf(stderr, "netproxy: cut %d connection(s)\n", n);
}

static void accept_one(int lfd, const struct sockaddr_in *target)
{
	struct pair *p;
	int fd, t, i, one = 1;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && pairs[i] != NULL; i++)
		;
	t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	p = calloc(1, sizeof(*p));
	if (i == MAX_CONNS || t < 0 || p == NULL ||
	    (connect(t, (const struct sockaddr *)target, sizeof(*target)) < 0 && errno != EINPROGRESS)) {
		close_reset(fd);
		close_reset(t);
		free(p);
		return;
	}
	/* Small SSH packets must not wait for Nagle: the delay is ours to set. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->fd[0] = fd;
	p->fd[1] = t;
	p->d[0].from = 0;
	p->d[0].to = 1;
	p->d[1].from = 1;
	p->d[1].to = 0;
	pairs[i] = p;
}

/* Reads what one side has into its direction's queue.  Returns -1 when the pair must go. */
static int dir_read(struct pair *p, struct dir *d)
{
	struct chunk *c = malloc(sizeof(*c) + CHUNK);
	ssize_t n;

	if (c == NULL)
		return -1;
	do
		n = read(p->fd[d->from], c->data, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		free(c);
		return 0;
	}
	if (n < 0) {
		free(c);
		return -1;
	}
	if (n > 0 && (size_t)n < CHUNK / 2) {
		/* Keep small chunks small: many SSH packets are tiny. */
		struct chunk *s = realloc(c, sizeof(*c) + (size_t)n);

		if (s != NULL)
			c = s;
	}
	c->next = NULL;
	c->due_ns = fixture_now_ns() + delay_ns;
	c->len = (size_t)n;
	c->off = 0;
	if (n == 0)
		d->read_eof = 1;
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += (size_t)n;
	return 0;
}

/* Writes the chunks that are due.  Returns -1 when the pair must go. */
static int dir_write(struct pair *p, struct dir *d, int64_t now)
{
	struct chunk *c;
	ssize_t n;

	while ((c = d->head) != NULL && c->due_ns <= now) {
		if (c->len == 0) {
			shutdown(p->fd[d->to], SHUT_WR);
			d->done = 1;
		} else {
			n = send(p->fd[d->to], c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n < 0)
				return -1;
			c->off += (size_t)n;
			d->queued -= (size_t)n;
			if (c->off < c->len)
				return 0;
		}
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
	return 0;
}

/* Acts on one control line. */
static int command(char *line)
{
	char *end;
	long ms;

	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "delay ", 6) == 0) {
		ms = strtol(line + 6, &end, 10);
		if (*end != '\0' || ms < 0 || ms > 600000) {
			fprintf(stderr, "netproxy: bad delay \"%s\"\n", line + 6);
			return 0;
		}
		delay_ns = (int64_t)ms * 1000000;
	} else if (strcmp(line, "cut") == 0) {
		cut_all();
	} else if (strcmp(line, "freeze") == 0) {
		frozen = 1;
	} else if (strcmp(line, "thaw") == 0) {
		frozen = 0;
	} else if (strcmp(line, "quit") == 0) {
		return 1;
	} else if (*line != '\0') {
		fprintf(stderr, "netproxy: unknown command \"%s\"\n", line);
	}
	return 0;
}

/* Reads control lines; a partial line waits for its end.  Returns 1 on quit. */
static int read_control(int fd, char *buf, size_t *len, size_t cap)
{
	ssize_t n;
	char *nl;

	do
		n = read(fd, buf + *len, cap - 1 - *len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	*len += (size_t)n;
	buf[*len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (command(buf))
			return 1;
		*len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len + 1);
	}
	if (*len == cap - 1)
		*len = 0; /* an endless line: dropped */
	return 0;
}

/* Returns 1 when the proxy must end. */
static int read_signals(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGUSR1:
			cut_all();
			break;
		case SIGUSR2:
			frozen = 1;
			break;
		case SIGHUP:
			frozen = 0;
			break;
		default:
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in listen_sa, target_sa;
	socklen_t salen = sizeof(listen_sa);
	static struct pollfd pfd[3 + 2 * MAX_CONNS];
	static int owner[3 + 2 * MAX_CONNS];
	const char *fifo = NULL;
	char ctl[4096];
	size_t ctl_len = 0;
	sigset_t mask;
	int lfd = -1, cfd = -1, sfd = -1, opt, one = 1, i, k, n, err;
	char *end;
	long ms;

	while ((opt = getopt(argc, argv, "d:c:")) != -1) {
		switch (opt) {
		case 'd':
			ms = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || ms < 0 || ms > 600000)
				goto usage;
			delay_ns = (int64_t)ms * 1000000;
			break;
		case 'c':
			fifo = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || parse_addr(argv[optind], &listen_sa, 0) < 0 ||
	    parse_addr(argv[optind + 1], &target_sa, 1) < 0)
		goto usage;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		goto fail;
	if (fifo != NULL) {
		if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
			goto fail;
		/* Read-write: the FIFO never reports EOF when a writer goes away. */
		if ((cfd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
			goto fail;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&listen_sa, sizeof(listen_sa)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&listen_sa, &salen) < 0)
		goto fail;
	printf("%u\n", ntohs(listen_sa.sin_port));
	fflush(stdout);

	for (;;) {
		int64_t now = fixture_now_ns(), next = -1;
		struct timespec ts, *tsp = NULL;

		n = 0;
		pfd[n] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		owner[n++] = -1;
		pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		owner[n++] = -1;
		if (cfd >= 0) {
			pfd[n] = (struct pollfd){ .fd = cfd, .events = POLLIN };
			owner[n++] = -1;
		}
		for (i = 0; i < MAX_CONNS; i++) {
			struct pair *p = pairs[i];

			if (p == NULL)
				continue;
			for (k = 0; k < 2; k++) {
				short ev = 0;
				struct dir *in = &p->d[k], *out = &p->d[1 - k];

				/* fd[k] is the source of d[k] and the sink of d[1-k]. */
				if (!p->connected && k == 1)
					ev |= POLLOUT;
				else if (!p->connected)
					ev = 0;
				else if (!frozen) {
					if (!in->read_eof && in->queued < QUEUE_LIMIT)
						ev |= POLLIN;
					if (out->head != NULL && out->head->due_ns <= now)
						ev |= POLLOUT;
					if (out->head != NULL && out->head->due_ns > now &&
					    (next < 0 || out->head->due_ns < next))
						next = out->head->due_ns;
				}
				/* Nothing wanted (or frozen): not even hang-ups, or ppoll would spin. */
				pfd[n] = (struct pollfd){ .fd = ev ? p->fd[k] : -1, .events = ev };
				owner[n++] = i;
			}
		}
		if (next >= 0) {
			ts.tv_sec = (next - now) / 1000000000;
			ts.tv_nsec = (next - now) % 1000000000;
			tsp = &ts;
		}
		if (ppoll(pfd, (nfds_t)n, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		now = fixture_now_ns();
		for (i = 0; i < n; i++) {
			struct pair *p;

			if (owner[i] < 0) {
				if (pfd[i].revents == 0)
					continue;
				if (pfd[i].fd == sfd && read_signals(sfd))
					goto done;
				if (pfd[i].fd == lfd)
					accept_one(lfd, &target_sa);
				if (pfd[i].fd == cfd && read_control(cfd, ctl, &ctl_len, sizeof(ctl)))
					goto done;
				continue;
			}
			/* A cut or an earlier error may have freed it in this round. */
			if ((p = pairs[owner[i]]) == NULL || pfd[i].revents == 0)
				continue;
			k = pfd[i].fd == p->fd[0] ? 0 : 1;
			if (!p->connected) {
				if (k != 1)
					continue;
				salen = sizeof(err);
				if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &salen) < 0 ||
				    err != 0) {
					pair_free(owner[i], 1);
					continue;
				}
				p->connected = 1;
				continue;
			}
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && (pfd[i].events & POLLIN) &&
			    dir_read(p, &p->d[k]) < 0) {
				/* The source broke: pass the reset on to the other side. */
				pair_free(owner[i], 1);
				continue;
			}
			if ((pfd[i].revents & (POLLOUT | POLLERR)) && (pfd[i].events & POLLOUT) &&
			    dir_write(p, &p->d[1 - k], now) < 0) {
				pair_free(owner[i], 1);
				continue;
			}
			if (p->d[0].done && p->d[1].done)
				pair_free(owner[i], 0);
		}
	}
done:
	for (i = 0; i < MAX_CONNS; i++)
		pair_free(i, 0);
	if (fifo != NULL)
		unlink(fifo);
	return 0;
usage:
	fputs(USAGE, stderr);
	return 2;
fail:
	fprintf(stderr, "netproxy: %s\n", strerror(errno));
	return 1;
}
