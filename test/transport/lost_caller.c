/*
 * lost_caller.c — the library's side of a tunnel that dies mid-run: it
 * starts ARGV on DEST through libcpremote, prints "started" once the
 * target's first stdout line came (so the test knows it runs), then waits
 * for the end and prints what cpremote_wait() returned, as
 * cpremote_strerror() names it, and cpremote_child_errmsg().
 *
 * Usage: lost_caller DEST PROG [ARG...]
 * Exit: 0 when cpremote_wait() returned CPREMOTE_ECONNLOST, 1 otherwise,
 * 2 on misuse.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpremote.h"

int main(int argc, char **argv)
{
	struct cpremote_options o;
	cpremote_child *c = NULL;
	int r, st = 0;
	char ch;

	if (argc < 3) {
		fprintf(stderr, "usage: lost_caller DEST PROG [ARG...]\n");
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.host = argv[1];
	o.file = argv[2];
	o.argv = (const char *const *)(argv + 2);
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	if ((r = cpremote_run(&o, &c)) != 0) {
		printf("run: %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return 1;
	}
	do
		if (read(cpremote_stdio_fd(c, 1), &ch, 1) != 1)
			break;
	while (ch != '\n');
	printf("started\n");
	fflush(stdout);
	r = cpremote_wait(c, &st, 0);
	printf("wait: %s: %s\n", r == 1 ? "exited" : cpremote_strerror(r), cpremote_child_errmsg(c));
	cpremote_free(c);
	return r == CPREMOTE_ECONNLOST ? 0 : 1;
}
