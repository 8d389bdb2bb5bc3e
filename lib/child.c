/* child.c — a child handle's accessors, cpremote_kill() and cpremote_free(). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib.h"

/* The caller's end of the channel, or -1 (CPREMOTE_CHANNEL_FD, or no handle). */
int cpremote_channel_fd(const cpremote_child *c)
{
	return c != NULL ? c->channel_fd : -1;
}

/* The caller's end of a piped stdio stream, or -1. */
int cpremote_stdio_fd(const cpremote_child *c, int stream)
{
	return c != NULL && stream >= 0 && stream < 3 ? c->stdio_fd[stream] : -1;
}

/* Closes the caller's end of a piped stream early (the child reads EOF).  0 or -EBADF. */
int cpremote_close_stdio(cpremote_child *c, int stream)
{
	if (c == NULL || stream < 0 || stream >= 3 || c->stdio_fd[stream] < 0)
		return -EBADF;
	close(c->stdio_fd[stream]);
	c->stdio_fd[stream] = -1;
	return 0;
}

/* The status socket: readable when the relay reports the child's end. */
int cpremote_exit_fd(const cpremote_child *c)
{
	return c != NULL ? c->status_fd : -1;
}

/* The remote pid from SPAWNED; -1 without a handle. */
long cpremote_pid(const cpremote_child *c)
{
	return c != NULL ? c->pid : -1;
}

long long cpremote_shipped_bytes(const cpremote_child *c)
{
	return c != NULL ? c->shipped : -1;
}

int lib_child_send(struct cpremote_child *c, uint8_t type, const void *payload, uint32_t len)
{
	struct cpr_buf f = { 0 };
	int r;

	if (cpr_frame_append(&f, type, 0, 0, payload, len) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = lib_send_all(c->status_fd, cpr_buf_peek(&f), cpr_buf_len(&f));
	/* The relay closes the socket once the child is over: too late, not a failure. */
	if (r == -EPIPE || r == -ECONNRESET)
		r = 0;
out:
	cpr_buf_free(&f);
	return r;
}

/*
 * A SIGNAL frame is 16 bytes on a local socket the relay keeps reading,
 * so the send does not wait for the network.
 */
int cpremote_kill(cpremote_child *c, int sig)
{
	uint8_t p[4];
	uint32_t wire;

	if (c == NULL)
		return CPREMOTE_EINVAL;
	/* As kill(2) of a process that is not our child's: a fork must not signal its parent's children. */
	if (c->owner != getpid())
		return -ECHILD;
	wire = cpr_signal_to_wire(sig);
	if (sig != 0 && wire == 0)
		return CPREMOTE_EINVAL;
	/* Signal 0 only asks whether the child may still run, as kill(2) does. */
	if (c->done || sig == 0)
		return 0;
	cpr_put_u32(p, wire);
	return lib_child_send(c, CPR_SIGNAL, p, sizeof(p));
}

/*
 * In the process that started it, a child that may still run is sent an
 * explicit SIGKILL before its status socket closes: a fork of ours may
 * hold a copy of that socket, and then the relay never sees it close.  A
 * full socket buffer would make us wait, so the frame is then skipped:
 * the relay reads the socket all the time, and the close still ends the
 * child when no fork holds it.
 */
static void kill_before_free(struct cpremote_child *c)
{
	struct cpr_buf f = { 0 };

	if (c->done || c->status_fd < 0 || c->owner != getpid())
		return;
	if (cpr_frame_append_u32(&f, CPR_SIGNAL, 0, 0, cpr_signal_to_wire(SIGKILL)) == 0)
		(void)send(c->status_fd, cpr_buf_peek(&f), cpr_buf_len(&f), MSG_NOSIGNAL | MSG_DONTWAIT);
	cpr_buf_free(&f);
}

/*
 * Closes every fd of the handle and frees it; accepts NULL.  Never blocks.
 * In a fork of the process that started the child, only the fork's copies
 * of the fds are closed: the child runs on for its parent.
 */
void cpremote_free(cpremote_child *c)
{
	if (c == NULL)
		return;
	kill_before_free(c);
	/* Closing the last copy of a running child's status socket also tells the relay to SIGKILL it. */
	if (c->status_fd >= 0)
		close(c->status_fd);
	if (c->channel_fd >= 0)
		close(c->channel_fd);
	for (int i = 0; i < 3; i++)
		if (c->stdio_fd[i] >= 0)
			close(c->stdio_fd[i]);
	cpr_buf_free(&c->in);
	free(c->errmsg);
	free(c->host);
	free(c);
}
