/*
 * test_dest.c — cprun's destination operand (cli/cprun_dest.c) as ssh(1)
 * takes it: ssh://[USER@]HOST[:PORT] taken apart (user percent-decoded,
 * [IPv6], an empty port the default), a bad URI refused with a reason,
 * anything else passed on whole, and -l / -p winning over the URI.
 */
#include <string.h>

#include "cpremote.h"
#include "cprun_dest.h"
#include "tap.h"

/* Parses ARG and checks host, user ("" for none) and port; or that it fails when HOST is NULL. */
static void check(const char *arg, const char *host, const char *user, int port)
{
	struct cprun_dest d;
	char err[256] = "", what[512];
	int r = cprun_dest_parse(arg, &d, err, sizeof(err));

	if (host == NULL) {
		snprintf(what, sizeof(what), "%s is refused: %s", arg, err);
		ok(r < 0 && strstr(err, arg) != NULL, what);
		return;
	}
	snprintf(what, sizeof(what), "%s parses", arg);
	if (!ok(r == 0, what))
		return;
	snprintf(what, sizeof(what), "%s: host", arg);
	ok_str(d.host, host, what);
	snprintf(what, sizeof(what), "%s: user", arg);
	ok_str(d.user != NULL ? d.user : "", user, what);
	snprintf(what, sizeof(what), "%s: port", arg);
	ok_int(d.port, port, what);
	cprun_dest_free(&d);
}

int main(void)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	struct cprun_dest d;
	char err[256];

	check("h1", "h1", "", 0);
	check("me@h1", "me@h1", "", 0); /* the library (libssh) splits user@host itself */
	check("docker://box", "docker://box", "", 0);
	check("ssh://h1", "h1", "", 0);
	check("ssh://me@h1:2222", "h1", "me", 2222);
	check("ssh://me@h1:", "h1", "me", 0);
	check("ssh://a@b@h1", "h1", "a@b", 0);
	check("ssh://a%40b%2fc@h1", "h1", "a@b/c", 0);
	check("ssh://[::1]:22", "::1", "", 22);
	check("ssh://u@[fe80::1]", "fe80::1", "u", 0);
	check("ssh://h1/path", NULL, NULL, 0);
	check("ssh://h1/x@y", NULL, NULL, 0);
	check("ssh://h1:0", NULL, NULL, 0);
	check("ssh://h1:65536", NULL, NULL, 0);
	check("ssh://h1:22x", NULL, NULL, 0);
	check("ssh://@h1", NULL, NULL, 0);
	check("ssh://a%4@h1", NULL, NULL, 0);
	check("ssh://a%00@h1", NULL, NULL, 0);
	check("ssh://", NULL, NULL, 0);
	check("ssh://u@", NULL, NULL, 0);
	check("ssh://[::1", NULL, NULL, 0);
	check("ssh://[::1]x", NULL, NULL, 0);

	o.user = "cli";
	ok(cprun_dest_apply("ssh://uri@h1:2222", &o, &d, err, sizeof(err)) == 0, "apply parses");
	ok_str(o.host, "h1", "apply sets the host");
	ok_str(o.user, "cli", "-l wins over the URI's user");
	ok_int(o.port, 2222, "the URI's port when there is no -p");
	cprun_dest_free(&d);
	o.user = NULL;
	o.port = 22;
	ok(cprun_dest_apply("ssh://uri@h1:2222", &o, &d, err, sizeof(err)) == 0, "apply parses again");
	ok_str(o.user, "uri", "the URI's user when there is no -l");
	ok_int(o.port, 22, "-p wins over the URI's port");
	cprun_dest_free(&d);
	return tap_done();
}
