/*
 * session.c — setting up a libssh session the way ssh(1) would: the
 * ssh_config and the command line evaluated once (by ssh -G, else by
 * libssh's parser), and the error that no retry can mend.  What each
 * keyword does is sshkw.c; the known_hosts check is hostkey.c.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cpremote.h"
#include "session.h"
#include "sshconf.h"
#include "sshkw.h"

#define HANDSHAKE_TIMEOUT_S 30
#define IDLE_CLOSE_S 2
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3

struct session_opts session_opts_default(void)
{
	return (struct session_opts){ .handshake_timeout_s = HANDSHAKE_TIMEOUT_S,
				      .connection_attempts = 1,
				      .keepalive_s = KEEPALIVE_INTERVAL_S,
				      .keepalive_count = KEEPALIVE_COUNT,
				      .idle_close_s = IDLE_CLOSE_S,
				      .family = AF_UNSPEC,
				      .hk = { .accept_new = HOSTKEY_AS_CONFIG } };
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void session_opts_free(struct session_opts *so)
{
	strv_free(so->hk.user_files);
	strv_free(so->hk.global_files);
	strv_free(so->env);
	free(so->hk.alias);
	free(so->hk.hostname);
	*so = session_opts_default();
}

/* What ssh -G prints with no configuration at all, to tell what a file or -o changed; evaluated once. */
static struct sshconf defaults;
static int have_defaults;

/* The OpenSSH client: CPREMOTE_SSH, as for the openssh:// transport, else ssh on PATH. */
static const char *ssh_binary(void)
{
	const char *e = getenv("CPREMOTE_SSH");

	return e && *e ? e : "ssh";
}

void session_cache_free(void)
{
	sshconf_free(&defaults);
	have_defaults = 0;
}

/*
 * After ssh -G refused the command line, the -o option of D it refuses on
 * its own, named in MSG with ssh's words, so that the user sees which
 * (ssh names only the keyword, in lower case).  MSG is left as it is when
 * none is refused alone.
 */
static void name_bad_option(const struct conn_key *d, char *msg, size_t msglen)
{
	for (char **o = d->options; o && *o; o++) {
		const char *one[] = { *o, NULL };
		struct sshconf_query q = {
			.ssh = ssh_binary(), .config = "/dev/null", .options = one, .host = d->host
		};
		struct sshconf c = { 0 };
		char why[512];

		if (sshconf_eval(&q, &c, why, sizeof why) == CPREMOTE_EINVAL) {
			snprintf(msg, msglen, "bad option -o %s: %s", *o, why);
			return;
		}
		sshconf_free(&c);
	}
}

/*
 * The evaluation by ssh -G, applied through the keyword table.  Returns
 * 0, -ENOENT when there is no ssh client, or CPREMOTE_EINVAL with MSG set.
 */
static int by_ssh(ssh_session s, const struct relay_ctx *ctx, const struct conn_key *d,
		  struct session_opts *so, char *msg, size_t msglen)
{
	struct sshconf_query q = { .ssh = ssh_binary(),
				   .config = d->config,
				   .user = d->user,
				   .port = d->port,
				   .identity = d->identity,
				   .options = (const char *const *)d->options,
				   .host = d->host };
	struct sshconf_query dq = { .ssh = q.ssh, .config = "/dev/null", .host = "cpremote-defaults" };
	struct sshconf c = { 0 };
	struct sshkw_target t = { s, so, ctx, d->host, d->config, &c, 0 };
	int r = sshconf_eval(&q, &c, msg, msglen);

	if (r == CPREMOTE_EINVAL && strstr(msg, "command-line"))
		name_bad_option(d, msg, msglen);
	if (r == 0 && !have_defaults && (r = sshconf_eval(&dq, &defaults, msg, msglen)) == 0)
		have_defaults = 1;
	if (r == 0)
		r = sshkw_apply_all(&t, &defaults, msg, msglen);
	sshconf_free(&c);
	return r == -ENOENT || r == 0 ? r : CPREMOTE_EINVAL;
}

/* The fallback without an OpenSSH client: libssh's parser for the file, the table for -o. */
static int by_libssh(ssh_session s, const struct relay_ctx *ctx, const struct conn_key *d,
		     struct session_opts *so, char *msg, size_t msglen)
{
	static const struct sshconf none;
	struct sshkw_target t = { s, so, ctx, d->host, d->config, &none, 1 };

	/* ssh_config first, so that the command line wins as with ssh. */
	if (ssh_options_parse_config(s, d->config) < 0) {
		snprintf(msg, msglen, "cannot read ssh config %s", d->config ? d->config : "~/.ssh/config");
		return CPREMOTE_EINVAL;
	}
	if ((d->user && ssh_options_set(s, SSH_OPTIONS_USER, d->user) < 0) ||
	    (d->port > 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &d->port) < 0) ||
	    (d->identity && ssh_options_set(s, SSH_OPTIONS_ADD_IDENTITY, d->identity) < 0)) {
		snprintf(msg, msglen, "%s", ssh_get_error(s));
		return CPREMOTE_EINVAL;
	}
	for (char **o = d->options; o && *o; o++)
		if (sshkw_apply_option(&t, *o, msg, msglen) < 0)
			return CPREMOTE_EINVAL;
	return 0;
}

int session_configure(ssh_session s, const struct relay_ctx *ctx, const struct conn_key *d, int verbosity,
		      struct session_opts *so, char *msg, size_t msglen)
{
	int one = 1, level, r;

	session_opts_free(so);
	ssh_set_blocking(s, 0);
	if (ssh_options_set(s, SSH_OPTIONS_HOST, d->host) < 0) {
		snprintf(msg, msglen, "%s", ssh_get_error(s));
		return CPREMOTE_EINVAL;
	}
	r = by_ssh(s, ctx, d, so, msg, msglen);
	if (r == -ENOENT) {
		rlog(ctx, 1, "%s: ssh_config read by libssh's parser (no OpenSSH client %s)", d->host,
		     ssh_binary());
		msg[0] = '\0';
		r = by_libssh(s, ctx, d, so, msg, msglen);
	} else if (r == 0) {
		rlog(ctx, 1, "%s: ssh_config evaluated by OpenSSH (%s -G)", d->host, ssh_binary());
	}
	if (r < 0)
		return r;
	if (!so->hk.hostname) {
		char *h = NULL;

		ssh_options_get(s, SSH_OPTIONS_HOST, &h);
		so->hk.hostname = h ? strdup(h) : NULL;
		ssh_string_free_char(h);
	}
	if (d->accept_new)
		so->hk.accept_new = HOSTKEY_ACCEPT_NEW;
	/* Small frames must not wait for Nagle and delayed ACKs. */
	ssh_options_set(s, SSH_OPTIONS_NODELAY, &one);
	/* Only keys: never a password or keyboard prompt. */
	ssh_options_set(s, SSH_OPTIONS_PASSWORD_AUTH, &(int){ 0 });
	ssh_options_set(s, SSH_OPTIONS_KBDINT_AUTH, &(int){ 0 });
	ssh_options_set(s, SSH_OPTIONS_GSSAPI_AUTH, &(int){ 0 });
	if (so->debug + 1 > verbosity)
		verbosity = so->debug + 1;
	level = verbosity >= 3 ? SSH_LOG_PROTOCOL : verbosity == 2 ? SSH_LOG_WARNING : SSH_LOG_NOLOG;
	ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &level);
	return 0;
}

int session_resolve(ssh_session s, const struct session_opts *so, char *msg, size_t msglen)
{
	struct addrinfo hints = { .ai_family = so->family, .ai_socktype = SOCK_STREAM }, *res = NULL;
	const char *name = so->hk.hostname, *fam = so->family == AF_INET ? "inet" : "inet6";
	char addr[NI_MAXHOST];
	int rc;

	if (so->family == AF_UNSPEC || so->proxied || !name)
		return 0;
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc == 0)
		rc = getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
	if (res)
		freeaddrinfo(res);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot resolve %s as AddressFamily %s asks: %s", name, fam,
			 gai_strerror(rc));
		return CPREMOTE_ECONNECT;
	}
	if (ssh_options_set(s, SSH_OPTIONS_HOST, addr) < 0) {
		snprintf(msg, msglen, "%s", ssh_get_error(s));
		return CPREMOTE_ECONNECT;
	}
	return 0;
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
