/*
 * main.c — cpremote-helper, run by sshd as the SSH exec command.  Speaks
 * the cp-remote protocol (doc/PROTOCOL.md) with the relay on fd 0 (frames
 * in) and fd 1 (frames out); fd 2 carries diagnostics only.  One poll()
 * loop serves all children; when the relay goes away the children's
 * process groups get SIGTERM, then SIGKILL after a grace period.
 *
 * Usage: cpremote-helper  (no arguments)
 * Exit: 0 after the relay closed the connection and the children ended;
 * 1 on a bad hello (wrong program or protocol version) or a setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/* After the SIGKILL, how long to wait for processes that do not go away (e.g. stuck in I/O). */
#define KILL_WAIT_MS 2000

/*
 * Reads from the relay and acts on every whole frame (frame.c).  Returns
 * 0, or < 0 when the connection is gone (EOF, error, protocol violation,
 * bad hello: h->bad_hello says which of the last).
 */
static int read_relay(struct helper *h, struct cpr_buf *in)
{
	uint8_t chunk[64 * 1024];
	size_t room = in->limit - cpr_buf_len(in);
	ssize_t n;
	int r;

	if (room > sizeof(chunk))
		room = sizeof(chunk);
	do
		n = read(0, chunk, room);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		r = n < 0 ? -errno : -EPIPE;
		if (!h->hello_done && (n < 0 || cpr_buf_len(in) > 0)) {
			helper_warn("the connection closed before the relay's hello");
			h->bad_hello = 1;
		}
		return r;
	}
	if ((r = cpr_buf_append(in, chunk, (size_t)n)) < 0)
		return r;
	return helper_input(h, in);
}

/* What a pollfd of a child stands for. */
struct slot {
	struct child *c;
	int stream;
};

/* The poll set of one loop turn, and what each entry stands for. */
struct pollset {
	struct pollfd *pfds;
	struct slot *slots;
	size_t n, cap;
};

/* Adds FD to the poll set when there is something to wait for.  0, or -ENOMEM. */
static int watch(struct pollset *ps, int fd, short ev, struct child *c, int stream)
{
	struct pollfd *np;
	struct slot *ns;
	size_t ncap;

	if (fd < 0 || ev == 0)
		return 0;
	if (ps->n == ps->cap) {
		ncap = ps->cap ? ps->cap * 2 : 16;
		if ((np = realloc(ps->pfds, ncap * sizeof(*np))) == NULL)
			return -ENOMEM;
		ps->pfds = np;
		if ((ns = realloc(ps->slots, ncap * sizeof(*ns))) == NULL)
			return -ENOMEM;
		ps->slots = ns;
		ps->cap = ncap;
	}
	ps->pfds[ps->n] = (struct pollfd){ .fd = fd, .events = ev };
	ps->slots[ps->n] = (struct slot){ .c = c, .stream = stream };
	ps->n++;
	return 0;
}

/* Drains the signalfd.  Returns 1 when the helper was told to end (TERM, HUP, INT). */
static int read_signals(int sfd)
{
	struct signalfd_siginfo si;
	int stop = 0;
	ssize_t n;

	while ((n = read(sfd, &si, sizeof(si))) == (ssize_t)sizeof(si) || (n < 0 && errno == EINTR))
		if (n > 0 && si.ssi_signo != SIGCHLD)
			stop = 1;
	return stop;
}

/* Milliseconds poll() may wait before the relay's silence means a lost link; -1: forever. */
static int silence_timeout(const struct helper *h)
{
	long left;

	if (h->silence_limit_ms <= 0)
		return -1;
	left = h->last_heard_ms + h->silence_limit_ms - helper_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Adds C's fds that have something to wait for.  0, or -ENOMEM. */
static int watch_child(struct pollset *ps, struct child *c, int room)
{
	int rd, i, r;
	short ev;

	rd = room && c->out[CPR_CHANNEL].fd >= 0 && c->out[CPR_CHANNEL].credit > 0;
	ev = (short)((rd ? POLLIN : 0) |
		     (c->in[CPR_CHANNEL].fd >= 0 && cpr_buf_len(&c->in[CPR_CHANNEL].buf) ? POLLOUT : 0));
	if ((r = watch(ps, c->chan_fd, ev, c, CPR_CHANNEL)) < 0)
		return r;
	for (i = CPR_STDOUT; i <= CPR_STDERR; i++) {
		rd = room && c->out[i].credit > 0;
		if ((r = watch(ps, c->out[i].fd, rd ? POLLIN : 0, c, i)) < 0)
			return r;
	}
	ev = cpr_buf_len(&c->in[CPR_STDIN].buf) ? POLLOUT : 0;
	return watch(ps, c->in[CPR_STDIN].fd, ev, c, CPR_STDIN);
}

/* Fills PS for one turn: the signalfd, the relay both ways, every child.  0, or -ENOMEM. */
static int build_pollset(struct helper *h, struct pollset *ps, int sfd)
{
	int room = cpr_buf_len(&h->out) < HELPER_OUT_HIGH;
	struct child *c;
	int r;

	ps->n = 0;
	if ((r = watch(ps, sfd, POLLIN, NULL, -1)) < 0 ||
	    /* Always read the relay: what it sends is bounded by credit, and an unread PING would look like a frozen link. */
	    (r = watch(ps, 0, POLLIN, NULL, -1)) < 0 ||
	    (r = watch(ps, 1, cpr_buf_len(&h->out) ? POLLOUT : 0, NULL, -1)) < 0)
		return r;
	for (c = h->children; c != NULL; c = c->next)
		if ((r = watch_child(ps, c, room)) < 0)
			return r;
	return 0;
}

/* Moves the bytes of a ready child fd.  0, or < 0 (memory). */
static int child_ready(struct helper *h, const struct pollfd *pfd, const struct slot *sl)
{
	int r;

	if (sl->stream == CPR_STDIN || (sl->stream == CPR_CHANNEL && (pfd->events & POLLOUT)))
		if ((r = child_write(h, sl->c, sl->stream)) < 0)
			return r;
	if (sl->stream != CPR_STDIN && (pfd->events & POLLIN))
		if ((r = child_read(h, sl->c, sl->stream)) < 0)
			return r;
	return 0;
}

/*
 * Serves the relay until the connection is gone.  Returns 0, or 1 when
 * the relay's hello was wrong.
 */
static int serve(struct helper *h, int sfd)
{
	struct cpr_buf in = { .limit = CPR_HEADER_LEN + CPR_MAX_SPAWN };
	struct pollset ps = { 0 };
	size_t i;
	int k;

	for (;;) {
		if (build_pollset(h, &ps, sfd) < 0)
			goto nomem;
		if ((k = poll(ps.pfds, ps.n, silence_timeout(h))) < 0) {
			if (errno == EINTR)
				continue;
			helper_warn("poll: %s", strerror(errno));
			goto out;
		}
		if (k == 0 && silence_timeout(h) == 0) {
			/* A frozen link: sshd would keep our children forever. */
			helper_warn("nothing from the relay for %ld s: the link is lost",
				    h->silence_limit_ms / 1000);
			goto out;
		}
		for (i = 0; i < ps.n; i++) {
			if (ps.pfds[i].revents == 0)
				continue;
			if (ps.pfds[i].fd == sfd) {
				if (read_signals(sfd))
					goto out;
				children_reap(h);
			} else if (ps.pfds[i].fd == 0) {
				h->last_heard_ms = helper_now_ms();
				if (read_relay(h, &in) < 0)
					goto out;
			} else if (ps.pfds[i].fd == 1) {
				if (outq_flush(h) < 0)
					goto out;
			} else if (child_ready(h, &ps.pfds[i], &ps.slots[i]) < 0) {
				goto nomem;
			}
		}
		if (children_finish(h) < 0)
			goto nomem;
		/* Most writes to the relay succeed at once; no need to wait a poll round for them. */
		if (outq_flush(h) < 0)
			goto out;
	}
nomem:
	helper_warn("out of memory");
out:
	free(ps.pfds);
	free(ps.slots);
	cpr_buf_free(&in);
	return h->bad_hello;
}

/* Whether anything of C's may still run: the child itself, or others in its group. */
static int child_alive(struct child *c)
{
	/* A connection (pid -1) has no process: kill(1, ...) must never happen. */
	return c->pid > 0 && (!c->reaped || kill(-c->pid, 0) == 0);
}

/*
 * The relay is gone: SIGTERM to every child's process group, SIGKILL to
 * those still there after the grace period, then reap.
 */
static void end_children(struct helper *h, int sfd)
{
	long deadline = helper_now_ms() + helper_grace_ms(), kill_deadline = 0, wait;
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	struct child *c;
	int alive;

	for (c = h->children; c != NULL; c = c->next) {
		/* Closing our ends first: a child blocked writing a full pipe sees EPIPE, not a hang. */
		child_close_fds(c);
		if (c->pid <= 0)
			continue; /* a connection: closing it was all */
		kill(-c->pid, SIGTERM);
		if (!c->reaped)
			kill(c->pid, SIGTERM); /* in case it left its group */
	}
	for (;;) {
		children_reap(h);
		alive = 0;
		for (c = h->children; c != NULL; c = c->next)
			alive |= child_alive(c);
		if (!alive)
			break;
		if (kill_deadline == 0 && helper_now_ms() >= deadline) {
			for (c = h->children; c != NULL; c = c->next) {
				if (c->pid <= 0)
					continue;
				kill(-c->pid, SIGKILL);
				if (!c->reaped)
					kill(c->pid, SIGKILL);
			}
			kill_deadline = helper_now_ms() + KILL_WAIT_MS;
		}
		if (kill_deadline != 0 && helper_now_ms() >= kill_deadline) {
			helper_warn("some children did not end after SIGKILL");
			break;
		}
		/* Short waits: a group's other members end without any SIGCHLD for us. */
		wait = (kill_deadline ? kill_deadline : deadline) - helper_now_ms();
		if (wait > 50)
			wait = 50;
		if (wait < 0)
			wait = 0;
		if (poll(&pfd, 1, (int)wait) > 0)
			read_signals(sfd);
	}
	while ((c = h->children) != NULL) {
		h->children = c->next;
		child_free(c);
	}
}

/*
 * Leaves fds 0-2 taken (else a pipe made later could land there and be
 * clobbered in a child) and nothing else open: whatever sshd or a test
 * harness left us must not leak into the children.
 */
static int tidy_fds(void)
{
	struct rlimit rl;
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd < 0)
		return -errno;
	close(fd);
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return 0;
	/* Kernels before 5.9: one close per possible fd, bounded. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (fd = 3; fd < (int)rl.rlim_cur; fd++)
		close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct helper h = { .spawn = spawn_child, .connect = connect_socket_file };
	sigset_t mask;
	int sfd = -1, r = 1, e;

	if (argc > 1) {
		fprintf(stderr,
			"usage: cpremote-helper\n"
			"  (run by the cp-remote relay over SSH; speaks its protocol on stdin/stdout)\n");
		return 1;
	}
	if ((e = tidy_fds()) < 0) {
		helper_warn("/dev/null: %s", strerror(-e));
		goto out;
	}
	/* Many children, several fds each: the soft limit (often 1024) would be reached first. */
	if ((e = helper_nofile_raise()) < 0)
		helper_warn("cannot raise the fd limit: %s", strerror(-e));
	/* A relay gone away must show as EPIPE on fd 1, not kill us before we end the children. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		helper_warn("signalfd: %s", strerror(errno));
		goto out;
	}
	if ((e = helper_set_nonblock(0)) < 0 || (e = helper_set_nonblock(1)) < 0) {
		helper_warn("fcntl: %s", strerror(-e));
		goto out;
	}
	if (outq_hello(&h) < 0)
		goto out;
	r = serve(&h, sfd);
	end_children(&h, sfd);
out:
	cpr_buf_free(&h.out);
	if (sfd >= 0)
		close(sfd);
	return r;
}
