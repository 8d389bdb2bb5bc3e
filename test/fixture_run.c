/*
 * fixture_run.c — running cprun as a subprocess for the end-to-end tests:
 * its argv and fds (fixture_cprun_start()), its stdio fed and captured
 * with a deadline (fixture_cprun()), and reading an fd to its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

#define FIXTURE_MAX_ARGS 256

/* Appends N bytes to a growing, always NUL-terminated buffer; returns 0 or -1. */
static int grow_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		char *nb;

		while (ncap < *len + n + 1)
			ncap *= 2;
		if ((nb = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Reads what FD has into the buffer; closes it and sets *fd = -1 at EOF or error. */
static void drain(int *fd, char **buf, size_t *len, size_t *cap)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n > 0) {
		if (grow_append(buf, len, cap, chunk, (size_t)n) == -1) {
			tap_diag("fixture: out of memory");
			exit(1);
		}
		return;
	}
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	close(*fd);
	*fd = -1;
}

static int make_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

/* Puts FD (a fixture_spawn value) at TARGET in a new cprun; async-signal-safe.  0 or -1. */
static int install_fd(int fd, int target, int devnull)
{
	if (fd == FIXTURE_FD_INHERIT)
		return 0;
	if (fd == FIXTURE_FD_NULL)
		fd = devnull;
	/* dup2() onto itself keeps close-on-exec: clear it by hand. */
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) == -1 ? -1 : 0;
}

/* Copies $CPRUN, "-F config" unless ARGS bring their own, and ARGS into ARGV.  0 or -1. */
static int cprun_argv(const char **argv, size_t max, const char *cprun, const char *config,
		      const char *const *args)
{
	size_t argc = 0, i;

	argv[argc++] = cprun;
	if (args[0] == NULL || strcmp(args[0], "-F") != 0) {
		argv[argc++] = "-F";
		argv[argc++] = config;
	}
	for (i = 0; args[i] != NULL; i++) {
		if (argc + 2 > max) {
			tap_diag("fixture: too many arguments");
			return -1;
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	return 0;
}

/* See fixture.h.  Everything the child needs is ready before fork(). */
pid_t fixture_cprun_start(const char *const *args, const struct fixture_spawn *s)
{
	const char *cprun = getenv("CPRUN");
	const char *argv[FIXTURE_MAX_ARGS];
	char *config = NULL;
	int devnull = -1, i;
	pid_t pid = -1;

	if (cprun == NULL || *cprun == '\0') {
		tap_diag("fixture: CPRUN is not set (run the tests with meson test)");
		return -1;
	}
	config = fixture_file("ssh_config");
	if (cprun_argv(argv, FIXTURE_MAX_ARGS, cprun, config, args) == -1)
		goto out;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		perror("/dev/null");
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		perror("fork");
		goto out;
	}
	if (pid == 0) {
		if (s->sigpipe_dfl)
			signal(SIGPIPE, SIG_DFL);
		for (i = 0; i < 3; i++)
			if (install_fd(s->fd[i], i, devnull) == -1)
				_exit(127);
		if (s->chan >= 0 && install_fd(s->chan, 3, devnull) == -1)
			_exit(127);
		if (s->env != NULL)
			putenv((char *)s->env);
		execv(cprun, (char *const *)argv);
		dprintf(2, "fixture: exec %s: %s\n", cprun, strerror(errno));
		_exit(127);
	}
out:
	if (devnull != -1)
		close(devnull);
	free(config);
	return pid;
}

/* The test's ends of a cprun's three pipes, and what went through them. */
struct pipes {
	int in, out, err; /* -1 once closed */
	const char *in_buf;
	size_t in_len, in_off;
	struct fixture_result *r;
	size_t out_cap, err_cap;
};

/*
 * Waits up to WAIT_MS for one of IO's pipes, then writes what stdin takes
 * and reads what stdout and stderr have; a pipe is closed at its end.
 * Returns 0, or -1 when poll() failed.
 */
static int pump_pipes(struct pipes *io, int wait_ms)
{
	struct pollfd pfd[3];
	nfds_t n = 0, i;

	if (io->in != -1)
		pfd[n++] = (struct pollfd){ .fd = io->in, .events = POLLOUT };
	if (io->out != -1)
		pfd[n++] = (struct pollfd){ .fd = io->out, .events = POLLIN };
	if (io->err != -1)
		pfd[n++] = (struct pollfd){ .fd = io->err, .events = POLLIN };
	if (n == 0) {
		poll(NULL, 0, wait_ms);
		return 0;
	}
	if (poll(pfd, n, wait_ms) == -1) {
		if (errno == EINTR)
			return 0;
		perror("poll");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == io->in) {
			ssize_t w = write(io->in, io->in_buf + io->in_off, io->in_len - io->in_off);

			if (w > 0)
				io->in_off += (size_t)w;
			if ((w == -1 && errno != EINTR && errno != EAGAIN) || io->in_off == io->in_len) {
				close(io->in);
				io->in = -1;
			}
		} else if (pfd[i].fd == io->out) {
			drain(&io->out, &io->r->out, &io->r->out_len, &io->out_cap);
		} else if (pfd[i].fd == io->err) {
			drain(&io->err, &io->r->err, &io->r->err_len, &io->err_cap);
		}
	}
	return 0;
}

/*
 * Starts cprun with ARGS on three new pipes whose test ends go to IO (its
 * stdin closed at once when there is nothing to feed).  Returns the pid,
 * or -1 with no pipe left open.
 */
static pid_t start_piped(const char *const *args, struct pipes *io)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, i;
	struct fixture_spawn sp = { .chan = -1, .sigpipe_dfl = 1 };
	pid_t pid = -1;

	if (make_pipe(inp) == -1 || make_pipe(outp) == -1 || make_pipe(errp) == -1) {
		perror("pipe2");
		goto out;
	}
	/* cprun must not think it has a terminal, and sees only these three fds. */
	sp.fd[0] = inp[0];
	sp.fd[1] = outp[1];
	sp.fd[2] = errp[1];
	if ((pid = fixture_cprun_start(args, &sp)) == -1)
		goto out;
	io->in = inp[1];
	io->out = outp[0];
	io->err = errp[0];
	inp[1] = outp[0] = errp[0] = -1;
	if (io->in_buf == NULL || io->in_len == 0) {
		close(io->in);
		io->in = -1;
	} else {
		fcntl(io->in, F_SETFL, fcntl(io->in, F_GETFL) | O_NONBLOCK);
	}
out:
	for (i = 0; i < 2; i++) {
		if (inp[i] != -1)
			close(inp[i]);
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	return pid;
}

/* Closes what of IO is still open. */
static void close_pipes(struct pipes *io)
{
	if (io->in != -1)
		close(io->in);
	if (io->out != -1)
		close(io->out);
	if (io->err != -1)
		close(io->err);
	io->in = io->out = io->err = -1;
}

/*
 * Forks and execs $CPRUN with "-F <ssh_config>" before ARGS (unless ARGS
 * already starts with "-F": a test that needs another config names its
 * own), feeds IN through a pipe, collects stdout and stderr until both
 * close and the process is reaped.  After TIMEOUT_S seconds it kills the
 * process, says so as a TAP diagnostic and returns what it got: the
 * status then says SIGKILL, which fails the caller's asserts.  Returns 0, or -1 when cprun could not be started.
 */
int fixture_cprun(const char *const *args, const char *in, size_t in_len, int timeout_s,
		  struct fixture_result *r)
{
	struct pipes io = { .in = -1, .out = -1, .err = -1, .in_buf = in, .in_len = in_len, .r = r };
	pid_t pid = -1;
	double deadline;
	int status = 0, reaped = 0, timed_out = 0, pipe_set = 0, ret = -1;
	struct sigaction sa_pipe, old_pipe;

	memset(r, 0, sizeof(*r));

	/* A child that exits before reading its stdin must not kill the test. */
	memset(&sa_pipe, 0, sizeof(sa_pipe));
	sa_pipe.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa_pipe, &old_pipe) == 0)
		pipe_set = 1;
	if ((pid = start_piped(args, &io)) == -1)
		goto out;

	deadline = fixture_now() + timeout_s;
	while (io.out != -1 || io.err != -1 || !reaped) {
		int wait_ms;
		double left = deadline - fixture_now();

		if (left <= 0 && !timed_out) {
			/*
			 * tap.h's counters are per file, so the test's own
			 * asserts on the status (SIGKILL) record the failure.
			 */
			printf("# fixture: cprun still runs after %d s: killed\n", timeout_s);
			fflush(stdout);
			/* Reaped already means a grandchild holds the pipes open. */
			if (!reaped)
				kill(pid, SIGKILL);
			timed_out = 1;
			/* Its grandchildren may hold the pipes: stop reading them. */
			if (io.out != -1)
				close(io.out);
			if (io.err != -1)
				close(io.err);
			io.out = io.err = -1;
		}
		if (!reaped) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid)
				reaped = 1;
			else if (w == -1 && errno != EINTR) {
				perror("waitpid");
				goto out;
			}
		}
		if (reaped && io.out == -1 && io.err == -1)
			break;
		/* Reaping has no fd to poll: look again every 20 ms until it is done. */
		wait_ms = reaped ? 1000 : 20;
		if (!timed_out && left * 1000 < wait_ms)
			wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
		if (pump_pipes(&io, wait_ms) == -1)
			goto out;
	}
	r->status = status;
	ret = 0;
out:
	/* Never leave a cprun behind, whatever went wrong above. */
	if (pid > 0 && !reaped) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		r->status = status;
	}
	close_pipes(&io);
	/* Tests compare strings: both buffers exist even when empty. */
	if (r->out == NULL)
		grow_append(&r->out, &r->out_len, &io.out_cap, "", 0);
	if (r->err == NULL)
		grow_append(&r->err, &r->err_len, &io.err_cap, "", 0);
	if (pipe_set)
		sigaction(SIGPIPE, &old_pipe, NULL);
	return ret;
}

/* See fixture.h.  Reads in chunks into a buffer that grows as fixture_cprun()'s do. */
int fixture_read_eof(int fd, int timeout_ms, char **out, size_t *len)
{
	long long deadline = fixture_now_ms() + timeout_ms;
	char chunk[65536];
	size_t cap = 0;

	*out = NULL;
	*len = 0;
	if (grow_append(out, len, &cap, "", 0) == -1)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - fixture_now_ms();
		ssize_t got;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		got = read(fd, chunk, sizeof(chunk));
		if (got == 0)
			return 0;
		if (got > 0 && grow_append(out, len, &cap, chunk, (size_t)got) == -1)
			return -ENOMEM;
		if (got < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* Frees what fixture_cprun() collected; accepts a zeroed result. */
void fixture_result_free(struct fixture_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}
