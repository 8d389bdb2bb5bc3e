/*
 * fixture.c — the end-to-end tests' access to the project's test hosts
 * (started by scripts/test-hosts), to the built programs, and to the one
 * clock of their deadlines.  Running cprun: fixture_run.c; waiting for a
 * remote child: fixture_child.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"

static char *xstrdup_printf(const char *a, const char *b)
{
	size_t n = strlen(a) + 1 + strlen(b) + 1;
	char *s = malloc(n);

	if (s == NULL) {
		perror("malloc");
		abort();
	}
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

/*
 * Returns $CPREMOTE_TEST_DIR.  Without it (meson test run by hand, no
 * hosts started) the test is skipped as a whole rather than failed.
 */
const char *fixture_dir(void)
{
	const char *d = getenv("CPREMOTE_TEST_DIR");

	if (d == NULL || *d == '\0')
		tap_skip_all("no test hosts: CPREMOTE_TEST_DIR is not set (use scripts/test)");
	return d;
}

/* Returns DIR/NAME, malloc'ed. */
char *fixture_file(const char *name)
{
	return xstrdup_printf(fixture_dir(), name);
}

/* Returns $CPREMOTE_TEST_BUILD/RELPATH, malloc'ed; aborts without it (meson sets it). */
char *fixture_prog(const char *relpath)
{
	const char *b = getenv("CPREMOTE_TEST_BUILD");

	if (b == NULL || *b == '\0') {
		tap_diag("CPREMOTE_TEST_BUILD is not set (run the tests with meson test)");
		exit(1);
	}
	return xstrdup_printf(b, relpath);
}

/*
 * Zeroes *O (setting its .size) and points it at HOST through the hosts' ssh_config.  The
 * config string lives as long as the process: tests build many options.
 */
void fixture_options(struct cpremote_options *o, const char *host)
{
	static char *config;

	if (config == NULL)
		config = fixture_file("ssh_config");
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->host = host;
	o->config = config;
}

/* See fixture.h. */
int64_t fixture_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Prints every hN/sshd.log of the hosts' directory as "# " lines. */
void fixture_dump_logs(void)
{
	const char *dir = getenv("CPREMOTE_TEST_DIR");
	char path[4096], line[4096];
	int i;

	if (dir == NULL)
		return;
	for (i = 1; i < 100; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/h%d/sshd.log", dir, i);
		if ((f = fopen(path, "re")) == NULL)
			break;
		printf("# ---- %s\n", path);
		while (fgets(line, sizeof(line), f) != NULL) {
			size_t n = strlen(line);

			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = '\0';
			printf("#   %s\n", line);
		}
		fclose(f);
	}
	fflush(stdout);
}

/* See fixture.h. */
const char *fixture_port(void)
{
	static char port[16];
	const char *env = getenv("CPREMOTE_TEST_PORT");
	char *path, line[256];
	FILE *f;

	if (env != NULL && *env != '\0')
		return env;
	if (port[0] != '\0')
		return port;
	snprintf(port, sizeof(port), "2222");
	path = fixture_file("env");
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "export CPREMOTE_TEST_PORT=%15[0-9]", port) == 1)
				break;
		fclose(f);
	}
	free(path);
	return port;
}
