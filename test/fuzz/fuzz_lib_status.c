/*
 * fuzz_lib_status.c — libFuzzer target for the library's readers of what
 * the relay sends: lib_status_next() (lib/status.c) on the bytes of a
 * status socket, and lib_error_fields() on every ERROR frame it hands out
 * and on the input itself as an ERROR payload.  The real functions run,
 * on a real socketpair, as cpremote_wait() drives them.
 * Built only with -Dfuzz=true.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads P as an ERROR payload; the message must lie inside it and the code be an error. */
static void error_payload(const uint8_t *p, uint32_t len)
{
	const uint8_t *msg;
	uint32_t msglen;
	int code;

	lib_error_fields(p, len, &code, &msg, &msglen);
	if (code >= 0)
		abort();
	if (msg != NULL && (msg < p || msglen > len || (size_t)(msg - p) > len - msglen))
		abort();
	lib_errmsg_set_bytes(msg, msglen, code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpremote_child c;
	struct cpr_header h;
	const uint8_t *pl;
	int sv[2], r;
	ssize_t n;

	error_payload(data, (uint32_t)size);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.status_fd = sv[0];
	c.in.limit = CPR_HEADER_LEN + CPR_MAX_CONTROL;
	/* As much as the socket takes at once; then the relay "closes". */
	n = send(sv[1], data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(sv[1]);
	(void)n;
	while ((r = lib_status_next(&c, 1, &h, &pl)) == 1) {
		if (h.length > CPR_MAX_CONTROL || cpr_buf_len(&c.in) > c.in.limit)
			abort();
		if (h.type == CPR_ERROR)
			error_payload(pl, h.length);
	}
	/* The only ways out: end of file, a protocol violation (or out of memory). */
	if (r != CPREMOTE_ERELAY && r != CPREMOTE_EPROTO && r != -ENOMEM)
		abort();
	close(sv[0]);
	cpr_buf_free(&c.in);
	return 0;
}
