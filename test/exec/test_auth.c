/*
 * test_auth.c — failures before the child starts are reported clearly and
 * quickly: a refused key, an unknown or a changed host key, a refused
 * connection.  The library names each with its own code; cprun exits 255
 * with a message, never waits for a password with no terminal, never hangs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/* Wide: a hang shows as this and not as the harness's timeout. */
#define BOUND_S 30

/* cpremote_run of `true` with O fails with WANT, soon, naming the host. */
static void lib_fails(struct cpremote_options *o, int want, const char *what)
{
	cpremote_child *c = NULL;
	char msg[256];
	double t0 = fixture_now();
	int rc;

	o->file = "true";
	rc = cpremote_run(o, &c);
	snprintf(msg, sizeof(msg), "lib: %s fails with %s", what, cpremote_strerror(want));
	ok_int(rc, want, msg);
	if (rc != 0)
		printf("#   message: %s\n", cpremote_errmsg());
	snprintf(msg, sizeof(msg), "lib: %s: the message names the host", what);
	ok_contains(cpremote_errmsg(), o->host, msg);
	snprintf(msg, sizeof(msg), "lib: %s: returns within %d s", what, BOUND_S);
	ok(fixture_now() - t0 < BOUND_S, msg);
	cpremote_free(c);
}

/* cprun with ARGS exits 255, soon, with a message naming HOST. */
static void cprun_fails(const char *const *args, const char *host, const char *what)
{
	struct fixture_result r;
	char msg[256];
	double t0 = fixture_now();

	if (!ok(fixture_cprun(args, NULL, 0, 2 * BOUND_S, &r) == 0, "cprun runs"))
		return;
	snprintf(msg, sizeof(msg), "cprun: %s exits 255", what);
	ok_int(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, 255, msg);
	snprintf(msg, sizeof(msg), "cprun: %s: stderr names the host", what);
	ok_contains(r.err, host, msg);
	snprintf(msg, sizeof(msg), "cprun: %s: returns within %d s", what, BOUND_S);
	ok(fixture_now() - t0 < BOUND_S, msg);
	fixture_result_free(&r);
}

/* A loopback port on which nothing listens (bound, then released). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 1;

	a.sin_addr.s_addr = htonl(0x7f000002);
	if (s != -1 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s != -1)
		close(s);
	return port;
}

int main(void)
{
	char *unauth = fixture_file("ssh_config.unauthorized");
	char *kh_empty = fixture_file("known_hosts.empty");
	char *kh_changed = fixture_file("known_hosts.changed");
	char opt_empty[4200], opt_changed[4200], port[16];
	const char *o_empty[] = { opt_empty, NULL };
	const char *o_changed[] = { opt_changed, NULL };
	struct cpremote_options o;

	snprintf(opt_empty, sizeof(opt_empty), "UserKnownHostsFile=%s", kh_empty);
	snprintf(opt_changed, sizeof(opt_changed), "UserKnownHostsFile=%s", kh_changed);
	snprintf(port, sizeof(port), "%d", free_port());

	/* The same hosts, offering only a key they do not accept. */
	fixture_options(&o, "h1");
	o.config = unauth;
	lib_fails(&o, CPREMOTE_EAUTH, "a refused key");

	fixture_options(&o, "h1");
	o.ssh_options = o_empty;
	lib_fails(&o, CPREMOTE_EHOSTKEY_UNKNOWN, "an unknown host key");

	fixture_options(&o, "h1");
	o.ssh_options = o_changed;
	lib_fails(&o, CPREMOTE_EHOSTKEY_CHANGED, "a changed host key");
	{
		/* The message names the entry to remove: the file, its line, the name recorded. */
		char entry[4300];

		snprintf(entry, sizeof(entry), "%s:1;", kh_changed);
		ok_contains(cpremote_errmsg(), entry, "lib: a changed host key: names known_hosts.changed:1");
		ok_contains(cpremote_errmsg(),
			    "recorded for [127.0.0.2]:", "lib: a changed host key: names the entry");
	}

	fixture_options(&o, "127.0.0.2");
	o.port = atoi(port);
	lib_fails(&o, CPREMOTE_ECONNECT, "a refused connection");

	{
		const char *a_auth[] = { "-F", unauth, "h1", "true", NULL };
		const char *a_empty[] = { "-o", opt_empty, "h1", "true", NULL };
		const char *a_changed[] = { "-o", opt_changed, "h1", "true", NULL };
		const char *a_refused[] = { "-p", port, "127.0.0.2", "true", NULL };

		cprun_fails(a_auth, "h1", "a refused key");
		cprun_fails(a_empty, "h1", "an unknown host key");
		cprun_fails(a_changed, "h1", "a changed host key");
		cprun_fails(a_refused, "127.0.0.2", "a refused connection");
	}
	if (tap_failed)
		fixture_dump_logs();
	free(unauth);
	free(kh_empty);
	free(kh_changed);
	return tap_done();
}
