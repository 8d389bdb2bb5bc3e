/*
 * test_connect_bulk.c — a connection to a socket file carries bulk data
 * under the same flow control and half-close as a channel.  socat serves
 * `cat` on a socket file on h1 (a real, unrelated server); 4 clients at
 * once each send 4 MiB (16 windows) while reading the echo, then shut
 * down their write side: each gets every byte back, in order, then end
 * of file, and the handle reports status 0.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpremote.h"
#include "fixture.h"
#include "session.h"
#include "tap.h"

#define NCLIENTS 4
#define BULK (4u << 20)
#define WAIT_S 120

struct flow {
	struct client c;
	size_t sent, got, bad;
	int shut, eof;
};

static unsigned char pattern(int k, size_t i)
{
	return (unsigned char)((i * 7 + (size_t)k * 13) % 251);
}

/* One step of client K: send what the socket takes, read what came, check it. */
static void step(struct flow *f, int k, short revents)
{
	unsigned char buf[65536];
	ssize_t n;

	if ((revents & POLLOUT) && f->sent < BULK) {
		size_t len = BULK - f->sent < sizeof(buf) ? BULK - f->sent : sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = pattern(k, f->sent + i);
		n = send(f->c.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			f->sent += (size_t)n;
	}
	if (f->sent == BULK && !f->shut)
		f->shut = shutdown(f->c.fd, SHUT_WR) == 0;
	if (revents & (POLLIN | POLLHUP)) {
		n = recv(f->c.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			f->eof = 1;
		for (ssize_t i = 0; i < n; i++)
			f->bad += buf[i] != pattern(k, f->got + (size_t)i);
		if (n > 0)
			f->got += (size_t)n;
	}
}

int main(void)
{
	char sock[96], listen_arg[160];
	struct cpremote_options o;
	cpremote_child *server = NULL;
	struct flow fl[NCLIENTS];
	struct pollfd p[NCLIENTS];
	struct stat st;
	long long deadline;
	int attached = 0, all_eof = 0, intact = 0, ended = 0;

	fixture_dir();
	snprintf(sock, sizeof(sock), "/tmp/cpr-connect-bulk-%ld.sock", (long)getpid());
	snprintf(listen_arg, sizeof(listen_arg), "UNIX-LISTEN:%s,fork", sock);
	const char *argv[] = { "socat", listen_arg, "EXEC:cat", NULL };

	fixture_options(&o, "h1");
	o.file = argv[0];
	o.argv = argv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	if (!ok(cpremote_run(&o, &server) == 0, "socat serves cat on a socket file on h1")) {
		printf("#   %s\n", cpremote_errmsg());
		return tap_done();
	}
	deadline = fixture_now_ms() + 30000;
	while (stat(sock, &st) < 0 && fixture_now_ms() < deadline)
		usleep(50000);
	memset(fl, 0, sizeof(fl));
	for (int k = 0; k < NCLIENTS; k++)
		if (client_attach(&fl[k].c, "h1", sock) == 0)
			attached++;
	ok_int(attached, NCLIENTS, "4 clients attached");
	deadline = fixture_now_ms() + WAIT_S * 1000;
	while (all_eof < NCLIENTS && fixture_now_ms() < deadline) {
		all_eof = 0;
		for (int k = 0; k < NCLIENTS; k++) {
			p[k].fd = fl[k].eof ? -1 : fl[k].c.fd;
			p[k].events = (short)(POLLIN | (fl[k].sent < BULK ? POLLOUT : 0));
		}
		if (poll(p, NCLIENTS, 1000) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < NCLIENTS; k++) {
			if (p[k].fd >= 0 && p[k].revents)
				step(&fl[k], k, p[k].revents);
			all_eof += fl[k].eof;
		}
	}
	ok_int(all_eof, NCLIENTS, "each client read end of file after its half-close");
	for (int k = 0; k < NCLIENTS; k++) {
		int s = -1;

		intact += fl[k].sent == BULK && fl[k].got == BULK && fl[k].bad == 0;
		if (fl[k].got != BULK || fl[k].bad)
			printf("#   client %d: sent %zu, got %zu, %zu wrong\n", k, fl[k].sent, fl[k].got,
			       fl[k].bad);
		ended += fixture_wait_child(fl[k].c.child, &s, 30) == 1 && s == 0;
		client_free(&fl[k].c);
	}
	ok_int(intact, NCLIENTS, "each got its 4 MiB back whole and in order");
	ok_int(ended, NCLIENTS, "each connection's handle reports status 0");
	cpremote_free(server); /* SIGKILL: socat leaves its socket file */
	unlink(sock);
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
