/*
 * test_helper_input.c — the helper's parsers of what the relay sends,
 * called directly (no process): the SPAWN request decoder (good fields,
 * defaults, bad TLVs, NULs, wrong sizes, oversized lengths, a missing or
 * empty FILE) and the frame handler (hello, PING, bad headers, partial
 * frames, frames for unknown children, a SPAWN that the parser refuses,
 * CONNECT with a socketpair standing for the socket file).
 * Spawning is replaced by a function that records the request: the
 * process side is tested through the real helper in test_helper.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"
#include "proto.h"
#include "tap.h"

/* Encodes a request of N (tag, string) fields. */
static void put(struct cpr_buf *b, uint8_t tag, const char *s)
{
	cpr_field_put_str(b, tag, s);
}

static int parse(const struct cpr_buf *b, struct spawn_req *req)
{
	return spawn_req_parse(cpr_buf_peek(b), cpr_buf_len(b), req);
}

static void test_good(void)
{
	static const uint8_t stdio[3] = { CPR_STDIO_PIPE, CPR_STDIO_NULL, CPR_STDIO_PIPE };
	struct cpr_buf b = { 0 };
	struct spawn_req req;

	put(&b, CPR_F_FILE, "/bin/echo");
	put(&b, CPR_F_ARG, "echo");
	put(&b, CPR_F_ARG, "");
	put(&b, CPR_F_ARG, "two words");
	put(&b, CPR_F_ENV, "A=1");
	put(&b, CPR_F_ENV, "UNSET_ME");
	put(&b, CPR_F_CWD, "/tmp");
	cpr_field_put_u32(&b, CPR_F_FLAGS, CPR_SPAWN_NODE);
	cpr_field_put(&b, CPR_F_STDIO, stdio, 3);
	cpr_field_put(&b, 200, "unknown", 7);
	ok_int(parse(&b, &req), 0, "good: parsed");
	ok_str(req.file, "/bin/echo", "good: file");
	ok(req.argv && !strcmp(req.argv[0], "echo") && !strcmp(req.argv[1], "") &&
		   !strcmp(req.argv[2], "two words") && req.argv[3] == NULL,
	   "good: argv in order, empty argument kept, NULL-terminated");
	ok(req.env && !strcmp(req.env[0], "A=1") && !strcmp(req.env[1], "UNSET_ME") && req.env[2] == NULL,
	   "good: env in order");
	ok_str(req.cwd, "/tmp", "good: cwd");
	ok_int(req.flags, CPR_SPAWN_NODE, "good: flags");
	ok(!memcmp(req.stdio, stdio, 3), "good: stdio; unknown tag skipped");
	spawn_req_free(&req);
	cpr_buf_free(&b);

	/* Without ARG, argv is the file; a repeated FILE: the last one counts. */
	put(&b, CPR_F_FILE, "first");
	put(&b, CPR_F_FILE, "true");
	ok_int(parse(&b, &req), 0, "defaults: parsed");
	ok(req.argv && !strcmp(req.argv[0], "true") && req.argv[1] == NULL, "defaults: argv is [file]");
	ok(req.env == NULL && req.cwd == NULL && req.flags == 0 && req.stdio[0] == CPR_STDIO_NULL,
	   "defaults: no env, no cwd, no flags, stdio /dev/null");
	spawn_req_free(&req);
	cpr_buf_free(&b);
}

/* Parses B and checks that it is refused as EINVAL; frees B. */
static void refused(struct cpr_buf *b, const char *what)
{
	struct spawn_req req;
	int r;

	r = parse(b, &req);
	ok(r == -EINVAL, what);
	spawn_req_free(&req);
	cpr_buf_free(b);
}

static void test_bad(void)
{
	struct cpr_buf b = { 0 };
	uint8_t raw[16];

	refused(&b, "empty payload: EINVAL");
	put(&b, CPR_F_ARG, "ls");
	refused(&b, "no FILE: EINVAL");
	put(&b, CPR_F_FILE, "");
	refused(&b, "empty FILE: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	cpr_field_put(&b, CPR_F_ARG, "a\0b", 3);
	refused(&b, "NUL inside an argument: EINVAL");
	cpr_field_put(&b, CPR_F_FILE, "l\0s", 3);
	refused(&b, "NUL inside FILE: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	cpr_field_put(&b, CPR_F_FLAGS, "\0\0\0", 3);
	refused(&b, "FLAGS of 3 bytes: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	cpr_field_put(&b, CPR_F_STDIO, "\0\1", 2);
	refused(&b, "STDIO of 2 bytes: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	cpr_field_put(&b, CPR_F_STDIO, "\0\1\2", 3);
	refused(&b, "STDIO mode 2: EINVAL");
	/* A field whose length runs past the payload (oversized), and a cut header. */
	put(&b, CPR_F_FILE, "ls");
	raw[0] = CPR_F_ARG;
	cpr_put_u32(raw + 1, 0xffffffffu);
	cpr_buf_append(&b, raw, 5);
	refused(&b, "field length 2^32-1 past the end: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	raw[0] = CPR_F_ARG;
	cpr_put_u32(raw + 1, 4);
	cpr_buf_append(&b, raw, 8);
	refused(&b, "field one byte short: EINVAL");
	put(&b, CPR_F_FILE, "ls");
	cpr_buf_append(&b, raw, 3);
	refused(&b, "trailing partial field header: EINVAL");
}

/* The spawn the frame handler calls: records the request, starts nothing. */
static char last_file[64];
static int spawns;

static int fake_spawn(const struct spawn_req *req, struct child *c, int *stage)
{
	spawns++;
	snprintf(last_file, sizeof(last_file), "%s", req->file);
	if (strcmp(req->file, "fail") == 0) {
		*stage = CPR_STAGE_EXEC;
		return -ENOENT;
	}
	c->pid = 4242;
	c->reaped = 1; /* as if it ended at once: EXIT follows its streams' EOF */
	return 0;
}

/* The types of the frames queued to the relay after the hello, as a string of digits. */
static const char *out_types(struct helper *h, char *s, size_t n)
{
	const uint8_t *p = cpr_buf_peek(&h->out) + CPR_HELLO_LEN, *payload;
	size_t left = cpr_buf_len(&h->out) - CPR_HELLO_LEN, k = 0;
	struct cpr_header f;
	ssize_t len;

	while (k + 3 < n && (len = cpr_frame_next(p, left, &f, &payload)) > 0) {
		k += (size_t)snprintf(s + k, n - k, "%s%u", k ? "," : "", f.type);
		p += len;
		left -= (size_t)len;
	}
	s[k] = '\0';
	return s;
}

static void feed(struct cpr_buf *in, uint8_t type, uint8_t stream, uint32_t child, const struct cpr_buf *p)
{
	cpr_frame_append(in, type, stream, child, p ? cpr_buf_peek(p) : NULL,
			 p ? (uint32_t)cpr_buf_len(p) : 0);
}

static void helper_reset(struct helper *h)
{
	struct child *c;

	while ((c = h->children) != NULL) {
		h->children = c->next;
		child_free(c);
	}
	cpr_buf_free(&h->out);
	memset(h, 0, sizeof(*h));
	h->spawn = fake_spawn;
	outq_hello(h);
}

static void test_frames(void)
{
	struct helper h = { 0 };
	struct cpr_buf in = { 0 }, p = { 0 };
	uint8_t hello[CPR_HELLO_LEN], ping[8] = { 0, 0, 0, 7, 0, 0, 0, 20 };
	char types[256];

	helper_reset(&h);
	cpr_hello_encode(hello, 0);
	cpr_buf_append(&in, hello, 10);
	ok(helper_input(&h, &in) == 0 && !h.hello_done, "half a hello: wait for more");
	cpr_buf_append(&in, hello + 10, sizeof(hello) - 10);
	cpr_buf_append(&p, ping, sizeof(ping));
	feed(&in, CPR_PING, 0, 0, &p);
	cpr_buf_free(&p);
	ok(helper_input(&h, &in) == 0 && h.hello_done, "hello taken");
	ok_str(out_types(&h, types, sizeof(types)), "10", "PING answered with PONG");
	ok_int(h.silence_limit_ms, 20000, "PING: the silence limit learnt");

	/* A partial frame stays until the rest comes. */
	put(&p, CPR_F_FILE, "prog");
	feed(&in, CPR_SPAWN, 0, 5, &p);
	cpr_buf_free(&p);
	in.tail -= 3;
	ok(helper_input(&h, &in) == 0 && spawns == 0 && cpr_buf_len(&in) > 0, "partial SPAWN: kept");
	in.tail += 3;
	ok(helper_input(&h, &in) == 0 && spawns == 1 && cpr_buf_len(&in) == 0, "the rest came: spawned");
	ok_str(last_file, "prog", "the parsed request reached spawn");
	/* The child's streams: DATA and EOF for it, SIGNAL to a reaped child, frames for unknown ids. */
	feed(&in, CPR_DATA, CPR_STDIN, 5, NULL);
	feed(&in, CPR_EOF, CPR_STDOUT, 5, NULL);
	feed(&in, CPR_EOF, CPR_CHANNEL, 999, NULL);
	ok_int(helper_input(&h, &in), 0, "frames for a child and an unknown one");
	put(&p, CPR_F_ARG, "no file");
	feed(&in, CPR_SPAWN, 0, 6, &p);
	cpr_buf_free(&p);
	put(&p, CPR_F_FILE, "fail");
	feed(&in, CPR_SPAWN, 0, 7, &p);
	cpr_buf_free(&p);
	feed(&in, CPR_SPAWN, 0, 0, NULL);
	ok(helper_input(&h, &in) == 0 && spawns == 2, "SPAWN without FILE is not spawned; id 0 ignored");
	ok_str(out_types(&h, types, sizeof(types)), "10,2,3,3",
	       "PONG, SPAWNED, ERROR (bad request), ERROR (exec)");
	children_finish(&h);

	/* A header with a bad stream ends the link. */
	cpr_buf_append(&in, (const uint8_t[CPR_HEADER_LEN]){ CPR_DATA, 4 }, CPR_HEADER_LEN);
	ok_int(helper_input(&h, &in), -1, "stream 4: the link ends");
	cpr_buf_free(&in);

	helper_reset(&h);
	hello[CPR_MAGIC_LEN] = CPR_VERSION + 1;
	cpr_buf_append(&in, hello, sizeof(hello));
	ok(helper_input(&h, &in) == -1 && h.bad_hello, "another version: bad hello");
	cpr_buf_free(&in);
	helper_reset(&h);
	cpr_buf_append(&in, "SSH-2.0-OpenSSH_9", 16);
	ok(helper_input(&h, &in) == -1 && h.bad_hello, "no magic: bad hello");
	cpr_buf_free(&in);
	helper_reset(&h);
	cpr_buf_free(&h.out);
}

/* The relay's EOF on stdout: that stream's queued DATA goes, the rest of the queue stays in order. */
static void test_reader_gone(void)
{
	struct helper h = { 0 };
	struct cpr_buf in = { 0 }, p = { 0 };
	uint8_t hello[CPR_HELLO_LEN];
	char types[256];

	helper_reset(&h);
	cpr_hello_encode(hello, 0);
	cpr_buf_append(&in, hello, sizeof(hello));
	put(&p, CPR_F_FILE, "prog");
	feed(&in, CPR_SPAWN, 0, 5, &p);
	feed(&in, CPR_SPAWN, 0, 6, &p);
	cpr_buf_free(&p);
	helper_input(&h, &in);
	cpr_frame_append(&h.out, CPR_DATA, CPR_STDOUT, 5, "a", 1);
	cpr_frame_append(&h.out, CPR_DATA, CPR_STDERR, 5, "b", 1);
	cpr_frame_append(&h.out, CPR_DATA, CPR_STDOUT, 6, "c", 1);
	cpr_frame_append(&h.out, CPR_DATA, CPR_STDOUT, 5, "d", 1);
	cpr_frame_append(&h.out, CPR_EOF, CPR_STDOUT, 5, NULL, 0);
	feed(&in, CPR_EOF, CPR_STDOUT, 5, NULL);
	ok_int(helper_input(&h, &in), 0, "reader gone: EOF on stdout taken");
	ok_str(out_types(&h, types, sizeof(types)), "2,2,4,4,5",
	       "reader gone: child 5's stdout DATA dropped, the rest kept");
	ok(h.children != NULL && h.children->next != NULL && h.children->next->out[CPR_STDOUT].ended,
	   "reader gone: the stream counts as ended");
	cpr_buf_free(&in);
	helper_reset(&h);
	cpr_buf_free(&h.out);
}

/* A terminal's fields (CPR_F_TTY, TERM, modes) and the login shell, which needs no FILE. */
static void test_tty(void)
{
	struct winsize ws = { .ws_row = 30, .ws_col = 120 };
	uint8_t w[CPR_WINSIZE_LEN], mode[5] = { CPR_TM_ECHO, 0, 0, 0, 1 };
	struct cpr_buf b = { 0 };
	struct spawn_req req;

	cpr_winsize_encode(w, &ws);
	put(&b, CPR_F_FILE, "python3");
	cpr_field_put(&b, CPR_F_TTY, w, sizeof(w));
	put(&b, CPR_F_TERM, "xterm");
	cpr_field_put(&b, CPR_F_TTY_MODES, mode, sizeof(mode));
	ok_int(parse(&b, &req), 0, "tty: parsed");
	ok(req.tty && req.ws.ws_row == 30 && req.ws.ws_col == 120, "tty: a terminal of 30x120");
	ok_str(req.term, "xterm", "tty: TERM");
	ok(req.modes_len == 5 && req.modes && !memcmp(req.modes, mode, 5), "tty: modes kept as sent");
	spawn_req_free(&req);
	cpr_buf_free(&b);

	put(&b, CPR_F_FILE, "sh");
	cpr_field_put(&b, CPR_F_TTY, w, sizeof(w) - 1);
	refused(&b, "tty: a window of the wrong size is refused");

	cpr_field_put_u32(&b, CPR_F_FLAGS, CPR_SPAWN_LOGIN);
	ok_int(parse(&b, &req), 0, "login shell: parsed without FILE");
	ok(req.file == NULL && req.flags == CPR_SPAWN_LOGIN && !req.tty,
	   "login shell: no program, no terminal");
	spawn_req_free(&req);
	cpr_buf_free(&b);
}

/* The server's end of the last fake connection: the test plays the serving process. */
static int server_end = -1;

/* The connect the frame handler calls: a socketpair stands for the socket file "/ok.sock". */
static int fake_connect(const char *path)
{
	int sv[2];

	if (strcmp(path, "/ok.sock") != 0)
		return -ENOTSOCK;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	server_end = sv[1];
	return sv[0];
}

/*
 * CONNECT: SPAWNED with pid 0, or ERROR at stage connect; no PATH is a
 * bad request; the channel carries bytes both ways; a SIGNAL ends it; the
 * server's end of file brings EOF and EXIT (exited 0).
 */
static void test_connect(void)
{
	struct helper h = { 0 };
	struct cpr_buf in = { 0 }, p = { 0 };
	uint8_t hello[CPR_HELLO_LEN];
	const uint8_t *pl;
	struct cpr_header f;
	struct child *c;
	char types[256], got[8] = "";

	helper_reset(&h);
	h.connect = fake_connect;
	cpr_hello_encode(hello, 0);
	cpr_buf_append(&in, hello, sizeof(hello));
	put(&p, CPR_F_PATH, "/ok.sock");
	feed(&in, CPR_CONNECT, 0, 8, &p);
	cpr_buf_free(&p);
	put(&p, CPR_F_PATH, "/etc/hostname");
	feed(&in, CPR_CONNECT, 0, 9, &p);
	cpr_buf_free(&p);
	put(&p, CPR_F_FILE, "prog");
	feed(&in, CPR_CONNECT, 0, 10, &p);
	cpr_buf_free(&p);
	ok_int(helper_input(&h, &in), 0, "connect: three CONNECT frames taken");
	ok_str(out_types(&h, types, sizeof(types)), "2,3,3",
	       "connect: SPAWNED, ERROR (not a socket), ERROR (no PATH)");
	cpr_frame_next(cpr_buf_peek(&h.out) + CPR_HELLO_LEN, cpr_buf_len(&h.out) - CPR_HELLO_LEN, &f, &pl);
	ok(f.child == 8 && f.length == 4 && cpr_get_u32(pl) == 0, "connect: SPAWNED carries pid 0");
	c = child_find(&h, 8);
	ok(c != NULL && c->pid == -1 && c->reaped, "connect: a child with no process, counted as reaped");
	cpr_buf_consume(&h.out, cpr_buf_len(&h.out) - CPR_HELLO_LEN);

	cpr_buf_append(&p, "hi", 2);
	feed(&in, CPR_DATA, CPR_CHANNEL, 8, &p);
	cpr_buf_free(&p);
	helper_input(&h, &in);
	ok(read(server_end, got, sizeof(got) - 1) == 2 && strcmp(got, "hi") == 0,
	   "connect: DATA reaches the server");
	ok_int(write(server_end, "yo", 2), 2, "connect: the server answers");
	child_read(&h, c, CPR_CHANNEL);
	ok_str(out_types(&h, types, sizeof(types)), "4", "connect: its answer goes to the relay as DATA");
	ok_int(children_finish(&h), 0, "connect: no EXIT while the connection is open");
	ok(child_find(&h, 8) != NULL, "connect: ... the child is still there");

	cpr_frame_append_u32(&in, CPR_SIGNAL, 0, 8, 15);
	helper_input(&h, &in);
	ok_int(read(server_end, got, sizeof(got)), 0,
	       "connect: a SIGNAL shuts the connection down: the server reads EOF");
	child_read(&h, c, CPR_CHANNEL);
	children_finish(&h);
	ok_str(out_types(&h, types, sizeof(types)), "4,5,8", "connect: then EOF and EXIT");
	ok(child_find(&h, 8) == NULL, "connect: ... and the child is gone");
	close(server_end);
	cpr_buf_free(&in);
	helper_reset(&h);
	cpr_buf_free(&h.out);
}

int main(void)
{
	helper_warn_quiet = 1;
	test_tty();
	test_good();
	test_bad();
	test_frames();
	test_reader_gone();
	test_connect();
	return tap_done();
}
