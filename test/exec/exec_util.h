/*
 * exec_util.h — what the exec tests share beyond the fixture: driving a
 * child's piped stdio, starting a child, running cprun for its status and
 * messages, waiting for a process to go.
 */
#ifndef CPREMOTE_EXEC_UTIL_H
#define CPREMOTE_EXEC_UTIL_H

#include <stddef.h>
#include "cpremote.h"
#include "fixture.h"

/*
 * Feeds IN (IN_LEN bytes) to CHILD's piped stdin and closes it (EOF), reads
 * its piped stdout and stderr until both end, then waits for its status
 * (r->status, as wait(2)).  Streams not piped are skipped.  Gives up after
 * TIMEOUT_S seconds.  Returns 1 when the status came, or a negative code
 * from cpremote_wait(), or 0 on timeout.  Free R with fixture_result_free().
 */
int exec_pump(cpremote_child *child, const char *in, size_t in_len, int timeout_s, struct fixture_result *r);

/* The text exec_child spew writes for BYTES bytes of TAG lines ('O' or 'E'); malloc'ed. */
char *exec_pattern(char tag, size_t bytes);

/* Reads CHILD's stdout until it holds a whole line or TIMEOUT_S passed; 1 when a line came. */
int exec_read_line(int fd, char *buf, size_t size, int timeout_s);

/*
 * Starts ARGV on HOST through the library with the test's stderr for its
 * own and stdout piped when PIPE_STDOUT.  Returns cpremote_run()'s code,
 * *c set on success.
 */
int exec_start(const char *host, const char *const *argv, int pipe_stdout, cpremote_child **c);

/*
 * Runs cprun with ARGS (as fixture_cprun(), empty stdin, 60 s at most: a
 * hang shows as that, not as the harness's timeout) and prints its exit status and stderr as a TAP diagnostic.
 * Returns its exit status (-1 when it could not run or was killed); *err
 * and, when OUT is not NULL, *out get its stderr and stdout (malloc'ed,
 * "" when it could not run); *secs, when not NULL, how long it took.
 */
int exec_cprun_exit(const char *const *args, char **err, char **out, double *secs);

/* "Option=VALUE" for ssh's -o, in static rotating storage (8 at a time). */
const char *exec_opt(const char *name, const char *value);

/* Polls every 50 ms until RUNS(ARG) says 0 or TIMEOUT_S passed; 1 when it said 0. */
int exec_gone_within(int (*runs)(const void *arg), const void *arg, double timeout_s);

#endif
