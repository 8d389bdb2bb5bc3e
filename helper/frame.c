/*
 * frame.c — what the relay sends, taken from a buffer: its hello, then
 * frames, each handed to the handler of its type.  Everything here works
 * on bytes already read (main.c reads fd 0), so that the unit tests and
 * the fuzz target can feed it any input.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "helper.h"

/* Queues ERROR for a SPAWN that failed at STAGE with errno ERR. */
static int send_spawn_error(struct helper *h, uint32_t id, const char *file, int stage, int err)
{
	static const char *stages[] = { "", "setup", "chdir", "exec", "connect" };
	struct cpr_buf p = { 0 };
	char msg[512];
	int r;

	snprintf(msg, sizeof(msg), "%.300s: %s: %s", file ? file : "(no program)",
		 stage >= 1 && stage <= 4 ? stages[stage] : "spawn", strerror(err));
	if ((r = cpr_field_put_u32(&p, CPR_F_CODE, (uint32_t)stage)) < 0 ||
	    (r = cpr_field_put_u32(&p, CPR_F_ERRNO, (uint32_t)err)) < 0 ||
	    (r = cpr_field_put_str(&p, CPR_F_MESSAGE, msg)) < 0)
		goto out;
	r = cpr_frame_append(&h->out, CPR_ERROR, 0, id, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
out:
	cpr_buf_free(&p);
	return r;
}

/* SPAWN: start the program, answer SPAWNED or ERROR.  < 0 only when the answer cannot be queued. */
static int on_spawn(struct helper *h, uint32_t id, const uint8_t *p, uint32_t len)
{
	struct spawn_req req;
	struct child *c = NULL;
	int stage = CPR_STAGE_SETUP, r, e;

	if (id == 0 || child_find(h, id) != NULL) {
		helper_warn("SPAWN for child id %u that is in use; ignored", id);
		return 0;
	}
	if ((e = spawn_req_parse(p, len, &req)) < 0)
		goto fail;
	if ((c = child_new(id)) == NULL) {
		e = -ENOMEM;
		goto fail;
	}
	if ((e = h->spawn(&req, c, &stage)) < 0)
		goto fail;
	child_add(h, c);
	r = cpr_frame_append_u32(&h->out, CPR_SPAWNED, 0, id, (uint32_t)c->pid);
	c = NULL;
	goto out;
fail:
	r = send_spawn_error(h, id, req.file, stage, -e);
out:
	child_free(c);
	spawn_req_free(&req);
	return r;
}

/*
 * CONNECT: join a new "child" to the socket file the payload names, and
 * answer SPAWNED (pid 0: no process of ours) or ERROR at stage CONNECT.
 * < 0 only when the answer cannot be queued.
 */
static int on_connect(struct helper *h, uint32_t id, const uint8_t *p, uint32_t len)
{
	struct child *c = NULL;
	char *path = NULL;
	int fd, e, r;

	if (id == 0 || child_find(h, id) != NULL) {
		helper_warn("CONNECT for child id %u that is in use; ignored", id);
		return 0;
	}
	if ((e = connect_req_path(p, len, &path)) < 0)
		return send_spawn_error(h, id, NULL, CPR_STAGE_SETUP, -e);
	if ((c = child_new(id)) == NULL) {
		r = send_spawn_error(h, id, path, CPR_STAGE_SETUP, ENOMEM);
		goto out;
	}
	fd = h->connect != NULL ? h->connect(path) : -ENOSYS;
	if (fd < 0) {
		r = send_spawn_error(h, id, path, CPR_STAGE_CONNECT, -fd);
		goto out;
	}
	connect_child_init(c, fd);
	child_add(h, c);
	c = NULL;
	r = cpr_frame_append_u32(&h->out, CPR_SPAWNED, 0, id, 0);
out:
	child_free(c);
	free(path);
	return r;
}

/*
 * SIGNAL: to the child's whole process group, as a terminal delivers
 * Ctrl-C, so that what the program started in the foreground gets it too.
 * The group outlives its leader: after the child was reaped, its group
 * (its pid, which Linux does not reuse while the group has members) still
 * gets it while the child's output drains.
 */
static void on_signal(struct child *c, const uint8_t *p, uint32_t len)
{
	int sig;

	/* A connection has no process: any signal ends it, as the caller's cpremote_kill() says. */
	if (c->pid < 0 && c->chan_fd >= 0) {
		shutdown(c->chan_fd, SHUT_RDWR);
		return;
	}
	if (len != 4 || c->pid <= 0 || (sig = cpr_signal_from_wire(cpr_get_u32(p))) == 0)
		return;
	/* A program that left its group (setsid) still gets it itself. */
	if (kill(-c->pid, sig) < 0 && !c->reaped)
		kill(c->pid, sig);
}

/* A frame for a known child C. */
static int on_child_frame(struct helper *h, struct child *c, const struct cpr_header *f, const uint8_t *p)
{
	struct winsize ws;
	uint64_t credit;
	int r;

	switch (f->type) {
	case CPR_DATA:
		if (f->stream != CPR_CHANNEL && f->stream != CPR_STDIN)
			return 0;
		if ((r = child_input(h, c, f->stream, p, f->length)) == -EPROTO) {
			helper_warn("child %u: DATA beyond the credit on stream %u", c->id, f->stream);
			return CPR_EBAD;
		}
		return r;
	case CPR_EOF:
		if (f->stream == CPR_CHANNEL || f->stream == CPR_STDIN)
			child_input_eof(h, c, f->stream);
		else if (f->stream == CPR_STDOUT || f->stream == CPR_STDERR)
			child_output_gone(h, c, f->stream);
		return 0;
	case CPR_CREDIT:
		if (f->length != 4 || f->stream >= CPR_NSTREAMS || f->stream == CPR_STDIN)
			return 0;
		credit = (uint64_t)c->out[f->stream].credit + cpr_get_u32(p);
		c->out[f->stream].credit = credit > UINT32_MAX ? UINT32_MAX : (uint32_t)credit;
		return 0;
	case CPR_SIGNAL:
		on_signal(c, p, f->length);
		return 0;
	case CPR_RESIZE:
		if (cpr_winsize_decode(p, f->length, &ws) == 0)
			child_tty_resize(c, &ws);
		return 0;
	default:
		/* SPAWNED, ERROR and EXIT only travel the other way. */
		return 0;
	}
}

/* Acts on one frame from the relay.  Returns < 0 when the link must end (CPR_EBAD: the relay's fault). */
static int on_frame(struct helper *h, const struct cpr_header *f, const uint8_t *p)
{
	struct child *c;

	if (f->type == CPR_SPAWN)
		return on_spawn(h, f->child, p, f->length);
	if (f->type == CPR_CONNECT)
		return on_connect(h, f->child, p, f->length);
	/* The relay's keepalive: proof that the link and the helper still work. */
	if (f->type == CPR_PING) {
		if (f->length >= 8)
			h->silence_limit_ms = 1000L * cpr_get_u32(p + 4);
		return cpr_frame_append(&h->out, CPR_PONG, 0, 0, p, f->length);
	}
	/* Frames for an unknown child crossed its EXIT (or are stray): ignored. */
	if ((c = child_find(h, f->child)) == NULL)
		return 0;
	return on_child_frame(h, c, f, p);
}

/* Checks and consumes the relay's hello once IN holds it.  0 (done or not yet), CPR_EBAD bad. */
static int take_hello(struct helper *h, struct cpr_buf *in)
{
	const uint8_t *p = cpr_buf_peek(in);

	if (cpr_buf_len(in) < CPR_HELLO_LEN)
		return 0;
	h->bad_hello = 1;
	if (memcmp(p, CPR_MAGIC, CPR_MAGIC_LEN) != 0) {
		helper_warn("no cp-remote hello from the relay");
		return CPR_EBAD;
	}
	if (p[CPR_MAGIC_LEN] != CPR_VERSION) {
		helper_warn("the relay speaks protocol version %u, this helper version %u", p[CPR_MAGIC_LEN],
			    CPR_VERSION);
		return CPR_EBAD;
	}
	h->bad_hello = 0;
	h->hello_done = 1;
	h->relay_caps = cpr_get_u32(p + 12); /* what the relay understands, e.g. CPR_CAP_REAPED */
	cpr_buf_consume(in, CPR_HELLO_LEN);
	return 0;
}

int helper_input(struct helper *h, struct cpr_buf *in)
{
	const uint8_t *payload;
	struct cpr_header f;
	ssize_t n;
	int r;

	if (!h->hello_done && (take_hello(h, in) < 0 || !h->hello_done))
		return h->bad_hello ? CPR_EBAD : 0;
	for (;;) {
		n = cpr_frame_next(cpr_buf_peek(in), cpr_buf_len(in), &f, &payload);
		if (n == 0)
			return 0;
		if (n < 0) {
			helper_warn("protocol violation: bad frame header from the relay");
			return CPR_EBAD;
		}
		if ((r = on_frame(h, &f, payload)) < 0)
			return r;
		cpr_buf_consume(in, (size_t)n);
	}
}
