/*
 * auth.h — public-key authentication the way ssh(1) does it (auth.c):
 * OpenSSH's order of keys (CertificateFile certificates, the IdentityFile
 * keys the agent holds, the agent's other keys unless IdentitiesOnly, then
 * the IdentityFile keys and their key-cert.pub certificates read from
 * disk), keys offered one at a time so that the relay knows what the
 * server refused, and a message that says why when none was accepted.
 * Never a prompt: a passphrase-protected key not in the agent is skipped
 * and named.  Driven without blocking, except for the local agent.
 */
#ifndef CPREMOTE_RELAY_AUTH_H
#define CPREMOTE_RELAY_AUTH_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "agentfilter.h"
#include "sshconf.h"

/* What the ssh_config says about keys, as evaluated by ssh -G (authconf.c). */
struct auth_conf {
	int have; /* 0: no evaluation (no ssh client): libssh's own publickey_auto */
	int identities_only;
	char **identities; /* IdentityFile, expanded, NULL-terminated */
	char **certs; /* CertificateFile, expanded, NULL-terminated */
	char *agent_sock; /* IdentityAgent or SSH_AUTH_SOCK; NULL: no agent */
};

/*
 * Fills *A (zeroed by the caller, released with auth_conf_free()) from the
 * evaluated configuration G of ORIGHOST.  Returns 0, or a negative errno
 * (-EINVAL: a file name with an unknown %-token) with MSG set.
 */
int auth_conf_from_sshconf(struct auth_conf *a, const struct sshconf *g, const char *orighost, char *msg,
			   size_t msglen);

/* Releases what A holds and zeroes it; accepts a zeroed A. */
void auth_conf_free(struct auth_conf *a);

/* One key to offer. */
struct auth_cand {
	int agent; /* index into the agent's keys, or -1: the key is read from PATH */
	char *path; /* the private key file (NULL for an agent key not in any IdentityFile) */
	char *cert; /* the certificate file offered with PATH's private key, or NULL */
	ssh_key pub; /* what is offered: the public key or the certificate; NULL: libssh could not read the agent's */
};

/* One authentication in progress. */
struct auth {
	const struct auth_conf *conf;
	int prepared;
	struct auth_cand *c;
	size_t n, i;
	int phase; /* of c[i]: 0 offer, 1 sign, 2 signing by the agent (through the filter) */
	ssh_key priv;
	struct agent_keys agent;
	struct agent_filter *filter;
	int refused; /* keys the server refused so far */
	int agent_refused; /* of which from the agent */
	char skipped[768]; /* keys that could not be used, and why */
};

/*
 * Starts an authentication of S with CONF (which must outlive A); A is
 * zeroed here.
 */
void auth_init(struct auth *a, const struct auth_conf *conf);

/*
 * Advances A's authentication on S without blocking on the network.
 * Returns SSH_AUTH_AGAIN (call again on the next socket event),
 * SSH_AUTH_SUCCESS, or SSH_AUTH_DENIED / SSH_AUTH_ERROR with the reason
 * in MSG (what was offered, what the server did, what to change).
 */
int auth_step(struct auth *a, ssh_session s, char *msg, size_t msglen);

/* Releases what A holds (the agent filter ends); accepts a zeroed A. */
void auth_free(struct auth *a);

#endif
