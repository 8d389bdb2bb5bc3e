/* exec_util.c — driving a remote child's piped stdio, and the other pieces the exec tests share. */
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

#include "exec_util.h"

struct sink {
	char *buf;
	size_t len, cap;
};

/* Reads what FD has; returns 0 to go on, 1 at EOF, -1 on error. */
static int sink_read(int fd, struct sink *s)
{
	ssize_t n;

	if (s->cap - s->len < 65536 + 1) {
		size_t ncap = s->cap ? s->cap * 2 : 131072;
		char *nb = realloc(s->buf, ncap);

		if (nb == NULL)
			return -1;
		s->buf = nb;
		s->cap = ncap;
	}
	n = read(fd, s->buf + s->len, 65536);
	if (n > 0) {
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
		return 0;
	}
	if (n == 0)
		return 1;
	return errno == EINTR || errno == EAGAIN ? 0 : -1;
}

static char *sink_take(struct sink *s, size_t *len)
{
	if (s->buf == NULL && (s->buf = calloc(1, 1)) == NULL)
		abort();
	*len = s->len;
	return s->buf;
}

/*
 * Feeds IN to the child's stdin, drains stdout and stderr to their ends,
 * then waits for the status by polling the exit fd, so that a child that
 * never ends costs TIMEOUT_S and not the whole test's time.
 */
int exec_pump(cpremote_child *child, const char *in, size_t in_len, int timeout_s, struct fixture_result *r)
{
	int in_fd = cpremote_stdio_fd(child, 0);
	int out_fd = cpremote_stdio_fd(child, 1);
	int err_fd = cpremote_stdio_fd(child, 2);
	struct sink out = { 0 }, err = { 0 };
	double deadline = fixture_now() + timeout_s;
	size_t off = 0;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	signal(SIGPIPE, SIG_IGN);
	if (in_fd != -1) {
		if (in_len == 0) {
			cpremote_close_stdio(child, 0);
			in_fd = -1;
		} else {
			fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
		}
	}
	while (out_fd != -1 || err_fd != -1 || in_fd != -1) {
		struct pollfd pfd[3];
		nfds_t n = 0, i;
		double left = deadline - fixture_now();

		if (left <= 0) {
			printf("# exec_pump: stdio still open after %d s\n", timeout_s);
			goto out;
		}
		if (in_fd != -1)
			pfd[n++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		if (out_fd != -1)
			pfd[n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		if (err_fd != -1)
			pfd[n++] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
		if (poll(pfd, n, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		for (i = 0; i < n; i++) {
			int e;

			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == in_fd) {
				ssize_t w = write(in_fd, in + off, in_len - off);

				if (w > 0)
					off += (size_t)w;
				if ((w == -1 && errno != EINTR && errno != EAGAIN) || off == in_len) {
					/* All of it written: the child sees EOF next. */
					cpremote_close_stdio(child, 0);
					in_fd = -1;
				}
			} else if (pfd[i].fd == out_fd) {
				if ((e = sink_read(out_fd, &out)) != 0)
					out_fd = -1;
			} else if (pfd[i].fd == err_fd) {
				if ((e = sink_read(err_fd, &err)) != 0)
					err_fd = -1;
			}
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = cpremote_exit_fd(child), .events = POLLIN };
		double left = deadline - fixture_now();

		ret = cpremote_wait(child, &r->status, CPREMOTE_WNOHANG);
		if (ret != 0)
			break;
		if (left <= 0) {
			printf("# exec_pump: no exit status after %d s\n", timeout_s);
			break;
		}
		if (pfd.fd == -1)
			poll(NULL, 0, 20);
		else
			poll(&pfd, 1, (int)(left * 1000) + 1);
	}
out:
	fflush(stdout);
	r->out = sink_take(&out, &r->out_len);
	r->err = sink_take(&err, &r->err_len);
	return ret;
}

/* The lines exec_child spew writes: "O00000000\n", "O00000001\n", ... */
char *exec_pattern(char tag, size_t bytes)
{
	size_t lines = (bytes + 9) / 10, i;
	char *p = malloc(lines * 10 + 1);

	if (p == NULL)
		abort();
	for (i = 0; i < lines; i++) {
		char l[32];

		snprintf(l, sizeof(l), "%c%08zu\n", tag, i % 100000000);
		memcpy(p + i * 10, l, 10);
	}
	p[lines * 10] = '\0';
	return p;
}

/* Reads one byte at a time so that nothing after the line is taken from FD. */
int exec_read_line(int fd, char *buf, size_t size, int timeout_s)
{
	double deadline = fixture_now() + timeout_s;
	size_t n = 0;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	while (n + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - fixture_now();
		ssize_t r;

		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = read(fd, buf + n, 1);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return 0;
		n++;
		buf[n] = '\0';
		if (buf[n - 1] == '\n')
			return 1;
	}
	return 0;
}

int exec_start(const char *host, const char *const *argv, int pipe_stdout, cpremote_child **c)
{
	struct cpremote_options o;

	fixture_options(&o, host);
	o.file = argv[0];
	o.argv = argv;
	if (pipe_stdout)
		o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	return cpremote_run(&o, c);
}

int exec_cprun_exit(const char *const *args, char **err, char **out, double *secs)
{
	struct fixture_result r;
	double t0 = fixture_now();
	int st;

	if (fixture_cprun(args, NULL, 0, 60, &r) != 0) {
		*err = strdup("");
		if (out)
			*out = strdup("");
		return -1;
	}
	if (secs)
		*secs = fixture_now() - t0;
	st = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
	printf("#   exit %d, stderr: %s", st, r.err[0] ? r.err : "(none)\n");
	*err = strdup(r.err);
	if (out)
		*out = strdup(r.out);
	fixture_result_free(&r);
	return st;
}

const char *exec_opt(const char *name, const char *value)
{
	static char bufs[8][4200];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, sizeof bufs[0], "%s=%s", name, value);
	return b;
}

int exec_gone_within(int (*runs)(const void *arg), const void *arg, double timeout_s)
{
	double deadline = fixture_now() + timeout_s;

	while (fixture_now() < deadline) {
		if (!runs(arg))
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}
