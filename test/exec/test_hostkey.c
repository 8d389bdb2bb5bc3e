/*
 * test_hostkey.c — the known_hosts check holds whatever the ssh_config says:
 * a changed key is refused under "StrictHostKeyChecking no" (from a "Host *"
 * block, also with -o StrictHostKeyChecking=yes), which only records unknown
 * keys; @revoked keys are refused and never recorded; a @cert-authority host
 * is refused without suggesting --accept-new; hashed names are matched; a
 * file that cannot be read is named as such.
 * The known_hosts and config files are written into the hosts' directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_util.h"
#include "fixture.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void spew(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		tap_diag("cannot write the test file");
		exit(1);
	}
}

/* A file of the hosts' directory private to this run; malloc'ed. */
static char *own_file(const char *what)
{
	char name[128];

	snprintf(name, sizeof name, "hostkey.%ld.%s", (long)getpid(), what);
	return fixture_file(name);
}


/* cprun ARGS exits 255 with stderr holding each of NEED (NULL-terminated) and not AVOID. */
static void refused(const char *const *args, const char *what, const char *const *need, const char *avoid)
{
	char *err, m[300];

	snprintf(m, sizeof m, "%s: cprun exits 255", what);
	ok_int(exec_cprun_exit(args, &err, NULL, NULL), 255, m);
	for (; need && *need; need++) {
		snprintf(m, sizeof m, "%s: the message says \"%s\"", what, *need);
		ok_contains(err, *need, m);
	}
	if (avoid) {
		snprintf(m, sizeof m, "%s: the message does not say \"%s\"", what, avoid);
		ok(strstr(err, avoid) == NULL, m);
	}
	free(err);
}

/* cpremote_run of `true` on h1 with CONFIG and OPTS fails with WANT. */
static void lib_refused(const char *config, const char *const *opts, int want, const char *what)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char m[300];

	fixture_options(&o, "h1");
	if (config)
		o.config = config;
	o.ssh_options = opts;
	o.file = "true";
	snprintf(m, sizeof m, "lib: %s fails with %s", what, cpremote_strerror(want));
	ok_int(cpremote_run(&o, &c), want, m);
	printf("#   message: %s\n", cpremote_errmsg());
	cpremote_free(c);
}

/* "[addr]:port KEYTYPE BASE64" of h1 as known_hosts has it (its first line); malloc'ed. */
static char *h1_entry(void)
{
	char *kh = fixture_file("known_hosts"), *all = slurp(kh);

	free(kh);
	if (!all) {
		tap_diag("no known_hosts in the hosts' directory");
		exit(1);
	}
	all[strcspn(all, "\n")] = '\0';
	return all;
}

static void strict_no(const char *cfg_no, const char *kh_changed)
{
	char *fresh = own_file("new"), *err, *out, *rec;
	char line1[4300];
	const char *need[] = { "differs from the one recorded", line1, NULL };
	const char *changed = exec_opt("UserKnownHostsFile", kh_changed);

	snprintf(line1, sizeof line1, "%s:1;", kh_changed);
	{
		const char *a[] = { "-F", cfg_no, "-o", changed, "h1", "true", NULL };
		refused(a, "config StrictHostKeyChecking no, changed key", need, NULL);
	}
	{
		const char *a[] = { "-F", cfg_no, "-o", "StrictHostKeyChecking=yes", "-o", changed,
				    "h1", "true", NULL };
		refused(a, "config no and -o StrictHostKeyChecking=yes, changed key", need, NULL);
	}
	{
		const char *a[] = { "-o", "StrictHostKeyChecking=no", "-o", changed, "h1", "true", NULL };
		refused(a, "-o StrictHostKeyChecking=no, changed key", need, NULL);
	}
	{
		const char *a[] = { "-F", cfg_no, "--accept-new", "-o", changed, "h1", "true", NULL };
		refused(a, "config no and --accept-new, changed key", need, NULL);
	}
	{
		const char *o[] = { changed, NULL };
		lib_refused(cfg_no, o, CPREMOTE_EHOSTKEY_CHANGED,
			    "config StrictHostKeyChecking no, changed key");
	}

	/* An unknown key: "no" records it, as accept-new would; -o yes wins over the config. */
	unlink(fresh);
	{
		const char *a[] = { "-F", cfg_no,
				    "-o", "StrictHostKeyChecking=yes",
				    "-o", exec_opt("UserKnownHostsFile", fresh),
				    "h1", "true",
				    NULL };
		refused(a, "config no and -o StrictHostKeyChecking=yes, unknown key",
			(const char *[]){ "not known", NULL }, NULL);
		ok(access(fresh, F_OK) != 0, "config no and -o yes: nothing recorded");
	}
	{
		const char *a[] = { "-F", cfg_no, "-o", exec_opt("UserKnownHostsFile", fresh),
				    "h1", "echo", "in", NULL };
		char *entry = h1_entry();

		ok_int(exec_cprun_exit(a, &err, &out, NULL), 0,
		       "config StrictHostKeyChecking no, unknown key: accepted");
		ok_str(out, "in\n", "config no, unknown key: the program ran");
		rec = slurp(fresh);
		ok_contains(rec, entry, "config no, unknown key: recorded in UserKnownHostsFile");
		free(rec);
		free(err);
		free(out);
		/* Now known: also strict checking accepts it. */
		{
			const char *b[] = { "-o", exec_opt("UserKnownHostsFile", fresh), "h1", "true", NULL };
			ok_int(exec_cprun_exit(b, &err, NULL, NULL), 0,
			       "the recorded key is known to a strict run");
			free(err);
		}
		free(entry);
	}
	unlink(fresh);
	{
		const char *a[] = { "-o", "StrictHostKeyChecking=no",
				    "-o", exec_opt("UserKnownHostsFile", fresh),
				    "h1", "true",
				    NULL };
		ok_int(exec_cprun_exit(a, &err, NULL, NULL), 0,
		       "-o StrictHostKeyChecking=no, unknown key: accepted");
		free(err);
		ok(access(fresh, F_OK) == 0, "-o StrictHostKeyChecking=no, unknown key: recorded");
	}
	unlink(fresh);
	free(fresh);
}

static void revoked(const char *h1, const char *cfg_no)
{
	char *both = own_file("revoked"), *only = own_file("revoked-only"), *before, *after;
	char text[9000], where[4300];
	const char *need[] = { "revoked", where, NULL };
	const char *key = strchr(h1, ' ') + 1;

	snprintf(text, sizeof text, "%s\n@revoked * %s\n", h1, key);
	spew(both, text);
	snprintf(where, sizeof where, "%s:2", both);
	{
		const char *a[] = { "-o", exec_opt("UserKnownHostsFile", both), "h1", "true", NULL };
		refused(a, "a known key also listed @revoked", need, NULL);
	}
	{
		const char *o[] = { exec_opt("UserKnownHostsFile", both), NULL };
		lib_refused(NULL, o, CPREMOTE_EHOSTKEY_CHANGED, "a revoked key");
		ok_contains(cpremote_errmsg(), "revoked", "lib: the message says revoked");
	}

	snprintf(text, sizeof text, "# revoked keys\n@revoked * %s\n", key);
	spew(only, text);
	snprintf(where, sizeof where, "%s:2", only);
	before = slurp(only);
	{
		const char *a[] = { "--accept-new", "-o",   exec_opt("UserKnownHostsFile", only),
				    "h1",           "true", NULL };
		refused(a, "--accept-new, a revoked key", need, "--accept-new");
	}
	{
		const char *a[] = { "-F", cfg_no, "-o", exec_opt("UserKnownHostsFile", only),
				    "h1", "true", NULL };
		refused(a, "config StrictHostKeyChecking no, a revoked key", need, NULL);
	}
	after = slurp(only);
	ok_str(after, before, "a revoked key is never recorded");
	free(before);
	free(after);
	unlink(both);
	unlink(only);
	free(both);
	free(only);
}

static void cert_authority(const char *h1)
{
	char *ca = own_file("ca"), *other = fixture_file("other_host_key.pub"), *ca_key = slurp(other);
	char text[9000], where[4300], name[300];
	const char *need[] = { "@cert-authority", "host certificates are not supported over this transport",
			       "OpenSSH", where, NULL };
	char *before, *after;

	snprintf(name, sizeof name, "%.*s", (int)strcspn(h1, " "), h1);
	ca_key[strcspn(ca_key, "\n")] = '\0';
	/* Keep the key type and the key, not the comment. */
	*strchr(strchr(ca_key, ' ') + 1, ' ') = '\0';
	snprintf(text, sizeof text, "@cert-authority %s %s\n", name, ca_key);
	spew(ca, text);
	snprintf(where, sizeof where, "%s:1", ca);
	before = slurp(ca);
	{
		const char *a[] = { "-o", exec_opt("UserKnownHostsFile", ca), "h1", "true", NULL };
		refused(a, "a @cert-authority host", need, "--accept-new");
	}
	{
		const char *a[] = { "--accept-new", "-o",   exec_opt("UserKnownHostsFile", ca),
				    "h1",           "true", NULL };
		refused(a, "a @cert-authority host with --accept-new", need, "--accept-new");
	}
	{
		const char *o[] = { exec_opt("UserKnownHostsFile", ca), NULL };
		lib_refused(NULL, o, CPREMOTE_EHOSTKEY_UNKNOWN, "a @cert-authority host");
	}
	after = slurp(ca);
	ok_str(after, before, "a @cert-authority host's key is never recorded");
	free(before);
	free(after);
	unlink(ca);
	free(ca);
	free(other);
	free(ca_key);
}

/* Hashed names (ssh-keygen -H): the good key passes, a changed one is refused. */
static void hashed(const char *h1, const char *kh_changed)
{
	char *good = own_file("hashed"), *bad = own_file("hashed-changed"), *changed = slurp(kh_changed);
	char cmd[9000], text[9000], *err, *body;

	snprintf(text, sizeof text, "%s\n", h1);
	spew(good, text);
	spew(bad, changed);
	snprintf(cmd, sizeof cmd,
		 "ssh-keygen -q -H -f '%s' >/dev/null 2>&1 && ssh-keygen -q -H -f '%s' >/dev/null 2>&1", good,
		 bad);
	/* scripts/test-hosts needs ssh-keygen too: it is there. */
	if (!ok(system(cmd) == 0, "ssh-keygen -H runs"))
		goto out;
	body = slurp(good);
	ok(body && strncmp(body, "|1|", 3) == 0, "ssh-keygen -H hashed the names");
	free(body);
	{
		const char *a[] = { "-o", exec_opt("UserKnownHostsFile", good), "h1", "true", NULL };
		ok_int(exec_cprun_exit(a, &err, NULL, NULL), 0, "a hashed entry for the host's key is found");
		free(err);
	}
	{
		char where[4300];
		const char *need[] = { "differs", where, NULL };
		const char *a[] = { "-o", "StrictHostKeyChecking=no",
				    "-o", exec_opt("UserKnownHostsFile", bad),
				    "h1", "true",
				    NULL };

		snprintf(where, sizeof where, "%s:1;", bad);
		refused(a, "a hashed entry with another key", need, NULL);
	}
out:
	snprintf(cmd, sizeof cmd, "%s.old", good);
	unlink(cmd);
	snprintf(cmd, sizeof cmd, "%s.old", bad);
	unlink(cmd);
	unlink(good);
	unlink(bad);
	free(good);
	free(bad);
	free(changed);
}

/* A known_hosts that cannot be read is reported as such, not as an unknown host. */
static void unreadable(void)
{
	const char *dir = fixture_dir();
	const char *need[] = { "cannot read", dir, "Is a directory", NULL };
	const char *a[] = { "--accept-new", "-o", exec_opt("UserKnownHostsFile", dir), "h1", "true", NULL };

	refused(a, "a known_hosts that cannot be read", need, "not known");
}

int main(void)
{
	char *cfg = fixture_file("ssh_config"), *cfg_no = own_file("ssh_config"), *kh_changed;
	char *hosts = slurp(cfg), *text, *h1;

	if (!hosts) {
		tap_diag("no ssh_config in the hosts' directory");
		return 1;
	}
	kh_changed = fixture_file("known_hosts.changed");
	h1 = h1_entry();
	/* "Host *" first: its value is the one ssh_config keeps. */
	text = malloc(strlen(hosts) + 64);
	sprintf(text, "Host *\n\tStrictHostKeyChecking no\n\n%s", hosts);
	spew(cfg_no, text);

	strict_no(cfg_no, kh_changed);
	revoked(h1, cfg_no);
	cert_authority(h1);
	hashed(h1, kh_changed);
	unreadable();

	if (tap_failed)
		fixture_dump_logs();
	unlink(cfg_no);
	free(cfg_no);
	free(cfg);
	free(hosts);
	free(text);
	free(kh_changed);
	free(h1);
	return tap_done();
}
