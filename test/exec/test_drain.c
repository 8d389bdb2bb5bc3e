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

/* One SIGINT case: its command, what its assertions say, and the orphan it leaves. */
struct sigint_case {
	const char *name; /* "cprun" or "cprun -H", for the assertions and diagnostics */
	int nprogs; /* how many programs say "started" */
	const char *started; /* the assertion that they did */
	const char *sent; /* the assertion that SIGINT was sent */
	const char *ends; /* the assertion that cprun ended soon */
	const char *exit130; /* the assertion of its status */
	const char *exited, *exited_msg; /* what stderr says of the programs, and its assertion */
	const char *signal_msg; /* NULL, or the assertion that stderr names SIGINT */
	const char *orphan, *orphan_msg; /* the orphan's sleep argument, and its assertion */
};

/*
 * Starts cprun ARGS, waits until its programs said "started", gives them
 * time to exit and sends cprun SIGINT: it must end at once with 130 and
 * say why, and the orphans must be ended on the hosts.
 */
static void sigint_after_exit(const char *const *args, const struct sigint_case *k)
{
	char line[64], err[1024], m[128];
	int out = -1, errfd = -1, st, said;
	double t0, secs;
	pid_t pid = -1;
	ssize_t n;

	snprintf(m, sizeof m, "%s starts", k->name);
	if (!ok(getenv("CPRUN") != NULL && (pid = start_cprun(args, &out, &errfd)) > 0, m))
		goto out;
	said = k->nprogs == 1 ? exec_read_line(out, line, sizeof(line), 30)
			      : read_started(out, k->nprogs, 30);
	if (!ok(said, k->started)) {
		kill(pid, SIGKILL);
		wait_within(pid, 5);
		goto out;
	}
	/* Time for sh to exit and for the news to reach cprun. */
	sleep(1);
	ok(kill(pid, SIGINT) == 0, k->sent);
	t0 = fixture_now();
	st = wait_within(pid, 15);
	secs = fixture_now() - t0;
	printf("# %s ended %.2f s after SIGINT\n", k->name, secs);
	ok(st != -1 && secs < END_BOUND_S, k->ends);
	ok_int(st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, 130, k->exit130);
	n = read(errfd, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	ok_contains(err, k->exited, k->exited_msg);
	if (k->signal_msg != NULL)
		ok_contains(err, "SIGINT", k->signal_msg);
	if (k->nprogs > 1) {
		n = read(out, err, sizeof(err) - 1);
		err[n > 0 ? n : 0] = '\0';
		printf("# %s: the rest of stdout: %s\n", k->name, err);
	}
	ok(sleep_gone_within(k->orphan, 10), k->orphan_msg);
out:
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
}

static void cprun_sigint(void)
{
	static const struct sigint_case k = {
		.name = "cprun",
		.nprogs = 1,
		.started = "cprun: the program says it started",
		.sent = "cprun: SIGINT sent after the program exited",
		.ends = "cprun: it ends within 2 s, not when the orphan does",
		.exit130 = "cprun: exit 130 (128+SIGINT)",
		.exited = "the program exited (status 3)",
		.exited_msg = "cprun: the message says the program had exited",
		.signal_msg = "cprun: ... and names the signal",
		.orphan = "29.5",
		.orphan_msg = "cprun: the orphan is ended on the host after cprun ends",
	};
	const char *args[] = { "h1", "sh", "-c", "echo started; sleep 29.5 & exit 3", NULL };

	sigint_after_exit(args, &k);
}

/* The same with -H: once every host's program exited, SIGINT ends the wait for all. */
static void cprun_multi_sigint(void)
{
	static const struct sigint_case k = {
		.name = "cprun -H",
		.nprogs = 2,
		.started = "cprun -H: both programs say they started",
		.sent = "cprun -H: SIGINT sent after the programs exited",
		.ends = "cprun -H: it ends within 2 s",
		.exit130 = "cprun -H: exit 130",
		.exited = "the programs exited",
		.exited_msg = "cprun -H: the message says the programs had exited",
		.orphan = "29.75",
		.orphan_msg = "cprun -H: the orphans are ended on the hosts",
	};
	const char *args[] = { "-H", "h1,h2", "sh", "-c", "echo started; sleep 29.75 & exit 3", NULL };

	sigint_after_exit(args, &k);
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
