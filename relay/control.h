/*
 * control.h — the relay's side of the control socket to the library that
 * started it: the greeting, then one message per child (doc/PROTOCOL.md,
 * "Library and relay").
 */
#ifndef CPREMOTE_RELAY_CONTROL_H
#define CPREMOTE_RELAY_CONTROL_H

#include "log.h"

/*
 * Sends the greeting (magic, control version, our pid) on FD, the control
 * socket, before anything else: the library checks it before it sends a
 * child.  Blocks at most for one local send on a fresh socket.  Returns 0,
 * or -errno (the caller is gone: the relay has no one to serve).
 */
int control_greet(int fd);

/* What control_on_readable() found. */
enum {
	CONTROL_MORE,
	CONTROL_GONE,
	CONTROL_EXIT
};

/*
 * Reads one control message from FD (non-blocking) and starts the child it
 * carries, in CTX.  Returns CONTROL_MORE, CONTROL_GONE at end of file (the
 * caller is gone: its children end as their status sockets close), or
 * CONTROL_EXIT for an exit request (cprun -O exit).  Never blocks.
 */
int control_on_readable(struct relay_ctx *ctx, int fd);

#endif
