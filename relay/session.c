/*
 * session.c — setting up a libssh session the way ssh(1) would: the
 * ssh_config, the command-line options that override it, and the
 * known_hosts check (strict unless the user opted in to accept-new).
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

/* The name known_hosts records the host under: "addr", or "[addr]:port" off port 22. */
static void known_hosts_name(ssh_session s, char *out, size_t len)
{
	char *h = NULL;
	unsigned int port = 22;

	ssh_options_get(s, SSH_OPTIONS_HOST, &h);
	ssh_options_get_port(s, &port);
	if (port == 22)
		snprintf(out, len, "%s", h ? h : "?");
	else
		snprintf(out, len, "[%s]:%u", h ? h : "?", port);
	ssh_string_free_char(h);
}

/* The number of the first line of PATH that names NAME (in its comma-separated first field), or 0. */
static long file_line(const char *path, const char *name)
{
	char buf[8192];
	size_t n = strlen(name);
	long no = 0, found = 0;
	FILE *f = path ? fopen(path, "re") : NULL;

	while (f && !found && fgets(buf, sizeof buf, f)) {
		char *p = buf;

		no++;
		buf[strcspn(buf, " \t\r\n")] = '\0';
		while (p && !found) {
			if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
				found = no;
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
	}
	if (f)
		fclose(f);
	return found;
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
		return seconds(name, value, 0, &so->idle_close_s, msg, msglen);
	if (strcasecmp(name, "ServerAliveCountMax") == 0)
		return seconds(name, value, 1, &so->keepalive_count, msg, msglen);
	if (strcasecmp(name, "StrictHostKeyChecking") == 0) {
		if (strcasecmp(value, "accept-new") == 0)
			so->accept_new = 1;
		else if (strcasecmp(value, "yes") != 0) {
			snprintf(msg, msglen, "StrictHostKeyChecking=%s is not supported (yes or accept-new)",
				 value);
			return CPREMOTE_EINVAL;
		}
		return 0;
	}
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

	so->accept_new = d->accept_new;
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

int session_check_host_key(ssh_session s, const char *host, int accept_new, char *msg, size_t msglen)
{
	char *kh = NULL, *fp = NULL;
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	enum ssh_known_hosts_e st = ssh_session_is_known_server(s);
	int r = CPREMOTE_ECONNECT;

	ssh_options_get(s, SSH_OPTIONS_KNOWNHOSTS, &kh);
	if (ssh_get_server_publickey(s, &key) == SSH_OK &&
	    ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		r = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER: {
		char name[300];
		long line;

		known_hosts_name(s, name, sizeof name);
		line = file_line(kh, name);
		r = CPREMOTE_EHOSTKEY_CHANGED;
		snprintf(msg, msglen,
			 "%s: host key verification failed: the host's key (%s) differs from the one "
			 "recorded for %s in %s%s%.0ld; if the change is expected, remove that entry",
			 host, fp ? fp : "?", name, kh ? kh : "known_hosts", line ? ":" : "", line);
		break;
	}
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (accept_new) {
			if (ssh_session_update_known_hosts(s) == SSH_OK) {
				relay_log(1, "%s: added host key %s to %s", host, fp ? fp : "?",
					  kh ? kh : "known_hosts");
				r = 0;
				break;
			}
			r = CPREMOTE_EHOSTKEY_UNKNOWN;
			snprintf(msg, msglen, "%s: cannot record host key: %s", host, ssh_get_error(s));
			break;
		}
		r = CPREMOTE_EHOSTKEY_UNKNOWN;
		snprintf(msg, msglen,
			 "%s: host key verification failed: the host is not known (key %s, not in %s); "
			 "use --accept-new to trust it",
			 host, fp ? fp : "?", kh ? kh : "known_hosts");
		break;
	default:
		r = CPREMOTE_ECONNECT;
		snprintf(msg, msglen, "%s: cannot check the host key: %s", host, ssh_get_error(s));
		break;
	}
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	ssh_string_free_char(kh);
	return r;
}
