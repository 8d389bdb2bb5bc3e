/* session.h — libssh session set-up from a destination (session.c). */
#ifndef CPREMOTE_SESSION_H
#define CPREMOTE_SESSION_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "hostkey.h"
#include "relay.h"

/* What the options decide beyond libssh's own settings. */
struct session_opts {
	int handshake_timeout_s; /* ConnectTimeout */
	int keepalive_s; /* ServerAliveInterval (0: off) */
	int keepalive_count; /* ServerAliveCountMax */
	/* A HOSTKEY_* value: StrictHostKeyChecking from -o, or --accept-new */
	int accept_new;
	int idle_close_s; /* ControlPersist: how long a connection outlives its last child */
};

/*
 * Makes S non-blocking and configures it for D: host, the ssh_config (D's
 * file, else ~/.ssh/config), then user, port, identity and "-o" options,
 * which win over the config as with ssh.  Never allows a password or
 * keyboard prompt.  SO must hold the defaults; the options may change
 * them.  Returns 0, or -1 with a message in MSG.
 */
int session_configure(ssh_session s, const struct dest *d, struct session_opts *so, char *msg, size_t msglen);

#endif
