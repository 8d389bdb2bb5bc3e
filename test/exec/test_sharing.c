/*
 * test_sharing.c — connections: children on one destination share one SSH
 * connection and helper; an idle connection closes after ControlPersist;
 * cpremote_shutdown() closes them at once; CPREMOTE_NOWAIT spawns do not
 * wait for the network, so a slow host holds up no other.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/* The remote sh's parent is the helper serving the connection. */
static const char *const ppid_argv[] = { "sh", "-c", "echo $PPID", NULL };

/*
 * Runs `echo $PPID` on HOST with extra ssh options OPTS (may be NULL).
 * Returns the helper's pid, or -1 (and a failed test).
 */
static long helper_of(const char *host, const char *const *opts, const char *what)
{
	struct cpremote_options o;
	struct fixture_result r;
	cpremote_child *c = NULL;
	long pid = -1;
	int rc;

	fixture_options(&o, host);
	o.file = "sh";
	o.argv = ppid_argv;
	o.ssh_options = opts;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	rc = cpremote_run(&o, &c);
	if (!ok(rc == 0, what)) {
		printf("#   %s: %s\n", cpremote_strerror(rc), cpremote_errmsg());
		return -1;
	}
	if (exec_pump(c, NULL, 0, 30, &r) == 1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
		pid = atol(r.out);
	fixture_result_free(&r);
	cpremote_free(c);
	return pid;
}

static void sharing(void)
{
	long a = helper_of("h1", NULL, "sharing: first child on h1");
	long b = helper_of("h1", NULL, "sharing: second child on h1");
	long other = helper_of("h2", NULL, "sharing: a child on h2");

	ok(a > 1, "sharing: the helper's pid is known");
	ok_int(b, a, "sharing: the second child on h1 has the same helper (one connection)");
	ok(other > 1 && other != a, "sharing: h2 has a helper of its own");
}

static void idle_close(void)
{
	/* As in ssh, 0 would mean "for ever": 1 s is the shortest idle time. */
	static const char *const persist1[] = { "ControlPersist=1", NULL };
	long a = helper_of("h3", persist1, "idle: a child with ControlPersist=1");
	long b;

	/* The connection closes a second after its last child ended. */
	usleep(1600 * 1000);
	b = helper_of("h3", persist1, "idle: the next child");
	ok(a > 1 && b > 1 && a != b, "idle: ControlPersist=1 closed the connection (a new helper)");
	if (a == b)
		printf("#   both children had helper %ld\n", a);
}

static void shutdown_all(void)
{
	static const char *const sleeper[] = { "sleep", "100", NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	long before, after;
	int status, rc;

	before = helper_of("h4", NULL, "shutdown: a first child on h4");
	fixture_options(&o, "h4");
	o.file = "sleep";
	o.argv = sleeper;
	if (!ok(cpremote_run(&o, &c) == 0, "shutdown: sleep 100 runs"))
		return;
	cpremote_shutdown();
	rc = cpremote_wait(c, &status, 0);
	ok(rc == CPREMOTE_ECONNLOST || rc == CPREMOTE_ERELAY,
	   "shutdown: the running child's handle reports the connection's end");
	printf("#   cpremote_wait: %s\n", cpremote_strerror(rc));
	cpremote_free(c);
	after = helper_of("h4", NULL, "shutdown: a child after it connects again");
	ok(before > 1 && after > 1 && before != after, "shutdown: a new connection (a new helper)");
}

/* A TCP port that accepts connections (the kernel does) but never says a word. */
static int silent_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void nowait(void)
{
	static const char *const timeout[] = { "ConnectTimeout=3", NULL };
	static const char *const nope[] = { "no-such-program-here", NULL };
	struct cpremote_options o;
	cpremote_child *slow = NULL, *c = NULL;
	struct pollfd pfd;
	double t0;
	int port = 0, lfd = silent_listener(&port), status, rc;

	if (!ok(lfd >= 0, "nowait: a silent listener"))
		return;
	/* A host that never answers the handshake ... */
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.host = "127.0.0.1";
	o.port = port;
	o.ssh_options = timeout;
	o.file = "true";
	o.flags = CPREMOTE_NOWAIT;
	t0 = fixture_now();
	ok_int(cpremote_run(&o, &slow), 0, "nowait: cpremote_run returns at once");
	ok(fixture_now() - t0 < 2, "nowait: without waiting for the handshake");
	ok_int(cpremote_pid(slow), -1, "nowait: no pid before the start is confirmed");

	/* ... holds up no other host. */
	fixture_options(&o, "h1");
	o.file = "true";
	ok_int(cpremote_run(&o, &c), 0, "nowait: meanwhile a child on h1 starts");
	ok_int(cpremote_wait(c, &status, 0), 1, "nowait: and ends");
	ok_int(cpremote_wait(slow, &status, CPREMOTE_WNOHANG), 0, "nowait: the silent host is still pending");
	cpremote_free(c);
	c = NULL;
	rc = cpremote_wait(slow, &status, 0);
	ok_int(rc, CPREMOTE_ECONNECT, "nowait: the silent host fails after ConnectTimeout");
	ok_contains(cpremote_child_errmsg(slow), "timed out", "nowait: the message says why");
	cpremote_free(slow);
	close(lfd);

	/* A start confirmed later: the exit fd wakes, the pid appears. */
	fixture_options(&o, "h2");
	o.file = "sleep";
	o.argv = (const char *const[]){ "sleep", "2", NULL };
	o.flags = CPREMOTE_NOWAIT;
	if (ok(cpremote_run(&o, &c) == 0, "nowait: sleep 2 requested")) {
		pfd = (struct pollfd){ .fd = cpremote_exit_fd(c), .events = POLLIN };
		ok_int(poll(&pfd, 1, 30000), 1, "nowait: the exit fd wakes for the start");
		ok_int(cpremote_wait(c, &status, CPREMOTE_WNOHANG), 0, "nowait: still running");
		ok(cpremote_pid(c) > 1, "nowait: the pid is known");
		ok_int(cpremote_wait(c, &status, 0), 1, "nowait: then it ends");
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nowait: with status 0");
		cpremote_free(c);
	}

	/* A failed start arrives through cpremote_wait. */
	fixture_options(&o, "h3");
	o.file = nope[0];
	o.argv = nope;
	o.flags = CPREMOTE_NOWAIT;
	if (ok(cpremote_run(&o, &c) == 0, "nowait: a missing program is requested")) {
		ok_int(cpremote_wait(c, &status, 0), CPREMOTE_ENOTFOUND, "nowait: wait reports not found");
		ok_contains(cpremote_child_errmsg(c), "no-such-program-here: not found",
			    "nowait: the message names the program");
		cpremote_free(c);
	}
}

int main(void)
{
	fixture_dir();
	signal(SIGPIPE, SIG_IGN);
	sharing();
	idle_close();
	nowait();
	shutdown_all();
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
