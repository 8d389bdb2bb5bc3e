/*
 * exec_child.c — a remote program for the exec tests: it exits, dies of a
 * signal, waits for one, or writes known patterns to stdout and stderr.
 *
 * Usage: exec_child exit N            exits with N
 *        exec_child segv              dies of SIGSEGV (no core file)
 *        exec_child trap              prints "ready", waits for SIGTERM or
 *                                     SIGUSR1, prints "got TERM" / "got USR1",
 *                                     exits 7
 *        exec_child spew OUT ERR      writes OUT bytes of "O%08zu\n" lines to
 *                                     stdout and ERR bytes of "E%08zu\n" lines
 *                                     to stderr, interleaved, then exits 0
 * Exit code 2 on a usage error, 3 on a write error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes lines number *line.. of TAG into FD until *left bytes are done, at most CHUNK bytes now. */
static int spew_some(int fd, char tag, size_t *line, size_t *left, size_t chunk)
{
	char buf[8192];
	size_t n = 0;

	while (*left > 0 && n + 10 <= sizeof(buf) && n < chunk) {
		char l[32];

		snprintf(l, sizeof(l), "%c%08zu\n", tag, (*line)++ % 100000000);
		memcpy(buf + n, l, 10);
		n += 10;
		*left = *left >= 10 ? *left - 10 : 0;
	}
	return write_all(fd, buf, n);
}

static int spew(size_t out, size_t err)
{
	size_t oline = 0, eline = 0;

	while (out > 0 || err > 0) {
		if (out > 0 && spew_some(1, 'O', &oline, &out, 8000) == -1)
			return 3;
		if (err > 0 && spew_some(2, 'E', &eline, &err, 3000) == -1)
			return 3;
	}
	return 0;
}

static int trap(void)
{
	struct sigaction sa;
	sigset_t block, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	/* Blocked until sigsuspend, so that no signal slips in between the test and the wait. */
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (write_all(1, "ready\n", 6) == -1)
		return 3;
	while (!got)
		sigsuspend(&old);
	if (write_all(1, got == SIGTERM ? "got TERM\n" : "got USR1\n", 9) == -1)
		return 3;
	return 7;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (argc == 2 && strcmp(argv[1], "segv") == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "trap") == 0)
		return trap();
	if (argc == 4 && strcmp(argv[1], "spew") == 0)
		return spew(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: exec_child exit N | segv | trap | spew OUT ERR\n");
	return 2;
}
