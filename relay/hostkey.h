/* hostkey.h — the server's key against known_hosts, as ssh(1) checks it (hostkey.c). */
#ifndef CPREMOTE_HOSTKEY_H
#define CPREMOTE_HOSTKEY_H

#include <stddef.h>
#include <libssh/libssh.h>

/* What to do with a key no known_hosts file has (the ACCEPT_NEW argument below). */
enum {
	HOSTKEY_STRICT = -1, /* refuse it: StrictHostKeyChecking yes (or ask) on the command line */
	HOSTKEY_AS_CONFIG = 0, /* refuse it unless the ssh_config says StrictHostKeyChecking no */
	HOSTKEY_ACCEPT_NEW = 1, /* record it: --accept-new, StrictHostKeyChecking accept-new or no */
};

/*
 * Checks the key of the connected server S against the user's known_hosts
 * file (UserKnownHostsFile, default ~/.ssh/known_hosts) and the global one
 * (GlobalKnownHostsFile, default /etc/ssh/ssh_known_hosts), read here and
 * not through libssh's verdict, which a config's StrictHostKeyChecking no
 * turns into "known" for a changed key.  In order:
 *   - a file that exists but cannot be read (out of fds, a read error; not
 *     EACCES, which ssh skips too) fails the check (CPREMOTE_ECONNECT);
 *   - a key listed @revoked for the host is refused (CPREMOTE_EHOSTKEY_CHANGED);
 *   - a key recorded for the host is accepted;
 *   - a different key recorded for the host is refused, whatever the policy
 *     (CPREMOTE_EHOSTKEY_CHANGED);
 *   - a host covered by a @cert-authority line is refused: host
 *     certificates are not verified over libssh (CPREMOTE_EHOSTKEY_UNKNOWN);
 *   - an unknown key is recorded in the user's file when ACCEPT_NEW (one of
 *     the HOSTKEY_* values) allows it, else refused (CPREMOTE_EHOSTKEY_UNKNOWN).
 * Returns 0, or the code with a message in MSG naming HOST, the key's
 * fingerprint and the file:line concerned.  Blocks only on local files.
 */
int session_check_host_key(ssh_session s, const char *host, int accept_new, char *msg, size_t msglen);

#endif
