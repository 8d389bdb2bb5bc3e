/*
 * sshkw.c — the ssh_config keyword table (see sshkw.h) and the loops that
 * apply an evaluation or one -o through it; sshkw_fn.c applies the values.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cpremote.h"
#include "sshkw_fn.h"

/* Kept in ssh_config(5)'s spirit: honoured first, then refused, warned, not applicable. */
static const struct sshkw table[] = {
	{ "HostName", SSHKW_ALWAYS, kw_hostname, NULL, SSH_OPTIONS_HOST, SSH_OPTIONS_HOST },
	{ "User", SSHKW_ALWAYS, kw_libssh, NULL, SSH_OPTIONS_USER, SSH_OPTIONS_USER },
	{ "Port", SSHKW_ALWAYS, kw_libssh, NULL, SSH_OPTIONS_PORT_STR, SSH_OPTIONS_PORT_STR },
	{ "StrictHostKeyChecking", SSHKW_ALWAYS, kw_strict, NULL, 0, 0 },
	{ "UserKnownHostsFile", SSHKW_ALWAYS, kw_known, NULL, SSH_OPTIONS_KNOWNHOSTS,
	  SSH_OPTIONS_KNOWNHOSTS },
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
	{ "KexAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_KEY_EXCHANGE,
	  SSH_OPTIONS_KEY_EXCHANGE },
	{ "HostKeyAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_HOSTKEYS, SSH_OPTIONS_HOSTKEYS },
	{ "PubkeyAcceptedAlgorithms", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
	  SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES },
	{ "Compression", SSHKW_HONOUR, kw_libssh, NULL, SSH_OPTIONS_COMPRESSION, SSH_OPTIONS_COMPRESSION },
	{ "RekeyLimit", SSHKW_HONOUR, kw_rekey, NULL, 0, 0 },
	{ "RequiredRSASize", SSHKW_HONOUR, kw_rsa_size, NULL, 0, 0 },
	/* Authentication and proxies: the keys are offered by auth.c, from the evaluation. */
	{ "IdentityFile", SSHKW_HONOUR, kw_identity, NULL, SSH_OPTIONS_ADD_IDENTITY,
	  SSH_OPTIONS_ADD_IDENTITY },
	{ "IdentityAgent", SSHKW_HONOUR, kw_agent, NULL, SSH_OPTIONS_IDENTITY_AGENT,
	  SSH_OPTIONS_IDENTITY_AGENT },
	{ "ProxyCommand", SSHKW_HONOUR, kw_proxycommand, NULL, SSH_OPTIONS_PROXYCOMMAND,
	  SSH_OPTIONS_PROXYCOMMAND },
	{ "ProxyJump", SSHKW_HONOUR, kw_proxyjump, NULL, 0, 0 },
	{ "IdentitiesOnly", SSHKW_HONOUR, kw_auth, NULL, 0, 0 },
	{ "CertificateFile", SSHKW_HONOUR, kw_auth, NULL, 0, 0 },
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
	{ "Tunnel", SSHKW_WARN, kw_unless_no, "no tun device is forwarded", 0, 0 },
	{ "LocalCommand", SSHKW_WARN, NULL, "no local command is run", 0, 0 },
	{ "KnownHostsCommand", SSHKW_WARN, NULL, "not run: only the known_hosts files vouch for a key", 0,
	  0 },
	{ "RequestTTY", SSHKW_NA, NULL, "read by cprun: it asks for the terminal (cli/cprun_tty.c)", 0, 0 },
	{ "ControlMaster", SSHKW_NA, NULL, "read by the library: it picks the master relay", 0, 0 },
	{ "ControlPath", SSHKW_NA, NULL, "read by the library: it picks the master relay", 0, 0 },
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
static int by_kind(struct sshkw_target *t, const struct sshkw *kw, const char *key, const char *value,
		   char *msg, size_t msglen)
{
	if (!kw) {
		sshkw_warn(t, key, value, "not known to cprun");
		return 0;
	}
	if (kw->fn)
		return kw->fn(t, kw, value, msg, msglen);
	if (kw->kind == SSHKW_REFUSE)
		return sshkw_refuse(kw->name, value, kw->why, msg, msglen);
	if (kw->kind == SSHKW_WARN)
		sshkw_warn(t, kw->name, value, kw->why);
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
