/*
 * test_homes.c — hostile homes: a read-only HOME, a cache on a noexec
 * mount and a full one all fall back to /tmp/cpremote-UID; when no
 * directory can hold a runnable helper the spawn fails with a message
 * saying what to do.  The mounts (tmpfs) are skipped where mounting is
 * not permitted.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_util.h"
#include "tap.h"

/* A spawn as U works, and its helper went to the /tmp fallback, nothing to the cache. */
static void falls_back(const struct boot_user *u, const char *what)
{
	struct fixture_result r;
	struct stat st;
	char path[512], msg[512];
	int n;

	snprintf(msg, sizeof msg, "%s: first spawn exits 0", what);
	ok_int(boot_cprun(u, "h4", "echo fine", &r), 0, msg);
	snprintf(msg, sizeof msg, "%s: the program ran", what);
	ok_str(r.out, "fine\n", msg);
	fixture_result_free(&r);
	snprintf(msg, sizeof msg, "%s: the helper is in %s", what, u->tmp);
	ok_int(boot_find(u->tmp, path, sizeof path, &st), 1, msg);
	snprintf(msg, sizeof msg, "%s: it is the whole helper, mode 0700", what);
	ok(boot_is_helper(path) && (st.st_mode & 07777) == 0700 && st.st_uid == u->uid, msg);
	n = boot_find(u->cache, path, sizeof path, &st);
	snprintf(msg, sizeof msg, "%s: nothing is left in %s", what, u->cache);
	ok(n <= 0, msg);
	snprintf(msg, sizeof msg, "%s: second spawn uploads nothing", what);
	ok_int(boot_cprun(u, "h4", "echo again", &r), 0, msg);
	ok(!boot_uploaded(&r) && strcmp(r.out, "again\n") == 0, msg);
	fixture_result_free(&r);
}

static void read_only_home(void)
{
	struct boot_user u;
	struct stat st;

	if (boot_user("cprrohome", &u) != 0) {
		printf("ok %d - read-only HOME # SKIP no user cprrohome\n", ++tap_n);
		return;
	}
	boot_clean(&u);
	ok(stat(u.home, &st) == 0 && st.st_uid == 0 && (st.st_mode & 022) == 0,
	   "cprrohome's HOME is root's, not writable by the user");
	falls_back(&u, "read-only HOME");
	boot_clean(&u);
}

/* Mounts a tmpfs with OPTS (owned by U) on DIR.  Returns 0, or -1 (not permitted here). */
static int mount_tmpfs(const struct boot_user *u, const char *dir, const char *opts)
{
	return boot_sh("mkdir -p '%s' && chown %u:%u '%s' && mount -t tmpfs -o '%s,uid=%u,gid=%u,mode=0700' "
		       "cpremote-test '%s' 2>/dev/null",
		       dir, (unsigned)u->uid, (unsigned)u->gid, dir, opts, (unsigned)u->uid, (unsigned)u->gid,
		       dir) == 0
		       ? 0
		       : -1;
}

static void mounted_cache(const struct boot_user *u, const char *opts, const char *what)
{
	char dir[320];

	snprintf(dir, sizeof dir, "%s/.cache", u->home);
	boot_clean(u);
	boot_sh("umount '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	if (mount_tmpfs(u, dir, opts) != 0) {
		printf("ok %d - %s # SKIP cannot mount a tmpfs here\n", ++tap_n, what);
		return;
	}
	falls_back(u, what);
	boot_sh("umount '%s'", dir);
	boot_clean(u);
}

/* Both places noexec: the spawn fails, and says why and what to do. */
static void nowhere(const struct boot_user *u)
{
	struct fixture_result r;
	char dir[320];
	int rc;

	snprintf(dir, sizeof dir, "%s/.cache", u->home);
	boot_clean(u);
	boot_sh("umount '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	if (mount_tmpfs(u, dir, "noexec") != 0 || mount_tmpfs(u, u->tmp, "noexec") != 0) {
		printf("ok %d - no usable directory # SKIP cannot mount a tmpfs here\n", ++tap_n);
		boot_sh("umount '%s' 2>/dev/null", dir);
		return;
	}
	rc = boot_cprun(u, "h4", "echo never", &r);
	ok_int(rc, 255, "no usable directory: cprun exits 255");
	ok_str(r.out, "", "no usable directory: the program did not run");
	ok_contains(r.err, "cannot install the helper", "no usable directory: the message says so");
	ok_contains(r.err, "--helper PATH", "no usable directory: ... and what to do");
	fixture_result_free(&r);
	boot_sh("umount '%s'; umount '%s'", dir, u->tmp);
	boot_clean(u);
}

/*
 * A read-only HOME and /tmp/cpremote-UID made by another user before us:
 * the spawn fails, and the message names the directory's owner.
 */
static void squatted_tmp(void)
{
	struct fixture_result r;
	struct boot_user u;
	int rc;

	if (boot_user("cprrohome", &u) != 0) {
		printf("ok %d - squatted /tmp directory # SKIP no user cprrohome\n", ++tap_n);
		return;
	}
	boot_clean(&u);
	boot_sh("rm -rf '%s' && mkdir -m 0755 '%s' && chown nobody '%s'", u.tmp, u.tmp, u.tmp);
	rc = boot_cprun(&u, "h4", "echo never", &r);
	ok_int(rc, 255, "squatted /tmp directory: cprun exits 255");
	ok_str(r.out, "", "squatted /tmp directory: the program did not run");
	ok_contains(r.err, "cannot install the helper", "squatted /tmp directory: the message says so");
	ok_contains(r.err, "belongs to nobody", "squatted /tmp directory: ... and names its owner");
	fixture_result_free(&r);
	boot_sh("rm -rf '%s'", u.tmp);
	boot_clean(&u);
}

int main(void)
{
	struct boot_user u;

	boot_init();
	read_only_home();
	squatted_tmp();
	if (boot_user("cprnoexec", &u) == 0) {
		mounted_cache(&u, "noexec", "cache on a noexec mount");
		mounted_cache(&u, "size=32k", "cache on a full file system");
		nowhere(&u);
	}
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
