/*
 * faults.h — what the fault tests share: a private scratch directory, the
 * netproxy in front of a test host, the remote target fault_child and the
 * process table of "either side" (here one machine: the caller's processes
 * and the remote test user's), read from /proc.
 */
#ifndef CPREMOTE_FAULTS_H
#define CPREMOTE_FAULTS_H

#include <sys/types.h>
#include "cpremote.h"

/* Wide bounds: a fault must show within these, or the test fails (not hangs). */
#define FAULT_DETECT_S 20 /* the caller learns of the fault */
/* The helper's grace period (5 s, not settable through sshd) plus a wide margin. */
#define FAULT_CLEANUP_S 20

/* A process as it was when first seen: pid plus start time, so reuse is not mistaken for it. */
struct fault_proc {
	pid_t pid;
	unsigned long long start;
};

/* Fills *P for PID.  Returns 0, or -1 when there is no such process. */
int fault_proc_get(pid_t pid, struct fault_proc *p);

/* The parent of PID, or -1. */
pid_t fault_ppid(pid_t pid);

/* Whether P still exists (a zombie counts: it is something left behind). */
int fault_proc_exists(const struct fault_proc *p);

/* Whether P exists as a zombie. */
int fault_proc_zombie(const struct fault_proc *p);

/*
 * Waits until none of the N processes exists.  Returns the seconds it took,
 * or -1 after TIMEOUT_S (then prints which still run).
 */
double fault_wait_gone(const struct fault_proc *ps, int n, double timeout_s);

/* Number of zombies whose parent is one of the N processes or this process. */
int fault_zombies_of(const struct fault_proc *ps, int n);

/*
 * Finds a process other than this one whose environment holds ENTRY
 * ("VAR=VALUE") and, unless COMM is NULL, whose command name is COMM; 0
 * when none.
 */
pid_t fault_find_env(const char *entry, const char *comm);

/*
 * Writes into BUF (one path a line) what could be a temporary file left by
 * the product or sshd: entries of /tmp, /dev/shm and the remote user's
 * home owned by the remote user, and ssh-* and libssh* entries of /tmp.
 * Returns the length it needed.
 */
size_t fault_temp_files(char *buf, size_t len);

/* How many lines of AFTER are not in BEFORE (printed as diagnostics). */
int fault_new_files(const char *before, const char *after);

/* Number of open fds of this process. */
int fault_count_fds(void);

/* The scratch directory (created on first use, world-writable for the remote user). */
const char *fault_tmpdir(void);

/* A unique "FAULT_TAG=..." entry for this test process. */
const char *fault_tag(void);

/* Removes the scratch directory and what is in it (one level). */
void fault_tmpdir_remove(void);

/* A running netproxy in front of a test host. */
struct fault_proxy {
	pid_t pid;
	int port;
	char fifo[512];
	char known_hosts[512]; /* the host's key recorded for [addr]:port */
	char kh_option[600]; /* "UserKnownHostsFile=..." */
};

/*
 * Starts netproxy on ADDR (port chosen by the kernel) forwarding to
 * ADDR:$CPREMOTE_TEST_PORT, and writes a known_hosts naming the proxy's
 * address for the host key of that host.  Returns 0 or -1.
 */
int fault_proxy_start(struct fault_proxy *px, const char *addr);

/* Sends one command line ("cut", "freeze", "thaw", "delay N"). */
int fault_proxy_cmd(struct fault_proxy *px, const char *cmd);

/* Stops the proxy and reaps it. */
void fault_proxy_stop(struct fault_proxy *px);

/*
 * The remote target: fault_child (built under test/faults) in MODE with
 * its log in the scratch directory.  ARGV receives file, mode, log path.
 */
void fault_child_argv(const char *argv[4], const char *mode);

/* Path of the target's log (lines "TERM <pid>"). */
const char *fault_child_log(void);

/* Whether the target's log says process PID got SIGTERM. */
int fault_term_got(pid_t pid);

/*
 * Reads one line (the target's "PID GPID") from FD within TIMEOUT_S.
 * Returns 0 and sets the two pids, or -1.
 */
int fault_read_pids(int fd, pid_t *pid, pid_t *gpid, double timeout_s);

/*
 * The remote processes serving a target whose pid is CHILD: the target,
 * its grandchild GCHILD, the helper (its parent), and sshd's processes for
 * the connection (the helper's parent and grandparent).  Returns how many
 * it filled into PS (up to 5).
 */
int fault_remote_procs(pid_t child, pid_t gchild, struct fault_proc ps[5]);

/* A cprun run in the background with stdout and stderr on pipes. */
struct fault_cprun {
	pid_t pid;
	int out, err;
};

/* Starts cprun as fixture_cprun_start() does with ARGS, stdin /dev/null, env + EXTRA_ENV. */
int fault_cprun_start(struct fault_cprun *r, const char *const *args, const char *extra_env);

/*
 * Waits up to TIMEOUT_S for it to end; returns its exit code (128+N for
 * signal N, -1 on timeout, when it is killed) and its stderr in ERR.
 */
int fault_cprun_finish(struct fault_cprun *r, double timeout_s, char *err, size_t errlen);

#endif
