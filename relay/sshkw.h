/*
 * sshkw.h — what cprun does with each ssh_config keyword (sshkw.c): one
 * table, so that a keyword means the same from a file and from -o.  Each
 * keyword is honoured (applied to the libssh session or to struct
 * session_opts), refused (the connection is not made, with the reason),
 * warned about (ignored, with a line on stderr unless LogLevel is quiet)
 * or not applicable (nothing to do for a program run without a terminal
 * or prompts; said with -v).  README's table "ssh_config and ssh options"
 * lists the same.
 */
#ifndef CPREMOTE_SSHKW_H
#define CPREMOTE_SSHKW_H

#include <stddef.h>
#include <libssh/libssh.h>

#include "log.h"
#include "session.h"
#include "sshconf.h"

enum sshkw_kind {
	SSHKW_HONOUR, /* applied when its value differs from ssh's default */
	SSHKW_ALWAYS, /* applied whatever its value (host, user, port, known_hosts) */
	SSHKW_REFUSE, /* a value other than the default stops the connection */
	SSHKW_WARN, /* a value other than the default is ignored, with a warning */
	SSHKW_NA /* not applicable; said with -v */
};

/* What the keywords are applied to. */
struct sshkw_target {
	ssh_session s;
	struct session_opts *so;
	const struct relay_ctx *ctx; /* for the warnings */
	const char *host; /* the destination as given: messages and the %n token */
	const char *config; /* K's -F file, or NULL: for the ssh a ProxyJump runs */
	const struct sshconf *c; /* the evaluation (ssh -G); an empty one for the fallback's -o */
	int fallback; /* no ssh -G: values as the user typed them */
};

/* The kind of KEYWORD (any case), or -1 when the table does not know it. */
int sshkw_kind(const char *keyword);

/*
 * Applies the evaluation T->c, keyword by keyword, to T: each keyword
 * whose values differ from DEFAULTS' (ssh -G -F /dev/null), and the
 * SSHKW_ALWAYS ones whatever they are.  A keyword the table does not
 * know is warned about.  Returns 0, or CPREMOTE_EINVAL with MSG set (a
 * refused keyword or a value libssh refused).
 */
int sshkw_apply_all(struct sshkw_target *t, const struct sshconf *defaults, char *msg, size_t msglen);

/*
 * Applies one "Keyword=value" (or "Keyword value") of -o to T, for the
 * fallback without the OpenSSH client: the same table, the value taken as
 * given.  Returns 0, or CPREMOTE_EINVAL with MSG set (also for a keyword
 * the table does not know).
 */
int sshkw_apply_option(struct sshkw_target *t, const char *opt, char *msg, size_t msglen);

#endif
