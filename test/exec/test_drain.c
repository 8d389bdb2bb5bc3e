/*
 * test_drain.c — a program that exits while a process it left behind
 * holds its output (`sh -c 'sleep N & exit 3'`): the library says it has
 * exited although the final status waits for the output to close, and a
 * SIGINT to cprun then ends it at once with 130 and a message, instead of
 * waiting for the orphan, which is then ended on the host.
 *
 * The test hosts are sshd instances on this machine: the orphan is looked
 * for in /proc by its unusual argument.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/* How soon cprun must end after the SIGINT (the brief: a second or two). */
#define END_BOUND_S 2.0

/* Whether a process runs `sleep ARG`. */
static int sleep_runs(const char *arg)
{
	char want[64], path[300], buf[128];
	struct dirent *e;
	size_t wlen;
	int found = 0;
	DIR *d;

	wlen = (size_t)snprintf(want, sizeof(want), "sleep%c%s", '\0', arg) + 1;
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		ssize_t n;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		found = n == (ssize_t)wlen && memcmp(buf, want, wlen) == 0;
	}
	closedir(d);
	return found;
}

static int sleep_runs_arg(const void *arg)
{
	return sleep_runs(arg);
}

/* Polls until `sleep ARG` is gone; 1 when it went within TIMEOUT_S. */
static int sleep_gone_within(const char *arg, double timeout_s)
{
	return exec_gone_within(sleep_runs_arg, arg, timeout_s);
}

/* The library: exited while the final status still waits. */
static void lib_exited(void)
{
	const char *argv[] = { "sh", "-c", "sleep 29.25 & exit 3", NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	double deadline;
	int st = -1, r = 0;

	fixture_options(&o, "h1");
	o.file = argv[0];
	o.argv = argv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	if (!ok(cpremote_run(&o, &c) == 0, "lib: sh starts")) {
		printf("#   %s\n", cpremote_errmsg());
		return;
	}
	ok_int(cpremote_exited(c, &st), 0, "lib: not exited at the start");
	deadline = fixture_now() + 20;
	while (!cpremote_exited(c, NULL) && fixture_now() < deadline) {
		struct pollfd p = { .fd = cpremote_exit_fd(c), .events = POLLIN };

		(void)poll(&p, 1, 200);
		if ((r = cpremote_wait(c, &st, CPREMOTE_WNOHANG)) != 0)
			break;
	}
	ok_int(r, 0, "lib: cpremote_wait still waits (the orphan holds stdout)");
	ok_int(cpremote_exited(c, &st), 1, "lib: cpremote_exited says the program exited");
	ok_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 3, "lib: ... with its status, exit 3");
	cpremote_free(c);
	/* The connection's end ends the orphan's group on the host (the helper's duty). */
	cpremote_shutdown();
	ok(sleep_gone_within("29.25", 10), "lib: the orphan is ended on the host once the relay ends");
}

/* cprun ARGS (the fixture puts -F ssh_config first) with stdout and stderr on pipes; its pid, or -1. */
static pid_t start_cprun(const char *const *args, int *out, int *err)
{
	struct fixture_spawn s = { .fd = { FIXTURE_FD_NULL, -1, -1 }, .chan = -1 };
	int op[2], ep[2];
	pid_t pid;

	if (pipe2(op, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(op[0]);
		close(op[1]);
		return -1;
	}
	s.fd[1] = op[1];
	s.fd[2] = ep[1];
	pid = fixture_cprun_start(args, &s);
	close(op[1]);
	close(ep[1]);
	if (pid < 0) {
		close(op[0]);
		close(ep[0]);
		return -1;
	}
	*out = op[0];
	*err = ep[0];
	return pid;
}


/* Waits for PID for at most TIMEOUT_S; its status, or -1 (then it is killed). */
static int wait_within(pid_t pid, double timeout_s)
{
	double deadline = fixture_now() + timeout_s;
	int st;

	while (fixture_now() < deadline) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* Reads FD until WANT occurrences of "started" came or TIMEOUT_S passed; 1 when they came. */
static int read_started(int fd, int want, int timeout_s)
{
	char buf[512];
	size_t len = 0;
	double deadline = fixture_now() + timeout_s;

	while (fixture_now() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int seen = 0;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		for (const char *q = buf; (q = strstr(q, "started")) != NULL; q++)
			seen++;
		if (seen >= want)
			return 1;
	}
	return 0;
}

/* One SIGINT case: how it is named in the assertions, and how many programs it starts. */
struct sigint_case {
	const char *name; /* "cprun" or "cprun -H" */
	const char *started; /* the assertion that the programs said they started */
	const char *sent; /* the assertion that SIGINT was sent */
	int nprogs;
};

/*
 * Starts cprun ARGS, waits until its programs said "started", gives them
 * time to exit and sends cprun SIGINT, then waits for cprun (15 s at most).
 * Returns 1 with *st (-1: it did not end), *secs since the SIGINT and
 * *out, *errfd (cprun's stdout and stderr, for the caller to close) set;
 * 0 when it did not get that far (the failure asserted; fds set as far as opened).
 */
static int sigint_after_exit(const char *const *args, const struct sigint_case *k, int *out, int *errfd,
			     int *st, double *secs)
{
	char line[64], m[128];
	double t0;
	pid_t pid = -1;
	int said;

	snprintf(m, sizeof m, "%s starts", k->name);
	if (!ok(getenv("CPRUN") != NULL && (pid = start_cprun(args, out, errfd)) > 0, m))
		return 0;
	said = k->nprogs == 1 ? exec_read_line(*out, line, sizeof(line), 30)
			      : read_started(*out, k->nprogs, 30);
	if (!ok(said, k->started)) {
		kill(pid, SIGKILL);
		wait_within(pid, 5);
		return 0;
	}
	/* Time for sh to exit and for the news to reach cprun. */
	sleep(1);
	ok(kill(pid, SIGINT) == 0, k->sent);
	t0 = fixture_now();
	*st = wait_within(pid, 15);
	*secs = fixture_now() - t0;
	printf("# %s ended %.2f s after SIGINT\n", k->name, *secs);
	return 1;
}

static void cprun_sigint(void)
{
	static const struct sigint_case k = { "cprun", "cprun: the program says it started",
					      "cprun: SIGINT sent after the program exited", 1 };
	const char *args[] = { "h1", "sh", "-c", "echo started; sleep 29.5 & exit 3", NULL };
	char err[1024];
	int out = -1, errfd = -1, st;
	double secs;
	ssize_t n;

	if (!sigint_after_exit(args, &k, &out, &errfd, &st, &secs))
		goto out;
	ok(st != -1 && secs < END_BOUND_S, "cprun: it ends within 2 s, not when the orphan does");
	ok_int(st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, 130, "cprun: exit 130 (128+SIGINT)");
	n = read(errfd, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	ok_contains(err, "the program exited (status 3)", "cprun: the message says the program had exited");
	ok_contains(err, "SIGINT", "cprun: ... and names the signal");
	ok(sleep_gone_within("29.5", 10), "cprun: the orphan is ended on the host after cprun ends");
out:
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
}

/* The same with -H: once every host's program exited, SIGINT ends the wait for all. */
static void cprun_multi_sigint(void)
{
	static const struct sigint_case k = { "cprun -H", "cprun -H: both programs say they started",
					      "cprun -H: SIGINT sent after the programs exited", 2 };
	const char *args[] = { "-H", "h1,h2", "sh", "-c", "echo started; sleep 29.75 & exit 3", NULL };
	char err[1024];
	int out = -1, errfd = -1, st;
	double secs;
	ssize_t n;

	if (!sigint_after_exit(args, &k, &out, &errfd, &st, &secs))
		goto out;
	ok(st != -1 && secs < END_BOUND_S, "cprun -H: it ends within 2 s");
	ok_int(st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, 130, "cprun -H: exit 130");
	n = read(errfd, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	ok_contains(err, "the programs exited", "cprun -H: the message says the programs had exited");
	n = read(out, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	printf("# cprun -H: the rest of stdout: %s\n", err);
	ok(sleep_gone_within("29.75", 10), "cprun -H: the orphans are ended on the hosts");
out:
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
}

int main(void)
{
	fixture_dir();
	lib_exited();
	cprun_sigint();
	cprun_multi_sigint();
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
