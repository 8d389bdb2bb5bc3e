/*
 * test_sshkw.c — the ssh_config keyword table (relay/sshkw.c): every
 * keyword the installed ssh -G prints is known to it (none ignored
 * unsaid); values that differ from the defaults are applied, refused or
 * warned about, and LogLevel QUIET silences the warnings; the fallback's
 * -o goes through the same table.  Runs the real ssh client for the
 * evaluations; those parts are skipped without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "sshkw.h"
#include "tap.h"

/* The warnings the table printed, for the asserts. */
static char warned[4096];

static void capture(const struct relay_ctx *ctx, const char *line)
{
	(void)ctx;
	snprintf(warned + strlen(warned), sizeof warned - strlen(warned), "%s\n", line);
}

static struct relay_ctx ctx = { .verbose = 0, .log = capture };

/* ssh -G -F /dev/null for HOST with OPTIONS (NULL-terminated) into *C; 0 on success. */
static int eval(struct sshconf *c, const char *const *options)
{
	struct sshconf_query q = { .config = "/dev/null", .options = options, .host = "h1" };
	char msg[512];
	int r = sshconf_eval(&q, c, msg, sizeof msg);

	if (r != 0)
		printf("#   ssh -G: %s\n", msg);
	return r;
}

/* Applies ssh -G's evaluation with OPTIONS to a new session; *SO filled.  Returns apply_all's code. */
static int apply(const char *const *options, const struct sshconf *defaults, struct session_opts *so,
		 char *msg, size_t msglen)
{
	struct sshconf c;
	ssh_session s = ssh_new();
	struct sshkw_target t = { s, so, &ctx, "h1", NULL, &c, 0 };
	int r;

	*so = session_opts_default();
	warned[0] = '\0';
	msg[0] = '\0';
	if (eval(&c, options) != 0)
		return -1;
	r = sshkw_apply_all(&t, defaults, msg, msglen);
	sshconf_free(&c);
	ssh_free(s);
	return r;
}

static void test_every_keyword_known(const struct sshconf *defaults)
{
	int unknown = 0;

	for (size_t i = 0; i < defaults->n; i++)
		if (sshkw_kind(defaults->entries[i].key) < 0) {
			printf("#   not in the table: %s\n", defaults->entries[i].key);
			unknown++;
		}
	ok_int(unknown, 0, "every keyword ssh -G prints is in the table");
	ok(defaults->n > 50, "ssh -G printed its keywords");
}

static void test_apply(const struct sshconf *defaults)
{
	struct session_opts so;
	char msg[512];
	const char *const timing[] = { "ConnectTimeout=3",      "ServerAliveInterval=1",
				       "ServerAliveCountMax=2", "ConnectionAttempts=4",
				       "ControlPersist=7",      NULL };
	const char *const forever[] = { "ControlPersist=yes", "StrictHostKeyChecking=no", NULL };
	const char *const keys[] = { "HostKeyAlias=other", "HashKnownHosts=yes",
				     "UserKnownHostsFile=/tmp/a /tmp/b", "SetEnv=A=1 \"B=x y\"", NULL };
	const char *const refused[] = { "RemoteCommand=echo", NULL };
	const char *const warn[] = { "ForwardAgent=yes", NULL };
	const char *const quiet[] = { "ForwardAgent=yes", "LogLevel=QUIET", NULL };
	const char *const fwd[] = { "LocalForward=1234 localhost:22", "ExitOnForwardFailure=yes", NULL };

	ok_int(apply(timing, defaults, &so, msg, sizeof msg), 0, "timing keywords applied");
	ok_int(so.handshake_timeout_s, 3, "ConnectTimeout");
	ok_int(so.keepalive_s, 1, "ServerAliveInterval");
	ok_int(so.keepalive_count, 2, "ServerAliveCountMax");
	ok_int(so.connection_attempts, 4, "ConnectionAttempts");
	ok_int(so.idle_close_s, 7, "ControlPersist 7");
	ok_int(so.hk.accept_new, HOSTKEY_STRICT, "StrictHostKeyChecking ask (the default) is strict");
	session_opts_free(&so);

	ok_int(apply(forever, defaults, &so, msg, sizeof msg), 0, "ControlPersist yes applied");
	ok(so.idle_close_s > 86400 * 365, "ControlPersist yes: the connection stays while its caller lives");
	ok_int(so.hk.accept_new, HOSTKEY_ACCEPT_NEW, "StrictHostKeyChecking no: accept-new");
	session_opts_free(&so);

	ok_int(apply(keys, defaults, &so, msg, sizeof msg), 0, "known_hosts keywords applied");
	ok_str(so.hk.alias, "other", "HostKeyAlias");
	ok_int(so.hk.hash, 1, "HashKnownHosts");
	ok_str(so.hk.user_files ? so.hk.user_files[0] : NULL, "/tmp/a", "UserKnownHostsFile: first file");
	ok_str(so.hk.user_files ? so.hk.user_files[1] : NULL, "/tmp/b", "UserKnownHostsFile: second file");
	ok_str(so.env ? so.env[0] : NULL, "A=1", "SetEnv: first");
	ok_str(so.env && so.env[0] ? so.env[1] : NULL, "B=x y", "SetEnv: a quoted value with a blank");
	session_opts_free(&so);

	ok_int(apply(refused, defaults, &so, msg, sizeof msg), CPREMOTE_EINVAL, "RemoteCommand refused");
	ok_contains(msg, "RemoteCommand echo cannot be honoured", "the refusal names the keyword");
	session_opts_free(&so);

	ok_int(apply(warn, defaults, &so, msg, sizeof msg), 0, "ForwardAgent yes: not refused");
	ok_contains(warned, "ForwardAgent yes: ignored", "ForwardAgent yes: warned about");
	session_opts_free(&so);
	ok_int(apply(quiet, defaults, &so, msg, sizeof msg), 0, "LogLevel QUIET applied");
	ok_str(warned, "", "LogLevel QUIET: no warning");
	session_opts_free(&so);

	ok_int(apply(fwd, defaults, &so, msg, sizeof msg), CPREMOTE_EINVAL,
	       "LocalForward with ExitOnForwardFailure yes: refused");
	session_opts_free(&so);
}

static void test_sendenv(const struct sshconf *defaults)
{
	struct session_opts so;
	char msg[512];
	const char *const send[] = { "SendEnv=CPRKW_*", NULL };
	int a = 0, other = 0;

	setenv("CPRKW_A", "1", 1);
	setenv("CPRKWX", "2", 1);
	ok_int(apply(send, defaults, &so, msg, sizeof msg), 0, "SendEnv applied");
	for (char **e = so.env; e && *e; e++) {
		a += strcmp(*e, "CPRKW_A=1") == 0;
		other += strcmp(*e, "CPRKW_A=1") != 0;
	}
	ok_int(a, 1, "SendEnv: the matching variable is sent");
	ok_int(other, 0, "SendEnv: no other");
	session_opts_free(&so);
}

static void test_fallback(void)
{
	static const struct sshconf none;
	struct session_opts so = session_opts_default();
	ssh_session s = ssh_new();
	struct sshkw_target t = { s, &so, &ctx, "h1", NULL, &none, 1 };
	char msg[512] = "";

	ok_int(sshkw_apply_option(&t, "ConnectTimeout=4", msg, sizeof msg), 0, "fallback: -o ConnectTimeout");
	ok_int(so.handshake_timeout_s, 4, "fallback: the value");
	ok_int(sshkw_apply_option(&t, "RemoteCommand=x", msg, sizeof msg), CPREMOTE_EINVAL,
	       "fallback: -o RemoteCommand refused");
	ok_contains(msg, "cannot be honoured", "fallback: the same refusal");
	ok_int(sshkw_apply_option(&t, "NoSuchKeyword=1", msg, sizeof msg), CPREMOTE_EINVAL,
	       "fallback: an unknown keyword refused");
	ok_contains(msg, "unsupported option -o NoSuchKeyword=1", "fallback: says so");
	ok_int(sshkw_apply_option(&t, "ConnectTimeout=soon", msg, sizeof msg), CPREMOTE_EINVAL,
	       "fallback: a bad value refused");
	session_opts_free(&so);
	ssh_free(s);
}

int main(void)
{
	struct sshconf defaults;
	const char *const no_options[] = { NULL };

	test_fallback();
	if (system("command -v ssh >/dev/null 2>&1") != 0) {
		tap_diag("no OpenSSH client: the evaluations are skipped");
	} else if (eval(&defaults, no_options) == 0) {
		test_every_keyword_known(&defaults);
		test_apply(&defaults);
		test_sendenv(&defaults);
		sshconf_free(&defaults);
	} else {
		ok(0, "ssh -G -F /dev/null runs");
	}
	return tap_done();
}
