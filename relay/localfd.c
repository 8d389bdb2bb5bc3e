/* localfd.c — reading and writing the caller's fds without blocking the relay
 * and without changing flags the caller shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "localfd.h"
#include "proto.h"

/* epoll refuses fds that cannot be polled (regular files, /dev/null). */
static int can_poll(int fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN };
	int ok;

	if (ep < 0)
		return 1;
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == 0;
	close(ep);
	return ok;
}

/*
 * Setting O_NONBLOCK on an inherited pipe or terminal would also change it
 * for the caller (and the shell after it), so a private file description
 * is opened on the same object instead.
 */
static int reopen_nonblocking(int fd, int for_write)
{
	char path[64];
	int flags = fcntl(fd, F_GETFL);
	int nfd;

	if (flags >= 0 && (flags & O_NONBLOCK))
		return fd;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nfd = open(path, (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0) {
		/* No /proc: share the flag; better than blocking the relay. */
		if (flags >= 0)
			fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		return fd;
	}
	close(fd);
	return nfd;
}

int localfd_adopt(struct localfd *l, int fd, int for_write)
{
	struct stat st;

	l->fd = -1;
	l->is_socket = 0;
	l->pollable = 0;
	l->is_tty = 0;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (S_ISSOCK(st.st_mode)) {
		l->is_socket = 1;
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = reopen_nonblocking(fd, for_write);
	}
	l->fd = fd;
	l->pollable = can_poll(fd);
	l->is_tty = !for_write && S_ISCHR(st.st_mode) && isatty(fd);
	return 0;
}

ssize_t localfd_read(struct localfd *l, void *buf, size_t n)
{
	ssize_t r;

	do {
		r = l->is_socket ? recv(l->fd, buf, n, MSG_DONTWAIT) : read(l->fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

ssize_t localfd_read_fds(struct localfd *l, void *buf, size_t n, int *fds, int *nfds, int *lost)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CPR_FDS_PER_READ)];
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
	};
	struct cmsghdr *cm;
	ssize_t r;

	*nfds = 0;
	*lost = 0;
	if (!l->is_socket)
		return localfd_read(l, buf, n);
	do {
		r = recvmsg(l->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return r;
	/* The kernel closed what did not fit: told to the caller, never silent. */
	*lost = (m.msg_flags & MSG_CTRUNC) != 0;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		size_t k, count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof fd);
			if (*nfds < CPR_FDS_PER_READ && r > 0)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	return r;
}

ssize_t localfd_write(struct localfd *l, const void *buf, size_t n)
{
	ssize_t r;

	do {
		r = l->is_socket ? send(l->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(l->fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

void localfd_watch(struct localfd *l, struct event *ev, short what)
{
	if (l->pollable)
		event_add(ev, NULL);
	else
		event_active(ev, what, 0);
}

void localfd_close(struct localfd *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Reads the controlling terminal (as a dev_t) and its foreground group from PID's stat.  0 or -1. */
static int proc_tty(pid_t pid, dev_t *tty, pid_t *tpgid)
{
	char path[64], buf[1024];
	const char *p;
	unsigned int tty_nr;
	int fd, tp;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold anything, ')' too: the fields start after the last one. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %*c %*d %*d %*d %u %d", &tty_nr, &tp) != 2)
		return -1;
	*tty = makedev((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
	*tpgid = tp;
	return 0;
}

int localfd_tty_foreground(const struct localfd *l, pid_t caller, pid_t pgrp)
{
	struct stat st;
	dev_t ctty;
	pid_t fg;

	if (!l->is_tty || l->fd < 0 || caller <= 0 || pgrp <= 0)
		return 1;
	if (fstat(l->fd, &st) < 0 || proc_tty(caller, &ctty, &fg) < 0)
		return 1;
	if (ctty != st.st_rdev)
		return 1;
	return fg == pgrp;
}
