/*
 * test_ship.c — cprun --ship LOCAL_FILE HOST ARGS (struct cpremote_options
 * .ship): a local script or executable is uploaded into the host's
 * program cache once and run with ARGS; a second run uploads nothing; a
 * changed file is uploaded anew; 8 first uses at once upload it once; a
 * cached copy that was tampered with never runs (it is replaced).  With
 * -H each host gets the file (two users, two caches: cprship on h1,
 * cprship2 on h2) and runs it, output prefixed, then a summary.  With
 * --ship-arg N the program runs as given and its argument N is the cached
 * copy's path.  The uploads are counted by cprun's -v line "shipped FILE:
 * N bytes uploaded".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_util.h"
#include "tap.h"

#define RUNS 8

static char local[128], ran_marker[128];

/* The bytes cprun's -v line says were uploaded, or -1 when it has none. */
static long long uploaded(const struct fixture_result *r)
{
	const char *p = r->err ? strstr(r->err, "bytes uploaded") : NULL;

	while (p && p > r->err && p[-1] == ' ')
		p--;
	while (p && p > r->err && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return p ? atoll(p) : -1;
}

/* Runs "cprun -v -l USER --ship LOCAL h1 ARGS..." (ARGS NULL-terminated). */
static int ship(const struct boot_user *u, struct fixture_result *r, const char *a1, const char *a2)
{
	const char *args[] = { "-v", "-l", u->name, "--ship", local, "h1", a1, a2, NULL };

	if (fixture_cprun(args, NULL, 0, 60, r) != 0)
		return -1;
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		printf("# cprun --ship: status 0x%x, stderr: ", r->status);
		tap_print_escaped(r->err);
		putchar('\n');
	}
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* Writes the local script: it prints WORD and its two arguments. */
static void write_script(const char *word)
{
	FILE *f = fopen(local, "w");

	fprintf(f, "#!/bin/sh\necho \"%s $1 $2\"\n", word);
	fclose(f);
	chmod(local, 0755);
}

/* How many shipped files U's cache holds; the last one's path in PATH. */
static int cached(const struct boot_user *u, char *path, size_t len)
{
	DIR *d = opendir(u->cache);
	struct dirent *e;
	int n = 0;

	path[0] = '\0';
	while (d && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "cpremote-ship-", 14) == 0) {
			snprintf(path, len, "%s/%s", u->cache, e->d_name);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

static void cold_warm_changed(const struct boot_user *u)
{
	struct fixture_result r;
	struct stat st;
	char path[600];

	boot_clean(u);
	write_script("one");
	ok_int(ship(u, &r, "a", "b c"), 0, "cold: the shipped script runs");
	ok_str(r.out, "one a b c\n", "with its arguments");
	ok(uploaded(&r) > 0, "cold: it was uploaded");
	fixture_result_free(&r);
	ok(cached(u, path, sizeof path) == 1 && stat(path, &st) == 0 && (st.st_mode & 07777) == 0700 &&
		   st.st_uid == u->uid,
	   "the cache holds it, the user's, mode 0700");

	ok_int(ship(u, &r, "x", NULL), 0, "warm: it runs again");
	ok_str(r.out, "one x \n", "with the new arguments");
	ok_int((int)uploaded(&r), 0, "warm: nothing was uploaded");
	fixture_result_free(&r);

	write_script("two");
	ok_int(ship(u, &r, "y", NULL), 0, "changed: the new version runs");
	ok_str(r.out, "two y \n", "its output is the new one");
	ok(uploaded(&r) > 0, "changed: it was uploaded anew");
	fixture_result_free(&r);
	ok_int(cached(u, path, sizeof path), 2, "each version has its own cache entry");
}

static void concurrent(const struct boot_user *u)
{
	pid_t pids[RUNS];
	int good = 0, uploads = 0, st;

	boot_clean(u);
	write_script("race");
	fflush(stdout);
	for (int i = 0; i < RUNS; i++) {
		if ((pids[i] = fork()) == 0) {
			struct fixture_result r;
			char arg[16], want[64];
			int rc;

			snprintf(arg, sizeof arg, "%d", i);
			snprintf(want, sizeof want, "race %d \n", i);
			/* Stdout is the TAP stream: keep this child's words out of it. */
			rc = ship(u, &r, arg, NULL);
			_exit(rc == 0 && strcmp(r.out, want) == 0 ? (uploaded(&r) > 0 ? 11 : 10) : 1);
		}
	}
	for (int i = 0; i < RUNS; i++) {
		if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) >= 10) {
			good++;
			uploads += WEXITSTATUS(st) - 10;
		}
	}
	ok_int(good, RUNS, "8 first uses at once all run the shipped script");
	ok_int(uploads, 1, "exactly one of them uploaded it");
}

static void tampered(const struct boot_user *u)
{
	struct fixture_result r;
	char path[600];

	boot_clean(u);
	write_script("real");
	ok_int(ship(u, &r, NULL, NULL), 0, "shipped once");
	fixture_result_free(&r);
	unlink(ran_marker);
	ok(cached(u, path, sizeof path) == 1 &&
		   boot_sh("printf '#!/bin/sh\\ntouch %s\\necho fake\\n' > '%s'", ran_marker, path) == 0,
	   "the cached copy is replaced by other content, same name, same owner and mode");
	ok_int(ship(u, &r, NULL, NULL), 0, "the next use still runs");
	ok_str(r.out, "real  \n", "the real script");
	ok(uploaded(&r) > 0, "the tampered copy was refused: a new upload");
	fixture_result_free(&r);
	ok(access(ran_marker, F_OK) != 0, "the tampered copy never ran");
	unlink(ran_marker);
}

static void binary_and_errors(const struct boot_user *u)
{
	struct fixture_result r;
	const char *missing[] = { "-l", u->name, "--ship", "/nonexistent/prog", "h1", NULL };

	ok_int(boot_sh("cp /bin/echo '%s'", local), 0, "an executable to ship");
	ok_int(ship(u, &r, "binary", "ok"), 0, "a shipped executable runs");
	ok_str(r.out, "binary ok\n", "with its arguments");
	fixture_result_free(&r);
	ok_int(fixture_cprun(missing, NULL, 0, 30, &r), 0, "cprun with a missing local file ran");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0 && strstr(r.err, "/nonexistent/prog"),
	   "a missing local file fails, naming it");
	fixture_result_free(&r);
}

/* The bytes the -v line of HOST ("HOST: shipped ...") says were uploaded, or -1. */
static long long host_uploaded(const struct fixture_result *r, const char *host)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, "cprun: %s: shipped ", host);
	/* "cprun: HOST: shipped FILE: N bytes uploaded": N follows FILE's ": ". */
	if (r->err == NULL || (p = strstr(r->err, key)) == NULL ||
	    (p = strstr(p + strlen(key), ": ")) == NULL)
		return -1;
	return atoll(p + 2);
}

/* Runs "cprun -v -H cprship@h1,cprship2@h2 --ship LOCAL ARGS..." (ARGS NULL-terminated, at most 4). */
static int ship_multi(struct fixture_result *r, const char *const *args)
{
	const char *a[12] = { "-v", "-H", "cprship@h1,cprship2@h2", "--ship", local };
	size_t n = 5;

	for (; *args != NULL && n < 11; args++)
		a[n++] = *args;
	a[n] = NULL;
	if (fixture_cprun(a, NULL, 0, 60, r) != 0)
		return -1;
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		printf("# cprun -H --ship: status 0x%x, stderr: ", r->status);
		tap_print_escaped(r->err);
		putchar('\n');
	}
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

static void multi(const struct boot_user *u, const struct boot_user *u2)
{
	const char *plain[] = { "p", "q", NULL };
	const char *again[] = { "r", NULL };
	const char *as_arg[] = { "--ship-arg", "1", "sh", local, "s", NULL };
	struct fixture_result r;
	char path[600];

	boot_clean(u);
	boot_clean(u2);
	write_script("multi");
	ok_int(ship_multi(&r, plain), 0, "-H --ship: cold, every host ran it");
	ok(r.out && strstr(r.out, "cprship@h1: multi p q\n") && strstr(r.out, "cprship2@h2: multi p q\n"),
	   "each host's output, prefixed by host");
	ok(r.err && strstr(r.err, "cprun: 2 of 2 hosts succeeded\n"), "the summary");
	ok(host_uploaded(&r, "cprship@h1") > 0 && host_uploaded(&r, "cprship2@h2") > 0,
	   "each host got the file uploaded");
	fixture_result_free(&r);
	ok(cached(u, path, sizeof path) == 1 && cached(u2, path, sizeof path) == 1,
	   "each host's cache holds it");

	ok_int(ship_multi(&r, again), 0, "-H --ship: warm, every host ran it");
	ok(r.out && strstr(r.out, "cprship@h1: multi r \n") && strstr(r.out, "cprship2@h2: multi r \n"),
	   "each host's output, with the new arguments");
	ok_int((int)host_uploaded(&r, "cprship@h1"), 0, "warm: nothing uploaded to h1");
	ok_int((int)host_uploaded(&r, "cprship2@h2"), 0, "warm: nothing uploaded to h2");
	fixture_result_free(&r);

	ok_int(ship_multi(&r, as_arg), 0, "-H --ship --ship-arg 1 sh LOCAL s: ran");
	ok(r.out && strstr(r.out, "cprship@h1: multi s \n") && strstr(r.out, "cprship2@h2: multi s \n"),
	   "sh ran the cached copy given as its argument 1, with the next argument");
	ok_int((int)host_uploaded(&r, "cprship@h1"), 0, "the same cache entry (nothing uploaded)");
	fixture_result_free(&r);
}

/* --ship-arg N: PROGRAM runs as given, argv[N] is the cached copy; what the command line refuses. */
static void ship_arg(const struct boot_user *u)
{
	const char *shown[] = { "-l", u->name, "--ship", local,        "--ship-arg", "3",
				"h1", "sh",    "-c",     "cat \"$0\"", "LOCAL",      NULL };
	const char *few[] = { "-l", u->name, "--ship", local, "--ship-arg", "2", "h1", "cat", NULL };
	const char *alone[] = { "-l", u->name, "--ship-arg", "1", "h1", "cat", "x", NULL };
	const char *zero[] = { "-l", u->name, "--ship", local, "--ship-arg", "0", "h1", "cat", "x", NULL };
	struct fixture_result r;

	/* sh -c 'cat "$0"' PATH: the cached copy is $0 of that script; cat shows it is the file. */
	write_script("arg");
	ok_int(fixture_cprun(shown, NULL, 0, 60, &r), 0, "cprun --ship-arg 3 h1 sh -c SCRIPT LOCAL ran");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && r.out &&
		   strcmp(r.out, "#!/bin/sh\necho \"arg $1 $2\"\n") == 0,
	   "argument 3 is the cached copy of the local file");
	fixture_result_free(&r);
	ok_int(fixture_cprun(few, NULL, 0, 30, &r), 0, "cprun --ship-arg past the arguments ran");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2,
	   "--ship-arg past PROGRAM's arguments: usage error");
	fixture_result_free(&r);
	ok_int(fixture_cprun(alone, NULL, 0, 30, &r), 0, "cprun --ship-arg without --ship ran");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "--ship-arg without --ship: usage error");
	fixture_result_free(&r);
	ok_int(fixture_cprun(zero, NULL, 0, 30, &r), 0, "cprun --ship-arg 0 ran");
	ok(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "--ship-arg 0: usage error");
	fixture_result_free(&r);
}

int main(void)
{
	struct boot_user u, u2;

	boot_init();
	if (boot_user("cprship", &u) != 0)
		tap_skip_all("no user cprship (start the hosts with scripts/test-hosts as root)");
	snprintf(local, sizeof local, "/tmp/cpremote-ship-test-%d", (int)getpid());
	snprintf(ran_marker, sizeof ran_marker, "/tmp/cpremote-ship-tamper-ran-%d", (int)getpid());
	cold_warm_changed(&u);
	concurrent(&u);
	tampered(&u);
	binary_and_errors(&u);
	ship_arg(&u);
	if (boot_user("cprship2", &u2) == 0) {
		multi(&u, &u2);
		boot_clean(&u2);
	} else {
		ok(0, "no user cprship2 for the -H test (scripts/test-hosts makes it)");
	}
	unlink(local);
	boot_clean(&u);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
