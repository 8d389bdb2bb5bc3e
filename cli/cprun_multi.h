/* cprun_multi.h — cprun's multi-host mode: one program on many hosts at once, output prefixed by host. */
#ifndef CPRUN_MULTI_H
#define CPRUN_MULTI_H

#include "cpremote.h"
#include "cprun_hosts.h"

/*
 * Runs BASE's program on every host of HOSTS at once (BASE->host is
 * ignored; its stdio and channel settings are replaced: stdin is the
 * remote /dev/null, stdout and stderr are piped back, and each child's
 * channel ends at once).  Each line of a child's stdout and stderr goes to
 * cprun's stdout and stderr preceded by "HOST: " (nothing when PREFIX is
 * 0); a last line without a newline gets one.  The forwarded signals reach
 * every child still running.  Ends with a one-line summary on stderr and,
 * while the children run, a progress line when stderr is a terminal.
 * Returns cprun's exit status: the highest of the hosts' (255 for a
 * connection failure), 0 when all succeeded.
 */
int cprun_multi(const struct cpremote_options *base, const struct cprun_hosts *hosts, int prefix,
		const int *signals, int nsignals);

#endif
