/* cprun_ctl.c — `cprun -O check|exit HOST`: ssh's words and exit codes for the master's state. */
#include <stdio.h>
#include <string.h>

#include "cprun_ctl.h"

int cprun_ctl(const char *cmd, const struct cpremote_options *o)
{
	long pid = -1;
	int r = cpremote_control(o, cmd, &pid);

	if (r < 0) {
		fprintf(stderr, "%s\n", *cpremote_errmsg() ? cpremote_errmsg() : cpremote_strerror(r));
		return 255;
	}
	if (strcmp(cmd, "check") == 0)
		fprintf(stderr, "Master running (pid=%ld)\n", pid);
	else
		fprintf(stderr, "Exit request sent.\n");
	return 0;
}
