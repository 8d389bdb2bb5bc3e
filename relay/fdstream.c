/*
 * fdstream.c — the caller's passed fds as fd streams (see fdstream.h).
 * Each is pumped as the channel is, under its own credit, so a stalled
 * one stops only itself.  A stream is closed here once both ways ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdstream.h"
#include "rchild.h"

static void (*drained)(struct rchild *c);

void fdstream_set_drained(void (*fn)(struct rchild *c))
{
	drained = fn;
}

/* Both ways ended: the caller's fd is given back now, not at the child's end (100 fds cost no 100 fds). */
static void tidy(struct rfdp *x)
{
	if (!x->in_eof || !x->out_done || x->lfd.fd < 0)
		return;
	if (x->rd_ev)
		event_del(x->rd_ev);
	if (x->wr_ev)
		event_del(x->wr_ev);
	localfd_close(&x->lfd);
}

static void give_credit(struct rfdp *x)
{
	if (x->unacked < CPR_CREDIT_BATCH || !x->c->conn)
		return;
	conn_send_u32(x->c->conn, CPR_CREDIT, (uint8_t)x->s, x->c->id, x->unacked);
	x->unacked = 0;
}

/* The caller's fd -> the helper, while credit lasts. */
static void fd_read(struct rfdp *x)
{
	uint8_t buf[RELAY_DATA_CHUNK];
	size_t want = x->credit < sizeof buf ? x->credit : sizeof buf;
	ssize_t n;

	if (x->in_eof || x->lfd.fd < 0 || x->c->dead || !x->c->conn)
		return;
	if (want == 0) {
		event_del(x->rd_ev); /* resumed by the helper's CREDIT */
		return;
	}
	n = localfd_read(&x->lfd, buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		localfd_watch(&x->lfd, x->rd_ev, EV_READ);
		return;
	}
	if (n <= 0) {
		x->in_eof = 1;
		event_del(x->rd_ev);
		conn_send(x->c->conn, CPR_EOF, (uint8_t)x->s, x->c->id, NULL, 0);
		tidy(x);
		return;
	}
	x->credit -= (uint32_t)n;
	conn_send(x->c->conn, CPR_DATA, (uint8_t)x->s, x->c->id, buf, (uint32_t)n);
	localfd_watch(&x->lfd, x->rd_ev, EV_READ);
}

/* The helper's bytes -> the caller's fd.  A write that fails (the reader gone) drops and credits the rest. */
static void fd_flush(struct rfdp *x)
{
	struct cpr_buf *b = &x->out;

	while (cpr_buf_len(b) > 0) {
		ssize_t n = (ssize_t)cpr_buf_len(b);

		if (!x->c->orphan && !x->out_broken && x->lfd.fd >= 0) {
			n = localfd_write(&x->lfd, cpr_buf_peek(b), cpr_buf_len(b));
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				localfd_watch(&x->lfd, x->wr_ev, EV_WRITE);
				break;
			}
			if (n < 0) {
				x->out_broken = 1;
				continue;
			}
		}
		cpr_buf_consume(b, (size_t)n);
		x->unacked += (uint32_t)n;
	}
	give_credit(x);
	if (cpr_buf_len(b) > 0)
		return;
	if (x->out_eof && !x->out_done) {
		x->out_done = 1;
		if (x->lfd.fd >= 0 && x->lfd.is_socket)
			shutdown(x->lfd.fd, SHUT_WR);
		tidy(x);
	}
	if (drained)
		drained(x->c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	fd_read(arg);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	fd_flush(arg);
}

/* What FD is, for the proxy: 1 both ways (stream socket), 2 read only (pipe's read end), 3 write only; <0 refused. */
static int fd_kind(int fd, char *why, size_t whylen)
{
	struct stat st;
	int type = 0, acc = 0, flags;
	socklen_t len = sizeof type;

	if (fstat(fd, &st) < 0)
		return snprintf(why, whylen, "%s", strerror(errno)), -EBADF;
	if (S_ISSOCK(st.st_mode)) {
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
			return snprintf(why, whylen,
					"only stream sockets can be passed (this one is a datagram or "
					"seqpacket socket)"),
			       -EPROTOTYPE;
		len = sizeof acc;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc)
			return snprintf(why, whylen,
					"a listening socket cannot be passed (only connected ones)"),
			       -EOPNOTSUPP;
		return 1;
	}
	if (S_ISFIFO(st.st_mode)) {
		flags = fcntl(fd, F_GETFL);
		return flags >= 0 && (flags & O_ACCMODE) == O_WRONLY ? 3 : 2;
	}
	snprintf(why, whylen, "%s cannot be passed (only connected stream sockets and pipes)",
		 S_ISREG(st.st_mode)   ? "a regular file"
		 : S_ISDIR(st.st_mode) ? "a directory"
				       : "a device");
	return -EOPNOTSUPP;
}

/* Creates X's events and announces it to the helper.  0, or -ENOMEM. */
static int start(struct rfdp *x, uint64_t at)
{
	struct event_base *base = x->c->ctx->base;
	uint8_t p[CPR_FD_OPEN_LEN];

	if (!(x->rd_ev = event_new(base, x->lfd.fd, EV_READ | EV_PERSIST, on_readable, x)) ||
	    !(x->wr_ev = event_new(base, x->lfd.fd, EV_WRITE, on_writable, x)))
		return -ENOMEM;
	cpr_put_u32(p, (uint32_t)(at >> 32));
	cpr_put_u32(p + 4, (uint32_t)at);
	conn_send(x->c->conn, CPR_FD_OPEN, (uint8_t)x->s, x->c->id, p, sizeof p);
	if (x->in_eof)
		conn_send(x->c->conn, CPR_EOF, (uint8_t)x->s, x->c->id, NULL, 0);
	else
		localfd_watch(&x->lfd, x->rd_ev, EV_READ);
	return 0;
}

int fdstream_open(struct rchild *c, int fd, uint64_t at, char *why, size_t whylen)
{
	long caps = c->conn ? conn_helper_caps(c->conn) : -1;
	struct rfdp *x;
	int kind, r;

	if (caps < 0 || !(caps & CPR_CAP_FDPASS)) {
		close(fd);
		snprintf(why, whylen, "the helper there is too old to take fds");
		return -ENOTSUP;
	}
	if (c->nfdp >= CPR_FD_STREAMS) {
		close(fd);
		snprintf(why, whylen, "no fd stream left (at most %d fds per child)", CPR_FD_STREAMS);
		return -EMFILE;
	}
	if ((kind = fd_kind(fd, why, whylen)) < 0) {
		close(fd);
		return kind;
	}
	if (!(x = calloc(1, sizeof *x))) {
		close(fd);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	x->c = c;
	x->s = CPR_FD_STREAM0 + c->nfdp;
	x->credit = CPR_WINDOW;
	x->out.limit = CPR_WINDOW;
	x->in_eof = kind == 3; /* a pipe's write end: nothing to read */
	x->out_broken = kind == 2; /* a pipe's read end: what the child writes is dropped */
	c->fdp[c->nfdp++] = x;
	if ((r = localfd_adopt(&x->lfd, fd, kind == 3)) < 0 || (r = start(x, at)) < 0) {
		snprintf(why, whylen, "%s", strerror(-r));
		x->in_eof = x->out_done = 1;
		return r;
	}
	return 0;
}

/* The stream a helper frame names, or NULL (a protocol violation: the connection fails). */
static struct rfdp *stream_of(struct rchild *c, const struct cpr_header *h)
{
	int i = h->stream - CPR_FD_STREAM0;

	if (i >= 0 && i < c->nfdp && c->fdp[i])
		return c->fdp[i];
	conn_protocol_error(c->conn,
			    "%s: protocol violation by the helper (frame %u on fd stream %u never opened)",
			    c->host, h->type, h->stream);
	return NULL;
}

void fdstream_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	struct rfdp *x = stream_of(c, h);
	uint32_t more;

	if (x == NULL)
		return;
	if (h->type == CPR_DATA && !x->out_eof) {
		if (cpr_buf_len(&x->out) + h->length > CPR_WINDOW ||
		    cpr_buf_append(&x->out, p, h->length) < 0) {
			conn_protocol_error(c->conn,
					    "%s: protocol violation by the helper (data beyond the credit "
					    "on fd stream %u)",
					    c->host, h->stream);
			return;
		}
		fd_flush(x);
	} else if (h->type == CPR_EOF) {
		x->out_eof = 1;
		fd_flush(x);
	} else if (h->type == CPR_CREDIT && h->length == 4) {
		more = cpr_get_u32(p);
		if (more > CPR_WINDOW - x->credit) {
			conn_protocol_error(c->conn,
					    "%s: protocol violation by the helper (credit of %u above the "
					    "window on fd stream %u)",
					    c->host, more, h->stream);
			return;
		}
		x->credit += more;
		if (x->credit == more)
			fd_read(x);
	}
}

int fdstream_pending(const struct rchild *c)
{
	for (int i = 0; i < c->nfdp; i++)
		if (c->fdp[i] && cpr_buf_len(&c->fdp[i]->out) > 0)
			return 1;
	return 0;
}

void fdstream_stop(struct rchild *c)
{
	for (int i = 0; i < c->nfdp; i++) {
		if (c->fdp[i] && c->fdp[i]->rd_ev)
			event_del(c->fdp[i]->rd_ev);
		if (c->fdp[i] && c->fdp[i]->wr_ev)
			event_del(c->fdp[i]->wr_ev);
	}
}

void fdstream_orphan(struct rchild *c)
{
	for (int i = 0; i < c->nfdp; i++) {
		struct rfdp *x = c->fdp[i];

		if (!x)
			continue;
		x->unacked += (uint32_t)cpr_buf_len(&x->out);
		cpr_buf_consume(&x->out, cpr_buf_len(&x->out));
		give_credit(x);
	}
}

void fdstream_free(struct rchild *c)
{
	for (int i = 0; i < c->nfdp; i++) {
		struct rfdp *x = c->fdp[i];

		if (!x)
			continue;
		if (x->rd_ev)
			event_free(x->rd_ev);
		if (x->wr_ev)
			event_free(x->wr_ev);
		localfd_close(&x->lfd);
		cpr_buf_free(&x->out);
		free(x);
		c->fdp[i] = NULL;
	}
}
