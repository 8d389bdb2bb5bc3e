/*
 * authconf.c — what the evaluated ssh_config says about keys and the
 * agent, for auth.c (see struct auth_conf in auth.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

/* Appends S (taken) to the NULL-terminated *V.  Returns 0 or -ENOMEM (S freed). */
static int strv_push(char ***v, char *s)
{
	size_t n = 0;
	char **nv;

	while (*v && (*v)[n])
		n++;
	nv = realloc(*v, (n + 2) * sizeof *nv);
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Every value of KEY in G, expanded, appended to *V. */
static int expand_all(const struct sshconf *g, const char *orighost, const char *key, char ***v, char *msg,
		      size_t msglen)
{
	const char *value;
	size_t i = 0;

	while ((value = sshconf_next(g, key, &i)) != NULL) {
		char *path = sshconf_expand(g, orighost, value);

		if (!path) {
			int err = errno;

			snprintf(msg, msglen, "cannot expand %s \"%s\": %s", key, value, strerror(err));
			return -err;
		}
		if (strv_push(v, path) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The agent socket IdentityAgent names (SSH_AUTH_SOCK when unset), or NULL for none. */
static int agent_socket(struct auth_conf *a, const struct sshconf *g, const char *orighost)
{
	const char *v = sshconf_get(g, "identityagent");
	const char *env = "SSH_AUTH_SOCK";

	if (v && strcasecmp(v, "none") == 0)
		return 0;
	if (v && strcmp(v, "SSH_AUTH_SOCK") != 0 && v[0] != '$') {
		a->agent_sock = sshconf_expand(g, orighost, v);
		return a->agent_sock ? 0 : -errno;
	}
	if (v && v[0] == '$')
		env = v + 1;
	if (getenv(env) && *getenv(env)) {
		a->agent_sock = strdup(getenv(env));
		return a->agent_sock ? 0 : -ENOMEM;
	}
	return 0;
}

int auth_conf_from_sshconf(struct auth_conf *a, const struct sshconf *g, const char *orighost, char *msg,
			   size_t msglen)
{
	const char *only = sshconf_get(g, "identitiesonly");
	int rc;

	a->identities_only = only && strcasecmp(only, "yes") == 0;
	rc = expand_all(g, orighost, "identityfile", &a->identities, msg, msglen);
	if (rc == 0)
		rc = expand_all(g, orighost, "certificatefile", &a->certs, msg, msglen);
	if (rc == 0 && (rc = agent_socket(a, g, orighost)) < 0)
		snprintf(msg, msglen, "cannot expand IdentityAgent: %s", strerror(-rc));
	if (rc < 0) {
		auth_conf_free(a);
		return rc;
	}
	a->have = 1;
	return 0;
}

void auth_conf_free(struct auth_conf *a)
{
	strv_free(a->identities);
	strv_free(a->certs);
	free(a->agent_sock);
	memset(a, 0, sizeof *a);
}
