/* test_proto.c — unit tests of the protocol codec (common/proto.c). */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

static void test_u32(void)
{
	uint8_t b[4];

	cpr_put_u32(b, 0x01020304u);
	ok(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4, "u32 is big-endian");
	ok_int(cpr_get_u32(b), 0x01020304u, "u32 round trip");
	cpr_put_u32(b, 0xfffffffeu);
	ok_int(cpr_get_u32(b), 0xfffffffeu, "u32 high bit round trip");
}

static void test_hello(void)
{
	uint8_t h[CPR_HELLO_LEN], buf[CPR_MAX_NOISE + 64];
	uint8_t version = 0;
	uint32_t caps = 0;
	size_t i;
	int all_zero = 1;

	cpr_hello_encode(h, 0x0a0b0c0du);
	ok(memcmp(h, "CPREMOTE", 8) == 0, "hello starts with the magic");
	ok_int(h[8], CPR_VERSION, "hello carries the version");
	ok(h[9] == 0 && h[10] == 0 && h[11] == 0, "hello reserved bytes are zero");
	ok_int(cpr_hello_find(h, sizeof(h), &version, &caps), CPR_HELLO_LEN, "hello found at once");
	ok_int(version, CPR_VERSION, "hello version decoded");
	ok_int(caps, 0x0a0b0c0du, "hello capabilities decoded");

	for (i = 0; i < CPR_HELLO_LEN; i++)
		if (cpr_hello_find(h, i, &version, &caps) != 0)
			all_zero = 0;
	ok(all_zero, "every prefix of a hello needs more bytes");

	memcpy(buf, "Welcome to host\nCPREM\n", 22);
	memcpy(buf + 22, h, sizeof(h));
	ok_int(cpr_hello_find(buf, 22 + sizeof(h), &version, &caps), 22 + CPR_HELLO_LEN,
	       "hello found after noise (with a false start)");
	ok_int(cpr_hello_find(buf, 22 + 5, &version, &caps), 0, "a partial magic after noise waits");
	memcpy(buf + 22 + sizeof(h), "trailing", 8);
	ok_int(cpr_hello_find(buf, 22 + sizeof(h) + 8, &version, &caps), 22 + CPR_HELLO_LEN,
	       "bytes after the hello are not counted");

	memset(buf, 'x', sizeof(buf));
	ok_int(cpr_hello_find(buf, CPR_MAX_NOISE, &version, &caps), 0, "64 KiB of noise still waits");
	ok_int(cpr_hello_find(buf, sizeof(buf), &version, &caps), -1, "more than 64 KiB of noise fails");
	memcpy(buf + CPR_MAX_NOISE, h, sizeof(h));
	ok_int(cpr_hello_find(buf, CPR_MAX_NOISE + CPR_HELLO_LEN, &version, &caps),
	       CPR_MAX_NOISE + CPR_HELLO_LEN, "hello right after 64 KiB of noise is found");
	memcpy(buf + CPR_MAX_NOISE + 1, h, sizeof(h));
	buf[CPR_MAX_NOISE] = 'x';
	ok_int(cpr_hello_find(buf, CPR_MAX_NOISE + 1 + CPR_HELLO_LEN, &version, &caps), -1,
	       "hello after 64 KiB + 1 of noise fails");

	h[8] = 7;
	cpr_hello_find(h, sizeof(h), &version, &caps);
	ok_int(version, 7, "another version is reported to the caller");
}

static void test_header(void)
{
	struct cpr_header h = { .type = CPR_DATA, .stream = CPR_STDERR, .child = 0x11223344u, .length = 77 };
	struct cpr_header d;
	uint8_t b[CPR_HEADER_LEN];

	cpr_header_encode(b, &h);
	ok(b[0] == CPR_DATA && b[1] == CPR_STDERR && b[2] == 0 && b[3] == 0, "header layout");
	ok_int(cpr_get_u32(b + 4), 0x11223344u, "header child id");
	ok_int(cpr_get_u32(b + 8), 77, "header length");
	ok_int(cpr_header_decode(b, &d), 0, "header decodes");
	ok(d.type == h.type && d.stream == h.stream && d.child == h.child && d.length == h.length,
	   "header round trip");

	b[0] = 0;
	ok_int(cpr_header_decode(b, &d), -1, "type 0 refused");
	b[0] = CPR_TYPE_MAX + 1;
	ok_int(cpr_header_decode(b, &d), -1, "type above the last refused");
	b[0] = CPR_SIGNAL;
	b[1] = CPR_NSTREAMS;
	ok_int(cpr_header_decode(b, &d), -1, "stream 4 refused for a type without fd streams");
	b[0] = CPR_DATA;
	ok_int(cpr_header_decode(b, &d), 0, "stream 4 taken for DATA (an fd stream)");
	b[1] = 0;
	b[2] = 1;
	ok_int(cpr_header_decode(b, &d), -1, "reserved byte 2 refused");
	b[2] = 0;
	b[3] = 0x80;
	ok_int(cpr_header_decode(b, &d), -1, "reserved byte 3 refused");
	b[3] = 0;

	cpr_put_u32(b + 8, CPR_MAX_DATA);
	ok_int(cpr_header_decode(b, &d), 0, "DATA of 32 KiB accepted");
	cpr_put_u32(b + 8, CPR_MAX_DATA + 1);
	ok_int(cpr_header_decode(b, &d), -1, "DATA above 32 KiB refused");
	b[0] = CPR_SPAWN;
	cpr_put_u32(b + 8, CPR_MAX_SPAWN);
	ok_int(cpr_header_decode(b, &d), 0, "SPAWN of 4 MiB accepted");
	cpr_put_u32(b + 8, CPR_MAX_SPAWN + 1);
	ok_int(cpr_header_decode(b, &d), -1, "SPAWN above 4 MiB refused");
	b[0] = CPR_CREDIT;
	cpr_put_u32(b + 8, CPR_MAX_CONTROL + 1);
	ok_int(cpr_header_decode(b, &d), -1, "CREDIT above 4 KiB refused");
	cpr_put_u32(b + 8, 0xffffffffu);
	ok_int(cpr_header_decode(b, &d), -1, "length 2^32-1 refused");

	ok_int(cpr_max_length(CPR_DATA), CPR_MAX_DATA, "max length of DATA");
	ok_int(cpr_max_length(CPR_EXIT), CPR_MAX_CONTROL, "max length of EXIT");
	ok_int(cpr_max_length(99), 0, "max length of an unknown type");
}

static void test_frames(void)
{
	struct cpr_buf b = { 0 };
	struct cpr_header h;
	const uint8_t *p = NULL;
	uint8_t big[CPR_MAX_DATA + 1];
	size_t i, total;
	int all_zero = 1;
	ssize_t n;

	ok_int(cpr_frame_append(&b, CPR_DATA, CPR_CHANNEL, 5, "hello", 5), 0, "DATA appended");
	ok_int(cpr_frame_append_u32(&b, CPR_CREDIT, CPR_STDOUT, 6, 4096), 0, "CREDIT appended");
	ok_int(cpr_frame_append(&b, CPR_EOF, CPR_STDIN, 7, NULL, 0), 0, "EOF appended");
	total = cpr_buf_len(&b);
	ok_int(total, 3 * CPR_HEADER_LEN + 5 + 4, "three frames' size");

	n = cpr_frame_next(cpr_buf_peek(&b), cpr_buf_len(&b), &h, &p);
	ok_int(n, CPR_HEADER_LEN + 5, "first frame size");
	ok(h.type == CPR_DATA && h.stream == CPR_CHANNEL && h.child == 5 && h.length == 5 &&
		   memcmp(p, "hello", 5) == 0,
	   "first frame round trip");
	for (i = 0; i < (size_t)n; i++)
		if (cpr_frame_next(cpr_buf_peek(&b), i, &h, &p) != 0)
			all_zero = 0;
	ok(all_zero, "every prefix of a frame needs more bytes");
	cpr_buf_consume(&b, (size_t)n);

	n = cpr_frame_next(cpr_buf_peek(&b), cpr_buf_len(&b), &h, &p);
	ok(n == CPR_HEADER_LEN + 4 && h.type == CPR_CREDIT && h.stream == CPR_STDOUT && h.child == 6 &&
		   cpr_get_u32(p) == 4096,
	   "u32 frame round trip");
	cpr_buf_consume(&b, (size_t)n);
	n = cpr_frame_next(cpr_buf_peek(&b), cpr_buf_len(&b), &h, &p);
	ok(n == CPR_HEADER_LEN && h.type == CPR_EOF && h.length == 0, "empty frame round trip");
	cpr_buf_consume(&b, (size_t)n);
	ok_int(cpr_buf_len(&b), 0, "queue empty after consuming all");

	memset(big, 'a', sizeof(big));
	ok_int(cpr_frame_append(&b, CPR_DATA, 0, 1, big, CPR_MAX_DATA + 1), -1,
	       "oversized DATA not appended");
	ok_int(cpr_buf_len(&b), 0, "nothing added by a refused append");
	ok_int(cpr_frame_append(&b, CPR_DATA, 0, 1, big, CPR_MAX_DATA), 0, "32 KiB DATA appended");
	ok_int(cpr_frame_append(&b, 0, 0, 1, NULL, 0), -1, "unknown type not appended");
	ok_int(cpr_frame_append(&b, CPR_SIGNAL, 4, 1, NULL, 0), -1, "stream 4 not appended for SIGNAL");
	ok_int(cpr_frame_append(&b, CPR_EOF, 4, 1, NULL, 0), 0, "EOF on fd stream 4 appended");
	cpr_buf_free(&b);

	/* A bad header is reported even before its payload arrived. */
	cpr_frame_append(&b, CPR_EOF, 0, 1, NULL, 0);
	cpr_buf_peek(&b)[2] = 9;
	ok_int(cpr_frame_next(cpr_buf_peek(&b), CPR_HEADER_LEN, &h, &p), -1, "bad header in a stream fails");
	cpr_buf_free(&b);
}

static void test_buf(void)
{
	struct cpr_buf b = { .limit = 100 };
	uint8_t x[200];
	size_t i;
	int same = 1;

	for (i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)i;
	ok_int(cpr_buf_append(&b, x, 60), 0, "append under the limit");
	ok_int(cpr_buf_append(&b, x, 41), -1, "append past the limit refused");
	ok_int(cpr_buf_len(&b), 60, "a refused append adds nothing");
	ok_int(cpr_buf_append(&b, x + 60, 40), 0, "append up to the limit exactly");
	cpr_buf_consume(&b, 50);
	ok_int(cpr_buf_append(&b, x + 100, 50), 0, "consumed bytes free room under the limit");
	for (i = 0; i < 100; i++)
		if (cpr_buf_peek(&b)[i] != x[50 + i])
			same = 0;
	ok(same, "queue keeps order across compaction");
	cpr_buf_consume(&b, 1000);
	ok_int(cpr_buf_len(&b), 0, "over-consuming empties");
	cpr_buf_free(&b);
	cpr_buf_free(&b);
	ok(b.data == NULL, "free twice is harmless");

	b.limit = CPR_HEADER_LEN + 3;
	ok_int(cpr_frame_append(&b, CPR_DATA, 0, 1, "abcd", 4), -1, "frame past the buffer limit refused");
	ok_int(cpr_buf_len(&b), 0, "and adds nothing");
	ok_int(cpr_field_put(&b, CPR_F_ARG, "0123456789abcdef", 16), -1,
	       "field past the buffer limit refused");
	cpr_buf_free(&b);
}

static void test_fields(void)
{
	struct cpr_buf b = { 0 };
	struct cpr_reader r;
	const uint8_t *v;
	uint32_t len;
	uint8_t tag;
	size_t i, total;
	int bad = 0, k;

	cpr_field_put_str(&b, CPR_F_FILE, "/bin/echo");
	cpr_field_put_str(&b, CPR_F_ARG, "");
	cpr_field_put_u32(&b, CPR_F_FLAGS, CPR_SPAWN_NODE);
	cpr_field_put(&b, 200, "xyz", 3); /* an unknown tag */
	total = cpr_buf_len(&b);
	ok_int(total, 5 + 9 + 5 + 5 + 4 + 5 + 3, "fields' size");

	r = (struct cpr_reader){ .p = cpr_buf_peek(&b), .left = total };
	k = cpr_field_next(&r, &tag, &v, &len);
	ok(k == 1 && tag == CPR_F_FILE && len == 9 && memcmp(v, "/bin/echo", 9) == 0, "string field");
	k = cpr_field_next(&r, &tag, &v, &len);
	ok(k == 1 && tag == CPR_F_ARG && len == 0, "empty field");
	k = cpr_field_next(&r, &tag, &v, &len);
	ok(k == 1 && tag == CPR_F_FLAGS && len == 4 && cpr_get_u32(v) == CPR_SPAWN_NODE, "u32 field");
	k = cpr_field_next(&r, &tag, &v, &len);
	ok(k == 1 && tag == 200 && len == 3, "unknown tag read (for skipping)");
	ok_int(cpr_field_next(&r, &tag, &v, &len), 0, "end of fields");

	/* Cut anywhere inside a field, the reader says so instead of reading on. */
	for (i = 1; i < 14; i++) {
		r = (struct cpr_reader){ .p = cpr_buf_peek(&b), .left = i };
		if (cpr_field_next(&r, &tag, &v, &len) != -1)
			bad = 1;
	}
	ok(!bad, "every truncated field fails");
	r = (struct cpr_reader){ .p = cpr_buf_peek(&b), .left = 14 };
	ok_int(cpr_field_next(&r, &tag, &v, &len), 1, "the whole first field reads");
	ok_int(cpr_field_next(&r, &tag, &v, &len), 0, "then the end");

	cpr_put_u32(cpr_buf_peek(&b) + 1, 0xffffffffu);
	r = (struct cpr_reader){ .p = cpr_buf_peek(&b), .left = total };
	ok_int(cpr_field_next(&r, &tag, &v, &len), -1, "a huge field length fails");
	cpr_buf_free(&b);
}

static void test_signals(void)
{
	static const struct {
		int local;
		uint32_t wire;
	} t[] = {
		{ SIGHUP, 1 },   { SIGINT, 2 },   { SIGQUIT, 3 },  { SIGKILL, 9 },   { SIGUSR1, 10 },
		{ SIGSEGV, 11 }, { SIGUSR2, 12 }, { SIGPIPE, 13 }, { SIGTERM, 15 },  { SIGCHLD, 17 },
		{ SIGCONT, 18 }, { SIGSTOP, 19 }, { SIGTSTP, 20 }, { SIGWINCH, 28 }, { SIGSYS, 31 },
	};
	size_t i;
	int good = 1;
	uint32_t w;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (cpr_signal_to_wire(t[i].local) != t[i].wire ||
		    cpr_signal_from_wire(t[i].wire) != t[i].local) {
			printf("# signal %d <-> wire %u mismatch\n", t[i].local, t[i].wire);
			good = 0;
		}
	}
	ok(good, "common signals map to Linux numbers and back");
	for (w = 1; w < 32; w++)
		if (cpr_signal_from_wire(w) != 0 && cpr_signal_to_wire(cpr_signal_from_wire(w)) != w)
			good = 0;
	ok(good, "every mapped wire number round-trips");
	ok_int(cpr_signal_from_wire(0), 0, "wire 0 has no signal");
	ok_int(cpr_signal_from_wire(16), 0, "wire 16 (STKFLT) is not mapped");
	ok_int(cpr_signal_from_wire(64), 0, "wire 64 is not mapped");
	ok_int(cpr_signal_to_wire(0), 0, "signal 0 has no wire number");
	ok_int(cpr_signal_to_wire(-1), 0, "a bad signal has no wire number");
}

int main(void)
{
	test_u32();
	test_hello();
	test_header();
	test_frames();
	test_buf();
	test_fields();
	test_signals();
	return tap_done();
}
