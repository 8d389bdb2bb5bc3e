/*
 * spawn.c — starting a decoded SPAWN (request.c): the program in its own
 * process group with CHANNEL_FD naming its end of a socketpair, its stdio
 * piped or /dev/null, an exec failure reported back through a
 * close-on-exec pipe.  The guardian (guard.c) learns each new group.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Tells the parent why the child cannot run, then ends it. */
static void __attribute__((noreturn)) child_fail(int report_fd, int stage)
{
	int msg[2] = { stage, errno };
	ssize_t n;

	do
		n = write(report_fd, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/*
 * In the forked child: everything between fork and exec.  Only the
 * helper's thread exists here, so libc calls such as setenv() are safe.
 */
static void __attribute__((noreturn)) child_exec(const struct spawn_req *req, const int stdio_fds[3],
						 int chan_fd, const char *chan_str, int report_fd)
{
	sigset_t none;
	char *eq;
	size_t i;
	int sig;

	/* Its own group, so that the helper can end it with all it started. */
	if (setpgid(0, 0) < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	/* The helper ignores SIGPIPE; an ignored disposition would survive exec. */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* The helper raised its own fd limit; the program gets the one sshd gave (helper_nofile_restore()). */
	if (helper_nofile_restore() < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	/* The sources are all above 2 (the helper keeps 0-2 open), so no dup2 clobbers another. */
	for (i = 0; i < 3; i++)
		if (dup2(stdio_fds[i], (int)i) < 0)
			child_fail(report_fd, CPR_STAGE_SETUP);
	if (fcntl(chan_fd, F_SETFD, 0) < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	if (req->cwd != NULL && chdir(req->cwd) < 0)
		child_fail(report_fd, CPR_STAGE_CHDIR);
	for (i = 0; req->env != NULL && req->env[i] != NULL; i++) {
		if ((eq = strchr(req->env[i], '=')) == NULL) {
			unsetenv(req->env[i]);
			continue;
		}
		*eq = '\0';
		if (setenv(req->env[i], eq + 1, 1) < 0)
			child_fail(report_fd, CPR_STAGE_SETUP);
		*eq = '=';
	}
	if (setenv("CHANNEL_FD", chan_str, 1) < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	if ((req->flags & CPR_SPAWN_NODE) && (setenv("NODE_CHANNEL_FD", chan_str, 1) < 0 ||
					      setenv("NODE_CHANNEL_SERIALIZATION_MODE", "json", 1) < 0))
		child_fail(report_fd, CPR_STAGE_SETUP);
	/* Unblocked last: a signal that came since fork now finds default handlers. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(req->file, req->argv);
	child_fail(report_fd, CPR_STAGE_EXEC);
}

/* The fds of one spawn in the making; -1 where none (closed by fds_close()). */
struct spawn_fds {
	int sv[2]; /* the channel: [0] ours, [1] the child's */
	int pipes[3][2]; /* stdio pipes, where piped */
	int devnull;
	int report[2]; /* exec failure: [1] the child's, close-on-exec */
	int child_stdio[3]; /* what becomes the child's 0, 1, 2 (aliases of the above) */
};

static void fds_close(struct spawn_fds *f)
{
	int i;

	close_fd(&f->sv[0]);
	close_fd(&f->sv[1]);
	close_fd(&f->report[0]);
	close_fd(&f->report[1]);
	close_fd(&f->devnull);
	for (i = 0; i < 3; i++) {
		close_fd(&f->pipes[i][0]);
		close_fd(&f->pipes[i][1]);
	}
}

/* Makes the channel, the stdio pipes (or /dev/null) and the report pipe.  0, or -1 with errno. */
static int fds_open(const struct spawn_req *req, struct spawn_fds *f)
{
	int i, ours;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) < 0 ||
	    helper_set_nonblock(f->sv[0]) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (req->stdio[i] == CPR_STDIO_PIPE) {
			if (pipe2(f->pipes[i], O_CLOEXEC) < 0)
				return -1;
			/* stdin: the child reads [0]; stdout, stderr: it writes [1]. */
			f->child_stdio[i] = f->pipes[i][i == 0 ? 0 : 1];
			ours = f->pipes[i][i == 0 ? 1 : 0];
			if (helper_set_nonblock(ours) < 0)
				return -1;
		} else {
			if (f->devnull < 0 && (f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return -1;
			f->child_stdio[i] = f->devnull;
		}
	}
	return pipe2(f->report, O_CLOEXEC);
}

/*
 * Forks the child (all signals blocked across fork, so that no handler of
 * the helper runs in the child before it has reset them) and waits until
 * it has exec'ed.  Returns its pid, or -1 with *stage and errno.
 */
static pid_t fork_exec(const struct spawn_req *req, struct spawn_fds *f, int *stage)
{
	char chan_str[16];
	sigset_t all, old;
	int msg[2], saved, st;
	pid_t pid;
	ssize_t n;

	snprintf(chan_str, sizeof(chan_str), "%d", f->sv[1]);
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		child_exec(req, f->child_stdio, f->sv[1], chan_str, f->report[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	if (pid < 0)
		return -1;
	/* Our copy of the write end must go, or the read below never sees EOF. */
	close_fd(&f->report[1]);
	do
		n = read(f->report[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return pid;
	/* It failed before or at exec, and has already exited: reap it now. */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(msg)) {
		*stage = msg[0];
		errno = msg[1];
	} else {
		errno = EIO;
	}
	return -1;
}

int spawn_child(const struct spawn_req *req, struct child *c, int *stage)
{
	struct spawn_fds f = { .sv = { -1, -1 },
			       .pipes = { { -1, -1 }, { -1, -1 }, { -1, -1 } },
			       .devnull = -1,
			       .report = { -1, -1 } };
	int saved, i, r = -1;
	pid_t pid;

	*stage = CPR_STAGE_SETUP;
	if (fds_open(req, &f) < 0)
		goto out;
	guard_start();
	if ((pid = fork_exec(req, &f, stage)) < 0)
		goto out;
	/* The child made itself a group leader before exec: its group is its pid. */
	guard_add(pid);
	c->pid = pid;
	c->chan_fd = c->out[CPR_CHANNEL].fd = c->in[CPR_CHANNEL].fd = f.sv[0];
	f.sv[0] = -1;
	if (req->stdio[0] == CPR_STDIO_PIPE) {
		c->in[CPR_STDIN].fd = f.pipes[0][1];
		f.pipes[0][1] = -1;
	}
	for (i = 1; i < 3; i++) {
		struct outstream *o = &c->out[i == 1 ? CPR_STDOUT : CPR_STDERR];

		if (req->stdio[i] == CPR_STDIO_PIPE) {
			o->fd = f.pipes[i][0];
			f.pipes[i][0] = -1;
			o->ended = 0;
		}
	}
	r = 0;
out:
	saved = errno;
	fds_close(&f);
	errno = saved;
	return r;
}
