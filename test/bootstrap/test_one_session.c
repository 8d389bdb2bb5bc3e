/*
 * test_one_session.c — zero-install on a server that allows one session
 * per connection (sshd's MaxSessions 1, which the test hosts set for the
 * user cprone): the helper is uploaded over the run stub's own channel,
 * so the first spawn on a bare host works there, and so do the next ones.
 * The test first checks that the host really refuses a second session.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libssh/libssh.h>

#include "boot_util.h"
#include "tap.h"

/*
 * Opens two session channels on one connection to HOST as USER (NULL:
 * the ssh_config's).  Returns
 * how many opened (-1 when the connection or authentication failed).
 */
static int sessions_opened(const char *host, const char *user)
{
	char config[512];
	ssh_session s = ssh_new();
	ssh_channel ch[2] = { NULL, NULL };
	int n = -1;

	snprintf(config, sizeof config, "%s/ssh_config", fixture_dir());
	if (!s || ssh_options_set(s, SSH_OPTIONS_HOST, host) < 0 || ssh_options_parse_config(s, config) < 0 ||
	    (user && ssh_options_set(s, SSH_OPTIONS_USER, user) < 0) || ssh_connect(s) != SSH_OK ||
	    ssh_session_is_known_server(s) != SSH_KNOWN_HOSTS_OK ||
	    ssh_userauth_publickey_auto(s, NULL, NULL) != SSH_AUTH_SUCCESS) {
		printf("# %s as %s: %s\n", host, user ? user : "the test user",
		       s ? ssh_get_error(s) : "out of memory");
		goto out;
	}
	for (n = 0; n < 2; n++) {
		if (!(ch[n] = ssh_channel_new(s)) || ssh_channel_open_session(ch[n]) != SSH_OK) {
			printf("# session %d: %s\n", n + 1, ssh_get_error(s));
			break;
		}
	}
out:
	for (int i = 0; i < 2; i++)
		if (ch[i])
			ssh_channel_free(ch[i]);
	if (s) {
		ssh_disconnect(s);
		ssh_free(s);
	}
	return n;
}

int main(void)
{
	struct boot_user u;
	struct fixture_result r;
	struct stat st;
	char path[512];

	boot_init();
	if (boot_user("cprone", &u) != 0)
		tap_skip_all("no user cprone (start the hosts with scripts/test-hosts as root)");
	ok_int(sessions_opened("h1", "cprone"), 1, "the host allows cprone one session per connection");
	ok_int(sessions_opened("h1", NULL), 2, "and others more (the limit is cprone's)");

	boot_clean(&u);
	ok_int(boot_cprun(&u, "h1", "test -n \"$CHANNEL_FD\" && echo out", &r), 0,
	       "a first spawn on the bare host works");
	ok_str(r.out, "out\n", "the program ran, its stdout arrived");
	ok(boot_uploaded(&r), "the helper was uploaded");
	ok(strstr(r.err, "Channel opening failure") == NULL, "no second session was asked for");
	fixture_result_free(&r);
	ok(boot_find(u.cache, path, sizeof path, &st) == 1 && boot_is_helper(path) &&
		   (st.st_mode & 07777) == 0700,
	   "the cache holds the whole helper, mode 0700");

	ok_int(boot_cprun(&u, "h1", "echo again", &r), 0, "the next spawn works");
	ok_str(r.out, "again\n", "its output arrived");
	ok(!boot_uploaded(&r), "and nothing was uploaded");
	fixture_result_free(&r);

	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
