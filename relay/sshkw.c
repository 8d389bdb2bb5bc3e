/*
 * sshkw.c — the ssh_config keyword table (see sshkw.h) and the functions
 * that apply each honoured keyword.  The values are those `ssh -G` prints
 * (lower-case yes/no, seconds, files with ~ expanded); the fallback's -o
 * values come as the user typed them, so the functions take both forms.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cpremote.h"
#include "sshkw.h"

extern char **environ;

struct sshkw;
/* Applies one VALUE of KW to T.  Returns 0, or CPREMOTE_EINVAL with MSG set. */
typedef int kw_fn(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen);

struct sshkw {
	const char *name; /* as ssh_config(5) spells it */
	enum sshkw_kind kind;
	kw_fn *fn; /* NULL: the kind says it all */
	const char *why; /* for a refusal, a warning or -v */
	enum ssh_options_e o1, o2; /* for kw_libssh: the libssh option(s) */
};

/* The most bytes of a warning or an option name. */
#define LINE_MAX_KW 1024
/* ControlPersist yes: the connection lasts as long as its caller (34 years is never). */
#define PERSIST_FOREVER_S 0x3fffffff

static void warn(struct sshkw_target *t, const char *name, const char *value, const char *why)
{
	if (!t->so->quiet)
		rlog(t->ctx, 0, "%s: ssh_config %s %s: ignored: %s", t->host, name, value, why);
}

static int refuse(const char *name, const char *value, const char *why, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "ssh_config %s %s cannot be honoured: %s", name, value, why);
	return CPREMOTE_EINVAL;
}

static int bad_value(const char *name, const char *value, const char *want, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "bad value for %s: \"%s\" (%s)", name, value, want);
	return CPREMOTE_EINVAL;
}

static int is_yes(const char *v)
{
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0;
}

static int is_no(const char *v)
{
	return strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "none") == 0;
}

/* Appends a copy of S to the NULL-terminated list *V.  Returns 0 or CPREMOTE_EINVAL with MSG set. */
static int push(char ***v, const char *s, char *msg, size_t msglen)
{
	size_t n = 0;
	char **nv;

	while (*v && (*v)[n])
		n++;
	nv = realloc(*v, (n + 2) * sizeof *nv);
	if (nv)
		*v = nv;
	if (!nv || !(nv[n] = strdup(s))) {
		snprintf(msg, msglen, "out of memory");
		return CPREMOTE_EINVAL;
	}
	nv[n + 1] = NULL;
	return 0;
}

/* A whole number from MIN to 86400 in *OUT. */
static int whole(const struct sshkw *kw, const char *value, long min, int *out, char *msg, size_t msglen)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (*value == '\0' || *end != '\0' || v < min || v > 86400) {
		char want[64];

		snprintf(want, sizeof want, "a whole number from %ld", min);
		return bad_value(kw->name, value, want, msg, msglen);
	}
	*out = (int)v;
	return 0;
}

/* VALUE with ~ and the %-tokens expanded (malloc'ed), or NULL with MSG set. */
static char *expand(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char *x = sshconf_expand(t->c, t->host, value);

	if (!x)
		bad_value(kw->name, value, errno == EINVAL ? "an unknown %-token" : "out of memory", msg, msglen);
	return x;
}

static int kw_libssh(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (ssh_options_set(t->s, kw->o1, value) < 0 ||
	    (kw->o2 != kw->o1 && ssh_options_set(t->s, kw->o2, value) < 0))
		return bad_value(kw->name, value, ssh_get_error(t->s), msg, msglen);
	return 0;
}

static int kw_hostname(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	free(t->so->hk.hostname);
	t->so->hk.hostname = strdup(value);
	return kw_libssh(t, kw, value, msg, msglen);
}

static int kw_timeout(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	/* "none": the system's TCP timeout for ssh; cprun keeps its own handshake deadline. */
	return is_no(value) ? 0 : whole(kw, value, 1, &t->so->handshake_timeout_s, msg, msglen);
}

static int kw_attempts(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	return whole(kw, value, 1, &t->so->connection_attempts, msg, msglen);
}

static int kw_alive(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	return whole(kw, value, 0, &t->so->keepalive_s, msg, msglen);
}

static int kw_alive_count(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
			  size_t msglen)
{
	return whole(kw, value, 1, &t->so->keepalive_count, msg, msglen);
}

static int kw_persist(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	/* As ssh: "yes" and 0 keep the connection (here: while its caller lives), "no" is the default. */
	if (is_no(value))
		return 0;
	if (is_yes(value) || strcmp(value, "0") == 0) {
		t->so->idle_close_s = PERSIST_FOREVER_S;
		return 0;
	}
	return whole(kw, value, 1, &t->so->idle_close_s, msg, msglen);
}

/* "no" records an unknown key as accept-new does, never a changed one; "ask" is "yes" (no prompts). */
static int kw_strict(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (is_yes(value) || strcasecmp(value, "ask") == 0)
		t->so->hk.accept_new = HOSTKEY_STRICT;
	else if (is_no(value) || strcasecmp(value, "off") == 0 || strcasecmp(value, "accept-new") == 0)
		t->so->hk.accept_new = HOSTKEY_ACCEPT_NEW;
	else
		return bad_value(kw->name, value, "yes, accept-new or no", msg, msglen);
	return 0;
}

/* UserKnownHostsFile, GlobalKnownHostsFile: blank-separated files, "none" for none; the first also for libssh. */
static int kw_known(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char ***list = kw->o1 == SSH_OPTIONS_KNOWNHOSTS ? &t->so->hk.user_files : &t->so->hk.global_files;
	char *copy = strdup(value), *save = NULL;
	int r = 0;

	if (!copy)
		return bad_value(kw->name, value, "out of memory", msg, msglen);
	for (char **p = *list; p && *p; p++)
		free(*p);
	free(*list);
	*list = calloc(1, sizeof **list);
	for (char *w = strtok_r(copy, " \t", &save); *list && w && r == 0; w = strtok_r(NULL, " \t", &save)) {
		char *x;

		if (strcasecmp(w, "none") == 0)
			continue;
		x = expand(t, kw, w, msg, msglen);
		r = x ? push(list, x, msg, msglen) : CPREMOTE_EINVAL;
		free(x);
	}
	free(copy);
	if (!*list)
		return bad_value(kw->name, value, "out of memory", msg, msglen);
	/* libssh orders the host key algorithms by what its file holds for the host. */
	if (r == 0)
		ssh_options_set(t->s, kw->o1, **list ? **list : "/dev/null");
	return r;
}

static int kw_alias(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	free(t->so->hk.alias);
	t->so->hk.alias = is_no(value) ? NULL : strdup(value);
	return 0;
}

static int kw_hash(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	t->so->hk.hash = is_yes(value);
	return 0;
}

static int kw_family(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (strcasecmp(value, "any") == 0)
		t->so->family = AF_UNSPEC;
	else if (strcasecmp(value, "inet") == 0)
		t->so->family = AF_INET;
	else if (strcasecmp(value, "inet6") == 0)
		t->so->family = AF_INET6;
	else
		return bad_value(kw->name, value, "any, inet or inet6", msg, msglen);
	return 0;
}

/* LogLevel: QUIET, FATAL and ERROR silence the warnings; DEBUG1..3 turn libssh's log on. */
static int kw_loglevel(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		       size_t msglen)
{
	/* ssh -G prints QUIET as SILENT. */
	t->so->quiet = strcasecmp(value, "quiet") == 0 || strcasecmp(value, "silent") == 0 || strcasecmp(value, "fatal") == 0 ||
		       strcasecmp(value, "error") == 0;
	if (strncasecmp(value, "debug", 5) == 0)
		t->so->debug = value[5] >= '1' && value[5] <= '3' ? value[5] - '0' : 1;
	return 0;
}

/* SendEnv: every variable of the environment whose name matches the pattern (sshd's AcceptEnv decides). */
static int kw_sendenv(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char name[256];

	for (char **e = environ; e && *e; e++) {
		size_t n = strcspn(*e, "=");

		if ((*e)[n] != '=' || n >= sizeof name)
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		if (fnmatch(value, name, 0) == 0 && push(&t->so->env, *e, msg, msglen) < 0)
			return CPREMOTE_EINVAL;
	}
	return 0;
}

static int kw_setenv(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char buf[LINE_MAX_KW];
	size_t n = strlen(value);

	/* ssh -G quotes a value with blanks. */
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"')
		snprintf(buf, sizeof buf, "%.*s", (int)(n - 2), value + 1);
	else
		snprintf(buf, sizeof buf, "%s", value);
	if (!strchr(buf, '=') || buf[0] == '=')
		return bad_value(kw->name, value, "NAME=VALUE", msg, msglen);
	return push(&t->so->env, buf, msg, msglen);
}

static int kw_rekey(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char *end;
	unsigned long long data = strtoull(value, &end, 10);
	unsigned long secs = 0;

	if (end == value)
		return bad_value(kw->name, value, "bytes [seconds]", msg, msglen);
	if (*end && strchr("KkMmGg", *end))
		data <<= (*end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 30), end++;
	if (*end == ' ')
		secs = strtoul(end + 1, &end, 10);
	if (*end)
		return bad_value(kw->name, value, "bytes [seconds]", msg, msglen);
	if (data > 0)
		ssh_options_set(t->s, SSH_OPTIONS_REKEY_DATA, &(uint64_t){ data });
	if (secs > 0)
		ssh_options_set(t->s, SSH_OPTIONS_REKEY_TIME, &(uint32_t){ (uint32_t)secs });
	return 0;
}

static int kw_rsa_size(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		       size_t msglen)
{
	int bits = atoi(value);

	if (bits <= 0 || ssh_options_set(t->s, SSH_OPTIONS_RSA_MIN_SIZE, &bits) < 0)
		return bad_value(kw->name, value, "a number of bits", msg, msglen);
	return 0;
}

static int kw_identity(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		       size_t msglen)
{
	char *x = expand(t, kw, value, msg, msglen);
	int r = x ? kw_libssh(t, kw, x, msg, msglen) : CPREMOTE_EINVAL;

	free(x);
	return r;
}

static int kw_agent(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (strcmp(value, "SSH_AUTH_SOCK") == 0)
		return 0;
	if (strcasecmp(value, "none") == 0) {
		warn(t, kw->name, value, "the agent is still used (libssh cannot be told not to)");
		return 0;
	}
	return kw_identity(t, kw, value, msg, msglen);
}

static int kw_proxycommand(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
			   size_t msglen)
{
	if (strcasecmp(value, "none") == 0)
		return 0;
	t->so->proxied = 1;
	return kw_libssh(t, kw, value, msg, msglen);
}

/*
 * ProxyJump as a ProxyCommand running ssh to the last hop (the earlier
 * ones its -J), with the same -F so that the hops' aliases resolve.
 */
static int kw_proxyjump(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
			size_t msglen)
{
	char cmd[LINE_MAX_KW * 2];
	const char *last = strrchr(value, ',');

	if (strcasecmp(value, "none") == 0)
		return 0;
	if (strpbrk(value, "'\\") || (t->config && strchr(t->config, '\'')))
		return bad_value(kw->name, value, "no quotes or backslashes", msg, msglen);
	snprintf(cmd, sizeof cmd, "ssh%s%s%s -W '[%%h]:%%p' %s%.*s%s '%s'", t->config ? " -F '" : "",
		 t->config ? t->config : "", t->config ? "'" : "", last ? "-J '" : "",
		 last ? (int)(last - value) : 0, value, last ? "'" : "", last ? last + 1 : value);
	t->so->proxied = 1;
	if (ssh_options_set(t->s, SSH_OPTIONS_PROXYCOMMAND, cmd) < 0)
		return bad_value(kw->name, value, ssh_get_error(t->s), msg, msglen);
	return 0;
}

/* Forwardings: ignored with a warning, as ssh goes on when one fails; refused under ExitOnForwardFailure. */
static int kw_forward(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	const char *exit_on = sshconf_get(t->c, "exitonforwardfailure");

	if (exit_on && is_yes(exit_on))
		return refuse(kw->name, value, "cprun sets up no forwarding (and ExitOnForwardFailure is yes)", msg,
			      msglen);
	warn(t, kw->name, value, kw->why);
	return 0;
}

/* Yes-or-no keywords that matter only when not "no" (or "auto"). */
static int kw_unless_no(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
			size_t msglen)
{
	if (is_no(value) || strcasecmp(value, "auto") == 0)
		return 0;
	if (kw->kind == SSHKW_REFUSE)
		return refuse(kw->name, value, kw->why, msg, msglen);
	warn(t, kw->name, value, kw->why);
	return 0;
}

/* Kept in ssh_config(5)'s spirit: honoured first, then refused, warned, not applicable. */
static const struct sshkw table[] = {
	{ "HostName", SSHKW_ALWAYS, kw_hostname, NULL, SSH_OPTIONS_HOST, SSH_OPTIONS_HOST },
	{ "User", SSHKW_ALWAYS, kw_libssh, NULL, SSH_OPTIONS_USER, SSH_OPTIONS_USER },
	{ "Port", SSHKW_ALWAYS, kw_libssh, NULL, SSH_OPTIONS_PORT_STR, SSH_OPTIONS_PORT_STR },
	{ "StrictHostKeyChecking", SSHKW_ALWAYS, kw_strict, NULL, 0, 0 },
	{ "UserKnownHostsFile", SSHKW_ALWAYS, kw_known, NULL, SSH_OPTIONS_KNOWNHOSTS, SSH_OPTIONS_KNOWNHOSTS },
	{ "GlobalKnownHostsFile", SSHKW_ALWAYS, kw_known, NULL, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
	  SSH_OPTIONS_GLOBAL_KNOWNHOSTS },
	{ "HostKeyAlias", SSHKW_HONOUR, kw_alias, NULL, 0, 0 },
	{ "HashKnownHosts", SSHKW_HONOUR, kw_hash, NULL, 0, 0 },
	{ "ConnectTimeout", SSHKW_HONOUR, kw_timeout, NULL, 0, 0 },
	{ "ConnectionAttempts", SSHKW_HONOUR, kw_attempts, NULL, 0, 0 },
	{ "ServerAliveInterval", SSHKW_HONOUR, kw_alive, NULL, 0, 0 },
	{ "ServerAliveCountMax", SSHKW_HONOUR, kw_alive_count, NULL, 0, 0 },
	{ "ControlPersist", SSHKW_HONOUR, kw_persist, NULL, 0, 0 },
	{ "AddressFamily", SSHKW_HONOUR, kw_family, NULL, 0, 0 },
	{ "BindAddress", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_BINDADDR, SSH_OPTIONS_BINDADDR },
	{ "LogLevel", SSHKW_HONOUR, kw_loglevel, NULL, 0, 0 },
	{ "SendEnv", SSHKW_HONOUR, kw_sendenv, NULL, 0, 0 },
	{ "SetEnv", SSHKW_HONOUR, kw_setenv, NULL, 0, 0 },
	{ "Ciphers", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_CIPHERS_C_S, SSH_OPTIONS_CIPHERS_S_C },
	{ "MACs", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_HMAC_C_S, SSH_OPTIONS_HMAC_S_C },
	{ "KexAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_KEY_EXCHANGE, SSH_OPTIONS_KEY_EXCHANGE },
	{ "HostKeyAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_HOSTKEYS, SSH_OPTIONS_HOSTKEYS },
	{ "PubkeyAcceptedAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
	  SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES },
	{ "Compression", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_COMPRESSION, SSH_OPTIONS_COMPRESSION },
	{ "RekeyLimit", SSHKW_HONOUR, kw_rekey, NULL, 0, 0 },
	{ "RequiredRSASize", SSHKW_HONOUR, kw_rsa_size, NULL, 0, 0 },
	/* Authentication and proxies: the rows of the auth work (relay/auth*.c) may replace these. */
	{ "IdentityFile", SSHKW_HONOUR, kw_identity, NULL, SSH_OPTIONS_ADD_IDENTITY, SSH_OPTIONS_ADD_IDENTITY },
	{ "IdentityAgent", SSHKW_HONOUR, kw_agent, NULL, SSH_OPTIONS_IDENTITY_AGENT, SSH_OPTIONS_IDENTITY_AGENT },
	{ "ProxyCommand", SSHKW_HONOUR, kw_proxycommand, NULL, SSH_OPTIONS_PROXYCOMMAND, SSH_OPTIONS_PROXYCOMMAND },
	{ "ProxyJump", SSHKW_HONOUR, kw_proxyjump, NULL, 0, 0 },
	{ "IdentitiesOnly", SSHKW_NA, NULL, "agent keys are not filtered yet", 0, 0 },
	{ "CertificateFile", SSHKW_WARN, NULL, "certificates in files are not offered yet", 0, 0 },
	{ "PKCS11Provider", SSHKW_WARN, NULL, "keys of a PKCS#11 token are not offered", 0, 0 },
	{ "PubkeyAuthentication", SSHKW_REFUSE, NULL, "cprun authenticates only with public keys", 0, 0 },
	/* Refused: going on would not do what the user asked for. */
	{ "RemoteCommand", SSHKW_REFUSE, kw_unless_no, "cprun runs the program of its command line", 0, 0 },
	{ "SessionType", SSHKW_REFUSE, NULL, "cprun always runs a program (use ssh -N or -s)", 0, 0 },
	{ "RevokedHostKeys", SSHKW_REFUSE, kw_unless_no,
	  "the file is not read; list the keys as @revoked in known_hosts instead", 0, 0 },
	/* Warned about: the connection works, without what the keyword adds. */
	{ "LocalForward", SSHKW_WARN, kw_forward, "cprun sets up no forwarding", 0, 0 },
	{ "RemoteForward", SSHKW_WARN, kw_forward, "cprun sets up no forwarding", 0, 0 },
	{ "DynamicForward", SSHKW_WARN, kw_forward, "cprun sets up no forwarding", 0, 0 },
	{ "ForwardAgent", SSHKW_WARN, kw_unless_no, "the agent is not forwarded", 0, 0 },
	{ "ForwardX11", SSHKW_WARN, kw_unless_no, "X11 is not forwarded", 0, 0 },
	{ "RequestTTY", SSHKW_WARN, kw_unless_no, "no terminal is allocated", 0, 0 },
	{ "Tunnel", SSHKW_WARN, kw_unless_no, "no tun device is forwarded", 0, 0 },
	{ "LocalCommand", SSHKW_WARN, NULL, "no local command is run", 0, 0 },
	{ "KnownHostsCommand", SSHKW_WARN, NULL, "not run: only the known_hosts files vouch for a key", 0, 0 },
	{ "ControlMaster", SSHKW_NA, NULL, "a connection is shared by the children of one caller", 0, 0 },
	{ "ControlPath", SSHKW_NA, NULL, "a connection is shared by the children of one caller", 0, 0 },
	{ "CheckHostIP", SSHKW_NA, NULL, "keys are checked under the host's name", 0, 0 },
	{ "VerifyHostKeyDNS", SSHKW_NA, NULL, "keys are checked in known_hosts only", 0, 0 },
	{ "NoHostAuthenticationForLocalhost", SSHKW_NA, NULL, "localhost's key is checked too", 0, 0 },
	{ "UpdateHostKeys", SSHKW_NA, NULL, "known_hosts is not updated from the server", 0, 0 },
	{ "BatchMode", SSHKW_NA, NULL, "there are never prompts", 0, 0 },
	{ "PasswordAuthentication", SSHKW_NA, NULL, "there are never prompts", 0, 0 },
	{ "KbdInteractiveAuthentication", SSHKW_NA, NULL, "there are never prompts", 0, 0 },
	{ "KbdInteractiveDevices", SSHKW_NA, NULL, "there are never prompts", 0, 0 },
	{ "NumberOfPasswordPrompts", SSHKW_NA, NULL, "there are never prompts", 0, 0 },
	{ "AddKeysToAgent", SSHKW_NA, NULL, "keys are not added to the agent", 0, 0 },
	{ "ExitOnForwardFailure", SSHKW_NA, NULL, "read with the forwardings", 0, 0 },
	{ "ClearAllForwardings", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "GatewayPorts", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "PermitRemoteOpen", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "StreamLocalBindMask", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "StreamLocalBindUnlink", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "TunnelDevice", SSHKW_NA, NULL, "there are no forwardings", 0, 0 },
	{ "ForwardX11Timeout", SSHKW_NA, NULL, "X11 is not forwarded", 0, 0 },
	{ "ForwardX11Trusted", SSHKW_NA, NULL, "X11 is not forwarded", 0, 0 },
	{ "XAuthLocation", SSHKW_NA, NULL, "X11 is not forwarded", 0, 0 },
	{ "EscapeChar", SSHKW_NA, NULL, "there is no interactive session", 0, 0 },
	{ "EnableEscapeCommandline", SSHKW_NA, NULL, "there is no interactive session", 0, 0 },
	{ "VisualHostKey", SSHKW_NA, NULL, "there is no interactive session", 0, 0 },
	{ "FingerprintHash", SSHKW_NA, NULL, "messages use SHA256", 0, 0 },
	{ "PermitLocalCommand", SSHKW_NA, NULL, "read with LocalCommand", 0, 0 },
	{ "ForkAfterAuthentication", SSHKW_NA, NULL, "cprun runs in the foreground", 0, 0 },
	{ "StdinNull", SSHKW_NA, NULL, "stdin is the caller's choice", 0, 0 },
	{ "TCPKeepAlive", SSHKW_NA, NULL, "ServerAliveInterval finds a dead link", 0, 0 },
	{ "IPQoS", SSHKW_NA, NULL, "not set by libssh", 0, 0 },
	{ "SyslogFacility", SSHKW_NA, NULL, "diagnostics go to stderr", 0, 0 },
	{ "LogVerbose", SSHKW_NA, NULL, "diagnostics go to stderr", 0, 0 },
	{ "ProxyUseFdpass", SSHKW_NA, NULL, "the ProxyCommand's stdio is used", 0, 0 },
	{ "EnableSSHKeysign", SSHKW_NA, NULL, "host-based authentication is not used", 0, 0 },
	{ "HostbasedAuthentication", SSHKW_NA, NULL, "host-based authentication is not used", 0, 0 },
	{ "HostbasedAcceptedAlgorithms", SSHKW_NA, NULL, "host-based authentication is not used", 0, 0 },
	{ "CASignatureAlgorithms", SSHKW_NA, NULL, "host certificates are not verified", 0, 0 },
	{ "SecurityKeyProvider", SSHKW_NA, NULL, "libssh's own", 0, 0 },
	{ "Host", SSHKW_NA, NULL, "the destination", 0, 0 },
	{ "CanonicalDomains", SSHKW_NA, NULL, "evaluated by ssh -G", 0, 0 },
	{ "CanonicalizeFallbackLocal", SSHKW_NA, NULL, "evaluated by ssh -G", 0, 0 },
	{ "CanonicalizeHostname", SSHKW_NA, NULL, "evaluated by ssh -G", 0, 0 },
	{ "CanonicalizeMaxDots", SSHKW_NA, NULL, "evaluated by ssh -G", 0, 0 },
	{ "CanonicalizePermittedCNAMEs", SSHKW_NA, NULL, "evaluated by ssh -G", 0, 0 },
	{ "GSSAPIAuthentication", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIKeyExchange", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIDelegateCredentials", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPITrustDNS", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIRenewalForcesRekey", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIKexAlgorithms", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIClientIdentity", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
	{ "GSSAPIServerIdentity", SSHKW_NA, NULL, "GSSAPI is not used", 0, 0 },
};

static const struct sshkw *lookup(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcasecmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

int sshkw_kind(const char *keyword)
{
	const struct sshkw *kw = lookup(keyword);

	return kw ? (int)kw->kind : -1;
}

/* Whether A and B hold the same values of KEY, in the same order. */
static int same_values(const struct sshconf *a, const struct sshconf *b, const char *key)
{
	size_t i = 0, j = 0;
	const char *x, *y;

	do {
		x = sshconf_next(a, key, &i);
		y = sshconf_next(b, key, &j);
		if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
			return 0;
	} while (x);
	return 1;
}

/* What KW (NULL: unknown) does with VALUE when no function of its own decides. */
static int by_kind(struct sshkw_target *t, const struct sshkw *kw, const char *key, const char *value, char *msg,
		   size_t msglen)
{
	if (!kw) {
		warn(t, key, value, "not known to cprun");
		return 0;
	}
	if (kw->fn)
		return kw->fn(t, kw, value, msg, msglen);
	if (kw->kind == SSHKW_REFUSE)
		return refuse(kw->name, value, kw->why, msg, msglen);
	if (kw->kind == SSHKW_WARN)
		warn(t, kw->name, value, kw->why);
	else
		rlog(t->ctx, 1, "%s: ssh_config %s %s: not applicable (%s)", t->host, kw->name, value,
		     kw->why ? kw->why : "");
	return 0;
}

int sshkw_apply_all(struct sshkw_target *t, const struct sshconf *defaults, char *msg, size_t msglen)
{
	const char *level = sshconf_get(t->c, "loglevel");

	/* First, so that LogLevel QUIET silences the warnings of the others. */
	if (level)
		kw_loglevel(t, lookup("LogLevel"), level, msg, msglen);
	for (size_t i = 0; i < t->c->n; i++) {
		const char *key = t->c->entries[i].key, *value;
		const struct sshkw *kw = lookup(key);
		size_t seen = 0, j = 0;
		int r = 0;

		/* A keyword printed once per value (SendEnv, IdentityFile, ...) is taken at its first line. */
		if (sshconf_next(t->c, key, &seen) && seen <= i)
			continue;
		/* "host" is the destination itself; LogLevel was taken above. */
		if (strcasecmp(key, "host") == 0 || (kw && kw->fn == kw_loglevel) ||
		    (!(kw && kw->kind == SSHKW_ALWAYS) && same_values(t->c, defaults, key)))
			continue;
		while (r == 0 && (value = sshconf_next(t->c, key, &j)))
			r = by_kind(t, kw, key, value, msg, msglen);
		if (r < 0)
			return r;
	}
	return 0;
}

int sshkw_apply_option(struct sshkw_target *t, const char *opt, char *msg, size_t msglen)
{
	char name[64];
	const struct sshkw *kw;
	size_t n = strcspn(opt, "= \t");

	if (n == 0 || n >= sizeof name || opt[n] == '\0')
		goto bad;
	memcpy(name, opt, n);
	name[n] = '\0';
	kw = lookup(name);
	if (!kw)
		goto bad;
	return by_kind(t, kw, name, opt + n + strspn(opt + n, "= \t"), msg, msglen);
bad:
	snprintf(msg, msglen, "unsupported option -o %s", opt);
	return CPREMOTE_EINVAL;
}
