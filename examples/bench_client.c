/*
 * bench_client.c — the measuring half of scripts/bench.  Every mode prints
 * one line "NAME VALUE UNIT" on stdout, so that the script can put the
 * channel and its plain-ssh baseline side by side.
 *
 *   bench_client [-F cfg] spawn HOST ECHO        cold then warm spawn to the first message
 *   bench_client [-F cfg] rtt HOST ECHO N SIZE   N round trips of SIZE bytes over the channel
 *   bench_client [-F cfg] tput HOST ECHO MIB     MIB MiB into the channel (bench_echo sink)
 *   bench_client time N CMD...                   mean wall time of running CMD N times
 *   bench_client rtt-cmd N SIZE CMD...           round trips through CMD's stdin and stdout
 *   bench_client tput-cmd MIB CMD...             MIB MiB into CMD's stdin
 *
 * ECHO is the path of bench_echo on the host.  A CMD of the *-cmd modes
 * must write one byte when it is ready (the clock starts then), and for
 * tput-cmd one more byte after it has consumed its input: e.g.
 *   ssh h1 'printf R; exec cat'   and   ssh h1 'printf R; cat >/dev/null; printf D'
 * Exit 0, 1 when a measurement failed, 2 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpremote.h"

#define BUF_LEN (256 * 1024)

static const char usage[] =
	"usage: bench_client [-F cfg] spawn HOST ECHO\n"
	"       bench_client [-F cfg] rtt HOST ECHO N SIZE\n"
	"       bench_client [-F cfg] tput HOST ECHO MIB\n"
	"       bench_client time N CMD...\n"
	"       bench_client rtt-cmd N SIZE CMD...\n"
	"       bench_client tput-cmd MIB CMD...\n";

static const char *config;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static cpremote_child *start(const char *host, const char *echo, const char *mode)
{
	const char *argv[] = { echo, mode, NULL };
	struct cpremote_options o = { 0 };
	cpremote_child *child = NULL;
	int r;

	o.host = host;
	o.config = config;
	o.file = echo;
	o.argv = argv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &child);
	if (r != 0) {
		fprintf(stderr, "bench_client: %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return child;
}

/* The time from cpremote_run() to the child's first byte, for a new and a warm connection. */
static int spawn(const char *host, const char *echo)
{
	cpremote_child *cold = NULL, *warm = NULL;
	double t0, t1, t2;
	char b;
	int rc = 1;

	t0 = now_s();
	if ((cold = start(host, echo, "echo")) == NULL || read_full(cpremote_channel_fd(cold), &b, 1) < 0)
		goto out;
	t1 = now_s();
	if ((warm = start(host, echo, "echo")) == NULL || read_full(cpremote_channel_fd(warm), &b, 1) < 0)
		goto out;
	t2 = now_s();
	printf("spawn_cold %.3f ms\nspawn_warm %.3f ms\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	rc = 0;
out:
	cpremote_free(cold);
	cpremote_free(warm);
	return rc;
}

/* N round trips of SIZE bytes between WFD and RFD (an echo on the other side). */
static int round_trips(int wfd, int rfd, long n, size_t size, const char *name)
{
	char *msg = malloc(size), *back = malloc(size);
	double t0;
	long i;
	int rc = 1;

	if (msg == NULL || back == NULL)
		goto out;
	memset(msg, 'x', size);
	t0 = now_s();
	for (i = 0; i < n; i++)
		if (write_all(wfd, msg, size) < 0 || read_full(rfd, back, size) < 0)
			goto out;
	printf("%s %.1f us\n", name, (now_s() - t0) / (double)n * 1e6);
	rc = 0;
out:
	free(msg);
	free(back);
	return rc;
}

static int rtt(const char *host, const char *echo, long n, size_t size)
{
	cpremote_child *child = start(host, echo, "echo");
	int rc = 1, fd;
	char b;

	if (child == NULL)
		return 1;
	fd = cpremote_channel_fd(child);
	if (read_full(fd, &b, 1) == 0)
		rc = round_trips(fd, fd, n, size, "rtt_channel");
	cpremote_free(child);
	return rc;
}

/* Writes MIB MiB to WFD, then closes it (CLOSE_WFD) or shuts its write side, then waits for one byte on RFD. */
static int pour(int wfd, int rfd, long mib, int close_wfd, const char *name)
{
	static char buf[BUF_LEN];
	long long total = mib * 1024LL * 1024, sent;
	double t0, dt;
	char tail[8];
	int i;

	for (i = 0; i < BUF_LEN; i++)
		buf[i] = (char)(i * 7 + (i >> 9));
	t0 = now_s();
	for (sent = 0; sent < total; sent += BUF_LEN)
		if (write_all(wfd, buf, BUF_LEN) < 0)
			return 1;
	if (close_wfd)
		close(wfd);
	else
		shutdown(wfd, SHUT_WR);
	if (read(rfd, tail, sizeof(tail)) <= 0)
		return 1;
	dt = now_s() - t0;
	printf("%s %.1f MB/s\n", name, (double)total / dt / 1e6);
	return 0;
}

static int tput(const char *host, const char *echo, long mib)
{
	cpremote_child *child = start(host, echo, "sink");
	int rc;

	if (child == NULL)
		return 1;
	rc = pour(cpremote_channel_fd(child), cpremote_channel_fd(child), mib, 0, "tput_channel");
	cpremote_free(child);
	return rc;
}

/* Starts CMD with pipes on its stdin and stdout (or /dev/null when TO/FROM are NULL). */
static pid_t run_cmd(char **cmd, int *to, int *from)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (dup2(to != NULL ? in[0] : null, 0) < 0 || dup2(from != NULL ? out[1] : null, 1) < 0)
			_exit(127);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (to != NULL)
		*to = in[1];
	else
		close(in[1]);
	if (from != NULL)
		*from = out[0];
	else
		close(out[0]);
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int time_cmd(long n, char **cmd)
{
	double t0 = now_s();
	long i;

	for (i = 0; i < n; i++) {
		pid_t pid = run_cmd(cmd, NULL, NULL);

		if (pid < 0 || reap(pid) < 0) {
			fprintf(stderr, "bench_client: %s failed\n", cmd[0]);
			return 1;
		}
	}
	printf("time %.3f ms\n", (now_s() - t0) / (double)n * 1e3);
	return 0;
}

static int cmd_mode(int throughput, long n, size_t size, char **cmd)
{
	int to = -1, from = -1, rc = 1;
	pid_t pid = run_cmd(cmd, &to, &from);
	char b;

	if (pid < 0)
		return 1;
	if (read_full(from, &b, 1) < 0) {
		fprintf(stderr, "bench_client: %s did not say it was ready\n", cmd[0]);
		goto out;
	}
	if (throughput) {
		rc = pour(to, from, n, 1, "tput_cmd");
		to = -1;
	} else {
		rc = round_trips(to, from, n, size, "rtt_cmd");
	}
out:
	if (to >= 0)
		close(to);
	close(from);
	if (reap(pid) < 0 && rc == 0) {
		fprintf(stderr, "bench_client: %s failed\n", cmd[0]);
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "+F:")) != -1) {
		if (c != 'F') {
			fputs(usage, stderr);
			return 2;
		}
		config = optarg;
	}
	argv += optind;
	argc -= optind;
	if (argc == 3 && strcmp(argv[0], "spawn") == 0)
		return spawn(argv[1], argv[2]);
	if (argc == 5 && strcmp(argv[0], "rtt") == 0)
		return rtt(argv[1], argv[2], atol(argv[3]), (size_t)atol(argv[4]));
	if (argc == 4 && strcmp(argv[0], "tput") == 0)
		return tput(argv[1], argv[2], atol(argv[3]));
	if (argc >= 3 && strcmp(argv[0], "time") == 0)
		return time_cmd(atol(argv[1]), argv + 2);
	if (argc >= 4 && strcmp(argv[0], "rtt-cmd") == 0)
		return cmd_mode(0, atol(argv[1]), (size_t)atol(argv[2]), argv + 3);
	if (argc >= 3 && strcmp(argv[0], "tput-cmd") == 0)
		return cmd_mode(1, atol(argv[1]), 0, argv + 2);
	fputs(usage, stderr);
	return 2;
}
