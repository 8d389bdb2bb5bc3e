/*
 * relay_start.c — starts the caller's relay process once and keeps the
 * control socket to it.  The relay is detached by a double fork so that it
 * never shows up in the caller's waitpid(-1), and it ends by itself when
 * the control socket closes.  Its greeting is checked before anything is
 * sent to it.  A process forked from the caller never uses the caller's
 * relay: it starts its own on its next cpremote_run().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control_hello.h"
#include "fdpass.h"
#include "lib.h"

/* close_range(2)'s flag (Linux 5.11); older kernels get the bounded loop. */
#define CLOSE_RANGE_CLOEXEC_FLAG (1u << 2)
#define FALLBACK_MAX_FD 4096

/*
 * How long a started relay may take to greet.  It greets before anything
 * else, so a few milliseconds normally; the margin is for a relay run
 * under valgrind on a loaded machine.
 */
#define HELLO_TIMEOUT_MS 10000

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int relay_fd = -1; /* the control socket, or -1 */
static pid_t relay_pid = -1; /* the relay's pid, from its greeting */
static pid_t relay_owner = -1; /* the process that started it */

/*
 * fork() in another thread must not copy relay_lock while it is held (the
 * child could never take it), so it waits for it.
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&relay_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&relay_lock);
}

/*
 * The forked child drops its copy of the parent's control socket: it must
 * never hand its children to the parent's relay, and the relay must still
 * see the socket close, and end, when the parent dies.
 */
static void atfork_child(void)
{
	if (relay_fd >= 0)
		close(relay_fd);
	relay_fd = -1;
	relay_pid = relay_owner = -1;
	pthread_mutex_unlock(&relay_lock);
}

static void atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

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
relay_exec(const char *path, char *const argv[], int ctl, int listen_fd, int devnull, int errpipe)
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
	 * A master outlives its creator: it must hold neither the creator's
	 * stderr (a `$(cprun ... 2>&1)` would wait for it) nor its directory.
	 */
	if (listen_fd >= 0 && (dup2(devnull, 2) < 0 || chdir("/") < 0))
		goto fail;
	/*
	 * The caller's fds opened without O_CLOEXEC must not live on in the
	 * relay: a pipe held there would never give its reader EOF.
	 */
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC_FLAG) < 0)
		for (int fd = 3; fd < FALLBACK_MAX_FD; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fcntl(ctl, F_SETFD, 0) < 0 || (listen_fd >= 0 && fcntl(listen_fd, F_SETFD, 0) < 0))
		goto fail;
	execv(path, argv);
fail:
	e = errno;
	while (write(errpipe, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for a relay's greeting (lib.h); HELLO_TIMEOUT_MS at most. */
int lib_relay_hello(int ctl, const char *path, pid_t *pid)
{
	/* One byte more than a greeting: a longer message shows as too long. */
	uint8_t buf[CPR_CTL_HELLO_LEN + 1];
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	long long deadline = now_ms() + HELLO_TIMEOUT_MS, left;
	uint32_t version, wpid;
	ssize_t n;
	int pr;

	for (;;) {
		left = deadline - now_ms();
		pr = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			lib_errmsg_set("the relay %s sent no greeting within %d s%s%s", path,
				       HELLO_TIMEOUT_MS / 1000, pr < 0 ? ": " : "",
				       pr < 0 ? cpremote_strerror(-errno) : "");
			return CPREMOTE_ERELAY;
		}
		n = recv(ctl, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (n <= 0) {
		lib_errmsg_set("the relay %s ended before its greeting%s%s", path, n < 0 ? ": " : "",
			       n < 0 ? cpremote_strerror(-errno) : "");
		return CPREMOTE_ERELAY;
	}
	if (cpr_ctl_hello_decode(buf, (size_t)n, &version, &wpid) < 0) {
		lib_errmsg_set("%s is not a cpremote relay: its first message is not a relay's greeting",
			       path);
		return CPREMOTE_ERELAY;
	}
	if (version != CPR_CTL_VERSION) {
		lib_errmsg_set("the relay %s speaks control version %u, this library %u", path,
			       (unsigned)version, CPR_CTL_VERSION);
		return CPREMOTE_ERELAY;
	}
	*pid = (pid_t)wpid;
	return 0;
}

/* The fds a relay start needs: the control socketpair, the report pipe, /dev/null. */
struct spawn_fds {
	int sv[2]; /* [0] ours, [1] the relay's control fd */
	int lfd; /* a master's listening socket (a dup, ours to close), or -1 */
	int ep[2]; /* the intermediate child reports a failed fork on [1] */
	int devnull;
};

static void spawn_fds_close(struct spawn_fds *f)
{
	int e = errno, *fds[] = { &f->sv[0], &f->sv[1], &f->ep[0], &f->ep[1], &f->devnull, &f->lfd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	errno = e;
}

/*
 * Opens F's fds, the ones the relay keeps above 0-2 (relay_exec() dup2s
 * onto 0-2).  0, or a negative code with the thread's message set.
 */
static int spawn_fds_open(struct spawn_fds *f)
{
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) < 0 || pipe2(f->ep, O_CLOEXEC) < 0 ||
	    (f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		lib_errmsg_set("cannot start the relay: %s", cpremote_strerror(r));
		return r;
	}
	if ((r = fd_above_stdio(&f->sv[1])) < 0 || (r = fd_above_stdio(&f->devnull)) < 0 ||
	    (r = fd_above_stdio(&f->ep[1])) < 0 || (f->lfd >= 0 && (r = fd_above_stdio(&f->lfd)) < 0)) {
		lib_errmsg_set("cannot start the relay: %s", cpremote_strerror(r));
		return r;
	}
	return 0;
}

/*
 * Double-forks the relay PATH with ARGV and reaps the intermediate child.
 * 0, or a negative code with the thread's message set.  Call with
 * relay_lock held.
 */
static int relay_double_fork(const char *path, char **argv, const struct spawn_fds *f)
{
	sigset_t all, old;
	pid_t mid;
	int e = 0, st;

	/* No caller handler may run in the children before they reset dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/*
	 * _Fork, not fork: no atfork handlers (ours would wait for the
	 * relay_lock we hold), and the children, copies of a possibly
	 * threaded caller, make only async-signal-safe calls.
	 */
	mid = _Fork();
	if (mid == 0) {
		/* The intermediate child: its exit orphans the relay, so init reaps it. */
		pid_t gpid = _Fork();

		if (gpid == 0)
			relay_exec(path, argv, f->sv[1], f->lfd, f->devnull, f->ep[1]);
		if (gpid < 0) {
			e = errno;
			while (write(f->ep[1], &e, sizeof(e)) < 0 && errno == EINTR)
				;
		}
		_exit(0);
	}
	if (mid < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (mid < 0) {
		lib_errmsg_set("cannot start the relay: fork: %s", cpremote_strerror(-e));
		return -e;
	}
	/* Reap only our own child: the caller's other children are none of our business. */
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/*
 * Reads what the intermediate child reported: nothing when the relay was
 * forked.  0, or CPREMOTE_ERELAY with the thread's message set.
 */
static int relay_fork_report(struct spawn_fds *f, const char *path)
{
	ssize_t n;
	int e;

	/* Our copy of the write end must go, or the read below never sees EOF. */
	close(f->ep[1]);
	f->ep[1] = -1;
	do {
		n = read(f->ep[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		lib_errmsg_set("cannot start the relay %s: %s", path, cpremote_strerror(-e));
		return CPREMOTE_ERELAY;
	}
	return 0;
}

/*
 * Forks the relay and returns the caller's end of its control socket once
 * its greeting was checked (setting *PID to the relay's), or a negative
 * error code with the thread's message set.  Blocks until the relay greets
 * (HELLO_TIMEOUT_MS at most).  With LISTEN_FD >= 0 the relay is a master
 * serving callers on that socket, bound at CPATH, for PERSIST seconds
 * after the last one (-1: until told to exit).
 */
static int relay_spawn(pid_t *pid, int listen_fd, const char *cpath, long persist)
{
	struct spawn_fds f = { .sv = { -1, -1 }, .ep = { -1, -1 }, .devnull = -1, .lfd = -1 };
	char path[PATH_MAX];
	char fdarg[16], lfdarg[16], persistarg[24];
	char *argv[10];
	int r;

	lib_relay_path(path, sizeof(path));
	if (listen_fd >= 0 && (f.lfd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = -errno;
		lib_errmsg_set("cannot start the relay: %s", cpremote_strerror(r));
		goto out;
	}
	if ((r = spawn_fds_open(&f)) < 0)
		goto out;
	snprintf(fdarg, sizeof(fdarg), "%d", f.sv[1]);
	argv[0] = (char *)"cpremote-relay";
	argv[1] = (char *)"--control-fd";
	argv[2] = fdarg;
	argv[3] = NULL;
	if (f.lfd >= 0) {
		snprintf(lfdarg, sizeof(lfdarg), "%d", f.lfd);
		snprintf(persistarg, sizeof(persistarg), "%ld", persist);
		argv[3] = (char *)"--master";
		argv[4] = lfdarg;
		argv[5] = (char *)cpath;
		argv[6] = persistarg;
		argv[7] = NULL;
	}
	if ((r = relay_double_fork(path, argv, &f)) < 0 || (r = relay_fork_report(&f, path)) < 0)
		goto out;
	/* Our copy of the relay's end, or the relay's end of file would never show. */
	close(f.sv[1]);
	f.sv[1] = -1;
	if ((r = lib_relay_hello(f.sv[0], path, pid)) < 0)
		goto out;
	r = f.sv[0];
	f.sv[0] = -1;
out:
	spawn_fds_close(&f);
	return r;
}

int lib_relay_spawn_master(int listen_fd, const char *cpath, long persist, pid_t *pid)
{
	return relay_spawn(pid, listen_fd, cpath, persist);
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

	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&relay_lock);
	/* A child forked without the atfork handlers (a raw clone) still gets its own relay. */
	if (relay_fd >= 0 && relay_owner != getpid()) {
		close(relay_fd);
		relay_fd = -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (relay_fd < 0) {
			r = relay_spawn(&relay_pid, -1, NULL, 0);
			if (r < 0)
				goto out;
			relay_fd = r;
			relay_owner = getpid();
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
void lib_relay_shutdown(void)
{
	pthread_mutex_lock(&relay_lock);
	if (relay_fd >= 0)
		close(relay_fd);
	relay_fd = -1;
	relay_pid = relay_owner = -1;
	pthread_mutex_unlock(&relay_lock);
}

/* The pid of this process's relay (from its greeting), or -1 when it has none. */
pid_t lib_relay_pid(void)
{
	pid_t pid;

	pthread_mutex_lock(&relay_lock);
	pid = relay_fd >= 0 && relay_owner == getpid() ? relay_pid : -1;
	pthread_mutex_unlock(&relay_lock);
	return pid;
}
