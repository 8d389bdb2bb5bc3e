/*
 * test_hostile_helper.c — the real cpremote-helper against a misbehaving
 * relay.  The helper runs here as a subprocess over two pipes (as sshd
 * would run it) and gets garbage, a header announcing a huge length, a
 * frame cut short by EOF, DATA beyond its credit, noise instead of a
 * hello, a SPAWN of 4 MiB of junk, and frames for unknown or finished
 * children or after a stream's EOF.  A protocol violation must end it
 * cleanly (an exit, not a signal) within a bound, with its children gone;
 * frames it may ignore must leave it working.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procinfo.h"
#include "proto.h"
#include "tap.h"

/* The helper's grace between SIGTERM and SIGKILL, short for the test. */
#define GRACE_MS "300"
#define END_BOUND_MS 5000

struct hh {
	pid_t pid;
	int to, from;
	struct cpr_buf in;
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
hh_start(struct hh *h)
{
	const char *path = getenv("CPREMOTE_HELPER");
	int in[2], out[2];

	memset(h, 0, sizeof(*h));
	h->to = h->from = -1;
	if (path == NULL || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if ((h->pid = fork()) < 0)
		return -1;
	if (h->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		setenv("CPREMOTE_GRACE_MS", GRACE_MS, 1);
		execl(path, "cpremote-helper", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h->to = in[1];
	h->from = out[0];
	/* Its output is read only now and then: it must never block us, nor we it. */
	fcntl(h->from, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Writes all of P; 0, or -1 when the helper is gone (EPIPE). */
static int
put(struct hh *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = write(h->to, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
put_frame(struct hh *h, uint8_t type, uint8_t stream, uint32_t child, const void *p, uint32_t len)
{
	struct cpr_buf b = { 0 };
	int r = cpr_frame_append(&b, type, stream, child, p, len);

	if (r == 0)
		r = put(h, cpr_buf_peek(&b), cpr_buf_len(&b));
	cpr_buf_free(&b);
	return r;
}

static int
put_u32(struct hh *h, uint8_t type, uint8_t stream, uint32_t child, uint32_t v)
{
	uint8_t p[4];

	cpr_put_u32(p, v);
	return put_frame(h, type, stream, child, p, 4);
}

static int
put_hello(struct hh *h)
{
	uint8_t m[CPR_HELLO_LEN];

	cpr_hello_encode(m, 0);
	return put(h, m, sizeof(m));
}

/* Spawns ARGV (stdio: stdin piped when STDIN_PIPE, stdout piped) as child ID. */
static int
put_spawn(struct hh *h, uint32_t id, const char *const *argv, int stdin_pipe)
{
	struct cpr_buf p = { 0 };
	uint8_t stdio[3] = { (uint8_t)stdin_pipe, 1, 0 };
	int r;

	cpr_field_put_str(&p, CPR_F_FILE, argv[0]);
	for (; *argv; argv++)
		cpr_field_put_str(&p, CPR_F_ARG, *argv);
	cpr_field_put(&p, CPR_F_STDIO, stdio, 3);
	r = put_frame(h, CPR_SPAWN, 0, id, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
	return r;
}

/*
 * Reads frames until one of TYPE for ID comes (its u32 payload in *v) or
 * TIMEOUT_MS pass; collects ID's stdout into OUT when not NULL.  1 found,
 * 0 not.  Every DATA is credited back, as a relay would.
 */
static int
expect(struct hh *h, uint32_t id, uint8_t type, uint32_t *v, struct cpr_buf *out, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	uint8_t chunk[65536];

	for (;;) {
		struct cpr_header f;
		const uint8_t *p;
		ssize_t n = cpr_frame_next(cpr_buf_peek(&h->in), cpr_buf_len(&h->in), &f, &p);
		struct pollfd pfd = { .fd = h->from, .events = POLLIN };

		if (n < 0)
			return 0;
		if (n > 0) {
			int hit = f.child == id && f.type == type;

			if (hit && v != NULL && f.length >= 4)
				*v = cpr_get_u32(p);
			if (f.type == CPR_DATA && f.child == id && out != NULL && f.stream == CPR_STDOUT)
				cpr_buf_append(out, p, f.length);
			if (f.type == CPR_DATA)
				put_u32(h, CPR_CREDIT, f.stream, f.child, f.length);
			cpr_buf_consume(&h->in, (size_t)n);
			if (hit)
				return 1;
			continue;
		}
		if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			return 0;
		n = read(h->from, chunk, sizeof(chunk));
		if (n <= 0)
			return 0;
		cpr_buf_append(&h->in, chunk, (size_t)n);
	}
}

/* Reads the helper's hello. */
static int
get_hello(struct hh *h)
{
	long end = now_ms() + 5000;
	uint8_t chunk[4096], version;
	uint32_t caps;
	ssize_t n;

	while ((n = cpr_hello_find(cpr_buf_peek(&h->in), cpr_buf_len(&h->in), &version, &caps)) == 0) {
		struct pollfd pfd = { .fd = h->from, .events = POLLIN };
		ssize_t k;

		if (now_ms() >= end || poll(&pfd, 1, 500) < 0)
			return -1;
		if ((k = read(h->from, chunk, sizeof(chunk))) == 0)
			return -1;
		if (k > 0)
			cpr_buf_append(&h->in, chunk, (size_t)k);
	}
	if (n < 0)
		return -1;
	cpr_buf_consume(&h->in, (size_t)n);
	return 0;
}

/*
 * Waits up to END_BOUND_MS for the helper to exit (draining its output so
 * it is never blocked writing).  Returns its wait status, or -1 after
 * killing it when it did not end.
 */
static int
hh_end(struct hh *h)
{
	long end = now_ms() + END_BOUND_MS;
	uint8_t chunk[65536];
	int st;

	while (now_ms() < end) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid)
			goto out;
		while (read(h->from, chunk, sizeof(chunk)) > 0)
			;
		usleep(10000);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, &st, 0);
	st = -1;
out:
	if (h->to >= 0)
		close(h->to);
	close(h->from);
	cpr_buf_free(&h->in);
	h->to = h->from = -1;
	return st;
}

/* Starts a helper, says hello and starts "sleep 100" as child 1; its pid or -1. */
static pid_t
with_sleeper(struct hh *h, int stdin_pipe)
{
	static const char *const slp[] = { "sleep", "100", NULL };
	uint32_t pid = 0;

	if (hh_start(h) < 0 || get_hello(h) < 0 || put_hello(h) < 0 || put_spawn(h, 1, slp, stdin_pipe) < 0 ||
	    !expect(h, 1, CPR_SPAWNED, &pid, NULL, 5000))
		return -1;
	return (pid_t)pid;
}

/* The helper ended by itself, cleanly, and its child is gone. */
static void
check_ended(const char *what, int st, pid_t child)
{
	char msg[200];
	long end = now_ms() + 2000;

	snprintf(msg, sizeof(msg), "%s: the helper exits (not killed by a signal) within %d ms", what,
		 END_BOUND_MS);
	ok(st != -1 && WIFEXITED(st), msg);
	if (st != -1 && !WIFEXITED(st))
		printf("#   wait status 0x%x\n", st);
	/* A child killed by the helper may be reaped by init a moment later. */
	while (procinfo_alive(child) && now_ms() < end)
		usleep(10000);
	snprintf(msg, sizeof(msg), "%s: its child is gone", what);
	ok(child > 0 && !procinfo_alive(child), msg);
}

/* A frame that breaks the protocol, sent while a child runs: the link ends. */
static void
violation(const char *what, const void *bytes, size_t n, int then_close)
{
	struct hh h;
	pid_t child = with_sleeper(&h, 0);

	if (child < 0) {
		ok(0, "helper started with a child");
		hh_end(&h);
		return;
	}
	put(&h, bytes, n);
	if (then_close) {
		close(h.to);
		h.to = -1;
	}
	check_ended(what, hh_end(&h), child);
}

static void
test_violations(void)
{
	struct cpr_header hd = { .type = CPR_DATA, .stream = CPR_CHANNEL, .child = 1, .length = 0xffffff00u };
	uint8_t hdr[CPR_HEADER_LEN];
	static uint8_t big[4 * CPR_WINDOW];
	struct hh h;
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
		if (put_frame(&h, CPR_DATA, CPR_STDIN, 1, big + off, CPR_MAX_DATA) < 0)
			break;
	check_ended("DATA beyond the credit", hh_end(&h), child);
}

static void
test_no_hello(void)
{
	struct hh h;
	static char noise[256 * 1024];
	long t0 = now_ms();
	int st;

	memset(noise, 'n', sizeof(noise));
	if (hh_start(&h) < 0) {
		ok(0, "helper started");
		return;
	}
	/* The helper reads only its hello's 16 bytes' worth before it gives up: the rest may not fit. */
	fcntl(h.to, F_SETFL, O_NONBLOCK);
	(void)!write(h.to, noise, sizeof(noise));
	st = hh_end(&h);
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "noise instead of a hello: the helper exits with an error");
	printf("# noise: ended after %ld ms\n", now_ms() - t0);
}

static void
test_ignored(void)
{
	static const char *const echo[] = { "echo", "still", "here", NULL };
	static const char *const cat[] = { "cat", NULL };
	static const char *const tru[] = { "true", NULL };
	static uint8_t junk[CPR_MAX_SPAWN];
	struct cpr_buf out = { 0 };
	struct hh h;
	pid_t child = with_sleeper(&h, 0);
	uint32_t v = 0, ids[] = { 0, 999, 0xffffffffu };
	size_t i;
	int got;

	if (child < 0) {
		ok(0, "helper started with a child");
		hh_end(&h);
		return;
	}
	/* Frames for children that never were. */
	for (i = 0; i < 3; i++) {
		put_frame(&h, CPR_DATA, CPR_CHANNEL, ids[i], "x", 1);
		put_frame(&h, CPR_DATA, CPR_STDIN, ids[i], "x", 1);
		put_frame(&h, CPR_EOF, CPR_STDIN, ids[i], NULL, 0);
		put_u32(&h, CPR_CREDIT, CPR_STDOUT, ids[i], 1u << 30);
		put_u32(&h, CPR_SIGNAL, 0, ids[i], 9);
	}
	/* Frames that travel the other way, and payloads of the wrong size, for a live child. */
	put_u32(&h, CPR_SPAWNED, 0, 1, 1);
	put_u32(&h, CPR_EXIT, 0, 1, 0);
	put_frame(&h, CPR_SIGNAL, 0, 1, "\x09", 1);
	put_frame(&h, CPR_CREDIT, CPR_STDOUT, 1, "\x01\x02", 2);
	/* A SPAWN of 4 MiB of junk: an ERROR for it, nothing more. */
	memset(junk, 0xff, sizeof(junk));
	put_frame(&h, CPR_SPAWN, 0, 5, junk, sizeof(junk));
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
	put_frame(&h, CPR_DATA, CPR_STDIN, 3, "early\n", 6);
	put_frame(&h, CPR_EOF, CPR_STDIN, 3, NULL, 0);
	put_frame(&h, CPR_DATA, CPR_STDIN, 3, "late\n", 5);
	put_frame(&h, CPR_EOF, CPR_STDIN, 3, NULL, 0);
	got = expect(&h, 3, CPR_EXIT, &v, &out, 5000);
	cpr_buf_append(&out, "", 1);
	ok(got && strcmp((char *)cpr_buf_peek(&out), "early\n") == 0, "DATA after EOF: not delivered, cat ends");
	if (!got || strcmp((char *)cpr_buf_peek(&out), "early\n") != 0)
		printf("#   got %d, stdout \"%s\"\n", got, (char *)cpr_buf_peek(&out));
	cpr_buf_free(&out);

	/* Frames for a child after its EXIT. */
	put_spawn(&h, 4, tru, 0);
	expect(&h, 4, CPR_EXIT, NULL, NULL, 5000);
	put_frame(&h, CPR_DATA, CPR_CHANNEL, 4, "x", 1);
	put_u32(&h, CPR_SIGNAL, 0, 4, 9);
	put_u32(&h, CPR_CREDIT, CPR_STDOUT, 4, 100);
	put_spawn(&h, 6, echo, 0);
	ok(expect(&h, 6, CPR_EXIT, &v, NULL, 5000), "after frames for a finished child: a new child runs");

	/* Its stdin closes: it ends its children and exits 0. */
	close(h.to);
	h.to = -1;
	check_ended("stdin closed after all that", hh_end(&h), child);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CPREMOTE_HELPER") == NULL)
		tap_skip_all("CPREMOTE_HELPER not set");
	test_violations();
	test_no_hello();
	test_ignored();
	return tap_done();
}
