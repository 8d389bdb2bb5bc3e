/* cprun_multi.h — cprun's multi-host mode: one program on many hosts at once, output prefixed by host. */
#ifndef CPRUN_MULTI_H
#define CPRUN_MULTI_H

#include "cpremote.h"
#include "cprun_hosts.h"

/* How cprun -H writes what the hosts say. */
struct cprun_multi_opts {
	int prefix; /* "HOST: " before each line (0: --no-prefix) */
	int gather; /* -b: each distinct stdout once, under its hosts, at the end */
	int quiet; /* -q: no summary, no progress line, no notes; errors still */
	const int *signals; /* forwarded to every child */
	int nsignals;
};

/*
 * Runs BASE's program on every host of HOSTS at once (BASE->host is
 * ignored; its stdio and channel settings are replaced: stdin is the
 * remote /dev/null, stdout and stderr are piped back, and each child's
 * channel ends at once).  A host may be an ssh:// destination
 * (cprun_dest.h; the caller has checked them).  Each line of a child's
 * stdout and stderr goes to cprun's stdout and stderr preceded by
 * "HOST: " (nothing without MO->prefix); a last line without a newline
 * gets one.  With MO->gather each host's stdout is kept (within its share
 * of CPRUN_GATHER_BUDGET, beyond which it is written as it comes) and
 * printed by cprun_gather_print() once every host has ended.  The
 * forwarded signals reach every child still running.  Ends with a
 * one-line summary on stderr and, while the children run, a progress
 * line when stderr is a terminal (neither with MO->quiet).  Returns
 * cprun's exit status: the highest of the hosts' (255 for a connection
 * failure), 0 when all succeeded.
 */
int cprun_multi(const struct cpremote_options *base, const struct cprun_hosts *hosts,
		const struct cprun_multi_opts *mo);

#endif
