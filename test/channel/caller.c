/* caller.c — caller-side helpers of the channel tests (see caller.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caller.h"
#include "fixture.h"

int cl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

void cl_random(void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("getrandom");
			exit(2);
		}
		p += r;
		n -= (size_t)r;
	}
}

int cl_spawn_cprun(const char *const *args, int chan, pid_t *pid)
{
	/* stdout to the test's stderr, so that it never mixes with TAP. */
	struct fixture_spawn sp = { .fd = { FIXTURE_FD_NULL, 2, FIXTURE_FD_INHERIT }, .chan = chan };
	const char **argv;
	size_t n = 0, i;
	pid_t p;

	while (args[n] != NULL)
		n++;
	if ((argv = calloc(n + 3, sizeof(*argv))) == NULL)
		return -ENOMEM;
	argv[0] = "--channel-fd";
	argv[1] = "3";
	for (i = 0; i < n; i++)
		argv[2 + i] = args[i];
	p = fixture_cprun_start(argv, &sp);
	free(argv);
	if (p == -1)
		return -ENOENT;
	*pid = p;
	return 0;
}

int cl_waitpid(pid_t pid, int *status, int timeout_s)
{
	long long deadline = fixture_now_ms() + 1000LL * timeout_s;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (fixture_now_ms() > deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		usleep(5000);
	}
}

char *cl_host_addr(const char *host)
{
	char *path = fixture_file("ssh_config"), *addr = NULL;
	char line[512];
	int in_block = 0;
	FILE *f = NULL;

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		goto out;
	while (fgets(line, sizeof(line), f) != NULL) {
		char key[64], val[256];

		if (sscanf(line, " %63s %255s", key, val) != 2)
			continue;
		if (strcasecmp(key, "Host") == 0) {
			/* A Host line may list several names; match any word. */
			char *save = NULL, *w;

			in_block = 0;
			for (w = strtok_r(line + strspn(line, " \t") + 4, " \t\r\n", &save); w != NULL;
			     w = strtok_r(NULL, " \t\r\n", &save))
				if (strcmp(w, host) == 0)
					in_block = 1;
		} else if (in_block && strcasecmp(key, "HostName") == 0) {
			addr = strdup(val);
			break;
		}
	}
out:
	if (f != NULL)
		fclose(f);
	free(path);
	return addr;
}

const char *cl_status_str(int status)
{
	static char buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", (unsigned)status);
	return buf;
}
