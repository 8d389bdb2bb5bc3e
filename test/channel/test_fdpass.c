/*
 * test_fdpass.c — passing fds to a remote child on the channel
 * (sendmsg + SCM_RIGHTS), through the real sshd test host h1:
 *   1. one end of a socketpair: 4 MiB echoed back through it by the
 *      child while the caller writes, checksummed; EOF both ways.
 *   2. a pipe's read end: the child reads 3 MiB the caller writes into
 *      the pipe, to EOF, and reports their SHA-256.
 *   3. a pipe's write end: the child writes 3 MiB into it; the caller
 *      reads them from its end to EOF.
 *   4. 100 socketpair ends passed in sequence, each echoing: the caller's
 *      and the child's fd counts are the same before and after.
 *   8. (run after 1) a connected TCP socket on loopback (accepted from a
 *      listener of the test's own on 127.0.0.1): 1 MiB echoed through it.
 *   7. (run before 5) a passed fd whose reader stalls: the caller's writes
 *      into it stop after a bounded amount, and the channel still answers.
 *   9. (a second child) 17 fds in one message: 16 are passed (the first
 *      echoes), the 17th is reported; every end comes back to EOF.
 *   5. a listening socket and /dev/null are refused: the child gets the
 *      line without an fd, and cpremote_child_errmsg() says why.
 *   6. a helper without CPR_CAP_FDPASS (one older than fd passing): the
 *      fd is refused the same way, and the channel goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "caller.h"
#include "cpremote.h"
#include "fixture.h"
#include "io.h"
#include "sha256.h"
#include "tap.h"

#define ECHO_LEN (4u << 20)
#define PIPE_LEN (3u << 20)

/* Sends LINE on CHAN with the N fds FDS attached (SCM_RIGHTS), N at most 32. */
static int send_line_fds(int chan, const char *line, const int *fds, int n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 32)];
	} u;
	struct iovec iov = { .iov_base = (void *)line, .iov_len = strlen(line) };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	return sendmsg(chan, &m, MSG_NOSIGNAL) == (ssize_t)strlen(line) ? 0 : -errno;
}

/* Sends LINE on CHAN with FD attached (SCM_RIGHTS). */
static int send_line_fd(int chan, const char *line, int fd)
{
	return send_line_fds(chan, line, &fd, 1);
}

/* Reads one answer line (without its newline) into BUF, 30 s at most.  0 or -1. */
static int read_line(int chan, char *buf, size_t len)
{
	struct pollfd p = { .fd = chan, .events = POLLIN };
	size_t n = 0;
	char b;

	while (n < len - 1) {
		if (poll(&p, 1, 30000) != 1 || read(chan, &b, 1) != 1)
			return -1;
		if (b == '\n')
			break;
		buf[n++] = b;
	}
	buf[n] = '\0';
	return 0;
}

static void hex_sha(const uint8_t *p, size_t n, char *hex)
{
	uint8_t d[SHA256_LEN];

	sha256_digest(p, n, d);
	io_hex(d, sizeof(d), hex);
}

/* Writes LEN bytes of OUT to FD while reading what comes back into IN, to EOF.  Returns the count read. */
static size_t pump(int fd, const uint8_t *out, size_t len, uint8_t *in, size_t cap)
{
	size_t off = 0, got = 0;
	int wr_done = 0;

	cl_nonblock(fd);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = (short)(POLLIN | (wr_done ? 0 : POLLOUT)) };
		ssize_t n;

		if (poll(&p, 1, 30000) != 1)
			return got;
		if (!wr_done && (p.revents & POLLOUT)) {
			n = send(fd, out + off, len - off > 65536 ? 65536 : len - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			if (off == len) {
				shutdown(fd, SHUT_WR);
				wr_done = 1;
			}
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			n = read(fd, in + got, cap - got);
			if (n == 0 || (n < 0 && errno != EAGAIN) || got == cap)
				return got;
			if (n > 0)
				got += (size_t)n;
		}
	}
}

static void socketpair_echo(int chan)
{
	static uint8_t out[ECHO_LEN], in[ECHO_LEN];
	char line[128], want[2 * SHA256_LEN + 1], got[2 * SHA256_LEN + 1];
	int sv[2];
	size_t n;

	cl_random(out, sizeof(out));
	ok_int(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "1: socketpair");
	ok_int(send_line_fd(chan, "echo\n", sv[1]), 0, "1: sent 'echo' with one end of a socketpair");
	close(sv[1]);
	n = pump(sv[0], out, sizeof(out), in, sizeof(in));
	ok_int(n, ECHO_LEN, "1: 4 MiB came back through the passed socket, then EOF");
	hex_sha(out, sizeof(out), want);
	hex_sha(in, n, got);
	ok_str(got, want, "1: their SHA-256 is that of what was sent");
	close(sv[0]);
	ok_int(read_line(chan, line, sizeof(line)), 0, "1: the child answered on the channel");
	ok_str(line, "echoed 4194304", "1: the child saw EOF after all 4 MiB");
}

static void tcp_echo(int chan)
{
	static uint8_t out[1u << 20], in[1u << 20];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), cl = socket(AF_INET, SOCK_STREAM, 0), srv = -1;
	char line[64];
	size_t n;

	/* The test's own listener, on loopback only; the product listens nowhere. */
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0 &&
	    getsockname(l, (struct sockaddr *)&a, &alen) == 0 &&
	    connect(cl, (struct sockaddr *)&a, sizeof(a)) == 0)
		srv = accept(l, NULL, NULL);
	close(l);
	ok(srv >= 0, "8: a TCP connection on 127.0.0.1");
	if (srv < 0) {
		close(cl);
		return;
	}
	cl_random(out, sizeof(out));
	ok_int(send_line_fd(chan, "echo\n", srv), 0, "8: sent 'echo' with the accepted TCP socket");
	close(srv);
	n = pump(cl, out, sizeof(out), in, sizeof(in));
	ok(n == sizeof(out) && memcmp(in, out, n) == 0,
	   "8: 1 MiB came back through the TCP connection, then EOF");
	close(cl);
	ok_int(read_line(chan, line, sizeof(line)), 0, "8: the child answered");
	ok_str(line, "echoed 1048576", "8: the child saw EOF after 1 MiB");
}

static void pipe_read_end(int chan)
{
	static uint8_t data[PIPE_LEN];
	char line[160], want[160], hex[2 * SHA256_LEN + 1];
	int p[2];

	cl_random(data, sizeof(data));
	ok_int(pipe(p), 0, "2: pipe");
	ok_int(send_line_fd(chan, "sink\n", p[0]), 0, "2: sent 'sink' with the pipe's read end");
	close(p[0]);
	ok_int(io_write_all(p[1], data, sizeof(data)), 0, "2: wrote 3 MiB into the pipe");
	close(p[1]);
	hex_sha(data, sizeof(data), hex);
	snprintf(want, sizeof(want), "n=%u sha=%s", PIPE_LEN, hex);
	ok_int(read_line(chan, line, sizeof(line)), 0, "2: the child answered");
	ok_str(line, want, "2: the child read all 3 MiB from the pipe, then EOF");
}

static void pipe_write_end(int chan)
{
	static uint8_t want[PIPE_LEN];
	char line[128], *buf = NULL;
	size_t len = 0;
	int p[2];

	ok_int(pipe(p), 0, "3: pipe");
	ok_int(send_line_fd(chan, "source 3145728\n", p[1]), 0, "3: sent 'source' with the pipe's write end");
	close(p[1]);
	ok_int(fixture_read_eof(p[0], 30000, &buf, &len), 0, "3: read the pipe to EOF");
	io_stream_fill(7, 0, want, sizeof(want));
	ok(len == PIPE_LEN && memcmp(buf, want, PIPE_LEN) == 0, "3: the 3 MiB the child wrote into the pipe");
	close(p[0]);
	free(buf);
	ok_int(read_line(chan, line, sizeof(line)), 0, "3: the child answered");
	ok_str(line, "wrote 3145728", "3: the child wrote it all");
}

/* The child's fd count, from its "count" answer; -1 when none came. */
static int child_fds(int chan)
{
	char line[64];

	if (io_write_all(chan, "count\n", 6) < 0 || read_line(chan, line, sizeof(line)) < 0 ||
	    strncmp(line, "fds=", 4) != 0)
		return -1;
	return atoi(line + 4);
}

static void hundred(int chan)
{
	int before = io_count_fds(), child_before = child_fds(chan), bad = 0, i, sv[2];
	char msg[64], back[64], line[64];

	for (i = 0; i < 100; i++) {
		size_t n;

		snprintf(msg, sizeof(msg), "message %d", i);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || send_line_fd(chan, "echo\n", sv[1]) < 0) {
			bad++;
			break;
		}
		close(sv[1]);
		n = pump(sv[0], (const uint8_t *)msg, strlen(msg), (uint8_t *)back, sizeof(back));
		close(sv[0]);
		if (n != strlen(msg) || memcmp(back, msg, n) != 0 ||
		    read_line(chan, line, sizeof(line)) < 0 || strncmp(line, "echoed ", 7) != 0)
			bad++;
	}
	ok_int(bad, 0, "4: 100 fds passed in sequence, each echoed its message");
	ok_int(io_count_fds(), before, "4: the caller has as many fds as before");
	ok(child_before > 0, "4: the child counted its fds");
	ok_int(child_fds(chan), child_before, "4: the child has as many fds as before");
}

static void stalled(int chan)
{
	static uint8_t chunk[65536];
	char line[64];
	size_t total = 0;
	int sv[2];

	ok_int(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "7: socketpair");
	ok_int(send_line_fd(chan, "keep\n", sv[1]), 0,
	       "7: sent 'keep' with one end (the child never reads it)");
	close(sv[1]);
	ok_int(read_line(chan, line, sizeof(line)), 0, "7: the child answered");
	ok_str(line, "kept", "7: the child holds the fd");
	cl_nonblock(sv[0]);
	for (;;) {
		struct pollfd p = { .fd = sv[0], .events = POLLOUT };
		ssize_t n = send(sv[0], chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n > 0) {
			total += (size_t)n;
			if (total > (64u << 20))
				break;
			continue;
		}
		/* A second with no room: the proxy stopped taking bytes. */
		if (n < 0 && errno == EAGAIN && poll(&p, 1, 1000) == 1)
			continue;
		break;
	}
	printf("# 7: %zu bytes taken before the stall\n", total);
	ok(total > 0 && total < (4u << 20),
	   "7: writes into the stalled fd stop after a bounded amount (< 4 MiB)");
	ok(child_fds(chan) > 0, "7: the channel still answers while the passed fd is stalled");
	close(sv[0]);
}

static void refused(int chan)
{
	char line[64];
	int l = socket(AF_UNIX, SOCK_STREAM, 0), dn = open("/dev/null", O_RDWR);
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	/* An address of the family alone: the kernel picks an abstract name (no file, no TCP). */
	ok(bind(l, (struct sockaddr *)&a, sizeof(sa_family_t)) == 0 && listen(l, 1) == 0,
	   "5: a listening Unix socket (autobound abstract address)");
	ok_int(send_line_fd(chan, "echo\n", l), 0, "5: sent 'echo' with the listening socket");
	ok_int(read_line(chan, line, sizeof(line)), 0, "5: the child answered");
	ok_str(line, "nofd", "5: the child got the line without an fd");
	ok_int(send_line_fd(chan, "echo\n", dn), 0, "5: sent 'echo' with /dev/null");
	ok_int(read_line(chan, line, sizeof(line)), 0, "5: the child answered");
	ok_str(line, "nofd", "5: a device is not passed either");
	close(l);
	close(dn);
}

/* Starts fd_child on h1, through HELPER when not NULL.  NULL when it did not start. */
static cpremote_child *start(const char *prog, const char *helper)
{
	struct cpremote_options o;
	cpremote_child *child = NULL;
	const char *argv[] = { prog, NULL };
	int r;

	fixture_options(&o, "h1");
	o.file = prog;
	o.argv = argv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	if (helper != NULL)
		o.helper = helper;
	r = cpremote_run(&o, &child);
	ok_int(r, 0, "cpremote_run starts fd_child");
	if (r != 0) {
		printf("#   %s (%s)\n", cpremote_strerror(r), cpremote_errmsg());
		return NULL;
	}
	return child;
}

static void old_helper(const char *prog)
{
	char *helper = fixture_prog("channel/nofd_helper"), line[64];
	cpremote_child *child = start(prog, helper);
	int sv[2], chan, status = 0;

	if (child == NULL) {
		free(helper);
		return;
	}
	chan = cpremote_channel_fd(child);
	ok_int(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "6: socketpair");
	ok_int(send_line_fd(chan, "echo\n", sv[1]), 0,
	       "6: sent 'echo' with a socket, through an older helper");
	close(sv[1]);
	close(sv[0]);
	ok_int(read_line(chan, line, sizeof(line)), 0, "6: the child answered");
	ok_str(line, "nofd", "6: the child got the line without an fd");
	shutdown(chan, SHUT_WR);
	ok(fixture_wait_child(child, &status, 30) == 1 && status == 0, "6: the child exited 0");
	ok(strstr(cpremote_child_errmsg(child), "the helper there is too old to take fds") != NULL,
	   "6: cpremote_child_errmsg() says the helper is too old");
	cpremote_free(child);
	free(helper);
}

static void many_fds(const char *prog)
{
	int ours[17], theirs[17], i, chan, status = 0, eofs = 0, before = io_count_fds();
	cpremote_child *child = start(prog, NULL);
	char line[64], back[16];

	if (child == NULL)
		return;
	chan = cpremote_channel_fd(child);
	for (i = 0; i < 17; i++) {
		int sv[2];

		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		ours[i] = sv[0];
		theirs[i] = sv[1];
	}
	ok_int(send_line_fds(chan, "echo\n", theirs, 17), 0, "9: sent 'echo' with 17 fds in one message");
	for (i = 0; i < 17; i++)
		close(theirs[i]);
	ok(pump(ours[0], (const uint8_t *)"first", 5, (uint8_t *)back, sizeof(back)) == 5 &&
		   memcmp(back, "first", 5) == 0,
	   "9: the first fd echoes");
	ok_int(read_line(chan, line, sizeof(line)), 0, "9: the child answered");
	ok_str(line, "echoed 5", "9: ... through the first fd");
	/* The child closed the others (15 it got, and the kernel the rest): each proxy ends, so EOF. */
	for (i = 1; i < 17; i++)
		eofs += pump(ours[i], (const uint8_t *)"x", 1, (uint8_t *)back, sizeof(back)) == 0;
	ok_int(eofs, 16, "9: every other end reads EOF (the 17th, never passed, was closed by the relay)");
	for (i = 0; i < 17; i++)
		close(ours[i]);
	shutdown(chan, SHUT_WR);
	ok(fixture_wait_child(child, &status, 30) == 1 && status == 0, "9: the child exited 0");
	ok(strstr(cpremote_child_errmsg(child), "more than 16 fds in one message") != NULL,
	   "9: cpremote_child_errmsg() says the fds beyond 16 were not passed");
	cpremote_free(child);
	ok_int(io_count_fds(), before, "9: the caller has as many fds as before");
}

int main(void)
{
	cpremote_child *child;
	char *prog;
	int r, status = 0, chan;

	fixture_dir();
	prog = fixture_prog("channel/fd_child");
	child = start(prog, NULL);
	if (child == NULL)
		return tap_done();
	chan = cpremote_channel_fd(child);
	socketpair_echo(chan);
	tcp_echo(chan);
	pipe_read_end(chan);
	pipe_write_end(chan);
	hundred(chan);
	stalled(chan);
	refused(chan);
	shutdown(chan, SHUT_WR);
	r = fixture_wait_child(child, &status, 30);
	ok_str(r == 1 ? cl_status_str(status) : "(no status)", "exited 0", "the child exited 0");
	ok(strstr(cpremote_child_errmsg(child), "a listening socket cannot be passed") != NULL,
	   "5: cpremote_child_errmsg() says the listening socket was not passed");
	printf("# errmsg: %s\n", cpremote_child_errmsg(child));
	cpremote_free(child);
	old_helper(prog);
	many_fds(prog);
	if (tap_failed)
		fixture_dump_logs();
	free(prog);
	return tap_done();
}
