/*
 * halfclose_child.c — the remote side of test_halfclose.
 *
 *   halfclose_child answer TAILBYTES
 *       reads the channel to end of file, then writes "n=<count>
 *       sha=<hex>\n" and TAILBYTES bytes (the byte at offset i is i % 251),
 *       closes the channel, stays alive 3 s more and exits 3.
 *   halfclose_child first
 *       writes "early\n", shuts down its write side of the channel, reads
 *       the channel to end of file and prints "n=<count> sha=<hex>\n" on
 *       stdout; exits 0.
 *
 * Exit 2 on misuse or an I/O error (message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "sha256.h"

/* Reads FD to end of file; sets *count and the hex digest of what came. */
static int drain(int fd, unsigned long long *count, char hex[2 * SHA256_LEN + 1])
{
	uint8_t buf[65536], digest[SHA256_LEN];
	struct sha256 s;

	sha256_init(&s);
	*count = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		sha256_update(&s, buf, (size_t)n);
		*count += (unsigned long long)n;
	}
	sha256_final(&s, digest);
	io_hex(digest, sizeof(digest), hex);
	return 0;
}

static int answer(int fd, size_t tail)
{
	char hex[2 * SHA256_LEN + 1], line[128];
	unsigned long long count;
	uint8_t *buf;
	size_t i;

	if (drain(fd, &count, hex) < 0)
		return 2;
	snprintf(line, sizeof(line), "n=%llu sha=%s\n", count, hex);
	buf = malloc(tail + 1);
	if (buf == NULL)
		return 2;
	for (i = 0; i < tail; i++)
		buf[i] = (uint8_t)(i % 251);
	if (io_write_all(fd, line, strlen(line)) < 0 || io_write_all(fd, buf, tail) < 0) {
		perror("halfclose_child: write");
		return 2;
	}
	free(buf);
	close(fd);
	/* Still alive: the caller must see end of file from the close alone. */
	sleep(3);
	return 3;
}

static int first(int fd)
{
	char hex[2 * SHA256_LEN + 1];
	unsigned long long count;

	if (io_write_all(fd, "early\n", 6) < 0 || shutdown(fd, SHUT_WR) < 0) {
		perror("halfclose_child: write/shutdown");
		return 2;
	}
	if (drain(fd, &count, hex) < 0)
		return 2;
	printf("n=%llu sha=%s\n", count, hex);
	return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
	int fd = io_channel_fd();

	if (fd < 0) {
		fprintf(stderr, "halfclose_child: no CHANNEL_FD\n");
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "answer") == 0)
		return answer(fd, strtoul(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "first") == 0)
		return first(fd);
	fprintf(stderr, "usage: halfclose_child answer TAILBYTES | first\n");
	return 2;
}
