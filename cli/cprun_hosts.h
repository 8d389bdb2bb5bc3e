/* cprun_hosts.h — the host list of cprun's multi-host mode (-H), from names and hosts files. */
#ifndef CPRUN_HOSTS_H
#define CPRUN_HOSTS_H

#include <stddef.h>

/* The hosts to run on, in the order given; duplicates are kept (run twice). */
struct cprun_hosts {
	char **v; /* malloc'ed names */
	size_t n;
	size_t cap;
};

/*
 * Adds the hosts named by one -H argument: "h1,h2,..." (empty names
 * skipped), or "@FILE", a hosts file with one host per line, '#' starting
 * a comment, blank lines ignored, spaces around a name trimmed.  Returns
 * 0, or -1 after printing why on stderr (unreadable file, a name with a
 * space inside, out of memory).
 */
int cprun_hosts_add(struct cprun_hosts *h, const char *arg);

/* Releases the names; *h is empty afterwards.  Accepts an empty list. */
void cprun_hosts_free(struct cprun_hosts *h);

#endif
