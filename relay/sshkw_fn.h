/*
 * sshkw_fn.h — the functions that apply one ssh_config keyword's value
 * (sshkw_fn.c), and the table entry they are given; the table itself and
 * the loops over an evaluation are sshkw.c.
 */
#ifndef CPREMOTE_SSHKW_FN_H
#define CPREMOTE_SSHKW_FN_H

#include <stddef.h>

#include "sshkw.h"

struct sshkw;
/* Applies one VALUE of KW to T.  Returns 0, or CPREMOTE_EINVAL with MSG set. */
typedef int kw_fn(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		  size_t msglen);

struct sshkw {
	const char *name; /* as ssh_config(5) spells it */
	enum sshkw_kind kind;
	kw_fn *fn; /* NULL: the kind says it all */
	const char *why; /* for a refusal, a warning or -v */
	enum ssh_options_e o1, o2; /* for kw_libssh: the libssh option(s) */
};

/* Prints "HOST: ssh_config NAME VALUE: ignored: WHY" unless LogLevel is quiet. */
void sshkw_warn(struct sshkw_target *t, const char *name, const char *value, const char *why);

/* Writes the refusal of NAME VALUE (WHY) into MSG.  Returns CPREMOTE_EINVAL. */
int sshkw_refuse(const char *name, const char *value, const char *why, char *msg, size_t msglen);

/* The keywords' functions (one per kind of value), as the table names them. */
kw_fn kw_libssh, kw_hostname, kw_timeout, kw_attempts, kw_alive, kw_alive_count, kw_persist, kw_strict,
	kw_known, kw_alias, kw_hash, kw_family, kw_loglevel, kw_sendenv, kw_setenv, kw_rekey, kw_rsa_size,
	kw_identity, kw_agent, kw_proxycommand, kw_proxyjump, kw_forward, kw_unless_no;

#endif
