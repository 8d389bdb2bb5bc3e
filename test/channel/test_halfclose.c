/*
 * test_halfclose.c — each direction of the channel ends on its own.
 *   1. The caller shuts down its write side: the child reads end of file
 *      and still answers; then the child closes the channel while it keeps
 *      running, and the caller reads the whole answer, then end of file.
 *   2. The child shuts down its write side first: the caller reads end of
 *      file while the child runs, then still sends, and the child (which
 *      reports on stdout) got all of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caller.h"
#include "cpremote.h"
#include "fixture.h"
#include "io.h"
#include "sha256.h"
#include "tap.h"

#define SEND_LEN 300000
#define TAIL_LEN 200000
#define LATE_LEN 50000

static cpremote_child *start(const char *const *argv, int pipe_stdout)
{
	struct cpremote_options o;
	cpremote_child *child = NULL;
	int r;

	fixture_options(&o, "h1");
	o.file = argv[0];
	o.argv = argv;
	o.stdio[1].mode = pipe_stdout ? CPREMOTE_STDIO_PIPE : CPREMOTE_STDIO_NULL;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &child);
	ok_int(r, 0, "cpremote_run starts halfclose_child");
	if (r != 0) {
		printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return child;
}

/* "n=<len> sha=<hex>\n" for LEN bytes at P. */
static void summary(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	char hex[2 * SHA256_LEN + 1];
	uint8_t d[SHA256_LEN];

	sha256_digest(p, len, d);
	io_hex(d, sizeof(d), hex);
	snprintf(out, outlen, "n=%zu sha=%s\n", len, hex);
}

static void caller_closes_first(const char *prog)
{
	char tail[16], want[128], *buf = NULL, *nl;
	const char *argv[] = { prog, "answer", tail, NULL };
	static uint8_t data[SEND_LEN];
	cpremote_child *child;
	size_t len = 0, i, bad = 0;
	int fd, r, status = 0;

	snprintf(tail, sizeof(tail), "%d", TAIL_LEN);
	child = start(argv, 0);
	if (child == NULL)
		return;
	fd = cpremote_channel_fd(child);
	cl_random(data, sizeof(data));
	summary(data, sizeof(data), want, sizeof(want));
	ok_int(io_write_all(fd, data, sizeof(data)), 0, "1: caller wrote its data");
	ok_int(shutdown(fd, SHUT_WR), 0, "1: caller shut down its write side");

	r = fixture_read_eof(fd, 30000, &buf, &len);
	ok_int(r, 0, "1: caller read to end of file");
	ok_int(cpremote_wait(child, &status, CPREMOTE_WNOHANG), 0,
	       "1: end of file came while the child still runs (from its close, not its exit)");

	nl = memchr(buf, '\n', len);
	if (nl != NULL)
		nl[0] = '\0';
	want[strlen(want) - 1] = '\0';
	ok_str(buf, want, "1: the child read all the caller sent, up to end of file");
	if (nl != NULL) {
		const uint8_t *t = (const uint8_t *)nl + 1;
		size_t tlen = len - (size_t)(nl + 1 - buf);

		ok_int(tlen, TAIL_LEN, "1: the whole answer came before end of file");
		for (i = 0; i < tlen && i < TAIL_LEN; i++)
			if (t[i] != (uint8_t)(i % 251))
				bad++;
		ok_int(bad, 0, "1: the answer's bytes are right");
	} else {
		ok(0, "1: the answer has its first line");
	}
	r = fixture_wait_child(child, &status, 30);
	ok_str(r == 1 ? cl_status_str(status) : "(no status)", "exited 3", "1: the child exited 3");
	cpremote_free(child);
	free(buf);
}

static void child_closes_first(const char *prog)
{
	const char *argv[] = { prog, "first", NULL };
	static uint8_t data[LATE_LEN];
	char want[128], *buf = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	cpremote_child *child;
	int fd, r, status = 0;

	child = start(argv, 1);
	if (child == NULL)
		return;
	fd = cpremote_channel_fd(child);
	r = fixture_read_eof(fd, 30000, &buf, &len);
	ok_int(r, 0, "2: caller read the child's half to end of file");
	ok_str(buf, "early\n", "2: what the child sent before its shutdown");
	ok_int(cpremote_wait(child, &status, CPREMOTE_WNOHANG), 0,
	       "2: the child still runs (it waits for the caller's data)");

	cl_random(data, sizeof(data));
	summary(data, sizeof(data), want, sizeof(want));
	ok_int(io_write_all(fd, data, sizeof(data)), 0, "2: caller still writes after end of file");
	ok_int(shutdown(fd, SHUT_WR), 0, "2: caller shut down its write side");
	r = fixture_read_eof(cpremote_stdio_fd(child, 1), 30000, &out, &outlen);
	ok_int(r, 0, "2: the child's stdout reached end of file");
	ok_str(out, want, "2: the child got everything sent after its own shutdown");
	r = fixture_wait_child(child, &status, 30);
	ok_str(r == 1 ? cl_status_str(status) : "(no status)", "exited 0", "2: the child exited 0");
	cpremote_free(child);
	free(buf);
	free(out);
}

int main(void)
{
	char *prog;

	fixture_dir();
	prog = fixture_prog("channel/halfclose_child");
	caller_closes_first(prog);
	child_closes_first(prog);
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
