/*
 * hostile_helper.c — a misbehaving stand-in for cpremote-helper, run by
 * the test hosts' real sshd in its place (opts.helper).  It reads the
 * relay's hello and first SPAWN, takes the SPAWN's program name as the
 * way to misbehave, and then breaks the protocol that way.  Used only by
 * test_hostile_relay.c; it is a test program, not a fake of a part that
 * cannot run here: the real helper is tested by the other tests.
 *
 * Modes (the program name):
 *   garbage      hello, then bytes that are no frame header
 *   truncated    hello, half a SPAWNED frame, then EOF
 *   huge         hello, a DATA header announcing 4 GiB
 *   big_spawns   hello, 64 MiB of SPAWN frames of 4 MiB (the largest a
 *                header may announce), which the relay must drop, then EOF
 *   unknown_ids  SPAWNED, frames for child ids never spawned, "ok" on
 *                stdout, EXIT for another id, then EOF
 *   malformed    SPAWNED, then payloads of the wrong size for their type
 *                (SPAWNED 0 bytes, CREDIT 2, EXIT 0, ERROR with a field
 *                running past its end), then EOF
 *   overcredit   SPAWNED, 8 MiB of stdout without waiting for credit, EOF
 *   after_exit   SPAWNED, EXIT 0, then DATA, EOF, SPAWNED, EXIT for the
 *                same (now dead) child, then stays until the relay closes
 *   noise        no hello at all: endless text until the relay hangs up
 *   bad_version  a hello of protocol version 9
 * Bounds a hostile helper must not break (issue 9):
 *   bigcredit    SPAWNED, CREDIT 0xffffffff - window and 0xffffffff on the
 *                channel and stdin, then
 *                reads nothing for BIGCREDIT_S seconds and exits (EOF)
 *   stall        SPAWNED, then reads nothing for BIGCREDIT_S seconds and
 *                exits (the caller floods it with SIGNALs meanwhile)
 *   stderrflood  SPAWNED, 256 MiB on its own stderr (the SSH channel's
 *                extended data), then EXIT 0
 *   noconfirm    hello, then answers PINGs with PONGs, never SPAWNED
 *   exitfirst    hello, EXIT 0 for the child before any SPAWNED
 *   datafirst    hello, DATA on stdout before SPAWNED, then SPAWNED, EXIT 0
 *   escapes      no hello: terminal escapes and "bad" on stderr, exit 1
 *   emptyerror   hello, ERROR (stage exec, errno 0, no MESSAGE)
 *   notty        SPAWNED for a child that asked for a terminal, as a helper
 *                older than terminals would (its hello has no CPR_CAP_TTY)
 * Exit status: 0; 2 when the relay's hello or SPAWN did not come.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "proto.h"

/* Never outlive a test that forgot us, whatever the relay does. */
#define LIFETIME_S 60
/* How long bigcredit leaves the relay's frames unread before it exits. */
#define BIGCREDIT_S 10
/* What stderrflood writes to its stderr. */
#define FLOOD_BYTES (256u * 1024 * 1024)

/* Writes all of P to the relay; 0, or -1 when it hung up. */
static int write_all(const void *p, size_t n)
{
	return io_write_all(1, p, n) == 0 ? 0 : -1;
}

/* Reads exactly N bytes from the relay; 0, or -1 at its EOF or on an error. */
static int read_all(void *p, size_t n)
{
	return io_read_full(0, p, n) == (ssize_t)n ? 0 : -1;
}

/* Sends the frames queued in B; returns 0 or -1 (the relay hung up). */
static int flush(struct cpr_buf *b)
{
	int r = write_all(cpr_buf_peek(b), cpr_buf_len(b));

	cpr_buf_consume(b, cpr_buf_len(b));
	return r;
}

/* Waits until the relay closes the link (reading and dropping what it sends). */
static void drain_until_eof(void)
{
	uint8_t buf[65536];
	ssize_t k;

	while ((k = read(0, buf, sizeof(buf))) != 0)
		if (k < 0 && errno != EINTR)
			break;
}

/* Answers every PING with its PONG, and ignores every other frame, until the relay hangs up. */
static void pong_until_eof(struct cpr_buf *b)
{
	static uint8_t p[65536];
	uint8_t hdr[CPR_HEADER_LEN];
	struct cpr_header h;

	while (read_all(hdr, sizeof(hdr)) == 0 && cpr_header_decode(hdr, &h) == 0) {
		if (h.length > sizeof(p) || read_all(p, h.length) < 0)
			return;
		if (h.type == CPR_PING &&
		    (cpr_frame_append(b, CPR_PONG, 0, 0, p, h.length) < 0 || flush(b) < 0))
			return;
	}
}

/*
 * The modes of issue 9's bounds (see the top), run after the relay's hello
 * and SPAWN for child ID; BIG is 1 MiB of 'x'.  Returns the exit status, or
 * -1 when MODE is none of them.
 */
static int bounds_mode(const char *mode, uint32_t id, struct cpr_buf *out, const uint8_t *big, size_t big_len)
{
	uint8_t exit_info[4] = { CPR_EXITED, 0, 0, 0 };
	size_t done;

	if (strcmp(mode, "escapes") == 0) {
		/* Before any hello: what a broken host prints as it fails. */
		fputs("\033]0;pwned\007\033[2Jbad\n", stderr);
		fflush(stderr);
		return 1;
	}
	if (strcmp(mode, "bigcredit") == 0) {
		cpr_frame_append_u32(out, CPR_SPAWNED, 0, id, 4321);
		/*
		 * First what takes the credit to 2^32-1 exactly (a relay that only
		 * guards against wrapping takes it), then 2^32-1 itself.
		 */
		cpr_frame_append_u32(out, CPR_CREDIT, CPR_CHANNEL, id, 0xffffffffu - CPR_WINDOW);
		cpr_frame_append_u32(out, CPR_CREDIT, CPR_STDIN, id, 0xffffffffu - CPR_WINDOW);
		cpr_frame_append_u32(out, CPR_CREDIT, CPR_CHANNEL, id, 0xffffffffu);
		cpr_frame_append_u32(out, CPR_CREDIT, CPR_STDIN, id, 0xffffffffu);
		flush(out);
		/* The relay may queue only what the window allows; nothing is read. */
		sleep(BIGCREDIT_S);
		return 0;
	}
	if (strcmp(mode, "stall") == 0) {
		cpr_frame_append_u32(out, CPR_SPAWNED, 0, id, 4321);
		flush(out);
		sleep(BIGCREDIT_S);
		return 0;
	}
	if (strcmp(mode, "stderrflood") == 0) {
		cpr_frame_append_u32(out, CPR_SPAWNED, 0, id, 4321);
		if (flush(out) < 0)
			return 0;
		for (done = 0; done < FLOOD_BYTES; done += big_len)
			if (io_write_all(2, big, big_len) != 0)
				return 0;
		cpr_frame_append(out, CPR_EXIT, 0, id, exit_info, 4);
	} else if (strcmp(mode, "noconfirm") == 0) {
		flush(out);
		pong_until_eof(out);
		return 0;
	} else if (strcmp(mode, "exitfirst") == 0) {
		cpr_frame_append(out, CPR_EXIT, 0, id, exit_info, 4);
	} else if (strcmp(mode, "datafirst") == 0) {
		cpr_frame_append(out, CPR_DATA, CPR_STDOUT, id, "early", 5);
		cpr_frame_append_u32(out, CPR_SPAWNED, 0, id, 4321);
		cpr_frame_append(out, CPR_EXIT, 0, id, exit_info, 4);
	} else if (strcmp(mode, "notty") == 0) {
		cpr_frame_append_u32(out, CPR_SPAWNED, 0, id, 4321);
	} else if (strcmp(mode, "emptyerror") == 0) {
		struct cpr_buf p = { 0 };

		cpr_field_put_u32(&p, CPR_F_CODE, CPR_STAGE_EXEC);
		cpr_field_put_u32(&p, CPR_F_ERRNO, 0);
		cpr_frame_append(out, CPR_ERROR, 0, id, cpr_buf_peek(&p), cpr_buf_len(&p));
		cpr_buf_free(&p);
	} else {
		return -1;
	}
	flush(out);
	drain_until_eof();
	return 0;
}

static void hello(struct cpr_buf *b, uint8_t version)
{
	uint8_t h[CPR_HELLO_LEN];

	cpr_hello_encode(h, 0);
	h[CPR_MAGIC_LEN] = version;
	cpr_buf_append(b, h, sizeof(h));
}

int main(void)
{
	static uint8_t big[1024 * 1024];
	struct cpr_buf out = { 0 };
	uint8_t relay_hello[CPR_HELLO_LEN], hdr[CPR_HEADER_LEN];
	struct cpr_header h;
	struct cpr_reader rd;
	const uint8_t *v;
	uint32_t len, id;
	uint8_t tag, exit_info[4] = { CPR_EXITED, 0, 0, 0 };
	char mode[64] = "";
	int i;

	signal(SIGPIPE, SIG_IGN);
	alarm(LIFETIME_S);
	/*
	 * The relay pipelines its first SPAWN behind its hello (and a keepalive
	 * PING), so they come before we answer.
	 */
	if (read_all(relay_hello, sizeof(relay_hello)) < 0)
		return 2;
	do {
		if (read_all(hdr, sizeof(hdr)) < 0 || cpr_header_decode(hdr, &h) < 0)
			return 2;
		if (h.type == CPR_PING && (h.length > sizeof(big) || read_all(big, h.length) < 0))
			return 2;
	} while (h.type == CPR_PING);
	if (h.type != CPR_SPAWN)
		return 2;
	id = h.child;
	if (h.length > 0) {
		uint8_t *p = malloc(h.length);

		if (p == NULL || read_all(p, h.length) < 0)
			return 2;
		rd = (struct cpr_reader){ .p = p, .left = h.length };
		while (cpr_field_next(&rd, &tag, &v, &len) == 1)
			if (tag == CPR_F_FILE && len < sizeof(mode)) {
				memcpy(mode, v, len);
				mode[len] = '\0';
			}
		free(p);
	}
	memset(big, 'x', sizeof(big));

	if (strcmp(mode, "escapes") == 0)
		return bounds_mode(mode, id, &out, big, sizeof(big));
	if (strcmp(mode, "noise") == 0) {
		/* Partial magics too, so that a search that restarts badly is caught. */
		for (i = 0; i + 64 <= (int)sizeof(big); i += 64)
			memcpy(big + i, "login noise CPREMOT CPREMO CPREM\n", 33);
		while (write_all(big, sizeof(big)) == 0)
			;
		return 0;
	}
	if (strcmp(mode, "bad_version") == 0) {
		hello(&out, 9);
		flush(&out);
		drain_until_eof();
		return 0;
	}
	hello(&out, CPR_VERSION);

	if (strcmp(mode, "garbage") == 0) {
		cpr_buf_append(&out, "\xff\xfe garbage, not a frame header \x01\x02\x03", 33);
	} else if (strcmp(mode, "truncated") == 0) {
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 1234);
		out.tail -= 2;
		flush(&out);
		return 0; /* EOF right after half a frame */
	} else if (strcmp(mode, "huge") == 0) {
		h = (struct cpr_header){
			.type = CPR_DATA, .stream = CPR_STDOUT, .child = id, .length = 0xfffffff0u
		};
		cpr_header_encode(hdr, &h);
		cpr_buf_append(&out, hdr, sizeof(hdr));
	} else if (strcmp(mode, "big_spawns") == 0) {
		h = (struct cpr_header){
			.type = CPR_SPAWN, .stream = 0, .child = id, .length = CPR_MAX_SPAWN
		};
		cpr_header_encode(hdr, &h);
		flush(&out);
		for (i = 0; i < 16; i++) {
			int j;

			if (write_all(hdr, sizeof(hdr)) < 0)
				return 0;
			for (j = 0; j < (int)(CPR_MAX_SPAWN / sizeof(big)); j++)
				if (write_all(big, sizeof(big)) < 0)
					return 0;
		}
		return 0;
	} else if (strcmp(mode, "unknown_ids") == 0) {
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id + 1000, 1);
		cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, 0, "zero", 4);
		cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, id + 1, "next", 4);
		cpr_frame_append(&out, CPR_EXIT, 0, 0xffffffffu, exit_info, 4);
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 4321);
		for (i = 0; i < 1000; i++)
			cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, id + 2 + (uint32_t)i, big, 1000);
		cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, id, "ok", 2);
		cpr_frame_append(&out, CPR_EOF, CPR_STDOUT, id + 7, NULL, 0);
		cpr_frame_append(&out, CPR_EXIT, 0, id + 7, exit_info, 4);
		flush(&out);
		return 0; /* EOF: the child's connection is lost, it never exited */
	} else if (strcmp(mode, "malformed") == 0) {
		cpr_frame_append(&out, CPR_SPAWNED, 0, id, NULL, 0);
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 4321);
		cpr_frame_append(&out, CPR_CREDIT, CPR_CHANNEL, id, "\x01\x02", 2);
		cpr_frame_append(&out, CPR_EXIT, 0, id, NULL, 0);
		cpr_frame_append_u32(&out, CPR_SIGNAL, 0, id, 9);
		cpr_frame_append_u32(&out, CPR_SPAWN, 0, id, 0xffffffffu);
		cpr_frame_append(&out, CPR_ERROR, 0, id, "\x20\x00\x00\x10\x00\x01", 6);
		cpr_frame_append(&out, CPR_DATA, CPR_STDIN, id, "stdin?", 6);
		cpr_frame_append(&out, CPR_EOF, CPR_STDIN, id, NULL, 0);
		flush(&out);
		return 0;
	} else if (strcmp(mode, "overcredit") == 0) {
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 4321);
		flush(&out);
		for (i = 0; i < 256; i++) {
			if (cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, id, big, CPR_MAX_DATA) < 0 ||
			    flush(&out) < 0)
				return 0;
		}
		return 0;
	} else if (strcmp(mode, "after_exit") == 0) {
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 4321);
		cpr_frame_append(&out, CPR_EXIT, 0, id, exit_info, 4);
		cpr_frame_append(&out, CPR_DATA, CPR_STDOUT, id, "late", 4);
		cpr_frame_append(&out, CPR_EOF, CPR_STDOUT, id, NULL, 0);
		cpr_frame_append_u32(&out, CPR_SPAWNED, 0, id, 4322);
		exit_info[1] = 9;
		cpr_frame_append(&out, CPR_EXIT, 0, id, exit_info, 4);
	} else if ((i = bounds_mode(mode, id, &out, big, sizeof(big))) >= 0) {
		cpr_buf_free(&out);
		return i;
	} else {
		fprintf(stderr, "hostile_helper: unknown mode '%s'\n", mode);
		return 2;
	}
	flush(&out);
	drain_until_eof();
	cpr_buf_free(&out);
	return 0;
}
