/*
 * test_hmac64.c — 16 children on each test host at once (64 on four
 * hosts), each checked by the cp-remote reference's HMAC exchange: a
 * random key in argv, 256 KiB of random data on the channel, the
 * HMAC-SHA256 and $SSH_CONNECTION back.  Every child is started before
 * any is fed, and each blocks until fed, so all of them run at the same
 * time; the caller then drives every channel together with poll().
 */
#include <stdio.h>
#include <stdlib.h>

#include "caller.h"
#include "fanout.h"
#include "fixture.h"
#include "tap.h"

#define PER_HOST 16
#define DATA_LEN (256u << 10)
#define DEADLINE_MS 120000

int main(void)
{
	struct fan_peer *peers;
	int nhosts, npeers, started = 0, answered;
	char *prog, addr[FAN_MAX_HOSTS][FAN_ADDR_LEN], what[128];
	long long t0, t_spawned, t_done;

	fixture_dir();
	nhosts = fan_hosts();
	npeers = nhosts * PER_HOST;
	prog = fixture_prog("channel/hmac_child");
	if ((peers = calloc((size_t)npeers, sizeof(*peers))) == NULL)
		return 2;
	fan_host_addrs(addr, nhosts);

	/* Round robin over the hosts, as a fan-out caller would start them. */
	t0 = fixture_now_ms();
	for (int i = 0; i < npeers; i++)
		started += fan_peer_start(&peers[i], prog, i % nhosts, DATA_LEN) == 0;
	t_spawned = fixture_now_ms();
	snprintf(what, sizeof(what), "all %d children started (%d on each of %d hosts)", npeers, PER_HOST,
		 nhosts);
	ok_int(started, npeers, what);

	answered = fan_peers_drive(peers, npeers, DEADLINE_MS);
	t_done = fixture_now_ms();
	ok_int(answered, npeers, "every child answered");

	for (int h = 0; h < nhosts; h++) {
		int good = 0, distinct = 1;

		for (int i = h; i < npeers; i += nhosts) {
			good += fan_peer_check(&peers[i], addr[h], 30);
			/* Sixteen processes alive together on one host have sixteen pids. */
			for (int j = h; j < i; j += nhosts)
				if (peers[i].child != NULL && peers[j].child != NULL &&
				    cpremote_pid(peers[j].child) == cpremote_pid(peers[i].child))
					distinct = 0;
		}
		snprintf(what, sizeof(what), "h%d: %d HMACs right, each from that host, exit 0", h + 1,
			 PER_HOST);
		ok_int(good, PER_HOST, what);
		snprintf(what, sizeof(what), "h%d: the children ran at once (distinct pids)", h + 1);
		ok(distinct, what);
	}
	printf("# %d children: started in %lld ms, %u KiB each exchanged in %lld ms\n", npeers,
	       t_spawned - t0, DATA_LEN >> 10, t_done - t_spawned);
	fan_peers_free(peers, npeers);
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
