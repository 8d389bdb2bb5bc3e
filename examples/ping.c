/*
 * ping.c — the caller half of the demo: starts the pong example on a host
 * with cpremote_run() and talks to it over the channel in both directions,
 * printing every message and its round-trip time.
 *
 * Usage: ping [-F ssh_config] [-n COUNT] HOST [PONG_PATH]
 * PONG_PATH defaults to the pong built next to this program (the demo's
 * hosts are this machine).  Exit 0 when pong answered everything and
 * exited 0; 1 otherwise; 2 on misuse.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpremote.h"

static const char usage[] = "usage: ping [-F ssh_config] [-n COUNT] HOST [PONG_PATH]\n";

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Reads one line from IN into *LINE without its newline; 0, or -1 at end of file. */
static int get_line(FILE *in, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, in);

	if (n <= 0)
		return -1;
	if ((*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	cpremote_child *child = NULL;
	char pong[PATH_MAX], *line = NULL, msg[64];
	size_t cap = 0;
	FILE *in = NULL;
	int c, count = 5, i, r, status = 0, rc = 1, fd, early = 1;
	double t0;

	while ((c = getopt(argc, argv, "F:n:")) != -1) {
		switch (c) {
		case 'F':
			o.config = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		fputs(usage, stderr);
		return 2;
	}
	o.host = argv[optind];
	if (argc - optind == 2) {
		snprintf(pong, sizeof(pong), "%s", argv[optind + 1]);
	} else {
		ssize_t n = readlink("/proc/self/exe", pong, sizeof(pong) - 1);

		if (n < 0) {
			perror("ping: /proc/self/exe");
			return 2;
		}
		pong[n] = '\0';
		snprintf(pong + strlen(dirname(pong)), sizeof(pong) - strlen(pong), "/pong");
	}
	o.file = pong;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;

	t0 = now_us();
	r = cpremote_run(&o, &child);
	if (r != 0) {
		fprintf(stderr, "ping: %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return 1;
	}
	printf("started %s on %s: remote pid %ld, %.1f ms (new SSH connection)\n", pong, o.host,
	       cpremote_pid(child), (now_us() - t0) / 1e3);
	fd = cpremote_channel_fd(child);
	/* A stdio reader on a copy, so that fclose() leaves the handle's fd alone. */
	in = fdopen(fcntl(fd, F_DUPFD_CLOEXEC, 0), "r");
	if (in == NULL)
		goto out;
	if (get_line(in, &line, &cap) < 0)
		goto out;
	printf("  child  -> caller: %s\n", line);
	for (i = 1; i <= count; i++) {
		int len = snprintf(msg, sizeof(msg), "ping %d\n", i);

		t0 = now_us();
		if (write(fd, msg, (size_t)len) != len)
			goto out;
		printf("  caller -> child : ping %d\n", i);
		if (get_line(in, &line, &cap) < 0)
			goto out;
		printf("  child  -> caller: %s   (%.0f us round trip)\n", line, now_us() - t0);
	}
	/* Half-close: pong sees end of file and still gets to say goodbye. */
	shutdown(fd, SHUT_WR);
	printf("  caller -> child : (end of file)\n");
	if (get_line(in, &line, &cap) < 0)
		goto out;
	printf("  child  -> caller: %s\n", line);
	r = cpremote_wait(child, &status, 0);
	if (r != 1) {
		fprintf(stderr, "ping: %s (%s)\n", cpremote_strerror(r), cpremote_child_errmsg(child));
		goto out;
	}
	if (WIFEXITED(status))
		printf("pong exited with status %d\n", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("pong was killed by signal %d\n", WTERMSIG(status));
	rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
	early = 0;
out:
	if (early)
		fprintf(stderr, "ping: the conversation stopped early\n");
	if (in != NULL)
		fclose(in);
	free(line);
	cpremote_free(child);
	return rc;
}
