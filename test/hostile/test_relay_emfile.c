/*
 * test_relay_emfile.c — the relay out of file descriptors (issue 9).  The
 * relay's RLIMIT_NOFILE is lowered (prlimit on the relay found by
 * procinfo) to what it has open plus the fds of one spawn request, so that
 * the request is taken but the new connection it needs finds no fd.  The
 * failure must say that the relay is out of file descriptors, not blame
 * the host key or the options.  Then, on a running connection, a limit
 * that leaves no room even for the request's own fds: it must be answered
 * with the same clear message; the relay must stay up, and once the limit
 * is raised again, the next spawn works.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "procinfo.h"
#include "tap.h"

#define MAX_KIDS 64

/* How many fds PID has open; -1 when unreadable. */
static int open_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/*
 * How many fds PID has open once that number stays put for half a second
 * (a child that just ended is freed from the relay's loop a moment later).
 */
static int settled_fds(pid_t pid)
{
	int last = open_fds(pid), now;

	for (int i = 0; i < 50; i++) {
		usleep(500 * 1000);
		if ((now = open_fds(pid)) == last)
			break;
		last = now;
	}
	return last;
}

/* Starts `sleep 30` on HOST (EXTRA an ssh option, or NULL); returns cpremote_run()'s result. */
static int start_sleep(const char *host, const char *extra, cpremote_child **c)
{
	const char *argv[] = { "sleep", "30", NULL }, *opts[2] = { extra, NULL };
	struct cpremote_options o;

	fixture_options(&o, host);
	o.file = "sleep";
	o.argv = argv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	if (extra)
		o.ssh_options = opts;
	return cpremote_run(&o, c);
}

/* Whether MSG says the relay ran out of file descriptors. */
static int says_out_of_fds(const char *msg)
{
	return strstr(msg, "too many open files") || strstr(msg, "Too many open files") ||
	       strstr(msg, "out of file descriptors");
}

static int run_echo(const char *host)
{
	const char *argv[] = { "true", NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int r, status = -1;

	fixture_options(&o, host);
	o.file = "true";
	o.argv = argv;
	r = cpremote_run(&o, &c);
	if (r == 0)
		r = fixture_wait_child(c, &status, 30);
	else
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
	cpremote_free(c);
	return r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Spawns on HOST (a new connection when EXTRA is set) until a spawn fails,
 * with the relay's fds limited to what it has open plus SLACK.  Checks the
 * failure's message; frees the children and restores the limit.
 */
static void exhaust(pid_t relay, const char *host, const char *extra, int slack, const char *what)
{
	cpremote_child *kids[MAX_KIDS] = { NULL };
	struct rlimit old, low;
	char name[200], msg[1024] = "";
	int n, r = 0, fds = settled_fds(relay);

	ok(prlimit(relay, RLIMIT_NOFILE, NULL, &old) == 0 && fds > 0, "the relay's fd limit is read");
	low = (struct rlimit){ .rlim_cur = (rlim_t)(fds + slack), .rlim_max = old.rlim_max };
	ok(prlimit(relay, RLIMIT_NOFILE, &low, NULL) == 0, "the relay's fd limit is lowered");
	for (n = 0; n < MAX_KIDS; n++) {
		r = start_sleep(host, extra, &kids[n]);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%s", cpremote_errmsg());
			break;
		}
	}
	printf("# %s: %d children started, then %d (%s): %s\n", what, n, r, cpremote_strerror(r), msg);
	snprintf(name, sizeof(name), "%s: a spawn fails once the relay is out of fds", what);
	ok(r < 0, name);
	snprintf(name, sizeof(name), "%s: the message says the relay is out of file descriptors", what);
	ok(says_out_of_fds(msg), name);
	snprintf(name, sizeof(name), "%s: the message does not blame the host key", what);
	ok(strstr(msg, "host key") == NULL && strstr(msg, "not known") == NULL, name);
	for (int i = 0; i < n; i++)
		cpremote_free(kids[i]);
	prlimit(relay, RLIMIT_NOFILE, &old, NULL);
	snprintf(name, sizeof(name), "%s: the relay is still the same, alive process", what);
	ok(procinfo_alive(relay) && procinfo_find_relay() == relay, name);
}

int main(void)
{
	pid_t relay;

	fixture_dir();
	procinfo_tag_self();
	ok(run_echo("h2"), "a first child runs (the relay and its connection are up)");
	relay = procinfo_find_relay();
	if (!ok(relay > 0, "the relay is found"))
		return tap_done();

	/*
	 * A new connection: the request's 3 fds (status, channel, stdout) are
	 * taken, then the socket and the ssh_config files find none.
	 */
	exhaust(relay, "h3", NULL, 3, "new connection");
	ok(run_echo("h3"), "after the new connection's failure: a child on h3 runs");
	/*
	 * The request itself: with no fd to spare, the relay must still take
	 * the request whole and answer it (not drop it, which the caller sees
	 * only as a broken pipe: "the relay did not take the request").
	 */
	exhaust(relay, "h2", NULL, 0, "request on a running connection");
	ok(run_echo("h2"), "after the request's refusal: a child on h2 runs");
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
