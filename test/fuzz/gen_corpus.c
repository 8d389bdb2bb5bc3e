/*
 * gen_corpus.c — writes the fuzzer's seed corpus: one small file per
 * kind of input the decoder meets (a hello after shell noise, each frame
 * type, a SPAWN with fields, an ERROR, frames split and truncated), made
 * with the project's own encoder so the seeds follow the protocol.
 *
 * Usage: fuzz_frame_seeds DIR   (exit 0, or 1 when a file cannot be written)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static const char *dir;
static int nfile, failed;

/* Writes MODE (the target's first byte) and B into DIR/seed-N. */
static void emit(uint8_t mode, const struct cpr_buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, nfile++);
	if ((f = fopen(path, "wbe")) == NULL) {
		fprintf(stderr, "fuzz_frame_seeds: %s: %s\n", path, strerror(errno));
		failed = 1;
		return;
	}
	if (fwrite(&mode, 1, 1, f) != 1 ||
	    (cpr_buf_len(b) > 0 && fwrite(cpr_buf_peek(b), cpr_buf_len(b), 1, f) != 1))
		failed = 1;
	if (fclose(f) != 0)
		failed = 1;
}

static void spawn_payload(struct cpr_buf *p)
{
	static const uint8_t stdio[3] = { 0, 1, 1 };

	cpr_field_put_str(p, CPR_F_FILE, "sh");
	cpr_field_put_str(p, CPR_F_ARG, "sh");
	cpr_field_put_str(p, CPR_F_ARG, "-c");
	cpr_field_put_str(p, CPR_F_ARG, "cat <&$CHANNEL_FD");
	cpr_field_put_str(p, CPR_F_ENV, "A=b");
	cpr_field_put_str(p, CPR_F_CWD, "/tmp");
	cpr_field_put_u32(p, CPR_F_FLAGS, CPR_SPAWN_NODE);
	cpr_field_put(p, CPR_F_STDIO, stdio, 3);
	cpr_field_put_str(p, CPR_F_HOST, "h1");
	cpr_field_put_u32(p, CPR_F_PORT, 2222);
	cpr_field_put(p, 200, "unknown tag", 11);
}

/* Every frame type once, for child 7. */
static void all_frames(struct cpr_buf *b)
{
	static const uint8_t exit_info[4] = { CPR_SIGNALED, 15, 0, 0 };
	struct cpr_buf p = { 0 };

	spawn_payload(&p);
	cpr_frame_append(b, CPR_SPAWN, 0, 7, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
	cpr_frame_append_u32(b, CPR_SPAWNED, 0, 7, 4242);
	cpr_frame_append(b, CPR_DATA, CPR_CHANNEL, 7, "{\"hello\":1}\n", 12);
	cpr_frame_append(b, CPR_DATA, CPR_STDOUT, 7, "out", 3);
	cpr_frame_append(b, CPR_DATA, CPR_STDERR, 7, "err", 3);
	cpr_frame_append_u32(b, CPR_CREDIT, CPR_CHANNEL, 7, 32768);
	cpr_frame_append_u32(b, CPR_SIGNAL, 0, 7, 15);
	cpr_frame_append(b, CPR_EOF, CPR_STDOUT, 7, NULL, 0);
	cpr_frame_append(b, CPR_EXIT, 0, 7, exit_info, 4);
	cpr_field_put_u32(&p, CPR_F_CODE, CPR_STAGE_EXEC);
	cpr_field_put_u32(&p, CPR_F_ERRNO, ENOENT);
	cpr_field_put_str(&p, CPR_F_MESSAGE, "nope: not found");
	cpr_frame_append(b, CPR_ERROR, 0, 8, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
}

int main(int argc, char **argv)
{
	static uint8_t big[1024];
	struct cpr_buf b = { 0 };
	uint8_t hello[CPR_HELLO_LEN], hdr[CPR_HEADER_LEN];
	struct cpr_header h;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_frame_seeds DIR\n");
		return 1;
	}
	dir = argv[1];
	cpr_hello_encode(hello, 0);

	/* Relay side: shell noise, the hello, then frames; read in several chunk sizes. */
	cpr_buf_append(&b, "Welcome\r\nlast login: never\nCPREM", 33);
	cpr_buf_append(&b, hello, sizeof(hello));
	all_frames(&b);
	emit(1, &b); /* one byte per read */
	emit(1 | 15 << 1, &b); /* 16 bytes per read */
	emit(1 | 127 << 1, &b); /* 128 */
	cpr_buf_free(&b);

	/* Helper side: frames at once. */
	all_frames(&b);
	emit(0, &b);
	emit(127 << 1, &b);
	cpr_buf_free(&b);

	/* A DATA frame of 1 KiB (scripts/fuzz caps inputs at 2 KiB), then a truncated one. */
	cpr_frame_append(&b, CPR_DATA, CPR_CHANNEL, 1, big, 1024);
	cpr_frame_append(&b, CPR_DATA, CPR_STDIN, 1, big, 100);
	b.tail -= 50;
	emit(127 << 1, &b);
	cpr_buf_free(&b);

	/* Headers the decoder must refuse: too long, bad stream, reserved bits. */
	h = (struct cpr_header){ .type = CPR_CREDIT, .stream = 0, .child = 1, .length = 0xffffffffu };
	cpr_header_encode(hdr, &h);
	cpr_buf_append(&b, hdr, sizeof(hdr));
	emit(0, &b);
	cpr_buf_free(&b);
	h = (struct cpr_header){ .type = CPR_DATA, .stream = 9, .child = 1, .length = 1 };
	cpr_header_encode(hdr, &h);
	hdr[2] = 1;
	cpr_buf_append(&b, hdr, sizeof(hdr));
	cpr_buf_append(&b, "x", 1);
	emit(0, &b);
	cpr_buf_free(&b);

	/* A wrong version, and noise with no hello at all. */
	hello[8] = 2;
	cpr_buf_append(&b, hello, sizeof(hello));
	emit(1, &b);
	cpr_buf_free(&b);
	cpr_buf_append(&b, "CPREMOTX CPREMOT\n", 17);
	emit(1, &b);
	cpr_buf_free(&b);

	printf("fuzz_frame_seeds: %d seeds in %s\n", nfile, dir);
	return failed;
}
