/*
 * fuzz_helper_request.c — libFuzzer target for the helper's parsers of
 * what the relay sends: the SPAWN request decoder (helper/request.c) on
 * the raw input, then the helper's own frame handler (helper/frame.c,
 * helper_input()) on the same bytes as a relay's stream, with the real
 * child records, streams and output queue behind it.  Spawning is
 * replaced by a function that starts nothing (a fuzzer must not fork),
 * so frames for the children it "started" reach the stream code too.
 * Built only with -Dfuzz=true.
 *
 * The first input byte is not data: bit 0 says whether a good hello is
 * put first (else the input must bring its own), the other bits how the
 * rest is cut into reads, so that frames split across reads are explored.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Starts nothing: a child that "ran" and ended, or an exec failure for FILE "fail". */
static int fake_spawn(const struct spawn_req *req, struct child *c, int *stage)
{
	if (req->argv == NULL || req->argv[0] == NULL)
		abort(); /* the parser promises an argv */
	if (strcmp(req->file, "fail") == 0) {
		*stage = CPR_STAGE_EXEC;
		return -ENOENT;
	}
	c->pid = -1; /* never signalled: on_signal() skips it */
	c->reaped = 1;
	return 0;
}

/* The request decoder alone on DATA, with its promises checked. */
static void fuzz_request(const uint8_t *data, size_t size)
{
	struct spawn_req req;
	size_t i;

	if (spawn_req_parse(data, size, &req) == 0) {
		/* A login shell names no program: the helper finds the user's own. */
		if (!(req.flags & CPR_SPAWN_LOGIN) &&
		    (req.file == NULL || req.file[0] == '\0' || req.argv == NULL || req.argv[0] == NULL))
			abort();
		for (i = 0; i < 3; i++)
			if (req.stdio[i] != CPR_STDIO_NULL && req.stdio[i] != CPR_STDIO_PIPE)
				abort();
	}
	spawn_req_free(&req);
}

/* The frame handler on DATA cut into reads of varying size. */
static void fuzz_frames(uint8_t mode, const uint8_t *data, size_t size)
{
	struct cpr_buf in = { .limit = CPR_HEADER_LEN + CPR_MAX_SPAWN };
	struct helper h = { .spawn = fake_spawn };
	uint8_t hello[CPR_HELLO_LEN];
	size_t off = 0, step = (size_t)(mode >> 1) + 1;
	struct child *c;
	int r = 0;

	outq_hello(&h);
	if (mode & 1) {
		cpr_hello_encode(hello, 0);
		cpr_buf_append(&in, hello, sizeof(hello));
	}
	while (r == 0 && off < size) {
		if (step > size - off)
			step = size - off;
		if (cpr_buf_append(&in, data + off, step) < 0)
			break;
		off += step;
		r = helper_input(&h, &in);
		if (children_finish(&h) < 0)
			break;
		/* The output queue as if written (at a frame boundary): memory stays bounded. */
		if (cpr_buf_len(&h.out) > HELPER_OUT_HIGH) {
			cpr_buf_free(&h.out);
			h.out_opaque = 0;
		}
	}
	while ((c = h.children) != NULL) {
		h.children = c->next;
		child_free(c);
	}
	cpr_buf_free(&h.out);
	cpr_buf_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	helper_warn_quiet = 1;
	if (size == 0)
		return 0;
	fuzz_request(data + 1, size - 1);
	fuzz_frames(data[0], data + 1, size - 1);
	return 0;
}
