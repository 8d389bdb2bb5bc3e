/*
 * test_hostile_relay.c — the relay against a misbehaving helper.  Each
 * case runs hostile_helper (in place of cpremote-helper, through the real
 * sshd of a test host) in one way of breaking the protocol and checks that
 * cpremote_run() or cpremote_wait() ends with the right error within a
 * wide bound, that the relay neither crashed nor was restarted, that its
 * memory high-water mark stays bounded, and that the same caller can then
 * start a child with the real helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void run_case(const struct hcase *hc, const char *hostile, pid_t *relay)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	static char out[4096];
	char what[160];
	size_t out_len = 0, out_total = 0;
	double t0 = fixture_now(), took;
	int r, status = -1;
	long hwm;

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
	snprintf(what, sizeof(what), "%s: over within %d s", hc->mode, CASE_BOUND_S);
	ok(took < CASE_BOUND_S, what);

	if (*relay <= 0)
		*relay = procinfo_find_relay();
	snprintf(what, sizeof(what), "%s: the relay is still the same, alive process", hc->mode);
	ok(*relay > 0 && procinfo_alive(*relay) && procinfo_find_relay() == *relay, what);
	hwm = procinfo_vm_kib(*relay, "VmHWM");
	printf("# %s: %.2f s, relay VmHWM %ld KiB\n", hc->mode, took, hwm);
	snprintf(what, sizeof(what), "%s: relay VmHWM under %d KiB", hc->mode, RELAY_HWM_BOUND_KIB);
	if (procinfo_hwm_unmeasurable() != NULL)
		printf("ok %d - %s # SKIP %s\n", ++tap_n, what, procinfo_hwm_unmeasurable());
	else
		ok(hwm > 0 && hwm < RELAY_HWM_BOUND_KIB, what);
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

int main(void)
{
	char *hostile;
	pid_t relay = -1;
	size_t i;
	int failed_before;

	fixture_dir();
	hostile = fixture_prog("hostile/hostile_helper");
	procinfo_tag_self();
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
