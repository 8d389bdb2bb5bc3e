/*
 * test_argv.c — argv and env additions arrive on the host byte for byte:
 * empty strings, spaces, quotes, $, *, backslashes, newlines, non-ASCII,
 * every byte value but NUL, and a 100 KB argument; no remote shell may
 * re-parse them.  Checked through cpremote_run() and through cprun.  The
 * remote argv_child writes back what it got over the channel.
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
#include "tap.h"

#define BIG_LEN (100 * 1024)

static const char env_value[] = "a b\t'c' \"d\" $HOME `id` $(id) \\n\nline2 ✓";

/* Checks the child's report in BUF against WANT (argv) and env_value. */
static void check_report(const char *how, const char *const *want, const char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf, *end = p + len;
	char what[256];
	size_t nwant = 0, i, bad = 0;
	uint32_t argc;

	while (want[nwant] != NULL)
		nwant++;
	snprintf(what, sizeof(what), "%s: the child reported its argv", how);
	if (!ok(len >= 4, what))
		return;
	argc = io_get_u32(p);
	p += 4;
	snprintf(what, sizeof(what), "%s: argc", how);
	ok_int(argc, nwant, what);
	for (i = 0; i < argc && i < nwant; i++) {
		uint32_t n;

		if (end - p < 4 || (n = io_get_u32(p), (size_t)(end - p - 4) < n)) {
			printf("#   report cut short at argument %zu\n", i);
			bad++;
			break;
		}
		p += 4;
		if (n != strlen(want[i]) || memcmp(p, want[i], n) != 0) {
			printf("#   argv[%zu]: got %u bytes \"%.*s\", want %zu bytes \"%.60s\"\n", i, n,
			       n > 60 ? 60 : (int)n, (const char *)p, strlen(want[i]), want[i]);
			bad++;
		}
		p += n;
	}
	snprintf(what, sizeof(what), "%s: every argument arrived intact", how);
	ok_int(bad, 0, what);
	snprintf(what, sizeof(what), "%s: env addition arrived intact", how);
	if (argc == nwant && bad == 0 && end - p >= 4) {
		uint32_t n = io_get_u32(p);

		p += 4;
		ok(n == strlen(env_value) && (size_t)(end - p) == n && memcmp(p, env_value, n) == 0, what);
		if (n == 0xffffffffu)
			printf("#   CPR_TEST_ENV is not set on the host\n");
	} else {
		ok(0, what);
	}
}

static void via_api(const char *prog, const char *const *args)
{
	size_t n = 0, len = 0;
	const char **argv;
	char env[sizeof(env_value) + 16], *buf = NULL;
	const char *envv[] = { env, NULL };
	struct cpremote_options o;
	cpremote_child *child = NULL;
	int r, status = 0;

	while (args[n] != NULL)
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	if (argv == NULL)
		exit(2);
	/* argv[0] differs from the file: it must travel on its own. */
	argv[0] = "argv zero, not the path ✓";
	memcpy(argv + 1, args, n * sizeof(*args));
	snprintf(env, sizeof(env), "CPR_TEST_ENV=%s", env_value);

	fixture_options(&o, "h1");
	o.file = prog;
	o.argv = argv;
	o.env = envv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &child);
	ok_int(r, 0, "api: cpremote_run starts argv_child");
	if (r != 0) {
		printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_errmsg());
		goto out;
	}
	r = fixture_read_eof(cpremote_channel_fd(child), 30000, &buf, &len);
	ok_int(r, 0, "api: the channel reaches end of file");
	check_report("api", argv, buf, len);
	r = fixture_wait_child(child, &status, 30);
	ok_int(r, 1, "api: cpremote_wait reports the end");
	ok_str(r == 1 ? cl_status_str(status) : "(none)", "exited 0", "api: argv_child exited 0");
out:
	cpremote_free(child);
	free(buf);
	free(argv);
}

static void via_cprun(const char *prog, const char *const *args)
{
	size_t n = 0, len = 0, k = 0;
	const char **cargs, **want;
	char env[sizeof(env_value) + 16], *buf = NULL;
	int sv[2] = { -1, -1 }, r, status = 0;
	pid_t pid;

	while (args[n] != NULL)
		n++;
	cargs = calloc(n + 6, sizeof(*cargs));
	want = calloc(n + 2, sizeof(*want));
	if (cargs == NULL || want == NULL)
		exit(2);
	snprintf(env, sizeof(env), "CPR_TEST_ENV=%s", env_value);
	cargs[k++] = "-e";
	cargs[k++] = env;
	cargs[k++] = "h2";
	cargs[k++] = prog;
	memcpy(cargs + k, args, n * sizeof(*args));
	want[0] = prog;
	memcpy(want + 1, args, n * sizeof(*args));

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "cprun: socketpair");
		goto out;
	}
	r = cl_spawn_cprun(cargs, sv[1], &pid);
	ok_int(r, 0, "cprun: started");
	if (r != 0)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	r = fixture_read_eof(sv[0], 30000, &buf, &len);
	ok_int(r, 0, "cprun: the channel reaches end of file");
	check_report("cprun", want, buf, len);
	r = cl_waitpid(pid, &status, 30);
	ok_int(r, 1, "cprun: ended");
	ok_str(r == 1 ? cl_status_str(status) : "(none)", "exited 0", "cprun: exited 0");
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(buf);
	free(cargs);
	free(want);
}

int main(void)
{
	char *prog, *big, bytes[256];
	int i;

	fixture_dir();
	prog = fixture_prog("channel/argv_child");
	big = malloc(BIG_LEN + 1);
	if (big == NULL)
		return 2;
	for (i = 0; i < BIG_LEN; i++)
		big[i] = "ab c'\"$*\\\n\tz"[i % 12];
	big[BIG_LEN] = '\0';
	for (i = 1; i < 256; i++)
		bytes[i - 1] = (char)i;
	bytes[255] = '\0';

	{
		const char *const args[] = {
			"",      " ",          "two  spaces",      "'single'", "\"double\"",
			"it's",  "$HOME",      "${PATH}",          "$(id)",    "`id`",
			"*",     "?",          "[a-z]*",           "~",        "a\\b",
			"\\\\",  "trailing\\", "new\nline",        "\ttab\r",  "; exit 1",
			"| cat", "&& false",   "> /tmp/x",         "#comment", "-e",
			"--",    "%s%n",       "ünïcødé ✓ 日本語", bytes,      big,
			"",      NULL,
		};

		via_api(prog, args);
		via_cprun(prog, args);
	}
	if (tap_failed)
		fixture_dump_logs();
	free(big);
	free(prog);
	return tap_done();
}
