/*
 * fanout.h — what the fan-out tests share: how many of the test hosts
 * h1..h4 exist, and picking the lines one host wrote out of cprun -H's
 * mixed output.
 */
#ifndef CPR_TEST_FANOUT_H
#define CPR_TEST_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "cpremote.h"

/* The fan-out tests want this many hosts (scripts/test: CPREMOTE_TEST_HOSTS=4). */
#define FAN_MAX_HOSTS 4

/*
 * How many of h1..hFAN_MAX_HOSTS the hosts' ssh_config names, counted
 * from h1 up; skips the whole test when fewer than two.
 */
int fan_hosts(void);

/* Room for one host's address in fan_host_addrs(). */
#define FAN_ADDR_LEN 32

/*
 * Fills ADDR[0..NHOSTS-1] with the addresses of h1..hNHOSTS in the hosts'
 * ssh_config ("?" for a host it does not name).
 */
void fan_host_addrs(char addr[][FAN_ADDR_LEN], int nhosts);

/*
 * The lines of OUT that start with PREFIX, in order, with PREFIX removed,
 * each ended by '\n'; malloc'ed.  Exits the test when out of memory.
 */
char *fan_lines_of(const char *out, const char *prefix);

/* The number of '\n' in S. */
size_t fan_count_lines(const char *s);

#define FAN_KEY_LEN 32

/*
 * One remote test/channel/hmac_child: a random key in argv, LEN random
 * bytes to send on its channel, its answer "<hmac hex> <SSH_CONNECTION>".
 */
struct fan_peer {
	int host; /* 0-based: h1 is 0 */
	cpremote_child *child; /* NULL when it did not start */
	int fd; /* the caller's end of the channel, non-blocking */
	uint8_t key[FAN_KEY_LEN];
	uint8_t *data;
	size_t len, sent;
	char answer[512];
	size_t alen;
	int done; /* a whole answer line, end of file or an error */
};

/*
 * Starts hmac_child (path PROG) on host HOST+1 for LEN bytes, with fresh
 * random key and data.  Returns 0, or cpremote_run()'s error after a TAP
 * diagnostic (then P is done, P->child NULL).
 */
int fan_peer_start(struct fan_peer *p, const char *prog, int host, size_t len);

/*
 * Feeds every peer's data and reads every answer together, with poll(),
 * until all are done or DEADLINE_MS passed.  Returns how many answered.
 */
int fan_peers_drive(struct fan_peer *peers, int n, int deadline_ms);

/*
 * Checks P's answer (the HMAC of its data, ADDR as the server address of
 * $SSH_CONNECTION) and that it exited 0 (waiting up to TIMEOUT_S).
 * Returns 1, or 0 after a TAP diagnostic saying what was wrong.
 */
int fan_peer_check(struct fan_peer *p, const char *addr, int timeout_s);

/* Releases P's child and data.  Accepts a never-started peer. */
void fan_peer_free(struct fan_peer *p);

/* Releases the N peers of the malloc'ed array PEERS and the array. */
void fan_peers_free(struct fan_peer *peers, int n);

#endif
