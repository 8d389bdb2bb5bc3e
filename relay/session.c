/*
 * session.c — setting up a libssh session the way ssh(1) would: the
 * ssh_config, the command-line options that override it, and the
 * error that no retry can mend.  The known_hosts check is hostkey.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpremote.h"
#include "session.h"

/* Reads a whole number of at least MIN into *OUT.  Returns 0, or CPREMOTE_EINVAL with MSG set. */
static int seconds(const char *name, const char *value, long min, int *out, char *msg, size_t msglen)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (*value == '\0' || *end != '\0' || v < min || v > 86400) {
		snprintf(msg, msglen, "bad value for -o %s: \"%s\" (a whole number from %ld)", name, value,
			 min);
		return CPREMOTE_EINVAL;
	}
	*out = (int)v;
	return 0;
}

/*
 * StrictHostKeyChecking, which wins over the ssh_config's.  "no" records an
 * unknown key as accept-new does and never lets a changed one through
 * (ssh's "no" would); "ask" is "yes", since there is never a prompt.
 */
static int strict_host_key_checking(const char *value, struct session_opts *so, char *msg, size_t msglen)
{
	static const char *const strict[] = { "yes", "true", "ask" };
	static const char *const accept[] = { "accept-new", "no", "false", "off" };

	for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++)
		if (strcasecmp(value, strict[i]) == 0) {
			so->accept_new = HOSTKEY_STRICT;
			return 0;
		}
	for (size_t i = 0; i < sizeof accept / sizeof accept[0]; i++)
		if (strcasecmp(value, accept[i]) == 0) {
			so->accept_new = HOSTKEY_ACCEPT_NEW;
			return 0;
		}
	snprintf(msg, msglen, "bad value for -o StrictHostKeyChecking: \"%s\" (yes, accept-new or no)",
		 value);
	return CPREMOTE_EINVAL;
}

/* ControlPersist: seconds, or yes (a day: the master's own clock ends it) and no (0). */
static int control_persist(const char *value, struct session_opts *so, char *msg, size_t msglen)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0) {
		so->idle_close_s = 86400;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0) {
		so->idle_close_s = 0;
		return 0;
	}
	return seconds("ControlPersist", value, 0, &so->idle_close_s, msg, msglen);
}

/* Sets an "-o Option=value" the way ssh -o would.  Returns 0 or CPREMOTE_EINVAL with MSG set. */
static int apply_option(ssh_session s, struct session_opts *so, const char *opt, char *msg, size_t msglen)
{
	static const struct {
		const char *name;
		enum ssh_options_e o1, o2;
	} map[] = {
		{ "Ciphers", SSH_OPTIONS_CIPHERS_C_S, SSH_OPTIONS_CIPHERS_S_C },
		{ "MACs", SSH_OPTIONS_HMAC_C_S, SSH_OPTIONS_HMAC_S_C },
		{ "KexAlgorithms", SSH_OPTIONS_KEY_EXCHANGE, SSH_OPTIONS_KEY_EXCHANGE },
		{ "HostKeyAlgorithms", SSH_OPTIONS_HOSTKEYS, SSH_OPTIONS_HOSTKEYS },
		{ "Port", SSH_OPTIONS_PORT_STR, SSH_OPTIONS_PORT_STR },
		{ "User", SSH_OPTIONS_USER, SSH_OPTIONS_USER },
		{ "IdentityFile", SSH_OPTIONS_ADD_IDENTITY, SSH_OPTIONS_ADD_IDENTITY },
		{ "UserKnownHostsFile", SSH_OPTIONS_KNOWNHOSTS, SSH_OPTIONS_KNOWNHOSTS },
		{ "GlobalKnownHostsFile", SSH_OPTIONS_GLOBAL_KNOWNHOSTS, SSH_OPTIONS_GLOBAL_KNOWNHOSTS },
		{ "Compression", SSH_OPTIONS_COMPRESSION, SSH_OPTIONS_COMPRESSION },
		{ "ProxyCommand", SSH_OPTIONS_PROXYCOMMAND, SSH_OPTIONS_PROXYCOMMAND },
	};
	char name[64];
	const char *value;
	size_t n = strcspn(opt, "= \t");

	if (n == 0 || n >= sizeof name || opt[n] == '\0')
		goto bad;
	memcpy(name, opt, n);
	name[n] = '\0';
	value = opt + n + strspn(opt + n, "= \t");
	if (strcasecmp(name, "ConnectTimeout") == 0)
		return seconds(name, value, 1, &so->handshake_timeout_s, msg, msglen);
	if (strcasecmp(name, "ServerAliveInterval") == 0)
		return seconds(name, value, 0, &so->keepalive_s, msg, msglen);
	if (strcasecmp(name, "ControlPersist") == 0)
		return control_persist(value, so, msg, msglen);
	if (strcasecmp(name, "ServerAliveCountMax") == 0)
		return seconds(name, value, 1, &so->keepalive_count, msg, msglen);
	if (strcasecmp(name, "StrictHostKeyChecking") == 0)
		return strict_host_key_checking(value, so, msg, msglen);
	/* Always on or not applicable: no prompts are ever shown. */
	if (strcasecmp(name, "BatchMode") == 0 || strcasecmp(name, "LogLevel") == 0 ||
	    strcasecmp(name, "IdentitiesOnly") == 0)
		return 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcasecmp(name, map[i].name) != 0)
			continue;
		if (ssh_options_set(s, map[i].o1, value) < 0 ||
		    (map[i].o2 != map[i].o1 && ssh_options_set(s, map[i].o2, value) < 0)) {
			snprintf(msg, msglen, "bad value for -o %s: \"%s\"%s%s", name, value,
				 *ssh_get_error(s) ? ": " : "", ssh_get_error(s));
			return CPREMOTE_EINVAL;
		}
		return 0;
	}
bad:
	snprintf(msg, msglen, "unsupported option -o %s", opt);
	return CPREMOTE_EINVAL;
}

#define HANDSHAKE_TIMEOUT_S 30
#define IDLE_CLOSE_S 2
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3

struct session_opts session_opts_default(void)
{
	return (struct session_opts){ .handshake_timeout_s = HANDSHAKE_TIMEOUT_S,
				      .keepalive_s = KEEPALIVE_INTERVAL_S,
				      .keepalive_count = KEEPALIVE_COUNT,
				      .idle_close_s = IDLE_CLOSE_S };
}

int session_configure(ssh_session s, const struct conn_key *d, int verbosity, struct session_opts *so,
		      char *msg, size_t msglen)
{
	int one = 1, level;

	so->accept_new = HOSTKEY_AS_CONFIG;
	ssh_set_blocking(s, 0);
	if (ssh_options_set(s, SSH_OPTIONS_HOST, d->host) < 0)
		goto libssh_error;
	/* ssh_config first, so that the command line wins as with ssh. */
	if (ssh_options_parse_config(s, d->config) < 0) {
		snprintf(msg, msglen, "cannot read ssh config %s", d->config ? d->config : "~/.ssh/config");
		return CPREMOTE_EINVAL;
	}
	if (d->user && ssh_options_set(s, SSH_OPTIONS_USER, d->user) < 0)
		goto libssh_error;
	if (d->port > 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &d->port) < 0)
		goto libssh_error;
	if (d->identity && ssh_options_set(s, SSH_OPTIONS_ADD_IDENTITY, d->identity) < 0)
		goto libssh_error;
	for (char **o = d->options; o && *o; o++)
		if (apply_option(s, so, *o, msg, msglen) < 0)
			return CPREMOTE_EINVAL;
	if (d->accept_new)
		so->accept_new = HOSTKEY_ACCEPT_NEW;
	/* Small frames must not wait for Nagle and delayed ACKs. */
	ssh_options_set(s, SSH_OPTIONS_NODELAY, &one);
	/* Only keys: never a password or keyboard prompt. */
	ssh_options_set(s, SSH_OPTIONS_PASSWORD_AUTH, &(int){ 0 });
	ssh_options_set(s, SSH_OPTIONS_KBDINT_AUTH, &(int){ 0 });
	ssh_options_set(s, SSH_OPTIONS_GSSAPI_AUTH, &(int){ 0 });
	level = verbosity >= 3 ? SSH_LOG_PROTOCOL : verbosity == 2 ? SSH_LOG_WARNING : SSH_LOG_NOLOG;
	ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &level);
	return 0;
libssh_error:
	snprintf(msg, msglen, "%s", ssh_get_error(s));
	return CPREMOTE_EINVAL;
}

/* libssh's words for what failed to negotiate, and the option that sets each. */
static const struct {
	const char *libssh, *what, *option;
} negotiated[] = {
	{ "kex algos", "key exchange method", "KexAlgorithms" },
	{ "server host key algo", "host key algorithm", "HostKeyAlgorithms" },
	{ "encryption", "cipher", "Ciphers" },
	{ "mac algo", "MAC", "MACs" },
	{ "compression algo", "compression method", "Compression" },
};

#define NO_MATCH "no match for method "

/* The entry of negotiated[] for the failure libssh describes in E, or -1. */
static int negotiation_failure(const char *e)
{
	const char *m = strstr(e, NO_MATCH);

	if (!m)
		return CPREMOTE_EINVAL;
	m += strlen(NO_MATCH);
	for (size_t i = 0; i < sizeof negotiated / sizeof negotiated[0]; i++)
		if (strncmp(m, negotiated[i].libssh, strlen(negotiated[i].libssh)) == 0)
			return (int)i;
	return CPREMOTE_EINVAL;
}

int session_error_is_final(ssh_session s)
{
	return negotiation_failure(ssh_get_error(s)) >= 0;
}

const char *session_error_message(ssh_session s)
{
	static const char srv_tag[] = ": server [", cli_tag[] = "], client [";
	static char buf[2048];
	const char *e = ssh_get_error(s);
	int i = negotiation_failure(e);
	const char *m, *srv, *cli;

	/* libssh: "kex error : no match for method WHAT: server [LIST], client [LIST]" */
	if (i < 0)
		return e;
	m = strstr(e, NO_MATCH) + strlen(NO_MATCH);
	srv = strstr(m, srv_tag);
	cli = srv ? strstr(srv + strlen(srv_tag), cli_tag) : NULL;
	if (!cli)
		return e;
	srv += strlen(srv_tag);
	snprintf(buf, sizeof buf,
		 "no %s in common with the server (%.*s): the server offers %.*s; this side offers "
		 "%.*s (%s, from -o or the ssh_config)",
		 negotiated[i].what, (int)(srv - strlen(srv_tag) - m), m, (int)(cli - srv), srv,
		 (int)strcspn(cli + strlen(cli_tag), "]"), cli + strlen(cli_tag), negotiated[i].option);
	return buf;
}
