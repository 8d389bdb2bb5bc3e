/*
 * status.c — a child's status socket to the library: the child is made
 * from the fds of one control message, then reads its SPAWN request
 * (which puts it on a connection) and the caller's signals from there,
 * and sees the caller let go of it when the socket closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "cpremote.h"
#include "rchild.h"
#include "request.h"

/* ---- the caller's request ---- */

/* Parses the SPAWN (or CONNECT, TYPE) payload P and puts the child on its connection.  Fails C on a bad request. */
static void on_request(struct rchild *c, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct spawn_request r = { .type = type };
	struct cpr_err e;
	int rc = request_parse(p, len, c->stdio_mask, &r, &e);

	if (rc < 0) {
		rchild_fail(c, rc, e.msg);
		goto out;
	}
	if (r.verbosity > c->ctx->verbose)
		c->ctx->verbose = r.verbosity;
	c->caller_pgrp = r.caller_pgrp;
	c->tty = r.tty;
	c->spawn_type = type;
	c->host = strdup(r.key.host);
	c->file = r.file;
	r.file = NULL;
	c->spawn = r.spawn;
	memset(&r.spawn, 0, sizeof r.spawn);
	c->state = R_QUEUED;
	c->conn = conn_attach(c->ctx, &r, &rchild_conn_ops, c, &c->spawn, &c->id);
	if (!c->host || !c->conn) {
		rchild_fail(c, -ENOMEM, "relay: out of memory");
		goto out;
	}
	if (conn_can_send(c->conn))
		rchild_send_spawn(c);
out:
	request_free(&r);
}

/* The caller freed the handle (or died): nothing of the child may be left running. */
static void on_status_closed(struct rchild *c)
{
	event_del(c->status_ev);
	if (c->state == R_RUNNING) {
		rchild_orphan(c);
	} else if (c->state == R_SPAWNING) {
		c->orphan = 1; /* killed when SPAWNED arrives */
	} else {
		rchild_mark_dead(c);
	}
}

/* One frame from the library: the SPAWN (or CONNECT) request first, then SIGNALs and RESIZEs. */
static void on_library_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *p)
{
	if ((h->type == CPR_SPAWN || h->type == CPR_CONNECT) && c->state == R_REQUEST) {
		on_request(c, h->type, p, h->length);
	} else if (h->type == CPR_SIGNAL && h->length == 4) {
		/* A caller that did not wait for the start may signal before it. */
		if (c->state == R_RUNNING)
			conn_send(c->conn, CPR_SIGNAL, 0, c->id, p, 4);
		else
			c->pending_signal = cpr_get_u32(p);
	} else if (h->type == CPR_RESIZE && h->length == CPR_WINSIZE_LEN) {
		/* Only the last size matters: one before the start waits for it. */
		if (c->state == R_RUNNING) {
			conn_send(c->conn, CPR_RESIZE, 0, c->id, p, CPR_WINSIZE_LEN);
		} else {
			memcpy(c->pending_resize, p, CPR_WINSIZE_LEN);
			c->has_pending_resize = 1;
		}
	}
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	struct rchild *c = arg;
	uint8_t buf[16384];
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		on_status_closed(c);
		return;
	}
	if (cpr_buf_append(&c->status_in, buf, (size_t)n) < 0) {
		rchild_fail(c, CPREMOTE_EINVAL, "spawn request too large");
		return;
	}
	while (!c->dead) {
		struct cpr_header h;
		const uint8_t *p;
		ssize_t f = cpr_frame_next(cpr_buf_peek(&c->status_in), cpr_buf_len(&c->status_in), &h, &p);

		if (f == 0)
			return;
		if (f < 0) {
			rchild_fail(c, CPREMOTE_EPROTO, "relay: bad frame from the library");
			return;
		}
		on_library_frame(c, &h, p);
		cpr_buf_consume(&c->status_in, (size_t)f);
	}
}

/* The process that made the status socket pair: the library's caller.  0 when unknown. */
static pid_t peer_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof cr)
		return 0;
	return cr.pid;
}

/* Takes the passed fds into C.  Returns 0, or -EBADF when they do not match MASK. */
static int adopt_fds(struct rchild *c, uint8_t mask, int *fds, int nfds)
{
	int i = 2, bad = 0;

	c->status_fd = fds[0];
	c->caller_pid = peer_pid(c->status_fd);
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
	return bad ? -EBADF : 0;
}

/* The child of one control message (see rchild_new()); NULL when it could not be made. */
static struct rchild *child_from_fds(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds)
{
	struct rchild *c = nfds >= 2 ? rchild_alloc(ctx) : NULL;
	int bad;

	if (!c) {
		for (int j = 0; j < nfds; j++)
			close(fds[j]);
		return NULL;
	}
	bad = adopt_fds(c, mask, fds, nfds) < 0;
	c->status_in.limit = REQUEST_LIMIT;
	c->stdio_mask = mask;
	c->status_ev = event_new(ctx->base, c->status_fd, EV_READ | EV_PERSIST, on_status, c);
	bad |= rchild_stream_events(c) < 0;
	if (bad || !c->status_ev) {
		rchild_fail(c, CPREMOTE_ERELAY, "relay: bad file descriptors for the child");
		return NULL;
	}
	event_add(c->status_ev, NULL);
	return c;
}

void rchild_new(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds)
{
	(void)child_from_fds(ctx, mask, fds, nfds);
}

void rchild_refuse(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds, int code, const char *msg)
{
	struct rchild *c = child_from_fds(ctx, mask, fds, nfds);

	if (c)
		rchild_fail(c, code, msg);
}
