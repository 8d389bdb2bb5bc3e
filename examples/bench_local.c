/*
 * bench_local.c — the local floor of scripts/bench's fan-out: the same
 * child program and the same exchange as `bench_client fanout`, with no
 * SSH, relay or helper in between.
 *
 *   bench_local ECHO N    N local posix_spawns of `ECHO echo`, all started
 *                         at once, each with a socketpair as its channel
 *                         (CHANNEL_FD); each must send its first byte, then
 *                         echo one message.
 *
 * Prints "local_time MS ms" (until the last answer, as fanout_time) and
 * "local_failed K children".  The children are reaped after the clock
 * stops, as the remote ones end after fanout's clock stops.
 * Exit 0, 1 when a child failed, 2 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_io.h"

/* The child's channel fd, as the helper gives it (any fixed number would do). */
#define CHILD_FD 3

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One fd per child stays open here: take the hard limit, as bench_client does. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The environment with CHANNEL_FD added (replacing any).  Returns NULL when out of memory. */
static char **child_env(void)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CHANNEL_FD=", 11) != 0)
			env[j++] = environ[i];
	env[j++] = "CHANNEL_FD=3";
	env[j] = NULL;
	return env;
}

/*
 * Starts `ECHO echo` with the far end of a new socketpair on CHILD_FD.
 * Returns the near end (close-on-exec, owned by the caller) and sets *PID,
 * or -1.  Does not block.
 */
static int spawn_one(const char *echo, char **env, pid_t *pid)
{
	char *argv[] = { (char *)echo, "echo", NULL };
	posix_spawn_file_actions_t fa;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	/* dup2 onto itself would keep close-on-exec: move it out of the way. */
	if (sv[1] == CHILD_FD) {
		int d = fcntl(sv[1], F_DUPFD_CLOEXEC, CHILD_FD + 1);

		close(sv[1]);
		if ((sv[1] = d) < 0) {
			close(sv[0]);
			return -1;
		}
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	r = posix_spawn_file_actions_adddup2(&fa, sv[1], CHILD_FD);
	if (r == 0)
		r = posix_spawn(pid, echo, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		goto fail;
	}
	close(sv[1]);
	return sv[0];
fail:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

/* Advances one child's exchange on readable FD (*STATE 0: waiting for "R", 1: for the echo).  Returns 1 done, 0 more, -1 failed. */
static int step(int fd, unsigned char *state)
{
	ssize_t got;
	char b;

	do
		got = read(fd, &b, 1);
	while (got < 0 && errno == EINTR);
	if (got != 1)
		return -1;
	if (*state == 0) {
		if (b != 'R' || write_all(fd, "m", 1) < 0)
			return -1;
		*state = 1;
		return 0;
	}
	return b == 'm' ? 1 : -1;
}

/* Starts the N children, then serves their exchanges until all are done or 120 s pass.  Returns 0 or 1. */
static int run(const char *echo, long n)
{
	int *fds = calloc((size_t)n, sizeof(*fds)), ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned char *state = calloc((size_t)n, 1);
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct epoll_event evs[256];
	char **env = child_env();
	long i, done = 0, failed = 0;
	double t0, deadline;

	if (fds == NULL || state == NULL || pids == NULL || env == NULL || ep < 0) {
		fprintf(stderr, "bench_local: out of memory or epoll: %s\n", strerror(errno));
		return 1;
	}
	t0 = now_s();
	/* epoll, not poll: the floor must be the spawns' cost, not a scan of N fds per wake-up. */
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i };

		fds[i] = spawn_one(echo, env, &pids[i]);
		if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			fprintf(stderr, "bench_local: child %ld: %s\n", i, strerror(errno));
			failed++;
			state[i] = 2;
		}
	}
	deadline = t0 + 120;
	while (done + failed < n && now_s() < deadline) {
		int r = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 1000);

		if (r < 0 && errno != EINTR)
			break;
		for (int k = 0; k < r; k++) {
			int s;

			i = (long)evs[k].data.u64;
			if (state[i] == 2 || (s = step(fds[i], &state[i])) == 0)
				continue;
			if (s > 0)
				done++;
			else
				failed++;
			state[i] = 2;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	failed = n - done;
	printf("local_time %.3f ms\nlocal_failed %ld children\n", (now_s() - t0) * 1e3, failed);
	/* The clock has stopped: end the rest (EOF on their channel) and reap them all. */
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (pids[i] > 0)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
	close(ep);
	free(fds);
	free(state);
	free(pids);
	free(env);
	return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? atol(argv[2]) : 0;

	if (n <= 0) {
		fprintf(stderr, "usage: bench_local ECHO N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	return run(argv[1], n);
}
