/*
 * argv_child.c — the remote side of test_argv: writes its argv back over
 * the channel exactly as it received it, then $CPR_TEST_ENV:
 *   u32 argc, then per argument u32 length + bytes,
 *   then u32 length + bytes of $CPR_TEST_ENV (0xffffffff when unset).
 * Exit 0, or 2 when the channel is missing or a write fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int put(int fd, const char *s)
{
	uint8_t len[4];
	size_t n = s != NULL ? strlen(s) : 0;
	int r;

	io_put_u32(len, s != NULL ? (uint32_t)n : 0xffffffffu);
	r = io_write_all(fd, len, sizeof(len));
	if (r == 0 && n > 0)
		r = io_write_all(fd, s, n);
	return r;
}

int main(int argc, char **argv)
{
	int fd = io_channel_fd(), i;
	uint8_t count[4];

	if (fd < 0) {
		fprintf(stderr, "argv_child: no CHANNEL_FD\n");
		return 2;
	}
	io_put_u32(count, (uint32_t)argc);
	if (io_write_all(fd, count, sizeof(count)) < 0)
		return 2;
	for (i = 0; i < argc; i++)
		if (put(fd, argv[i]) < 0)
			return 2;
	if (put(fd, getenv("CPR_TEST_ENV")) < 0)
		return 2;
	return 0;
}
