/*
 * fuzz_bootstrap.c — libFuzzer target for bootstrap_scan() (relay/
 * bootstrap.c), the reader of what a login shell and the run or install
 * stub print before the helper's hello: untrusted bytes from the remote
 * host.  The relay calls it on its whole receive buffer after every read
 * (relay/upload.c, and find_hello() in relay/conn.c after cpr_hello_find()),
 * so the target does the same over reads of a size the input picks.
 *
 * The first input byte is not data: it gives the argument buffer's size
 * (1..256), so that truncation is explored; the second gives the size of
 * each read (1..256).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What bootstrap.h promises of ARG after a scan that returned M. */
static void check_arg(enum bootstrap_marker m, const char *arg, size_t arglen)
{
	size_t n;

	if (m == BS_NONE)
		return;
	if (m < BS_NONE || m > BS_READY)
		abort();
	n = strnlen(arg, arglen);
	if (n >= arglen)
		abort(); /* not terminated inside its buffer */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 0x20 || (unsigned char)arg[i] >= 0x7f)
			abort(); /* a control byte reached a message or a lookup */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpr_buf in = { 0 };
	enum bootstrap_marker first = BS_NONE, again;
	size_t used = 0, used2 = 0;
	size_t arglen, chunk, off = 0;
	char *arg, *arg2;

	if (size < 2)
		return 0;
	arglen = (size_t)data[0] + 1;
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	/* Heap buffers of the exact size: ASan sees a write past the end. */
	arg = malloc(arglen);
	arg2 = malloc(arglen);
	if (arg == NULL || arg2 == NULL)
		goto out;
	while (off < size && first == BS_NONE) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (cpr_buf_append(&in, data + off, n) < 0)
			goto out;
		off += n;
		first = bootstrap_scan(cpr_buf_peek(&in), cpr_buf_len(&in), arg, arglen, &used);
		if (first != BS_NONE &&
		    (used == 0 || used > cpr_buf_len(&in) || cpr_buf_peek(&in)[used - 1] != '\n'))
			abort(); /* the marker's line ends where *used says */
		check_arg(first, arg, arglen);
	}
	if (first == BS_NONE)
		goto out;
	/* A whole marker line stays the answer whatever arrives after it. */
	if (off < size && cpr_buf_append(&in, data + off, size - off) < 0)
		goto out;
	again = bootstrap_scan(cpr_buf_peek(&in), cpr_buf_len(&in), arg2, arglen, &used2);
	if (again != first || strcmp(arg, arg2) != 0 || used2 != used)
		abort();
out:
	free(arg);
	free(arg2);
	cpr_buf_free(&in);
	return 0;
}
