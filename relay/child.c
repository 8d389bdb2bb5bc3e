/*
 * child.c — one caller's child in the relay (see child.h).  A child that
 * ends or fails is only marked dead; the sweep, run from the loop once
 * the current callbacks are over, detaches and frees it.
 *
 * Over 500 lines: the handler of each helper frame sits beside the stream
 * code it drives (credit, flushing, the finish), and the checks of a
 * hostile helper (credit above the window, frames before SPAWNED, the
 * SPAWNED deadline) belong with them; split, they would need the stream
 * internals as an interface.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "child.h"
#include "cpremote.h"
#include "rchild.h"
#include "sweep.h"
#include "tail.h"


static TAILQ_HEAD(, rchild) children = TAILQ_HEAD_INITIALIZER(children);
static struct event *sweep_ev;

static void rchild_free(struct rchild *c)
{
	if (c->conn)
		conn_detach(c->conn, c->id);
	TAILQ_REMOVE(&children, c, link);
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		if (c->rd_ev[s])
			event_free(c->rd_ev[s]);
		if (c->wr_ev[s])
			event_free(c->wr_ev[s]);
		localfd_close(&c->lfd[s]);
		cpr_buf_free(&c->out[s]);
	}
	if (c->status_ev)
		event_free(c->status_ev);
	if (c->fg_timer)
		event_free(c->fg_timer);
	if (c->confirm_ev)
		event_free(c->confirm_ev);
	fdstream_free(c);
	if (c->status_fd >= 0)
		close(c->status_fd);
	cpr_buf_free(&c->status_in);
	cpr_buf_free(&c->spawn);
	free(c->host);
	free(c->file);
	free(c);
}

/* Frees the children marked dead; run from the loop, under no other callback. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct rchild *c, *next;

	for (c = TAILQ_FIRST(&children); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->dead)
			rchild_free(c);
	}
}

void rchild_mark_dead(struct rchild *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		if (c->rd_ev[s])
			event_del(c->rd_ev[s]);
		if (c->wr_ev[s])
			event_del(c->wr_ev[s]);
	}
	fdstream_stop(c);
	if (c->status_ev)
		event_del(c->status_ev);
	if (c->fg_timer)
		event_del(c->fg_timer);
	if (c->confirm_ev)
		evtimer_del(c->confirm_ev);
	(void)sweep_soon(&sweep_ev, c->ctx->base, on_sweep);
}

/* Sends a frame on STREAM to the library.  Tiny and rare, so a full socket is not waited for. */
static void status_send_on(struct rchild *c, uint8_t type, uint8_t stream, const void *payload, uint32_t len)
{
	struct cpr_buf b = { 0 };
	size_t off = 0;

	if (c->orphan || c->status_fd < 0 || cpr_frame_append(&b, type, stream, 0, payload, len) < 0)
		goto out;
	while (off < cpr_buf_len(&b)) {
		ssize_t n = send(c->status_fd, cpr_buf_peek(&b) + off, cpr_buf_len(&b) - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
out:
	cpr_buf_free(&b);
}

static void status_send(struct rchild *c, uint8_t type, const void *payload, uint32_t len)
{
	status_send_on(c, type, 0, payload, len);
}

void rchild_fail(struct rchild *c, int code, const char *msg)
{
	if (c->dead)
		return;
	struct cpr_buf p = { 0 };

	cpr_field_put_u32(&p, CPR_F_CODE, (uint32_t)code);
	cpr_field_put_str(&p, CPR_F_MESSAGE, msg);
	status_send(c, CPR_ERROR, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
	rchild_mark_dead(c);
}

/* ---- helper -> local ---- */

static void give_credit(struct rchild *c, int s)
{
	if (c->unacked[s] < CPR_CREDIT_BATCH)
		return;
	conn_send_u32(c->conn, CPR_CREDIT, (uint8_t)s, c->id, c->unacked[s]);
	c->unacked[s] = 0;
}

static void maybe_finish(struct rchild *c);

static const char *const stream_names[CPR_NSTREAMS] = { "channel", "stdin", "stdout", "stderr" };

/*
 * Writing output stream S to the caller's fd failed with ERR: the stream
 * ends here as it would locally.  The helper gets EOF on it ("the reader
 * is gone": the remote writer gets EPIPE/SIGPIPE), the fd is closed, and
 * what comes for it is dropped and credited, so the other streams go on.
 * An error other than EPIPE (a full disk, EIO) is also told to the
 * library: an EOF frame on S carrying the errno and a message.  The
 * channel, a socket the caller may still write to, only drops its data.
 */
static void out_failed(struct rchild *c, int s, int err)
{
	struct cpr_buf p = { 0 };
	char msg[512];

	c->out_broken[s] = 1;
	if (s == CPR_CHANNEL)
		return;
	if (c->wr_ev[s])
		event_del(c->wr_ev[s]);
	localfd_close(&c->lfd[s]);
	if (!c->out_eof[s] && c->conn)
		conn_send(c->conn, CPR_EOF, (uint8_t)s, c->id, NULL, 0);
	if (err == EPIPE)
		return;
	snprintf(msg, sizeof msg, "%s: %s: %s", c->host ? c->host : "?", stream_names[s], strerror(err));
	rlog(c->ctx, 1, "%s", msg);
	if (cpr_field_put_u32(&p, CPR_F_ERRNO, (uint32_t)err) == 0 &&
	    cpr_field_put_str(&p, CPR_F_MESSAGE, msg) == 0)
		status_send_on(c, CPR_EOF, (uint8_t)s, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
}

/*
 * Writes what the helper sent for stream S to the local fd.  Once the
 * stream failed (out_failed()), its data is dropped and credited.
 */
static void flush_out(struct rchild *c, int s)
{
	struct cpr_buf *b = &c->out[s];

	while (cpr_buf_len(b) > 0) {
		ssize_t n;

		if (c->orphan || c->out_broken[s] || c->lfd[s].fd < 0) {
			n = (ssize_t)cpr_buf_len(b);
		} else {
			n = localfd_write(&c->lfd[s], cpr_buf_peek(b), cpr_buf_len(b));
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				localfd_watch(&c->lfd[s], c->wr_ev[s], EV_WRITE);
				break;
			}
			if (n < 0) {
				out_failed(c, s, errno);
				continue;
			}
		}
		cpr_buf_consume(b, (size_t)n);
		c->unacked[s] += (uint32_t)n;
	}
	give_credit(c, s);
	if (cpr_buf_len(b) == 0 && c->out_eof[s] && !c->out_done[s]) {
		c->out_done[s] = 1;
		/* A half-close for the channel: the caller may still write to it. */
		if (s == CPR_CHANNEL && c->lfd[s].fd >= 0)
			shutdown(c->lfd[s].fd, SHUT_WR);
		else
			localfd_close(&c->lfd[s]);
	}
	maybe_finish(c);
}

/* The status goes to the library only after every byte of output was handed over. */
static void maybe_finish(struct rchild *c)
{
	if (!c->exited || c->dead)
		return;
	for (int s = 0; s < CPR_NSTREAMS; s++)
		if (cpr_buf_len(&c->out[s]) > 0)
			return;
	if (fdstream_pending(c))
		return;
	status_send(c, CPR_EXIT, c->exit_info, sizeof c->exit_info);
	if (c->lfd[CPR_CHANNEL].fd >= 0)
		shutdown(c->lfd[CPR_CHANNEL].fd, SHUT_WR);
	rchild_mark_dead(c);
}

/* ---- local -> helper ---- */

/* How often a terminal stdin is checked for the caller's return to the foreground. */
static const struct timeval fg_poll = { 0, 100 * 1000 };

/*
 * A terminal is read only while the caller is its foreground job: what is
 * typed while cprun is stopped (Ctrl-Z) or in the background belongs to
 * the shell.  Otherwise stdin is not watched, and a timer checks again;
 * what waits in the terminal stays there until the caller is back.
 */
static int stdin_may_read(struct rchild *c)
{
	if (localfd_tty_foreground(&c->lfd[CPR_STDIN], c->caller_pid, c->caller_pgrp))
		return 1;
	event_del(c->rd_ev[CPR_STDIN]);
	if (c->fg_timer)
		evtimer_add(c->fg_timer, &fg_poll);
	return 0;
}

/*
 * Fds that came with the channel's bytes: each becomes an fd stream that
 * rides on the last byte of the read (the kernel ends a read after the
 * message that carried fds).  One that cannot be proxied is closed and
 * told to the caller: an EOF frame on stream 0 of the status socket with
 * ERRNO and MESSAGE (cpremote_child_errmsg()); its bytes go on without it.
 */
static void take_fds(struct rchild *c, const int *fds, int nfds, int lost, size_t n)
{
	char why[256], msg[512];
	int r;

	for (int i = 0; i < nfds + (lost ? 1 : 0); i++) {
		if (i == nfds) {
			r = -EMFILE;
			snprintf(why, sizeof why, "more than %d fds in one message: the rest were closed",
				 CPR_FDS_PER_READ);
		} else if ((r = fdstream_open(c, fds[i], c->chan_sent + n - 1, why, sizeof why)) == 0) {
			continue;
		}
		struct cpr_buf p = { 0 };

		snprintf(msg, sizeof msg, "%s: channel: fd not passed: %s", c->host ? c->host : "?", why);
		rlog(c->ctx, 1, "%s", msg);
		if (cpr_field_put_u32(&p, CPR_F_ERRNO, (uint32_t)-r) == 0 &&
		    cpr_field_put_str(&p, CPR_F_MESSAGE, msg) == 0)
			status_send_on(c, CPR_EOF, CPR_CHANNEL, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
		cpr_buf_free(&p);
	}
}

static void read_local(struct rchild *c, int s)
{
	int fds[CPR_FDS_PER_READ], nfds = 0, lost = 0;
	uint8_t buf[RELAY_DATA_CHUNK];
	size_t want = c->credit[s] < sizeof buf ? c->credit[s] : sizeof buf;
	ssize_t n;

	if (c->in_eof[s] || c->lfd[s].fd < 0 || c->state != R_RUNNING)
		return;
	if (want == 0) {
		event_del(c->rd_ev[s]); /* resumed by the helper's CREDIT */
		return;
	}
	if (s == CPR_STDIN && c->lfd[s].is_tty && !stdin_may_read(c))
		return;
	if (s == CPR_CHANNEL)
		n = localfd_read_fds(&c->lfd[s], buf, want, fds, &nfds, &lost);
	else
		n = localfd_read(&c->lfd[s], buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
		return;
	}
	if (n > 0 && (nfds > 0 || lost))
		take_fds(c, fds, nfds, lost, (size_t)n);
	if (n <= 0) {
		/* End of file, or an error that ends the stream the same way. */
		c->in_eof[s] = 1;
		event_del(c->rd_ev[s]);
		conn_send(c->conn, CPR_EOF, (uint8_t)s, c->id, NULL, 0);
		if (s == CPR_STDIN)
			localfd_close(&c->lfd[s]);
		return;
	}
	c->credit[s] -= (uint32_t)n;
	conn_send(c->conn, CPR_DATA, (uint8_t)s, c->id, buf, (uint32_t)n);
	if (s == CPR_CHANNEL)
		c->chan_sent += (uint64_t)n;
	localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct stream_ref *ref = arg;

	read_local(ref->c, ref->s);
}

/* The foreground check of a terminal stdin: reading resumes once the caller is back. */
static void on_fg_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rchild *c = arg;

	if (!c->dead)
		read_local(c, CPR_STDIN);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct stream_ref *ref = arg;

	flush_out(ref->c, ref->s);
}

/* ---- frames from the helper ---- */

/* Why a CONNECT failed, in words for a person; the system's (or TEXT, the helper's) for the rarer errors. */
static const char *connect_reason(uint32_t err, const char *text)
{
	switch (err) {
	case ENOENT:
		return "no such file or directory";
	case ENOTDIR:
		return "a part of the path is not a directory";
	case ENOTSOCK:
		return "not a socket";
	case EACCES:
	case EPERM:
		return "permission denied";
	case ECONNREFUSED:
		return "no process listens on it (connection refused)";
	case EAGAIN:
		return "its server accepts no connection (listen queue full)";
	case ENAMETOOLONG:
		return "path too long for a socket address";
	case EPROTOTYPE:
		return "not a stream socket";
	default:
		return err ? strerror((int)err) : text;
	}
}

static void on_spawn_error(struct rchild *c, const uint8_t *p, uint32_t len)
{
	struct cpr_reader r = { p, len };
	uint8_t tag;
	const uint8_t *v;
	uint32_t vlen, stage = 0, err = 0;
	char text[512] = "", msg[1024];
	int code = CPREMOTE_ESPAWN;

	while (cpr_field_next(&r, &tag, &v, &vlen) == 1) {
		if (tag == CPR_F_CODE && vlen == 4)
			stage = cpr_get_u32(v);
		else if (tag == CPR_F_ERRNO && vlen == 4)
			err = cpr_get_u32(v);
		else if (tag == CPR_F_MESSAGE)
			relay_escape(text, sizeof text, (const char *)v, vlen);
	}
	if (!text[0])
		snprintf(text, sizeof text, "%s", err ? strerror((int)err) : "the helper gave no reason");
	if (stage == CPR_STAGE_CONNECT) {
		code = err == ENOENT || err == ENOTDIR ? CPREMOTE_ENOTFOUND : CPREMOTE_ESPAWN;
		snprintf(msg, sizeof msg, "%s: cannot connect to %s: %s", c->host, c->file,
			 connect_reason(err, text));
	} else if (stage == CPR_STAGE_EXEC && (err == ENOENT || err == ENOTDIR)) {
		code = CPREMOTE_ENOTFOUND;
		snprintf(msg, sizeof msg, "%s: %s: not found", c->host, c->file);
	} else if (stage == CPR_STAGE_EXEC &&
		   (err == EACCES || err == ENOEXEC || err == EPERM || err == EISDIR)) {
		code = CPREMOTE_ENOEXEC;
		snprintf(msg, sizeof msg, "%s: %s: not executable (%s)", c->host, c->file,
			 strerror((int)err));
	} else if (stage == CPR_STAGE_CHDIR) {
		snprintf(msg, sizeof msg, "%s: cannot change directory for %s: %s", c->host, c->file, text);
	} else {
		snprintf(msg, sizeof msg, "%s: cannot start %s: %s", c->host, c->file, text);
	}
	rchild_fail(c, code, msg);
}

static void start_streams(struct rchild *c)
{
	for (int s = CPR_CHANNEL; s <= CPR_STDIN; s++)
		if (c->rd_ev[s])
			localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
}

/*
 * A helper older than terminals ignores CPR_F_TTY and runs the program on
 * pipes: that child is killed and fails, rather than run the wrong way.
 * Its hello, which holds the capabilities, came before its SPAWNED.
 */
static int tty_refused(struct rchild *c)
{
	long caps = conn_helper_caps(c->conn);
	char msg[256];

	if (!c->tty || (caps >= 0 && (caps & CPR_CAP_TTY)))
		return 0;
	conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
	snprintf(msg, sizeof msg,
		 "%s: %s: the helper on the host makes no terminals (an older cpremote-helper): "
		 "leave --helper out, or run without -t",
		 c->host, c->file);
	rchild_fail(c, CPREMOTE_EHELPER, msg);
	return 1;
}

static void on_spawned(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if (c->state != R_SPAWNING || h->length != 4)
		return;
	if (c->confirm_ev)
		evtimer_del(c->confirm_ev);
	if (tty_refused(c))
		return;
	c->state = R_RUNNING;
	status_send(c, CPR_SPAWNED, p, 4);
	if (c->orphan)
		conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
	else if (c->pending_signal)
		conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, c->pending_signal);
	if (c->has_pending_resize)
		conn_send(c->conn, CPR_RESIZE, 0, c->id, c->pending_resize, CPR_WINSIZE_LEN);
	start_streams(c);
}

static void on_error(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if (c->state == R_SPAWNING)
		on_spawn_error(c, p, h->length);
}

/*
 * Whether C runs; a frame of type WHAT before its SPAWNED is a protocol
 * violation (the helper reports a child's end or output only once it has
 * said it started), so the connection fails.
 */
static int spawned(struct rchild *c, const char *what)
{
	if (c->state == R_RUNNING)
		return 1;
	conn_protocol_error(c->conn, "%s: protocol violation by the helper (%s for %s before SPAWNED)",
			    c->host, what, c->file);
	return 0;
}

static void on_data(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	int s = h->stream;

	if (!spawned(c, "DATA"))
		return;
	if (s == CPR_STDIN || c->out_eof[s])
		return;
	if (cpr_buf_len(&c->out[s]) + h->length > CPR_WINDOW) {
		rlog(c->ctx, 1, "%s: helper exceeded its credit on stream %d; data dropped", c->host, s);
		return;
	}
	cpr_buf_append(&c->out[s], p, h->length);
	flush_out(c, s);
}

static void on_eof(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if (!spawned(c, "EOF") || h->stream == CPR_STDIN)
		return;
	c->out_eof[h->stream] = 1;
	flush_out(c, h->stream);
}

static void on_credit(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	int s = h->stream;

	uint32_t more;

	if (h->length != 4 || (s != CPR_CHANNEL && s != CPR_STDIN))
		return;
	more = cpr_get_u32(p);
	/*
	 * The helper only gives back what it consumed, so the credit never
	 * exceeds the window.  A CREDIT above it fails the connection rather
	 * than being clamped: the helper's accounting is broken or hostile,
	 * and a clamp would hide that while the streams go on with a helper
	 * whose counts no longer match ours.
	 */
	if (more > CPR_WINDOW - c->credit[s]) {
		conn_protocol_error(c->conn,
				    "%s: protocol violation by the helper (credit of %u above the window on "
				    "stream %d of %s)",
				    c->host, more, s, c->file);
		return;
	}
	if (c->credit[s] == 0 && c->rd_ev[s]) {
		c->credit[s] += more;
		read_local(c, s);
	} else {
		c->credit[s] += more;
	}
}

static void on_exit_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if (h->length != 4 || !spawned(c, "EXIT"))
		return;
	memcpy(c->exit_info, p, 4);
	c->exited = 1;
	maybe_finish(c);
}

/* A notice, ahead of the data still to come: EXIT stays the final word. */
static void on_reaped(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if (h->length == 4 && spawned(c, "REAPED"))
		status_send(c, CPR_REAPED, p, 4);
}

/* The helper's frames for a child, by type; the others (SPAWN, SIGNAL, PING, PONG) are not for it. */
typedef void helper_frame_fn(struct rchild *c, const struct cpr_header *h, const uint8_t *p);

static helper_frame_fn *const helper_frames[CPR_TYPE_MAX + 1] = {
	[CPR_SPAWNED] = on_spawned, [CPR_ERROR] = on_error,     [CPR_DATA] = on_data,     [CPR_EOF] = on_eof,
	[CPR_CREDIT] = on_credit,   [CPR_EXIT] = on_exit_frame, [CPR_REAPED] = on_reaped,
};

/* conn_child_ops.on_frame.  H was checked by the codec (type and stream in range). */
static void on_conn_frame(void *child, const struct cpr_header *h, const uint8_t *p)
{
	struct rchild *c = child;

	if (c->dead)
		return;
	if (h->stream >= CPR_FD_STREAM0) {
		if (spawned(c, "an fd stream's frame"))
			fdstream_frame(c, h, p);
		maybe_finish(c);
	} else if (h->type <= CPR_TYPE_MAX && helper_frames[h->type]) {
		helper_frames[h->type](c, h, p);
	}
}

/* conn_child_ops.on_lost: the connection forgot C already. */
static void on_conn_lost(void *child, int code, const char *message)
{
	struct rchild *c = child;

	c->conn = NULL;
	if (c->dead)
		return;
	/* Hand over what did arrive before saying the connection is gone. */
	for (int s = 0; s < CPR_NSTREAMS; s++)
		if (cpr_buf_len(&c->out[s]) > 0 && !c->orphan && c->lfd[s].fd >= 0)
			(void)!localfd_write(&c->lfd[s], cpr_buf_peek(&c->out[s]), cpr_buf_len(&c->out[s]));
	rchild_fail(c, code, message);
}

/*
 * No SPAWNED nor ERROR within the handshake timeout: the child fails, and
 * the helper is told to kill it, should it start after all.
 */
static void on_confirm_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rchild *c = arg;
	char msg[1024];

	/* A child whose connection is lost is dead already: C->conn is set. */
	if (c->dead || c->state != R_SPAWNING || !c->conn)
		return;
	conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
	snprintf(msg, sizeof msg, "%s: the helper did not confirm the start of %s within %d s", c->host,
		 c->file, conn_confirm_timeout_s(c->conn));
	rchild_fail(c, CPREMOTE_ESPAWN, msg);
}

/*
 * Whether C's request may go now.  A CONNECT waits for the helper's hello
 * (on a warm connection it has come): an older helper would take the
 * unknown frame for a protocol violation and end the connection of every
 * child there, so one without CPR_CAP_CONNECT fails C alone.
 */
static int request_may_go(struct rchild *c)
{
	long caps = c->spawn_type == CPR_CONNECT ? conn_helper_caps(c->conn) : 0;
	char msg[512];

	if (c->spawn_type != CPR_CONNECT || (caps >= 0 && (caps & CPR_CAP_CONNECT)))
		return 1;
	if (caps >= 0) {
		snprintf(msg, sizeof msg,
			 "%s: cannot connect to %s: the helper there is too old to attach to socket files "
			 "(leave --helper out, or install this version's cpremote-helper)",
			 c->host, c->file);
		rchild_fail(c, CPREMOTE_EHELPER, msg);
	}
	return 0;
}

void rchild_send_spawn(struct rchild *c)
{
	struct timeval tv;

	if (c->state != R_QUEUED || c->dead || !request_may_go(c))
		return;
	c->state = R_SPAWNING;
	if (conn_send(c->conn, c->spawn_type, 0, c->id, cpr_buf_peek(&c->spawn),
		      (uint32_t)cpr_buf_len(&c->spawn)) < 0) {
		rchild_fail(c, CPREMOTE_ECONNLOST, "connection lost");
		return;
	}
	tv = (struct timeval){ .tv_sec = conn_confirm_timeout_s(c->conn) };
	if (!c->confirm_ev && !(c->confirm_ev = evtimer_new(c->ctx->base, on_confirm_timeout, c))) {
		rchild_fail(c, CPREMOTE_ESPAWN, "out of memory");
		return;
	}
	evtimer_add(c->confirm_ev, &tv);
}

/* conn_child_ops.on_ready */
static void on_conn_ready(void *child)
{
	rchild_send_spawn(child);
}

const struct conn_child_ops rchild_conn_ops = {
	.on_frame = on_conn_frame,
	.on_lost = on_conn_lost,
	.on_ready = on_conn_ready,
};

/* Persistent reads: re-arming after every message would cost two epoll_ctl calls. */
int rchild_stream_events(struct rchild *c)
{
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		c->ref[s] = (struct stream_ref){ c, s };
		if (c->lfd[s].fd < 0)
			continue;
		if (s <= CPR_STDIN &&
		    !(c->rd_ev[s] = event_new(c->ctx->base, c->lfd[s].fd, EV_READ | EV_PERSIST, on_readable,
					      &c->ref[s])))
			return -ENOMEM;
		if (s != CPR_STDIN &&
		    !(c->wr_ev[s] = event_new(c->ctx->base, c->lfd[s].fd, EV_WRITE, on_writable, &c->ref[s])))
			return -ENOMEM;
		if (s == CPR_STDIN && c->lfd[s].is_tty &&
		    !(c->fg_timer = evtimer_new(c->ctx->base, on_fg_timer, c)))
			return -ENOMEM;
	}
	return 0;
}

void rchild_free_all(void)
{
	while (!TAILQ_EMPTY(&children)) {
		struct rchild *c = TAILQ_FIRST(&children);
		c->conn = NULL;
		rchild_free(c);
	}
	sweep_free(&sweep_ev);
}

int rchild_any(void)
{
	return !TAILQ_EMPTY(&children);
}

struct rchild *rchild_alloc(struct relay_ctx *ctx)
{
	struct rchild *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	TAILQ_INSERT_TAIL(&children, c, link);
	fdstream_set_drained(maybe_finish);
	c->ctx = ctx;
	c->status_fd = -1;
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		c->lfd[s].fd = -1;
		c->out[s].limit = CPR_WINDOW;
		c->credit[s] = CPR_WINDOW;
	}
	return c;
}

void rchild_orphan(struct rchild *c)
{
	c->orphan = 1;
	conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
	/* Nobody reads it any more: what waits is dropped, and credited so the helper goes on. */
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		c->unacked[s] += (uint32_t)cpr_buf_len(&c->out[s]);
		cpr_buf_consume(&c->out[s], cpr_buf_len(&c->out[s]));
		give_credit(c, s);
	}
	fdstream_orphan(c);
	maybe_finish(c);
}
