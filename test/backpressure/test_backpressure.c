/*
 * test_backpressure.c — flow control end to end, through a real sshd test
 * host: nothing lost, no buffer without bound, no stream stalling another.
 *
 * Usage: test_backpressure slow|stuff|all   (sizes from CPREMOTE_STRESS_MIB)
 *   slow   the child writes STRESS MiB to stdout, read slowly at first,
 *          while channel messages are echoed: their round trip stays
 *          bounded, every stdout byte arrives
 *   stuff  both sides write 16 MiB on the channel without reading: the
 *          writers stop (backpressure), nothing deadlocks once they read
 *   all    STRESS MiB each way on the channel plus stdout and stderr at
 *          once, every byte checked; what the child wrote just before it
 *          exited is in the caller's fds when the status is reported
 * In every mode the relay's and the helper's memory high-water marks
 * (VmHWM) are read from /proc and must stay under RELAY_BOUND_KIB and
 * HELPER_BOUND_KIB.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "pattern.h"
#include "procinfo.h"
#include "tap.h"

#define HOST "h3"
#define RELAY_BOUND_KIB (32 * 1024)
#define HELPER_BOUND_KIB (8 * 1024)
#define STUFF_BYTES (16ull * 1024 * 1024)
#define SLOW_PHASE_S 3.0
#define ECHO_EVERY_S 0.05
#define ECHO_BOUND_S 2.0
#define MSG_LEN 16
#define CHUNK (64 * 1024)

/* The relay's and helper's high-water marks, sampled as the test goes. */
struct mem {
	pid_t relay, helper;
	long relay_kib, helper_kib;
};

static void mem_sample(struct mem *m)
{
	long v;

	if (m->relay > 0 && (v = procinfo_vm_kib(m->relay, "VmHWM")) > m->relay_kib)
		m->relay_kib = v;
	if (m->helper > 0 && (v = procinfo_vm_kib(m->helper, "VmHWM")) > m->helper_kib)
		m->helper_kib = v;
}

static void mem_report(const struct mem *m)
{
	printf("# relay pid %ld VmHWM %ld KiB (bound %d), helper pid %ld VmHWM %ld KiB (bound %d)\n",
	       (long)m->relay, m->relay_kib, RELAY_BOUND_KIB, (long)m->helper, m->helper_kib,
	       HELPER_BOUND_KIB);
	if (procinfo_hwm_unmeasurable() != NULL)
		printf("ok %d - relay VmHWM within its bound # SKIP %s\n", ++tap_n,
		       procinfo_hwm_unmeasurable());
	else
		ok(m->relay_kib > 0 && m->relay_kib < RELAY_BOUND_KIB, "relay VmHWM within its bound");
	/* A sanitized build runs a sanitized helper too (helper/meson.build). */
	if (procinfo_hwm_unmeasurable() != NULL)
		printf("ok %d - helper VmHWM within its bound # SKIP %s\n", ++tap_n,
		       procinfo_hwm_unmeasurable());
	else
		ok(m->helper_kib > 0 && m->helper_kib < HELPER_BOUND_KIB, "helper VmHWM within its bound");
}

/* A stream the caller reads and checks against pattern SEED. */
struct rd {
	int fd;
	uint32_t seed;
	uint64_t got;
	int eof, bad;
};

/* Reads up to MAX bytes; returns what a non-blocking read said (bytes, 0 EOF, -1 EAGAIN). */
static ssize_t rd_take(struct rd *r, size_t max)
{
	static uint8_t buf[CHUNK];
	ssize_t n;

	if (max > sizeof(buf))
		max = sizeof(buf);
	n = read(r->fd, buf, max);
	if (n > 0) {
		if (!r->bad && !pattern_check(r->seed, r->got, buf, (size_t)n)) {
			r->bad = 1;
			printf("# stream %u: wrong bytes at offset %llu\n", r->seed,
			       (unsigned long long)r->got);
		}
		r->got += (uint64_t)n;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		r->eof = 1;
		n = 0;
	} else {
		n = -1;
	}
	return n;
}

/* Writes the next piece of pattern SEED at *OFF (up to TOTAL); returns bytes or -1 (EAGAIN). */
static ssize_t wr_push(int fd, uint32_t seed, uint64_t *off, uint64_t total)
{
	static uint8_t buf[CHUNK];
	size_t n = total - *off < CHUNK ? (size_t)(total - *off) : CHUNK;
	ssize_t k;

	pattern_fill(seed, *off, buf, n);
	k = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k > 0)
		*off += (uint64_t)k;
	return k;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Starts bp_child MODE BYTES on the host; fills *m.  Returns the child or NULL (test failed). */
static cpremote_child *start(const char *mode, uint64_t bytes, int with_stderr, struct mem *m)
{
	static char *prog;
	char nbuf[32];
	const char *argv[] = { "bp_child", mode, nbuf, NULL };
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int r;

	if (prog == NULL)
		prog = fixture_prog("backpressure/bp_child");
	snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)bytes);
	fixture_options(&o, HOST);
	o.file = prog;
	o.argv = argv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = with_stderr ? CPREMOTE_STDIO_PIPE : CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &c);
	ok_int(r, 0, "child started");
	if (r != 0) {
		printf("#   %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->relay = procinfo_find_relay();
	/* The host is this machine: the child's parent is the helper. */
	m->helper = procinfo_ppid((pid_t)cpremote_pid(c));
	mem_sample(m);
	return c;
}

static void test_slow(uint64_t bytes)
{
	struct mem m;
	cpremote_child *c = start("echo", bytes, 0, &m);
	struct rd out;
	double t0 = fixture_now(), next_msg = t0, next_mem = t0, sent_at[4096];
	double max_slow = 0, max_fast = 0;
	uint8_t echo[MSG_LEN * 64];
	size_t echo_len = 0;
	unsigned seq = 0, echoed = 0;
	int ch, status = -1, r;

	if (c == NULL)
		return;
	ch = cpremote_channel_fd(c);
	out = (struct rd){ .fd = cpremote_stdio_fd(c, 1), .seed = 3 };
	nonblock(out.fd);
	while (!out.eof && fixture_now() - t0 < 600) {
		double t = fixture_now(), slow = t - t0 < SLOW_PHASE_S;
		struct pollfd p[2] = { { .fd = out.fd, .events = POLLIN }, { .fd = ch, .events = POLLIN } };

		if (t >= next_msg && seq < 4096) {
			char msg[MSG_LEN + 1];

			snprintf(msg, sizeof(msg), "%015u", seq);
			sent_at[seq++] = t;
			if (send(ch, msg, MSG_LEN, MSG_NOSIGNAL) != MSG_LEN)
				break;
			next_msg = t + ECHO_EVERY_S;
		}
		if (t >= next_mem) {
			mem_sample(&m);
			next_mem = t + 0.25;
		}
		/* Slow phase: stdout is left alone most of the time, so its stream stalls. */
		poll(p, 2, slow ? 10 : 50);
		if (slow)
			p[0].revents = (int)(seq % 10 == 0) * POLLIN;
		if (p[0].revents)
			while (rd_take(&out, slow ? 16384 : CHUNK) > 0 && !slow)
				;
		if (p[1].revents) {
			ssize_t n = recv(ch, echo + echo_len, sizeof(echo) - echo_len, MSG_DONTWAIT);

			if (n <= 0)
				break;
			echo_len += (size_t)n;
			while (echo_len >= MSG_LEN) {
				unsigned s = (unsigned)strtoul((char *)echo, NULL, 10);
				double rtt = fixture_now() - (s < seq ? sent_at[s] : 0);

				if (sent_at[s] - t0 < SLOW_PHASE_S)
					max_slow = rtt > max_slow ? rtt : max_slow;
				else
					max_fast = rtt > max_fast ? rtt : max_fast;
				echoed++;
				memmove(echo, echo + MSG_LEN, echo_len - MSG_LEN);
				echo_len -= MSG_LEN;
			}
		}
	}
	mem_sample(&m);
	shutdown(ch, SHUT_WR);
	r = fixture_wait_child(c, &status, 30);
	printf("# %llu MiB of stdout in %.1f s; %u of %u channel messages echoed; max round trip "
	       "%.1f ms while stdout was read slowly, %.1f ms after\n",
	       (unsigned long long)(out.got >> 20), fixture_now() - t0, echoed, seq, max_slow * 1e3,
	       max_fast * 1e3);
	ok_int(out.got, bytes, "slow: every stdout byte arrived");
	ok(!out.bad, "slow: stdout bytes are right");
	ok(echoed + 1 >= seq && echoed > SLOW_PHASE_S / ECHO_EVERY_S / 2,
	   "slow: the channel kept flowing both ways");
	ok(max_slow < ECHO_BOUND_S && max_fast < ECHO_BOUND_S, "slow: channel round trip bounded (2 s)");
	ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "slow: child exited 0");
	mem_report(&m);
	cpremote_free(c);
}

static void test_stuff(void)
{
	struct mem m;
	cpremote_child *c = start("stuff", STUFF_BYTES, 0, &m);
	struct rd in;
	uint64_t wrote = 0, stalled_at;
	double t0 = fixture_now(), end;
	int status = -1, r;

	if (c == NULL)
		return;
	in = (struct rd){ .fd = cpremote_channel_fd(c), .seed = 2 };
	/* Neither side reads: both must be stopped by flow control, not buffered without end. */
	end = fixture_now() + 2;
	while (fixture_now() < end && wrote < STUFF_BYTES) {
		struct pollfd p = { .fd = in.fd, .events = POLLOUT };

		poll(&p, 1, 50);
		while (wr_push(in.fd, 1, &wrote, STUFF_BYTES) > 0)
			;
		mem_sample(&m);
	}
	stalled_at = wrote;
	printf("# stuff: the caller wrote %llu KiB before it had to stop\n",
	       (unsigned long long)(stalled_at >> 10));
	ok(stalled_at < STUFF_BYTES / 2, "stuff: the caller's writes were stopped (backpressure)");
	/* Now both read: everything must get through. */
	while ((in.got < STUFF_BYTES || wrote < STUFF_BYTES) && !in.eof && fixture_now() - t0 < 120) {
		struct pollfd p = { .fd = in.fd, .events = POLLIN | (wrote < STUFF_BYTES ? POLLOUT : 0) };

		poll(&p, 1, 100);
		if (p.revents & POLLIN)
			rd_take(&in, CHUNK);
		if (wrote < STUFF_BYTES && (p.revents & POLLOUT))
			wr_push(in.fd, 1, &wrote, STUFF_BYTES);
		mem_sample(&m);
	}
	r = fixture_wait_child(c, &status, 30);
	printf("# stuff: 2 x %llu MiB in %.1f s\n", (unsigned long long)(STUFF_BYTES >> 20),
	       fixture_now() - t0);
	ok_int(in.got, STUFF_BYTES, "stuff: every channel byte from the child arrived");
	ok(!in.bad, "stuff: and they are right");
	ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "stuff: the child got every byte right (exit 0)");
	mem_report(&m);
	cpremote_free(c);
}

static void test_all(uint64_t bytes)
{
	struct mem m;
	cpremote_child *c = start("all", bytes, 1, &m);
	struct rd rs[3];
	uint64_t wrote = 0;
	double t0 = fixture_now(), next_mem = t0;
	int status = -1, r = 0, i, early_eof = 0, ch;

	if (c == NULL)
		return;
	ch = cpremote_channel_fd(c);
	rs[0] = (struct rd){ .fd = ch, .seed = 2 };
	rs[1] = (struct rd){ .fd = cpremote_stdio_fd(c, 1), .seed = 3 };
	rs[2] = (struct rd){ .fd = cpremote_stdio_fd(c, 2), .seed = 4 };
	nonblock(rs[1].fd);
	nonblock(rs[2].fd);
	while (fixture_now() - t0 < 1200) {
		struct pollfd p[4];

		for (i = 0; i < 3; i++)
			p[i] = (struct pollfd){ .fd = rs[i].eof ? -1 : rs[i].fd, .events = POLLIN };
		p[0].events |= wrote < bytes ? POLLOUT : 0;
		p[3] = (struct pollfd){ .fd = cpremote_exit_fd(c), .events = POLLIN };
		poll(p, 4, 200);
		for (i = 0; i < 3; i++)
			if (p[i].revents & (POLLIN | POLLHUP))
				rd_take(&rs[i], CHUNK);
		if (p[0].revents & POLLOUT)
			wr_push(ch, 1, &wrote, bytes);
		if (fixture_now() >= next_mem) {
			mem_sample(&m);
			next_mem = fixture_now() + 0.25;
		}
		if ((r = cpremote_wait(c, &status, CPREMOTE_WNOHANG)) != 0)
			break;
	}
	mem_sample(&m);
	/* The status is out: every byte must already be in our fds, each stream at its end. */
	for (i = 0; i < 3; i++) {
		nonblock(rs[i].fd);
		while (!rs[i].eof && rd_take(&rs[i], CHUNK) > 0)
			;
		if (!rs[i].eof)
			early_eof++;
	}
	printf("# all: %llu MiB each way on the channel, stdout and stderr in %.1f s\n",
	       (unsigned long long)(bytes >> 20), fixture_now() - t0);
	ok(r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "all: the child got every channel byte right (exit 0)");
	ok_int(wrote, bytes, "all: the caller wrote all of its channel bytes");
	ok_int(rs[0].got, bytes, "all: channel bytes from the child");
	ok_int(rs[1].got, bytes, "all: stdout bytes");
	ok_int(rs[2].got, bytes, "all: stderr bytes");
	ok(!rs[0].bad && !rs[1].bad && !rs[2].bad, "all: every byte right");
	ok_int(early_eof, 0, "all: when the status came, every stream had all its data and its EOF");
	mem_report(&m);
	cpremote_free(c);
}

int main(int argc, char **argv)
{
	const char *mib = getenv("CPREMOTE_STRESS_MIB");
	uint64_t bytes = (uint64_t)(mib && atoi(mib) > 0 ? atoi(mib) : 1024) << 20;

	fixture_dir();
	if (argc != 2) {
		fprintf(stderr, "usage: test_backpressure slow|stuff|all\n");
		return 2;
	}
	procinfo_tag_self();
	if (strcmp(argv[1], "slow") == 0)
		test_slow(bytes);
	else if (strcmp(argv[1], "stuff") == 0)
		test_stuff();
	else
		test_all(bytes);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
