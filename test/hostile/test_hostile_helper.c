/*
 * test_hostile_helper.c — the real cpremote-helper against a misbehaving
 * relay.  The helper runs here as a subprocess over two pipes (as sshd
 * would run it; helper_driver.h) and gets garbage, a header announcing a
 * huge length, a frame cut short by EOF, DATA beyond its credit, noise
 * instead of a hello, a SPAWN of 4 MiB of junk, and frames for unknown or
 * finished children or after a stream's EOF.  A protocol violation must end it
 * cleanly (an exit, not a signal) within a bound, with its children gone;
 * frames it may ignore must leave it working.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_driver.h"
#include "procinfo.h"
#include "proto.h"
#include "tap.h"

/* The helper's grace between SIGTERM and SIGKILL, short for the test. */
#define GRACE_MS "300"
#define END_BOUND_MS 5000

/* Spawns ARGV (stdio: stdin piped when STDIN_PIPE, stdout piped) as child ID. */
static int put_spawn(struct hd *h, uint32_t id, const char *const *argv, int stdin_pipe)
{
	struct hd_spawn a = { .file = argv[0], .argv = argv, .stdio = { (uint8_t)stdin_pipe, 1, 0 } };

	return hd_send_spawn(h, id, &a);
}

/*
 * Reads frames until one of TYPE for ID comes (its u32 payload in *v) or
 * TIMEOUT_MS pass; collects ID's stdout into OUT when not NULL.  1 found,
 * 0 not.  Every DATA is credited back, as a relay would.
 */
static int expect(struct hd *h, uint32_t id, uint8_t type, uint32_t *v, struct cpr_buf *out, int timeout_ms)
{
	static uint8_t p[CPR_MAX_DATA];
	long end = hd_now_ms() + timeout_ms;
	struct cpr_header f;

	while (hd_next_frame(h, (int)(end - hd_now_ms()), &f, p) == 1) {
		int hit = f.child == id && f.type == type;

		if (hit && v != NULL && f.length >= 4)
			*v = cpr_get_u32(p);
		if (f.type == CPR_DATA && f.child == id && out != NULL && f.stream == CPR_STDOUT)
			cpr_buf_append(out, p, f.length);
		if (f.type == CPR_DATA)
			hd_send_u32(h, CPR_CREDIT, f.stream, f.child, f.length);
		if (hit)
			return 1;
	}
	return 0;
}

/* Starts a helper, says hello and starts "sleep 100" as child 1; its pid or -1. */
static pid_t with_sleeper(struct hd *h, int stdin_pipe)
{
	static const char *const slp[] = { "sleep", "100", NULL };
	uint32_t pid = 0;

	if (hd_start(h, GRACE_MS) < 0 || hd_hello(h) < 0 || put_spawn(h, 1, slp, stdin_pipe) < 0 ||
	    !expect(h, 1, CPR_SPAWNED, &pid, NULL, 5000))
		return -1;
	return (pid_t)pid;
}

/* The helper ended by itself, cleanly, and its child is gone. */
static void check_ended(const char *what, int st, pid_t child)
{
	char msg[200];
	long end = hd_now_ms() + 2000;

	snprintf(msg, sizeof(msg), "%s: the helper exits (not killed by a signal) within %d ms", what,
		 END_BOUND_MS);
	ok(st != -1 && WIFEXITED(st), msg);
	if (st != -1 && !WIFEXITED(st))
		printf("#   wait status 0x%x\n", st);
	/* A child killed by the helper may be reaped by init a moment later. */
	while (procinfo_alive(child) && hd_now_ms() < end)
		usleep(10000);
	snprintf(msg, sizeof(msg), "%s: its child is gone", what);
	ok(child > 0 && !procinfo_alive(child), msg);
}

/* A frame that breaks the protocol, sent while a child runs: the link ends. */
static void violation(const char *what, const void *bytes, size_t n, int then_close)
{
	struct hd h;
	pid_t child = with_sleeper(&h, 0);

	if (child < 0) {
		ok(0, "helper started with a child");
		hd_end(&h, END_BOUND_MS);
		return;
	}
	hd_send(&h, bytes, n);
	if (then_close)
		hd_close_input(&h);
	check_ended(what, hd_end(&h, END_BOUND_MS), child);
}

static void test_violations(void)
{
	struct cpr_header hd = { .type = CPR_DATA, .stream = CPR_CHANNEL, .child = 1, .length = 0xffffff00u };
	uint8_t hdr[CPR_HEADER_LEN];
	static uint8_t big[4 * CPR_WINDOW];
	struct hd h;
	pid_t child;
	uint32_t off;

	violation("garbage", "\xff\xfe\xfd garbage instead of a frame", 28, 0);
	cpr_header_encode(hdr, &hd);
	violation("a header announcing 4 GiB", hdr, sizeof(hdr), 0);
	hd.length = 100;
	cpr_header_encode(hdr, &hd);
	violation("half a header, then EOF", hdr, 6, 1);
	violation("a header without its payload, then EOF", hdr, sizeof(hdr), 1);

	/* Four times the window of stdin for a child that never reads it (its pipe takes 64 KiB). */
	child = with_sleeper(&h, 1);
	for (off = 0; off < sizeof(big); off += CPR_MAX_DATA)
		if (hd_send_frame(&h, CPR_DATA, CPR_STDIN, 1, big + off, CPR_MAX_DATA) < 0)
			break;
	check_ended("DATA beyond the credit", hd_end(&h, END_BOUND_MS), child);
}

static void test_no_hello(void)
{
	struct hd h;
	static char noise[256 * 1024];
	long t0 = hd_now_ms();
	int st;

	memset(noise, 'n', sizeof(noise));
	if (hd_start(&h, GRACE_MS) < 0) {
		ok(0, "helper started");
		return;
	}
	/* The helper reads only its hello's 16 bytes' worth before it gives up: the rest may not fit. */
	fcntl(h.to, F_SETFL, O_NONBLOCK);
	(void)!write(h.to, noise, sizeof(noise));
	st = hd_end(&h, END_BOUND_MS);
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
	   "noise instead of a hello: the helper exits with an error");
	printf("# noise: ended after %ld ms\n", hd_now_ms() - t0);
}

static void test_ignored(void)
{
	static const char *const echo[] = { "echo", "still", "here", NULL };
	static const char *const cat[] = { "cat", NULL };
	static const char *const tru[] = { "true", NULL };
	static uint8_t junk[CPR_MAX_SPAWN];
	struct cpr_buf out = { 0 };
	struct hd h;
	pid_t child = with_sleeper(&h, 0);
	uint32_t v = 0, ids[] = { 0, 999, 0xffffffffu };
	size_t i;
	int got;

	if (child < 0) {
		ok(0, "helper started with a child");
		hd_end(&h, END_BOUND_MS);
		return;
	}
	/* Frames for children that never were. */
	for (i = 0; i < 3; i++) {
		hd_send_frame(&h, CPR_DATA, CPR_CHANNEL, ids[i], "x", 1);
		hd_send_frame(&h, CPR_DATA, CPR_STDIN, ids[i], "x", 1);
		hd_send_frame(&h, CPR_EOF, CPR_STDIN, ids[i], NULL, 0);
		hd_send_u32(&h, CPR_CREDIT, CPR_STDOUT, ids[i], 1u << 30);
		hd_send_u32(&h, CPR_SIGNAL, 0, ids[i], 9);
	}
	/* Frames that travel the other way, and payloads of the wrong size, for a live child. */
	hd_send_u32(&h, CPR_SPAWNED, 0, 1, 1);
	hd_send_u32(&h, CPR_EXIT, 0, 1, 0);
	hd_send_frame(&h, CPR_SIGNAL, 0, 1, "\x09", 1);
	hd_send_frame(&h, CPR_CREDIT, CPR_STDOUT, 1, "\x01\x02", 2);
	/* A SPAWN of 4 MiB of junk: an ERROR for it, nothing more. */
	memset(junk, 0xff, sizeof(junk));
	hd_send_frame(&h, CPR_SPAWN, 0, 5, junk, sizeof(junk));
	ok(expect(&h, 5, CPR_ERROR, NULL, NULL, 5000), "a SPAWN of 4 MiB of junk: ERROR");
	/* A second SPAWN for a live child's id: ignored, the child is not replaced. */
	put_spawn(&h, 1, echo, 0);
	put_spawn(&h, 2, echo, 0);
	got = expect(&h, 2, CPR_EXIT, &v, &out, 5000);
	cpr_buf_append(&out, "", 1);
	ok(got && v == 0 && strcmp((char *)cpr_buf_peek(&out), "still here\n") == 0,
	   "after frames for unknown ids, of the wrong size or direction: a new child runs");
	cpr_buf_free(&out);
	ok(procinfo_alive(child), "the first child was neither signalled nor replaced");

	/* Stdin frames after its EOF: the late bytes never reach the child. */
	put_spawn(&h, 3, cat, 1);
	hd_send_frame(&h, CPR_DATA, CPR_STDIN, 3, "early\n", 6);
	hd_send_frame(&h, CPR_EOF, CPR_STDIN, 3, NULL, 0);
	hd_send_frame(&h, CPR_DATA, CPR_STDIN, 3, "late\n", 5);
	hd_send_frame(&h, CPR_EOF, CPR_STDIN, 3, NULL, 0);
	got = expect(&h, 3, CPR_EXIT, &v, &out, 5000);
	cpr_buf_append(&out, "", 1);
	ok(got && strcmp((char *)cpr_buf_peek(&out), "early\n") == 0,
	   "DATA after EOF: not delivered, cat ends");
	if (!got || strcmp((char *)cpr_buf_peek(&out), "early\n") != 0)
		printf("#   got %d, stdout \"%s\"\n", got, (char *)cpr_buf_peek(&out));
	cpr_buf_free(&out);

	/* Frames for a child after its EXIT. */
	put_spawn(&h, 4, tru, 0);
	expect(&h, 4, CPR_EXIT, NULL, NULL, 5000);
	hd_send_frame(&h, CPR_DATA, CPR_CHANNEL, 4, "x", 1);
	hd_send_u32(&h, CPR_SIGNAL, 0, 4, 9);
	hd_send_u32(&h, CPR_CREDIT, CPR_STDOUT, 4, 100);
	put_spawn(&h, 6, echo, 0);
	ok(expect(&h, 6, CPR_EXIT, &v, NULL, 5000), "after frames for a finished child: a new child runs");

	/* Its stdin closes: it ends its children and exits 0. */
	hd_close_input(&h);
	check_ended("stdin closed after all that", hd_end(&h, END_BOUND_MS), child);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CPREMOTE_HELPER") == NULL)
		tap_skip_all("CPREMOTE_HELPER not set");
	test_violations();
	test_no_hello();
	test_ignored();
	return tap_done();
}
