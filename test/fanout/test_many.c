/*
 * test_many.c — 1000 children spread over the test hosts, all alive at
 * once, each answering one message (a 16-byte message, its HMAC back:
 * test/channel's hmac_child).  The caller holds two fds per child, so the
 * test raises its soft RLIMIT_NOFILE to the hard limit first.  The time
 * taken is reported as a diagnostic, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "caller.h"
#include "fanout.h"
#include "fixture.h"
#include "tap.h"

#define NCHILDREN 1000
#define MSG_LEN 16
#define DEADLINE_MS 180000

int main(void)
{
	struct fan_peer *peers;
	struct rlimit rl;
	int nhosts, started = 0, answered, good = 0, per_host[FAN_MAX_HOSTS] = { 0 };
	char *prog, addr[FAN_MAX_HOSTS][FAN_ADDR_LEN], what[128];
	long long t0, t_mark = 0, t_spawned, t_answered, t_done;

	fixture_dir();
	nhosts = fan_hosts();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 2 * NCHILDREN + 64) {
		printf("1..0 # SKIP RLIMIT_NOFILE hard limit %llu is below %d\n",
		       (unsigned long long)rl.rlim_max, 2 * NCHILDREN + 64);
		return 0;
	}
	prog = fixture_prog("channel/hmac_child");
	if ((peers = calloc(NCHILDREN, sizeof(*peers))) == NULL)
		return 2;
	fan_host_addrs(addr, nhosts);

	t0 = fixture_now_ms();
	for (int i = 0; i < NCHILDREN; i++) {
		/* How the start time grows with the children already running. */
		if (i % 250 == 0 && i > 0)
			printf("# children %d..%d started in %lld ms\n", i - 250, i - 1,
			       fixture_now_ms() - t_mark);
		if (i % 250 == 0)
			t_mark = fixture_now_ms();
		/* Stop early once the hosts refuse: a thousand identical failures say nothing more. */
		if (fan_peer_start(&peers[i], prog, i % nhosts, MSG_LEN) == 0)
			started++;
		else if (i - started >= 10)
			break;
	}
	t_spawned = fixture_now_ms();
	snprintf(what, sizeof(what), "%d children started on %d hosts, all alive at once", NCHILDREN, nhosts);
	ok_int(started, NCHILDREN, what);

	answered = fan_peers_drive(peers, NCHILDREN, DEADLINE_MS);
	t_answered = fixture_now_ms();
	ok_int(answered, started, "every child answered its message");
	for (int i = 0; i < NCHILDREN; i++) {
		if (fan_peer_check(&peers[i], addr[peers[i].host], 30)) {
			good++;
			per_host[peers[i].host]++;
		}
	}
	t_done = fixture_now_ms();
	ok_int(good, NCHILDREN, "every answer right, from its host, and every child exited 0");
	for (int h = 0; h < nhosts; h++) {
		int want = NCHILDREN / nhosts + (h < NCHILDREN % nhosts);

		snprintf(what, sizeof(what), "h%d ran its %d", h + 1, want);
		ok_int(per_host[h], want, what);
	}
	printf("# %d children on %d hosts: started in %lld ms (%.2f ms each), answered in %lld ms, "
	       "reaped in %lld ms, %lld ms in all\n",
	       NCHILDREN, nhosts, t_spawned - t0, (double)(t_spawned - t0) / NCHILDREN,
	       t_answered - t_spawned, t_done - t_answered, t_done - t0);
	fan_peers_free(peers, NCHILDREN);
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
