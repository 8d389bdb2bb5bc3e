/*
 * test_hostile_relay.c — the relay against a misbehaving helper.  Each
 * case runs hostile_helper (in place of cpremote-helper, through the real
 * sshd of a test host) in one way of breaking the protocol and checks that
 * cpremote_run() or cpremote_wait() ends with the right error within a
 * wide bound, that the relay neither crashed nor was restarted, that its
 * memory high-water mark stays bounded, and that the same caller can then
 * start a child with the real helper.
 *
 * Without arguments it runs the table cases[] in one process (one relay).
 * With arguments it runs the named cases of bounds[] (issue 9: credit,
 * helper stderr, the SPAWNED deadline, frames before SPAWNED, what a
 * failure message may print), each its own meson test, with the same
 * checks of the relay and a watchdog so that a hang is a reported failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "procinfo.h"
#include "tap.h"

#define HOST "h2"
/* Wide: a case normally ends in well under a second. */
#define CASE_BOUND_S 30
/* The relay's high-water mark: about 7 MiB at rest, 16 MiB after 4 MiB frames (measured). */
#define RELAY_HWM_BOUND_KIB (32 * 1024)

/* What a case must end with. */
enum outcome {
	RUN_FAILS, /* cpremote_run() returns WANT */
	WAIT_FAILS, /* cpremote_run() succeeds, cpremote_wait() returns WANT */
	WAIT_EXIT0, /* cpremote_run() succeeds, the child "exits 0" (frames after EXIT ignored) */
};

struct hcase {
	const char *mode;
	enum outcome outcome;
	int want; /* the error code for RUN_FAILS and WAIT_FAILS */
	const char *stdout_want; /* NULL: not checked */
	size_t stdout_max; /* bytes the caller may receive at most */
};

static const struct hcase cases[] = {
	{ "garbage", RUN_FAILS, CPREMOTE_EPROTO, NULL, 0 },
	{ "truncated", RUN_FAILS, CPREMOTE_ECONNLOST, NULL, 0 },
	{ "huge", RUN_FAILS, CPREMOTE_EPROTO, NULL, 0 },
	{ "big_spawns", RUN_FAILS, CPREMOTE_ECONNLOST, NULL, 0 },
	{ "noise", RUN_FAILS, CPREMOTE_EHELPER, NULL, 0 },
	{ "bad_version", RUN_FAILS, CPREMOTE_EHELPER, NULL, 0 },
	{ "unknown_ids", WAIT_FAILS, CPREMOTE_ECONNLOST, "ok", 2 },
	{ "malformed", WAIT_FAILS, CPREMOTE_ECONNLOST, "", 0 },
	/* The helper sends 8 MiB it had no credit for: the window and a pipe's worth at most get through. */
	{ "overcredit", WAIT_FAILS, CPREMOTE_ECONNLOST, NULL, 256 * 1024 + 1024 * 1024 },
	{ "after_exit", WAIT_EXIT0, 0, "", 0 },
};

/* Reads FD (non-blocking) into BUF up to CAP; returns the new length. */
static size_t take(int fd, char *buf, size_t len, size_t cap, size_t *total)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t k = (size_t)n < cap - len ? (size_t)n : cap - len;

		memcpy(buf + len, chunk, k);
		len += k;
		*total += (size_t)n;
	}
	return len;
}

/*
 * Waits (polling the exit fd) up to CASE_BOUND_S for the child's end;
 * returns cpremote_wait()'s result, or 0 when it did not end in time.
 * Stdout is read only after the end, so that the relay is left with a
 * reader that does not read (the case overcredit needs that).
 */
static int wait_bounded(cpremote_child *c, int *status)
{
	struct pollfd p = { .fd = cpremote_exit_fd(c), .events = POLLIN };
	double end = fixture_now() + CASE_BOUND_S;
	int r;

	while ((r = cpremote_wait(c, status, CPREMOTE_WNOHANG)) == 0 && fixture_now() < end)
		poll(&p, 1, 200);
	return r;
}

/*
 * What every case asserts after its outcome: it was over within BOUND_S
 * (TOOK seconds), the relay is the same live process as before (*RELAY,
 * found on the first call), and its memory high-water mark is bounded.
 */
static void relay_checks(const char *mode, double took, int bound_s, pid_t *relay)
{
	char what[160];
	long hwm;

	snprintf(what, sizeof(what), "%s: over within %d s", mode, bound_s);
	ok(took < bound_s, what);

	if (*relay <= 0)
		*relay = procinfo_find_relay();
	snprintf(what, sizeof(what), "%s: the relay is still the same, alive process", mode);
	ok(*relay > 0 && procinfo_alive(*relay) && procinfo_find_relay() == *relay, what);
	hwm = procinfo_vm_kib(*relay, "VmHWM");
	printf("# %s: %.2f s, relay VmHWM %ld KiB\n", mode, took, hwm);
	snprintf(what, sizeof(what), "%s: relay VmHWM under %d KiB", mode, RELAY_HWM_BOUND_KIB);
	if (procinfo_hwm_unmeasurable() != NULL)
		printf("ok %d - %s # SKIP %s\n", ++tap_n, what, procinfo_hwm_unmeasurable());
	else
		ok(hwm > 0 && hwm < RELAY_HWM_BOUND_KIB, what);
}

static void run_case(const struct hcase *hc, const char *hostile, pid_t *relay)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	static char out[4096];
	char what[160];
	size_t out_len = 0, out_total = 0;
	double t0 = fixture_now(), took;
	int r, status = -1;

	fixture_options(&o, HOST);
	o.helper = hostile;
	o.file = hc->mode;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	r = cpremote_run(&o, &c);
	if (hc->outcome == RUN_FAILS) {
		snprintf(what, sizeof(what), "%s: cpremote_run fails with %s", hc->mode,
			 cpremote_strerror(hc->want));
		ok_int(r, hc->want, what);
		if (r != hc->want)
			printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
	} else {
		snprintf(what, sizeof(what), "%s: cpremote_run succeeds", hc->mode);
		ok_int(r, 0, what);
		if (r != 0) {
			printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		} else {
			int fd = cpremote_stdio_fd(c, 1);

			/*
			 * Stdout is read only after the end, so that the relay is left
			 * with a reader that does not read (the case overcredit needs that).
			 */
			r = fixture_wait_child(c, &status, CASE_BOUND_S);
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			out_len = take(fd, out, out_len, sizeof(out) - 1, &out_total);
			out[out_len] = '\0';
			if (hc->outcome == WAIT_FAILS) {
				snprintf(what, sizeof(what), "%s: cpremote_wait returns %s", hc->mode,
					 cpremote_strerror(hc->want));
				ok_int(r, hc->want, what);
			} else {
				snprintf(what, sizeof(what), "%s: cpremote_wait reports exit 0", hc->mode);
				ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
				if (r != 1)
					printf("#   cpremote_wait: %d (%s)\n", r, cpremote_strerror(r));
			}
			if (hc->stdout_want) {
				snprintf(what, sizeof(what), "%s: stdout", hc->mode);
				ok_str(out, hc->stdout_want, what);
			}
			snprintf(what, sizeof(what), "%s: at most %zu bytes reach the caller", hc->mode,
				 hc->stdout_max);
			ok(out_total <= hc->stdout_max, what);
			printf("# %s: %zu bytes of stdout reached the caller\n", hc->mode, out_total);
		}
	}
	cpremote_free(c);
	took = fixture_now() - t0;
	relay_checks(hc->mode, took, CASE_BOUND_S, relay);
}

/* The real helper on the same host still works from this caller. */
static void spawn_again(const char *after)
{
	const char *argv[] = { "echo", "again", NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char buf[64] = "", what[160];
	ssize_t n;
	int r, status = -1;

	fixture_options(&o, HOST);
	o.file = "echo";
	o.argv = argv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	r = cpremote_run(&o, &c);
	if (r == 0) {
		n = read(cpremote_stdio_fd(c, 1), buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		r = fixture_wait_child(c, &status, CASE_BOUND_S);
	} else {
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
	}
	snprintf(what, sizeof(what), "after %s: a child with the real helper runs", after);
	ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(buf, "again\n") == 0, what);
	cpremote_free(c);
}

/*
 * Issue 9's bounds, each run as its own test (its name as the argument),
 * so that a relay that hangs on one fails that one only.
 */
enum bounds_outcome {
	B_RUN_FAILS, /* cpremote_run() fails with want or want2 (0: any code) */
	B_EXIT0, /* the child exits 0 */
	B_FLOOD_CHANNEL, /* the caller writes BIG_CHANNEL_BYTES into the channel */
	B_FLOOD_SIGNALS, /* the caller sends signals until the child ends with want */
};

struct bcase {
	const char *mode;
	enum bounds_outcome outcome;
	int want, want2;
	int bound_s;
	int connect_timeout; /* -o ConnectTimeout=N when not 0: the handshake deadline */
	const char *msg_has[3]; /* the failure message must contain these */
	int msg_plain; /* the failure message has no control byte */
	unsigned flags; /* added to the spawn's flags */
};

#define BIG_CHANNEL_BYTES (256u * 1024 * 1024)

static const struct bcase bounds[] = {
	{ .mode = "bigcredit", .outcome = B_FLOOD_CHANNEL, .bound_s = CASE_BOUND_S },
	{ .mode = "stderrflood", .outcome = B_EXIT0, .bound_s = CASE_BOUND_S },
	/* The helper reads nothing: the relay's queue to it must hit its cap before the helper's 10 s are up. */
	{ .mode = "stall", .outcome = B_FLOOD_SIGNALS, .want = CPREMOTE_EPROTO, .bound_s = 8 },
	{ .mode = "noconfirm",
	  .outcome = B_RUN_FAILS,
	  .want = CPREMOTE_ESPAWN,
	  .want2 = CPREMOTE_EPROTO,
	  .bound_s = 15,
	  .connect_timeout = 3,
	  .msg_has = { "confirm" } },
	{ .mode = "exitfirst", .outcome = B_RUN_FAILS, .want = CPREMOTE_EPROTO, .bound_s = CASE_BOUND_S },
	{ .mode = "datafirst", .outcome = B_RUN_FAILS, .want = CPREMOTE_EPROTO, .bound_s = CASE_BOUND_S },
	{ .mode = "escapes",
	  .outcome = B_RUN_FAILS,
	  .bound_s = CASE_BOUND_S,
	  .msg_has = { "bad", "\\033]0;pwned\\007\\033[2Jbad" },
	  .msg_plain = 1 },
	{ .mode = "emptyerror",
	  .outcome = B_RUN_FAILS,
	  .bound_s = CASE_BOUND_S,
	  .msg_has = { "cannot start" } },
	/* A helper without CPR_CAP_TTY would run the program on pipes: refused, not run so. */
	{ .mode = "notty",
	  .outcome = B_RUN_FAILS,
	  .want = CPREMOTE_EHELPER,
	  .bound_s = CASE_BOUND_S,
	  .msg_has = { "makes no terminals" },
	  .flags = CPREMOTE_TTY },
};

/* Whether S holds a byte below 0x20 (a terminal control character). */
static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			return 1;
	return 0;
}

/* The checks of a failure message: what it must contain, and not. */
static void check_msg(const struct bcase *bc, const char *msg)
{
	char what[200];
	int i;

	printf("# %s: message: ", bc->mode);
	for (i = 0; msg[i] != '\0'; i++) {
		if ((unsigned char)msg[i] < 0x20)
			printf("<%02x>", (unsigned)(unsigned char)msg[i]);
		else
			putchar(msg[i]);
	}
	printf("\n");
	for (i = 0; i < 3 && bc->msg_has[i] != NULL; i++) {
		snprintf(what, sizeof(what), "%s: the message contains \"%s\"", bc->mode, bc->msg_has[i]);
		ok(strstr(msg, bc->msg_has[i]) != NULL, what);
	}
	if (bc->msg_plain) {
		snprintf(what, sizeof(what), "%s: the message has no control byte (ESC, BEL, ...)", bc->mode);
		ok(!has_control(msg), what);
	}
	if (strcmp(bc->mode, "emptyerror") == 0) {
		snprintf(what, sizeof(what), "%s: the message does not say \"Success\"", bc->mode);
		ok(strstr(msg, "Success") == NULL, what);
	}
}

/*
 * Writes up to BIG_CHANNEL_BYTES into C's channel (never blocking) until
 * the child ends or BOUND_S pass; returns cpremote_wait()'s result, 0 when
 * it did not end.  A write that fails (the child's end) stops the writing.
 */
static int flood_channel(cpremote_child *c, int bound_s, size_t *sent)
{
	static char chunk[1024 * 1024];
	int fd = cpremote_channel_fd(c), r, status, writing = 1;
	double end = fixture_now() + bound_s;

	memset(chunk, 'c', sizeof(chunk));
	*sent = 0;
	while ((r = cpremote_wait(c, &status, CPREMOTE_WNOHANG)) == 0 && fixture_now() < end) {
		struct pollfd p[2] = { { .fd = cpremote_exit_fd(c), .events = POLLIN },
				       { .fd = fd, .events = POLLOUT } };
		size_t n = BIG_CHANNEL_BYTES - *sent < sizeof(chunk) ? BIG_CHANNEL_BYTES - *sent
								     : sizeof(chunk);
		ssize_t w;

		writing = writing && n > 0;
		poll(p, writing ? 2 : 1, 200);
		if (!writing || p[1].revents == 0)
			continue;
		w = send(fd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			*sent += (size_t)w;
		else if (w == -1 && errno != EAGAIN && errno != EINTR)
			writing = 0;
	}
	return r;
}

/*
 * Sends SIGCONT to C (each a small frame the relay queues for the helper)
 * until the child ends or BOUND_S pass; returns cpremote_wait()'s result,
 * 0 when it did not end.
 */
static int flood_signals(cpremote_child *c, int bound_s, long *sent)
{
	double end = fixture_now() + bound_s;
	int r, status;

	*sent = 0;
	while ((r = cpremote_wait(c, &status, CPREMOTE_WNOHANG)) == 0 && fixture_now() < end) {
		for (int i = 0; i < 1000; i++)
			if (cpremote_kill(c, SIGCONT) == 0)
				++*sent;
	}
	return r;
}

static void run_bounds_case(const struct bcase *bc, const char *hostile, pid_t *relay)
{
	const char *ssh_opts[2] = { NULL, NULL };
	char what[160], timeout_opt[64];
	struct cpremote_options o;
	cpremote_child *c = NULL;
	double t0 = fixture_now();
	int r, status = -1;
	size_t sent = 0;

	fixture_options(&o, HOST);
	o.helper = hostile;
	o.file = bc->mode;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.flags |= bc->flags;
	if (bc->connect_timeout > 0) {
		snprintf(timeout_opt, sizeof(timeout_opt), "ConnectTimeout=%d", bc->connect_timeout);
		ssh_opts[0] = timeout_opt;
		o.ssh_options = ssh_opts;
	}
	r = cpremote_run(&o, &c);
	printf("# %s: cpremote_run %d (%s) after %.2f s\n", bc->mode, r, cpremote_strerror(r),
	       fixture_now() - t0);
	if (bc->outcome == B_RUN_FAILS) {
		snprintf(what, sizeof(what), "%s: cpremote_run fails with %s%s%s", bc->mode,
			 bc->want ? cpremote_strerror(bc->want) : "an error", bc->want2 ? " or " : "",
			 bc->want2 ? cpremote_strerror(bc->want2) : "");
		ok(bc->want ? r == bc->want || (bc->want2 && r == bc->want2) : r < 0, what);
		check_msg(bc, r < 0 ? cpremote_errmsg() : "");
	} else {
		snprintf(what, sizeof(what), "%s: cpremote_run succeeds", bc->mode);
		if (ok(r == 0, what) && bc->outcome == B_EXIT0) {
			r = wait_bounded(c, &status);
			snprintf(what, sizeof(what), "%s: cpremote_wait reports exit 0", bc->mode);
			ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
			printf("#   cpremote_wait: %d (%s) %s\n", r, r < 0 ? cpremote_strerror(r) : "",
			       cpremote_child_errmsg(c));
		} else if (r == 0 && bc->outcome == B_FLOOD_SIGNALS) {
			long sigs = 0;

			r = flood_signals(c, bc->bound_s, &sigs);
			printf("# %s: %ld signals sent; cpremote_wait %d (%s) %s\n", bc->mode, sigs, r,
			       r < 0 ? cpremote_strerror(r) : "", cpremote_child_errmsg(c));
			snprintf(what, sizeof(what), "%s: the child fails with %s while the helper stalls",
				 bc->mode, cpremote_strerror(bc->want));
			ok_int(r, bc->want, what);
		} else if (r == 0) {
			r = flood_channel(c, bc->bound_s, &sent);
			printf("# %s: the caller got %zu bytes into the channel; cpremote_wait %d (%s) %s\n",
			       bc->mode, sent, r, r < 0 ? cpremote_strerror(r) : "",
			       cpremote_child_errmsg(c));
			/* Blocked, then lost with the helper, or failed: either is right. */
			snprintf(what, sizeof(what), "%s: the child ends once the helper is gone", bc->mode);
			ok(r != 0, what);
		} else {
			printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		}
	}
	cpremote_free(c);
	relay_checks(bc->mode, fixture_now() - t0, bc->bound_s, relay);
}

/* What SIGALRM prints: set before each case (the handler may call no snprintf). */
static char watchdog_msg[160];

/* SIGALRM: a case that hangs is reported as such, not left to the harness. */
static void on_alarm(int sig)
{
	(void)sig;
	if (write(1, watchdog_msg, strlen(watchdog_msg)) < 0)
		_exit(3);
	_exit(1);
}

/* Runs the bounds cases named in ARGV; 0 when all passed. */
static int run_bounds(char **names, const char *hostile)
{
	pid_t relay = -1;
	size_t i;
	int n;

	signal(SIGALRM, on_alarm);
	for (n = 0; names[n] != NULL; n++) {
		for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
			if (strcmp(bounds[i].mode, names[n]) == 0)
				break;
		if (i == sizeof(bounds) / sizeof(bounds[0])) {
			printf("Bail out! no case named %s\n", names[n]);
			return 1;
		}
		snprintf(watchdog_msg, sizeof(watchdog_msg), "not ok - %s: still runs after %d s: it hangs\n",
			 bounds[i].mode, bounds[i].bound_s * 2 + 30);
		fflush(stdout);
		alarm((unsigned)bounds[i].bound_s * 2 + 30);
		run_bounds_case(&bounds[i], hostile, &relay);
		spawn_again(bounds[i].mode);
		alarm(0);
	}
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}

/*
 * Without arguments: every case of the table above, in one relay.  With
 * arguments: those of issue 9's bounds (bounds[]) named, in order.
 */
int main(int argc, char **argv)
{
	char *hostile;
	pid_t relay = -1;
	size_t i;
	int failed_before;

	fixture_dir();
	hostile = fixture_prog("hostile/hostile_helper");
	procinfo_tag_self();
	if (argc > 1) {
		int rc = run_bounds(argv + 1, hostile);

		free(hostile);
		return rc;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		failed_before = tap_failed;
		run_case(&cases[i], hostile, &relay);
		spawn_again(cases[i].mode);
		if (tap_failed != failed_before)
			fixture_dump_logs();
	}
	free(hostile);
	return tap_done();
}
