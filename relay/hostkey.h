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
 * Which files and names the check uses, from the ssh_config (session.c).
 * The lists are NULL-terminated; NULL: libssh's file of S (the fallback
 * without the OpenSSH client).  The first user file is the one written.
 */
struct hostkey_policy {
	int accept_new; /* a HOSTKEY_* value */
	char **user_files; /* UserKnownHostsFile, in order */
	char **global_files; /* GlobalKnownHostsFile, in order */
	char *alias; /* HostKeyAlias: the name looked up and recorded, or NULL */
	char *hostname; /* the host's name for known_hosts ([name]:port off 22), or NULL: libssh's host */
	int hash; /* HashKnownHosts: record the name hashed (|1|salt|hmac) */
};

/*
 * Checks the key of the connected server S against the user's known_hosts
 * files (UserKnownHostsFile, default ~/.ssh/known_hosts) and the global ones
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
 *   - an unknown key is recorded in the first user file when P->accept_new
 *     allows it (hashed when P->hash), else refused (CPREMOTE_EHOSTKEY_UNKNOWN).
 * The host is looked up as P->alias when set, else as P->hostname with
 * its port, as ssh does.
 * Returns 0, or the code with a message in MSG naming HOST, the key's
 * fingerprint and the file:line concerned.  Blocks only on local files.
 */
int session_check_host_key(ssh_session s, const char *host, const struct hostkey_policy *p, char *msg,
			   size_t msglen);

#endif
