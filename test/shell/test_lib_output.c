/*
 * test_lib_output.c — the library's side of issue 9's "reader gone" and
 * "disk full": a child whose stdout is an fd of the caller's
 * (CPREMOTE_STDIO_FD) that stops being writable.
 *   - the fd is a pipe whose read end the caller closed: the remote
 *     writer (yes) gets SIGPIPE, as it would locally, and cpremote_wait()
 *     reports WIFSIGNALED/SIGPIPE promptly; no yes is left on the host;
 *   - the fd is /dev/full: cpremote_wait() still returns 1 with the
 *     program's own status, and cpremote_child_errmsg() names the stream
 *     and the error ("stdout", "No space left on device").
 * The hosts are on loopback: the host's process table is this machine's.
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

#include "cpremote.h"
#include "faults.h"
#include "fixture.h"
#include "tap.h"

/* Expected well under a second on loopback; a stuck relay fails here. */
#define END_S 10
/* The remote process must be gone this long after the status arrived. */
#define GONE_S 10

static char tag_entry[64];

/* Polls the exit fd up to END_S; returns as cpremote_wait, 0 when it did not end. */
static int wait_bounded(cpremote_child *c, int *status, double *took)
{
	struct pollfd p = { .fd = cpremote_exit_fd(c), .events = POLLIN };
	double t0 = fixture_now();
	int r;

	while ((r = cpremote_wait(c, status, CPREMOTE_WNOHANG)) == 0 && fixture_now() - t0 < END_S)
		poll(&p, 1, 200);
	*took = fixture_now() - t0;
	return r;
}

/* Starts FILE ARGV on h1 with stdout on FD and the test's tag in its environment. */
static cpremote_child *start(const char *const *argv, int fd)
{
	const char *env[] = { tag_entry, NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int r;

	fixture_options(&o, "h1");
	o.file = argv[0];
	o.argv = argv;
	o.env = env;
	o.stdio[1].mode = CPREMOTE_STDIO_FD;
	o.stdio[1].fd = fd;
	r = cpremote_run(&o, &c);
	if (!ok(r == 0, "cpremote_run starts the child")) {
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return c;
}

/* Waits up to GONE_S for no process named COMM with our tag; 1 when none is left. */
static int gone(const char *comm)
{
	double t0 = fixture_now();
	pid_t p;

	while ((p = fault_find_env(tag_entry, comm)) != 0 && fixture_now() - t0 < GONE_S)
		poll(NULL, 0, 100);
	if (p != 0) {
		printf("#   %s (pid %d) still runs on the host: killed\n", comm, (int)p);
		kill(p, SIGKILL);
	}
	return p == 0;
}

static void reader_gone(void)
{
	const char *argv[] = { "yes", NULL };
	cpremote_child *c;
	int p[2], r, status = -1;
	double took;

	if (pipe2(p, O_CLOEXEC) == -1) {
		perror("pipe2");
		exit(1);
	}
	c = start(argv, p[1]);
	close(p[1]);
	if (c != NULL) {
		char buf[4096];

		/* Let data flow first, as with `| head -2`, then go away. */
		ok(read(p[0], buf, sizeof(buf)) > 0, "reader gone: yes's output arrives");
	}
	close(p[0]);
	if (c == NULL)
		return;
	r = wait_bounded(c, &status, &took);
	printf("# reader gone: cpremote_wait %d after %.2f s, status 0x%x; errmsg \"%s\"\n", r, took, status,
	       cpremote_child_errmsg(c));
	ok_int(r, 1, "reader gone: cpremote_wait reports a status within the bound");
	ok(r == 1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
	   "reader gone: the remote yes died of SIGPIPE");
	ok(gone("yes"), "reader gone: no yes is left on the host");
	cpremote_free(c);
}

static void disk_full(void)
{
	const char *argv[] = { "seq", "1000000", NULL };
	cpremote_child *c;
	const char *msg;
	int fd, r, status = -1;
	double took;

	if ((fd = open("/dev/full", O_WRONLY | O_CLOEXEC)) == -1) {
		printf("ok %d - disk full # SKIP no /dev/full: %s\n", ++tap_n, strerror(errno));
		return;
	}
	c = start(argv, fd);
	close(fd);
	if (c == NULL)
		return;
	r = wait_bounded(c, &status, &took);
	msg = cpremote_child_errmsg(c);
	printf("# disk full: cpremote_wait %d after %.2f s, status 0x%x; errmsg \"%s\"\n", r, took, status,
	       msg);
	ok_int(r, 1, "disk full: cpremote_wait returns 1 with the program's own status");
	ok(strstr(msg, "stdout") != NULL, "disk full: the child's message names stdout");
	ok(strstr(msg, "No space left on device") != NULL,
	   "disk full: the child's message says No space left on device");
	ok(gone("seq"), "disk full: no seq is left on the host");
	cpremote_free(c);
}

int main(void)
{
	fixture_dir();
	/* Writing to a dead pipe is the relay's business, never this process's. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(tag_entry, sizeof(tag_entry), "CPRTAG=lib-output-%d", (int)getpid());
	reader_gone();
	disk_full();
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
