/*
 * test_connect_errors.c — a socket file that cannot be attached to is a
 * clear error naming the host, the path and the reason, through the
 * library (cpremote_connect()) and cprun --connect (exit 255):
 *   1. the path does not exist;
 *   2. it exists but is no socket (a regular file);
 *   3. the login user may not reach it (a socket in a directory of
 *      another user, mode 0700; only when the test runs as root);
 *   4. no process listens on it any more (a socket left behind);
 *   5. a TARGET without ":PATH", or --connect with a PROGRAM, is a usage error (2);
 *   6. a helper too old for CONNECT (its hello lacks CPR_CAP_CONNECT): the
 *      attach fails with CPREMOTE_EHELPER saying so, and the same
 *      connection still runs a program.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "tap.h"

/* cpremote_connect() to PATH on h1 fails with WANT_CODE and a message naming PATH and REASON. */
static void lib_fails(const char *n, const char *path, int want_code, const char *reason)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char what[160], want[512];
	int r;

	fixture_options(&o, "h1");
	r = cpremote_connect(&o, path, &c);
	snprintf(what, sizeof(what), "%s: cpremote_connect() fails with %s", n, cpremote_strerror(want_code));
	ok_int(r, want_code, what);
	ok(c == NULL, "   ... and gives no handle");
	snprintf(want, sizeof(want), "h1: cannot connect to %s: %s", path, reason);
	snprintf(what, sizeof(what), "%s: the message names host, path and reason", n);
	ok_str(cpremote_errmsg(), want, what);
	cpremote_free(c);
}

/* cprun --connect h1:PATH exits 255 and says why on stderr. */
static void cprun_fails(const char *n, const char *path, const char *reason)
{
	char target[300], want[512], what[160];
	const char *args[] = { "--connect", target, NULL };
	struct fixture_result r = { 0 };

	snprintf(target, sizeof(target), "h1:%s", path);
	if (fixture_cprun(args, NULL, 0, 60, &r) < 0) {
		ok(0, "cprun runs");
		return;
	}
	snprintf(what, sizeof(what), "%s: cprun --connect exits 255", n);
	ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 255, what);
	snprintf(want, sizeof(want), "cprun: h1: cannot connect to %s: %s\n", path, reason);
	snprintf(what, sizeof(what), "%s: cprun's message names host, path and reason", n);
	ok_str(r.err, want, what);
	ok_str(r.out, "", "   ... and prints nothing on stdout");
	fixture_result_free(&r);
}

/* A socket at PATH (bound, listening when LISTEN); returns its fd, or -1. */
static int socket_at(const char *path, int listen_too)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (listen_too && listen(fd, 4) < 0)) {
		printf("# socket %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void usage_errors(void)
{
	const char *no_path[] = { "--connect", "h1", NULL };
	const char *with_prog[] = { "--connect", "h1:/tmp/x.sock", "true", NULL };
	struct fixture_result r = { 0 };

	if (fixture_cprun(no_path, NULL, 0, 30, &r) == 0) {
		ok_int(WEXITSTATUS(r.status), 2, "5: --connect h1 (no :PATH) is a usage error");
		ok_contains(r.err, "HOST:PATH", "5: ... that says what is wanted");
		fixture_result_free(&r);
	}
	if (fixture_cprun(with_prog, NULL, 0, 30, &r) == 0) {
		ok_int(WEXITSTATUS(r.status), 2, "5: --connect with a PROGRAM is a usage error");
		fixture_result_free(&r);
	}
}

static void old_helper(const char *path)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char *helper = fixture_prog("connect/old_helper");
	int r, st = -1;

	fixture_options(&o, "h1");
	o.helper = helper;
	r = cpremote_connect(&o, path, &c);
	ok_int(r, CPREMOTE_EHELPER, "6: a helper without CPR_CAP_CONNECT: CPREMOTE_EHELPER");
	ok_contains(cpremote_errmsg(), "the helper there is too old to attach to socket files",
		    "6: ... with a message that says so");
	cpremote_free(c);
	c = NULL;
	o.file = "true";
	r = cpremote_run(&o, &c);
	ok_int(r, 0, "6: the same helper still runs a program (the connection was not failed)");
	if (r == 0)
		ok(fixture_wait_child(c, &st, 30) == 1 && st == 0, "6: ... which exits 0");
	cpremote_free(c);
	free(helper);
}

int main(void)
{
	char missing[96], dir[96], sock[128], stale[96];
	int fd;

	fixture_dir();
	snprintf(missing, sizeof(missing), "/tmp/cpr-connect-missing-%ld/none.sock", (long)getpid());
	lib_fails("1", missing, CPREMOTE_ENOTFOUND, "no such file or directory");
	cprun_fails("1", missing, "no such file or directory");

	/* A file every user may read: only its type is wrong. */
	lib_fails("2", "/etc/hostname", CPREMOTE_ESPAWN, "not a socket");
	cprun_fails("2", "/etc/hostname", "not a socket");

	snprintf(dir, sizeof(dir), "/tmp/cpr-connect-private-%ld", (long)getpid());
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	if (getuid() != 0) {
		ok(1, "3: # SKIP needs root (the login user must differ from the socket's owner)");
	} else if (mkdir(dir, 0700) == 0 && (fd = socket_at(sock, 1)) >= 0) {
		lib_fails("3", sock, CPREMOTE_ESPAWN, "permission denied");
		cprun_fails("3", sock, "permission denied");
		close(fd);
	} else {
		ok(0, "3: a private socket for the test");
	}
	unlink(sock);
	rmdir(dir);

	/* World-writable, so that the login user may connect: only the listener is missing. */
	snprintf(stale, sizeof(stale), "/tmp/cpr-connect-stale-%ld.sock", (long)getpid());
	if ((fd = socket_at(stale, 0)) >= 0 && chmod(stale, 0777) == 0) {
		close(fd);
		lib_fails("4", stale, CPREMOTE_ESPAWN, "no process listens on it (connection refused)");
	} else {
		ok(0, "4: a socket without a listener for the test");
	}
	unlink(stale);

	usage_errors();
	old_helper("/etc/hostname");
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
