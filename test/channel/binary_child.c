/*
 * binary_child.c — the remote side of test_binary: reads exactly NBYTES
 * from its channel and writes each byte back as it comes ("echo": as is,
 * "xor": XOR 0xa5, so that an accidental loop on the caller's side cannot
 * pass), then the SHA-256 of all it read and of all it wrote (64 bytes).
 *
 * Usage: binary_child echo|xor NBYTES.  Exit 0, or 2 (message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "sha256.h"

int main(int argc, char **argv)
{
	struct sha256 in_hash, out_hash;
	uint8_t buf[65536], digests[2 * SHA256_LEN];
	unsigned long long left;
	int fd = io_channel_fd(), xor;

	if (argc != 3 || fd < 0) {
		fprintf(stderr, "usage: binary_child echo|xor NBYTES (with CHANNEL_FD)\n");
		return 2;
	}
	xor = strcmp(argv[1], "xor") == 0;
	left = strtoull(argv[2], NULL, 10);
	sha256_init(&in_hash);
	sha256_init(&out_hash);
	while (left > 0) {
		/* Read whatever is there, not a full buffer: echo must not wait for more. */
		ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		ssize_t i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "binary_child: channel ended with %llu bytes to go\n", left);
			return 2;
		}
		sha256_update(&in_hash, buf, (size_t)n);
		if (xor)
			for (i = 0; i < n; i++)
				buf[i] ^= 0xa5;
		sha256_update(&out_hash, buf, (size_t)n);
		if (io_write_all(fd, buf, (size_t)n) < 0) {
			perror("binary_child: write");
			return 2;
		}
		left -= (unsigned long long)n;
	}
	sha256_final(&in_hash, digests);
	sha256_final(&out_hash, digests + SHA256_LEN);
	if (io_write_all(fd, digests, sizeof(digests)) < 0)
		return 2;
	return 0;
}
