/*
 * bp_child.c — the remote program of the backpressure tests, run on a
 * test host with its channel on $CHANNEL_FD.  Streams carry pattern.h
 * bytes: seed 1 caller -> child on the channel, 2 child -> caller on the
 * channel, 3 stdout, 4 stderr.
 *
 * Usage: bp_child MODE BYTES
 *   echo   writes BYTES to stdout (then closes it) while echoing what comes on the
 *          channel; ends when both are done (channel EOF)
 *   stuff  writes BYTES on the channel without reading it, then reads and
 *          checks BYTES from it
 *   all    at once: BYTES on the channel, stdout and stderr, and reads and
 *          checks BYTES from the channel; exits right after its last write
 * Exit status: 0; 3 when the channel data was wrong or short; 2 usage or
 * system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

#define CHUNK (64 * 1024)

struct wstream {
	int fd;
	uint32_t seed;
	uint64_t off, total;
};

/* Writes the next piece of W's pattern; returns -1 on an error other than EAGAIN. */
static int push(struct wstream *w)
{
	static uint8_t buf[CHUNK];
	size_t n = w->total - w->off < CHUNK ? (size_t)(w->total - w->off) : CHUNK;
	ssize_t k;

	pattern_fill(w->seed, w->off, buf, n);
	k = write(w->fd, buf, n);
	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	w->off += (uint64_t)k;
	return 0;
}

static int nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* echo: stdout flood plus a channel echo. */
static int do_echo(int ch, uint64_t bytes)
{
	struct wstream out = { 1, 3, 0, bytes };
	uint8_t msg[CHUNK], pend[CHUNK];
	size_t plen = 0;
	int ch_eof = 0;

	if (nonblock(1) < 0)
		return 2;
	while (out.off < out.total || !ch_eof || plen > 0) {
		struct pollfd p[2] = {
			{ .fd = out.fd, .events = out.off < out.total ? POLLOUT : 0 },
			{ .fd = ch, .events = (!ch_eof && plen == 0 ? POLLIN : 0) | (plen ? POLLOUT : 0) }
		};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 2;
		if ((p[0].revents & (POLLOUT | POLLERR)) && push(&out) < 0)
			return 2;
		/* The caller sees the end of stdout while the channel goes on. */
		if (out.off == out.total && out.fd >= 0) {
			close(1);
			out.fd = -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t k = read(ch, msg, sizeof(msg));

			if (k <= 0)
				ch_eof = 1;
			else {
				memcpy(pend, msg, (size_t)k);
				plen = (size_t)k;
			}
		}
		if (plen > 0 && (p[1].revents & POLLOUT)) {
			ssize_t k = write(ch, pend, plen);

			if (k < 0 && errno != EAGAIN)
				return 2;
			if (k > 0) {
				memmove(pend, pend + k, plen - (size_t)k);
				plen -= (size_t)k;
			}
		}
	}
	return 0;
}

/* Reads and checks BYTES of seed 1 from CH (blocking).  0, or 3. */
static int take_channel(int ch, uint64_t bytes)
{
	static uint8_t buf[CHUNK];
	uint64_t got = 0;

	while (got < bytes) {
		ssize_t k = read(ch, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || !pattern_check(1, got, buf, (size_t)k))
			return 3;
		got += (uint64_t)k;
	}
	return 0;
}

static int do_stuff(int ch, uint64_t bytes)
{
	struct wstream w = { ch, 2, 0, bytes };

	/* Blocking writes: this side stops reading until it has written everything. */
	while (w.off < w.total)
		if (push(&w) < 0)
			return 2;
	return take_channel(ch, bytes);
}

static int do_all(int ch, uint64_t bytes)
{
	struct wstream w[3] = { { ch, 2, 0, bytes }, { 1, 3, 0, bytes }, { 2, 4, 0, bytes } };
	static uint8_t buf[CHUNK];
	uint64_t got = 0;
	int i;

	if (nonblock(ch) < 0 || nonblock(1) < 0 || nonblock(2) < 0)
		return 2;
	while (got < bytes || w[0].off < bytes || w[1].off < bytes || w[2].off < bytes) {
		struct pollfd p[4];

		for (i = 0; i < 3; i++)
			p[i] = (struct pollfd){ .fd = w[i].fd, .events = w[i].off < bytes ? POLLOUT : 0 };
		p[0].events |= got < bytes ? POLLIN : 0;
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return 2;
		for (i = 0; i < 3; i++)
			if ((p[i].revents & (POLLOUT | POLLERR)) && w[i].off < bytes && push(&w[i]) < 0)
				return 2;
		if ((p[0].revents & (POLLIN | POLLHUP)) && got < bytes) {
			ssize_t k = read(ch, buf, sizeof(buf));

			if (k == 0 || (k > 0 && !pattern_check(1, got, buf, (size_t)k)))
				return 3;
			if (k > 0)
				got += (uint64_t)k;
		}
	}
	/* Exit at once: what was just written must still arrive before the status. */
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("CHANNEL_FD");
	uint64_t bytes;
	int ch;

	if (argc != 3 || env == NULL) {
		fprintf(stderr, "usage: bp_child echo|stuff|all BYTES (with CHANNEL_FD set)\n");
		return 2;
	}
	ch = atoi(env);
	bytes = strtoull(argv[2], NULL, 10);
	if (strcmp(argv[1], "echo") == 0)
		return do_echo(ch, bytes);
	if (strcmp(argv[1], "stuff") == 0)
		return do_stuff(ch, bytes);
	if (strcmp(argv[1], "all") == 0)
		return do_all(ch, bytes);
	return 2;
}
