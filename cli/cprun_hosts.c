/* cprun_hosts.c — parses cprun's -H arguments (name lists and @hosts files) into a host list. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprun_hosts.h"

/* Appends the N bytes at NAME, trimmed of white space; nothing for an empty name. */
static int push(struct cprun_hosts *h, const char *name, size_t n, const char *where)
{
	char *s;

	while (n > 0 && isspace((unsigned char)*name)) {
		name++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)name[n - 1]))
		n--;
	if (n == 0)
		return 0;
	/*
	 * A space inside would be a second name the user forgot to separate;
	 * an exec: destination is a command line, its words split by spaces.
	 */
	for (size_t i = 0; i < n && !(n > 5 && memcmp(name, "exec:", 5) == 0); i++) {
		if (isspace((unsigned char)name[i])) {
			fprintf(stderr, "cprun: %s: bad host name \"%.*s\"\n", where, (int)n, name);
			return -1;
		}
	}
	if (h->n == h->cap) {
		size_t ncap = h->cap != 0 ? 2 * h->cap : 16;
		char **nv = realloc(h->v, ncap * sizeof(*nv));

		if (nv == NULL)
			goto nomem;
		h->v = nv;
		h->cap = ncap;
	}
	if ((s = strndup(name, n)) == NULL)
		goto nomem;
	h->v[h->n++] = s;
	return 0;
nomem:
	fprintf(stderr, "cprun: out of memory\n");
	return -1;
}

/* Adds every line of the hosts file PATH. */
static int add_file(struct cprun_hosts *h, const char *path)
{
	FILE *f = NULL;
	char *line = NULL, *hash;
	size_t cap = 0;
	ssize_t len;
	int r = -1;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "cprun: hosts file %s: %s\n", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		if ((hash = memchr(line, '#', (size_t)len)) != NULL)
			len = hash - line;
		if (push(h, line, (size_t)len, path) < 0)
			goto out;
	}
	if (ferror(f)) {
		fprintf(stderr, "cprun: hosts file %s: %s\n", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	return r;
}

/* Adds one -H argument's hosts (see cprun_hosts.h). */
int cprun_hosts_add(struct cprun_hosts *h, const char *arg)
{
	const char *p = arg, *comma;

	if (arg[0] == '@')
		return add_file(h, arg + 1);
	for (;;) {
		comma = strchr(p, ',');
		if (push(h, p, comma != NULL ? (size_t)(comma - p) : strlen(p), "-H") < 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Releases the names (see cprun_hosts.h). */
void cprun_hosts_free(struct cprun_hosts *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
