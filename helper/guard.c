/*
 * guard.c — the guardian: a small process forked from the helper that
 * ends the children's process groups if the helper itself dies without
 * doing so (SIGKILL, a crash).  Why a process and not PR_SET_PDEATHSIG is
 * explained below.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/*
 * The guardian.  The helper ends its children itself when the relay goes
 * away (SIGTERM, then SIGKILL after the grace period), but nothing would
 * if the helper were killed with SIGKILL (or crashed): the children would
 * be re-parented and run on.  PR_SET_PDEATHSIG on each child was the
 * obvious alternative and was rejected: it reaches only the direct child,
 * not the rest of its process group, and it allows one signal only, so
 * either a child that ignores SIGTERM survives or no child gets a chance
 * to clean up.  Instead a small process forked from the helper holds the
 * read end of a pipe to which the helper writes each child's process
 * group; the pipe's EOF means the helper is gone, however it went.  The
 * guardian then does what the helper would have done: SIGTERM to every
 * group still there, SIGKILL after the same grace period.  When the helper
 * ended normally it has already done this, the groups are gone and the
 * guardian simply exits.
 */
#define GUARD_PRUNE_MS 1000

static int guard_fd = -1;

/* Keeps only the groups that still have a member; returns how many. */
static size_t guard_prune(pid_t *groups, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (kill(-groups[i], 0) == 0 || errno != ESRCH)
			groups[k++] = groups[i];
	return k;
}

/* Signals every group; returns how many still had a member. */
static size_t guard_signal(pid_t *groups, size_t n, int sig)
{
	size_t i;

	for (i = 0; i < n; i++)
		kill(-groups[i], sig);
	return guard_prune(groups, n);
}

/* The guardian's whole life, in the forked process: FD is the pipe's read end. */
static void __attribute__((noreturn)) guard_main(int fd)
{
	pid_t *groups = NULL, *ng, pg;
	struct rlimit rl;
	size_t n = 0, cap = 0;
	struct pollfd pfd;
	sigset_t none;
	long deadline;
	ssize_t r;
	int null, sig;

	/* It must hold nothing of the helper's: sshd waits for the session's pipes to close. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (fd != 3 && dup2(fd, 3) == 3)
		fd = 3;
	/* Kernels before 5.9: one close per possible fd (the helper raised its limit), bounded. */
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0) {
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
			rl.rlim_cur = 65536;
		for (int k = 4; k < (int)rl.rlim_cur; k++)
			close(k);
	}
	/* A hang-up or TERM aimed at the session must not stop it before its work is done. */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, sig == SIGTERM || sig == SIGHUP || sig == SIGINT || sig == SIGPIPE
					    ? SIG_IGN
					    : SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "cpremote-guard", 0, 0, 0);

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, GUARD_PRUNE_MS) < 0 && errno != EINTR)
			break;
		n = guard_prune(groups, n);
		if (pfd.revents == 0)
			continue;
		do
			r = read(fd, &pg, sizeof(pg));
		while (r < 0 && errno == EINTR);
		if (r != (ssize_t)sizeof(pg))
			break; /* EOF: the helper is gone */
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((ng = realloc(groups, cap * sizeof(*ng))) == NULL)
				break;
			groups = ng;
		}
		groups[n++] = pg;
	}
	if ((n = guard_signal(groups, n, SIGTERM)) > 0) {
		deadline = helper_now_ms() + helper_grace_ms();
		while ((n = guard_prune(groups, n)) > 0 && helper_now_ms() < deadline)
			poll(NULL, 0, 50);
		guard_signal(groups, n, SIGKILL);
	}
	_exit(0);
}

void guard_start(void)
{
	int p[2];
	sigset_t all, old;
	pid_t pid;

	if (guard_fd >= 0)
		return;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		guard_main(p[0]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	guard_fd = p[1];
}

void guard_add(pid_t pgid)
{
	ssize_t n;

	if (guard_fd < 0)
		return;
	do
		n = write(guard_fd, &pgid, sizeof(pgid));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(pgid)) {
		/* It died: the next spawn starts another one. */
		close(guard_fd);
		guard_fd = -1;
	}
}
