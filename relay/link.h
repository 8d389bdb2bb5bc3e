/*
 * link.h — one SSH connection brought up to a running helper (link.c):
 * connect (with retries when the server drops the handshake, and as
 * ConnectionAttempts says when it refuses), host key check, public-key
 * authentication, one session channel, its environment and the exec of
 * the helper or of the run stub (an upload goes over that same channel,
 * driven by the owner).  libssh is driven without blocking
 * from the relay's loop.  The bottom layer of a connection: it knows
 * nothing of frames or children and reports to its owner (conn.c) only
 * through struct link_ops.
 */
#ifndef CPREMOTE_RELAY_LINK_H
#define CPREMOTE_RELAY_LINK_H

#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "log.h"
#include "request.h"
#include "session.h"

#define LINK_STDERR_TAIL 1024
/* How much helper stderr -v shows; the rest is counted. */
#define LINK_STDERR_LOG (64 * 1024)

enum link_state {
	L_CONNECTING,
	L_AUTH,
	L_OPEN,
	L_ENV, /* SendEnv and SetEnv, one request each, before the exec */
	L_EXEC,
	L_RUNNING, /* the exec channel runs the helper (or the stub): the owner moves bytes */
	L_STOPPED /* failed, or stopped by the owner: no event fires any more */
};

/* How the link reports to its owner; ARG is the owner's. */
struct link_ops {
	/* The exec channel was opened: frames may be queued for it. */
	void (*on_exec)(void *arg);
	/* A socket event while L_RUNNING: move bytes.  Returns 0, or < 0 when the owner failed. */
	int (*on_io)(void *arg);
	/* The link failed and is stopped; CODE (cpremote.h) and MSG for the children. */
	void (*on_fail)(void *arg, int code, const char *msg);
};

struct link {
	const struct relay_ctx *ctx;
	const struct conn_key *key; /* the owner's, outlives the link */
	const char *command; /* the exec string (the owner's): the helper, or the run stub */
	int verbosity; /* of the request that opened the connection: libssh's log level */
	const struct link_ops *ops;
	void *arg;

	enum link_state state;
	ssh_session s;
	ssh_channel ch; /* the exec channel */
	int fd;
	struct event *rd, *wr, *kick, *deadline;
	char config_error[512];
	struct session_opts so;
	int attempts; /* handshakes dropped by the server so far */
	int tries; /* connects refused so far (ConnectionAttempts) */
	size_t env_i; /* the next variable of so.env to send */
	char stderr_tail[LINK_STDERR_TAIL + 1];
	size_t stderr_len;
	uint64_t stderr_total; /* every byte the helper wrote to stderr */
	char stderr_safe[4 * LINK_STDERR_TAIL + 1]; /* the last line, escaped (link_stderr_line) */
	struct ssh_channel_callbacks_struct data_cb; /* takes stderr as it arrives (link.c) */
};

/*
 * Sets up L for KEY, to run COMMAND (kept, not copied), and starts it
 * from the loop (a bad configuration is reported then, through on_fail,
 * so that the children are attached by that time).  Returns 0, or
 * -ENOMEM (L must still be link_free()d).
 */
int link_start(struct link *l, const struct relay_ctx *ctx, const struct conn_key *key, int verbosity,
	       const char *command, const struct link_ops *ops, void *arg);

/* Advances L as far as it goes without blocking (moving bytes through on_io once running). */
void link_step(struct link *l);

/* Asks for a write from the loop, so that many frames of one turn go out together. */
void link_want_write(struct link *l);

/* Whether the exec channel runs (frames may be written and read). */
int link_running(const struct link *l);

/* The helper answered: the handshake deadline no longer applies. */
void link_handshake_done(struct link *l);

/*
 * The remote side's stderr is taken continuously, as libssh receives it
 * (a channel callback): its tail is kept for messages, its start shown
 * (escaped) with -v, the rest counted in stderr_total.  Bounded memory
 * whatever the helper writes.  This call also takes in what the socket
 * holds now, never blocking: for a final message when the channel failed.
 */
void link_drain_stderr(struct link *l);

/*
 * The last line of that stderr (maybe ""), its control bytes escaped
 * (relay_escape()), valid until the next call.
 */
const char *link_stderr_line(struct link *l);

/* Stops every event of L (it fires no more); L stays valid until link_free(). */
void link_stop(struct link *l);

/* Closes the channels (the helper then ends its children) and the session. */
void link_free(struct link *l);

#endif
