/* cprun_dest.h — cprun's destination operand: a host name as ssh takes it, or an ssh:// URI. */
#ifndef CPRUN_DEST_H
#define CPRUN_DEST_H

#include <stddef.h>

/* A destination taken apart: what goes into struct cpremote_options. */
struct cprun_dest {
	char *host; /* malloc'ed: the name or address (brackets of an IPv6 address removed) */
	char *user; /* malloc'ed, or NULL: the URI named none */
	int port; /* 0: the URI named none */
};

/*
 * Parses ARG as ssh(1) takes a destination: "ssh://[USER@]HOST[:PORT]"
 * (USER percent-decoded, HOST possibly "[IPv6]", an empty PORT meaning
 * the default; no path), or anything else passed on whole as the host
 * (so "user@host", an ssh_config alias and the transports' own URIs,
 * "docker://...", keep working).  Returns 0 and fills *D, or -1 with a
 * message in ERR (ERRLEN bytes) for a bad ssh:// URI or no memory.  The
 * caller frees *D with cprun_dest_free().
 */
int cprun_dest_parse(const char *arg, struct cprun_dest *d, char *err, size_t errlen);

/*
 * Parses ARG into *D (as cprun_dest_parse()) and points O's host at it,
 * and O's user and port at the URI's when O has none of its own (-l and
 * -p win, as with ssh).  O borrows from *D: free *D only once O is used.
 * Returns 0, or -1 with ERR set.
 */
struct cpremote_options;
int cprun_dest_apply(const char *arg, struct cpremote_options *o, struct cprun_dest *d, char *err,
		     size_t errlen);

/* Releases what *D holds; *D is empty afterwards.  Accepts an empty one. */
void cprun_dest_free(struct cprun_dest *d);

#endif
