/*
 * test_concurrent.c — 8 cprun started at once towards a host whose user
 * has no helper: every one runs its program, and the cache ends with one
 * whole helper and no temporary files (each upload lands in its own file
 * and is renamed into place).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_util.h"
#include "tap.h"

#define RUNS 8

int main(void)
{
	struct boot_user u;
	pid_t pids[RUNS];
	struct stat st;
	char path[512];
	int good = 0, uploads = 0;

	boot_init();
	if (boot_user("cprconc", &u) != 0)
		tap_skip_all("no user cprconc (start the hosts with scripts/test-hosts as root)");
	boot_clean(&u);
	fflush(stdout);
	for (int i = 0; i < RUNS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct fixture_result r;
			char script[64], want[64];
			int rc;

			snprintf(script, sizeof script, "echo run %d", i);
			snprintf(want, sizeof want, "run %d\n", i);
			/* Stdout is the TAP stream: keep this child's words out of it. */
			rc = boot_cprun(&u, "h2", script, &r);
			_exit(rc == 0 && strcmp(r.out, want) == 0 ? (boot_uploaded(&r) ? 10 : 11) : 1);
		}
	}
	for (int i = 0; i < RUNS; i++) {
		int st = 0;

		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
		    WEXITSTATUS(st) >= 10) {
			good++;
			uploads += WEXITSTATUS(st) == 10;
		}
	}
	ok_int(good, RUNS, "8 concurrent first spawns all run their program");
	ok(uploads >= 1, "at least one of them uploaded the helper");
	printf("# %d of %d uploaded\n", uploads, RUNS);
	ok_int(boot_find(u.cache, path, sizeof path, &st), 1, "the cache holds one file: no torn or temporary ones");
	ok(boot_is_helper(path), "it is the whole helper");
	ok_int(st.st_mode & 07777, 0700, "its mode is 0700");
	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
