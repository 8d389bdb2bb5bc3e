/*
 * pong.c — the remote half of the demo: a program that knows nothing of
 * SSH.  It finds its caller on $CHANNEL_FD, says hello, answers every line
 * it reads with a "pong" line, and says goodbye at end of file.
 * Exit 0, or 2 when started without a channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *fdstr = getenv("CHANNEL_FD"), *conn = getenv("SSH_CONNECTION");
	const char *user = getenv("USER");
	char server[64] = "?", *line = NULL;
	size_t cap = 0;
	long lines = 0;
	ssize_t n;
	FILE *in;
	int fd;

	if (fdstr == NULL || (fd = atoi(fdstr)) < 0 || (in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "pong: no IPC channel: run me with cprun or cpremote_run()\n");
		return 2;
	}
	/* SSH_CONNECTION is "client port server port": where we really run. */
	if (conn != NULL)
		sscanf(conn, "%*s %*s %63s", server);
	dprintf(fd, "hello from pid %ld, user %s, on %s\n", (long)getpid(), user != NULL ? user : "?",
		server);
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		lines++;
		dprintf(fd, "pong \"%s\" from pid %ld\n", line, (long)getpid());
	}
	dprintf(fd, "bye after %ld lines\n", lines);
	free(line);
	return 0;
}
