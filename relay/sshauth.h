/*
 * sshauth.h — the keys and the jump hosts of a destination, taken from
 * OpenSSH's own evaluation of its ssh_config (sshauth.c): what auth.c
 * offers, and the ProxyCommand of a ProxyJump (proxy.c).
 */
#ifndef CPREMOTE_RELAY_SSHAUTH_H
#define CPREMOTE_RELAY_SSHAUTH_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "auth.h"
#include "proxy.h"
#include "request.h"

/*
 * Evaluates D's configuration with `ssh -G` (blocks at most
 * SSHCONF_TIMEOUT_MS) and fills *AC (IdentityFile, CertificateFile,
 * IdentitiesOnly, IdentityAgent) and, for a ProxyJump, S's ProxyCommand;
 * then makes any ProxyCommand of S keep its stderr in *PE.  Without an
 * ssh client (or when it refuses the configuration) AC->have stays 0 and
 * libssh's own handling remains, except that a ProxyJump from -o is then
 * an error.  AC and PE are zeroed by the caller and released with
 * auth_conf_free() and proxy_err_free().  Returns 0, or a negative code
 * with MSG set.
 */
int sshauth_configure(ssh_session s, const struct conn_key *d, struct auth_conf *ac, struct proxy_err *pe,
		      char *msg, size_t msglen);

#endif
