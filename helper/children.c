/*
 * children.c — the helper's children once started: moving their stream
 * bytes to and from the relay under credit, reaping them, and reporting
 * EXIT only after every byte they wrote has been queued before it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

struct child *child_find(struct helper *h, uint32_t id)
{
	struct child *c;

	for (c = h->children; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

struct child *child_new(uint32_t id)
{
	struct child *c;
	int s;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->id = id;
	c->pid = -1;
	c->chan_fd = -1;
	for (s = 0; s < CPR_NSTREAMS; s++) {
		c->out[s].fd = -1;
		c->out[s].credit = CPR_WINDOW;
		/* Only the channel is always there; spawn_child() opens piped stdio. */
		c->out[s].ended = s != CPR_CHANNEL;
	}
	for (s = 0; s < 2; s++) {
		c->in[s].fd = -1;
		c->in[s].buf.limit = CPR_WINDOW;
	}
	return c;
}

void connect_child_init(struct child *c, int fd)
{
	/* No process: "reaped" with status 0 at once, so EXIT follows the server's EOF. */
	c->pid = -1;
	c->reaped = 1;
	c->status = 0;
	c->chan_fd = c->out[CPR_CHANNEL].fd = c->in[CPR_CHANNEL].fd = fd;
}

void child_add(struct helper *h, struct child *c)
{
	c->next = h->children;
	h->children = c;
	h->nchildren++;
}

void child_close_fds(struct child *c)
{
	int s;

	for (s = 0; s < CPR_NSTREAMS; s++) {
		if (c->out[s].fd >= 0 && c->out[s].fd != c->chan_fd)
			close(c->out[s].fd);
		c->out[s].fd = -1;
	}
	if (c->in[CPR_STDIN].fd >= 0)
		close(c->in[CPR_STDIN].fd);
	c->in[CPR_STDIN].fd = -1;
	if (c->chan_fd >= 0)
		close(c->chan_fd);
	c->chan_fd = c->in[CPR_CHANNEL].fd = -1;
}

void child_free(struct child *c)
{
	int s;

	if (c == NULL)
		return;
	child_close_fds(c);
	for (s = 0; s < 2; s++)
		cpr_buf_free(&c->in[s].buf);
	free(c);
}

/* The EXIT (or REAPED) payload for wait status ST. */
static void status_payload(int st, uint8_t p[4])
{
	p[0] = CPR_EXITED;
	p[1] = p[2] = p[3] = 0;
	if (WIFSIGNALED(st)) {
		p[0] = CPR_SIGNALED;
		p[1] = (uint8_t)cpr_signal_to_wire(WTERMSIG(st));
#ifdef WCOREDUMP
		p[2] = WCOREDUMP(st) ? 1 : 0;
#endif
	} else {
		p[1] = (uint8_t)WEXITSTATUS(st);
	}
}

/*
 * A child reaped while processes it left behind still hold its output:
 * its EXIT waits for them, so a relay that takes it is told now (the
 * caller may then stop waiting for them).  Only a notice: losing it to a
 * full buffer costs nothing but the early word.
 */
static void reaped_notice(struct helper *h, struct child *c)
{
	uint8_t p[4];

	if (!(h->relay_caps & CPR_CAP_REAPED) ||
	    (c->out[CPR_CHANNEL].ended && c->out[CPR_STDOUT].ended && c->out[CPR_STDERR].ended))
		return;
	status_payload(c->status, p);
	(void)cpr_frame_append(&h->out, CPR_REAPED, 0, c->id, p, sizeof(p));
}

void children_reap(struct helper *h)
{
	struct child *c;
	pid_t pid;
	int st;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		for (c = h->children; c != NULL; c = c->next) {
			if (c->pid == pid && !c->reaped) {
				c->reaped = 1;
				c->status = st;
				reaped_notice(h, c);
				break;
			}
		}
	}
}

/* The stream ended on the child's side: say so, and stop watching it. */
static int out_end(struct helper *h, struct child *c, int s)
{
	struct outstream *o = &c->out[s];

	/* The channel's fd stays open: the relay may still write into it. */
	if (o->fd != c->chan_fd)
		close(o->fd);
	o->fd = -1;
	o->ended = 1;
	return cpr_frame_append(&h->out, CPR_EOF, (uint8_t)s, c->id, NULL, 0);
}

int child_read(struct helper *h, struct child *c, int s)
{
	struct outstream *o = &c->out[s];
	uint8_t data[CPR_MAX_DATA];
	size_t want;
	ssize_t n;
	int r;

	while (o->fd >= 0 && o->credit > 0 && cpr_buf_len(&h->out) < HELPER_OUT_HIGH) {
		want = o->credit < sizeof(data) ? o->credit : sizeof(data);
		n = read(o->fd, data, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		/* A reset socket or a read error ends the stream as EOF does. */
		if (n <= 0)
			return out_end(h, c, s);
		if ((r = cpr_frame_append(&h->out, CPR_DATA, (uint8_t)s, c->id, data, (uint32_t)n)) < 0)
			return r;
		o->credit -= (uint32_t)n;
		/* A short read means the fd is drained for now; spare a read that would say EAGAIN. */
		if ((size_t)n < want)
			return 0;
	}
	return 0;
}

/* Hands credit for the bytes written on back to the relay. */
static int in_credit(struct helper *h, struct child *c, int s, int force)
{
	struct instream *in = &c->in[s];
	int r;

	if (in->unacked == 0 || (!force && in->unacked < HELPER_CREDIT_BATCH))
		return 0;
	r = cpr_frame_append_u32(&h->out, CPR_CREDIT, (uint8_t)s, c->id, in->unacked);
	if (r == 0)
		in->unacked = 0;
	return r;
}

/* The relay's EOF has been reached: the child sees its end of input. */
static void in_close(struct child *c, int s)
{
	struct instream *in = &c->in[s];

	if (in->fd < 0)
		return;
	if (s == CPR_CHANNEL)
		shutdown(in->fd, SHUT_WR); /* half-close; the other way goes on */
	else
		close(in->fd);
	in->fd = -1;
}

/*
 * The relay's EOF on a stream was reached.  A terminal has no end of
 * input but its EOF character (Ctrl-D), which is what a program reading
 * it takes for one: `printf 'cmd\n' | cprun -tt HOST sh` ends.
 */
static void in_eof_reached(struct child *c, int s)
{
	struct termios t;
	char eof;

	if (c->tty && s == CPR_STDIN && c->in[s].fd >= 0 && tcgetattr(c->in[s].fd, &t) == 0 &&
	    t.c_cc[VEOF] != _POSIX_VDISABLE) {
		eof = (char)t.c_cc[VEOF];
		(void)write(c->in[s].fd, &eof, 1);
	}
	in_close(c, s);
}

/* The child no longer reads this stream: drop what waits, and credit it so the relay never stalls. */
static void in_break(struct child *c, int s)
{
	struct instream *in = &c->in[s];

	in->unacked += (uint32_t)cpr_buf_len(&in->buf);
	cpr_buf_free(&in->buf);
	in->broken = 1;
	in_close(c, s);
}

int child_write(struct helper *h, struct child *c, int s)
{
	struct instream *in = &c->in[s];
	ssize_t n;
	int r;

	while (in->fd >= 0 && cpr_buf_len(&in->buf) > 0) {
		if (s == CPR_CHANNEL)
			n = send(in->fd, cpr_buf_peek(&in->buf), cpr_buf_len(&in->buf), MSG_NOSIGNAL);
		else
			n = write(in->fd, cpr_buf_peek(&in->buf), cpr_buf_len(&in->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			in_break(c, s);
			break;
		}
		cpr_buf_consume(&in->buf, (size_t)n);
		in->unacked += (uint32_t)n;
		if ((r = in_credit(h, c, s, 0)) < 0)
			return r;
	}
	if (cpr_buf_len(&in->buf) == 0) {
		if (in->eof)
			in_eof_reached(c, s);
		return in_credit(h, c, s, 0);
	}
	return 0;
}

int child_input(struct helper *h, struct child *c, int s, const uint8_t *p, uint32_t len)
{
	struct instream *in = &c->in[s];
	int r;

	if ((uint64_t)cpr_buf_len(&in->buf) + in->unacked + len > CPR_WINDOW)
		return -EPROTO;
	/* Nobody reads it (not piped, closed, or EOF already said): keep the relay going. */
	if (in->fd < 0 || in->broken || in->eof) {
		in->unacked += len;
		return in_credit(h, c, s, 1);
	}
	if ((r = cpr_buf_append(&in->buf, p, len)) < 0)
		return r;
	/* Write at once: most of the time the child's fd takes it all without a poll round. */
	return child_write(h, c, s);
}

void child_input_eof(struct helper *h, struct child *c, int s)
{
	struct instream *in = &c->in[s];

	in->eof = 1;
	if (cpr_buf_len(&in->buf) == 0)
		in_eof_reached(c, s);
}

void child_output_gone(struct helper *h, struct child *c, int s)
{
	struct outstream *o = &c->out[s];

	/* Our end was the last read end: the child's next write gets EPIPE, or SIGPIPE kills it. */
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->ended = 1;
	outq_drop_data(h, c->id, s);
}

int child_tty_finish(struct helper *h, struct child *c)
{
	struct outstream *o = &c->out[CPR_STDOUT];
	struct pollfd pfd;
	int r;

	if (!c->tty || !c->reaped || o->fd < 0 || o->credit == 0 || cpr_buf_len(&h->out) >= HELPER_OUT_HIGH)
		return 0;
	if ((r = child_read(h, c, CPR_STDOUT)) < 0 || o->fd < 0)
		return r;
	pfd = (struct pollfd){ .fd = o->fd, .events = POLLIN };
	/*
	 * More to read, or no one holds the slave any more (POLLHUP): the
	 * next turns read on to the end of file, which comes only once the
	 * kernel has handed over all the program wrote.  Only a terminal that
	 * something left behind still holds is hung up here.
	 */
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP)))
		return 0;
	if (o->credit == 0)
		return 0;
	/* Closing every master fd hangs the terminal up: what is left on it gets SIGHUP. */
	in_close(c, CPR_STDIN);
	if ((r = out_end(h, c, CPR_STDOUT)) < 0)
		return r;
	/*
	 * The session is over, as sshd ends it: what was left behind may hold
	 * the channel too, and EXIT would wait for it.  What it has written
	 * so far is sent (as credit allows), then the channel ends here.
	 */
	if (c->out[CPR_CHANNEL].fd >= 0 && (r = child_read(h, c, CPR_CHANNEL)) < 0)
		return r;
	if (c->out[CPR_CHANNEL].fd >= 0)
		return out_end(h, c, CPR_CHANNEL);
	return 0;
}

void child_tty_resize(struct child *c, const struct winsize *ws)
{
	/* The kernel tells the terminal's foreground job by SIGWINCH. */
	if (c->tty && c->out[CPR_STDOUT].fd >= 0)
		(void)ioctl(c->out[CPR_STDOUT].fd, TIOCSWINSZ, ws);
}

/* Queues C's EXIT frame from its wait status. */
static int exit_frame(struct helper *h, struct child *c)
{
	uint8_t p[4];

	status_payload(c->status, p);
	return cpr_frame_append(&h->out, CPR_EXIT, 0, c->id, p, sizeof(p));
}

int children_finish(struct helper *h)
{
	struct child **pp = &h->children, *c;
	int r;

	while ((c = *pp) != NULL) {
		if ((r = child_tty_finish(h, c)) < 0)
			return r;
		if (!c->reaped || !c->out[CPR_CHANNEL].ended || !c->out[CPR_STDOUT].ended ||
		    !c->out[CPR_STDERR].ended) {
			pp = &c->next;
			continue;
		}
		if ((r = exit_frame(h, c)) < 0)
			return r;
		*pp = c->next;
		h->nchildren--;
		child_free(c);
	}
	return 0;
}
