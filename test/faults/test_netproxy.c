/*
 * test_netproxy.c — the test tool netproxy itself, in front of a TCP echo
 * server of this test: bytes pass unchanged both ways, "delay N" adds N ms
 * each way (a round trip takes at least 2N) without losing bulk data,
 * "freeze" stops bytes without closing, "thaw" lets them go on, and "cut"
 * resets both sides.  Needs no test hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "fixture.h"
#include "tap.h"

#define BULK (32u * 1024 * 1024)

/* Echoes every connection until its EOF, one after the other; runs in a child. */
static void __attribute__((noreturn)) echo_server(int lfd)
{
	static char buf[65536];

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			continue;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			for (ssize_t off = 0, w; off < n; off += w)
				if ((w = write(c, buf + off, (size_t)(n - off))) <= 0)
					break;
		close(c);
	}
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(0x7f000002);
	if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Reads exactly N bytes within TIMEOUT_S; returns bytes read, -errno on error. */
static ssize_t read_n(int fd, char *buf, size_t n, double timeout_s)
{
	double deadline = fixture_now() + timeout_s;
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - fixture_now();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		r = read(fd, buf + got, n - got);
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* One small round trip; returns its time in ms, or -1. */
static double round_trip(int s)
{
	char b[8];
	double t0 = fixture_now();

	if (write(s, "ping\n", 5) != 5 || read_n(s, b, 5, 10) != 5 || memcmp(b, "ping\n", 5) != 0)
		return -1;
	return (fixture_now() - t0) * 1000;
}

/* Sends BULK bytes of a pattern while reading the echo; returns 1 when all came back unchanged. */
static int bulk(int s, double *secs)
{
	static char out[65536], in[65536];
	size_t sent = 0, got = 0, bad = 0;
	double t0 = fixture_now();

	fcntl(s, F_SETFL, O_NONBLOCK);
	while (got < BULK && fixture_now() - t0 < 60) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < BULK ? POLLOUT : 0) };
		ssize_t n;

		poll(&p, 1, 1000);
		if ((p.revents & POLLOUT) && sent < BULK) {
			size_t k = BULK - sent < sizeof(out) ? BULK - sent : sizeof(out);

			for (size_t i = 0; i < k; i++)
				out[i] = (char)((sent + i) * 131 >> 3);
			if ((n = write(s, out, k)) > 0)
				sent += (size_t)n;
			/* A short write: the rest is regenerated from SENT next time. */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = read(s, in, sizeof(in))) <= 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				bad += in[i] != (char)((got + (size_t)i) * 131 >> 3);
			got += (size_t)n;
		}
	}
	*secs = fixture_now() - t0;
	fcntl(s, F_SETFL, 0);
	return got == BULK && bad == 0;
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct fault_proxy px;
	char b[8], target[64], cmd[128];
	int lfd, s, echo_port;
	pid_t echo;
	double ms, secs;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(0x7f000002);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		tap_diag("cannot listen on 127.0.0.2");
		return 1;
	}
	echo_port = ntohs(a.sin_port);
	fflush(stdout);
	if ((echo = fork()) == 0)
		echo_server(lfd);
	close(lfd);
	snprintf(target, sizeof(target), "%d", echo_port);
	setenv("CPREMOTE_TEST_PORT", target, 1);
	if (!ok(fault_proxy_start(&px, "127.0.0.2") == 0, "netproxy starts"))
		goto out;

	s = connect_to(px.port);
	ok(s >= 0, "a client connects through the proxy");
	ms = round_trip(s);
	ok(ms >= 0, "bytes come back unchanged");
	printf("#   round trip without delay: %.2f ms\n", ms);

	fault_proxy_cmd(&px, "delay 25");
	ms = round_trip(s);
	printf("#   round trip with delay 25: %.2f ms\n", ms);
	ok(ms >= 50, "delay 25: a round trip takes at least 50 ms");
	ok(ms >= 0 && ms < 50 + 200, "delay 25: ... and not much more (wide bound)");

	ok(bulk(s, &secs), "delay 25: 32 MiB echoed with no byte lost or changed");
	printf("#   32 MiB each way in %.2f s (%.0f MB/s)\n", secs, BULK / secs / 1e6);
	fault_proxy_cmd(&px, "delay 0");

	fault_proxy_cmd(&px, "freeze");
	ok(write(s, "ping\n", 5) == 5, "frozen: the client can still write");
	ok_int(read_n(s, b, 5, 0.5), 0, "frozen: nothing comes back, nothing closes");
	fault_proxy_cmd(&px, "thaw");
	ok_int(read_n(s, b, 5, 10), 5, "thawed: the held bytes come through");

	snprintf(cmd, sizeof(cmd), "cut");
	fault_proxy_cmd(&px, cmd);
	n = read_n(s, b, 1, 10);
	ok(n == -ECONNRESET, "cut: the client sees a reset");
	if (n != -ECONNRESET)
		printf("#   got %zd\n", n);
	close(s);

	s = connect_to(px.port);
	ok(s >= 0 && round_trip(s) >= 0, "after a cut, new connections go through");
	if (s >= 0)
		close(s);
	fault_proxy_stop(&px);
out:
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	fault_tmpdir_remove();
	return tap_done();
}
