/*
 * sshkw_fn.c — applying one ssh_config keyword's value (see sshkw_fn.h).
 * The values are those `ssh -G` prints (lower-case yes/no, seconds, files
 * with ~ expanded); the fallback's -o values come as the user typed them,
 * so the functions take both forms.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cpremote.h"
#include "sshkw_fn.h"

extern char **environ;

/* The most bytes of a warning or an option name. */
#define LINE_MAX_KW 1024
/* ControlPersist yes: the connection lasts as long as its caller (34 years is never). */
#define PERSIST_FOREVER_S 0x3fffffff

void sshkw_warn(struct sshkw_target *t, const char *name, const char *value, const char *why)
{
	if (!t->so->quiet)
		rlog(t->ctx, 0, "%s: ssh_config %s %s: ignored: %s", t->host, name, value, why);
}

int sshkw_refuse(const char *name, const char *value, const char *why, char *msg, size_t msglen)
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
static char *expand(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		    size_t msglen)
{
	char *x = sshconf_expand(t->c, t->host, value);

	if (!x)
		bad_value(kw->name, value, errno == EINVAL ? "an unknown %-token" : "out of memory", msg,
			  msglen);
	return x;
}

int kw_libssh(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (ssh_options_set(t->s, kw->o1, value) < 0 ||
	    (kw->o2 != kw->o1 && ssh_options_set(t->s, kw->o2, value) < 0))
		return bad_value(kw->name, value, ssh_get_error(t->s), msg, msglen);
	return 0;
}

int kw_hostname(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	free(t->so->hk.hostname);
	t->so->hk.hostname = strdup(value);
	return kw_libssh(t, kw, value, msg, msglen);
}

int kw_timeout(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	/* "none": the system's TCP timeout for ssh; cprun keeps its own handshake deadline. */
	return is_no(value) ? 0 : whole(kw, value, 1, &t->so->handshake_timeout_s, msg, msglen);
}

int kw_attempts(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	return whole(kw, value, 1, &t->so->connection_attempts, msg, msglen);
}

int kw_alive(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	return whole(kw, value, 0, &t->so->keepalive_s, msg, msglen);
}

int kw_alive_count(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
		   size_t msglen)
{
	return whole(kw, value, 1, &t->so->keepalive_count, msg, msglen);
}

int kw_persist(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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
int kw_strict(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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
int kw_known(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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

int kw_alias(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	free(t->so->hk.alias);
	t->so->hk.alias = is_no(value) ? NULL : strdup(value);
	return 0;
}

int kw_hash(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	t->so->hk.hash = is_yes(value);
	return 0;
}

int kw_family(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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
int kw_loglevel(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	/* ssh -G prints QUIET as SILENT. */
	t->so->quiet = strcasecmp(value, "quiet") == 0 || strcasecmp(value, "silent") == 0 ||
		       strcasecmp(value, "fatal") == 0 || strcasecmp(value, "error") == 0;
	if (strncasecmp(value, "debug", 5) == 0)
		t->so->debug = value[5] >= '1' && value[5] <= '3' ? value[5] - '0' : 1;
	return 0;
}

/* SendEnv: every variable of the environment whose name matches the pattern (sshd's AcceptEnv decides). */
int kw_sendenv(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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

int kw_setenv(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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

int kw_rekey(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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

int kw_rsa_size(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	int bits = atoi(value);

	if (bits <= 0 || ssh_options_set(t->s, SSH_OPTIONS_RSA_MIN_SIZE, &bits) < 0)
		return bad_value(kw->name, value, "a number of bits", msg, msglen);
	return 0;
}

int kw_identity(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	char *x = expand(t, kw, value, msg, msglen);
	int r = x ? kw_libssh(t, kw, x, msg, msglen) : CPREMOTE_EINVAL;

	free(x);
	return r;
}

int kw_agent(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (strcmp(value, "SSH_AUTH_SOCK") == 0)
		return 0;
	if (strcasecmp(value, "none") == 0) {
		sshkw_warn(t, kw->name, value, "the agent is still used (libssh cannot be told not to)");
		return 0;
	}
	return kw_identity(t, kw, value, msg, msglen);
}

int kw_proxycommand(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg,
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
int kw_proxyjump(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
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
int kw_forward(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	const char *exit_on = sshconf_get(t->c, "exitonforwardfailure");

	if (exit_on && is_yes(exit_on))
		return sshkw_refuse(kw->name, value,
				    "cprun sets up no forwarding (and ExitOnForwardFailure is yes)", msg,
				    msglen);
	sshkw_warn(t, kw->name, value, kw->why);
	return 0;
}

/* Yes-or-no keywords that matter only when not "no" (or "auto"). */
int kw_unless_no(struct sshkw_target *t, const struct sshkw *kw, const char *value, char *msg, size_t msglen)
{
	if (is_no(value) || strcasecmp(value, "auto") == 0)
		return 0;
	if (kw->kind == SSHKW_REFUSE)
		return sshkw_refuse(kw->name, value, kw->why, msg, msglen);
	sshkw_warn(t, kw->name, value, kw->why);
	return 0;
}
