/* util.c — the clock, fd, fd-limit and setting helpers that the helper and its guardian share. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "helper.h"

int helper_warn_quiet;

/* Without CPREMOTE_GRACE_MS: SIGTERM to SIGKILL in 5 s. */
#define GRACE_MS_DEFAULT 5000

/* A longer grace than 10 min is taken for a mistake, as garbage is. */
#define GRACE_MS_MAX 600000

long helper_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int helper_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

long helper_grace_ms(void)
{
	const char *s = getenv("CPREMOTE_GRACE_MS");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return GRACE_MS_DEFAULT;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > GRACE_MS_MAX)
		return GRACE_MS_DEFAULT;
	return v;
}

/* The soft fd limit the helper was started with, for its children; 0: not changed. */
static struct rlimit nofile_orig;
static int nofile_raised;

int helper_nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur == rl.rlim_max)
		return 0;
	nofile_orig = rl;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	nofile_raised = 1;
	return 0;
}

int helper_nofile_restore(void)
{
	if (!nofile_raised)
		return 0;
	return setrlimit(RLIMIT_NOFILE, &nofile_orig);
}

void helper_warn(const char *fmt, ...)
{
	va_list ap;

	if (helper_warn_quiet)
		return;
	fputs("cpremote-helper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
