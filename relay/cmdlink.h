/*
 * cmdlink.h — a connection whose stream is a local command's stdin and
 * stdout (cmdlink.c): `ssh`, `docker exec`, `kubectl exec`, `aws ssm`, or
 * any exec: command reaching a POSIX shell (transport.h builds its argv).
 * It runs the same exec string as the SSH link (the helper, or the run
 * stub) and reports to its owner through the same struct link_ops, so the
 * multiplexer (conn.c, through carrier.h) treats both alike.  When the
 * stub asks for the helper, the upload goes over the same stream (one run
 * of the command carries everything), without blocking.
 */
#ifndef CPREMOTE_RELAY_CMDLINK_H
#define CPREMOTE_RELAY_CMDLINK_H

#include <sys/types.h>

#include "link.h"
#include "log.h"
#include "request.h"
#include "session.h"

struct cmdlink {
	const struct relay_ctx *ctx;
	const struct conn_key *key; /* the owner's, outlives the link */
	const char *command; /* the exec string (the owner's) */
	const struct link_ops *ops;
	void *arg;

	enum link_state state; /* L_CONNECTING until the command runs, then L_RUNNING */
	pid_t pid;
	int in, out, err; /* the command's stdin (ours to write), stdout, stderr; -1 when closed */
	struct event *rd, *wr, *er, *kick, *deadline;
	struct session_opts so; /* the defaults: ssh_config applies inside the command */
	char stderr_tail[LINK_STDERR_TAIL + 1];
	size_t stderr_len;
};

/*
 * Sets up L and starts its command, carrying the exec string COMMAND
 * (kept, not copied), from the loop.  Returns 0, or -ENOMEM (free L still).
 */
int cmdlink_start(struct cmdlink *l, const struct relay_ctx *ctx, const struct conn_key *key,
		  const char *command, const struct link_ops *ops, void *arg);

/* Calls on_io when running (the loop's events land here). */
void cmdlink_step(struct cmdlink *l);

/* Asks for a write from the loop. */
void cmdlink_want_write(struct cmdlink *l);

/*
 * Writes up to N bytes of P without blocking.  Returns the count (0 when
 * the pipe is full: the write event is armed), or a negative code when
 * the command's stdin is gone.
 */
int cmdlink_write(struct cmdlink *l, const void *p, size_t n);

/* Reads up to N bytes without blocking.  Returns the count, 0 when none is there, < 0 at EOF or on an error. */
int cmdlink_read(struct cmdlink *l, void *buf, size_t n);

/* Takes what the command wrote to stderr (kept for messages, shown with -v). */
void cmdlink_drain_stderr(struct cmdlink *l);

/* Stops every event of L; L stays valid until cmdlink_free(). */
void cmdlink_stop(struct cmdlink *l);

/* Closes the command's stdin (the helper then ends its children), ends and reaps the command. */
void cmdlink_free(struct cmdlink *l);

#endif
