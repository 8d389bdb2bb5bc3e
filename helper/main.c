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
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

void helper_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("cpremote-helper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Writes what the output queue holds to the relay.  Returns -1 when the relay is gone. */
static int flush_out(struct helper *h)
{
	ssize_t n;

	while (cpr_buf_len(&h->out) > 0) {
		n = write(1, cpr_buf_peek(&h->out), cpr_buf_len(&h->out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		cpr_buf_consume(&h->out, (size_t)n);
	}
	return 0;
}

/* Queues ERROR for a SPAWN that failed at STAGE with errno ERR. */
static int send_spawn_error(struct helper *h, uint32_t id, const char *file, int stage, int err)
{
	static const char *stages[] = { "", "setup", "chdir", "exec" };
	struct cpr_buf p = { 0 };
	char msg[512];
	int r = -1;

	snprintf(msg, sizeof(msg), "%.300s: %s: %s", file ? file : "(no program)",
		 stage >= 1 && stage <= 3 ? stages[stage] : "spawn", strerror(err));
	if (cpr_field_put_u32(&p, CPR_F_CODE, (uint32_t)stage) < 0 ||
	    cpr_field_put_u32(&p, CPR_F_ERRNO, (uint32_t)err) < 0 ||
	    cpr_field_put_str(&p, CPR_F_MESSAGE, msg) < 0)
		goto out;
	r = cpr_frame_append(&h->out, CPR_ERROR, 0, id, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
out:
	cpr_buf_free(&p);
	return r;
}

/* SPAWN: start the program, answer SPAWNED or ERROR.  -1 only when memory ran out. */
static int on_spawn(struct helper *h, uint32_t id, const uint8_t *p, uint32_t len)
{
	struct spawn_req req;
	struct child *c = NULL;
	int stage = CPR_STAGE_SETUP, r = -1;

	if (id == 0 || child_find(h, id) != NULL) {
		helper_warn("SPAWN for child id %u that is in use; ignored", id);
		return 0;
	}
	if (spawn_req_parse(p, len, &req) < 0 || (c = child_new(id)) == NULL ||
	    spawn_child(&req, c, &stage) < 0) {
		r = send_spawn_error(h, id, req.file, stage, errno);
		goto out;
	}
	child_add(h, c);
	c = NULL;
	r = cpr_frame_append_u32(&h->out, CPR_SPAWNED, 0, id, (uint32_t)h->children->pid);
out:
	child_free(c);
	spawn_req_free(&req);
	return r;
}

/* Acts on one frame from the relay.  Returns -1 when the link must end. */
static int on_frame(struct helper *h, const struct cpr_header *f, const uint8_t *p)
{
	struct child *c;
	uint64_t credit;
	int sig;

	if (f->type == CPR_SPAWN)
		return on_spawn(h, f->child, p, f->length);
	/* The relay's keepalive: proof that the link and the helper still work. */
	if (f->type == CPR_PING) {
		if (f->length >= 8)
			h->silence_limit_ms = 1000L * cpr_get_u32(p + 4);
		return cpr_frame_append(&h->out, CPR_PONG, 0, 0, p, f->length);
	}
	/* Frames for an unknown child crossed its EXIT (or are stray): ignored. */
	if ((c = child_find(h, f->child)) == NULL)
		return 0;
	switch (f->type) {
	case CPR_DATA:
		if (f->stream != CPR_CHANNEL && f->stream != CPR_STDIN)
			return 0;
		if (child_input(h, c, f->stream, p, f->length) < 0) {
			helper_warn("child %u: DATA beyond the credit on stream %u", c->id, f->stream);
			return -1;
		}
		return 0;
	case CPR_EOF:
		if (f->stream == CPR_CHANNEL || f->stream == CPR_STDIN)
			child_input_eof(h, c, f->stream);
		return 0;
	case CPR_CREDIT:
		if (f->length != 4 || f->stream == CPR_STDIN)
			return 0;
		credit = (uint64_t)c->out[f->stream].credit + cpr_get_u32(p);
		c->out[f->stream].credit = credit > UINT32_MAX ? UINT32_MAX : (uint32_t)credit;
		return 0;
	case CPR_SIGNAL:
		if (f->length != 4 || c->reaped)
			return 0;
		if ((sig = cpr_signal_from_wire(cpr_get_u32(p))) != 0)
			kill(c->pid, sig);
		return 0;
	default:
		/* SPAWNED, ERROR and EXIT only travel the other way. */
		return 0;
	}
}

/*
 * Reads from the relay and acts on every whole frame.  Returns 0, or -1
 * when the connection is gone (EOF, error, protocol violation, bad hello;
 * *bad_hello says which of the last).
 */
static int read_relay(struct helper *h, struct cpr_buf *in, int *hello_done, int *bad_hello)
{
	uint8_t chunk[64 * 1024];
	const uint8_t *payload;
	struct cpr_header f;
	size_t room = in->limit - cpr_buf_len(in);
	ssize_t n;

	if (room > sizeof(chunk))
		room = sizeof(chunk);
	do
		n = read(0, chunk, room);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		if (!*hello_done && (n < 0 || cpr_buf_len(in) > 0)) {
			helper_warn("the connection closed before the relay's hello");
			*bad_hello = 1;
		}
		return -1;
	}
	if (cpr_buf_append(in, chunk, (size_t)n) < 0)
		return -1;
	if (!*hello_done) {
		if (cpr_buf_len(in) < CPR_HELLO_LEN)
			return 0;
		*bad_hello = 1;
		if (memcmp(cpr_buf_peek(in), CPR_MAGIC, CPR_MAGIC_LEN) != 0) {
			helper_warn("no cp-remote hello from the relay");
			return -1;
		}
		if (cpr_buf_peek(in)[CPR_MAGIC_LEN] != CPR_VERSION) {
			helper_warn("the relay speaks protocol version %u, this helper version %u",
				    cpr_buf_peek(in)[CPR_MAGIC_LEN], CPR_VERSION);
			return -1;
		}
		*bad_hello = 0;
		*hello_done = 1;
		h->relay_caps = cpr_get_u32(cpr_buf_peek(in) + 12);
		cpr_buf_consume(in, CPR_HELLO_LEN);
	}
	for (;;) {
		n = cpr_frame_next(cpr_buf_peek(in), cpr_buf_len(in), &f, &payload);
		if (n == 0)
			return 0;
		if (n < 0) {
			helper_warn("protocol violation: bad frame header from the relay");
			return -1;
		}
		if (on_frame(h, &f, payload) < 0)
			return -1;
		cpr_buf_consume(in, (size_t)n);
	}
}

/* What a pollfd of a child stands for. */
struct slot {
	struct child *c;
	int stream;
};

/* Adds fd to the poll set when there is something to wait for. */
static int watch(struct pollfd **pfds, struct slot **slots, size_t *n, size_t *cap, int fd, short ev,
		 struct child *c, int stream)
{
	struct pollfd *np;
	struct slot *ns;
	size_t ncap;

	if (fd < 0 || ev == 0)
		return 0;
	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if ((np = realloc(*pfds, ncap * sizeof(*np))) == NULL)
			return -1;
		*pfds = np;
		if ((ns = realloc(*slots, ncap * sizeof(*ns))) == NULL)
			return -1;
		*slots = ns;
		*cap = ncap;
	}
	(*pfds)[*n] = (struct pollfd){ .fd = fd, .events = ev };
	(*slots)[*n] = (struct slot){ .c = c, .stream = stream };
	(*n)++;
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

/*
 * Serves the relay until the connection is gone.  Returns 0, or 1 when
 * the relay's hello was wrong.
 */
static int serve(struct helper *h, int sfd)
{
	struct cpr_buf in = { .limit = CPR_HEADER_LEN + CPR_MAX_SPAWN };
	struct pollfd *pfds = NULL;
	struct slot *slots = NULL;
	size_t n, cap = 0, i;
	int hello_done = 0, bad_hello = 0, room, rd, r = 0, k;
	struct child *c;
	short ev;

	for (;;) {
		n = 0;
		room = cpr_buf_len(&h->out) < HELPER_OUT_HIGH;
		if (watch(&pfds, &slots, &n, &cap, sfd, POLLIN, NULL, -1) < 0 ||
		    /*
		     * Always read the relay: what it sends is bounded by credit, and
		     * an unread PING would look like a frozen link.
		     */
		    watch(&pfds, &slots, &n, &cap, 0, POLLIN, NULL, -1) < 0 ||
		    watch(&pfds, &slots, &n, &cap, 1, cpr_buf_len(&h->out) ? POLLOUT : 0, NULL, -1) < 0)
			goto nomem;
		for (c = h->children; c != NULL; c = c->next) {
			rd = room && c->out[CPR_CHANNEL].fd >= 0 && c->out[CPR_CHANNEL].credit > 0;
			ev = (short)((rd ? POLLIN : 0) |
				     (c->in[CPR_CHANNEL].fd >= 0 && cpr_buf_len(&c->in[CPR_CHANNEL].buf)
					      ? POLLOUT
					      : 0));
			if (watch(&pfds, &slots, &n, &cap, c->chan_fd, ev, c, CPR_CHANNEL) < 0)
				goto nomem;
			for (i = CPR_STDOUT; i <= CPR_STDERR; i++) {
				rd = room && c->out[i].credit > 0;
				if (watch(&pfds, &slots, &n, &cap, c->out[i].fd, rd ? POLLIN : 0, c, (int)i) <
				    0)
					goto nomem;
			}
			ev = cpr_buf_len(&c->in[CPR_STDIN].buf) ? POLLOUT : 0;
			if (watch(&pfds, &slots, &n, &cap, c->in[CPR_STDIN].fd, ev, c, CPR_STDIN) < 0)
				goto nomem;
		}
		if ((k = poll(pfds, n, silence_timeout(h))) < 0) {
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
		for (i = 0; i < n; i++) {
			if (pfds[i].revents == 0)
				continue;
			if (pfds[i].fd == sfd) {
				if (read_signals(sfd))
					goto out;
				children_reap(h);
			} else if (pfds[i].fd == 0) {
				h->last_heard_ms = helper_now_ms();
				if (read_relay(h, &in, &hello_done, &bad_hello) < 0) {
					r = bad_hello;
					goto out;
				}
			} else if (pfds[i].fd == 1) {
				if (flush_out(h) < 0)
					goto out;
			} else {
				c = slots[i].c;
				if (slots[i].stream == CPR_STDIN ||
				    (slots[i].stream == CPR_CHANNEL && (pfds[i].events & POLLOUT))) {
					if (child_write(h, c, slots[i].stream) < 0)
						goto nomem;
				}
				if (slots[i].stream != CPR_STDIN && (pfds[i].events & POLLIN)) {
					if (child_read(h, c, slots[i].stream) < 0)
						goto nomem;
				}
			}
		}
		if (children_finish(h) < 0)
			goto nomem;
		/* Most writes to the relay succeed at once; no need to wait a poll round for them. */
		if (flush_out(h) < 0)
			goto out;
	}
nomem:
	helper_warn("out of memory");
out:
	free(pfds);
	free(slots);
	cpr_buf_free(&in);
	return r;
}

/* Whether anything of C's may still run: the child itself, or others in its group. */
static int child_alive(struct child *c)
{
	return !c->reaped || kill(-c->pid, 0) == 0;
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
		return -1;
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
	struct helper h = { 0 };
	uint8_t hello[CPR_HELLO_LEN];
	sigset_t mask;
	int sfd = -1, r = 1;

	if (argc > 1) {
		fprintf(stderr,
			"usage: cpremote-helper\n"
			"  (run by the cp-remote relay over SSH; speaks its protocol on stdin/stdout)\n");
		return 1;
	}
	if (tidy_fds() < 0) {
		helper_warn("/dev/null: %s", strerror(errno));
		goto out;
	}
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
	if (helper_set_nonblock(0) < 0 || helper_set_nonblock(1) < 0) {
		helper_warn("fcntl: %s", strerror(errno));
		goto out;
	}
	cpr_hello_encode(hello, 0);
	if (cpr_buf_append(&h.out, hello, sizeof(hello)) < 0)
		goto out;
	r = serve(&h, sfd);
	end_children(&h, sfd);
out:
	cpr_buf_free(&h.out);
	if (sfd >= 0)
		close(sfd);
	return r;
}
