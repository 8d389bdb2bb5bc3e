/*
 * fault_caller.c — a caller for the "caller killed with SIGKILL" fault: it
 * starts TARGET on HOST through libcpremote, copies the target's first
 * stdout line ("PID GPID") to its own stdout, then waits to be killed.
 *
 * Usage: fault_caller CONFIG HOST TARGET MODE LOG
 * Exit: 1 when the target could not be started or said nothing; 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpremote.h"

int main(int argc, char **argv)
{
	const char *targv[4];
	struct cpremote_options o;
	cpremote_child *c = NULL;
	char ch;
	int r;

	if (argc != 6) {
		fprintf(stderr, "usage: fault_caller CONFIG HOST TARGET MODE LOG\n");
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.config = argv[1];
	o.host = argv[2];
	targv[0] = argv[3];
	targv[1] = argv[4];
	targv[2] = argv[5];
	targv[3] = NULL;
	o.file = targv[0];
	o.argv = targv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	if ((r = cpremote_run(&o, &c)) != 0) {
		fprintf(stderr, "fault_caller: %s: %s\n", cpremote_strerror(r), cpremote_errmsg());
		return 1;
	}
	/* One byte at a time: nothing past the line may be taken from the pipe. */
	do {
		if (read(cpremote_stdio_fd(c, 1), &ch, 1) != 1)
			return 1;
		if (write(1, &ch, 1) != 1)
			return 1;
	} while (ch != '\n');
	for (;;)
		pause();
}
