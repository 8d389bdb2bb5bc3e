/*
 * hmac_child.c — the remote side of test_hmac: reads NBYTES from its
 * channel and answers "<HMAC-SHA256 hex> <$SSH_CONNECTION>\n" with the key
 * given in hex in argv.  The cp-remote reference's own check, in C.
 *
 * Usage: hmac_child KEYHEX NBYTES.  Exit 0 after answering, 2 on misuse
 * or a short read (with a message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "sha256.h"

int main(int argc, char **argv)
{
	uint8_t key[1024], mac[SHA256_LEN], buf[65536];
	char hex[2 * SHA256_LEN + 1], *answer;
	const char *conn = getenv("SSH_CONNECTION");
	struct hmac_sha256 m;
	size_t keylen, left;
	int fd = io_channel_fd();

	if (argc != 3 || strlen(argv[1]) % 2 != 0 || strlen(argv[1]) / 2 > sizeof(key)) {
		fprintf(stderr, "usage: hmac_child KEYHEX NBYTES\n");
		return 2;
	}
	keylen = strlen(argv[1]) / 2;
	if (fd < 0 || io_unhex(argv[1], key, keylen) < 0) {
		fprintf(stderr, "hmac_child: no CHANNEL_FD or bad key\n");
		return 2;
	}
	left = strtoul(argv[2], NULL, 10);
	hmac_sha256_init(&m, key, keylen);
	while (left > 0) {
		ssize_t n = io_read_full(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0) {
			fprintf(stderr, "hmac_child: channel ended with %zu bytes to go\n", left);
			return 2;
		}
		hmac_sha256_update(&m, buf, (size_t)n);
		left -= (size_t)n;
	}
	hmac_sha256_final(&m, mac);
	io_hex(mac, sizeof(mac), hex);
	if (conn == NULL)
		conn = "(unset)";
	answer = malloc(strlen(hex) + strlen(conn) + 3);
	if (answer == NULL)
		return 2;
	sprintf(answer, "%s %s\n", hex, conn);
	if (io_write_all(fd, answer, strlen(answer)) < 0) {
		perror("hmac_child: write");
		return 2;
	}
	free(answer);
	return 0;
}
