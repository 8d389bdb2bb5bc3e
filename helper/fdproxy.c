/*
 * fdproxy.c — the fds the relay passes to a child (FD_OPEN): the
 * socketpair made for each, its end handed to the child with its channel
 * byte (sendmsg, SCM_RIGHTS), and what EXIT must wait for.  The streams'
 * bytes move through children.c like the channel's.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

/* The socketpair end that goes with the lowest channel byte still to be written; NULL: none waits. */
static struct fdproxy *next_peer(struct child *c)
{
	struct fdproxy *best = NULL, *p;
	int i;

	for (i = 0; i < c->nfdp; i++)
		if ((p = c->fdp[i]) != NULL && p->peer >= 0 && (best == NULL || p->at < best->at))
			best = p;
	return best;
}

void fdproxy_drop_peers(struct child *c)
{
	struct fdproxy *p;

	while ((p = next_peer(c)) != NULL) {
		close(p->peer);
		p->peer = -1;
	}
}

int child_fd_open(struct helper *h, struct child *c, int s, uint64_t at)
{
	struct fdproxy *p;
	int sv[2];

	if (s < CPR_FD_STREAM0 || s >= 256 || c->fdp[s - CPR_FD_STREAM0] != NULL || at < c->chan_in)
		return CPR_EBAD;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CPR_EBAD;
	c->fdp[s - CPR_FD_STREAM0] = p;
	if (c->nfdp < s - CPR_FD_STREAM0 + 1)
		c->nfdp = s - CPR_FD_STREAM0 + 1;
	p->at = at;
	p->out.credit = CPR_WINDOW;
	p->in.buf.limit = CPR_WINDOW;
	/* The child's end stays blocking: it is the child's fd, as a local one would be. */
	if (c->in[CPR_CHANNEL].fd < 0 || c->in[CPR_CHANNEL].broken ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || helper_set_nonblock(sv[0]) < 0) {
		p->fd = p->peer = p->out.fd = p->in.fd = -1;
		p->out.ended = 1;
		return cpr_frame_append(&h->out, CPR_EOF, (uint8_t)s, c->id, NULL, 0);
	}
	p->fd = p->out.fd = p->in.fd = sv[0];
	p->peer = sv[1];
	return 0;
}

/* Sends byte *B on the channel SOCK with the N fds FDS attached.  As send(2): 1, or -1 with errno. */
static ssize_t send_byte_fds(int sock, const uint8_t *b, const int *fds, int n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CPR_FDS_PER_READ)];
	} u;
	struct iovec iov = { .iov_base = (void *)b, .iov_len = 1 };
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
	return sendmsg(sock, &m, MSG_NOSIGNAL);
}

/*
 * Sends the channel byte P, the one at offset AT, with every end waiting
 * for it (the fds of one message of the caller's ride on one byte).  As
 * send(2).
 */
static ssize_t send_with_peers(struct child *c, int fd, const uint8_t *p, uint64_t at)
{
	struct fdproxy *x[CPR_FDS_PER_READ];
	int fds[CPR_FDS_PER_READ], n = 0, i;
	ssize_t r;

	for (i = 0; i < c->nfdp && n < CPR_FDS_PER_READ; i++)
		if (c->fdp[i] != NULL && c->fdp[i]->peer >= 0 && c->fdp[i]->at == at) {
			x[n] = c->fdp[i];
			fds[n++] = c->fdp[i]->peer;
		}
	if ((r = send_byte_fds(fd, p, fds, n)) != 1)
		return r;
	for (i = 0; i < n; i++) {
		close(x[i]->peer);
		x[i]->peer = -1;
	}
	c->chan_out++;
	return r;
}

ssize_t fdproxy_channel_send(struct child *c, int fd, const uint8_t *p, size_t n)
{
	struct fdproxy *x = next_peer(c);
	ssize_t r;

	if (x != NULL && x->at < c->chan_out + n) {
		if (x->at <= c->chan_out)
			return send_with_peers(c, fd, p, x->at);
		n = (size_t)(x->at - c->chan_out);
	}
	r = send(fd, p, n, MSG_NOSIGNAL);
	if (r > 0)
		c->chan_out += (uint64_t)r;
	return r;
}

int fdproxy_streams_open(const struct child *c)
{
	int i;

	for (i = 0; i < c->nfdp; i++)
		if (c->fdp[i] != NULL && !c->fdp[i]->out.ended && c->fdp[i]->peer < 0)
			return 1;
	return 0;
}
