/*
 * test_fork.c — a caller that forks after cpremote_run(): the fork gets
 * its own relay, may free the handles it inherited without ending the
 * parent's child, may not wait for or signal them; the parent's
 * cpremote_free() still ends its child while a fork holds the handle's fds.
 *
 * The test hosts are sshd instances on this machine, so a remote pid is a
 * pid here: whether the remote child still runs is read from /proc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_util.h"
#include "fixture.h"
#include "lib.h"
#include "tap.h"

/* What the fork found wrong, one bit each, as its exit status. */
enum {
	F_WAIT = 1, /* cpremote_wait on an inherited handle did not return -ECHILD */
	F_KILL = 2, /* cpremote_kill on it did not return -ECHILD */
	F_INHERITED = 4, /* the parent's relay still counted as the fork's */
	F_RUN = 8, /* the fork's own cpremote_run failed */
	F_SAME = 16, /* ... or went to the parent's relay */
	F_STATUS = 32, /* ... or its child did not exit 0 */
};

/* Whether process PID exists and is not a zombie. */
static int alive(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int alive_arg(const void *pid)
{
	return alive(*(const long *)pid);
}

/* Polls until PID is gone or TIMEOUT_S passed; 1 when gone. */
static int gone_within(long pid, double timeout_s)
{
	return exec_gone_within(alive_arg, &pid, timeout_s);
}

static cpremote_child *start(const char *host, const char *const *argv)
{
	cpremote_child *c = NULL;
	int rc;

	rc = exec_start(host, argv, 0, &c);
	if (rc != 0)
		printf("#   %s: %s: %s\n", host, cpremote_strerror(rc), cpremote_errmsg());
	return c;
}

/* In the fork: what it may and may not do with its parent's child C. */
static int __attribute__((noreturn)) in_fork(cpremote_child *c, pid_t parent_relay)
{
	const char *const argv[] = { "true", NULL };
	cpremote_child *mine;
	int bad = 0, st = -1;

	if (cpremote_wait(c, &st, CPREMOTE_WNOHANG) != -ECHILD)
		bad |= F_WAIT;
	if (cpremote_kill(c, SIGTERM) != -ECHILD)
		bad |= F_KILL;
	cpremote_free(c);
	if (lib_relay_pid() != -1)
		bad |= F_INHERITED;
	if ((mine = start("h2", argv)) == NULL) {
		bad |= F_RUN;
	} else {
		if (lib_relay_pid() <= 0 || lib_relay_pid() == parent_relay)
			bad |= F_SAME;
		if (cpremote_wait(mine, &st, 0) != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad |= F_STATUS;
		cpremote_free(mine);
	}
	cpremote_shutdown();
	_exit(bad);
}

/* Waits for the fork PID; its exit status, or -1. */
static int fork_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void fork_after_run(void)
{
	const char *const argv[] = { "sleep", "100", NULL };
	cpremote_child *c;
	pid_t relay, pid;
	long rpid;
	int bad, hold[2], st = -1;

	if (!ok((c = start("h1", argv)) != NULL, "the parent's child starts"))
		return;
	rpid = cpremote_pid(c);
	relay = lib_relay_pid();
	ok(relay > 0, "the parent knows its relay's pid from the greeting");
	ok(alive(rpid), "the remote child runs (its pid is on this machine)");

	fflush(stdout);
	if ((pid = fork()) == 0)
		in_fork(c, relay);
	bad = fork_status(pid);
	ok(bad >= 0, "the fork exits");
	ok_int(bad & F_WAIT, 0, "fork: cpremote_wait on an inherited handle is -ECHILD");
	ok_int(bad & F_KILL, 0, "fork: cpremote_kill on an inherited handle is -ECHILD");
	ok_int(bad & F_INHERITED, 0, "fork: the parent's relay is not the fork's");
	ok_int(bad & F_RUN, 0, "fork: its own cpremote_run works");
	ok_int(bad & F_SAME, 0, "fork: ... through a relay of its own (another pid)");
	ok_int(bad & F_STATUS, 0, "fork: ... and its child's status arrives");

	/* The fork freed its copy: the parent's child must not have noticed. */
	usleep(300 * 1000);
	ok(alive(rpid), "parent: the child runs on after the fork freed its copy");
	ok_int(cpremote_wait(c, &st, CPREMOTE_WNOHANG), 0, "parent: cpremote_wait says it runs");
	ok_int(lib_relay_pid(), relay, "parent: its relay is the same");

	/* A fork that holds every fd of the handle, until told to go. */
	if (pipe(hold) < 0) {
		ok(0, "pipe");
		cpremote_free(c);
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		char ch;

		close(hold[1]);
		while (read(hold[0], &ch, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	cpremote_free(c);
	ok(gone_within(rpid, 10), "parent: cpremote_free ends the child while a fork holds its fds");
	close(hold[1]);
	ok_int(fork_status(pid), 0, "the holding fork exits");
}

int main(void)
{
	fixture_dir();
	fork_after_run();
	cpremote_shutdown();
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
