/*
 * sshauth.c — the keys and the jump hosts of a destination from `ssh -G`
 * (see sshauth.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sshauth.h"
#include "sshconf.h"

/* Whether one of D's -o options is a ProxyJump (which libssh alone cannot honour with -F). */
static int has_jump_option(const struct conn_key *d)
{
	for (char **o = d->options; o && *o; o++)
		if (strncasecmp(*o, "ProxyJump", 9) == 0 && strchr("= \t", (*o)[9]))
			return 1;
	return 0;
}

/* Sets S's ProxyCommand for G's ProxyJump, if any; CONFIG is passed on to the jump's ssh. */
static int set_jump(ssh_session s, const struct sshconf *g, const char *config, char *msg, size_t msglen)
{
	const char *jump = sshconf_get(g, "proxyjump");
	char *cmd;
	int rc = 0;

	if (!jump || strcasecmp(jump, "none") == 0)
		return 0;
	cmd = proxy_jump_command(NULL, jump, config, msg, msglen);
	if (!cmd)
		return -EINVAL;
	if (ssh_options_set(s, SSH_OPTIONS_PROXYCOMMAND, cmd) < 0) {
		snprintf(msg, msglen, "cannot set the ProxyCommand of ProxyJump %s: %s", jump,
			 ssh_get_error(s));
		rc = -EINVAL;
	}
	free(cmd);
	return rc;
}

int sshauth_configure(ssh_session s, const struct conn_key *d, struct auth_conf *ac, struct proxy_err *pe,
		      char *msg, size_t msglen)
{
	size_t n = 0;
	const char **opts;
	char *identity = NULL;
	struct sshconf g = { 0 };
	int rc;

	for (char **o = d->options; o && *o; o++)
		n++;
	opts = calloc(n + 2, sizeof *opts);
	if (!opts || (d->identity && asprintf(&identity, "IdentityFile=%s", d->identity) < 0)) {
		free(opts);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	n = 0;
	/* -i comes before the config's IdentityFile lines, as in ssh. */
	if (identity)
		opts[n++] = identity;
	for (char **o = d->options; o && *o; o++)
		opts[n++] = *o;
	{
		struct sshconf_query q = { .config = d->config,
					   .user = d->user,
					   .port = d->port,
					   .options = opts,
					   .host = d->host };

		rc = sshconf_eval(&q, &g, msg, msglen);
	}
	if (rc == 0) {
		rc = auth_conf_from_sshconf(ac, &g, d->host, msg, msglen);
		if (rc == 0)
			rc = set_jump(s, &g, d->config, msg, msglen);
	} else if (has_jump_option(d)) {
		snprintf(msg + strlen(msg), msglen - strlen(msg),
			 "%s-o ProxyJump needs the OpenSSH client (ssh) to evaluate the configuration",
			 *msg ? "; " : "");
		rc = -EINVAL;
	} else {
		/* No ssh client: libssh's own reading of the config stays. */
		msg[0] = '\0';
		rc = 0;
	}
	sshconf_free(&g);
	free(identity);
	free(opts);
	return rc < 0 ? rc : proxy_capture_stderr(s, pe, msg, msglen);
}
