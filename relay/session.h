/* session.h — libssh session set-up from a destination (session.c). */
#ifndef CPREMOTE_SESSION_H
#define CPREMOTE_SESSION_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "hostkey.h"
#include "log.h"
#include "request.h"

/* What the options decide beyond libssh's own settings (sshkw.c fills it). */
struct session_opts {
	int handshake_timeout_s; /* ConnectTimeout */
	int connection_attempts; /* ConnectionAttempts: tries of a refused connect, a second apart */
	int keepalive_s; /* ServerAliveInterval (0: off) */
	int keepalive_count; /* ServerAliveCountMax */
	int idle_close_s; /* ControlPersist: how long a connection outlives its last child */
	int quiet; /* LogLevel QUIET, FATAL or ERROR: no warnings */
	int debug; /* LogLevel DEBUG1..3 (1..3): libssh's log as with -v..-vvv */
	int family; /* AddressFamily: AF_UNSPEC, AF_INET or AF_INET6 */
	int proxied; /* a ProxyCommand or ProxyJump carries the connection */
	struct hostkey_policy hk; /* StrictHostKeyChecking, known_hosts files, HostKeyAlias, HashKnownHosts */
	char **env; /* SendEnv and SetEnv: "NAME=VALUE" for every session channel, NULL-terminated, or NULL */
};

/* The defaults of struct session_opts, before any option (nothing allocated). */
struct session_opts session_opts_default(void);

/* Releases what SO holds and sets it back to the defaults. */
void session_opts_free(struct session_opts *so);

/*
 * Makes S non-blocking and configures it for K and fills *SO (released
 * first, then released by the caller with session_opts_free()).  The
 * ssh_config is evaluated once for the file and the command line: by
 * OpenSSH's `ssh -G` (K's -F, -l, -p, -i and -o passed to it) when the
 * client is installed, each keyword it prints then applied or refused
 * through sshkw.c; else by libssh's parser, with the -o options through
 * the same table.  CTX logs which ran (-v) and the warnings.  VERBOSITY
 * sets libssh's log level.  Never allows a password or keyboard prompt.
 * May block while ssh -G runs (at most SSHCONF_TIMEOUT_MS).  Returns 0,
 * or CPREMOTE_EINVAL with a message in MSG.
 */
int session_configure(ssh_session s, const struct relay_ctx *ctx, const struct conn_key *k, int verbosity,
		      struct session_opts *so, char *msg, size_t msglen);

/* Releases the cached ssh -G defaults (at the relay's exit). */
void session_cache_free(void);

/*
 * Resolves S's host for SO's AddressFamily (when not "any" and not
 * proxied) and connects to that address, known_hosts still checked under
 * the name.  Blocks on the resolver, as libssh's connect does.  Returns
 * 0, or CPREMOTE_ECONNECT with a message in MSG.
 */
int session_resolve(ssh_session s, const struct session_opts *so, char *msg, size_t msglen);

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
