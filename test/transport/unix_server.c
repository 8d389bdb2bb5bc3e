/*
 * unix_server.c — a socket-file server for test_docker's `cprun --connect
 * docker://C:PATH` checks.  Built static (the container holds only
 * busybox), with nothing but libc.
 *
 *   unix_server PATH [close]
 *       listens on the socket file PATH (removed first if there) and
 *       serves one connection at a time, for ever: writes "hello\n" at
 *       once, then, without "close", echoes every byte that comes until
 *       the client's end of file (a half-close), writes "bye N\n" (N the
 *       bytes received) and closes.  With "close" it closes right after
 *       the greeting, reading nothing: the server's end of file first.
 *
 * "hello" before any input shows bytes from the server; "bye N" after
 * the echo shows the client's half-close reached it while its own side
 * still writes.  Exit 2 on misuse or when it cannot listen (message on
 * stderr); it ends only by a signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Writes all of BUF to FD.  0, or -1 (the client went away). */
static int put(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One connection: greeting, echo to end of file, the count. */
static void serve(int fd, int close_first)
{
	char buf[65536], bye[64];
	unsigned long long count = 0;
	ssize_t n;

	if (put(fd, "hello\n", 6) < 0 || close_first)
		return;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		count += (unsigned long long)n;
		if (put(fd, buf, (size_t)n) < 0)
			return;
	}
	if (n == 0) {
		snprintf(bye, sizeof(bye), "bye %llu\n", count);
		(void)put(fd, bye, strlen(bye));
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int close_first = argc == 3 && strcmp(argv[2], "close") == 0;
	int lfd, fd;

	if ((argc != 2 && !close_first) || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: unix_server PATH [close]\n");
		return 2;
	}
	/* A client that leaves early must not end the server. */
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, argv[1]);
	(void)unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		fprintf(stderr, "unix_server: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(fd, close_first);
		close(fd);
	}
}
