/*
 * test_exit.c — a remote child's end is reported as a local one's: exit
 * codes, death by a signal, and the failures to start it (not found, not
 * executable), through the library and through cprun's exit code.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

static char *exec_child;

/* Runs ARGV on HOST with no stdio and returns its wait status, or -1 (a failed test). */
static int lib_status(const char *host, const char *const *argv, const char *what)
{
	struct cpremote_options o;
	struct fixture_result r;
	cpremote_child *c = NULL;
	char msg[256];
	int rc, status = -1;

	fixture_options(&o, host);
	o.file = argv[0];
	o.argv = argv;
	rc = cpremote_run(&o, &c);
	snprintf(msg, sizeof(msg), "lib: %s starts", what);
	if (!ok(rc == 0, msg)) {
		printf("#   %s: %s\n", cpremote_strerror(rc), cpremote_errmsg());
		return -1;
	}
	rc = exec_pump(c, NULL, 0, 30, &r);
	snprintf(msg, sizeof(msg), "lib: %s reports a status", what);
	if (ok(rc == 1, msg))
		status = r.status;
	else
		printf("#   cpremote_wait: %d (%s)\n", rc, rc < 0 ? cpremote_strerror(rc) : "timeout");
	fixture_result_free(&r);
	cpremote_free(c);
	return status;
}

/* Runs cprun with ARGS and returns its exit code, or -1 (it died of a signal: fixture timeout). */
static int cprun_code(const char *const *args, struct fixture_result *r)
{
	if (fixture_cprun(args, NULL, 0, 60, r) != 0)
		return -1;
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

static void exit_codes(void)
{
	static const int codes[] = { 0, 1, 42 };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char n[16], what[64], script[32];
		const char *argv[] = { exec_child, "exit", n, NULL };
		const char *args[] = { "h1", "sh", "-c", script, NULL };
		struct fixture_result r;
		int st;

		snprintf(n, sizeof(n), "%d", codes[i]);
		snprintf(what, sizeof(what), "exit %d", codes[i]);
		st = lib_status(i % 2 ? "h2" : "h1", argv, what);
		snprintf(what, sizeof(what), "lib: exit %d is reported as exited with %d", codes[i],
			 codes[i]);
		ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == codes[i], what);

		snprintf(script, sizeof(script), "exit %d", codes[i]);
		snprintf(what, sizeof(what), "cprun: sh -c 'exit %d' exits %d", codes[i], codes[i]);
		ok_int(cprun_code(args, &r), codes[i], what);
		fixture_result_free(&r);
	}
}

static void signals(void)
{
	const char *killed[] = { "sh", "-c", "kill -KILL $$", NULL };
	const char *segv[] = { exec_child, "segv", NULL };
	const char *c_killed[] = { "h2", "sh", "-c", "kill -KILL $$", NULL };
	const char *c_segv[] = { "h3", exec_child, "segv", NULL };
	struct fixture_result r;
	int st;

	st = lib_status("h1", killed, "kill -KILL $$");
	ok(st != -1 && WIFSIGNALED(st), "lib: SIGKILL is reported as a signal");
	ok_int(st != -1 && WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGKILL, "lib: ... and it is SIGKILL");
	st = lib_status("h2", segv, "segv");
	ok(st != -1 && WIFSIGNALED(st), "lib: SIGSEGV is reported as a signal");
	ok_int(st != -1 && WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGSEGV, "lib: ... and it is SIGSEGV");

	ok_int(cprun_code(c_killed, &r), 128 + 9, "cprun: a child killed by SIGKILL exits 128+9");
	fixture_result_free(&r);
	ok_int(cprun_code(c_segv, &r), 128 + 11, "cprun: a child dead of SIGSEGV exits 128+11");
	fixture_result_free(&r);
}

/* Starting PROGRAM on HOST fails with WANT, and the message names both. */
static void lib_start_fails(const char *host, const char *program, int want, const char *what)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char msg[256];
	int rc;

	fixture_options(&o, host);
	o.file = program;
	rc = cpremote_run(&o, &c);
	snprintf(msg, sizeof(msg), "lib: %s fails with %s", what, cpremote_strerror(want));
	ok_int(rc, want, msg);
	snprintf(msg, sizeof(msg), "lib: %s: the message names the host", what);
	ok_contains(cpremote_errmsg(), host, msg);
	snprintf(msg, sizeof(msg), "lib: %s: the message names the program", what);
	ok_contains(cpremote_errmsg(), program, msg);
	cpremote_free(c);
}

static void cprun_start_fails(const char *host, const char *program, int want, const char *what)
{
	const char *args[] = { host, program, NULL };
	struct fixture_result r;
	char msg[256];

	snprintf(msg, sizeof(msg), "cprun: %s exits %d", what, want);
	ok_int(cprun_code(args, &r), want, msg);
	snprintf(msg, sizeof(msg), "cprun: %s: stderr names the host", what);
	ok_contains(r.err, host, msg);
	snprintf(msg, sizeof(msg), "cprun: %s: stderr names the program", what);
	ok_contains(r.err, program, msg);
	fixture_result_free(&r);
}

static void start_failures(void)
{
	/* /etc/passwd exists everywhere and is never executable. */
	lib_start_fails("h1", "cpremote-no-such-program", CPREMOTE_ENOTFOUND, "a program not in PATH");
	lib_start_fails("h2", "/nonexistent/cpremote-prog", CPREMOTE_ENOTFOUND, "a missing path");
	lib_start_fails("h1", "/etc/passwd", CPREMOTE_ENOEXEC, "a file that is not executable");
	cprun_start_fails("h1", "cpremote-no-such-program", 127, "a program not found");
	cprun_start_fails("h3", "/etc/passwd", 126, "a program not executable");
}

int main(void)
{
	fixture_dir();
	exec_child = fixture_prog("exec/exec_child");
	exit_codes();
	signals();
	start_failures();
	if (tap_failed)
		fixture_dump_logs();
	free(exec_child);
	return tap_done();
}
