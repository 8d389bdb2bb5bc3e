/*
 * test_connect.c — attaching to a running process through its socket
 * file (cpremote_connect(), cprun --connect), against the example
 * console server (examples/console_server.c) started on h1:
 *   1. 8 clients at once, each its own stream and its own variables,
 *      each answered; each is seen with the login user's uid, and all
 *      come from one helper (one SSH connection).
 *   2. A client that goes away leaves the others (and new ones) served.
 *   3. Half-close: the client's end of file reaches the server, which
 *      answers and closes; the handle then reports status 0.
 *   4. A peer of another uid is refused by the server (when the test's
 *      uid differs from the login user's, as under root).
 *   5. cprun --connect without a terminal: bytes pass untouched, stdin's
 *      end closes the session, exit 0.
 */
#include <errno.h>
#include <signal.h>
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
#include "session.h"
#include "tap.h"

#define NCLIENTS 8
#define WAIT_MS 30000

static void many_clients(const struct server *s, struct client *cl)
{
	char line[64], want[64];
	int attached = 0, answered = 0, own = 0, uid_ok = 0, one_helper = 0;
	long pid, first = -1;

	for (int i = 0; i < NCLIENTS; i++)
		if (client_attach(&cl[i], "h1", s->path) == 0 && client_expect(&cl[i], "> ", WAIT_MS))
			attached++;
	ok_int(attached, NCLIENTS, "1: 8 clients attached at once, each greeted");
	for (int i = 0; i < NCLIENTS; i++) {
		snprintf(line, sizeof(line), "set x %d\n", 100 + i);
		if (client_send(&cl[i], line) == 0 && client_expect(&cl[i], "ok\n> ", WAIT_MS))
			answered++;
	}
	ok_int(answered, NCLIENTS, "1: each client set its own x");
	/* Asked in reverse order: one shared variable would show the last value set. */
	for (int i = NCLIENTS - 1; i >= 0; i--) {
		snprintf(want, sizeof(want), "%d\n> ", 100 + i);
		if (client_send(&cl[i], "get x\n") == 0 && client_expect(&cl[i], want, WAIT_MS))
			own++;
	}
	ok_int(own, NCLIENTS, "1: each client reads back its own x");
	snprintf(want, sizeof(want), "uid %s pid ", s->uid);
	for (int i = 0; i < NCLIENTS; i++) {
		if (client_send(&cl[i], "whoami\n") == 0 && client_expect(&cl[i], want, WAIT_MS) &&
		    client_expect(&cl[i], "\n> ", WAIT_MS)) {
			uid_ok++;
			/* The peer is the process that connected: the helper of the SSH connection. */
			pid = atol(cl[i].last);
			if (first < 0)
				first = pid;
			one_helper += pid > 0 && pid == first;
		}
	}
	ok_int(uid_ok, NCLIENTS, "1: the server sees each connection's peer uid: the login user's");
	ok_int(one_helper, NCLIENTS, "1: every peer is the same helper: one SSH connection serves all 8");
}

static void one_leaves(const struct server *s, struct client *cl)
{
	struct client late;
	char want[64];
	int fine = 0;

	client_free(&cl[3]);
	for (int i = 0; i < NCLIENTS; i++) {
		if (i == 3)
			continue;
		snprintf(want, sizeof(want), "%d\n> ", 100 + i);
		if (client_send(&cl[i], "get x\n") == 0 && client_expect(&cl[i], want, WAIT_MS))
			fine++;
	}
	ok_int(fine, NCLIENTS - 1, "2: after one client left, the other 7 are answered as before");
	ok(client_attach(&late, "h1", s->path) == 0 && client_expect(&late, "> ", WAIT_MS) &&
		   client_send(&late, "get x\n") == 0 &&
		   client_expect(&late, "error: no variable x\n", WAIT_MS),
	   "2: a new client is served, with variables of its own (none yet)");
	ok(client_send(&late, "set\nget\n") == 0 &&
		   client_expect(&late, "usage: set NAME VALUE\n> usage: get NAME\n", WAIT_MS),
	   "2: commands without their arguments get their usage");
	client_free(&late);
}

static void half_close(struct client *c)
{
	char *rest = NULL;
	size_t len = 0;
	int st = -1;

	ok_int(client_send(c, "set y 7\nget y\n"), 0, "3: a client sends its last commands");
	ok_int(shutdown(c->fd, SHUT_WR), 0, "3: ... and shuts down its write side");
	ok_int(fixture_read_eof(c->fd, WAIT_MS, &rest, &len), 0,
	       "3: the server answers, then closes: end of file");
	ok_contains(rest, "ok\n> 7\n> ", "3: the answers came before the end");
	ok_int(fixture_wait_child(c->child, &st, 30), 1, "3: the connection's handle reports its end");
	ok_int(st, 0, "3: ... with status 0");
	ok_int(cpremote_pid(c->child), 0, "3: a connection has no remote pid (0)");
	free(rest);
}

/* The test's own uid is not the login user's: the server must refuse it, socket mode or not. */
static void stranger(const struct server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *got = NULL, want[64];
	size_t len = 0;
	int fd;

	if ((unsigned)atoi(s->uid) == (unsigned)getuid()) {
		ok(1, "4: # SKIP the login user is the test's own");
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", s->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok_int(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	       "4: a process of another uid reaches the socket");
	fixture_read_eof(fd, WAIT_MS, &got, &len);
	snprintf(want, sizeof(want), "refused: uid %u ", (unsigned)getuid());
	ok_contains(got, want, "4: the server checks its peer's credentials and refuses it");
	close(fd);
	free(got);
}

static void cprun_pipe(const struct server *s)
{
	char target[300], want[128];
	const char *args[] = { "--connect", target, NULL };
	const char *in = "set a 1\nget a\nvars\n";
	struct fixture_result r = { 0 };

	snprintf(target, sizeof(target), "h1:%s", s->path);
	if (fixture_cprun(args, in, strlen(in), 60, &r) < 0) {
		ok(0, "5: cprun --connect runs");
		return;
	}
	snprintf(want, sizeof(want), "console: connected as uid %s; type help\n> ok\n> 1\n> a=1\n> ", s->uid);
	ok_str(r.out, want, "5: cprun --connect: stdin to the server, its bytes untouched on stdout");
	ok_int(r.status, 0, "5: the server closed after stdin's end: exit 0");
	if (r.status != 0)
		printf("#   stderr: %s\n", r.err);
	fixture_result_free(&r);
}

int main(void)
{
	char dir[64], *prog;
	struct client cl[NCLIENTS];
	struct server s;
	struct stat st;

	fixture_dir();
	prog = fixture_prog("connect/console_server");
	snprintf(dir, sizeof(dir), "/tmp/cpr-connect-%ld", (long)getpid());
	const char *argv[] = { prog, dir, NULL };

	if (!ok(server_start(&s, "h1", argv) == 0, "the console server runs on h1")) {
		server_stop(&s);
		fixture_dump_logs();
		free(prog);
		return tap_done();
	}
	many_clients(&s, cl);
	one_leaves(&s, cl);
	half_close(&cl[0]);
	stranger(&s);
	cprun_pipe(&s);
	for (int i = 0; i < NCLIENTS; i++)
		client_free(&cl[i]);
	ok(server_stop(&s), "the server ends on SIGTERM, status 0");
	ok(stat(dir, &st) < 0 && errno == ENOENT, "the server removed its socket and directory");
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
