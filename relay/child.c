/*
 * child.c — one caller's child in the relay: its status socket to the
 * library, its local fds (channel, stdio), and the per-stream credit flow
 * between those fds and the helper.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cpremote.h"
#include "relay.h"

#define REQUEST_LIMIT (CPR_HEADER_LEN + CPR_MAX_SPAWN)

enum rstate {
	R_REQUEST,
	R_QUEUED,
	R_SPAWNING,
	R_RUNNING
};

/* An event's argument: which child, which stream. */
struct stream_ref {
	struct rchild *c;
	int s;
};

struct rchild {
	TAILQ_ENTRY(rchild) link;
	enum rstate state;
	struct conn *conn;
	uint32_t id;
	char *host, *file;

	int status_fd;
	struct event *status_ev;
	struct cpr_buf status_in;
	int orphan; /* the caller let go of it: output is dropped */
	uint32_t pending_signal; /* sent by the caller before the child ran (wire number) */

	/* Per stream: the local fd (the channel socket serves both ways). */
	struct localfd lfd[CPR_NSTREAMS];
	struct event *rd_ev[CPR_NSTREAMS]; /* channel, stdin: local -> helper */
	struct event *wr_ev[CPR_NSTREAMS]; /* channel, stdout, stderr: helper -> local */
	uint32_t credit[CPR_NSTREAMS]; /* what the helper still takes */
	int in_eof[CPR_NSTREAMS];
	struct cpr_buf out[CPR_NSTREAMS]; /* what the helper sent, not yet written */
	uint32_t unacked[CPR_NSTREAMS];
	int out_eof[CPR_NSTREAMS], out_done[CPR_NSTREAMS], out_broken[CPR_NSTREAMS];

	struct stream_ref ref[CPR_NSTREAMS];
	uint8_t stdio_mask; /* which stdio fds the caller attached */

	struct cpr_buf spawn;
	int exited;
	uint8_t exit_info[4];
};

static TAILQ_HEAD(, rchild) children = TAILQ_HEAD_INITIALIZER(children);

uint32_t rchild_id(const struct rchild *c)
{
	return c->id;
}

const struct cpr_buf *rchild_spawn_payload(const struct rchild *c)
{
	return &c->spawn;
}

static void rchild_free(struct rchild *c)
{
	if (c->conn)
		conn_detach(c->conn, c);
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
	if (c->status_fd >= 0)
		close(c->status_fd);
	cpr_buf_free(&c->status_in);
	cpr_buf_free(&c->spawn);
	free(c->host);
	free(c->file);
	free(c);
}

/* Sends a frame to the library.  Tiny and rare, so a full socket is not waited for. */
static void status_send(struct rchild *c, uint8_t type, const void *payload, uint32_t len)
{
	struct cpr_buf b = { 0 };
	size_t off = 0;

	if (c->orphan || c->status_fd < 0 || cpr_frame_append(&b, type, 0, 0, payload, len) < 0)
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

/* Tells the library that the child failed with CODE, and forgets the child. */
static void fail(struct rchild *c, int code, const char *msg)
{
	struct cpr_buf p = { 0 };

	cpr_field_put_u32(&p, CPR_F_CODE, (uint32_t)code);
	cpr_field_put_str(&p, CPR_F_MESSAGE, msg);
	status_send(c, CPR_ERROR, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
	rchild_free(c);
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

/*
 * Writes what the helper sent for stream S to the local fd.  A reader that
 * went away (EPIPE) does not stop the child: its data is dropped, as
 * credit must keep flowing for the other streams' sake.
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
				c->out_broken[s] = 1;
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
	if (!c->exited)
		return;
	for (int s = 0; s < CPR_NSTREAMS; s++)
		if (cpr_buf_len(&c->out[s]) > 0)
			return;
	status_send(c, CPR_EXIT, c->exit_info, sizeof c->exit_info);
	if (c->lfd[CPR_CHANNEL].fd >= 0)
		shutdown(c->lfd[CPR_CHANNEL].fd, SHUT_WR);
	rchild_free(c);
}

/* ---- local -> helper ---- */

static void read_local(struct rchild *c, int s)
{
	uint8_t buf[CPR_MAX_DATA];
	size_t want = c->credit[s] < sizeof buf ? c->credit[s] : sizeof buf;
	ssize_t n;

	if (c->in_eof[s] || c->lfd[s].fd < 0 || c->state != R_RUNNING)
		return;
	if (want == 0) {
		event_del(c->rd_ev[s]); /* resumed by the helper's CREDIT */
		return;
	}
	n = localfd_read(&c->lfd[s], buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
		return;
	}
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
	localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct stream_ref *ref = arg;

	read_local(ref->c, ref->s);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct stream_ref *ref = arg;

	flush_out(ref->c, ref->s);
}

/* ---- frames from the helper ---- */

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
			snprintf(text, sizeof text, "%.*s", (int)vlen, (const char *)v);
	}
	if (stage == CPR_STAGE_EXEC && (err == ENOENT || err == ENOTDIR)) {
		code = CPREMOTE_ENOTFOUND;
		snprintf(msg, sizeof msg, "%s: %s: not found", c->host, c->file);
	} else if (stage == CPR_STAGE_EXEC &&
		   (err == EACCES || err == ENOEXEC || err == EPERM || err == EISDIR)) {
		code = CPREMOTE_ENOEXEC;
		snprintf(msg, sizeof msg, "%s: %s: not executable (%s)", c->host, c->file,
			 strerror((int)err));
	} else if (stage == CPR_STAGE_CHDIR) {
		snprintf(msg, sizeof msg, "%s: cannot change directory for %s: %s", c->host, c->file,
			 text[0] ? text : strerror((int)err));
	} else {
		snprintf(msg, sizeof msg, "%s: cannot start %s: %s", c->host, c->file,
			 text[0] ? text : strerror((int)err));
	}
	fail(c, code, msg);
}

static void start_streams(struct rchild *c)
{
	for (int s = CPR_CHANNEL; s <= CPR_STDIN; s++)
		if (c->rd_ev[s])
			localfd_watch(&c->lfd[s], c->rd_ev[s], EV_READ);
}

void rchild_on_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	int s = h->stream;

	switch (h->type) {
	case CPR_SPAWNED:
		if (c->state != R_SPAWNING || h->length != 4)
			break;
		c->state = R_RUNNING;
		status_send(c, CPR_SPAWNED, p, 4);
		if (c->orphan)
			conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
		else if (c->pending_signal)
			conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, c->pending_signal);
		start_streams(c);
		break;
	case CPR_ERROR:
		if (c->state == R_SPAWNING)
			on_spawn_error(c, p, h->length);
		break;
	case CPR_REAPED:
		/* A notice, ahead of the data still to come: EXIT stays the final word. */
		if (c->state == R_RUNNING && h->length == 4)
			status_send(c, CPR_REAPED, p, 4);
		break;
	case CPR_DATA:
		if (s == CPR_STDIN || c->out_eof[s])
			break;
		if (cpr_buf_len(&c->out[s]) + h->length > CPR_WINDOW) {
			relay_log(1, "%s: helper exceeded its credit on stream %d; data dropped", c->host, s);
			break;
		}
		cpr_buf_append(&c->out[s], p, h->length);
		flush_out(c, s);
		break;
	case CPR_EOF:
		if (s == CPR_STDIN)
			break;
		c->out_eof[s] = 1;
		flush_out(c, s);
		break;
	case CPR_CREDIT:
		if (h->length != 4 || (s != CPR_CHANNEL && s != CPR_STDIN))
			break;
		if (c->credit[s] == 0 && c->rd_ev[s]) {
			c->credit[s] += cpr_get_u32(p);
			read_local(c, s);
		} else if ((uint64_t)c->credit[s] + cpr_get_u32(p) <= UINT32_MAX) {
			c->credit[s] += cpr_get_u32(p);
		}
		break;
	case CPR_EXIT:
		if (h->length != 4)
			break;
		memcpy(c->exit_info, p, 4);
		c->exited = 1;
		maybe_finish(c);
		break;
	default:
		break;
	}
}

void rchild_on_conn_lost(struct rchild *c, int code, const char *message)
{
	/* Hand over what did arrive before saying the connection is gone. */
	for (int s = 0; s < CPR_NSTREAMS; s++)
		if (cpr_buf_len(&c->out[s]) > 0 && !c->orphan && c->lfd[s].fd >= 0)
			(void)!localfd_write(&c->lfd[s], cpr_buf_peek(&c->out[s]), cpr_buf_len(&c->out[s]));
	fail(c, code, message); /* detaches c, as the connection expects */
}

/* Sends the SPAWN frame.  Returns 0, or -1 when C failed (and is gone). */
static int rchild_send_spawn(struct rchild *c)
{
	if (c->state != R_QUEUED)
		return 0;
	c->state = R_SPAWNING;
	if (conn_send(c->conn, CPR_SPAWN, 0, c->id, cpr_buf_peek(&c->spawn),
		      (uint32_t)cpr_buf_len(&c->spawn)) < 0) {
		fail(c, CPREMOTE_ECONNLOST, "connection lost");
		return -1;
	}
	return 0;
}

void rchild_on_conn_ready(struct rchild *c)
{
	rchild_send_spawn(c);
}

/* ---- the caller's request ---- */

static char *dup_field(const uint8_t *v, uint32_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, v, len);
		s[len] = '\0';
	}
	return s;
}

/*
 * Splits the caller's SPAWN into the destination (which picks the
 * connection) and the payload for the helper.  Returns 0, or -1 with MSG.
 */
static int parse_request(struct rchild *c, const uint8_t *p, uint32_t len, uint8_t mask, struct dest *d,
			 char *msg, size_t msglen)
{
	struct cpr_reader r = { p, len };
	uint8_t tag, stdio[3];
	const uint8_t *v;
	uint32_t vlen;
	size_t nopt = 0;
	int rc;

	while ((rc = cpr_field_next(&r, &tag, &v, &vlen)) == 1) {
		if (tag >= CPR_F_HOST && tag <= CPR_F_NO_UPLOAD)
			cpr_field_put(&d->key, tag, v, vlen);
		switch (tag) {
		case CPR_F_HOST:
			free(d->host);
			d->host = dup_field(v, vlen);
			break;
		case CPR_F_USER:
			free(d->user);
			d->user = dup_field(v, vlen);
			break;
		case CPR_F_IDENTITY:
			free(d->identity);
			d->identity = dup_field(v, vlen);
			break;
		case CPR_F_CONFIG:
			free(d->config);
			d->config = dup_field(v, vlen);
			break;
		case CPR_F_HELPER:
			free(d->helper);
			d->helper = dup_field(v, vlen);
			break;
		case CPR_F_PORT:
			if (vlen == 4)
				d->port = (int)cpr_get_u32(v);
			break;
		case CPR_F_VERBOSITY:
			if (vlen == 4)
				d->verbosity = (int)cpr_get_u32(v);
			break;
		case CPR_F_ACCEPT_NEW:
			if (vlen == 4)
				d->accept_new = cpr_get_u32(v) != 0;
			break;
		case CPR_F_OPTION: {
			char **o = realloc(d->options, (nopt + 2) * sizeof *o);
			if (!o)
				return -1;
			d->options = o;
			o[nopt++] = dup_field(v, vlen);
			o[nopt] = NULL;
			break;
		}
		case CPR_F_FILE:
			free(c->file);
			c->file = dup_field(v, vlen);
			/* fall through */
		case CPR_F_ARG:
		case CPR_F_ENV:
		case CPR_F_CWD:
		case CPR_F_FLAGS:
			cpr_field_put(&c->spawn, tag, v, vlen);
			break;
		default:
			break; /* STDIO is derived from the fds actually passed */
		}
	}
	if (rc < 0 || !d->host || !c->file || !*d->host || !*c->file) {
		snprintf(msg, msglen, "bad spawn request (host and program are required)");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		stdio[i] = (mask >> i) & 1 ? CPR_STDIO_PIPE : CPR_STDIO_NULL;
	cpr_field_put(&c->spawn, CPR_F_STDIO, stdio, 3);
	if (d->verbosity > relay_verbose)
		relay_verbose = d->verbosity;
	c->host = strdup(d->host);
	return 0;
}

/* Puts the child on its connection; D's contents are taken.  Returns 0, or -1 when C is gone. */
static int on_request(struct rchild *c, struct dest *d)
{
	c->state = R_QUEUED;
	c->conn = conn_attach(d, c, &c->id);
	if (!c->conn) {
		fail(c, -ENOMEM, "relay: out of memory");
		return -1;
	}
	if (conn_can_send(c->conn) && rchild_send_spawn(c) < 0)
		return -1;
	return 0;
}

/* Frames from the library: the SPAWN request first, then SIGNALs. */
static void on_status(evutil_socket_t fd, short what, void *arg)
{
	struct rchild *c = arg;
	uint8_t buf[16384];
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The caller freed the handle (or died): nothing may be left running. */
		event_del(c->status_ev);
		if (c->state == R_RUNNING) {
			c->orphan = 1;
			conn_send_u32(c->conn, CPR_SIGNAL, 0, c->id, cpr_signal_to_wire(9));
			/* Nobody reads it any more: drop what waits, credited (flush_out could free c). */
			for (int s = 0; s < CPR_NSTREAMS; s++) {
				c->unacked[s] += (uint32_t)cpr_buf_len(&c->out[s]);
				cpr_buf_consume(&c->out[s], cpr_buf_len(&c->out[s]));
				give_credit(c, s);
			}
			maybe_finish(c); /* may free c: last */
		} else if (c->state == R_SPAWNING) {
			c->orphan = 1; /* killed when SPAWNED arrives */
		} else {
			rchild_free(c);
		}
		return;
	}
	if (cpr_buf_append(&c->status_in, buf, (size_t)n) < 0) {
		fail(c, CPREMOTE_EINVAL, "spawn request too large");
		return;
	}
	for (;;) {
		struct cpr_header h;
		const uint8_t *p;
		ssize_t f = cpr_frame_next(cpr_buf_peek(&c->status_in), cpr_buf_len(&c->status_in), &h, &p);

		if (f == 0)
			return;
		if (f < 0) {
			fail(c, CPREMOTE_EPROTO, "relay: bad frame from the library");
			return;
		}
		if (h.type == CPR_SPAWN && c->state == R_REQUEST) {
			struct dest d = { 0 };
			char msg[512];
			int bad = parse_request(c, p, h.length, c->stdio_mask, &d, msg, sizeof msg) < 0;

			cpr_buf_consume(&c->status_in, (size_t)f);
			if (bad) {
				dest_free(&d);
				fail(c, CPREMOTE_EINVAL, msg);
				return;
			}
			if (on_request(c, &d) < 0)
				return;
			continue;
		}
		if (h.type == CPR_SIGNAL && h.length == 4) {
			/* A caller that did not wait for the start may signal before it. */
			if (c->state == R_RUNNING)
				conn_send(c->conn, CPR_SIGNAL, 0, c->id, p, 4);
			else
				c->pending_signal = cpr_get_u32(p);
		}
		cpr_buf_consume(&c->status_in, (size_t)f);
	}
}

void rchild_new(uint8_t mask, int *fds, int nfds)
{
	struct rchild *c = calloc(1, sizeof *c);
	int i = 2, bad = 0;

	if (!c || nfds < 2) {
		for (int j = 0; j < nfds; j++)
			close(fds[j]);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&children, c, link);
	c->status_fd = fds[0];
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		c->lfd[s].fd = -1;
		c->out[s].limit = CPR_WINDOW;
		c->credit[s] = CPR_WINDOW;
	}
	bad |= localfd_adopt(&c->lfd[CPR_CHANNEL], fds[1], 0) < 0;
	for (int s = CPR_STDIN; s <= CPR_STDERR; s++) {
		if (!(mask & (1u << (s - CPR_STDIN))))
			continue;
		if (i >= nfds) {
			bad = 1;
			break;
		}
		bad |= localfd_adopt(&c->lfd[s], fds[i++], s != CPR_STDIN) < 0;
	}
	for (; i < nfds; i++)
		close(fds[i]);
	c->status_in.limit = REQUEST_LIMIT;
	c->stdio_mask = mask;
	c->status_ev = event_new(relay_base, c->status_fd, EV_READ | EV_PERSIST, on_status, c);
	for (int s = 0; s < CPR_NSTREAMS; s++) {
		c->ref[s] = (struct stream_ref){ c, s };
		if (c->lfd[s].fd < 0)
			continue;
		if (s <= CPR_STDIN)
			/* Persistent: re-arming after every message would cost two epoll_ctl calls. */
			c->rd_ev[s] = event_new(relay_base, c->lfd[s].fd, EV_READ | EV_PERSIST, on_readable,
						&c->ref[s]);
		if (s != CPR_STDIN)
			c->wr_ev[s] = event_new(relay_base, c->lfd[s].fd, EV_WRITE, on_writable, &c->ref[s]);
	}
	if (bad || !c->status_ev) {
		fail(c, CPREMOTE_ERELAY, "relay: bad file descriptors for the child");
		return;
	}
	event_add(c->status_ev, NULL);
}

void rchild_free_all(void)
{
	while (!TAILQ_EMPTY(&children)) {
		struct rchild *c = TAILQ_FIRST(&children);
		c->conn = NULL;
		rchild_free(c);
	}
}
