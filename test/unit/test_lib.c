/*
 * test_lib.c — the library's parsers of what the relay sends (the status
 * socket's frames, an ERROR frame's fields) and its check of the options'
 * size, without a relay or a host: frames are written on a socketpair.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"
#include "tap.h"

/* A handle around one end of a fresh socketpair; *peer gets the other (the "relay"). */
static struct cpremote_child *handle(int *peer)
{
	struct cpremote_child *c = calloc(1, sizeof(*c));
	int sv[2];

	if (c == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	c->status_fd = sv[0];
	c->channel_fd = c->stdio_fd[0] = c->stdio_fd[1] = c->stdio_fd[2] = -1;
	c->pid = -1;
	c->owner = getpid();
	c->in.limit = CPR_HEADER_LEN + CPR_MAX_CONTROL;
	*peer = sv[1];
	return c;
}

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		abort();
}

/* Appends a raw TLV field (tag, u32 length, bytes) whatever its length says. */
static void field_raw(struct cpr_buf *b, uint8_t tag, uint32_t len, const void *v, size_t vlen)
{
	uint8_t hdr[5] = { tag };

	cpr_put_u32(hdr + 1, len);
	if (cpr_buf_append(b, hdr, sizeof(hdr)) < 0 || cpr_buf_append(b, v, vlen) < 0)
		abort();
}

static void status_frames(void)
{
	struct cpr_buf f = { 0 };
	struct cpr_header h;
	const uint8_t *pl;
	uint8_t exitp[4] = { CPR_EXITED, 3, 0, 0 }, raw[CPR_HEADER_LEN];
	struct cpremote_child *c;
	int peer;

	/* One whole frame, then two in one write. */
	c = handle(&peer);
	cpr_frame_append(&f, CPR_EXIT, 0, 0, exitp, sizeof(exitp));
	put(peer, cpr_buf_peek(&f), cpr_buf_len(&f));
	ok_int(lib_status_next(c, 0, &h, &pl), 1, "status: a whole frame is returned");
	ok_int(h.type, CPR_EXIT, "status: ... with its type");
	ok_int(h.length, 4, "status: ... and length");
	ok_int(pl[1], 3, "status: ... and payload");
	ok_int(lib_status_next(c, 0, &h, &pl), 0, "status: nothing more: 0 without blocking");
	cpr_buf_free(&f);
	cpr_frame_append_u32(&f, CPR_SPAWNED, 0, 0, 4242);
	cpr_frame_append(&f, CPR_EXIT, 0, 0, exitp, sizeof(exitp));
	put(peer, cpr_buf_peek(&f), cpr_buf_len(&f));
	ok_int(lib_status_next(c, 0, &h, &pl), 1, "status: two frames in one read: the first");
	ok_int(h.type == CPR_SPAWNED ? (int)cpr_get_u32(pl) : -1, 4242, "status: ... SPAWNED and its pid");
	ok_int(lib_status_next(c, 0, &h, &pl), 1, "status: ... then the second");
	ok_int(h.type, CPR_EXIT, "status: ... EXIT");

	/* A frame cut in two: nothing until its end arrives. */
	put(peer, cpr_buf_peek(&f), 5);
	ok_int(lib_status_next(c, 0, &h, &pl), 0, "status: half a header: not yet");
	put(peer, cpr_buf_peek(&f) + 5, CPR_HEADER_LEN + 1 - 5);
	ok_int(lib_status_next(c, 0, &h, &pl), 0, "status: header and one byte of payload: not yet");
	put(peer, cpr_buf_peek(&f) + CPR_HEADER_LEN + 1, cpr_buf_len(&f) - CPR_HEADER_LEN - 1);
	ok_int(lib_status_next(c, 0, &h, &pl), 1, "status: the rest: the frame");
	ok_int(h.type == CPR_SPAWNED ? (int)cpr_get_u32(pl) : -1, 4242, "status: ... whole");
	ok_int(lib_status_next(c, 0, &h, &pl), 1, "status: and the one after it");

	/* End of file, between frames and inside one. */
	close(peer);
	ok_int(lib_status_next(c, 1, &h, &pl), CPREMOTE_ERELAY, "status: end of file is CPREMOTE_ERELAY");
	cpremote_free(c);
	c = handle(&peer);
	put(peer, cpr_buf_peek(&f), 7);
	close(peer);
	ok_int(lib_status_next(c, 1, &h, &pl), CPREMOTE_ERELAY, "status: end of file inside a frame too");
	cpremote_free(c);
	cpr_buf_free(&f);

	/* A bad header: an unknown type, a non-zero reserved field. */
	c = handle(&peer);
	memset(raw, 0, sizeof(raw));
	raw[0] = 99;
	put(peer, raw, sizeof(raw));
	ok_int(lib_status_next(c, 0, &h, &pl), CPREMOTE_EPROTO, "status: an unknown type is CPREMOTE_EPROTO");
	cpremote_free(c);
	c = handle(&peer);
	raw[0] = CPR_EXIT;
	raw[2] = 1;
	put(peer, raw, sizeof(raw));
	ok_int(lib_status_next(c, 0, &h, &pl), CPREMOTE_EPROTO,
	       "status: reserved bytes set: CPREMOTE_EPROTO");
	cpremote_free(c);

	/*
	 * A SPAWN header (its limit is 4 MiB) announcing more than the status
	 * buffer holds: refused once the buffer is full, never grown past it.
	 */
	c = handle(&peer);
	{
		struct cpr_header big = { .type = CPR_SPAWN, .length = 1u << 20 };
		uint8_t junk[CPR_MAX_CONTROL + 64] = { 0 };

		cpr_header_encode(raw, &big);
		put(peer, raw, sizeof(raw));
		put(peer, junk, sizeof(junk));
		ok_int(lib_status_next(c, 0, &h, &pl), CPREMOTE_EPROTO,
		       "status: a frame larger than the buffer is CPREMOTE_EPROTO");
		ok(cpr_buf_len(&c->in) <= CPR_HEADER_LEN + CPR_MAX_CONTROL,
		   "status: ... and the buffer stayed bounded");
	}
	close(peer);
	cpremote_free(c);
}

static void error_fields(void)
{
	struct cpr_buf b = { 0 };
	const uint8_t *msg;
	uint32_t len;
	int code;

	lib_error_fields(NULL, 0, &code, &msg, &len);
	ok_int(code, CPREMOTE_ESPAWN, "error: no fields: CPREMOTE_ESPAWN");
	ok(msg == NULL && len == 0, "error: no fields: no message");

	cpr_field_put_u32(&b, CPR_F_CODE, (uint32_t)CPREMOTE_ENOTFOUND);
	cpr_field_put_str(&b, CPR_F_MESSAGE, "h1: nope: not found");
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	ok_int(code, CPREMOTE_ENOTFOUND, "error: CODE is read as a negative int32");
	ok(msg != NULL && len == 19 && memcmp(msg, "h1: nope: not found", 19) == 0, "error: MESSAGE is read");
	cpr_buf_free(&b);

	/* A code that is not negative would read as success: ignored. */
	cpr_field_put_u32(&b, CPR_F_CODE, 5);
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	ok_int(code, CPREMOTE_ESPAWN, "error: a positive CODE falls back to CPREMOTE_ESPAWN");
	cpr_buf_free(&b);
	cpr_field_put_u32(&b, CPR_F_CODE, 0);
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	ok_int(code, CPREMOTE_ESPAWN, "error: CODE 0 falls back to CPREMOTE_ESPAWN");
	cpr_buf_free(&b);

	/* A CODE of the wrong size is skipped; unknown tags too. */
	field_raw(&b, CPR_F_CODE, 2, "\xff\xff", 2);
	field_raw(&b, 200, 3, "abc", 3);
	cpr_field_put_str(&b, CPR_F_MESSAGE, "m");
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	ok_int(code, CPREMOTE_ESPAWN, "error: a 2-byte CODE is skipped");
	ok(msg != NULL && len == 1 && msg[0] == 'm',
	   "error: ... and the MESSAGE after an unknown tag is read");
	cpr_buf_free(&b);

	/* A field whose length runs past the payload ends the parse; what came before stays. */
	cpr_field_put_u32(&b, CPR_F_CODE, (uint32_t)CPREMOTE_EAUTH);
	field_raw(&b, CPR_F_MESSAGE, 1000, "short", 5);
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	ok_int(code, CPREMOTE_EAUTH, "error: a truncated field: the CODE before it is kept");
	ok(msg == NULL && len == 0, "error: ... and the truncated MESSAGE is not used");
	cpr_buf_free(&b);

	/* Half a field header. */
	lib_error_fields((const uint8_t *)"\x22\x00", 2, &code, &msg, &len);
	ok(code == CPREMOTE_ESPAWN && msg == NULL, "error: half a field header: nothing read");

	/* An empty MESSAGE: the text of the code is used instead of an empty line. */
	cpr_field_put_u32(&b, CPR_F_CODE, (uint32_t)CPREMOTE_EHELPER);
	cpr_field_put_str(&b, CPR_F_MESSAGE, "");
	lib_error_fields(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b), &code, &msg, &len);
	lib_errmsg_set_bytes(msg, len, code);
	ok_str(cpremote_errmsg(), cpremote_strerror(CPREMOTE_EHELPER),
	       "error: an empty MESSAGE reads as the code's text");
	cpr_buf_free(&b);
}

/*
 * cpremote_wait() with WNOHANG on frames that came in one read: a notice
 * (SPAWNED, REAPED) must not leave the EXIT behind it buffered, where the
 * exit fd would never wake the caller for it.
 */
static void wait_frames(void)
{
	struct cpr_buf f = { 0 };
	uint8_t exitp[4] = { CPR_EXITED, 3, 0, 0 };
	struct cpremote_child *c;
	int peer, st = -1;

	c = handle(&peer);
	cpr_frame_append_u32(&f, CPR_SPAWNED, 0, 0, 77);
	cpr_frame_append(&f, CPR_REAPED, 0, 0, exitp, sizeof(exitp));
	put(peer, cpr_buf_peek(&f), cpr_buf_len(&f));
	ok_int(cpremote_wait(c, &st, CPREMOTE_WNOHANG), 0, "wait: SPAWNED and REAPED: still waiting");
	ok_int(cpremote_pid(c), 77, "wait: ... the pid is known");
	ok_int(cpremote_exited(c, &st), 1, "wait: ... and the program's exit too");
	ok_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 3, "wait: ... with its status");
	cpr_buf_free(&f);
	cpr_frame_append(&f, CPR_EXIT, 0, 0, exitp, sizeof(exitp));
	put(peer, cpr_buf_peek(&f), cpr_buf_len(&f));
	ok_int(cpremote_wait(c, &st, CPREMOTE_WNOHANG), 1, "wait: then EXIT: the final status");
	cpremote_free(c);
	cpr_buf_free(&f);

	c = handle(&peer);
	cpr_frame_append_u32(&f, CPR_SPAWNED, 0, 0, 78);
	cpr_frame_append(&f, CPR_EXIT, 0, 0, exitp, sizeof(exitp));
	put(peer, cpr_buf_peek(&f), cpr_buf_len(&f));
	ok_int(cpremote_wait(c, &st, CPREMOTE_WNOHANG), 1,
	       "wait: SPAWNED and EXIT in one read: the status at once");
	ok_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 3, "wait: ... exit 3");
	close(peer);
	cpremote_free(c);
	cpr_buf_free(&f);
}

/* Runs cpremote_run() with SIZE in .size and no host: which check refuses it. */
static const char *refusal(size_t size)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	cpremote_child *c = (cpremote_child *)&o;
	int rc;

	o.size = size;
	rc = cpremote_run(&o, &c);
	if (rc != CPREMOTE_EINVAL || c != NULL)
		return "not refused";
	return cpremote_errmsg();
}

static void options_size(void)
{
	size_t v1 = offsetof(struct cpremote_options, flags) + sizeof(unsigned);

	ok_contains(refusal(0), "initialise it with CPREMOTE_OPTIONS_INIT", "options: size 0 is refused");
	ok_contains(refusal(v1 - 1), "has size", "options: a size short of the first struct is refused");
	ok_contains(refusal(sizeof(struct cpremote_options) + 8), "has size",
		    "options: a size larger than this library knows is refused");
	/* These pass the size check: the next one (no host) refuses them. */
	ok_str(refusal(v1), "no host given", "options: the first struct's size is accepted");
	ok_str(refusal(sizeof(struct cpremote_options)), "no host given",
	       "options: CPREMOTE_OPTIONS_INIT's size is accepted");
}

/* The terminal's options: refused before anything is started. */
static void tty_options(void)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	cpremote_child *c = NULL;

	o.host = "h1";
	o.file = "sh";
	o.flags = CPREMOTE_TTY;
	ok_int(cpremote_run(&o, &c), CPREMOTE_EINVAL, "tty: without a stdout refused");
	ok_contains(cpremote_errmsg(), "needs a stdout", "tty: ... the message says why");
	o.flags = CPREMOTE_LOGIN_SHELL;
	ok_int(cpremote_run(&o, &c), CPREMOTE_EINVAL, "login shell: with a program refused");
	ok_contains(cpremote_errmsg(), "no program or argv", "login shell: ... the message says why");
	ok_int(cpremote_resize(NULL, 24, 80), CPREMOTE_EINVAL, "resize: no handle refused");
}

int main(void)
{
	tty_options();
	status_frames();
	error_fields();
	wait_frames();
	options_size();
	return tap_done();
}
