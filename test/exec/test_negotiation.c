/*
 * test_negotiation.c — a handshake that fails because the two sides share
 * no algorithm (key exchange, cipher) is final: cprun exits 255 at once,
 * without the retries a dropped handshake gets, and the message names what
 * was negotiated, both sides' lists and the option that sets ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

/* Wide: a hang shows as this and not as the harness's timeout. */
#define BOUND_S 30

/* "-o Option=VALUE" text in static rotating storage. */
static const char *opt(const char *name, const char *value)
{
	static char bufs[8][4200];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, sizeof bufs[0], "%s=%s", name, value);
	return b;
}

/* Runs cprun with ARGS; returns its exit status (-1 if none) and keeps stderr in *ERR (malloc'ed). */
static int cprun(const char *const *args, char **err, char **out, double *secs)
{
	struct fixture_result r;
	double t0 = fixture_now();
	int st;

	if (fixture_cprun(args, NULL, 0, 2 * BOUND_S, &r) != 0) {
		*err = strdup("");
		if (out)
			*out = strdup("");
		return -1;
	}
	if (secs)
		*secs = fixture_now() - t0;
	st = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
	printf("#   exit %d, stderr: %s", st, r.err[0] ? r.err : "(none)\n");
	*err = strdup(r.err);
	if (out)
		*out = strdup(r.out);
	fixture_result_free(&r);
	return st;
}

/* A failed negotiation is final: no retries, both sides' algorithms named. */
static void negotiation(const char *option, const char *ours, const char *theirs, const char *what)
{
	char *err, m[300];
	double secs = 99;
	const char *a[] = { "-o", opt(option, ours), "h1", "true", NULL };

	snprintf(m, sizeof m, "%s: cprun exits 255", what);
	ok_int(cprun(a, &err, NULL, &secs), 255, m);
	snprintf(m, sizeof m, "%s: within 3 s (no retry), took %.1f s", what, secs);
	ok(secs < 3, m);
	snprintf(m, sizeof m, "%s: names ours (%s)", what, ours);
	ok_contains(err, ours, m);
	snprintf(m, sizeof m, "%s: names the server's (%s)", what, theirs);
	ok_contains(err, theirs, m);
	snprintf(m, sizeof m, "%s: names the option", what);
	ok_contains(err, option, m);
	snprintf(m, sizeof m, "%s: says it is a negotiation failure", what);
	ok_contains(err, "in common with the server", m);
	snprintf(m, sizeof m, "%s: not retried", what);
	ok(strstr(err, "retr") == NULL, m);
	free(err);
}

int main(void)
{
	fixture_dir();
	negotiation("KexAlgorithms", "diffie-hellman-group1-sha1", "curve25519-sha256",
		    "a key exchange mismatch");
	negotiation("Ciphers", "3des-cbc", "aes128-ctr", "a cipher the server refuses");
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
