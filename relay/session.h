/* session.h — libssh session set-up from a destination (session.c). */
#ifndef CPREMOTE_SESSION_H
#define CPREMOTE_SESSION_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "log.h"
#include "request.h"

/* What the options decide beyond libssh's own settings. */
struct session_opts {
	int handshake_timeout_s; /* ConnectTimeout */
	int keepalive_s; /* ServerAliveInterval (0: off) */
	int keepalive_count; /* ServerAliveCountMax */
	int accept_new; /* StrictHostKeyChecking=accept-new or --accept-new */
	int idle_close_s; /* ControlPersist: how long a connection outlives its last child */
};

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
 * Checks the connected server's key against known_hosts.  An unknown key
 * is recorded when ACCEPT_NEW, else refused; a changed key always is.
 * Returns 0, or a cpremote error code with a message (naming HOST, the
 * key's fingerprint and the known_hosts file) in MSG.
 */
int session_check_host_key(ssh_session s, const char *host, int accept_new, char *msg, size_t msglen);

#endif
