/*
 * control.c — the relay's side of the control socket: the greeting the
 * library checks first, then one message per child (the status socket,
 * the channel and the attached stdio fds, passed with SCM_RIGHTS).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "control_hello.h"
#include "fdpass.h"
#include "child.h"
#include "log.h"

int control_greet(int fd)
{
	uint8_t hello[CPR_CTL_HELLO_LEN];
	ssize_t n;

	cpr_ctl_hello_encode(hello, CPR_CTL_VERSION, (uint32_t)getpid());
	/* One message on a SOCK_SEQPACKET socket: the library reads it whole. */
	do {
		n = send(fd, hello, sizeof(hello), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(hello) ? 0 : -EIO;
}

int control_on_readable(struct relay_ctx *ctx, int fd)
{
	uint8_t mask;
	int fds[CPR_MAX_PASSED_FDS], nfds = 0;
	int r = cpr_recv_fds(fd, &mask, fds, CPR_MAX_PASSED_FDS, &nfds);

	if (r == -EAGAIN || r == -EINTR)
		return CONTROL_MORE;
	if (r == -EMSGSIZE || r == -EPROTO) {
		/* One request lost (e.g. out of fds); its status socket went with it. */
		rlog(ctx, 1, "control: a request was lost (%s)", strerror(-r));
		return CONTROL_MORE;
	}
	if (r <= 0)
		return CONTROL_GONE;
	if (nfds == 0 && mask == CPR_CTL_EXIT)
		return CONTROL_EXIT;
	rchild_new(ctx, mask, fds, nfds);
	return CONTROL_MORE;
}
