/*
 * test_binary.c — the channel is binary-clean and carries bulk both ways at
 * once: all 256 byte values come back as they went, then 64 MiB go out
 * while 64 MiB (transformed by the child) come back at the same time.  The
 * caller writes and reads concurrently with poll(), checks every byte on
 * the fly, and compares SHA-256 digests of both directions with the
 * child's own.
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

#define BULK_LEN (64ull << 20)
#define CHUNK 65536
#define TRAILER (2 * SHA256_LEN)

static cpremote_child *start(const char *prog, const char *mode, unsigned long long len, const char *host)
{
	char lenstr[32];
	const char *argv[] = { prog, mode, lenstr, NULL };
	struct cpremote_options o;
	cpremote_child *child = NULL;
	char what[128];
	int r;

	snprintf(lenstr, sizeof(lenstr), "%llu", len);
	fixture_options(&o, host);
	o.file = prog;
	o.argv = argv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &child);
	snprintf(what, sizeof(what), "%s: cpremote_run starts binary_child %s", host, mode);
	ok_int(r, 0, what);
	if (r != 0) {
		printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return child;
}

static void finish(cpremote_child *child, const char *label)
{
	char what[128];
	int status = 0, r = fixture_wait_child(child, &status, 30);

	snprintf(what, sizeof(what), "%s: the child exited 0", label);
	ok_str(r == 1 ? cl_status_str(status) : "(no status)", "exited 0", what);
	if (r < 0)
		printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_child_errmsg(child));
	cpremote_free(child);
}

static void all_bytes(const char *prog)
{
	uint8_t out[1024], back[sizeof(out) + TRAILER], digest[SHA256_LEN];
	cpremote_child *child = start(prog, "echo", sizeof(out), "h1");
	size_t i;
	ssize_t n;
	int fd;

	if (child == NULL)
		return;
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)i;
	fd = cpremote_channel_fd(child);
	ok_int(io_write_all(fd, out, sizeof(out)), 0, "256 values: written");
	n = io_read_full(fd, back, sizeof(back));
	ok_int(n, sizeof(back), "256 values: echo and digests came back");
	for (i = 0; n == (ssize_t)sizeof(back) && i < sizeof(out) && back[i] == out[i]; i++)
		;
	ok_int(i, sizeof(out), "256 values: every byte value came back unchanged (first difference)");
	sha256_digest(out, sizeof(out), digest);
	ok(n == (ssize_t)sizeof(back) && memcmp(back + sizeof(out), digest, SHA256_LEN) == 0,
	   "256 values: the child's digest of what it read matches");
	finish(child, "256 values");
}

struct bulk {
	int fd;
	uint64_t seed;
	uint8_t wbuf[CHUNK], rbuf[CHUNK], want[CHUNK];
	size_t wpos, wlen; /* the unwritten part of wbuf */
	unsigned long long sent, recvd; /* stream offsets, both ways */
	unsigned long long first_bad; /* offset of the first wrong byte, or ~0 */
	uint8_t trailer[TRAILER];
	size_t tlen;
	struct sha256 sent_hash, recv_hash;
	int eof, err;
};

static void bulk_write(struct bulk *b)
{
	ssize_t n;

	if (b->wpos == b->wlen) {
		size_t len = BULK_LEN - b->sent < CHUNK ? (size_t)(BULK_LEN - b->sent) : CHUNK;

		io_stream_fill(b->seed, b->sent, b->wbuf, len);
		sha256_update(&b->sent_hash, b->wbuf, len);
		b->wpos = 0;
		b->wlen = len;
	}
	n = write(b->fd, b->wbuf + b->wpos, b->wlen - b->wpos);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			b->err = errno;
		return;
	}
	b->wpos += (size_t)n;
	b->sent += (unsigned long long)n;
}

static void bulk_read(struct bulk *b)
{
	ssize_t n = read(b->fd, b->rbuf, sizeof(b->rbuf)), i, data;

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			b->err = errno;
		return;
	}
	if (n == 0) {
		b->eof = 1;
		return;
	}
	data = BULK_LEN - b->recvd < (unsigned long long)n ? (ssize_t)(BULK_LEN - b->recvd) : n;
	io_stream_fill(b->seed, b->recvd, b->want, (size_t)data);
	for (i = 0; i < data; i++)
		if (b->rbuf[i] != (b->want[i] ^ 0xa5) && b->first_bad == ~0ull) {
			b->first_bad = b->recvd + (unsigned long long)i;
			printf("#   byte %llu: got 0x%02x, want 0x%02x\n", b->first_bad, b->rbuf[i],
			       b->want[i] ^ 0xa5);
		}
	sha256_update(&b->recv_hash, b->rbuf, (size_t)data);
	b->recvd += (unsigned long long)data;
	if (n > data) {
		size_t extra = (size_t)(n - data);

		if (extra > TRAILER - b->tlen)
			extra = TRAILER - b->tlen; /* more than the trailer: counted below */
		memcpy(b->trailer + b->tlen, b->rbuf + data, extra);
		b->tlen += extra;
		if ((size_t)(n - data) > extra)
			b->err = EPROTO;
	}
}

static void bulk(const char *prog)
{
	static struct bulk b;
	uint8_t sent_digest[SHA256_LEN], recv_digest[SHA256_LEN];
	cpremote_child *child = start(prog, "xor", BULK_LEN, "h2");
	long long t0, ms, deadline;
	char msg[128];

	if (child == NULL)
		return;
	memset(&b, 0, sizeof(b));
	b.fd = cpremote_channel_fd(child);
	cl_random(&b.seed, sizeof(b.seed));
	b.first_bad = ~0ull;
	sha256_init(&b.sent_hash);
	sha256_init(&b.recv_hash);
	cl_nonblock(b.fd);
	t0 = fixture_now_ms();
	deadline = t0 + 180000;
	while (!b.eof && !b.err && b.tlen < TRAILER && fixture_now_ms() < deadline) {
		struct pollfd p = { .fd = b.fd, .events = POLLIN };

		if (b.sent < BULK_LEN)
			p.events |= POLLOUT;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			break;
		if ((p.revents & POLLOUT) && b.sent < BULK_LEN)
			bulk_write(&b);
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			bulk_read(&b);
	}
	ms = fixture_now_ms() - t0;
	snprintf(msg, sizeof(msg), "bulk: %llu MiB each way in %lld ms (%.1f MB/s each way)", BULK_LEN >> 20,
		 ms, ms > 0 ? (double)BULK_LEN / 1e3 / (double)ms : 0.0);
	tap_diag(msg);
	if (b.err)
		printf("#   channel error: %s\n", strerror(b.err));
	ok_int(b.sent, BULK_LEN, "bulk: all 64 MiB written");
	ok_int(b.recvd, BULK_LEN, "bulk: all 64 MiB came back");
	ok(b.first_bad == ~0ull, "bulk: every byte came back as the child transformed it");
	ok_int(b.tlen, TRAILER, "bulk: the child's digests came after the data");
	sha256_final(&b.sent_hash, sent_digest);
	sha256_final(&b.recv_hash, recv_digest);
	ok(b.tlen == TRAILER && memcmp(b.trailer, sent_digest, SHA256_LEN) == 0,
	   "bulk: caller->child digest matches the child's");
	ok(b.tlen == TRAILER && memcmp(b.trailer + SHA256_LEN, recv_digest, SHA256_LEN) == 0,
	   "bulk: child->caller digest matches the child's");
	finish(child, "bulk");
}

int main(void)
{
	char *prog;

	fixture_dir();
	prog = fixture_prog("channel/binary_child");
	all_bytes(prog);
	bulk(prog);
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
