/*
 * fault_child.c — the remote target of the fault tests.  It tells its pid
 * and that of a grandchild it started in its process group on stdout as
 * "PID GPID", then:
 *
 * Usage: fault_child hold LOG    both stay until killed; SIGTERM is
 *                                logged to LOG ("TERM <pid>") and ignored,
 *                                so only the helper's SIGKILL after the
 *                                grace period ends them
 *        fault_child crash LOG   dies of SIGSEGV 200 ms later (no core);
 *                                no grandchild (GPID is 0)
 * Exit code 2 on a usage error.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *log_path;

/* open, write and close are async-signal-safe. */
static void on_term(int sig)
{
	char line[32];
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	int n = snprintf(line, sizeof(line), "TERM %d\n", (int)getpid());

	(void)sig;
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}

static void __attribute__((noreturn)) hold(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct rlimit none = { 0, 0 };
	pid_t g = 0;

	if (argc != 3 || (strcmp(argv[1], "hold") != 0 && strcmp(argv[1], "crash") != 0)) {
		fprintf(stderr, "usage: fault_child hold|crash LOG\n");
		return 2;
	}
	log_path = argv[2];
	if (strcmp(argv[1], "crash") == 0) {
		printf("%d 0\n", (int)getpid());
		fflush(stdout);
		usleep(200000);
		setrlimit(RLIMIT_CORE, &none);
		raise(SIGSEGV);
		return 1;
	}
	/* Handler before fork: a SIGTERM right after must find both ready. */
	signal(SIGTERM, on_term);
	if ((g = fork()) == 0) {
		int devnull = open("/dev/null", O_RDWR);

		/* A background process of the target: it holds none of its stdio. */
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (getenv("CHANNEL_FD"))
			close(atoi(getenv("CHANNEL_FD")));
		hold();
	}
	printf("%d %d\n", (int)getpid(), (int)g);
	fflush(stdout);
	hold();
}
