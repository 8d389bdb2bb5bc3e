/*
 * test_hmac.c — the cp-remote reference's own check, on three hosts at
 * once: each remote child gets a random 256-byte key in argv, reads 1 MiB
 * of random data from its channel and answers the HMAC-SHA256 and its
 * $SSH_CONNECTION.  The caller starts all three, then drives the three
 * channels together with poll(), and checks each digest and that each
 * child really ran on its own host (the server address in SSH_CONNECTION).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caller.h"
#include "cpremote.h"
#include "fixture.h"
#include "io.h"
#include "sha256.h"
#include "tap.h"

#define NHOSTS 3
#define KEY_LEN 256
#define DATA_LEN (1u << 20)
#define DEADLINE_MS 60000

struct peer {
	char host[8];
	cpremote_child *child;
	int fd; /* the caller's end of the channel, non-blocking */
	uint8_t key[KEY_LEN];
	uint8_t *data;
	size_t sent;
	char answer[1024];
	size_t alen;
	int done; /* a full line, end of file or an error */
};

/* Moves what it can of one peer's data out and its answer in. */
static void pump(struct peer *p, short revents)
{
	if ((revents & POLLOUT) && p->sent < DATA_LEN) {
		ssize_t n = write(p->fd, p->data + p->sent, DATA_LEN - p->sent);

		if (n > 0)
			p->sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			printf("# %s: write: %s\n", p->host, strerror(errno));
			p->done = 1;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = read(p->fd, p->answer + p->alen, sizeof(p->answer) - 1 - p->alen);

		if (n > 0) {
			p->alen += (size_t)n;
			p->answer[p->alen] = '\0';
			if (memchr(p->answer, '\n', p->alen) != NULL || p->alen == sizeof(p->answer) - 1)
				p->done = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (n < 0)
				printf("# %s: read: %s\n", p->host, strerror(errno));
			p->done = 1;
		}
	}
}

int main(void)
{
	struct peer peers[NHOSTS];
	char *prog, what[256];
	long long deadline;
	int i, started = 0;

	fixture_dir();
	prog = fixture_prog("channel/hmac_child");
	memset(peers, 0, sizeof(peers));

	for (i = 0; i < NHOSTS; i++) {
		struct peer *p = &peers[i];
		char keyhex[2 * KEY_LEN + 1], len[32];
		const char *argv[] = { prog, keyhex, len, NULL };
		struct cpremote_options o;
		int r;

		snprintf(p->host, sizeof(p->host), "h%d", i + 1);
		p->fd = -1;
		p->data = malloc(DATA_LEN);
		if (p->data == NULL)
			return 2;
		cl_random(p->key, sizeof(p->key));
		cl_random(p->data, DATA_LEN);
		io_hex(p->key, sizeof(p->key), keyhex);
		snprintf(len, sizeof(len), "%u", DATA_LEN);

		fixture_options(&o, p->host);
		o.file = prog;
		o.argv = argv;
		o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
		r = cpremote_run(&o, &p->child);
		snprintf(what, sizeof(what), "%.7s: cpremote_run starts hmac_child", p->host);
		ok_int(r, 0, what);
		if (r != 0) {
			printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_errmsg());
			continue;
		}
		p->fd = cpremote_channel_fd(p->child);
		ok(p->fd >= 0, "the child has a channel fd");
		if (p->fd < 0 || cl_nonblock(p->fd) < 0) {
			p->done = 1;
			continue;
		}
		started++;
	}

	/* All three run now; feed them together. */
	deadline = fixture_now_ms() + DEADLINE_MS;
	for (;;) {
		struct pollfd pfd[NHOSTS];
		int n = 0, map[NHOSTS];

		for (i = 0; i < NHOSTS; i++) {
			if (peers[i].fd < 0 || peers[i].done)
				continue;
			pfd[n].fd = peers[i].fd;
			pfd[n].events = POLLIN | (peers[i].sent < DATA_LEN ? POLLOUT : 0);
			pfd[n].revents = 0;
			map[n++] = i;
		}
		if (n == 0 || fixture_now_ms() > deadline)
			break;
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			pump(&peers[map[i]], pfd[i].revents);
	}

	for (i = 0; i < NHOSTS; i++) {
		struct peer *p = &peers[i];
		uint8_t mac[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1], got_hex[2 * SHA256_LEN + 1] = "";
		char conn[4][64] = { "", "", "", "" }, *addr, fallback[32];
		struct hmac_sha256 m;
		int status = 0, r;

		if (p->child == NULL)
			continue;
		hmac_sha256_init(&m, p->key, sizeof(p->key));
		hmac_sha256_update(&m, p->data, DATA_LEN);
		hmac_sha256_final(&m, mac);
		io_hex(mac, sizeof(mac), hex);

		snprintf(what, sizeof(what), "%.7s: all 1 MiB written to the channel", p->host);
		ok_int(p->sent, DATA_LEN, what);
		sscanf(p->answer, "%64s %63s %63s %63s %63s", got_hex, conn[0], conn[1], conn[2], conn[3]);
		snprintf(what, sizeof(what), "%.7s: the child's HMAC-SHA256 is right", p->host);
		ok_str(got_hex, hex, what);
		if (strcmp(got_hex, hex) != 0)
			printf("#   whole answer: \"%s\"\n", p->answer);

		addr = cl_host_addr(p->host);
		snprintf(fallback, sizeof(fallback), "127.0.0.%d", i + 2);
		snprintf(what, sizeof(what), "%.7s: SSH_CONNECTION names the host's address", p->host);
		ok_str(conn[2], addr != NULL ? addr : fallback, what);
		free(addr);

		r = fixture_wait_child(p->child, &status, 30);
		snprintf(what, sizeof(what), "%.7s: cpremote_wait reports the end", p->host);
		ok_int(r, 1, what);
		if (r < 0)
			printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_child_errmsg(p->child));
		snprintf(what, sizeof(what), "%.7s: the child exited 0", p->host);
		ok_str(r == 1 ? cl_status_str(status) : "(none)", "exited 0", what);
		cpremote_free(p->child);
		free(p->data);
	}
	ok_int(started, NHOSTS, "all three children ran at the same time");
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
