/*
 * test_cprun_hosts.c — cprun -H against the real test hosts: every line
 * prefixed by its host and in its host's order, a last line without a
 * newline, the worst exit status and the summary line, hosts files,
 * --no-prefix, stdin being /dev/null, a host that cannot be reached, a
 * child killed by a signal, long output and long lines, forwarded
 * signals, and the usage errors of the mode.
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

#include "caller.h"
#include "fanout.h"
#include "fixture.h"
#include "tap.h"

#define TIMEOUT_S 60

static int nhosts;
static char host_list[64]; /* "h1,h2,...,hN" */
static char addr[FAN_MAX_HOSTS][FAN_ADDR_LEN]; /* the hosts' addresses, from ssh_config */
static int code[FAN_MAX_HOSTS]; /* the address's last byte - 2: the script's exit code */

/* Runs cprun with ARGS and asserts nothing yet; a failure to run at all ends the test. */
static void run(const char *const *args, const char *in, struct fixture_result *r)
{
	if (fixture_cprun(args, in, in != NULL ? strlen(in) : 0, TIMEOUT_S, r) < 0) {
		tap_diag("cprun could not be run");
		exit(1);
	}
}

/* The exit code of a finished cprun, or -1 when it did not exit. */
static int code_of(const struct fixture_result *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* The last line of S, without its newline, in a static buffer. */
static const char *last_line(const char *s)
{
	static char buf[1024];
	size_t n = strlen(s);
	const char *p;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	for (p = s + n; p > s && p[-1] != '\n'; p--)
		;
	snprintf(buf, sizeof(buf), "%.*s", (int)(s + n - p), p);
	return buf;
}

/* Every host writes to both streams, ends stdout without a newline, and exits with its index. */
static void test_prefix_status_summary(void)
{
	const char *script = "set -- $SSH_CONNECTION; n=${3##*.}; echo \"out $3\"; "
			     "echo \"err $3\" >&2; printf tail; exit $((n - 2))";
	const char *args[] = { "-H", host_list, "sh", "-c", script, NULL };
	struct fixture_result r;
	char summary[256], what[128], want[256], prefix[16];
	int ok_count = 0, worst = 0, named = 0;
	size_t len;

	run(args, NULL, &r);
	for (int i = 0; i < nhosts; i++) {
		char *lines;

		snprintf(prefix, sizeof(prefix), "h%d: ", i + 1);
		lines = fan_lines_of(r.out, prefix);
		snprintf(want, sizeof(want), "out %s\ntail\n", addr[i]);
		snprintf(what, sizeof(what), "h%d: its stdout lines, prefixed, in order, tail ended", i + 1);
		ok_str(lines, want, what);
		free(lines);
		lines = fan_lines_of(r.err, prefix);
		snprintf(want, sizeof(want), "err %s\n", addr[i]);
		snprintf(what, sizeof(what), "h%d: its stderr line, prefixed", i + 1);
		ok_str(lines, want, what);
		free(lines);
	}
	ok_int(fan_count_lines(r.out), 2 * nhosts, "stdout has nothing but the hosts' lines");
	ok_int(fan_count_lines(r.err), nhosts + 1, "stderr: the hosts' lines and one summary");

	/* What to expect, from the exit codes the script computes (h1 at .2 exits 0, ...). */
	for (int i = 0; i < nhosts; i++) {
		if (code[i] == 0)
			ok_count++;
		if (code[i] > worst)
			worst = code[i];
	}
	len = (size_t)snprintf(summary, sizeof(summary), "cprun: %d of %d hosts succeeded", ok_count, nhosts);
	for (int i = 0; i < nhosts; i++) {
		if (code[i] != 0)
			len += (size_t)snprintf(summary + len, sizeof(summary) - len, "%sh%d: exit %d",
						named++ == 0 ? " (" : ", ", i + 1, code[i]);
	}
	if (named > 0)
		snprintf(summary + len, sizeof(summary) - len, ")");
	ok_int(code_of(&r), worst, "cprun exits with the worst (highest) status");
	ok_int(worst, nhosts - 1, "(the hosts' statuses differ: 0 up to N-1)");
	ok_str(last_line(r.err), summary, "the summary names each failed host and its status");
	fixture_result_free(&r);
}

/* A hosts file with comments, blank lines and spaces; comma lists with empty names. */
static void test_hosts_file(void)
{
	char path[] = "/tmp/cprun-hosts.XXXXXX";
	const char *text = "# fan-out test hosts\n\n  h2  \nh1 # the first\n\t\n";
	const char *bad[] = { "-H", "@/nonexistent/cprun-hosts", "true", NULL };
	char at[64], *lines;
	struct fixture_result r;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		tap_diag("cannot write a hosts file");
		exit(1);
	}
	close(fd);
	snprintf(at, sizeof(at), "@%s", path);
	{
		const char *args[] = { "-H", at, "echo", "hi", NULL };

		run(args, NULL, &r);
	}
	ok_int(code_of(&r), 0, "hosts file: exit 0");
	lines = fan_lines_of(r.out, "h1: ");
	ok_str(lines, "hi\n", "hosts file: h1 ran once");
	free(lines);
	lines = fan_lines_of(r.out, "h2: ");
	ok_str(lines, "hi\n", "hosts file: h2 ran once");
	free(lines);
	ok_int(fan_count_lines(r.out), 2, "hosts file: comments and blank lines are no hosts");
	ok_str(last_line(r.err), "cprun: 2 of 2 hosts succeeded", "hosts file: the summary");
	fixture_result_free(&r);
	unlink(path);

	{
		const char *args[] = { "-H", ",h1,,", "-H", "h2,", "echo", "hi", NULL };

		run(args, NULL, &r);
	}
	/* The two hosts may answer in either order. */
	ok(strcmp(r.out, "h1: hi\nh2: hi\n") == 0 || strcmp(r.out, "h2: hi\nh1: hi\n") == 0,
	   "repeated -H and empty names in a list: h1 and h2 once each");
	if (strcmp(r.out, "h1: hi\nh2: hi\n") != 0 && strcmp(r.out, "h2: hi\nh1: hi\n") != 0)
		ok_str(r.out, "h1: hi\nh2: hi\n", "(what came)");
	fixture_result_free(&r);

	run(bad, NULL, &r);
	ok_int(code_of(&r), 2, "a missing hosts file is a usage error");
	ok_contains(r.err, "/nonexistent/cprun-hosts", "the message names the file");
	fixture_result_free(&r);
}

static void test_no_prefix_and_stdin(void)
{
	const char *args[] = { "--no-prefix", "-H", host_list, "echo", "same", NULL };
	const char *wc[] = { "-H", "h1", "sh", "-c", "wc -c", NULL };
	struct fixture_result r;
	char want[64] = "";

	for (int i = 0; i < nhosts; i++)
		strcat(want, "same\n");
	run(args, NULL, &r);
	ok_str(r.out, want, "--no-prefix: the bare lines");
	ok_int(code_of(&r), 0, "--no-prefix: exit 0");
	fixture_result_free(&r);

	run(wc, "cprun's own stdin must not reach the hosts\n", &r);
	ok_str(r.out, "h1: 0\n", "stdin is /dev/null in multi-host mode");
	fixture_result_free(&r);
}

/* A host nobody listens on: connection refused, 255, named in the summary. */
static void test_unreachable(void)
{
	char *conf = fixture_file("ssh_config"), path[] = "/tmp/cprun-config.XXXXXX";
	char *lines;
	struct fixture_result r;
	FILE *in = fopen(conf, "re");
	int fd = mkstemp(path);

	if (in == NULL || fd < 0) {
		tap_diag("cannot copy ssh_config");
		exit(1);
	}
	{
		FILE *out = fdopen(fd, "w");
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		/* 127.0.0.99 is loopback and has no sshd: refused at once. */
		fputs("\nHost dead\n\tHostName 127.0.0.99\n\tPort 1\n", out);
		fclose(out);
	}
	fclose(in);
	{
		const char *args[] = { "-F", path, "-H", "h1,dead", "echo", "up", NULL };

		run(args, NULL, &r);
	}
	ok_int(code_of(&r), 255, "an unreachable host makes the status 255");
	lines = fan_lines_of(r.out, "h1: ");
	ok_str(lines, "up\n", "the reachable host still ran");
	free(lines);
	ok_contains(r.err, "dead", "the failure names the host");
	ok_contains(last_line(r.err), "cprun: 1 of 2 hosts succeeded (dead: ", "summary names the dead host");
	fixture_result_free(&r);
	unlink(path);
	free(conf);
}

/* h2 kills itself with SIGTERM: 128+15 and "signal 15". */
static void test_signal_death(void)
{
	char script[256];
	struct fixture_result r;
	char *lines;

	snprintf(script, sizeof(script),
		 "set -- $SSH_CONNECTION; [ \"$3\" = %s ] && kill -TERM $$; echo alive", addr[1]);
	{
		const char *args[] = { "-H", "h1,h2", "sh", "-c", script, NULL };

		run(args, NULL, &r);
	}
	ok_int(code_of(&r), 128 + SIGTERM, "a child killed by SIGTERM: 143");
	lines = fan_lines_of(r.out, "h1: ");
	ok_str(lines, "alive\n", "the other host ran to its end");
	free(lines);
	ok_str(last_line(r.err), "cprun: 1 of 2 hosts succeeded (h2: signal 15)", "summary: signal 15");
	fixture_result_free(&r);
}

/* 50 000 lines from two hosts at once, and one line longer than cprun keeps. */
static void test_long_output(void)
{
	const char *seq[] = { "-H", "h1,h2", "seq", "1", "50000", NULL };
	const char *wide[] = { "-H", "h1", "sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a", NULL };
	struct fixture_result r;
	char *want = malloc(50000 * 7), *lines, *w = want;

	for (int i = 1; i <= 50000; i++)
		w += sprintf(w, "%d\n", i);
	run(seq, NULL, &r);
	ok_int(code_of(&r), 0, "seq on two hosts: exit 0");
	for (int i = 1; i <= 2; i++) {
		char prefix[16], what[96];

		snprintf(prefix, sizeof(prefix), "h%d: ", i);
		lines = fan_lines_of(r.out, prefix);
		snprintf(what, sizeof(what), "h%d: all 50000 lines, in order, none torn", i);
		ok(strcmp(lines, want) == 0, what);
		if (strcmp(lines, want) != 0)
			printf("#   got %zu lines\n", fan_count_lines(lines));
		free(lines);
	}
	ok_int(fan_count_lines(r.out), 100000, "no other lines");
	fixture_result_free(&r);
	free(want);

	run(wide, NULL, &r);
	lines = fan_lines_of(r.out, "h1: ");
	{
		const char *nl = strchr(lines, '\n');

		ok_int(fan_count_lines(lines), 2, "a 100000-byte line comes out in two pieces");
		ok_int(nl != NULL ? nl - lines : -1, 65536, "the first piece is 64 KiB");
		ok_int(strlen(lines), 100000 + 2, "no byte lost");
		ok(strspn(lines, "a\n") == strlen(lines), "only the line's own bytes");
	}
	free(lines);
	fixture_result_free(&r);
}

/*
 * SIGTERM to cprun reaches every child: each traps it, says so and exits
 * 7.  cprun runs here with its stdout on a pipe we read, to know when all
 * the children are ready.  The signal reaches the child's whole process
 * group, as from a terminal, so the loop's sleep dies of it too: the
 * shell's report of that ("Terminated") goes to /dev/null.
 */
static void test_forward_signal(void)
{
	const char *script = "trap 'echo got TERM; exit 7' TERM; echo ready; "
			     "while :; do sleep 0.05; done 2>/dev/null";
	const char *args[] = { "-H", host_list, "sh", "-c", script, NULL };
	struct fixture_spawn sp = { .fd = { FIXTURE_FD_NULL }, .chan = -1 };
	char *out = NULL;
	int p[2], ready = 0, status = 0;
	size_t len = 0, cap = 0;
	long long deadline;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		tap_diag("pipe");
		exit(1);
	}
	sp.fd[1] = sp.fd[2] = p[1];
	if ((pid = fixture_cprun_start(args, &sp)) == -1)
		exit(1);
	close(p[1]);
	deadline = fixture_now_ms() + 1000LL * TIMEOUT_S;
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (fixture_now_ms() > deadline || poll(&pfd, 1, 1000) < 0)
			break;
		if (len + 4096 + 1 > cap) {
			cap = 2 * cap + 8192;
			if ((out = realloc(out, cap)) == NULL)
				exit(2);
		}
		n = read(p[0], out + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		if (!ready) {
			int count = 0;

			for (char *s = out; (s = strstr(s, ": ready\n")) != NULL; s++)
				count++;
			if (count == nhosts) {
				ready = 1;
				kill(pid, SIGTERM);
			}
		}
	}
	close(p[0]);
	ok(ready, "every child said it was ready");
	ok_int(cl_waitpid(pid, &status, TIMEOUT_S), 1, "cprun ended after SIGTERM");
	ok_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 7, "with the children's status 7");
	for (int i = 0; i < nhosts; i++) {
		char prefix[16], what[96], *lines;

		snprintf(prefix, sizeof(prefix), "h%d: ", i + 1);
		lines = fan_lines_of(out != NULL ? out : "", prefix);
		snprintf(what, sizeof(what), "h%d: the child got the forwarded SIGTERM", i + 1);
		ok_str(lines, "ready\ngot TERM\n", what);
		free(lines);
	}
	free(out);
}

static void test_usage(void)
{
	const char *noprog[] = { "-H", "h1", NULL };
	const char *noprefix[] = { "--no-prefix", "h1", "true", NULL };
	const char *chan[] = { "-H", "h1", "--channel-fd", "0", "true", NULL };
	const char *empty[] = { "-H", " , ", "true", NULL };
	struct fixture_result r;

	run(noprog, NULL, &r);
	ok_int(code_of(&r), 2, "-H without PROGRAM: usage error");
	fixture_result_free(&r);
	run(noprefix, NULL, &r);
	ok_int(code_of(&r), 2, "--no-prefix without -H: usage error");
	fixture_result_free(&r);
	run(chan, NULL, &r);
	ok_int(code_of(&r), 2, "--channel-fd with -H: usage error");
	fixture_result_free(&r);
	run(empty, NULL, &r);
	ok_int(code_of(&r), 2, "-H naming no host: usage error");
	fixture_result_free(&r);
}

int main(void)
{
	fixture_dir();
	nhosts = fan_hosts();
	fan_host_addrs(addr, nhosts);
	for (int i = 0; i < nhosts; i++) {
		if (sscanf(addr[i], "%*d.%*d.%*d.%d", &code[i]) != 1 || code[i] < 2) {
			tap_diag("a test host's address is not 127.0.0.N with N >= 2");
			exit(1);
		}
		code[i] -= 2;
		snprintf(host_list + strlen(host_list), sizeof(host_list) - strlen(host_list), "%sh%d",
			 i > 0 ? "," : "", i + 1);
	}

	test_prefix_status_summary();
	test_hosts_file();
	test_no_prefix_and_stdin();
	test_unreachable();
	test_signal_death();
	test_long_output();
	test_forward_signal();
	test_usage();
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
