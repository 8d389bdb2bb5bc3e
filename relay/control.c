/*
 * control.c — the relay's side of the control socket: the greeting the
 * library checks first, then one message per child (the status socket,
 * the channel and the attached stdio fds, passed with SCM_RIGHTS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "cpremote.h"
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

/*
 * Room for one request's fds.  The kernel drops passed fds that it cannot
 * install (MSG_CTRUNC), the request's status socket among them, and the
 * caller would learn nothing but a broken pipe.  So the relay holds this
 * many spare fds and lets them go just before each receive: a request
 * always arrives whole, and one after which the spares cannot all be taken
 * back is answered with a clear error instead of being run.
 */
static int spare[CPR_MAX_PASSED_FDS];
static int nspare;

/* Takes the spares back.  Returns 0, or -errno (EMFILE: the relay is at its limit). */
static int spares_take(void)
{
	while (nspare < CPR_MAX_PASSED_FDS) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		spare[nspare++] = fd;
	}
	return 0;
}

static void spares_release(void)
{
	while (nspare > 0)
		close(spare[--nspare]);
}

/* The request in FDS arrived but would leave no room for the next: it is answered with an error. */
static void refuse_out_of_fds(struct relay_ctx *ctx, uint8_t mask, int *fds, int nfds, int err)
{
	char msg[256];
	struct rlimit rl = { 0 };

	getrlimit(RLIMIT_NOFILE, &rl);
	snprintf(msg, sizeof msg,
		 "relay: out of file descriptors (%s, limit %llu): this child was not started; "
		 "end some children or raise RLIMIT_NOFILE",
		 strerror(-err), (unsigned long long)rl.rlim_cur);
	rlog(ctx, 1, "control: %s", msg);
	rchild_refuse(ctx, mask, fds, nfds, CPREMOTE_ESPAWN, msg);
}

int control_on_readable(struct relay_ctx *ctx, int fd)
{
	uint8_t mask;
	int fds[CPR_MAX_PASSED_FDS], nfds = 0;
	int r, room;

	/* Topped up first: the last refusal's fds may be free by now. */
	(void)spares_take();
	spares_release();
	r = cpr_recv_fds(fd, &mask, fds, CPR_MAX_PASSED_FDS, &nfds);
	room = spares_take();
	if (r == -EAGAIN || r == -EINTR)
		return CONTROL_MORE;
	if (r == -EMSGSIZE || r == -EPROTO) {
		/* One request lost (e.g. out of fds); its status socket went with it. */
		rlog(ctx, 1, "control: a request was lost (%s)", strerror(-r));
		return CONTROL_MORE;
	}
	if (r <= 0)
		return CONTROL_GONE;
	if (room < 0) {
		refuse_out_of_fds(ctx, mask, fds, nfds, room);
		return CONTROL_MORE;
	}
	if (nfds == 0 && mask == CPR_CTL_EXIT)
		return CONTROL_EXIT;
	rchild_new(ctx, mask, fds, nfds);
	return CONTROL_MORE;
}
