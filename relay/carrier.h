/*
 * carrier.h — what carries a connection's stream (carrier.c): the SSH
 * link of libssh (link.h) for a bare destination, or a local command
 * (cmdlink.h) for one that names a transport (transport.h).  The
 * multiplexer (conn.c) calls only these, so it does not care which.
 */
#ifndef CPREMOTE_RELAY_CARRIER_H
#define CPREMOTE_RELAY_CARRIER_H

#include "cmdlink.h"
#include "link.h"

struct carrier {
	int is_cmd; /* which of the two below is in use */
	struct link ssh;
	struct cmdlink cmd;
};

/*
 * Starts the carrier KEY's host names, running the exec string COMMAND
 * (see link_start() and cmdlink_start()).  Returns 0 or -ENOMEM.
 */
int carrier_start(struct carrier *c, const struct relay_ctx *ctx, const struct conn_key *key, int verbosity,
		  const char *command, const struct link_ops *ops, void *arg);

/* The rest are those of link.h, for either carrier. */
void carrier_step(struct carrier *c);
void carrier_want_write(struct carrier *c);
int carrier_running(const struct carrier *c);
void carrier_handshake_done(struct carrier *c);
void carrier_drain_stderr(struct carrier *c);
const char *carrier_stderr_line(struct carrier *c);
void carrier_stop(struct carrier *c);
void carrier_free(struct carrier *c);

/* The options in force (ServerAlive*, ControlPersist: defaults for a command). */
const struct session_opts *carrier_opts(const struct carrier *c);

/*
 * Writes up to N bytes without blocking.  Returns the count (0: no room
 * now, a later event comes), or < 0 when the stream is lost, with the
 * reason in WHY.
 */
int carrier_write(struct carrier *c, const void *p, size_t n, const char **why);

/* Reads up to N bytes without blocking.  Returns the count, 0 when none is there, < 0 when the stream ended. */
int carrier_read(struct carrier *c, void *buf, size_t n);

/* Whether another write may take bytes at once (the SSH window; a pipe says so by EAGAIN). */
int carrier_room(const struct carrier *c);

#endif
