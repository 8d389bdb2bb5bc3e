/*
 * sshconf_scan.c — whether the ssh_config files ssh would read could set a
 * keyword (see sshconf.h): a cheap look before paying for `ssh -G`.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sshconf.h"

/* How deep Include lines are followed. */
#define INCLUDE_DEPTH 4
/* A config file larger than this is taken as "may set it" without reading it all. */
#define CONF_SCAN_MAX (1024 * 1024)

/* Whether the line P starts with one of KEYS, as a whole word. */
static int names_key(const char *p, const char *const *keys)
{
	for (; *keys; keys++) {
		size_t n = strlen(*keys);

		if (!strncasecmp(p, *keys, n) && (p[n] == ' ' || p[n] == '\t' || p[n] == '='))
			return 1;
	}
	return 0;
}

static int conf_may_set(const char *path, const char *const *keys, int depth);

/* Whether the Include line's patterns LINE (after the keyword) name a file that may set it. */
static int include_may_set(char *line, const char *const *keys, int depth)
{
	char *save = NULL, pat[4096];
	const char *home = getenv("HOME");
	int hit = 0;

	for (char *w = strtok_r(line, " \t\r\n", &save); w && !hit; w = strtok_r(NULL, " \t\r\n", &save)) {
		glob_t g;

		/* Relative names are under ~/.ssh (a user's file) or /etc/ssh (the system's). */
		if (w[0] == '~' && home)
			snprintf(pat, sizeof pat, "%s%s", home, w + 1);
		else if (w[0] != '/')
			snprintf(pat, sizeof pat, "%s/.ssh/%s", home ? home : "", w);
		else
			snprintf(pat, sizeof pat, "%s", w);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc && !hit; i++)
			hit = conf_may_set(g.gl_pathv[i], keys, depth + 1);
		globfree(&g);
	}
	return hit;
}

/*
 * Whether the ssh_config PATH (or a file it includes) has a line of one of
 * KEYS.  A file that cannot be read sets nothing; one too
 * deep in includes, or too large, may set anything.
 */
static int conf_may_set(const char *path, const char *const *keys, int depth)
{
	char line[4096];
	FILE *f;
	long seen = 0;
	int hit = 0;

	if (depth > INCLUDE_DEPTH)
		return 1;
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (!hit && fgets(line, sizeof line, f)) {
		char *p = line + strspn(line, " \t");

		if ((seen += (long)strlen(line)) > CONF_SCAN_MAX)
			hit = 1;
		else if (names_key(p, keys))
			hit = 1;
		else if (!strncasecmp(p, "Include", 7) && (p[7] == ' ' || p[7] == '\t' || p[7] == '='))
			hit = include_may_set(p + 8, keys, depth);
	}
	fclose(f);
	return hit;
}


int sshconf_files_mention(const char *config, const char *const *keys)
{
	char user[4096];
	const char *home = getenv("HOME");

	/* -F FILE replaces both the user's and the system's file, as in ssh. */
	if (config)
		return conf_may_set(config, keys, 0);
	snprintf(user, sizeof user, "%s/.ssh/config", home ? home : "");
	return conf_may_set(user, keys, 0) || conf_may_set("/etc/ssh/ssh_config", keys, 0);
}
