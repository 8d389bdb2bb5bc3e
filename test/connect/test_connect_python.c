/*
 * test_connect_python.c — cpremote_connect() to a real Python console
 * (Python's code.InteractiveConsole over socketserver's threaded
 * UnixStreamServer, py_console.py) running on h1:
 *   1. 8 clients at once, each with its own variables, each answered;
 *   2. the console sees each connection's peer uid, the login user's;
 *   3. a client that goes away leaves the others served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "session.h"
#include "tap.h"

#define NCLIENTS 8
#define WAIT_MS 30000

int main(void)
{
	char dir[64], script[512], line[96], want[96];
	struct client cl[NCLIENTS];
	struct server s;
	int attached = 0, set = 0, own = 0, uid_ok = 0, after = 0;
	const char *src = getenv("CPREMOTE_TEST_SRC");

	fixture_dir();
	snprintf(script, sizeof(script), "%s/connect/py_console.py", src ? src : "test");
	snprintf(dir, sizeof(dir), "/tmp/cpr-connect-py-%ld", (long)getpid());
	const char *argv[] = { "python3", script, dir, NULL };

	if (!ok(server_start(&s, "h1", argv) == 0, "the Python console server runs on h1")) {
		server_stop(&s);
		fixture_dump_logs();
		return tap_done();
	}
	for (int i = 0; i < NCLIENTS; i++)
		if (client_attach(&cl[i], "h1", s.path) == 0 && client_expect(&cl[i], ">>> ", WAIT_MS))
			attached++;
	ok_int(attached, NCLIENTS, "1: 8 clients attached at once, each given the console's prompt");
	for (int i = 0; i < NCLIENTS; i++) {
		snprintf(line, sizeof(line), "x = %d * 3\n", i + 1);
		if (client_send(&cl[i], line) == 0 && client_expect(&cl[i], ">>> ", WAIT_MS))
			set++;
	}
	ok_int(set, NCLIENTS, "1: each client set its own x");
	for (int i = NCLIENTS - 1; i >= 0; i--) {
		snprintf(want, sizeof(want), "x is %d\n>>> ", (i + 1) * 3);
		if (client_send(&cl[i], "print('x is', x)\n") == 0 && client_expect(&cl[i], want, WAIT_MS))
			own++;
	}
	ok_int(own, NCLIENTS, "1: each client's console evaluates its own x");
	snprintf(want, sizeof(want), "%s\n>>> ", s.uid);
	for (int i = 0; i < NCLIENTS; i++)
		if (client_send(&cl[i], "peer_uid\n") == 0 && client_expect(&cl[i], want, WAIT_MS))
			uid_ok++;
	ok_int(uid_ok, NCLIENTS, "2: the console sees each connection's peer uid: the login user's");

	client_free(&cl[5]);
	for (int i = 0; i < NCLIENTS; i++) {
		if (i == 5)
			continue;
		snprintf(want, sizeof(want), "%d\n>>> ", (i + 1) * 30);
		if (client_send(&cl[i], "x * 10\n") == 0 && client_expect(&cl[i], want, WAIT_MS))
			after++;
	}
	ok_int(after, NCLIENTS - 1, "3: after one client left, the other 7 are answered");
	for (int i = 0; i < NCLIENTS; i++)
		client_free(&cl[i]);
	ok(server_stop(&s), "the console server ends on SIGTERM, status 0");
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
