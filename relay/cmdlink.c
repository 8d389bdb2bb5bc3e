/*
 * cmdlink.c — a connection carried by a local command's pipes (see
 * cmdlink.h).  The command is the relay's child: it dies with the relay
 * (PR_SET_PDEATHSIG), and closing its stdin is what tells the far side's
 * helper to end its children, as closing the SSH channel does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpremote.h"
#include "cmdlink.h"
#include "tail.h"
#include "transport.h"

static void cmdlink_fail(struct cmdlink *l, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cmdlink_fail(struct cmdlink *l, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cmdlink_stop(l);
	l->ops->on_fail(l->arg, code, msg);
}

/* The child's side: the pipes as 0, 1, 2, its own process group, death with the relay. */
static void __attribute__((noreturn)) child_exec(char **argv, int in, int out, int err)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Starts ARGV with pipes; *IN, *OUT, *ERR are the relay's ends (non-blocking).  Returns the pid, or -errno. */
static pid_t spawn(char **argv, int *in, int *out, int *err)
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	pid_t pid = -ENOMEM;

	for (int i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			pid = -errno;
			goto out;
		}
	pid = fork();
	if (pid < 0) {
		pid = -errno;
		goto out;
	}
	if (pid == 0)
		child_exec(argv, p[0][0], p[1][1], p[2][1]);
	*in = p[0][1];
	*out = p[1][0];
	*err = p[2][0];
	p[0][1] = p[1][0] = p[2][0] = -1;
	for (int *fd = (int[]){ *in, *out, *err, -1 }; *fd >= 0; fd++)
		fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
out:
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			if (p[i][j] >= 0)
				close(p[i][j]);
	return pid;
}

/* Ends and reaps PID (its pipes are closed: a transport ends on EOF or SIGTERM at once). */
static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Drops the running command: its events, pipes and process. */
static void drop_command(struct cmdlink *l)
{
	struct event **evs[] = { &l->rd, &l->wr, &l->er };

	for (size_t i = 0; i < 3; i++)
		if (*evs[i]) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	close_fd(&l->in);
	close_fd(&l->out);
	close_fd(&l->err);
	reap(l->pid);
	l->pid = 0;
}

void cmdlink_drain_stderr(struct cmdlink *l)
{
	char buf[4096], line[4 * sizeof buf + 1];
	ssize_t n;

	if (l->err < 0)
		return;
	while ((n = read(l->err, buf, sizeof buf)) > 0) {
		relay_keep_tail(l->stderr_tail, LINK_STDERR_TAIL, &l->stderr_len, buf, (size_t)n);
		relay_escape(line, sizeof line, buf, (size_t)n);
		rlog(l->ctx, 1, "%s: %s", l->key->host, line);
	}
	if (n == 0) {
		if (l->er)
			event_del(l->er);
		close_fd(&l->err);
	}
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	cmdlink_step(arg);
}

static void on_err(evutil_socket_t fd, short what, void *arg)
{
	cmdlink_drain_stderr(arg);
}

/* Runs the exec string (helper or run stub) through the transport and calls on_exec. */
static void start_command(struct cmdlink *l)
{
	char **argv = NULL;
	struct cpr_err e;
	int rc = transport_argv(l->key, l->command, &argv, &e);

	if (rc < 0) {
		cmdlink_fail(l, rc, "%s", e.msg);
		return;
	}
	l->pid = spawn(argv, &l->in, &l->out, &l->err);
	if (l->pid < 0) {
		cmdlink_fail(l, CPREMOTE_ECONNECT, "%s: cannot run %s: %s", l->key->host, argv[0],
			     strerror((int)-l->pid));
		transport_argv_free(argv);
		return;
	}
	rlog(l->ctx, 2, "%s: running %s", l->key->host, argv[0]);
	transport_argv_free(argv);
	l->rd = event_new(l->ctx->base, l->out, EV_READ | EV_PERSIST, on_out, l);
	l->wr = event_new(l->ctx->base, l->in, EV_WRITE, on_out, l);
	l->er = event_new(l->ctx->base, l->err, EV_READ | EV_PERSIST, on_err, l);
	if (!l->rd || !l->wr || !l->er) {
		cmdlink_fail(l, -ENOMEM, "relay: out of memory");
		return;
	}
	event_add(l->rd, NULL);
	event_add(l->er, NULL);
	l->state = L_RUNNING;
	l->ops->on_exec(l->arg);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct cmdlink *l = arg;
	struct timeval tv = { .tv_sec = l->so.handshake_timeout_s };

	if (l->state != L_CONNECTING)
		return;
	evtimer_add(l->deadline, &tv);
	start_command(l);
}

/*
 * openssh://: the relay's keepalive takes ServerAliveInterval and
 * ServerAliveCountMax from the -o options, as the libssh link does, so
 * that the helper's silence limit (which each PING carries) follows what
 * the user asked of ssh, and a frozen link ends the far side's children
 * as soon.  Values ssh would refuse are left to ssh to refuse; the
 * ssh_config file's values stay ssh's own.
 */
static void keepalive_from_options(struct session_opts *so, char *const *opts)
{
	static const char interval[] = "ServerAliveInterval", count[] = "ServerAliveCountMax";

	for (; opts && *opts; opts++) {
		size_t n = strcspn(*opts, "= \t");
		const char *v = *opts + n + strspn(*opts + n, "= \t");
		char *end;
		long x = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || x < 0 || x > 86400)
			continue;
		if (n == sizeof interval - 1 && strncasecmp(*opts, interval, n) == 0)
			so->keepalive_s = (int)x;
		else if (n == sizeof count - 1 && strncasecmp(*opts, count, n) == 0 && x >= 1)
			so->keepalive_count = (int)x;
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cmdlink *l = arg;

	cmdlink_drain_stderr(l);
	cmdlink_fail(l, CPREMOTE_ECONNECT, "%s: timed out waiting for the helper", l->key->host);
}

int cmdlink_start(struct cmdlink *l, const struct relay_ctx *ctx, const struct conn_key *key,
		  const char *command, const struct link_ops *ops, void *arg)
{
	*l = (struct cmdlink){ .ctx = ctx,
			       .key = key,
			       .command = command,
			       .ops = ops,
			       .arg = arg,
			       .in = -1,
			       .out = -1,
			       .err = -1 };
	l->so = session_opts_default();
	if (strncmp(key->host, "openssh://", 10) == 0)
		keepalive_from_options(&l->so, key->options);
	l->kick = event_new(ctx->base, -1, 0, on_kick, l);
	l->deadline = evtimer_new(ctx->base, on_deadline, l);
	if (!l->kick || !l->deadline)
		return -ENOMEM;
	event_active(l->kick, 0, 0);
	return 0;
}

void cmdlink_step(struct cmdlink *l)
{
	if (l->state == L_RUNNING && l->ops->on_io(l->arg) < 0)
		return;
}

void cmdlink_want_write(struct cmdlink *l)
{
	if (l->state == L_RUNNING && l->wr)
		event_active(l->wr, EV_WRITE, 0);
}

int cmdlink_write(struct cmdlink *l, const void *p, size_t n)
{
	ssize_t k;

	if (l->in < 0)
		return -EPIPE;
	do
		k = write(l->in, p, n);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN) {
		event_add(l->wr, NULL);
		return 0;
	}
	return k < 0 ? -errno : (int)k;
}

int cmdlink_read(struct cmdlink *l, void *buf, size_t n)
{
	ssize_t k;

	if (l->out < 0)
		return -EPIPE;
	do
		k = read(l->out, buf, n);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN)
		return 0;
	return k <= 0 ? (k == 0 ? -EPIPE : -errno) : (int)k;
}

void cmdlink_stop(struct cmdlink *l)
{
	struct event *evs[] = { l->rd, l->wr, l->er, l->kick, l->deadline };

	l->state = L_STOPPED;
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_del(evs[i]);
}

void cmdlink_free(struct cmdlink *l)
{
	drop_command(l);
	if (l->kick)
		event_free(l->kick);
	if (l->deadline)
		event_free(l->deadline);
	memset(l, 0, sizeof *l);
	l->in = l->out = l->err = -1;
}
