/*
 * caller.h — what the channel tests need on the caller's side beyond
 * fixture.h: running cprun with a channel socket, and the test hosts'
 * addresses.
 */
#ifndef CPR_TEST_CALLER_H
#define CPR_TEST_CALLER_H

#include <stddef.h>
#include <sys/types.h>

#include "cpremote.h"

/* Sets O_NONBLOCK on FD.  Returns 0 or -errno. */
int cl_nonblock(int fd);

/* Fills BUF with N bytes from getrandom(2); exits the test when that fails. */
void cl_random(void *buf, size_t n);

/*
 * Starts "$CPRUN -F <ssh_config> --channel-fd 3 ARGS..." with CHAN as its
 * fd 3, stdin from /dev/null and stdout/stderr to the test's stderr (so
 * they never mix with TAP).  Returns 0 and sets *pid, or -errno.
 */
int cl_spawn_cprun(const char *const *args, int chan, pid_t *pid);

/* Waits up to TIMEOUT_S for PID; kills it on timeout.  Returns 1 and *status, 0 on timeout, -errno. */
int cl_waitpid(pid_t pid, int *status, int timeout_s);

/*
 * The address HOST (e.g. "h2") has in the test hosts' ssh_config (its
 * HostName line), malloc'ed; NULL when the file does not name it.
 */
char *cl_host_addr(const char *host);

/* A short text for a wait status ("exited 3", "killed by signal 9"), in a static buffer. */
const char *cl_status_str(int status);

#endif
