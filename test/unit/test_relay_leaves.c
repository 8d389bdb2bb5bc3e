/*
 * test_relay_leaves.c — unit tests of the relay's small decision files:
 * install.c (the exec string, what a connection does when the run stub
 * finds no helper, and the upload's bytes and answers on the stub's own
 * stream) and keepalive.c (when silence means a lost link, and what the
 * PING carries).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cpremote.h"
#include "install.h"
#include "keepalive.h"
#include "tap.h"

static void test_exec_command(void)
{
	char nonce[BOOTSTRAP_NONCE_LEN + 1], other[BOOTSTRAP_NONCE_LEN + 1];
	/* A leading ~/ or ~USER/ is left to the host's shell, nothing else. */
	static const struct {
		const char *helper, *want, *what;
	} tilde[] = {
		{ "~/bin/it's", "exec ~/'bin/it'\\''s'", "a leading ~/ is left to the host's shell" },
		{ "~cpr.test-1/h", "exec ~cpr.test-1/'h'", "so is ~USER/" },
		{ "~-/h", "exec '~-/h'", "~- (bash's $OLDPWD) stays quoted" },
		{ "~a;b/h", "exec '~a;b/h'", "a ~ prefix with other characters stays quoted" },
	};
	char *cmd = install_exec_command(0, "/opt/it's here/cpremote-helper");
	char *stub;

	ok(cmd && strcmp(cmd, "exec '/opt/it'\\''s here/cpremote-helper'") == 0,
	   "a named helper is exec'ed single-quoted, its quote escaped");
	free(cmd);
	for (size_t i = 0; i < sizeof(tilde) / sizeof(tilde[0]); i++) {
		cmd = install_exec_command(0, tilde[i].helper);
		ok(cmd && strcmp(cmd, tilde[i].want) == 0, tilde[i].what);
		if (cmd && strcmp(cmd, tilde[i].want) != 0)
			printf("#   got %s\n", cmd);
		free(cmd);
	}
	ok_int(install_nonce(nonce), 0, "a nonce");
	ok_int(install_nonce(other), 0, "another nonce");
	ok(strlen(nonce) == BOOTSTRAP_NONCE_LEN && strspn(nonce, "0123456789abcdef") == BOOTSTRAP_NONCE_LEN &&
		   strcmp(nonce, other) != 0,
	   "nonces are 32 hex digits, new each time");
	cmd = install_exec_command(1, "cpremote-helper");
	stub = bootstrap_run_command();
	ok(cmd && stub && strcmp(cmd, stub) == 0, "without a helper the run stub is exec'ed");
	ok(cmd && strncmp(cmd, "exec /bin/sh -c 'IFS= read -r t; ", 33) == 0 &&
		   strchr(cmd + strlen("exec /bin/sh -c '"), '\'') == cmd + strlen(cmd) - 1,
	   "the stub first reads the nonce from stdin (never in its argv), and holds no quote inside its "
	   "quotes");
	ok(cmd && !strpbrk(cmd, "!\\\n"), "nor a ! (tcsh history), a backslash or a newline");
	free(cmd);
	free(stub);
}

/* The upload over the stub's stream: the install line, the bytes once asked, the answer. */
static void test_stream(void)
{
	const struct helper_blob *b = &helper_blobs[0];
	static const char answers[] = "noise\ncpremote-stub: send\n";
	static const char done[] = "cpremote-stub: installed /c/h\nHELLO";
	struct install in = { 0 };
	const uint8_t *p;
	size_t n, used;
	char nonce[BOOTSTRAP_NONCE_LEN + 1];

	install_nonce(nonce);
	ok_int(install_start(&in, b, nonce), 0, "an upload starts");
	n = install_next(&in, &p);
	ok(n > BOOTSTRAP_NONCE_LEN + 2 && p[0] == '\n' && memcmp(p + 1, nonce, BOOTSTRAP_NONCE_LEN) == 0 &&
		   p[n - 1] == '\n' && !memchr(p + 1, '\n', n - 2),
	   "first the install line: a newline, the nonce, the script, one newline");
	install_wrote(&in, n - 1);
	ok_int((int)install_next(&in, &p), 1, "a partial write leaves the rest of the line");
	install_wrote(&in, 1);
	ok_int((int)install_next(&in, &p), 0, "then nothing until the script asks");
	ok_int(install_answer(&in, (const uint8_t *)answers, strlen(answers), &used), 0,
	       "\"send\" is no end");
	ok_int((int)used, (int)strlen(answers), "its line is taken, with the noise before it");
	ok((n = install_next(&in, &p)) == b->len && p == b->data, "then the helper's bytes, all of them");
	install_wrote(&in, n);
	ok_int((int)install_next(&in, &p), 0, "and nothing after them");
	ok_int(install_answer(&in, (const uint8_t *)done, strlen(done), &used), 1, "\"installed\" ends it");
	ok_int((int)used, (int)strlen(done) - 5, "the helper's first bytes are left for the hello");
	ok_str(in.path, "/c/h", "the path is kept");
	ok(!in.active, "the upload is over");
	install_free(&in);
}

static void test_plan(void)
{
	const char *arch = helper_blobs[0].arch;
	struct install_state st = { .host = "h1" };
	const struct helper_blob *b = NULL;
	struct cpr_err e;

	ok_int(install_plan(&st, BS_NEED, arch, &b, &e), 0, "a missing helper of a carried arch is uploaded");
	ok(b == &helper_blobs[0], "the blob of that arch is chosen");
	ok_int(install_plan(&st, BS_NEED, "vax", &b, &e), CPREMOTE_EHELPER, "an arch not carried fails");
	ok(b == NULL && strstr(e.msg, "h1:") && strstr(e.msg, "'vax'") && strstr(e.msg, arch),
	   "the message names the host, its arch and the carried ones");
	ok_int(install_plan(&st, BS_NOARCH, "sparc", &b, &e), CPREMOTE_EHELPER, "no arch for the host fails");
	st.no_upload = 1;
	ok_int(install_plan(&st, BS_NEED, arch, &b, &e), CPREMOTE_EHELPER, "--no-upload refuses the upload");
	ok(strstr(e.msg, "--no-upload") && strstr(e.msg, helper_blobs[0].sha256),
	   "the message says where to install which helper");
	st.no_upload = 0;
	st.installed = 1;
	st.installed_path = "/home/u/.cache/cpremote/x";
	ok_int(install_plan(&st, BS_NEED, arch, &b, &e), CPREMOTE_EHELPER,
	       "a second upload on one connection fails");
	ok(strstr(e.msg, st.installed_path) != NULL, "the message names the installed path");
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

static void test_keepalive(void)
{
	struct event_base *base = event_base_new();
	struct keepalive ka;
	struct cpr_buf out = { 0 };
	struct cpr_header h;
	const uint8_t *p;

	ok_int(keepalive_init(&ka, base, 5, 3, tick, NULL), 0, "keepalive set up");
	ok_int(keepalive_tick(&ka, 0), KA_QUIET, "no children: no PING");
	ok_int(keepalive_tick(&ka, 0), KA_QUIET, "no children: silence is no loss");
	ok_int(keepalive_tick(&ka, 1), KA_PING, "children: a PING (1 silent)");
	keepalive_heard(&ka);
	ok_int(keepalive_tick(&ka, 1), KA_PING, "an answer resets the count");
	ok_int(keepalive_tick(&ka, 1), KA_PING, "1 silent");
	ok_int(keepalive_tick(&ka, 1), KA_PING, "2 silent");
	ok_int(keepalive_tick(&ka, 1), KA_LOST, "3 silent intervals: lost");
	ok_int(keepalive_ping(&ka, &out), 0, "a PING queued");
	ok(cpr_frame_next(cpr_buf_peek(&out), cpr_buf_len(&out), &h, &p) > 0 && h.type == CPR_PING &&
		   h.length == 8 && h.child == 0,
	   "the PING is a frame for child 0");
	ok_int(cpr_get_u32(p + 4), 5 * (3 + 1), "it carries the silence limit, interval x (count + 1)");
	cpr_buf_free(&out);
	keepalive_stop(&ka, 1);
	event_base_free(base);
}

int main(void)
{
	test_exec_command();
	test_stream();
	test_plan();
	test_keepalive();
	return tap_done();
}
