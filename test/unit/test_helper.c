/*
 * test_helper.c — runs the built cpremote-helper as a subprocess over two
 * pipes, as sshd would (helper_driver.h), and drives it: hello,
 * spawning, stdio and channel data, credit, signals, exit status, errors,
 * and the end of its children when the connection goes away.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helper_driver.h"
#include "proto.h"
#include "tap.h"

static void test_run(struct hd *h)
{
	struct hd_result r = { 0 };
	const char *echo_argv[] = { "echo", "hello", "world", NULL };
	const char *sh3[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *shk[] = { "sh", "-c", "kill -TERM $$", NULL };
	const char *envp[] = { "FOO=bar baz", NULL };
	const char *she[] = {
		"sh", "-c",
		"echo \"$FOO|$CHANNEL_FD|$NODE_CHANNEL_FD|$NODE_CHANNEL_SERIALIZATION_MODE\"; pwd", NULL
	};
	const char *shn[] = {
		"sh", "-c",
		"test \"$NODE_CHANNEL_FD\" = \"$CHANNEL_FD\" && echo \"$NODE_CHANNEL_SERIALIZATION_MODE\"",
		NULL
	};
	const char *fds[] = { "ls", "/proc/self/fd", NULL };
	struct hd_spawn a;
	size_t i, lines;

	a = (struct hd_spawn){ .file = "echo", .argv = echo_argv, .stdio = { 0, 1, 1 } };
	hd_send_spawn(h, 1, &a);
	hd_collect(h, 1, &r, 5000);
	ok(r.spawned && r.pid > 0, "echo: SPAWNED with a pid");
	ok_str(hd_text(&r, CPR_STDOUT), "hello world\n", "echo: stdout");
	ok(r.exited && r.kind == CPR_EXITED && r.status == 0, "echo: EXIT 0");
	ok(r.eof_before_exit, "echo: EOF on channel, stdout, stderr before EXIT");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "/bin/sh", .argv = sh3, .stdio = { 0, 1, 1 } };
	hd_send_spawn(h, 2, &a);
	hd_collect(h, 2, &r, 5000);
	ok_str(hd_text(&r, CPR_STDOUT), "out\n", "sh: stdout");
	ok_str(hd_text(&r, CPR_STDERR), "err\n", "sh: stderr");
	ok(r.exited && r.kind == CPR_EXITED, "sh: exited");
	ok_int(r.status, 3, "sh: exit code 3");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "sh", .argv = shk, .stdio = { 0, 0, 0 } };
	hd_send_spawn(h, 3, &a);
	hd_collect(h, 3, &r, 5000);
	ok(r.exited && r.kind == CPR_SIGNALED, "kill -TERM: signaled");
	ok_int(r.status, 15, "kill -TERM: wire signal 15");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "/nonexistent/prog", .stdio = { 0, 1, 1 } };
	hd_send_spawn(h, 4, &a);
	hd_collect(h, 4, &r, 5000);
	ok(r.error && !r.spawned, "not found: ERROR, no SPAWNED");
	ok_int(r.code, CPR_STAGE_EXEC, "not found: stage exec");
	ok_int(r.err, ENOENT, "not found: ENOENT");
	ok_contains(r.msg, "/nonexistent/prog", "not found: message names the program");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "/dev/null", .stdio = { 0, 0, 0 } };
	hd_send_spawn(h, 5, &a);
	hd_collect(h, 5, &r, 5000);
	ok(r.error && r.code == CPR_STAGE_EXEC && r.err == EACCES, "not executable: exec EACCES");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "true", .cwd = "/nonexistent-dir", .stdio = { 0, 0, 0 } };
	hd_send_spawn(h, 6, &a);
	hd_collect(h, 6, &r, 5000);
	ok(r.error && r.code == CPR_STAGE_CHDIR && r.err == ENOENT, "bad cwd: chdir ENOENT");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "sh", .argv = she, .env = envp, .cwd = "/tmp", .stdio = { 0, 1, 0 } };
	hd_send_spawn(h, 7, &a);
	hd_collect(h, 7, &r, 5000);
	ok_contains(hd_text(&r, CPR_STDOUT), "bar baz|", "env: added variable");
	ok(strstr(hd_text(&r, CPR_STDOUT), "bar baz||") == NULL, "env: CHANNEL_FD set");
	ok_contains(hd_text(&r, CPR_STDOUT), "||\n/tmp\n", "env: no NODE_* without the flag; cwd");
	hd_result_free(&r);

	a = (struct hd_spawn){ .file = "sh", .argv = shn, .flags = CPR_SPAWN_NODE, .stdio = { 0, 1, 0 } };
	hd_send_spawn(h, 8, &a);
	hd_collect(h, 8, &r, 5000);
	ok_str(hd_text(&r, CPR_STDOUT), "json\n", "node flag: NODE_CHANNEL_FD and serialization mode");
	hd_result_free(&r);

	/* 0, 1, 2, the channel, and the directory ls opens: nothing of the helper's leaks. */
	a = (struct hd_spawn){ .file = "ls", .argv = fds, .stdio = { 0, 1, 1 } };
	hd_send_spawn(h, 9, &a);
	hd_collect(h, 9, &r, 5000);
	for (i = 0, lines = 0; hd_text(&r, CPR_STDOUT)[i] != '\0'; i++)
		lines += hd_text(&r, CPR_STDOUT)[i] == '\n';
	ok_int(lines, 5, "no helper fd leaks into the child");
	hd_result_free(&r);
}

static void test_streams(struct hd *h)
{
	struct hd_result r = { 0 };
	const char *chan[] = { "sh", "-c", "cat <&$CHANNEL_FD >&$CHANNEL_FD; echo done", NULL };
	const char *cat[] = { "cat", NULL };
	struct hd_spawn a;
	static uint8_t big[200000];
	size_t i, off;
	uint32_t n;

	a = (struct hd_spawn){ .file = "sh", .argv = chan, .stdio = { 0, 1, 1 } };
	hd_send_spawn(h, 20, &a);
	hd_send_frame(h, CPR_DATA, CPR_CHANNEL, 20, "ping\n", 5);
	hd_send_frame(h, CPR_EOF, CPR_CHANNEL, 20, NULL, 0);
	hd_collect(h, 20, &r, 5000);
	ok_str(hd_text(&r, CPR_CHANNEL), "ping\n", "channel: echoed back");
	ok(r.eof[CPR_CHANNEL], "channel: EOF after the half-close");
	ok_str(hd_text(&r, CPR_STDOUT), "done\n", "channel: child saw EOF and went on");
	ok(r.exited && r.status == 0 && r.eof_before_exit, "channel: EXIT 0 after all EOFs");
	ok_int(r.stdin_credit, 0, "channel: no stdin credit for a channel");
	hd_result_free(&r);

	/* 200 KB through stdin in DATA frames, within the initial window. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	a = (struct hd_spawn){ .file = "cat", .argv = cat, .stdio = { 1, 1, 0 } };
	hd_send_spawn(h, 21, &a);
	for (off = 0; off < sizeof(big); off += n) {
		n = sizeof(big) - off > CPR_MAX_DATA ? CPR_MAX_DATA : (uint32_t)(sizeof(big) - off);
		hd_send_frame(h, CPR_DATA, CPR_STDIN, 21, big + off, n);
	}
	hd_send_frame(h, CPR_EOF, CPR_STDIN, 21, NULL, 0);
	hd_collect(h, 21, &r, 10000);
	ok_int(cpr_buf_len(&r.data[CPR_STDOUT]), sizeof(big), "stdin: cat returned every byte");
	ok(r.data[CPR_STDOUT].data && memcmp(cpr_buf_peek(&r.data[CPR_STDOUT]), big, sizeof(big)) == 0,
	   "stdin: bytes unchanged");
	/*
	 * Credit comes back in batches of at least CPR_CREDIT_BATCH (a write
	 * may take more at once): what is left owed is less than one batch.
	 */
	ok(r.stdin_credit <= sizeof(big) && r.stdin_credit > sizeof(big) - CPR_CREDIT_BATCH,
	   "stdin: credited back but for less than one batch");
	if (r.stdin_credit > sizeof(big) || r.stdin_credit <= sizeof(big) - CPR_CREDIT_BATCH)
		printf("#   credited %u of %zu\n", (unsigned)r.stdin_credit, sizeof(big));
	ok(r.exited && r.status == 0, "stdin: cat exited 0 after EOF");
	hd_result_free(&r);
}

static void test_many(struct hd *h)
{
	struct hd_result r[20];
	const char *sh[] = { "sh", "-c", "read x; echo \"$x$CHANNEL_FD\"", NULL };
	struct hd_spawn a = { .file = "sh", .argv = sh, .stdio = { 1, 1, 0 } };
	const char *nostdin[] = { "true", NULL };
	struct hd_spawn t = { .file = "true", .argv = nostdin, .stdio = { 1, 0, 0 } };
	static uint8_t p[CPR_MAX_DATA];
	static char *args[20002];
	struct cpr_header f;
	char line[32];
	uint32_t id;
	int good = 1, done = 0, i;
	long end = hd_now_ms() + 10000;

	/* Twenty at once, answered in any order, each its own stdin and stdout. */
	memset(r, 0, sizeof(r));
	for (id = 0; id < 20; id++)
		hd_send_spawn(h, 100 + id, &a);
	for (id = 0; id < 20; id++) {
		snprintf(line, sizeof(line), "child%u-\n", id);
		hd_send_frame(h, CPR_DATA, CPR_STDIN, 100 + id, line, (uint32_t)strlen(line));
	}
	while (done < 20 && hd_now_ms() < end && hd_next_frame(h, 5000, &f, p) == 1) {
		if (f.child < 100 || f.child >= 120)
			continue;
		hd_record(h, f.child, &f, p, &r[f.child - 100], 1);
		if (f.type == CPR_EXIT)
			done++;
	}
	for (id = 0; id < 20; id++) {
		snprintf(line, sizeof(line), "child%u-", id);
		if (!r[id].exited || r[id].status != 0 ||
		    strncmp(hd_text(&r[id], CPR_STDOUT), line, strlen(line)) != 0)
			good = 0;
		hd_result_free(&r[id]);
	}
	ok(good, "twenty children at once, each with its own streams");

	/* A child that never reads stdin: the data is credited back, nothing stalls. */
	hd_send_spawn(h, 130, &t);
	hd_collect(h, 130, &r[0], 5000);
	for (i = 0; i < 10; i++)
		hd_send_frame(h, CPR_DATA, CPR_STDIN, 130, p, CPR_MAX_DATA);
	ok(r[0].exited && r[0].status == 0, "stdin of an exited child: EXIT 0");
	hd_result_free(&r[0]);

	/* A big SPAWN: 20000 arguments. */
	args[0] = "echo";
	for (i = 1; i <= 20000; i++)
		args[i] = "abcdefghij";
	args[20001] = NULL;
	a = (struct hd_spawn){ .file = "echo", .argv = (const char *const *)args, .stdio = { 0, 1, 0 } };
	hd_send_spawn(h, 131, &a);
	hd_collect(h, 131, &r[0], 60000); /* wide: a sanitized helper on a busy machine */
	ok_int(cpr_buf_len(&r[0].data[CPR_STDOUT]), 20000 * 11, "SPAWN with 20000 arguments");
	hd_result_free(&r[0]);
}

static void test_credit(struct hd *h)
{
	struct hd_result r = { 0 };
	const char *gen[] = { "sh", "-c", "head -c 1000000 /dev/zero & cat <&$CHANNEL_FD >&$CHANNEL_FD; wait",
			      NULL };
	struct hd_spawn a = { .file = "sh", .argv = gen, .stdio = { 0, 1, 1 } };
	static uint8_t p[CPR_MAX_DATA];
	struct cpr_header f;

	hd_send_spawn(h, 30, &a);
	/* No CREDIT: the helper must stop at the window. */
	while (hd_next_frame(h, 700, &f, p) == 1)
		hd_record(h, 30, &f, p, &r, 0);
	ok(r.spawned, "credit: spawned");
	ok_int(cpr_buf_len(&r.data[CPR_STDOUT]), CPR_WINDOW,
	       "credit: stdout stops at 256 KiB without CREDIT");
	ok(!r.exited, "credit: no EXIT while output is held");

	/* A stalled stdout does not stop the channel. */
	hd_send_frame(h, CPR_DATA, CPR_CHANNEL, 30, "still here", 10);
	while (cpr_buf_len(&r.data[CPR_CHANNEL]) < 10 && hd_next_frame(h, 3000, &f, p) == 1)
		hd_record(h, 30, &f, p, &r, 0);
	ok_str(hd_text(&r, CPR_CHANNEL), "still here", "credit: channel flows while stdout is stalled");

	hd_send_u32(h, CPR_CREDIT, CPR_STDOUT, 30, 1000000);
	hd_send_frame(h, CPR_EOF, CPR_CHANNEL, 30, NULL, 0);
	hd_collect(h, 30, &r, 10000);
	ok_int(cpr_buf_len(&r.data[CPR_STDOUT]), 1000000, "credit: the rest after CREDIT");
	ok(r.exited && r.status == 0 && r.eof_before_exit, "credit: EXIT 0 at the end");
	hd_result_free(&r);
}

static void test_signal(struct hd *h)
{
	struct hd_result r = { 0 };
	const char *slp[] = { "sleep", "100", NULL };
	struct hd_spawn a = { .file = "sleep", .argv = slp, .stdio = { 0, 0, 0 } };
	static uint8_t p[CPR_MAX_DATA];
	struct cpr_header f;

	hd_send_spawn(h, 40, &a);
	while (!r.spawned && !r.error && hd_next_frame(h, 5000, &f, p) == 1)
		hd_record(h, 40, &f, p, &r, 1);
	/* Frames for unknown children are ignored, not fatal. */
	hd_send_frame(h, CPR_DATA, CPR_CHANNEL, 999, "x", 1);
	hd_send_u32(h, CPR_SIGNAL, 0, 999, 9);
	hd_send_u32(h, CPR_SIGNAL, 0, 40, 10); /* USR1 */
	hd_collect(h, 40, &r, 5000);
	ok(r.exited && r.kind == CPR_SIGNALED, "SIGNAL: sleep ended by a signal");
	ok_int(r.status, 10, "SIGNAL: by wire signal 10 (USR1)");
	hd_result_free(&r);
}

static void test_lost(void)
{
	struct hd h;
	struct hd_result r = { 0 };
	const char *slp[] = { "sleep", "100", NULL };
	const char *stubborn[] = { "sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL };
	struct hd_spawn a = { .file = "sleep", .argv = slp, .stdio = { 0, 0, 0 } };
	struct hd_spawn b = { .file = "sh", .argv = stubborn, .stdio = { 0, 1, 0 } };
	static uint8_t p[CPR_MAX_DATA];
	struct cpr_header f;
	uint32_t pid1, pid2;
	long t0;
	int st;

	if (hd_start(&h, "500") < 0 || hd_hello(&h) < 0) {
		ok(0, "lost: helper started");
		hd_end(&h, 0);
		return;
	}
	hd_send_spawn(&h, 1, &a);
	while (!r.spawned && !r.error && hd_next_frame(&h, 5000, &f, p) == 1)
		hd_record(&h, 1, &f, p, &r, 1);
	pid1 = r.pid;
	hd_result_free(&r);
	hd_send_spawn(&h, 2, &b);
	while (cpr_buf_len(&r.data[CPR_STDOUT]) < 6 && hd_next_frame(&h, 5000, &f, p) == 1)
		hd_record(&h, 2, &f, p, &r, 1);
	pid2 = r.pid;
	ok(pid1 > 0 && pid2 > 0 && kill((pid_t)pid1, 0) == 0 && kill((pid_t)pid2, 0) == 0,
	   "lost: two children running");
	hd_result_free(&r);

	t0 = hd_now_ms();
	hd_close_input(&h);
	st = hd_end(&h, 5000);
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "lost: helper exits 0 after stdin EOF");
	ok(hd_now_ms() - t0 >= 400, "lost: a TERM-ignoring child got its grace period");
	ok(kill((pid_t)pid1, 0) < 0 && errno == ESRCH, "lost: sleep child is gone (SIGTERM)");
	ok(kill(-(pid_t)pid2, 0) < 0 && errno == ESRCH, "lost: TERM-ignoring group is gone (SIGKILL)");
}

static void test_bad_input(void)
{
	struct hd h;
	uint8_t bad_hello[CPR_HELLO_LEN], hdr[CPR_HEADER_LEN] = { CPR_DATA, 0, 1, 0 };
	int st;

	if (hd_start(&h, "100") < 0)
		return;
	cpr_hello_encode(bad_hello, 0);
	bad_hello[8] = 2;
	hd_send(&h, bad_hello, sizeof(bad_hello));
	st = hd_end(&h, 5000);
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "bad hello version: exit 1");

	if (hd_start(&h, "100") < 0 || hd_hello(&h) < 0) {
		ok(0, "bad header: helper started");
		hd_end(&h, 0);
		return;
	}
	hd_send(&h, hdr, sizeof(hdr));
	st = hd_end(&h, 5000);
	ok(st != -1 && WIFEXITED(st), "bad header: helper ends the link and exits");
}

int main(void)
{
	struct hd h;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("CPREMOTE_HELPER") == NULL)
		tap_skip_all("CPREMOTE_HELPER not set");
	if (!ok(hd_start(&h, NULL) == 0, "helper started") ||
	    !ok(hd_hello(&h) == 0, "hello exchanged, version 1"))
		return tap_done();
	test_run(&h);
	test_streams(&h);
	test_many(&h);
	test_credit(&h);
	test_signal(&h);
	hd_close_input(&h);
	hd_end(&h, 10000);
	test_lost();
	test_bad_input();
	return tap_done();
}
