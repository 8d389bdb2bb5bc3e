/* cprun_status.c — maps libcpremote's results to cprun's documented exit statuses. */
#include <signal.h>
#include <sys/wait.h>

#include "cpremote.h"
#include "cprun_status.h"

/* See cprun_status.h. */
int cprun_status_run_error(int err)
{
	switch (err) {
	case CPREMOTE_ENOTFOUND:
		return 127;
	case CPREMOTE_ENOEXEC:
		return 126;
	case CPREMOTE_ESPAWN:
		return 126;
	case CPREMOTE_EINVAL:
		return 2;
	default:
		return 255;
	}
}

/* See cprun_status.h. */
int cprun_status_wait(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* See cprun_status.h. */
int cprun_status_ends_drain(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGQUIT || sig == SIGHUP;
}
