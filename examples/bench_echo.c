/*
 * bench_echo.c — the remote half of scripts/bench.
 *   bench_echo echo   writes one byte ("R", the first message), then
 *                     echoes the channel back until end of file.
 *   bench_echo sink   reads the channel to end of file, then writes the
 *                     count as 8 bytes, big-endian.
 *   bench_echo source MIB
 *                     writes MIB MiB into the channel, then closes it
 *                     (the caller times it to end of file).
 * Exit 0, or 2 on misuse or an I/O error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_io.h"

int main(int argc, char **argv)
{
	static char buf[256 * 1024];
	const char *fdstr = getenv("CHANNEL_FD");
	int fd = fdstr != NULL ? atoi(fdstr) : -1, echo, i;
	uint64_t count = 0;
	uint8_t be[8];

	if (argc == 3 && fd >= 0 && strcmp(argv[1], "source") == 0) {
		long long left = atoll(argv[2]) * 1024LL * 1024;

		memset(buf, 's', sizeof(buf));
		for (; left > 0; left -= (long long)sizeof(buf))
			if (write_all(fd, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf)) <
			    0)
				return 2;
		return 0;
	}
	if (argc != 2 || fd < 0 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "sink") != 0)) {
		fprintf(stderr, "usage: bench_echo echo|sink|source MIB (with CHANNEL_FD)\n");
		return 2;
	}
	echo = strcmp(argv[1], "echo") == 0;
	if (echo && write_all(fd, "R", 1) < 0)
		return 2;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 2;
		if (n == 0)
			break;
		count += (uint64_t)n;
		if (echo && write_all(fd, buf, (size_t)n) < 0)
			return 2;
	}
	if (!echo) {
		for (i = 0; i < 8; i++)
			be[i] = (uint8_t)(count >> (56 - 8 * i));
		if (write_all(fd, be, sizeof(be)) < 0)
			return 2;
	}
	return 0;
}
