/* session.h — libssh session set-up from a destination (session.c). */
#ifndef CPREMOTE_SESSION_H
#define CPREMOTE_SESSION_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "hostkey.h"
#include "log.h"
#include "request.h"
#include "sshauth.h"

/* What the options decide beyond libssh's own settings. */
struct session_opts {
	int handshake_timeout_s; /* ConnectTimeout */
	int keepalive_s; /* ServerAliveInterval (0: off) */
	int keepalive_count; /* ServerAliveCountMax */
	/* A HOSTKEY_* value: StrictHostKeyChecking from -o, or --accept-new */
	int accept_new;
	int idle_close_s; /* ControlPersist: how long a connection outlives its last child */
	struct auth_conf auth; /* the keys to offer (sshauth.c) */
	struct proxy_err proxy; /* the ProxyCommand's stderr */
};

/* Releases what SO holds beyond numbers (kept reusable: session_configure() may follow). */
void session_opts_free(struct session_opts *so);

/* The defaults of struct session_opts, before any option. */
struct session_opts session_opts_default(void);

/*
 * Makes S non-blocking and configures it for K: host, the ssh_config (K's
 * file, else ~/.ssh/config), then user, port, identity and "-o" options,
 * which win over the config as with ssh; VERBOSITY sets libssh's log
 * level.  Never allows a password or keyboard prompt.  SO must hold the
 * defaults; the options may change them.  Returns 0, or CPREMOTE_EINVAL
 * with a message in MSG.
 */
int session_configure(ssh_session s, const struct conn_key *k, int verbosity, struct session_opts *so,
		      char *msg, size_t msglen);

/*
 * Whether the error that ended S's handshake is one a new attempt cannot
 * mend: the two sides share no algorithm of some kind (key exchange, host
 * key, cipher, MAC, compression), which libssh finds on reading the
 * server's offer.  Returns 1 or 0 (also 0 when S has no error).  A server
 * that only closes the connection, as sshd beyond MaxStartups, is not final.
 */
int session_error_is_final(ssh_session s);

/*
 * The reason S's handshake failed, for the user: for a failed negotiation,
 * what was negotiated, both sides' lists and the option that sets ours;
 * else libssh's message.  Static storage (or S's), valid until the next call
 * or until S is freed; the relay has one thread.  Never NULL.
 */
const char *session_error_message(ssh_session s);

#endif
