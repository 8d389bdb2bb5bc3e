/*
 * test_concurrent.c — first spawns racing on a host whose user has no
 * helper install it once: 8 cprun started at once all run their program,
 * exactly one of their relays uploads (the install stub's lock makes the
 * others wait and take the installed file), and the cache ends with one
 * whole helper.  Leftovers of cut-off installs are cleaned up: old
 * temporary files and a lock whose holder died (dead pid on this host, or
 * an old lock without a pid) are removed; a young temporary file, which a
 * live upload may still own, is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_util.h"
#include "tap.h"

#define RUNS 8

/* Counts the lines in S that contain WORD. */
static int count_lines(const char *s, const char *word)
{
	int n = 0;

	while (s && (s = strstr(s, word)) != NULL) {
		n++;
		s = strchr(s, '\n');
	}
	return n;
}

/* A pid that no process has: a child that has been reaped. */
static pid_t dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	if (p > 0)
		waitpid(p, NULL, 0);
	return p;
}

/* Makes U's cache directory as the stub would, with the leftovers SETUP plants (a shell command on %s = cache). */
static int plant(const struct boot_user *u, const char *setup)
{
	char cmd[3072];

	snprintf(cmd, sizeof cmd, setup, u->cache, u->cache, u->cache, u->cache);
	return boot_sh("mkdir -p '%s' && %s && chown -R %u:%u '%s/..' && chmod 700 '%s'", u->cache, cmd,
		       (unsigned)u->uid, (unsigned)u->gid, u->cache, u->cache);
}

/* Starts RUNS cprun at once; returns how many ran their program and how many uploaded. */
static void race(const struct boot_user *u, int *good, int *uploads)
{
	pid_t pids[RUNS];

	*good = *uploads = 0;
	fflush(stdout);
	for (int i = 0; i < RUNS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct fixture_result r;
			char script[64], want[64];
			int rc, n;

			snprintf(script, sizeof script, "echo run %d", i);
			snprintf(want, sizeof want, "run %d\n", i);
			/* Stdout is the TAP stream: keep this child's words out of it. */
			rc = boot_cprun(u, "h2", script, &r);
			n = count_lines(r.err, "uploading");
			_exit(rc == 0 && strcmp(r.out, want) == 0 && n <= 1 ? 10 + n : 1);
		}
	}
	for (int i = 0; i < RUNS; i++) {
		int st = 0;

		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
		    WEXITSTATUS(st) >= 10) {
			(*good)++;
			*uploads += WEXITSTATUS(st) - 10;
		}
	}
}

int main(void)
{
	struct boot_user u;
	struct utsname un;
	struct fixture_result r;
	struct stat st;
	char path[512], setup[2048], probe[600];
	int good, uploads;

	boot_init();
	if (boot_user("cprconc", &u) != 0)
		tap_skip_all("no user cprconc (start the hosts with scripts/test-hosts as root)");
	if (uname(&un) != 0)
		tap_skip_all("uname failed");

	/* A cut-off upload: old temporary files, and its lock naming a dead process. */
	boot_clean(&u);
	snprintf(setup, sizeof setup,
		 "head -c 1000 /dev/zero > %%s/.in.4242 && cp %%s/.in.4242 %%s/.new.4242 && "
		 "mkdir %%s/.lock && echo '%s:%d' > '%s/.lock/pid' && "
		 "touch -d '10 minutes ago' '%s/.in.4242' '%s/.new.4242'",
		 un.nodename, (int)dead_pid(), u.cache, u.cache, u.cache);
	ok_int(plant(&u, setup), 0, "planted: two 10-minute-old temporary files and a dead process's lock");

	race(&u, &good, &uploads);
	ok_int(good, RUNS, "8 concurrent first spawns all run their program");
	ok_int(uploads, 1, "exactly one of them uploaded the helper");
	printf("# %d of %d uploaded\n", uploads, RUNS);
	ok_int(boot_find(u.cache, path, sizeof path, &st), 1,
	       "the cache holds one file: no torn, temporary or lock files");
	ok(boot_is_helper(path), "it is the whole helper");
	ok_int(st.st_mode & 07777, 0700, "its mode is 0700");

	/* All warm now: nobody uploads, nobody even asks. */
	race(&u, &good, &uploads);
	ok_int(good, RUNS, "8 concurrent warm spawns all run their program");
	ok_int(uploads, 0, "... and none uploads");

	/*
	 * A lock without a pid (its holder died before writing one, or is on
	 * another host) is broken once old; a young temporary file stays.
	 */
	boot_clean(&u);
	snprintf(setup, sizeof setup,
		 "mkdir %%s/.lock && touch -d '10 minutes ago' %%s/.lock && "
		 "head -c 10 /dev/zero > %%s/.in.4343 && true %%s");
	ok_int(plant(&u, setup), 0, "planted: a 10-minute-old lock without pid, a young temporary file");
	ok_int(boot_cprun(&u, "h2", "echo once", &r), 0, "a spawn breaks the old lock and runs");
	ok_str(r.out, "once\n", "its output arrives");
	ok_int(count_lines(r.err, "uploading"), 1, "it uploaded the helper");
	fixture_result_free(&r);
	snprintf(probe, sizeof probe, "%s/.in.4343", u.cache);
	ok(access(probe, F_OK) == 0, "the young temporary file is kept (a live upload may own it)");
	snprintf(probe, sizeof probe, "%s/.lock", u.cache);
	ok(access(probe, F_OK) != 0, "the lock is gone");
	ok_int(boot_find(u.cache, path, sizeof path, &st), 2, "the cache holds the helper and that file");
	ok(boot_is_helper(path), "the helper is whole");

	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
