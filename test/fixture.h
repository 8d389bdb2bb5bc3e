/*
 * fixture.h — what the end-to-end tests share: the project's test hosts
 * (real sshd, started by scripts/test-hosts before `meson test`), paths of
 * the built programs, and running cprun as a subprocess.
 *
 * Environment (set by test/meson.build and scripts/test):
 *   CPREMOTE_TEST_DIR   the hosts' directory: ssh_config (Host h1 h2 h3 ...),
 *                       known_hosts, id_ed25519, id_unauthorized,
 *                       known_hosts.changed, hN/sshd.log
 *   CPREMOTE_TEST_BUILD the test build directory (test programs under it)
 *   CPRUN               the built cprun
 *   CPREMOTE_RELAY, CPREMOTE_HELPER   the built relay and helper
 */
#ifndef CPREMOTE_FIXTURE_H
#define CPREMOTE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cpremote.h"

/* Nanoseconds on the monotonic clock: the one clock of every test's deadlines. */
int64_t fixture_now_ns(void);

/* The same clock in seconds and in milliseconds. */
static inline double fixture_now(void)
{
	return (double)fixture_now_ns() / 1e9;
}
static inline long long fixture_now_ms(void)
{
	return (long long)(fixture_now_ns() / 1000000);
}

/* The hosts' directory; skips the whole test (TAP) when there are no hosts. */
const char *fixture_dir(void);

/*
 * The port every test host listens on: $CPREMOTE_TEST_PORT, else the one
 * recorded in the hosts' directory (DIR/env), else "2222".  Static storage.
 */
const char *fixture_port(void);

/* A path under the hosts' directory, e.g. fixture_file("known_hosts"); malloc'ed. */
char *fixture_file(const char *name);

/* The path of a test program built under test/, e.g. fixture_prog("exec/echo_child"); malloc'ed. */
char *fixture_prog(const char *relpath);

/* Zeroes *o and sets host and config (the test hosts' ssh_config). */
void fixture_options(struct cpremote_options *o, const char *host);

/* What a finished subprocess left. */
struct fixture_result {
	int status; /* as waitpid() */
	char *out; /* all of its stdout, NUL-terminated */
	size_t out_len;
	char *err; /* all of its stderr, NUL-terminated */
	size_t err_len;
};

/* What fixture_cprun_start() gives cprun as its fd 0, 1 and 2. */
#define FIXTURE_FD_NULL (-1) /* /dev/null */
#define FIXTURE_FD_INHERIT (-2) /* the test's own */

/* How fixture_cprun_start() sets up the new cprun. */
struct fixture_spawn {
	/*
	 * FIXTURE_FD_NULL, FIXTURE_FD_INHERIT or a test fd for each of
	 * cprun's fd 0, 1, 2; installed in that order, so "2" as fd[1]
	 * means the test's stderr.
	 */
	int fd[3];
	int chan; /* -1, or a test fd that becomes cprun's fd 3 */
	const char *env; /* NULL, or one "VAR=VALUE" added to cprun's environment */
	int sigpipe_dfl; /* 1: SIGPIPE at its default in cprun, as a shell starts it */
};

/*
 * Starts $CPRUN with "-F <ssh_config>" before ARGS (NULL-terminated,
 * without argv[0]) unless ARGS start with -F (another config), its fds as
 * S says.  Every other fd of the test is closed in cprun (the tests open
 * theirs O_CLOEXEC).  Does not wait.  Returns cprun's pid, or -1 when it
 * could not be started (a TAP diagnostic says why); the caller reaps it.
 */
pid_t fixture_cprun_start(const char *const *args, const struct fixture_spawn *s);

/*
 * Runs cprun with ARGS (NULL-terminated, without argv[0]); "-F <ssh_config>"
 * is put first unless ARGS already start with -F (another config).  Feeds IN (may be NULL: empty stdin) and collects stdout
 * and stderr.  Kills it and fails the test after TIMEOUT_S seconds.
 * Returns 0, or -1 when it could not be run.
 */
int fixture_cprun(const char *const *args, const char *in, size_t in_len, int timeout_s,
		  struct fixture_result *r);

void fixture_result_free(struct fixture_result *r);

/*
 * Reads FD until end of file, TIMEOUT_MS at most.  Returns 0 and sets *out
 * (malloc'ed, NUL-terminated) and *len; or -ETIMEDOUT / -errno, and then
 * *out and *len still hold what arrived.  FD may be blocking or not.
 */
int fixture_read_eof(int fd, int timeout_ms, char **out, size_t *len);

/*
 * Waits up to TIMEOUT_S seconds for CHILD to end (its exit fd, then
 * cpremote_wait()).  Returns 1 and sets *status, 0 on timeout, or the
 * negative code of cpremote_wait() (or -errno of poll()).
 */
int fixture_wait_child(cpremote_child *child, int *status, double timeout_s);

/* Prints each host's sshd log as TAP diagnostics (call when a test failed). */
void fixture_dump_logs(void);

#endif
