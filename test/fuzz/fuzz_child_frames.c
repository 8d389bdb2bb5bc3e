/*
 * fuzz_child_frames.c — libFuzzer target for the relay's handler of the
 * helper's frames for one child (relay/child.c: SPAWNED, ERROR, DATA,
 * EOF, CREDIT, EXIT through its handler table), on the real child and
 * connection objects.  The connection is attached but its loop never runs,
 * so no SSH connection is made: what the child queues for the helper
 * stays in the connection's buffer.  Built only with -Dfuzz=true.
 *
 * The input is a run of frames as the helper would send them; each is
 * handed to the child whatever its child id says, as the connection does
 * once it found the child.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "conn.h"
#include "rchild.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct relay_ctx ctx;

/* A child on a connection to "fuzz", its SPAWN sent; ends of its sockets in PEER (nonblocking). */
static struct rchild *new_child(int peer[2])
{
	int st[2], ch[2];
	struct rchild *c;
	struct spawn_request r = { 0 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, st) < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ch) < 0)
		abort();
	c = rchild_alloc(&ctx);
	if (!c || localfd_adopt(&c->lfd[CPR_CHANNEL], ch[0], 0) < 0)
		abort();
	c->status_fd = st[0];
	peer[0] = st[1];
	peer[1] = ch[1];
	if (rchild_stream_events(c) < 0)
		abort();
	r.key.host = strdup("fuzz");
	c->host = strdup("fuzz");
	c->file = strdup("prog");
	cpr_field_put_str(&c->spawn, CPR_F_FILE, "prog");
	c->conn = conn_attach(&ctx, &r, &rchild_conn_ops, c, &c->spawn, &c->id);
	request_free(&r);
	if (!c->conn)
		abort();
	c->state = R_QUEUED;
	rchild_send_spawn(c);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int peer[2];
	struct rchild *c;

	if (!ctx.base) {
		ctx.base = event_base_new();
		if (!ctx.base)
			abort();
	}
	c = new_child(peer);
	while (size > 0) {
		struct cpr_header h;
		const uint8_t *p;
		ssize_t n = cpr_frame_next(data, size, &h, &p);

		if (n <= 0)
			break; /* the connection drops a helper that sends a bad header */
		h.child = c->id;
		rchild_conn_ops.on_frame(c, &h, p);
		data += n;
		size -= (size_t)n;
	}
	rchild_conn_ops.on_lost(c, -3010, "fuzz: connection lost");
	rchild_free_all();
	conn_close_all();
	close(peer[0]);
	close(peer[1]);
	return 0;
}
