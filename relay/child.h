/*
 * child.h — one caller's child in the relay (child.c): its status socket
 * to the library, its local fds (channel, stdio), and the per-stream
 * credit flow between those fds and the helper.  The top layer: it calls
 * the multiplexer (conn.h), which answers through struct conn_child_ops.
 */
#ifndef CPREMOTE_RELAY_CHILD_H
#define CPREMOTE_RELAY_CHILD_H

#include <stdint.h>

#include "log.h"

/*
 * Creates a child from one control message: FDS are the status socket,
 * the channel socket and the attached stdio fds per MASK (bit 0 stdin,
 * bit 1 stdout, bit 2 stderr).  Takes ownership of all fds.  The child
 * then reads its SPAWN request from the status socket by itself; a
 * request asking for more verbosity raises CTX's.  Never blocks.
 */
void rchild_new(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds);

/* Whether any child is still held (running, starting or not yet swept): a master is not idle then. */
int rchild_any(void);

/*
 * As rchild_new(), but the child is not run: its caller is answered with
 * ERROR CODE MSG on the status socket, and the fds are closed once it is
 * swept.  For a request the relay cannot afford (out of fds).
 */
void rchild_refuse(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds, int code, const char *msg);

/* Frees every child, dead or alive (the caller is gone), before conn_close_all(). */
void rchild_free_all(void);

#endif
