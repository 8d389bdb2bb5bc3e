/*
 * spawn.c — the helper's side of SPAWN: decoding the request, and starting
 * the program in its own process group with CHANNEL_FD naming its end of a
 * socketpair, an exec failure reported back through a close-on-exec pipe.
 * It also keeps the guardian, which ends the children if the helper itself
 * is killed (see guard_start()).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/* A field's bytes as a C string; a NUL inside would silently cut it, so it is refused. */
static char *field_str(const uint8_t *v, uint32_t len)
{
	char *s;

	if (memchr(v, 0, len) != NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

/* Appends S to the NULL-terminated vector *VP holding *NP strings. */
static int vec_push(char ***vp, size_t *np, char *s)
{
	char **v;

	if ((v = realloc(*vp, (*np + 2) * sizeof(*v))) == NULL)
		return -1;
	v[(*np)++] = s;
	v[*np] = NULL;
	*vp = v;
	return 0;
}

static void vec_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void spawn_req_free(struct spawn_req *req)
{
	free(req->file);
	vec_free(req->argv);
	vec_free(req->env);
	free(req->cwd);
	memset(req, 0, sizeof(*req));
}

int spawn_req_parse(const uint8_t *p, size_t len, struct spawn_req *req)
{
	struct cpr_reader rd = { .p = p, .left = len };
	const uint8_t *v;
	uint32_t vlen;
	uint8_t tag;
	size_t nargv = 0, nenv = 0;
	char *s = NULL;
	int k, i;

	memset(req, 0, sizeof(*req));
	while ((k = cpr_field_next(&rd, &tag, &v, &vlen)) == 1) {
		switch (tag) {
		case CPR_F_FILE:
		case CPR_F_CWD:
		case CPR_F_ARG:
		case CPR_F_ENV:
			if ((s = field_str(v, vlen)) == NULL)
				return -1;
			if (tag == CPR_F_FILE) {
				free(req->file);
				req->file = s;
			} else if (tag == CPR_F_CWD) {
				free(req->cwd);
				req->cwd = s;
			} else if (vec_push(tag == CPR_F_ARG ? &req->argv : &req->env,
					    tag == CPR_F_ARG ? &nargv : &nenv, s) != 0) {
				free(s);
				return -1;
			}
			break;
		case CPR_F_FLAGS:
			if (vlen != 4)
				goto bad;
			req->flags = cpr_get_u32(v);
			break;
		case CPR_F_STDIO:
			if (vlen != 3)
				goto bad;
			for (i = 0; i < 3; i++) {
				if (v[i] != CPR_STDIO_NULL && v[i] != CPR_STDIO_PIPE)
					goto bad;
				req->stdio[i] = v[i];
			}
			break;
		default:
			/* Unknown tags are skipped: fields can be added without a new version. */
			break;
		}
	}
	if (k < 0 || req->file == NULL || req->file[0] == '\0')
		goto bad;
	if (req->argv == NULL) {
		if ((s = strdup(req->file)) == NULL)
			return -1;
		if (vec_push(&req->argv, &nargv, s) != 0) {
			free(s);
			return -1;
		}
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

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
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
		for (int k = 4; k < 1024; k++)
			close(k);
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

/* Starts the guardian when none runs.  Failure is not fatal: children still start. */
static void guard_start(void)
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

/* Tells the guardian about a new child's process group. */
static void guard_add(pid_t pgid)
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

int spawn_child(const struct spawn_req *req, struct child *c, int *stage)
{
	int sv[2] = { -1, -1 }, report[2] = { -1, -1 };
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int devnull = -1, stdio_fds[3], msg[2], saved, st, i, r = -1;
	char chan_str[16];
	sigset_t all, old;
	pid_t pid = -1;
	ssize_t n;

	*stage = CPR_STAGE_SETUP;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	for (i = 0; i < 3; i++) {
		if (req->stdio[i] == CPR_STDIO_PIPE) {
			if (pipe2(pipes[i], O_CLOEXEC) < 0)
				goto out;
			/* stdin: the child reads [0]; stdout, stderr: it writes [1]. */
			stdio_fds[i] = pipes[i][i == 0 ? 0 : 1];
		} else {
			if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				goto out;
			stdio_fds[i] = devnull;
		}
	}
	if (pipe2(report, O_CLOEXEC) < 0)
		goto out;
	if (helper_set_nonblock(sv[0]) < 0 || (pipes[0][1] >= 0 && helper_set_nonblock(pipes[0][1]) < 0) ||
	    (pipes[1][0] >= 0 && helper_set_nonblock(pipes[1][0]) < 0) ||
	    (pipes[2][0] >= 0 && helper_set_nonblock(pipes[2][0]) < 0))
		goto out;
	snprintf(chan_str, sizeof(chan_str), "%d", sv[1]);

	guard_start();
	/*
	 * All signals blocked across fork, so that no handler of the helper
	 * runs in the child before it has reset them (the libuv way).
	 */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) < 0)
		goto out;
	pid = fork();
	if (pid == 0)
		child_exec(req, stdio_fds, sv[1], chan_str, report[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	if (pid < 0)
		goto out;

	/* Our copy of the write end must go, or the read below never sees EOF. */
	close_fd(&report[1]);
	do
		n = read(report[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		/* It failed before or at exec, and has already exited: reap it now. */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		pid = -1;
		if (n == (ssize_t)sizeof(msg)) {
			*stage = msg[0];
			errno = msg[1];
		} else {
			errno = EIO;
		}
		goto out;
	}

	/* The child made itself a group leader before exec: its group is its pid. */
	guard_add(pid);
	c->pid = pid;
	c->chan_fd = sv[0];
	c->out[CPR_CHANNEL].fd = sv[0];
	c->in[CPR_CHANNEL].fd = sv[0];
	sv[0] = -1;
	if (req->stdio[0] == CPR_STDIO_PIPE) {
		c->in[CPR_STDIN].fd = pipes[0][1];
		pipes[0][1] = -1;
	}
	for (i = 1; i < 3; i++) {
		struct outstream *o = &c->out[i == 1 ? CPR_STDOUT : CPR_STDERR];

		if (req->stdio[i] == CPR_STDIO_PIPE) {
			o->fd = pipes[i][0];
			pipes[i][0] = -1;
			o->ended = 0;
		}
	}
	r = 0;
out:
	saved = errno;
	close_fd(&sv[0]);
	close_fd(&sv[1]);
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&devnull);
	for (i = 0; i < 3; i++) {
		close_fd(&pipes[i][0]);
		close_fd(&pipes[i][1]);
	}
	errno = saved;
	return r;
}
