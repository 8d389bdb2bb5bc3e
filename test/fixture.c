/*
 * fixture.c — the end-to-end tests' access to the project's test hosts
 * (started by scripts/test-hosts), to the built programs, and to cprun run
 * as a subprocess with its stdio captured.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

#define FIXTURE_MAX_ARGS 256

static char *xstrdup_printf(const char *a, const char *b)
{
	size_t n = strlen(a) + 1 + strlen(b) + 1;
	char *s = malloc(n);

	if (s == NULL) {
		perror("malloc");
		abort();
	}
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

/*
 * Returns $CPREMOTE_TEST_DIR.  Without it (meson test run by hand, no
 * hosts started) the test is skipped as a whole rather than failed.
 */
const char *fixture_dir(void)
{
	const char *d = getenv("CPREMOTE_TEST_DIR");

	if (d == NULL || *d == '\0')
		tap_skip_all("no test hosts: CPREMOTE_TEST_DIR is not set (use scripts/test)");
	return d;
}

/* Returns DIR/NAME, malloc'ed. */
char *fixture_file(const char *name)
{
	return xstrdup_printf(fixture_dir(), name);
}

/* Returns $CPREMOTE_TEST_BUILD/RELPATH, malloc'ed; aborts without it (meson sets it). */
char *fixture_prog(const char *relpath)
{
	const char *b = getenv("CPREMOTE_TEST_BUILD");

	if (b == NULL || *b == '\0') {
		tap_diag("CPREMOTE_TEST_BUILD is not set (run the tests with meson test)");
		exit(1);
	}
	return xstrdup_printf(b, relpath);
}

/*
 * Zeroes *O (setting its .size) and points it at HOST through the hosts' ssh_config.  The
 * config string lives as long as the process: tests build many options.
 */
void fixture_options(struct cpremote_options *o, const char *host)
{
	static char *config;

	if (config == NULL)
		config = fixture_file("ssh_config");
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->host = host;
	o->config = config;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
	const char *cprun = getenv("CPRUN");
	const char *argv[FIXTURE_MAX_ARGS];
	char *config = NULL;
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	size_t out_cap = 0, err_cap = 0, in_off = 0;
	size_t argc = 0, i;
	pid_t pid = -1;
	double deadline;
	int status = 0, reaped = 0, timed_out = 0, pipe_set = 0, ret = -1;
	struct sigaction sa_pipe, old_pipe;

	memset(r, 0, sizeof(*r));
	if (cprun == NULL || *cprun == '\0') {
		tap_diag("fixture: CPRUN is not set (run the tests with meson test)");
		return -1;
	}
	argv[argc++] = cprun;
	if (args[0] == NULL || strcmp(args[0], "-F") != 0) {
		config = fixture_file("ssh_config");
		argv[argc++] = "-F";
		argv[argc++] = config;
	}
	for (i = 0; args[i] != NULL; i++) {
		if (argc + 2 > FIXTURE_MAX_ARGS) {
			tap_diag("fixture: too many arguments");
			goto out;
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	/* A child that exits before reading its stdin must not kill the test. */
	memset(&sa_pipe, 0, sizeof(sa_pipe));
	sa_pipe.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa_pipe, &old_pipe) == 0)
		pipe_set = 1;

	if (make_pipe(inp) == -1 || make_pipe(outp) == -1 || make_pipe(errp) == -1) {
		perror("pipe2");
		goto out;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		goto out;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		/* cprun must not think it has a terminal, and sees only these three fds. */
		if (dup2(inp[0], 0) == -1 || dup2(outp[1], 1) == -1 || dup2(errp[1], 2) == -1)
			_exit(127);
		execv(cprun, (char *const *)argv);
		dprintf(2, "fixture: exec %s: %s\n", cprun, strerror(errno));
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	close(errp[1]);
	inp[0] = outp[1] = errp[1] = -1;
	if (in == NULL || in_len == 0) {
		close(inp[1]);
		inp[1] = -1;
	} else {
		fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
	}

	deadline = now_s() + timeout_s;
	while (outp[0] != -1 || errp[0] != -1 || !reaped) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		int wait_ms;
		double left = deadline - now_s();

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
			if (outp[0] != -1)
				close(outp[0]);
			if (errp[0] != -1)
				close(errp[0]);
			outp[0] = errp[0] = -1;
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
		if (reaped && outp[0] == -1 && errp[0] == -1)
			break;
		if (inp[1] != -1)
			pfd[n++] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
		if (outp[0] != -1)
			pfd[n++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		if (errp[0] != -1)
			pfd[n++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		/* Reaping has no fd to poll: look again every 20 ms until it is done. */
		wait_ms = reaped ? 1000 : 20;
		if (!timed_out && left * 1000 < wait_ms)
			wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
		if (n == 0) {
			poll(NULL, 0, wait_ms);
			continue;
		}
		if (poll(pfd, n, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			perror("poll");
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == inp[1]) {
				ssize_t w = write(inp[1], in + in_off, in_len - in_off);

				if (w > 0)
					in_off += (size_t)w;
				if ((w == -1 && errno != EINTR && errno != EAGAIN) || in_off == in_len) {
					close(inp[1]);
					inp[1] = -1;
				}
			} else if (pfd[i].fd == outp[0]) {
				drain(&outp[0], &r->out, &r->out_len, &out_cap);
			} else if (pfd[i].fd == errp[0]) {
				drain(&errp[0], &r->err, &r->err_len, &err_cap);
			}
		}
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
	for (i = 0; i < 2; i++) {
		if (inp[i] != -1)
			close(inp[i]);
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	/* Tests compare strings: both buffers exist even when empty. */
	if (r->out == NULL)
		grow_append(&r->out, &r->out_len, &out_cap, "", 0);
	if (r->err == NULL)
		grow_append(&r->err, &r->err_len, &err_cap, "", 0);
	if (pipe_set)
		sigaction(SIGPIPE, &old_pipe, NULL);
	free(config);
	return ret;
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

/* Prints every hN/sshd.log of the hosts' directory as "# " lines. */
void fixture_dump_logs(void)
{
	const char *dir = getenv("CPREMOTE_TEST_DIR");
	char path[4096], line[4096];
	int i;

	if (dir == NULL)
		return;
	for (i = 1; i < 100; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/h%d/sshd.log", dir, i);
		if ((f = fopen(path, "re")) == NULL)
			break;
		printf("# ---- %s\n", path);
		while (fgets(line, sizeof(line), f) != NULL) {
			size_t n = strlen(line);

			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = '\0';
			printf("#   %s\n", line);
		}
		fclose(f);
	}
	fflush(stdout);
}

/* See fixture.h. */
const char *fixture_port(void)
{
	static char port[16];
	const char *env = getenv("CPREMOTE_TEST_PORT");
	char *path, line[256];
	FILE *f;

	if (env != NULL && *env != '\0')
		return env;
	if (port[0] != '\0')
		return port;
	snprintf(port, sizeof(port), "2222");
	path = fixture_file("env");
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "export CPREMOTE_TEST_PORT=%15[0-9]", port) == 1)
				break;
		fclose(f);
	}
	free(path);
	return port;
}
