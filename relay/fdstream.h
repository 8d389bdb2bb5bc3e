/*
 * fdstream.h — fds the caller passed on its channel (SCM_RIGHTS), proxied
 * to the remote child as fd streams 4..255 (doc/PROTOCOL.md "Passing
 * fds").  Part of the child layer: child.c calls it, never the reverse
 * (it reaches child.c only through the drained callback).
 */
#ifndef CPREMOTE_RELAY_FDSTREAM_H
#define CPREMOTE_RELAY_FDSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "localfd.h"
#include "proto.h"

struct rchild;

/* One proxied fd: the caller's fd, read and written like the channel socket. */
struct rfdp {
	struct rchild *c;
	int s; /* the stream number */
	struct localfd lfd;
	struct event *rd_ev, *wr_ev;
	struct cpr_buf out; /* what the helper sent, not yet written */
	uint32_t credit, unacked;
	int in_eof, out_eof, out_done, out_broken;
};

/*
 * Takes FD, which came with channel byte AT of C (counted from 0), and
 * makes it the next fd stream: sends FD_OPEN, then pumps it.  Returns 0,
 * or -errno with WHY (a sentence) when it cannot be proxied (a listening
 * or datagram socket, a file, a device, no stream left, a helper without
 * CPR_CAP_FDPASS); FD is closed then and nothing is sent.
 */
int fdstream_open(struct rchild *c, int fd, uint64_t at, char *why, size_t whylen);

/* A helper frame (DATA, EOF, CREDIT) on fd stream h->stream of C. */
void fdstream_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *p);

/* Whether an fd stream of C still holds bytes for the caller (its EXIT waits for them). */
int fdstream_pending(const struct rchild *c);

/* Stops every event of C's fd streams (C is dead). */
void fdstream_stop(struct rchild *c);

/* The caller let go: what waits is dropped and credited. */
void fdstream_orphan(struct rchild *c);

/* Closes and frees C's fd streams. */
void fdstream_free(struct rchild *c);

/* Called (with the child) when an fd stream has written all it held: child.c's EXIT check. */
void fdstream_set_drained(void (*fn)(struct rchild *c));

#endif
