/*
 * test_kill.c — signals reach the remote child: cpremote_kill() with a
 * signal the child traps or not, and a SIGTERM sent to a running cprun.
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

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

static char *exec_child;

/* Starts ARGV on HOST with stdout piped; NULL (and a failed test) on error. */
static cpremote_child *start(const char *host, const char *const *argv)
{
	cpremote_child *c = NULL;
	int rc;

	rc = exec_start(host, argv, 1, &c);
	if (!ok(rc == 0, "lib: the child starts")) {
		printf("#   %s: %s\n", cpremote_strerror(rc), cpremote_errmsg());
		return NULL;
	}
	return c;
}

/* Sends SIG to a child that traps it once it said "ready"; it must print PRINTS and exit 7. */
static void lib_trapped(const char *host, const char *const *argv, int sig, const char *prints,
			const char *name)
{
	struct fixture_result r;
	cpremote_child *c;
	char line[64], msg[128];

	if ((c = start(host, argv)) == NULL)
		return;
	snprintf(msg, sizeof(msg), "lib %s: the child says it is ready", name);
	if (ok(exec_read_line(cpremote_stdio_fd(c, 1), line, sizeof(line), 30), msg)) {
		snprintf(msg, sizeof(msg), "lib %s: cpremote_kill returns 0", name);
		ok_int(cpremote_kill(c, sig), 0, msg);
		snprintf(msg, sizeof(msg), "lib %s: the status arrives", name);
		ok_int(exec_pump(c, NULL, 0, 30, &r), 1, msg);
		snprintf(msg, sizeof(msg), "lib %s: the child's trap ran", name);
		ok_str(r.out, prints, msg);
		snprintf(msg, sizeof(msg), "lib %s: the child exits 7 from its trap", name);
		ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 7, msg);
		fixture_result_free(&r);
	}
	cpremote_free(c);
}

static void lib_signals(void)
{
	const char *trap[] = { exec_child, "trap", NULL };
	/* sh runs a trap between commands: `sleep 1` bounds the delay. */
	const char *sh_trap[] = { "sh", "-c",
				  "trap 'echo got USR1; exit 7' USR1; echo ready; while :; do sleep 1; done",
				  NULL };
	const char *sleeper[] = { "sleep", "100", NULL };
	struct fixture_result r;
	cpremote_child *c;

	lib_trapped("h1", trap, SIGTERM, "got TERM\n", "SIGTERM");
	lib_trapped("h2", trap, SIGUSR1, "got USR1\n", "SIGUSR1");
	lib_trapped("h3", sh_trap, SIGUSR1, "got USR1\n", "SIGUSR1 to sh");

	if ((c = start("h1", sleeper)) != NULL) {
		double t0 = fixture_now();

		ok_int(cpremote_kill(c, SIGKILL), 0, "lib SIGKILL: cpremote_kill returns 0");
		ok_int(exec_pump(c, NULL, 0, 30, &r), 1, "lib SIGKILL: the status arrives");
		ok(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL,
		   "lib SIGKILL: sleep 100 died of SIGKILL");
		ok(fixture_now() - t0 < 20, "lib SIGKILL: well before sleep would have ended");
		fixture_result_free(&r);
		cpremote_free(c);
	}
}

/*
 * Runs cprun on a child that traps SIGTERM, sends cprun a SIGTERM once the
 * child said "ready", and checks that the child's answer and exit code
 * came through cprun.
 */
static void cprun_sigterm(void)
{
	const char *cprun = getenv("CPRUN");
	const char *args[] = { "h2", exec_child, "trap", NULL };
	struct fixture_spawn sp = { .fd = { FIXTURE_FD_NULL, -1, FIXTURE_FD_INHERIT }, .chan = -1 };
	int outp[2] = { -1, -1 }, status = 0;
	struct fixture_result r = { 0 };
	char line[64];
	pid_t pid = -1;

	if (!ok(cprun != NULL, "CPRUN is set"))
		goto out;
	if (pipe2(outp, O_CLOEXEC) == -1) {
		ok(0, "pipe and /dev/null");
		goto out;
	}
	sp.fd[1] = outp[1];
	if ((pid = fixture_cprun_start(args, &sp)) == -1) {
		ok(0, "fork");
		goto out;
	}
	close(outp[1]);
	outp[1] = -1;
	if (!ok(exec_read_line(outp[0], line, sizeof(line), 60), "cprun: the child says it is ready")) {
		kill(pid, SIGKILL);
		goto out;
	}
	ok_int(kill(pid, SIGTERM), 0, "cprun: SIGTERM sent to cprun");

	/* What follows "ready", until cprun ends and closes its stdout. */
	if (fixture_read_eof(outp[0], 30000, &r.out, &r.out_len) == -ETIMEDOUT) {
		tap_diag("cprun did not end 30 s after SIGTERM: killed");
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	pid = -1;
	ok_str(r.out, "got TERM\n", "cprun: the remote child's trap ran");
	ok_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 7, "cprun: exits 7, the child's code");
out:
	if (pid > 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	free(r.out);
}

int main(void)
{
	fixture_dir();
	exec_child = fixture_prog("exec/exec_child");
	lib_signals();
	cprun_sigterm();
	if (tap_failed)
		fixture_dump_logs();
	free(exec_child);
	return tap_done();
}
