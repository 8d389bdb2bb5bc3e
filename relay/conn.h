/*
 * conn.h — the per-connection multiplexer (conn.c): one SSH link and one
 * remote helper per destination, serving every child of the caller there.
 * It keeps the table of its children (sorted by id), routes the helper's
 * frames to them, queues theirs, sends the hello and the SPAWN frames
 * (again after an upload), and fails them all when the link is lost.  It
 * calls its children only through the struct conn_child_ops they
 * register, so it never depends on child.c.
 */
#ifndef CPREMOTE_RELAY_CONN_H
#define CPREMOTE_RELAY_CONN_H

#include <stdint.h>

#include "log.h"
#include "proto.h"
#include "request.h"

struct conn;

/*
 * What a connection tells a child; CHILD is the pointer given to
 * conn_attach().  None of these may free the connection or detach from it:
 * a child that ends is detached later, from its own sweep.
 */
struct conn_child_ops {
	/* A frame of the helper for this child. */
	void (*on_frame)(void *child, const struct cpr_header *h, const uint8_t *payload);
	/* The connection failed or was lost (CODE, MESSAGE for the caller); it forgot the child. */
	void (*on_lost)(void *child, int code, const char *message);
	/* The child's SPAWN frame may be queued now (for a CONNECT child: again once the helper's hello came). */
	void (*on_ready)(void *child);
};

/*
 * Finds the live connection for R's key, or starts one (taking R's key;
 * else R keeps it).  Registers CHILD with OPS and its SPAWN payload SPAWN
 * (kept by the child, resent after an upload) and sets *ID.  Returns the
 * connection, or NULL when out of memory.  Failures of a new connection
 * are reported later, from the loop, through on_lost.
 */
struct conn *conn_attach(const struct relay_ctx *ctx, struct spawn_request *r,
			 const struct conn_child_ops *ops, void *child, const struct cpr_buf *spawn,
			 uint32_t *id);

/* Whether frames may be queued now (the helper has been started). */
int conn_can_send(const struct conn *k);

/*
 * The capabilities of the helper's hello (CPR_CAP_CONNECT, CPR_CAP_TTY), or -1 before
 * it has arrived.  A CONNECT child waits for it: its on_ready is called
 * again when the hello comes.
 */
long conn_helper_caps(const struct conn *k);

/* Forgets child ID (it is finished). */
void conn_detach(struct conn *k, uint32_t id);

/*
 * Queues a frame to the helper, sent from the loop.  Returns 0, or a
 * negative code when the connection is dead or the frame does not fit.
 * The queue is bounded (see OUT_BASE in conn.c): beyond the credits of
 * the streams feeding it and some control frames, -ENOBUFS, and the
 * connection fails with CPREMOTE_EPROTO from the loop (never from here,
 * so the caller's connection stays valid).
 */
int conn_send(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, const void *payload,
	      uint32_t len);
int conn_send_u32(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, uint32_t v);

/*
 * The helper broke the protocol in a frame for a child (the message, made
 * from FMT, names the host and what it did): K and all its children fail
 * with CPREMOTE_EPROTO.  Called from a child's on_frame; K stays valid
 * (dead) until the sweep.  Returns CPREMOTE_EPROTO.
 */
int conn_protocol_error(struct conn *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How long a child waits for its SPAWNED or ERROR: the handshake timeout (ConnectTimeout), in seconds. */
int conn_confirm_timeout_s(const struct conn *k);

/* Frees every connection, dead or alive (the caller is gone; children were freed first). */
void conn_close_all(void);

#endif
