/*
 * connect.c — a CONNECT request: the channel of a "child" that is no
 * process but a connection to a Unix socket file on this host, served by
 * a program that runs already (a REPL, a debug console).  The helper
 * connects as the logged-in user, so the server's peer credentials
 * (SO_PEERCRED) name that user, and file permissions decide who may.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper.h"

/* How long connect() may wait for room in a busy server's listen queue. */
#define CONNECT_WAIT_S 5

int connect_socket_file(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval wait = { .tv_sec = CONNECT_WAIT_S }, none = { 0 };
	struct stat st;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	/* connect() says ECONNREFUSED for a plain file: the stat gives the real reason. */
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/*
	 * A blocking connect, bounded: a server whose listen queue is full
	 * (many clients at once) takes them in a moment, and a non-blocking
	 * one would fail them with EAGAIN.  The wait holds the helper's loop
	 * as an exec does, and only while the server does not accept.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		e = errno; /* EAGAIN: the queue stayed full for CONNECT_WAIT_S */
		close(fd);
		return -e;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	if ((e = helper_set_nonblock(fd)) < 0) {
		close(fd);
		return e;
	}
	return fd;
}
