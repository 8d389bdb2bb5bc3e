/*
 * fuzz_request.c — libFuzzer target for the relay's request parser
 * (relay/request.c), the first code to read what a caller sends: the
 * real request_parse() on the bytes as a SPAWN payload, then the
 * connection key compared with itself and with a fixed one, as
 * conn_attach() does.  Built only with -Dfuzz=true.
 *
 * The first input byte is the stdio mask passed with the fds (its bit 7:
 * the request is a CONNECT, not a SPAWN); the rest is the payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct conn_key fixed = { .host = "h", .port = 22 };
	struct spawn_request r = { 0 };
	struct cpr_err e;
	uint8_t mask;

	if (size < 1 || size - 1 > CPR_MAX_SPAWN)
		return 0;
	mask = data[0] & 0x7f;
	r.type = data[0] & 0x80 ? CPR_CONNECT : CPR_SPAWN;
	if (request_parse(data + 1, (uint32_t)(size - 1), mask, &r, &e) == 0) {
		/* A parsed request always names a host and a program (a CONNECT: a path, and no stdio). */
		if (!r.key.host || !*r.key.host || !r.file || !*r.file || !conn_key_equal(&r.key, &r.key) ||
		    (r.type == CPR_CONNECT && mask != 0))
			abort();
		(void)conn_key_equal(&r.key, &fixed);
	} else if (strnlen(e.msg, sizeof e.msg) == 0) {
		abort(); /* a refusal always says why */
	}
	request_free(&r);
	return 0;
}
