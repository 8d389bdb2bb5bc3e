/*
 * test_badinput.c — bad input on the command line and in the options fails
 * at once with a clear message: a user the host does not know, a key it
 * does not accept given with -i, a passphrase-protected key (never a
 * prompt: stdin is not a terminal), a name that cannot resolve, an unknown
 * -o option, bad -p and -o Port values.  cprun exits 255, or 2 for what is
 * a usage error; the library returns the matching code.  The refused key
 * from ssh_config, unknown and changed host keys and a closed port are in
 * test/exec/test_auth.c.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "fixture.h"
#include "tap.h"

/* Wide: a hang shows as this and not as the harness's timeout. */
#define BOUND_S 30

/* cprun with ARGS exits with one of WANT1/WANT2, soon, with a message holding NEEDLE and no output. */
static void cprun_bad(const char *const *args, int want1, int want2, const char *needle, const char *what)
{
	struct fixture_result r;
	double t0 = fixture_now();
	char msg[256];
	int code;

	if (!ok(fixture_cprun(args, NULL, 0, 2 * BOUND_S, &r) == 0, "cprun runs"))
		return;
	code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
	snprintf(msg, sizeof(msg), "cprun: %s exits %d", what, want1);
	if (!ok(code == want1 || code == want2, msg))
		printf("#   got %d\n", code);
	snprintf(msg, sizeof(msg), "cprun: %s: the message says \"%s\"", what, needle);
	ok_contains(r.err, needle, msg);
	r.err[strcspn(r.err, "\n")] = '\0';
	printf("#   stderr: %s\n", r.err);
	snprintf(msg, sizeof(msg), "cprun: %s: nothing on stdout, no prompt", what);
	ok(r.out_len == 0 && strstr(r.err, "assword:") == NULL, msg);
	snprintf(msg, sizeof(msg), "cprun: %s: returns within %d s", what, BOUND_S);
	ok(fixture_now() - t0 < BOUND_S, msg);
	fixture_result_free(&r);
}

/* cpremote_run of `true` with O fails with WANT, soon. */
static void lib_bad(struct cpremote_options *o, int want, const char *what)
{
	cpremote_child *c = NULL;
	double t0 = fixture_now();
	char msg[256];
	int rc;

	o->file = "true";
	rc = cpremote_run(o, &c);
	snprintf(msg, sizeof(msg), "lib: %s fails with %s", what, cpremote_strerror(want));
	ok_int(rc, want, msg);
	printf("#   message: %s\n", cpremote_errmsg());
	snprintf(msg, sizeof(msg), "lib: %s: the message names the host", what);
	ok_contains(cpremote_errmsg(), o->host, msg);
	snprintf(msg, sizeof(msg), "lib: %s: returns within %d s", what, BOUND_S);
	ok(fixture_now() - t0 < BOUND_S, msg);
	cpremote_free(c);
}

int main(void)
{
	const char *port;
	char *unauth = fixture_file("id_unauthorized"), *kh = fixture_file("known_hosts");
	char locked[600], cmd[1400], kh_opt[600];
	const char *user = getuid() == 0 ? "cprtest" : getpwuid(getuid())->pw_name;
	const char *o_unknown[] = { "Unknown=1", NULL };
	struct cpremote_options o;
	int fds0;

	fixture_dir();
	port = fixture_port();
	snprintf(kh_opt, sizeof(kh_opt), "UserKnownHostsFile=%s", kh);
	/* A key with a passphrase: asking for it would need a terminal. */
	snprintf(locked, sizeof(locked), "%s/id_locked", fault_tmpdir());
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N 'not empty' -f '%s' </dev/null", locked);
	ok_int(system(cmd), 0, "ssh-keygen makes a passphrase-protected key");

	{
		const char *a_user[] = { "-l", "nosuchuser", "h1", "true", NULL };
		const char *a_key[] = { "-i", unauth, "-l",        user,   "-p", port,
					"-o", kh_opt, "127.0.0.2", "true", NULL };
		const char *a_locked[] = { "-i", locked, "-l",        user,   "-p", port,
					   "-o", kh_opt, "127.0.0.2", "true", NULL };
		const char *a_name[] = { "nonexistent.invalid", "true", NULL };
		const char *a_opt[] = { "-o", "Unknown=1", "h1", "true", NULL };
		const char *a_port[] = { "-p", "abc", "h1", "true", NULL };
		const char *a_oport[] = { "-o", "Port=abc", "h1", "true", NULL };

		cprun_bad(a_user, 255, 255, "nosuchuser", "a user the host does not know");
		cprun_bad(a_key, 255, 255, "authentication failed", "a key given with -i that is refused");
		cprun_bad(a_locked, 255, 255, "authentication failed", "a passphrase-protected key");
		cprun_bad(a_name, 255, 255, "nonexistent.invalid", "a name that cannot resolve");
		cprun_bad(a_opt, 2, 255, "Unknown", "-o Unknown=1");
		cprun_bad(a_port, 2, 2, "abc", "-p abc");
		cprun_bad(a_oport, 2, 255, "Port", "-o Port=abc");
	}

	fds0 = fault_count_fds();
	fixture_options(&o, "h1");
	o.user = "nosuchuser";
	lib_bad(&o, CPREMOTE_EAUTH, "a user the host does not know");
	fixture_options(&o, "nonexistent.invalid");
	lib_bad(&o, CPREMOTE_ECONNECT, "a name that cannot resolve");
	fixture_options(&o, "h1");
	o.ssh_options = o_unknown;
	lib_bad(&o, CPREMOTE_EINVAL, "-o Unknown=1");
	/* The first failure started the relay; its one control socket stays for later runs. */
	ok(fault_count_fds() <= fds0 + 1, "lib: no fd left per failure");

	fault_tmpdir_remove();
	free(unauth);
	free(kh);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
