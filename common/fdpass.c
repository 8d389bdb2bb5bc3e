/* fdpass.c — passing file descriptors over AF_UNIX sockets (SCM_RIGHTS). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdpass.h"

/* Room for the largest message we ever send, aligned as the kernel wants. */
union cpr_cmsg_space {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * CPR_MAX_PASSED_FDS)];
};

/*
 * Sends one data byte with NFDS descriptors attached.  The data byte is
 * needed because a message with no data would not be seen by a receiver
 * on a stream socket, and it carries the sender's bit mask.
 */
int cpr_send_fds(int sock, uint8_t byte, const int *fds, int nfds)
{
	union cpr_cmsg_space space;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	ssize_t n;

	if (nfds < 0 || nfds > CPR_MAX_PASSED_FDS || (nfds > 0 && fds == NULL))
		return -EINVAL;
	memset(&msg, 0, sizeof(msg));
	memset(&space, 0, sizeof(space));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = space.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != 1)
		return -EIO;
	return 0;
}

/* Closes every descriptor carried by the SCM_RIGHTS messages in MSG. */
static void close_all_fds(struct msghdr *msg)
{
	struct cmsghdr *cmsg;
	size_t i, count;
	int fd;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			/* CMSG_DATA may be unaligned for int: copy out. */
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/*
 * Receives one message sent by cpr_send_fds().  Descriptors arrive
 * close-on-exec (MSG_CMSG_CLOEXEC) so that no exec in another thread
 * can leak them.  Any descriptor we cannot hand over is closed here.
 */
int cpr_recv_fds(int sock, uint8_t *byte, int *fds, int maxfds, int *nfds)
{
	union cpr_cmsg_space space;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	size_t count;
	ssize_t n;
	uint8_t b = 0;
	int got = 0;

	*nfds = 0;
	if (maxfds < 0 || (maxfds > 0 && fds == NULL))
		return -EINVAL;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &b;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = space.buf;
	msg.msg_controllen = sizeof(space.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0 && msg.msg_controllen == 0)
		return 0;
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		/* Part of the message is lost: do not trust the rest. */
		close_all_fds(&msg);
		return -EMSGSIZE;
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (got < maxfds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		/* Descriptors without their data byte: not a message of ours. */
		for (int i = 0; i < got; i++)
			close(fds[i]);
		return -EPROTO;
	}
	*byte = b;
	*nfds = got;
	return 1;
}
