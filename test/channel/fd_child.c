/*
 * fd_child.c — the remote side of test_fdpass: reads command lines from
 * its channel with recvmsg(), one byte at a time, so that an fd that came
 * with any byte of a line belongs to that line.  Commands (one answer
 * line each on the channel):
 *   echo    + fd: writes back to the fd all it reads from it, to end of
 *                 file, then closes it: "echoed <n>"
 *   sink    + fd: reads the fd to end of file: "n=<n> sha=<hex>"
 *   source N + fd: writes N bytes of io_stream_fill(7) to it, closes it: "wrote <n>"
 *   keep    + fd: keeps the fd open and never reads it (a stalled reader): "kept"
 *   count        : "fds=<number of entries in /proc/self/fd>"
 * A line that needs an fd and came without one is answered "nofd".
 * Exit 0 at the channel's end of file, 2 on an error (message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "sha256.h"

/* Reads one byte of CHAN and the fd that came with it (*fd, when one did).  1, 0 at EOF, -1. */
static int read_byte(int chan, char *b, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct iovec iov = { .iov_base = b, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)
	};
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(chan, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	/* The first fd of a line counts; the others are closed (more than 4 the kernel closes itself). */
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		size_t k, count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (k = 0; cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && k < count; k++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return 1;
}

static void echo(int fd, char *answer, size_t len)
{
	uint8_t buf[65536];
	unsigned long long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0 && io_write_all(fd, buf, (size_t)n) < 0)
			break;
		if (n > 0)
			total += (unsigned long long)n;
	}
	snprintf(answer, len, "echoed %llu\n", total);
}

static void sink(int fd, char *answer, size_t len)
{
	uint8_t buf[65536], d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	unsigned long long total = 0;
	struct sha256 h;
	ssize_t n;

	sha256_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0) {
			sha256_update(&h, buf, (size_t)n);
			total += (unsigned long long)n;
		}
	}
	sha256_final(&h, d);
	io_hex(d, sizeof(d), hex);
	snprintf(answer, len, "n=%llu sha=%s\n", total, hex);
}

static void source(int fd, unsigned long long want, char *answer, size_t len)
{
	uint8_t buf[65536];
	unsigned long long off = 0;

	while (off < want) {
		size_t k = want - off < sizeof(buf) ? (size_t)(want - off) : sizeof(buf);

		io_stream_fill(7, off, buf, k);
		if (io_write_all(fd, buf, k) < 0)
			break;
		off += k;
	}
	snprintf(answer, len, "wrote %llu\n", off);
}

int main(void)
{
	int chan = io_channel_fd(), fd = -1, r;
	char line[256], answer[256], b;
	size_t len = 0;

	if (chan < 0) {
		fprintf(stderr, "fd_child: no CHANNEL_FD\n");
		return 2;
	}
	while ((r = read_byte(chan, &b, &fd)) == 1) {
		if (b != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = b;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (strcmp(line, "count") == 0)
			snprintf(answer, sizeof(answer), "fds=%d\n", io_count_fds());
		else if (fd < 0)
			snprintf(answer, sizeof(answer), "nofd\n");
		else if (strcmp(line, "echo") == 0)
			echo(fd, answer, sizeof(answer));
		else if (strcmp(line, "sink") == 0)
			sink(fd, answer, sizeof(answer));
		else if (strncmp(line, "source ", 7) == 0)
			source(fd, strtoull(line + 7, NULL, 10), answer, sizeof(answer));
		else if (strcmp(line, "keep") == 0) {
			snprintf(answer, sizeof(answer), "kept\n");
			fd = -1; /* open until the child exits */
		} else
			snprintf(answer, sizeof(answer), "unknown\n");
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (io_write_all(chan, answer, strlen(answer)) < 0)
			return 2;
	}
	return r < 0 ? 2 : 0;
}
