/* util.c — the clock, fd and setting helpers that main.c and spawn.c (the guardian) share. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>

#include "helper.h"

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
