/*
 * spawn.c — starting a decoded SPAWN (request.c): the program in its own
 * process group with CHANNEL_FD naming its end of a socketpair, its stdio
 * piped or /dev/null, an exec failure reported back through a
 * close-on-exec pipe.  The guardian (guard.c) learns each new group.
 * A child that asked for a terminal gets a pseudo-terminal made here: it
 * leads a new session whose controlling terminal is the slave (its
 * stdin, stdout and stderr), so that the terminal's job control is its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
 * In the forked child: execs the user's shell as a login shell (argv[0]
 * "-NAME"), as sshd does for a session without a command.  The shell is
 * $SHELL, which sshd set from the account, else the passwd entry's, else
 * /bin/sh.  Returns only when the exec failed.
 */
static void exec_login_shell(void)
{
	const char *shell = getenv("SHELL"), *base;
	struct passwd *pw;
	char argv0[256];
	char *argv[2] = { argv0, NULL };

	if (shell == NULL || *shell != '/') {
		pw = getpwuid(getuid());
		shell = pw != NULL && pw->pw_shell != NULL && *pw->pw_shell == '/' ? pw->pw_shell : "/bin/sh";
	}
	base = strrchr(shell, '/') + 1;
	snprintf(argv0, sizeof(argv0), "-%s", base);
	execv(shell, argv);
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
	int sig, e;

	/*
	 * Its own group, so that the helper can end it with all it started.
	 * On a terminal its own session too (whose group is the same, its
	 * pid), which the slave becomes the controlling terminal of.
	 */
	if (req->tty ? setsid() < 0 || ioctl(stdio_fds[0], TIOCSCTTY, 0) < 0 : setpgid(0, 0) < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	/* The helper ignores SIGPIPE; an ignored disposition would survive exec. */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* The helper raised its own fd limit; the program gets the one sshd gave (helper_nofile_restore()). */
	if ((e = helper_nofile_restore()) < 0) {
		errno = -e;
		child_fail(report_fd, CPR_STAGE_SETUP);
	}
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
	if (req->tty && setenv("TERM", req->term != NULL && *req->term ? req->term : "dumb", 1) < 0)
		child_fail(report_fd, CPR_STAGE_SETUP);
	/* Unblocked last: a signal that came since fork now finds default handlers. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (req->flags & CPR_SPAWN_LOGIN)
		exec_login_shell();
	else
		execvp(req->file, req->argv);
	child_fail(report_fd, CPR_STAGE_EXEC);
}

/* The fds of one spawn in the making; -1 where none (closed by fds_close()). */
struct spawn_fds {
	int sv[2]; /* the channel: [0] ours, [1] the child's */
	int pipes[3][2]; /* stdio pipes, where piped */
	int devnull;
	int report[2]; /* exec failure: [1] the child's, close-on-exec */
	int master, slave, master_in; /* a terminal: its two sides, and a dup of the master for stdin */
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
	close_fd(&f->master);
	close_fd(&f->master_in);
	close_fd(&f->slave);
	for (i = 0; i < 3; i++) {
		close_fd(&f->pipes[i][0]);
		close_fd(&f->pipes[i][1]);
	}
}

/*
 * Makes the pseudo-terminal: the master (ours, non-blocking), a dup of it
 * for writing stdin (so that the stdin stream can be closed apart from
 * the output), and the slave, which gets the caller's modes and window
 * before the program can read them.  0, or -errno.
 */
static int pty_open(const struct spawn_req *req, struct spawn_fds *f)
{
	char name[64];
	struct termios t;
	int r, i;

	if ((f->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (grantpt(f->master) < 0 || unlockpt(f->master) < 0 ||
	    (r = ptsname_r(f->master, name, sizeof(name))) != 0)
		return -(errno ? errno : EIO);
	if ((f->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (tcgetattr(f->slave, &t) < 0)
		return -errno;
	cpr_tty_modes_apply(req->modes, req->modes_len, &t);
	if (tcsetattr(f->slave, TCSANOW, &t) < 0 || ioctl(f->master, TIOCSWINSZ, &req->ws) < 0)
		return -errno;
	if ((r = helper_set_nonblock(f->master)) < 0)
		return r;
	if (req->stdio[0] == CPR_STDIO_PIPE && (f->master_in = fcntl(f->master, F_DUPFD_CLOEXEC, 3)) < 0)
		return -errno;
	for (i = 0; i < 3; i++)
		f->child_stdio[i] = f->slave;
	return 0;
}

/* Makes the channel, the stdio pipes (or /dev/null, or a terminal) and the report pipe.  0, or -errno. */
static int fds_open(const struct spawn_req *req, struct spawn_fds *f)
{
	int i, ours, r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) < 0)
		return -errno;
	if ((r = helper_set_nonblock(f->sv[0])) < 0)
		return r;
	if (req->tty)
		return (r = pty_open(req, f)) < 0 ? r : pipe2(f->report, O_CLOEXEC) < 0 ? -errno : 0;
	for (i = 0; i < 3; i++) {
		if (req->stdio[i] == CPR_STDIO_PIPE) {
			if (pipe2(f->pipes[i], O_CLOEXEC) < 0)
				return -errno;
			/* stdin: the child reads [0]; stdout, stderr: it writes [1]. */
			f->child_stdio[i] = f->pipes[i][i == 0 ? 0 : 1];
			ours = f->pipes[i][i == 0 ? 1 : 0];
			if ((r = helper_set_nonblock(ours)) < 0)
				return r;
		} else {
			if (f->devnull < 0 && (f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return -errno;
			f->child_stdio[i] = f->devnull;
		}
	}
	return pipe2(f->report, O_CLOEXEC) < 0 ? -errno : 0;
}

/*
 * Forks the child (all signals blocked across fork, so that no handler of
 * the helper runs in the child before it has reset them) and waits until
 * it has exec'ed.  Returns its pid, or -errno with *stage set.
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
		return -errno;
	pid = fork();
	if (pid == 0)
		child_exec(req, f->child_stdio, f->sv[1], chan_str, f->report[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return -saved;
	/* Our copy of the write end must go, or the read below never sees EOF. */
	close_fd(&f->report[1]);
	/* Only the child may hold the slave: the master reads EOF (EIO) once it and its own are gone. */
	close_fd(&f->slave);
	do
		n = read(f->report[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return pid;
	/* It failed before or at exec, and has already exited: reap it now. */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(msg) && msg[1] > 0) {
		*stage = msg[0];
		return -msg[1];
	}
	return -EIO;
}

int spawn_child(const struct spawn_req *req, struct child *c, int *stage)
{
	struct spawn_fds f = { .sv = { -1, -1 },
			       .pipes = { { -1, -1 }, { -1, -1 }, { -1, -1 } },
			       .devnull = -1,
			       .report = { -1, -1 },
			       .master = -1,
			       .slave = -1,
			       .master_in = -1 };
	int i, r;
	pid_t pid;

	*stage = CPR_STAGE_SETUP;
	if ((r = fds_open(req, &f)) < 0)
		goto out;
	guard_start();
	if ((pid = fork_exec(req, &f, stage)) < 0) {
		r = (int)pid;
		goto out;
	}
	/* The child made itself a group leader before exec: its group is its pid. */
	guard_add(pid);
	c->pid = pid;
	c->chan_fd = c->out[CPR_CHANNEL].fd = c->in[CPR_CHANNEL].fd = f.sv[0];
	f.sv[0] = -1;
	if (req->tty) {
		/* The terminal's output (the program's stdout and stderr both) is the stdout stream. */
		c->tty = 1;
		c->out[CPR_STDOUT].fd = f.master;
		c->out[CPR_STDOUT].ended = 0;
		c->in[CPR_STDIN].fd = f.master_in;
		f.master = f.master_in = -1;
		r = 0;
		goto out;
	}
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
	fds_close(&f);
	return r;
}
