/*
 * test_connect_cold.c — attaching is the first request on a connection to
 * a host that has no helper yet: the relay waits for the helper's hello
 * before it sends CONNECT, so the bootstrap stub never swallows it, the
 * upload runs, and the attach then succeeds.  The login user's cached
 * copy of this build's helper is removed first (only that file: other
 * builds' helpers have other names) and is there again afterwards.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "proto.h"
#include "session.h"
#include "tap.h"

#define WAIT_MS 30000

/* The cache file names of HELPER (the relay's embedded one) for the user at HOME with UID. */
static int cache_paths(const char *helper, const char *home, unsigned uid, char paths[2][512])
{
	char cmd[600], hash[65] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", helper);
	if ((f = popen(cmd, "r")) == NULL || fscanf(f, "%64s", hash) != 1) {
		if (f)
			pclose(f);
		return -1;
	}
	pclose(f);
	snprintf(paths[0], 512, "%s/.cache/cpremote/cpremote-helper-%d-%s", home, CPR_VERSION, hash);
	snprintf(paths[1], 512, "/tmp/cpremote-%u/cpremote-helper-%d-%s", uid, CPR_VERSION, hash);
	return 0;
}

int main(void)
{
	char dir[64], *prog, *embedded, paths[2][512];
	const char *named = getenv("CPREMOTE_HELPER");
	struct client cl;
	struct server s;
	struct passwd *pw;
	struct stat st;
	int r;

	fixture_dir();
	if (named == NULL) {
		tap_skip_all("CPREMOTE_HELPER not set (run under meson test)");
	}
	named = strdup(named);
	/* Before the relay starts: it takes its default helper from its environment. */
	unsetenv("CPREMOTE_HELPER");
	prog = fixture_prog("connect/console_server");
	embedded = fixture_prog("../helper/cpremote-helper");
	snprintf(dir, sizeof(dir), "/tmp/cpr-connect-cold-%ld", (long)getpid());
	const char *argv[] = { prog, dir, NULL };

	if (!ok(server_start_with(&s, "h1", argv, named) == 0,
		"the console server runs on h1 (helper named)")) {
		server_stop(&s);
		return tap_done();
	}
	pw = getpwuid((uid_t)atoi(s.uid));
	if (!ok(pw != NULL && cache_paths(embedded, pw->pw_dir, (unsigned)atoi(s.uid), paths) == 0,
		"the login user's cache files of this build's helper are known")) {
		server_stop(&s);
		return tap_done();
	}
	unlink(paths[0]);
	unlink(paths[1]);
	ok(stat(paths[0], &st) < 0 && stat(paths[1], &st) < 0, "no cached helper of this build on h1");

	r = client_attach(&cl, "h1", s.path);
	ok_int(r, 0, "cpremote_connect() as the first request on a new connection, no helper named");
	if (r != 0)
		printf("#   %s\n", cpremote_errmsg());
	ok(r == 0 && client_expect(&cl, "> ", WAIT_MS) && client_send(&cl, "set a 1\nget a\n") == 0 &&
		   client_expect(&cl, "ok\n> 1\n> ", WAIT_MS),
	   "the attach works after the upload");
	ok(stat(paths[0], &st) == 0 || stat(paths[1], &st) == 0,
	   "the helper was uploaded on that connection");
	client_free(&cl);
	ok(server_stop(&s), "the server ends on SIGTERM, status 0");
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	free(embedded);
	free((char *)named);
	return tap_done();
}
