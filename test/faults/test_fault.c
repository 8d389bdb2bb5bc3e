/*
 * test_fault.c — one fault, named by argv[1], injected while a remote
 * target runs, first under the library and then under cprun:
 *
 *   cut          netproxy closes both sides of the link with a reset
 *   freeze       netproxy stops forwarding (found by the keepalive: the
 *                tests use ServerAliveInterval=1, ServerAliveCountMax=2)
 *   kill_sshd    sshd's process for the connection gets SIGKILL (the
 *                session's, running as the user: the helper's parent)
 *   kill_sshd_priv  the same for sshd's privileged monitor of the
 *                connection (the session process's parent)
 *   kill_helper  the helper gets SIGKILL
 *   kill_relay   the caller's relay gets SIGKILL
 *   kill_caller  the caller itself gets SIGKILL (fault_caller)
 *   crash        the target dies of SIGSEGV (not a fault of the product)
 *
 * Each time: the caller learns it in bounded time with its own code
 * (CPREMOTE_ECONNLOST, or CPREMOTE_ERELAY for the relay; the crash is an
 * ordinary signal status), cprun exits 255 with a message (139 for the
 * crash), the target and its grandchild get SIGTERM then SIGKILL after the
 * helper's grace period, the helper and sshd's processes for the
 * connection end, and no fd, zombie or temporary file is left.
 *
 * With a second argument "openssh" the same fault is injected with the
 * hosts named openssh://h1 and openssh://h2: the local ssh binary carries
 * the helper's stream (relay/cmdlink.c) instead of libssh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "fixture.h"
#include "tap.h"

static const char *fault;
static const char *scheme = ""; /* "" (libssh) or "openssh://" */
static char host1[64], host2[64];
static struct fault_proxy proxy;
static int use_proxy;
static char port_str[16];

/*
 * The checks every fault ends with, for the remote processes PS (from
 * fault_remote_procs(); the target is ps[0], its grandchild ps[1]): all
 * gone within FAULT_CLEANUP_S, no zombie left, and the target and its
 * grandchild were sent SIGTERM first (WANT_TERM).  WHAT names the case.
 */
static void check_remote(const struct fault_proc *ps, int n, int want_term, const char *what)
{
	char msg[256];
	double t;

	snprintf(msg, sizeof(msg), "%s: target, its grandchild, helper and sshd's processes gone within %d s",
		 what, FAULT_CLEANUP_S);
	t = fault_wait_gone(ps, n, FAULT_CLEANUP_S);
	ok(t >= 0, msg);
	if (t >= 0)
		printf("#   gone after %.2f s\n", t);
	/* Whatever the product left is the test's to remove, so that one failure does not pile up. */
	for (int i = 0; i < n; i++)
		if (fault_proc_exists(&ps[i]))
			kill(ps[i].pid, SIGKILL);
	if (want_term) {
		snprintf(msg, sizeof(msg), "%s: target and grandchild got SIGTERM first", what);
		ok(n >= 2 && fault_term_got(ps[0].pid) && fault_term_got(ps[1].pid), msg);
	}
	snprintf(msg, sizeof(msg), "%s: no zombie left", what);
	ok_int(fault_zombies_of(ps, n), 0, msg);
}

/* The relay of the processes carrying TAG, or none. */
static int relay_of(const char *tag, struct fault_proc *p)
{
	pid_t pid = fault_find_env(tag, "cpremote-relay");

	return pid > 0 ? fault_proc_get(pid, p) : -1;
}

/* Injects the fault; PS are the N remote processes (see fault_remote_procs), TAG marks the caller's processes. */
static void inject(struct fault_proc *ps, int n, const char *tag)
{
	struct fault_proc relay;

	/* The sshd faults need the session process (ps[3]) and its monitor (ps[4]). */
	if (!ok(strncmp(fault, "kill_sshd", 9) != 0 || n >= 5, "sshd's processes are known"))
		return;

	if (strcmp(fault, "cut") == 0) {
		ok(fault_proxy_cmd(&proxy, "cut") == 0, "proxy: cut");
	} else if (strcmp(fault, "freeze") == 0) {
		ok(fault_proxy_cmd(&proxy, "freeze") == 0, "proxy: freeze");
	} else if (strcmp(fault, "kill_sshd") == 0) {
		ok(kill(ps[3].pid, SIGKILL) == 0, "SIGKILL to sshd's process for the connection");
	} else if (strcmp(fault, "kill_sshd_priv") == 0) {
		ok(kill(ps[4].pid, SIGKILL) == 0, "SIGKILL to sshd's privileged process for the connection");
	} else if (strcmp(fault, "kill_helper") == 0) {
		ok(kill(ps[2].pid, SIGKILL) == 0, "SIGKILL to the helper");
	} else if (strcmp(fault, "kill_relay") == 0) {
		if (ok(relay_of(tag, &relay) == 0, "the relay is found"))
			kill(relay.pid, SIGKILL);
	}
}

/*
 * After the caller learned of the fault.  While a link is frozen sshd
 * keeps the session, so the helper must end the target and its grandchild
 * by itself once the relay's keepalives stop (each PING carries the
 * limit).  Then the link comes back, so that sshd can end as well.
 */
static void after(const struct fault_proc *ps, const char *what)
{
	char msg[160];
	double t;

	if (strcmp(fault, "freeze") != 0)
		return;
	t = fault_wait_gone(ps, 2, FAULT_CLEANUP_S);
	snprintf(msg, sizeof(msg), "%s: target and grandchild gone while the link is still frozen", what);
	ok(t >= 0, msg);
	if (t >= 0)
		printf("#   gone after %.2f s\n", t);
	fault_proxy_cmd(&proxy, "thaw");
}

/* The options of a run on h1, through the proxy when the fault needs it. */
static void options(struct cpremote_options *o, const char **ssh_opts)
{
	fixture_options(o, host1);
	if (use_proxy) {
		o->port = proxy.port;
		ssh_opts[0] = proxy.kh_option;
		ssh_opts[1] = "ServerAliveInterval=1";
		ssh_opts[2] = "ServerAliveCountMax=2";
		ssh_opts[3] = NULL;
		o->ssh_options = ssh_opts;
	}
}

/* Runs `true` on h2: the relay then exists, and the fd count includes its socket. */
static void warm_up(void)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int st = -1;

	fixture_options(&o, host2);
	o.file = "true";
	ok_int(cpremote_run(&o, &c), 0, "warm-up: true runs on h2");
	ok_int(fixture_wait_child(c, &st, FAULT_DETECT_S), 1, "warm-up: true ends");
	cpremote_free(c);
}

static void lib_case(void)
{
	const char *targv[4], *ssh_opts[4];
	struct cpremote_options o;
	struct fault_proc ps[5];
	cpremote_child *c = NULL;
	pid_t pid = 0, gpid = 0;
	int fds0, n, r, st = 0;
	double t0, dt;
	char msg[160];

	unlink(fault_child_log());
	fds0 = fault_count_fds();
	options(&o, ssh_opts);
	fault_child_argv(targv, strcmp(fault, "crash") == 0 ? "crash" : "hold");
	o.file = targv[0];
	o.argv = targv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &c);
	if (!ok(r == 0, "lib: the target starts")) {
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return;
	}
	if (!ok(fault_read_pids(cpremote_stdio_fd(c, 1), &pid, &gpid, FAULT_DETECT_S) == 0,
		"lib: the target tells its pids"))
		goto out;
	n = fault_remote_procs(pid, gpid, ps);
	if (strcmp(fault, "crash") != 0)
		ok(n >= 4, "lib: target, grandchild, helper and sshd found in the process table");
	t0 = fixture_now();
	inject(ps, n, fault_tag());
	if (strcmp(fault, "kill_sshd_priv") == 0) {
		/*
		 * The session process serves the connection without its monitor
		 * until it needs it: nothing is lost, the child runs on and can
		 * be ended as usual.
		 */
		r = fixture_wait_child(c, &st, 2);
		ok_int(r, 0, "lib: the child runs on");
		ok_int(cpremote_kill(c, SIGKILL), 0, "lib: cpremote_kill(SIGKILL) is sent");
		r = fixture_wait_child(c, &st, FAULT_DETECT_S);
		ok_int(r, 1, "lib: its status comes");
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "lib: status: killed by SIGKILL");
		cpremote_free(c);
		c = NULL;
		ok_int(fault_count_fds(), fds0, "lib: no fd left in the caller");
		/*
		 * A signal reaches the target's whole process group (as from a
		 * terminal; doc/PROTOCOL.md), so its background grandchild goes
		 * with the same SIGKILL, before any SIGTERM of the idle close.
		 */
		check_remote(ps, n, 0, "lib");
		ok(!fault_term_got(gpid), "lib: the grandchild went with its group's SIGKILL");
		goto out;
	}
	r = fixture_wait_child(c, &st, FAULT_DETECT_S);
	dt = fixture_now() - t0;
	if (strcmp(fault, "crash") == 0) {
		ok_int(r, 1, "lib: the crash is reported as the child's status");
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "lib: status: killed by SIGSEGV");
	} else {
		int want = strcmp(fault, "kill_relay") == 0 ? CPREMOTE_ERELAY : CPREMOTE_ECONNLOST;

		snprintf(msg, sizeof(msg), "lib: cpremote_wait() returns %s", cpremote_strerror(want));
		ok_int(r, want, msg);
		printf("#   after %.2f s: %s\n", dt, cpremote_child_errmsg(c));
		ok(cpremote_child_errmsg(c)[0] != '\0', "lib: cpremote_child_errmsg() says why");
		if (r != 0)
			ok_int(cpremote_wait(c, &st, 0), want, "lib: a second cpremote_wait() says the same");
	}
	snprintf(msg, sizeof(msg), "lib: known within %d s", FAULT_DETECT_S);
	ok(r != 0 && dt < FAULT_DETECT_S, msg);
	after(ps, "lib");
	cpremote_free(c);
	c = NULL;
	ok_int(fault_count_fds(), fds0, "lib: no fd left in the caller");
	if (strcmp(fault, "crash") == 0)
		n = 1; /* only the target: the connection stays for the next child */
	check_remote(ps, n, strcmp(fault, "crash") != 0, "lib");
	if (strcmp(fault, "crash") == 0 || strcmp(fault, "kill_relay") == 0) {
		/* The product recovers: the next child runs (on a new relay after a kill). */
		options(&o, ssh_opts);
		o.file = "true";
		o.argv = NULL;
		o.stdio[1].mode = o.stdio[2].mode = CPREMOTE_STDIO_NULL;
		ok_int(cpremote_run(&o, &c), 0, "lib: the next child starts");
		ok_int(fixture_wait_child(c, &st, FAULT_DETECT_S), 1, "lib: the next child ends");
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "lib: the next child exits 0");
	}
out:
	cpremote_free(c);
}

static void cprun_case(void)
{
	const char *targv[4];
	char *config = fixture_file("ssh_config"), err[8192], tag[128], msg[160];
	const char *args[32];
	struct fault_cprun run;
	struct fault_proc ps[5];
	pid_t pid = 0, gpid = 0;
	int na = 0, n, code;
	double t0;

	unlink(fault_child_log());
	snprintf(tag, sizeof(tag), "%s-cprun", fault_tag());
	fault_child_argv(targv, strcmp(fault, "crash") == 0 ? "crash" : "hold");
	args[na++] = "-F";
	args[na++] = config;
	if (use_proxy) {
		args[na++] = "-p";
		args[na++] = port_str;
		args[na++] = "-o";
		args[na++] = proxy.kh_option;
		args[na++] = "-o";
		args[na++] = "ServerAliveInterval=1";
		args[na++] = "-o";
		args[na++] = "ServerAliveCountMax=2";
	}
	args[na++] = host1;
	for (int i = 0; targv[i] != NULL; i++)
		args[na++] = targv[i];
	args[na] = NULL;
	if (!ok(fault_cprun_start(&run, args, tag) == 0, "cprun: starts"))
		goto out;
	if (!ok(fault_read_pids(run.out, &pid, &gpid, FAULT_DETECT_S) == 0,
		"cprun: the target tells its pids")) {
		fault_cprun_finish(&run, 1, err, sizeof(err));
		printf("#   stderr: %s\n", err);
		goto out;
	}
	n = fault_remote_procs(pid, gpid, ps);
	t0 = fixture_now();
	inject(ps, n, tag);
	code = fault_cprun_finish(&run, FAULT_DETECT_S, err, sizeof(err));
	err[strcspn(err, "\n")] = '\0';
	printf("#   after %.2f s, stderr: %s\n", fixture_now() - t0, err);
	if (strcmp(fault, "crash") == 0) {
		ok_int(code, 128 + SIGSEGV, "cprun: exits 139 (128 + SIGSEGV)");
		n = 1;
	} else {
		ok_int(code, 255, "cprun: exits 255");
		ok_contains(err, "h1", "cprun: the message names the host");
	}
	after(ps, "cprun");
	snprintf(msg, sizeof(msg), "cprun: relay gone");
	{
		struct fault_proc relay;
		/* cprun's relay ends by itself once cprun is gone. */
		double deadline = fixture_now() + FAULT_CLEANUP_S;

		while (relay_of(tag, &relay) == 0 && fixture_now() < deadline)
			usleep(50000);
		ok(relay_of(tag, &relay) != 0, msg);
	}
	check_remote(ps, n, strcmp(fault, "crash") != 0, "cprun");
out:
	free(config);
}

/* The caller is SIGKILLed: its relay ends, and so does everything on the host. */
static void caller_case(void)
{
	const char *targv[4];
	char *config = fixture_file("ssh_config"), tag[128];
	const char *caller = getenv("FAULT_CALLER");
	struct fault_proc ps[5], relay;
	pid_t cpid, pid = 0, gpid = 0;
	int out[2], n = 0, st;
	double t;

	unlink(fault_child_log());
	snprintf(tag, sizeof(tag), "%s-caller", fault_tag());
	fault_child_argv(targv, "hold");
	if (pipe2(out, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	if ((cpid = fork()) == 0) {
		dup2(out[1], 1);
		putenv(tag);
		execl(caller, "fault_caller", config, host1, targv[0], targv[1], targv[2], (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (ok(fault_read_pids(out[0], &pid, &gpid, FAULT_DETECT_S) == 0,
	       "caller: the target tells its pids")) {
		n = fault_remote_procs(pid, gpid, ps);
		ok(relay_of(tag, &relay) == 0, "caller: its relay is found");
	}
	kill(cpid, SIGKILL);
	waitpid(cpid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "caller: died of SIGKILL");
	close(out[0]);
	if (n > 0) {
		t = fault_wait_gone(&relay, 1, FAULT_CLEANUP_S);
		ok(t >= 0, "caller: its relay exits");
		check_remote(ps, n, 1, "caller");
	}
	free(config);
}

int main(int argc, char **argv)
{
	static char files0[65536], files1[65536];

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "openssh") != 0)) {
		fprintf(stderr, "usage: test_fault FAULT [openssh]\n");
		return 2;
	}
	fault = argv[1];
	if (argc == 3)
		scheme = "openssh://";
	snprintf(host1, sizeof(host1), "%sh1", scheme);
	snprintf(host2, sizeof(host2), "%sh2", scheme);
	fixture_dir();
	signal(SIGPIPE, SIG_IGN);
	putenv((char *)fault_tag());
	use_proxy = strcmp(fault, "cut") == 0 || strcmp(fault, "freeze") == 0;
	if (use_proxy) {
		if (!ok(fault_proxy_start(&proxy, "127.0.0.2") == 0, "netproxy starts"))
			return tap_done();
		snprintf(port_str, sizeof(port_str), "%d", proxy.port);
	}
	fault_temp_files(files0, sizeof(files0));
	if (strcmp(fault, "kill_caller") == 0) {
		caller_case();
	} else {
		warm_up();
		lib_case();
		if (strcmp(fault, "kill_sshd_priv") != 0)
			cprun_case();
	}
	if (use_proxy)
		fault_proxy_stop(&proxy);
	ok_int(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, 1, "no child or zombie left in the caller");
	fault_tmpdir_remove();
	ok(access(fault_tmpdir(), F_OK) != 0, "the scratch directory is gone");
	fault_temp_files(files1, sizeof(files1));
	ok_int(fault_new_files(files0, files1), 0, "no temporary file left on either side");
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
