/*
 * test_install.c — a user with no helper: the first spawn uploads and
 * installs it (owner-only, content-addressed), the second finds it and
 * uploads nothing; several children started at once on a bare host all
 * run once the helper is there.  Real sshd, user cprboot (login shell sh).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_util.h"
#include "tap.h"

#define KIDS 3

static void first_and_second(const struct boot_user *u)
{
	struct fixture_result r;
	struct stat st1, st2;
	char path[512], path2[512];

	boot_clean(u);
	ok_int(boot_cprun(u, "h1", "echo first", &r), 0, "first spawn on a bare host exits 0");
	ok_str(r.out, "first\n", "first spawn: the program ran");
	ok(boot_uploaded(&r), "first spawn: the relay uploaded the helper");
	fixture_result_free(&r);

	ok_int(boot_find(u->cache, path, sizeof path, &st1), 1, "the cache holds one file, no leftovers");
	ok(boot_is_helper(path), "it is the relay's helper, named by its hash");
	ok_int(st1.st_uid, u->uid, "it belongs to the user");
	ok_int(st1.st_mode & 07777, 0700, "its mode is 0700");
	ok(S_ISREG(st1.st_mode), "it is a regular file");
	if (stat(u->cache, &st2) == 0)
		ok_int(st2.st_mode & 07777, 0700, "the cache directory is owner-only");
	else
		ok(0, "the cache directory exists");

	ok_int(boot_cprun(u, "h1", "echo second", &r), 0, "second spawn exits 0");
	ok_str(r.out, "second\n", "second spawn: the program ran");
	ok(!boot_uploaded(&r), "second spawn: nothing uploaded");
	fixture_result_free(&r);
	boot_find(u->cache, path2, sizeof path2, &st2);
	ok_str(path2, path, "second spawn: the same helper");
	ok(st1.st_ino == st2.st_ino && st1.st_mtime == st2.st_mtime,
	   "second spawn: the file was not replaced");

	/* Another host, same user: warm there too (the cache is per user). */
	ok_int(boot_cprun(u, "h2", "echo other", &r), 0, "a spawn through another host exits 0");
	ok(!boot_uploaded(&r), "... and uploads nothing");
	fixture_result_free(&r);
}

/* KIDS children asked for at once, before the bare host's helper exists: all are resent after the upload. */
static void many_at_once(const struct boot_user *u)
{
	cpremote_child *c[KIDS] = { 0 };
	char buf[64];
	int rc, status, n_ok = 0, n_exit = 0;

	boot_clean(u);
	for (int i = 0; i < KIDS; i++) {
		struct cpremote_options o;
		const char *argv[] = { "sh", "-c", "echo hello >&$CHANNEL_FD", NULL };

		fixture_options(&o, "h3");
		o.user = u->name;
		o.file = "sh";
		o.argv = argv;
		rc = cpremote_run(&o, &c[i]);
		if (rc != 0)
			printf("# child %d: %s: %s\n", i, cpremote_strerror(rc), cpremote_errmsg());
		else
			n_ok++;
	}
	ok_int(n_ok, KIDS, "lib: children started together on a bare host all start");
	for (int i = 0; i < KIDS; i++) {
		ssize_t n;

		if (!c[i])
			continue;
		n = read(cpremote_channel_fd(c[i]), buf, sizeof buf);
		if (n == 6 && memcmp(buf, "hello\n", 6) == 0 && cpremote_wait(c[i], &status, 0) == 1 &&
		    status == 0)
			n_exit++;
		cpremote_free(c[i]);
	}
	ok_int(n_exit, KIDS, "lib: each wrote on its channel and exited 0");
}

int main(void)
{
	struct boot_user u;

	boot_init();
	if (boot_user("cprboot", &u) != 0)
		tap_skip_all("no user cprboot (start the hosts with scripts/test-hosts as root)");
	first_and_second(&u);
	many_at_once(&u);
	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
