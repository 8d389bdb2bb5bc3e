/*
 * test_tamper.c — a cached helper that is not exactly what its name says,
 * or that others could have changed, is never run: wrong content, a
 * group-writable file, a group-writable directory, a symbolic link, a file
 * of another owner.  Each is replaced by an upload, and the spawn works.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot_util.h"
#include "bootstrap.h"
#include "tap.h"

static char helper_path[512];
static char ran_marker[128];

/* Whether some process (the helper or its guardian) executes the file at PATH. */
static int executing(const char *path)
{
	char link[300], exe[PATH_MAX];
	struct dirent *de;
	int found = 0;
	ssize_t n;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof link, "/proc/%s/exe", de->d_name);
		if ((n = readlink(link, exe, sizeof exe - 1)) <= 0)
			continue;
		exe[n] = '\0';
		found = strcmp(exe, path) == 0;
	}
	closedir(d);
	return found;
}

/*
 * Waits up to 10 s until nothing executes PATH.  cprun returns once the
 * remote program's status is in, while the helper that ran it may still be
 * ending on the host: rewriting the file in place before then fails with
 * "Text file busy", which is not what these cases are about.
 */
static int wait_unused(const char *path)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 500; i++) {
		if (!executing(path))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* Installs a good helper with one spawn; remembers its path once no process runs it any more. */
static int install(const struct boot_user *u)
{
	struct fixture_result r;
	struct stat st;
	int rc;

	boot_clean(u);
	rc = boot_cprun(u, "h3", "true", &r);
	fixture_result_free(&r);
	if (rc != 0 || boot_find(u->cache, helper_path, sizeof helper_path, &st) != 1)
		return -1;
	if (wait_unused(helper_path) < 0) {
		printf("# %s still runs 10 s after its spawn ended\n", helper_path);
		return -1;
	}
	return 0;
}

/* After SETUP (a shell command on the cached file), a spawn uploads anew and never runs the old file. */
static void refused(const struct boot_user *u, const char *what, const char *setup)
{
	struct fixture_result r;
	struct stat st;
	char msg[256], path[512];

	if (install(u) != 0) {
		ok(0, "a helper could be installed first");
		return;
	}
	unlink(ran_marker);
	snprintf(msg, sizeof msg, "%s: set up", what);
	ok_int(boot_sh(setup, helper_path, helper_path, helper_path), 0, msg);
	snprintf(msg, sizeof msg, "%s: the spawn still runs the program", what);
	ok_int(boot_cprun(u, "h3", "echo ok", &r), 0, msg);
	ok_str(r.out, "ok\n", msg);
	snprintf(msg, sizeof msg, "%s: the cached file was not used (a new upload)", what);
	ok(boot_uploaded(&r), msg);
	fixture_result_free(&r);
	snprintf(msg, sizeof msg, "%s: the bad file never ran", what);
	ok(access(ran_marker, F_OK) != 0, msg);
	snprintf(msg, sizeof msg, "%s: it was replaced by the real helper, mode 0700, the user's", what);
	ok(boot_find(u->cache, path, sizeof path, &st) == 1 && boot_is_helper(path) && S_ISREG(st.st_mode) &&
		   (st.st_mode & 07777) == 0700 && st.st_uid == u->uid,
	   msg);
	snprintf(msg, sizeof msg, "%s: the directory is owner-only again", what);
	ok(stat(u->cache, &st) == 0 && (st.st_mode & 07777) == 0700, msg);
}

int main(void)
{
	struct boot_user u;
	char wrong[600], other[600];

	boot_init();
	if (boot_user("cprtamper", &u) != 0)
		tap_skip_all("no user cprtamper (start the hosts with scripts/test-hosts as root)");
	snprintf(ran_marker, sizeof ran_marker, "/tmp/cpremote-tamper-ran-%d", (int)getpid());
	/* A script that leaves a trace if it ever runs. */
	snprintf(wrong, sizeof wrong,
		 "printf '#!/bin/sh\\ntouch %s\\n' > %%s && chown %u %%s && chmod 700 %%s", ran_marker,
		 (unsigned)u.uid);
	refused(&u, "wrong content", wrong);
	refused(&u, "group-writable file", "chmod 0770 %s # %s %s");
	refused(&u, "world-writable file", "chmod 0702 %s # %s %s");
	snprintf(other, sizeof other, "chmod 0770 \"$(dirname %%s)\" # %%s %%s");
	refused(&u, "group-writable directory", other);
	refused(&u, "symbolic link to a good copy",
		"cp %s /tmp/cpremote-tamper-real && chown cprtamper /tmp/cpremote-tamper-real && rm %s && "
		"ln -s /tmp/cpremote-tamper-real %s");
	refused(&u, "file of another owner", "chown root %s # %s %s");
	unlink("/tmp/cpremote-tamper-real");
	unlink(ran_marker);
	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
