/*
 * bench_client.c — the measuring half of scripts/bench.  Every mode prints
 * one line "NAME VALUE UNIT" on stdout, so that the script can put the
 * channel and its plain-ssh baseline side by side.
 *
 *   bench_client [-F cfg] spawn HOST ECHO        cold then warm spawn to the first message
 *   bench_client [-F cfg] rtt HOST ECHO N SIZE   N round trips of SIZE bytes over the channel
 *   bench_client [-F cfg] tput HOST ECHO MIB     MIB MiB into the channel (bench_echo sink)
 *   bench_client [-F cfg] tput-rx HOST ECHO MIB  MIB MiB out of the channel (bench_echo source)
 *   bench_client [-F cfg] fanout ECHO N HOST...  N children spread over the HOSTs, started
 *                                                at once, each answering one message
 *   bench_client [-F cfg] mem HOST ECHO N        RSS of the relay and of the helper with one
 *                                                idle connection, then with N children
 *   bench_client time N CMD...                   mean wall time of running CMD N times
 *   bench_client rtt-cmd N SIZE CMD...           round trips through CMD's stdin and stdout
 *   bench_client tput-cmd MIB CMD...             MIB MiB into CMD's stdin
 *   bench_client tput-rx-cmd MIB CMD...          MIB MiB out of CMD's stdout (after its ready byte)
 *
 * ECHO is the path of bench_echo on the host.  A CMD of the *-cmd modes
 * must write one byte when it is ready (the clock starts then), and for
 * tput-cmd one more byte after it has consumed its input: e.g.
 *   ssh h1 'printf R; exec cat'   and   ssh h1 'printf R; cat >/dev/null; printf D'
 * -F and -o (as ssh -o, repeatable) apply to the C API modes.
 * Exit 0, 1 when a measurement failed, 2 on misuse.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_io.h"

#include "cpremote.h"

#define BUF_LEN (256 * 1024)

#define MAX_OPTS 16

static const char usage[] = "usage: bench_client [-F cfg] [-o opt]... spawn HOST ECHO\n"
			    "       bench_client [-F cfg] [-o opt]... rtt HOST ECHO N SIZE\n"
			    "       bench_client [-F cfg] [-o opt]... tput HOST ECHO MIB\n"
			    "       bench_client [-F cfg] [-o opt]... tput-rx HOST ECHO MIB\n"
			    "       bench_client [-F cfg] [-o opt]... fanout ECHO N HOST...\n"
			    "       bench_client [-F cfg] [-o opt]... mem HOST ECHO N\n"
			    "       bench_client time N CMD...\n"
			    "       bench_client rtt-cmd N SIZE CMD...\n"
			    "       bench_client tput-cmd MIB CMD...\n"
			    "       bench_client tput-rx-cmd MIB CMD...\n";

static const char *config;
static const char *ssh_opts[MAX_OPTS + 1];
static int n_opts;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int prctl_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
}

/* Fan-out holds two fds per child: take the hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static cpremote_child *start_flags(const char *host, const char *echo, const char *mode, const char *arg,
				   unsigned flags)
{
	const char *argv[] = { echo, mode, arg, NULL };
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	cpremote_child *child = NULL;
	int r;

	o.host = host;
	o.config = config;
	o.ssh_options = n_opts > 0 ? ssh_opts : NULL;
	o.flags = flags;
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

static cpremote_child *start(const char *host, const char *echo, const char *mode)
{
	return start_flags(host, echo, mode, NULL, 0);
}

/* The time from cpremote_run() to the child's first byte, for a new and a warm connection. */
static int spawn(const char *host, const char *echo)
{
	cpremote_child *cold = NULL, *warm = NULL;
	double t0, t1, t2, tr;
	char b;
	int rc = 1;

	t0 = now_s();
	if ((cold = start(host, echo, "echo")) == NULL || read_full(cpremote_channel_fd(cold), &b, 1) < 0)
		goto out;
	t1 = now_s();
	if ((warm = start(host, echo, "echo")) == NULL)
		goto out;
	/* When cpremote_run() returned (the start confirmed), apart from the first byte. */
	tr = now_s();
	if (read_full(cpremote_channel_fd(warm), &b, 1) < 0)
		goto out;
	t2 = now_s();
	printf("spawn_cold %.3f ms\nspawn_warm %.3f ms\nspawn_warm_run %.3f ms\n", (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3, (tr - t1) * 1e3);
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

/* Reads FD to end of file after its first byte; the clock starts at the byte after it. */
static int drain(int fd, long mib, const char *name)
{
	static char buf[BUF_LEN];
	long long total = 0;
	double t0 = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (n == 0)
			break;
		if (total == 0)
			t0 = now_s();
		total += n;
	}
	if (total != mib * 1024LL * 1024) {
		fprintf(stderr, "bench_client: %s: %lld bytes, not %ld MiB\n", name, total, mib);
		return 1;
	}
	printf("%s %.1f MB/s\n", name, (double)total / (now_s() - t0) / 1e6);
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
	if (throughput == 2) {
		close(to);
		to = -1;
		rc = drain(from, n, "tput_rx_cmd");
	} else if (throughput) {
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

/* MIB MiB out of the channel: bench_echo source writes them and closes; the clock stops at end of file. */
static int tput_rx(const char *host, const char *echo, long mib)
{
	char arg[32];
	cpremote_child *child;
	int rc;

	snprintf(arg, sizeof(arg), "%ld", mib);
	if ((child = start_flags(host, echo, "source", arg, 0)) == NULL)
		return 1;
	/* The clock starts at the first byte: the spawn is measured elsewhere. */
	rc = drain(cpremote_channel_fd(child), mib, "tput_rx_channel");
	cpremote_free(child);
	return rc;
}

/*
 * N children over the HOSTs, all requested at once (CPREMOTE_NOWAIT); each
 * must send its first byte, then echo one message.  Reports the wall time
 * until the last answer and how many failed.
 */
static int fanout(const char *echo, long n, char **hosts, int nhosts)
{
	cpremote_child **kids = calloc((size_t)n, sizeof(*kids));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	unsigned char *state = calloc((size_t)n, 1);
	long i, done = 0, failed = 0;
	double t0 = now_s(), deadline;
	char b[2];

	if (kids == NULL || pfd == NULL || state == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		kids[i] = start_flags(hosts[i % nhosts], echo, "echo", NULL, CPREMOTE_NOWAIT);
		pfd[i].fd = kids[i] != NULL ? cpremote_channel_fd(kids[i]) : -1;
		pfd[i].events = POLLIN;
		if (kids[i] == NULL) {
			failed++;
			state[i] = 2;
		}
	}
	deadline = t0 + 120;
	/* state: 0 waiting for the first byte, 1 waiting for the echo, 2 finished. */
	while (done + failed < n && now_s() < deadline) {
		int r = poll(pfd, (nfds_t)n, 1000);

		if (r < 0 && errno != EINTR)
			break;
		for (i = 0; r > 0 && i < n; i++) {
			ssize_t got;

			if (state[i] == 2 || pfd[i].revents == 0)
				continue;
			got = read(pfd[i].fd, b, 1);
			if (got < 0 && errno == EINTR)
				continue;
			if (got != 1 ||
			    (state[i] == 0 && (b[0] != 'R' || write_all(pfd[i].fd, "m", 1) < 0)) ||
			    (state[i] == 1 && b[0] != 'm')) {
				failed++;
				state[i] = 2;
				pfd[i].fd = -1;
				continue;
			}
			if (state[i]++ == 1) {
				done++;
				pfd[i].fd = -1;
			}
		}
	}
	failed = n - done;
	printf("fanout_time %.3f ms\nfanout_failed %ld children\n", (now_s() - t0) * 1e3, failed);
out:
	for (i = 0; kids != NULL && i < n; i++)
		cpremote_free(kids[i]);
	free(kids);
	free(pfd);
	free(state);
	return failed == 0 && kids != NULL ? 0 : 1;
}

/* VmRSS of process PID in KiB, or -1. */
static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The parent pid and command name of PID from /proc, or -1. */
static long parent_of(long pid, char *comm, size_t len)
{
	char path[64], buf[512], *rp;
	long ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL) {
		char *lp = strchr(buf, '(');

		if (lp != NULL && (size_t)(rp - lp - 1) < len) {
			memcpy(comm, lp + 1, (size_t)(rp - lp - 1));
			comm[rp - lp - 1] = '\0';
		}
		if (sscanf(rp + 2, "%*c %ld", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return ppid;
}

/* Our relay: with this process a subreaper, the double-forked relay is our child. */
static long find_relay(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long found = -1;
	char comm[64];

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		long pid = atol(e->d_name);

		comm[0] = '\0';
		if (pid > 0 && parent_of(pid, comm, sizeof(comm)) == (long)getpid() &&
		    strcmp(comm, "cpremote-relay") == 0)
			found = pid;
	}
	closedir(d);
	return found;
}

/*
 * The relay's and the helper's RSS with one idle connection, then with N
 * children (the host is this machine: the helper is the child's parent).
 */
static int mem(const char *host, const char *echo, long n)
{
	cpremote_child **kids = calloc((size_t)n, sizeof(*kids));
	long relay, helper = -1, r0, r1, h0 = -1, h1, i;
	char comm[64] = "", b;
	int rc = 1;

	if (kids == NULL || prctl_subreaper() < 0)
		goto out;
	if ((kids[0] = start(host, echo, "echo")) == NULL ||
	    read_full(cpremote_channel_fd(kids[0]), &b, 1) < 0)
		goto out;
	helper = parent_of(cpremote_pid(kids[0]), comm, sizeof(comm));
	(void)parent_of(helper, comm, sizeof(comm));
	if (strcmp(comm, "cpremote-helpe") != 0 && strcmp(comm, "cpremote-helper") != 0)
		helper = -1;
	/* One child is needed to find the helper; its RSS is then counted in "per child". */
	if ((relay = find_relay()) < 0 || helper < 0) {
		fprintf(stderr, "bench_client: mem: relay %ld or helper %ld (%s, child %ld) not found\n",
			relay, helper, comm, cpremote_pid(kids[0]));
		goto out;
	}
	r0 = rss_kib(relay);
	h0 = rss_kib(helper);
	for (i = 1; i < n; i++)
		if ((kids[i] = start(host, echo, "echo")) == NULL ||
		    read_full(cpremote_channel_fd(kids[i]), &b, 1) < 0)
			goto out;
	r1 = rss_kib(relay);
	h1 = rss_kib(helper);
	printf("relay_rss_conn %ld KiB\nrelay_rss_child %.1f KiB\nhelper_rss_conn %ld KiB\nhelper_rss_child "
	       "%.1f KiB\n",
	       r0, (double)(r1 - r0) / (double)(n - 1), h0, (double)(h1 - h0) / (double)(n - 1));
	rc = 0;
out:
	for (i = 0; kids != NULL && i < n; i++)
		cpremote_free(kids[i]);
	free(kids);
	return rc;
}

int main(int argc, char **argv)
{
	int c;

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	while ((c = getopt(argc, argv, "+F:o:")) != -1) {
		if (c == 'F') {
			config = optarg;
		} else if (c == 'o' && n_opts < MAX_OPTS) {
			ssh_opts[n_opts++] = optarg;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	argv += optind;
	argc -= optind;
	if (argc == 3 && strcmp(argv[0], "spawn") == 0)
		return spawn(argv[1], argv[2]);
	if (argc == 5 && strcmp(argv[0], "rtt") == 0)
		return rtt(argv[1], argv[2], atol(argv[3]), (size_t)atol(argv[4]));
	if (argc == 4 && strcmp(argv[0], "tput") == 0)
		return tput(argv[1], argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[0], "tput-rx") == 0)
		return tput_rx(argv[1], argv[2], atol(argv[3]));
	if (argc >= 4 && strcmp(argv[0], "fanout") == 0 && atol(argv[2]) > 0)
		return fanout(argv[1], atol(argv[2]), argv + 3, argc - 3);
	if (argc == 4 && strcmp(argv[0], "mem") == 0 && atol(argv[3]) > 1)
		return mem(argv[1], argv[2], atol(argv[3]));
	if (argc >= 3 && strcmp(argv[0], "time") == 0)
		return time_cmd(atol(argv[1]), argv + 2);
	if (argc >= 4 && strcmp(argv[0], "rtt-cmd") == 0)
		return cmd_mode(0, atol(argv[1]), (size_t)atol(argv[2]), argv + 3);
	if (argc >= 3 && strcmp(argv[0], "tput-rx-cmd") == 0)
		return cmd_mode(2, atol(argv[1]), 0, argv + 2);
	if (argc >= 3 && strcmp(argv[0], "tput-cmd") == 0)
		return cmd_mode(1, atol(argv[1]), 0, argv + 2);
	fputs(usage, stderr);
	return 2;
}
