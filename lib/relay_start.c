/*
 * relay_start.c — starts the caller's relay process once and keeps the
 * control socket to it.  The relay is detached by a double fork so that it
 * never shows up in the caller's waitpid(-1), and it ends by itself when
 * the control socket closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "lib.h"

/* close_range(2)'s flag (Linux 5.11); older kernels get the bounded loop. */
#define CLOSE_RANGE_CLOEXEC_FLAG (1u << 2)
#define FALLBACK_MAX_FD 4096

#ifndef CPREMOTE_RELAY_PATH
#define CPREMOTE_RELAY_PATH "/usr/local/libexec/cpremote-relay"
#endif

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static int relay_fd = -1;

/* Moves FD to a number above stdio (the relay's 0 and 1 get /dev/null), close-on-exec. */
static int fd_above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

/*
 * The relay's side of the fork, in the grandchild.  Only async-signal-safe
 * calls: the caller may have other threads holding locks.  On failure the
 * errno goes up the close-on-exec pipe.
 */
static void __attribute__((noreturn))
relay_exec(const char *path, char *const argv[], int ctl, int devnull, int errpipe)
{
	struct sigaction sa;
	sigset_t none;
	int e;

	/* Handlers of the caller make no sense here; ignored signals would be inherited by exec. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own session: the terminal's ^C is for the caller, who forwards it. */
	(void)setsid();
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
		goto fail;
	/*
	 * The caller's fds opened without O_CLOEXEC must not live on in the
	 * relay: a pipe held there would never give its reader EOF.
	 */
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC_FLAG) < 0)
		for (int fd = 3; fd < FALLBACK_MAX_FD; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fcntl(ctl, F_SETFD, 0) < 0)
		goto fail;
	execv(path, argv);
fail:
	e = errno;
	while (write(errpipe, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/*
 * Forks the relay and returns the caller's end of its control socket, or
 * a negative error code with the thread's message set.
 */
static int relay_spawn(void)
{
	const char *path = getenv("CPREMOTE_RELAY");
	char fdarg[16];
	char *argv[4];
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, devnull = -1;
	sigset_t all, old;
	pid_t mid = -1;
	int r, e = 0, st;
	ssize_t n;

	if (path == NULL || *path == '\0')
		path = CPREMOTE_RELAY_PATH;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(ep, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		lib_errmsg_set("cannot start the relay: %s", cpremote_strerror(r));
		goto out;
	}
	if ((r = fd_above_stdio(&sv[1])) < 0 || (r = fd_above_stdio(&devnull)) < 0 ||
	    (r = fd_above_stdio(&ep[1])) < 0) {
		lib_errmsg_set("cannot start the relay: %s", cpremote_strerror(r));
		goto out;
	}
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	argv[0] = (char *)"cpremote-relay";
	argv[1] = (char *)"--control-fd";
	argv[2] = fdarg;
	argv[3] = NULL;

	/* No caller handler may run in the children before they reset dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	mid = fork();
	if (mid == 0) {
		/* The intermediate child: its exit orphans the relay, so init reaps it. */
		/* _Fork: no atfork handlers, async-signal-safe in a child of a threaded caller. */
		pid_t pid = _Fork();

		if (pid == 0)
			relay_exec(path, argv, sv[1], devnull, ep[1]);
		if (pid < 0) {
			e = errno;
			while (write(ep[1], &e, sizeof(e)) < 0 && errno == EINTR)
				;
		}
		_exit(0);
	}
	if (mid < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (mid < 0) {
		r = -e;
		lib_errmsg_set("cannot start the relay: fork: %s", cpremote_strerror(r));
		goto out;
	}
	/* Reap only our own child: the caller's other children are none of our business. */
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	/* Our copy of the write end must go, or the read below never sees EOF. */
	close(ep[1]);
	ep[1] = -1;
	do {
		n = read(ep[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		r = CPREMOTE_ERELAY;
		lib_errmsg_set("cannot start the relay %s: %s", path, cpremote_strerror(-e));
		goto out;
	}
	r = sv[0];
	sv[0] = -1;
out:
	e = errno;
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	if (devnull >= 0)
		close(devnull);
	errno = e;
	return r;
}

/*
 * Sends one fd message to the relay, starting it first when there is none
 * and once more when the one we had is gone (it crashed or was killed).
 * The lock is held across the send so that no other thread can close the
 * socket under it.
 */
int lib_relay_send(uint8_t byte, const int *fds, int nfds)
{
	int r = 0;

	pthread_mutex_lock(&relay_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (relay_fd < 0) {
			r = relay_spawn();
			if (r < 0)
				goto out;
			relay_fd = r;
		}
		r = cpr_send_fds(relay_fd, byte, fds, nfds);
		if (r != -EPIPE && r != -ECONNRESET && r != -ECONNREFUSED)
			break;
		close(relay_fd);
		relay_fd = -1;
	}
	if (r == -EPIPE || r == -ECONNRESET || r == -ECONNREFUSED) {
		lib_errmsg_set("cannot reach the relay: %s", cpremote_strerror(r));
		r = CPREMOTE_ERELAY;
	} else if (r < 0) {
		/* For instance EBADF: one of the caller's stdio fds is not open. */
		lib_errmsg_set("cannot pass descriptors to the relay: %s", cpremote_strerror(r));
	}
out:
	pthread_mutex_unlock(&relay_lock);
	return r;
}

/*
 * Closing the control socket is how the relay learns that the caller is
 * done: it closes every connection and exits, and the helpers end what
 * still runs.  The next cpremote_run() starts a new relay.
 */
void cpremote_shutdown(void)
{
	pthread_mutex_lock(&relay_lock);
	if (relay_fd >= 0)
		close(relay_fd);
	relay_fd = -1;
	pthread_mutex_unlock(&relay_lock);
}
