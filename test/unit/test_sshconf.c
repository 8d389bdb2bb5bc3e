/*
 * test_sshconf.c — the ssh_config evaluation through OpenSSH's own
 * `ssh -G` (relay/sshconf.c): Host and Match blocks, Include,
 * first-value-wins, the command line winning over files, tokens, and the
 * errors ssh gives for a missing file or an unknown option.  Runs the
 * real ssh client; skipped when it is not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpremote.h"
#include "sshconf.h"
#include "tap.h"

static char dir[] = "/tmp/cpremote-sshconf.XXXXXX";
static char config[512], include[512];

/* Writes TEXT to PATH; aborts the test run when it cannot. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Evaluates HOST with CONFIG, USER and OPTIONS; *C filled.  Returns sshconf_eval()'s code. */
static int eval(struct sshconf *c, const char *host, const char *user, const char *const *options, char *msg,
		size_t msglen)
{
	struct sshconf_query q = { .config = config, .user = user, .options = options, .host = host };

	return sshconf_eval(&q, c, msg, msglen);
}

static void test_blocks(void)
{
	struct sshconf c;
	char msg[512] = "";
	const char *const opts[] = { "ConnectTimeout=3", NULL };
	size_t i = 0;
	int r = eval(&c, "h1", NULL, opts, msg, sizeof msg);

	ok_int(r, 0, "ssh -G evaluates the file");
	if (r != 0)
		tap_diag(msg);
	ok_str(sshconf_get(&c, "hostname"), "127.0.0.2", "HostName from the Host block");
	ok_str(sshconf_get(&c, "port"), "2201", "first value wins: the Host block's Port over Host *'s");
	ok_str(sshconf_get(&c, "user"), "fromfile", "User from the file");
	ok_str(sshconf_get(&c, "connecttimeout"), "3", "-o wins over the file's ConnectTimeout");
	ok_str(sshconf_get(&c, "serveraliveinterval"), "7", "Include: a keyword from the included file");
	ok_str(sshconf_next(&c, "identityfile", &i), "~/.ssh/first_%r", "IdentityFile: first, in order");
	ok_str(sshconf_next(&c, "identityfile", &i), "/tmp/second", "IdentityFile: second");
	ok(sshconf_next(&c, "identityfile", &i) == NULL, "IdentityFile: no third");
	ok_str(sshconf_get(&c, "userknownhostsfile"), "/tmp/kh1 /tmp/kh2", "several UserKnownHostsFile");
	sshconf_free(&c);
}

static void test_match(void)
{
	struct sshconf c;
	char msg[512] = "";

	ok_int(eval(&c, "h2", "bob", NULL, msg, sizeof msg), 0, "Match: evaluated");
	ok_str(sshconf_get(&c, "user"), "bob", "-l wins over the file's User");
	ok_str(sshconf_get(&c, "connecttimeout"), "9", "Match originalhost h2 user bob applies with -l bob");
	sshconf_free(&c);
	ok_int(eval(&c, "h2", "alice", NULL, msg, sizeof msg), 0, "Match: evaluated for another user");
	ok(!sshconf_get(&c, "connecttimeout") || strcmp(sshconf_get(&c, "connecttimeout"), "9") != 0,
	   "Match user bob does not apply to alice");
	sshconf_free(&c);
}

static void test_expand(void)
{
	struct sshconf c;
	char msg[512] = "", want[512];
	char *home = getenv("HOME");
	char *x;

	ok_int(eval(&c, "h1", NULL, NULL, msg, sizeof msg), 0, "expand: evaluated");
	x = sshconf_expand(&c, "h1", "~/.ssh/id_%r@%h:%p-%n-%%");
	snprintf(want, sizeof want, "%s/.ssh/id_fromfile@127.0.0.2:2201-h1-%%", home ? home : "");
	if (home)
		ok_str(x, want, "~ and %r %h %p %n %% expanded");
	else
		ok(x != NULL, "expanded without HOME");
	free(x);
	errno = 0;
	x = sshconf_expand(&c, "h1", "%Q");
	ok(x == NULL && errno == EINVAL, "an unknown token is refused");
	free(x);
	sshconf_free(&c);
}

static void test_errors(void)
{
	struct sshconf c;
	char msg[512] = "";
	const char *const bad[] = { "NoSuchKeyword=1", NULL };
	struct sshconf_query missing = { .config = "/nonexistent/cpremote-config", .host = "h1" };
	struct sshconf_query nossh = { .ssh = "/nonexistent/ssh", .host = "h1" };

	ok_int(eval(&c, "h1", NULL, bad, msg, sizeof msg), CPREMOTE_EINVAL, "unknown -o keyword refused");
	ok_contains(msg, "nosuchkeyword", "the message names the keyword as ssh does");
	ok_int(sshconf_eval(&missing, &c, msg, sizeof msg), CPREMOTE_EINVAL, "a missing -F file refused");
	ok_contains(msg, "/nonexistent/cpremote-config", "the message names the file");
	ok(strstr(msg, "Pseudo-terminal") == NULL, "ssh's terminal warning is left out");
	ok_int(sshconf_eval(&nossh, &c, msg, sizeof msg), -ENOENT, "no ssh binary: -ENOENT (fall back)");
}

static void test_parse(void)
{
	struct sshconf c;
	const char text[] = "user a\nport 22\n\nsendenv LANG\nsendenv LC_*\n";
	size_t i = 0;

	ok_int(sshconf_parse(text, sizeof text - 1, &c), 0, "parse: lines");
	ok_int((int)c.n, 4, "parse: four entries, empty line skipped");
	ok_str(sshconf_next(&c, "sendenv", &i), "LANG", "parse: repeated keyword 1");
	ok_str(sshconf_next(&c, "sendenv", &i), "LC_*", "parse: repeated keyword 2");
	sshconf_free(&c);
	ok_int(sshconf_parse("novalue\n", 8, &c), CPREMOTE_EPROTO, "parse: a line without a value");
	ok_int((int)c.n, 0, "parse: emptied on error");
}

int main(void)
{
	if (access("/usr/bin/ssh", X_OK) != 0 && system("command -v ssh >/dev/null 2>&1") != 0)
		tap_skip_all("no OpenSSH client");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(config, sizeof config, "%s/config", dir);
	snprintf(include, sizeof include, "%s/included", dir);
	write_file(include, "ServerAliveInterval 7\n");
	{
		char text[2048];

		snprintf(text, sizeof text,
			 "Host h1\n"
			 "  HostName 127.0.0.2\n"
			 "  Port 2201\n"
			 "  User fromfile\n"
			 "  ConnectTimeout 20\n"
			 "  IdentityFile ~/.ssh/first_%%r\n"
			 "  IdentityFile /tmp/second\n"
			 "  UserKnownHostsFile /tmp/kh1 /tmp/kh2\n"
			 "  Include %s\n"
			 "Match originalhost h2 user bob\n"
			 "  ConnectTimeout 9\n"
			 "Host *\n"
			 "  Port 2299\n",
			 include);
		write_file(config, text);
	}
	test_blocks();
	test_match();
	test_expand();
	test_errors();
	test_parse();
	unlink(config);
	unlink(include);
	rmdir(dir);
	return tap_done();
}
