/*
 * fixture_child.c — waiting for a remote child with a deadline, for every
 * test that starts children through libcpremote.  Its own file so that a
 * test tool that does not link the library (netproxy) can still link the
 * fixture's other parts.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "fixture.h"

/* See fixture.h.  The exit fd wakes it; a slice of 200 ms bounds each sleep. */
int fixture_wait_child(cpremote_child *child, int *status, double timeout_s)
{
	double deadline = fixture_now() + timeout_s;

	for (;;) {
		struct pollfd p = { .fd = cpremote_exit_fd(child), .events = POLLIN };
		double left = deadline - fixture_now();
		int r = cpremote_wait(child, status, CPREMOTE_WNOHANG);

		if (r != 0)
			return r;
		if (left <= 0)
			return 0;
		/* Without an exit fd, sleep briefly: a bad fd cannot hang the test. */
		if (p.fd < 0) {
			usleep(10000);
			continue;
		}
		if (poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return -errno;
	}
}
