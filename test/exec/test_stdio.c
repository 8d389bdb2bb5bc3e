/*
 * test_stdio.c — a remote child's stdout and stderr arrive separately and
 * complete, and its stdin gets the caller's data and then EOF; through the
 * library (CPREMOTE_STDIO_PIPE) and through cprun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/*
 * Larger than the 256 KiB window, so that credit must flow for them to
 * finish.  Each transfer takes well under a second on loopback: the 12 s
 * bounds below keep a stalled one from eating the harness's 120 s.
 */
#define OUT_BYTES 1000000
#define ERR_BYTES 400000
#define IN_BYTES 700000

static char *exec_child;

/* Starts ARGV on HOST with every stdio stream piped; NULL (and a failed test) on error. */
static cpremote_child *run_piped(const char *host, const char *const *argv)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int r, i;

	fixture_options(&o, host);
	o.file = argv[0];
	o.argv = argv;
	for (i = 0; i < 3; i++)
		o.stdio[i].mode = CPREMOTE_STDIO_PIPE;
	r = cpremote_run(&o, &c);
	if (!ok(r == 0, "cpremote_run starts the child")) {
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return c;
}

/* True when R's status says "exited with CODE". */
static int exited_with(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void lib_separate_streams(void)
{
	char out_n[32], err_n[32];
	const char *argv[] = { exec_child, "spew", out_n, err_n, NULL };
	struct fixture_result r;
	cpremote_child *c;
	char *want_out = exec_pattern('O', OUT_BYTES), *want_err = exec_pattern('E', ERR_BYTES);

	snprintf(out_n, sizeof(out_n), "%d", OUT_BYTES);
	snprintf(err_n, sizeof(err_n), "%d", ERR_BYTES);
	if ((c = run_piped("h1", argv)) != NULL) {
		ok_int(exec_pump(c, NULL, 0, 12, &r), 1, "lib: the child's status arrives");
		ok(exited_with(r.status, 0), "lib: spew exits 0");
		ok_int(r.out_len, OUT_BYTES, "lib: all of stdout arrives");
		ok(r.out_len == OUT_BYTES && memcmp(r.out, want_out, OUT_BYTES) == 0,
		   "lib: stdout holds only stdout's bytes, in order");
		ok_int(r.err_len, ERR_BYTES, "lib: all of stderr arrives");
		ok(r.err_len == ERR_BYTES && memcmp(r.err, want_err, ERR_BYTES) == 0,
		   "lib: stderr holds only stderr's bytes, in order");
		fixture_result_free(&r);
		cpremote_free(c);
	}
	free(want_out);
	free(want_err);
}

/* Data for stdin that shows a reordering or a lost piece. */
static char *make_input(size_t n)
{
	char *p = malloc(n);
	size_t i;

	if (p == NULL)
		abort();
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + i / 4093) % 26);
	return p;
}

static void lib_stdin(void)
{
	const char *cat[] = { "cat", NULL };
	const char *wc[] = { "wc", "-c", NULL };
	struct fixture_result r;
	cpremote_child *c;
	char *in = make_input(IN_BYTES), want[32];

	if ((c = run_piped("h1", cat)) != NULL) {
		ok_int(exec_pump(c, in, IN_BYTES, 12, &r), 1, "lib: cat ends after stdin's EOF");
		ok(exited_with(r.status, 0), "lib: cat exits 0");
		ok_int(r.out_len, IN_BYTES, "lib: cat gives back as many bytes as it got");
		ok(r.out_len == IN_BYTES && memcmp(r.out, in, IN_BYTES) == 0,
		   "lib: cat gives back the same bytes");
		fixture_result_free(&r);
		cpremote_free(c);
	}
	if ((c = run_piped("h2", wc)) != NULL) {
		snprintf(want, sizeof(want), "%d\n", IN_BYTES);
		ok_int(exec_pump(c, in, IN_BYTES, 12, &r), 1, "lib: wc -c ends after stdin's EOF");
		ok_str(r.out, want, "lib: wc -c counts every byte of stdin");
		fixture_result_free(&r);
		cpremote_free(c);
	}
	if ((c = run_piped("h1", cat)) != NULL) {
		ok_int(exec_pump(c, NULL, 0, 12, &r), 1, "lib: an empty stdin is an EOF at once");
		ok_int(r.out_len, 0, "lib: cat of nothing writes nothing");
		fixture_result_free(&r);
		cpremote_free(c);
	}
	free(in);
}

static void cprun_streams(void)
{
	char out_n[32], err_n[32];
	const char *args[] = { "h2", exec_child, "spew", out_n, err_n, NULL };
	const char *small[] = { "h1", "sh", "-c", "echo to-out; echo to-err >&2", NULL };
	struct fixture_result r;
	char *want_out = exec_pattern('O', OUT_BYTES), *want_err = exec_pattern('E', ERR_BYTES);

	if (fixture_cprun(small, NULL, 0, 60, &r) == 0) {
		ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 0, "cprun: sh -c exits 0");
		ok_str(r.out, "to-out\n", "cprun: stdout has only stdout's line");
		ok_str(r.err, "to-err\n", "cprun: stderr has only stderr's line");
		fixture_result_free(&r);
	}
	snprintf(out_n, sizeof(out_n), "%d", OUT_BYTES);
	snprintf(err_n, sizeof(err_n), "%d", ERR_BYTES);
	if (fixture_cprun(args, NULL, 0, 60, &r) == 0) {
		ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 0, "cprun: spew exits 0");
		ok_int(r.out_len, OUT_BYTES, "cprun: all of stdout arrives");
		ok(r.out_len == OUT_BYTES && memcmp(r.out, want_out, OUT_BYTES) == 0,
		   "cprun: stdout is complete and in order");
		ok_int(r.err_len, ERR_BYTES, "cprun: all of stderr arrives");
		ok(r.err_len == ERR_BYTES && memcmp(r.err, want_err, ERR_BYTES) == 0,
		   "cprun: stderr is complete and in order");
		fixture_result_free(&r);
	}
	free(want_out);
	free(want_err);
}

static void cprun_stdin(void)
{
	const char *cat[] = { "h3", "cat", NULL };
	const char *wc[] = { "h1", "wc", "-c", NULL };
	struct fixture_result r;
	char *in = make_input(IN_BYTES), want[32];

	if (fixture_cprun(cat, in, IN_BYTES, 60, &r) == 0) {
		ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 0, "cprun: cat exits 0 after EOF");
		ok(r.out_len == IN_BYTES && memcmp(r.out, in, IN_BYTES) == 0,
		   "cprun: cat gives back stdin byte for byte");
		fixture_result_free(&r);
	}
	snprintf(want, sizeof(want), "%d\n", IN_BYTES);
	if (fixture_cprun(wc, in, IN_BYTES, 60, &r) == 0) {
		ok_str(r.out, want, "cprun: wc -c counts every byte of stdin");
		fixture_result_free(&r);
	}
	if (fixture_cprun(cat, NULL, 0, 60, &r) == 0) {
		ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 0,
		       "cprun: cat with an empty stdin ends (EOF propagates)");
		ok_int(r.out_len, 0, "cprun: and writes nothing");
		fixture_result_free(&r);
	}
	free(in);
}

int main(void)
{
	fixture_dir();
	exec_child = fixture_prog("exec/exec_child");
	lib_separate_streams();
	lib_stdin();
	cprun_streams();
	cprun_stdin();
	if (tap_failed)
		fixture_dump_logs();
	free(exec_child);
	return tap_done();
}
