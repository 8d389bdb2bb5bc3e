/*
 * test_progress.c — cprun -H keeps a live "[k/n done]" line on stderr when
 * stderr is a terminal (a pseudo-terminal here), erases it before the
 * summary, and prints no such line when stderr is not a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

/* h1 ends soon, h2 later: the line must show 0, then 1, then 2 of 2. */
static const char script[] =
	"case $SSH_CONNECTION in *' 127.0.0.2 '*) sleep 0.3;; *) sleep 1.5;; esac; echo hi";

/* Runs cprun -H h1,h2 on a pseudo-terminal; returns all it wrote (malloc'ed), or NULL. */
static char *run_on_pty(int *status)
{
	const char *args[] = { "-H", "h1,h2", "sh", "-c", script, NULL };
	struct fixture_spawn sp = { .chan = -1 };
	char *out = NULL;
	size_t len = 0, cap = 0;
	int master = -1, slave = -1;
	pid_t pid;

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
		goto done;
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	sp.fd[0] = sp.fd[1] = sp.fd[2] = slave;
	pid = fixture_cprun_start(args, &sp);
	/* Once cprun has gone, no one holds the terminal: reads end with EIO. */
	close(slave);
	if (pid < 0)
		goto done;
	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&pfd, 1, 60000) <= 0)
			break;
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break; /* EIO once cprun has gone */
		if (len + (size_t)n + 1 > cap) {
			cap = 2 * (len + (size_t)n + 1);
			if ((out = realloc(out, cap)) == NULL)
				break;
		}
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
done:
	if (master >= 0)
		close(master);
	return out;
}

int main(void)
{
	const char *args[] = { "-H", "h1,h2", "sh", "-c", script, NULL };
	struct fixture_result r;
	char *out;
	const char *last_draw, *summary;
	int status = -1;

	fixture_dir();
	out = run_on_pty(&status);
	if (ok(out != NULL, "cprun ran on a pseudo-terminal")) {
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "it exits 0");
		ok_contains(out, "\r\033[K[0/2 done]", "the progress line starts at 0 of 2");
		ok_contains(out, "\r\033[K[1/2 done]", "then shows 1 of 2");
		ok_contains(out, "cprun: 2 of 2 hosts succeeded", "the summary follows");
		last_draw = strstr(out, "[1/2 done]");
		summary = strstr(out, "cprun: 2 of 2");
		ok(last_draw && summary && summary > last_draw && strstr(last_draw, "\r\033[K") != NULL &&
			   strstr(last_draw, "\r\033[K") < summary,
		   "the progress line is erased before the summary");
		ok_contains(out, "h1: hi", "h1's output came through");
		ok_contains(out, "h2: hi", "h2's output came through");
	}
	free(out);

	/* Without a terminal: no progress line at all. */
	if (ok(fixture_cprun(args, NULL, 0, 60, &r) == 0, "cprun ran with stderr on a pipe")) {
		ok(r.err != NULL && strstr(r.err, "done]") == NULL,
		   "no progress line when stderr is no terminal");
		ok_contains(r.err, "cprun: 2 of 2 hosts succeeded", "the summary is there");
		fixture_result_free(&r);
	}
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
