/*
 * test_relay.c — the library and its relay: the greeting is checked (a
 * program that is no relay, or a relay of another control version, is a
 * prompt CPREMOTE_ERELAY naming both versions), and the build tree's
 * cprun finds its own relay without CPREMOTE_RELAY.
 *
 * The programs that answer in place of the relay are this test itself,
 * re-run by the library as CPREMOTE_RELAY with FAKE_RELAY set.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control_hello.h"
#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/* A start that fails at the greeting must not wait for the network or a timeout. */
#define PROMPT_S 3.0

/*
 * In place of the relay (argv: cpremote-relay --control-fd N): FAKE_RELAY
 * says how to misbehave.  Exits when done; "silent" holds the socket open.
 */
static int fake_relay(const char *mode, int argc, char **argv)
{
	uint8_t hello[CPR_CTL_HELLO_LEN];
	int fd = argc == 3 ? atoi(argv[2]) : -1;

	if (fd < 0)
		return 2;
	if (strcmp(mode, "version") == 0) {
		cpr_ctl_hello_encode(hello, 99, (uint32_t)getpid());
		(void)send(fd, hello, sizeof(hello), MSG_NOSIGNAL);
	} else if (strcmp(mode, "garbage") == 0) {
		(void)send(fd, "HTTP/1.0 200 OK\r\n", 17, MSG_NOSIGNAL);
	} else if (strcmp(mode, "silent") == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* Held open and never written: only the library's deadline ends the wait (then EOF here). */
		(void)poll(&p, 1, 30000);
	}
	/* "exit": ends at once without a word. */
	return 0;
}

/* Starts `true` on h1 through the fake relay MODE: ERELAY within BOUND_S, message containing WANT. */
static void fails_with(const char *self, const char *mode, const char *want, double bound_s)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char msg[160];
	double t0;
	int rc;

	setenv("CPREMOTE_RELAY", self, 1);
	setenv("FAKE_RELAY", mode, 1);
	/* A new relay for each case: the next run starts one. */
	cpremote_shutdown();
	fixture_options(&o, "h1");
	o.file = "true";
	t0 = fixture_now();
	rc = cpremote_run(&o, &c);
	snprintf(msg, sizeof(msg), "greeting %s: cpremote_run fails with CPREMOTE_ERELAY", mode);
	ok_int(rc, CPREMOTE_ERELAY, msg);
	snprintf(msg, sizeof(msg), "greeting %s: the message says what is wrong", mode);
	ok_contains(cpremote_errmsg(), want, msg);
	snprintf(msg, sizeof(msg), "greeting %s: the message names the program", mode);
	ok_contains(cpremote_errmsg(), self, msg);
	snprintf(msg, sizeof(msg), "greeting %s: it fails within %.0f s", mode, bound_s);
	ok(fixture_now() - t0 < bound_s, msg);
	cpremote_free(c);
	unsetenv("FAKE_RELAY");
}

static void greeting(const char *self, const char *relay)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int status = -1;

	fails_with(self, "version", "speaks control version 99, this library 1", PROMPT_S);
	fails_with(self, "garbage", "is not a cpremote relay", PROMPT_S);
	fails_with(self, "exit", "ended before its greeting", PROMPT_S);
	fails_with(self, "silent", "sent no greeting within 10 s", 10.0 + PROMPT_S);

	/* The real relay greets as the library expects. */
	setenv("CPREMOTE_RELAY", relay, 1);
	cpremote_shutdown();
	fixture_options(&o, "h1");
	o.file = "true";
	ok_int(cpremote_run(&o, &c), 0, "greeting: the real relay is accepted");
	ok_int(cpremote_wait(c, &status, 0), 1, "greeting: ... and its child's status arrives");
	ok_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "greeting: ... exit 0");
	cpremote_free(c);
	cpremote_shutdown();
}

/* cprun through the fake relay: exit 255 and the library's message. */
static void cprun_version(const char *self)
{
	const char *args[] = { "h1", "true", NULL };
	struct fixture_result r;

	setenv("CPREMOTE_RELAY", self, 1);
	setenv("FAKE_RELAY", "version", 1);
	ok_int(fixture_cprun(args, NULL, 0, 30, &r), 0, "cprun, relay of another version: it runs");
	ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 255,
	       "cprun, relay of another version: exit 255");
	ok_contains(r.err, "speaks control version 99, this library 1",
		    "cprun, relay of another version: says so");
	fixture_result_free(&r);
	unsetenv("FAKE_RELAY");
}

/* The build tree's cprun, CPREMOTE_RELAY unset: the relay beside its library is found. */
static void cprun_finds_relay(void)
{
	const char *args[] = { "h1", "sh", "-c", "echo found", NULL };
	struct fixture_result r;

	unsetenv("CPREMOTE_RELAY");
	ok_int(fixture_cprun(args, NULL, 0, 60, &r), 0, "cprun without CPREMOTE_RELAY: it runs");
	ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 0, "cprun without CPREMOTE_RELAY: exit 0");
	ok_str(r.out, "found\n", "cprun without CPREMOTE_RELAY: the program ran");
	if (r.err_len > 0)
		printf("#   stderr: %s", r.err);
	fixture_result_free(&r);
}

int main(int argc, char **argv)
{
	const char *mode = getenv("FAKE_RELAY");
	char *self, *relay;

	if (mode != NULL)
		return fake_relay(mode, argc, argv);
	fixture_dir();
	self = fixture_prog("exec/test_relay");
	relay = getenv("CPREMOTE_RELAY") ? strdup(getenv("CPREMOTE_RELAY")) : NULL;
	if (!ok(relay != NULL, "CPREMOTE_RELAY names the built relay"))
		return tap_done();
	greeting(self, relay);
	cprun_version(self);
	cprun_finds_relay();
	if (tap_failed)
		fixture_dump_logs();
	free(self);
	free(relay);
	return tap_done();
}
