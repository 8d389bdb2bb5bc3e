/* transport.c — destinations reached through a local command (see transport.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "transport.h"

/* A growing argv. */
struct av {
	char **v;
	size_t n, cap;
	int oom;
};

/* Appends a copy of the first LEN bytes of S. */
static void add_n(struct av *a, const char *s, size_t len)
{
	char *d;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		char **v = realloc(a->v, cap * sizeof *v);

		if (!v) {
			a->oom = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	if (!(d = strndup(s, len))) {
		a->oom = 1;
		return;
	}
	a->v[a->n++] = d;
	a->v[a->n] = NULL;
}

static void add(struct av *a, const char *s)
{
	add_n(a, s, strlen(s));
}

/* The program for a transport: $ENV when set, else NAME. */
static const char *prog(const char *env, const char *name)
{
	const char *p = getenv(env);

	return p && *p ? p : name;
}

static const char *const schemes[] = { "openssh://", "docker://", "podman://", "k8s://", "ssm://" };

int transport_is_command(const char *host)
{
	if (!host)
		return 0;
	if (strncmp(host, "exec:", 5) == 0)
		return 1;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strncmp(host, schemes[i], strlen(schemes[i])) == 0)
			return 1;
	return 0;
}

/*
 * exec:WORDS — split at blanks (no quoting: a command that needs it is a
 * script); the word "{}" becomes the stub, else the stub is the last word.
 */
static void build_exec(struct av *a, const char *words, const char *stub)
{
	int placed = 0;

	for (const char *p = words; *p;) {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (n == 2 && memcmp(p, "{}", 2) == 0) {
			add(a, stub);
			placed = 1;
		} else {
			add_n(a, p, n);
		}
		p += n;
	}
	if (!placed)
		add(a, stub);
}

/*
 * openssh://[USER@]HOST[:PORT] — the user's ssh.  The caller's options come
 * before BatchMode, since ssh keeps the first value of each: a caller may
 * not be prompted, as with libssh, unless it says so.
 */
static int build_openssh(struct av *a, const struct conn_key *k, const char *rest, const char *stub,
			 struct cpr_err *e)
{
	const char *at = strrchr(rest, '@'), *host = at ? at + 1 : rest;
	const char *colon = strrchr(host, ':');
	size_t hlen = colon ? (size_t)(colon - host) : strlen(host);

	if (hlen == 0 || (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))))
		return cpr_err_set(e, CPREMOTE_EINVAL, "%s: expected openssh://[USER@]HOST[:PORT]", k->host);
	add(a, prog("CPREMOTE_SSH", "ssh"));
	add(a, "-T");
	if (k->config) {
		add(a, "-F");
		add(a, k->config);
	}
	for (char **o = k->options; o && *o; o++) {
		add(a, "-o");
		add(a, *o);
	}
	if (k->accept_new) {
		add(a, "-o");
		add(a, "StrictHostKeyChecking=accept-new");
	}
	add(a, "-o");
	add(a, "BatchMode=yes");
	if (k->identity) {
		add(a, "-i");
		add(a, k->identity);
	}
	if (colon) {
		add(a, "-p");
		add(a, colon + 1);
	} else if (k->port) {
		char port[16];

		snprintf(port, sizeof port, "%d", k->port);
		add(a, "-p");
		add(a, port);
	}
	if (at || k->user) {
		add(a, "-l");
		if (at)
			add_n(a, rest, (size_t)(at - rest));
		else
			add(a, k->user);
	}
	add(a, "--");
	add_n(a, host, hlen);
	add(a, stub);
	return 0;
}

/* docker://CONTAINER and podman://CONTAINER: `exec -i [--user USER] C /bin/sh -c STUB`. */
static void build_container(struct av *a, const struct conn_key *k, const char *program, const char *c,
			    const char *stub)
{
	add(a, program);
	add(a, "exec");
	add(a, "-i");
	if (k->user) {
		add(a, "--user");
		add(a, k->user);
	}
	add(a, c);
	add(a, "/bin/sh");
	add(a, "-c");
	add(a, stub);
}

/* k8s://[NAMESPACE/]POD[/CONTAINER]; an option "Context=NAME" becomes --context NAME. */
static int build_k8s(struct av *a, const struct conn_key *k, const char *rest, const char *stub,
		     struct cpr_err *e)
{
	const char *s1 = strchr(rest, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	const char *pod = s1 ? s1 + 1 : rest;
	size_t plen = s2 ? (size_t)(s2 - pod) : strlen(pod);

	if (!*rest || plen == 0 || (s1 && s1 == rest) || (s2 && (!s2[1] || strchr(s2 + 1, '/'))))
		return cpr_err_set(e, CPREMOTE_EINVAL, "%s: expected k8s://[NAMESPACE/]POD[/CONTAINER]",
				   k->host);
	add(a, prog("CPREMOTE_KUBECTL", "kubectl"));
	for (char **o = k->options; o && *o; o++)
		if (strncmp(*o, "Context=", 8) == 0) {
			add(a, "--context");
			add(a, *o + 8);
		}
	add(a, "exec");
	add(a, "-i");
	if (s1) {
		add(a, "-n");
		add_n(a, rest, (size_t)(s1 - rest));
	}
	add_n(a, pod, plen);
	if (s2) {
		add(a, "-c");
		add(a, s2 + 1);
	}
	add(a, "--");
	add(a, "/bin/sh");
	add(a, "-c");
	add(a, stub);
	return 0;
}

/* The stub as the JSON of the command document's parameters: {"command":["STUB"]}. */
static char *ssm_parameters(const char *stub)
{
	size_t n = strlen(stub);
	char *j = malloc(6 * n + 32), *p;

	if (!j)
		return NULL;
	p = j + sprintf(j, "{\"command\":[\"");
	for (const char *s = stub; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		if ((unsigned char)*s < 0x20) {
			p += sprintf(p, "\\u%04x", (unsigned char)*s);
			continue;
		}
		*p++ = *s;
	}
	strcpy(p, "\"]}");
	return j;
}

/* ssm://INSTANCE[@REGION]: a non-interactive command document running the stub. */
static int build_ssm(struct av *a, const struct conn_key *k, const char *rest, const char *stub,
		     struct cpr_err *e)
{
	const char *at = strchr(rest, '@');
	size_t ilen = at ? (size_t)(at - rest) : strlen(rest);
	char *params;

	if (ilen == 0 || (at && !at[1]))
		return cpr_err_set(e, CPREMOTE_EINVAL, "%s: expected ssm://INSTANCE[@REGION]", k->host);
	if (!(params = ssm_parameters(stub)))
		return cpr_err_set(e, -ENOMEM, "relay: out of memory");
	add(a, prog("CPREMOTE_AWS", "aws"));
	add(a, "ssm");
	add(a, "start-session");
	add(a, "--target");
	add_n(a, rest, ilen);
	if (at) {
		add(a, "--region");
		add(a, at + 1);
	}
	add(a, "--document-name");
	add(a, "AWS-StartNonInteractiveCommand");
	add(a, "--parameters");
	add(a, params);
	free(params);
	return 0;
}

int transport_argv(const struct conn_key *k, const char *stub, char ***argv, struct cpr_err *e)
{
	struct av a = { 0 };
	const char *h = k->host;
	int rc = 0;

	*argv = NULL;
	if (strncmp(h, "exec:", 5) == 0) {
		if (!h[5 + strspn(h + 5, " \t")])
			return cpr_err_set(e, CPREMOTE_EINVAL, "%s: exec: names no command", h);
		build_exec(&a, h + 5, stub);
	} else if (strncmp(h, "openssh://", 10) == 0) {
		rc = build_openssh(&a, k, h + 10, stub, e);
	} else if (strncmp(h, "docker://", 9) == 0 || strncmp(h, "podman://", 9) == 0) {
		if (!h[9] || strchr(h + 9, '/'))
			return cpr_err_set(e, CPREMOTE_EINVAL, "%s: expected %.9sCONTAINER", h, h);
		build_container(&a, k,
				h[0] == 'd' ? prog("CPREMOTE_DOCKER", "docker")
					    : prog("CPREMOTE_PODMAN", "podman"),
				h + 9, stub);
	} else if (strncmp(h, "k8s://", 6) == 0) {
		rc = build_k8s(&a, k, h + 6, stub, e);
	} else if (strncmp(h, "ssm://", 6) == 0) {
		rc = build_ssm(&a, k, h + 6, stub, e);
	} else {
		return cpr_err_set(e, CPREMOTE_EINVAL, "%s: not a command transport", h);
	}
	if (rc == 0 && a.oom)
		rc = cpr_err_set(e, -ENOMEM, "relay: out of memory");
	if (rc < 0) {
		transport_argv_free(a.v);
		return rc;
	}
	*argv = a.v;
	return 0;
}

void transport_argv_free(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}
