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


/* A failed negotiation is final: no retries, both sides' algorithms named. */
static void negotiation(const char *option, const char *ours, const char *theirs, const char *what)
{
	char *err, m[300];
	double secs = 99;
	const char *a[] = { "-o", exec_opt(option, ours), "h1", "true", NULL };

	snprintf(m, sizeof m, "%s: cprun exits 255", what);
	ok_int(exec_cprun_exit(a, &err, NULL, &secs), 255, m);
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
