/* cprun.c — run a program on another host over SSH with its IPC channel intact; a thin CLI over libcpremote. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpremote.h"
#include "cprun_args.h"
#include "cprun_connect.h"
#include "cprun_ctl.h"
#include "cprun_multi.h"
#include "cprun_status.h"
#include "cprun_tty.h"

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* --status-fd: where report_status() writes, or -1 (from the command line, as -q). */
static int status_fd = -1;
/* -q: no notes of cprun's own, only the errors that end it. */
static int quiet;

/*
 * Writes the one line of --status-fd, for a caller (the Node.js binding)
 * that must tell the program's own exit code from cprun's: "exit CODE",
 * "signal N", or "error STATUS TEXT" when cprun itself failed (STATUS is
 * its exit status: 255 connection, 127/126 not started, 2 usage).  A
 * failed write is ignored: the exit status still says it.  With --ship a
 * line "shipped BYTES" comes before it (ship_report()).
 */
static void report_status(const char *kind, int value, const char *text)
{
	if (status_fd < 0)
		return;
	if (text != NULL)
		(void)dprintf(status_fd, "%s %d %s\n", kind, value, text);
	else
		(void)dprintf(status_fd, "%s %d\n", kind, value);
}

/*
 * The caller's channel from the environment: CHANNEL_FD, else
 * NODE_CHANNEL_FD, when it names an open fd; else -1.
 */
static int env_channel_fd(void)
{
	static const char *const names[] = { "CHANNEL_FD", "NODE_CHANNEL_FD" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = cprun_parse_nonneg(getenv(names[i]));

		if (fd >= 0 && fcntl(fd, F_GETFD) >= 0)
			return fd;
	}
	return -1;
}

/*
 * The program has exited but processes it left behind hold its output,
 * and SIG arrived: says so and gives cprun's exit status, 128+SIG.  The
 * caller frees the handle, which ends those processes on the host.
 */
static int drain_interrupted(cpremote_child *child, const char *host, int sig)
{
	int st = 0;
	char how[32];

	(void)cpremote_exited(child, &st);
	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof(how), "status %d", WEXITSTATUS(st));
	if (!quiet)
		fprintf(stderr,
			"cprun: %s: the program exited (%s); processes it left hold its output open: "
			"stopped waiting for them on SIG%s\n",
			host, how, sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
	return 128 + sig;
}

/*
 * The program ended with cprun's status CODE; when the relay could not
 * write some of its output (a full disk), says so (the message names the
 * host and the stream) and makes a success a failure: 1, as a local
 * program that lost its output would say.
 */
static int output_lost(cpremote_child *child, int code)
{
	const char *msg = cpremote_child_errmsg(child);

	if (msg[0] == '\0')
		return code;
	fprintf(stderr, "cprun: %s\n", msg);
	return code == 0 ? 1 : code;
}

/*
 * Waits for the child's start and end, forwarding the signals that arrive
 * on SFD.  Returns cprun's exit status.  A signal that would end cprun
 * arriving before the start is confirmed ends the wait at once (as ^C ends
 * ssh while it connects); freeing the handle then makes the relay kill a
 * child that starts after all.  So does one that arrives after the
 * program exited, while what it left behind keeps its output open: a
 * local shell would not wait for them either.
 */
static int supervise(cpremote_child *child, int sfd, const char *host, int on_tty)
{
	struct pollfd pfd[4];
	struct signalfd_siginfo si;
	int status, r, ntty = 0;

	pfd[0].fd = cpremote_exit_fd(child);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (on_tty)
			ntty = cprun_tty_pollfds(&pfd[2]);
		if (poll(pfd, (nfds_t)(2 + ntty), -1) < 0) {
			if (errno == EINTR)
				continue;
			cprun_die(255, "poll", strerror(errno));
		}
		/* The status first: a signal must know whether the child runs yet. */
		r = cpremote_wait(child, &status, CPREMOTE_WNOHANG);
		/* Whatever ends the session, the messages and the shell after it find the terminal as it was. */
		if (r != 0)
			cprun_tty_restore();
		if (r < 0) {
			/* The message names the host. */
			fprintf(stderr, "cprun: %s\n", cpremote_child_errmsg(child));
			report_status("error", cprun_status_run_error(r), cpremote_child_errmsg(child));
			return cprun_status_run_error(r);
		}
		if (r == 1) {
			if (WIFSIGNALED(status))
				report_status("signal", WTERMSIG(status), NULL);
			else if (WIFEXITED(status))
				report_status("exit", WEXITSTATUS(status), NULL);
			return output_lost(child, cprun_status_wait(status));
		}
		if (ntty > 0 && (r = cprun_tty_ready(child, &pfd[2], ntty, host)) >= 0)
			return r;
		if (!(pfd[1].revents & POLLIN))
			continue;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;

			if (sig == SIGWINCH) {
				cprun_tty_winch(child);
				continue;
			}
			if (cpremote_pid(child) < 0 && sig != SIGUSR1 && sig != SIGUSR2) {
				cprun_tty_restore();
				if (!quiet)
					fprintf(stderr, "cprun: %s: interrupted before the program started\n",
						host);
				/* As a local child killed at once: it ended by that signal. */
				report_status("signal", sig, NULL);
				return 128 + sig;
			}
			(void)cpremote_kill(child, sig);
			if (cprun_status_ends_drain(sig) && cpremote_exited(child, NULL)) {
				cprun_tty_restore();
				return drain_interrupted(child, host, sig);
			}
		}
	}
}

/*
 * The channel of the child: --channel-fd, else $CHANNEL_FD or
 * $NODE_CHANNEL_FD, else one end of OWN, a new socketpair whose ends
 * cprun drops once the child runs, so that the child reads EOF.
 */
static int channel_of(const struct cprun_args *cl, int own[2])
{
	int fd = cl->chan_fd >= 0 ? cl->chan_fd : env_channel_fd();

	if (fd >= 0)
		return fd;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, own) < 0)
		cprun_die(255, "socketpair", strerror(errno));
	return own[0];
}

/*
 * Blocks the forwarded signals and returns a signalfd for them.  They
 * are caught before the spawn is even asked for, so that none slips
 * between the child's start and cprun's knowing it; the start is
 * awaited in supervise(), where ^C still ends a hung connect.
 */
static int catch_signals(int on_tty)
{
	sigset_t fwd;
	int sfd;

	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]); i++)
		sigaddset(&fwd, fwd_signals[i]);
	/* Not forwarded: the size is read here and sent (cprun_tty_winch()). */
	if (on_tty)
		sigaddset(&fwd, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &fwd, NULL) < 0 ||
	    (sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		cprun_die(255, "signalfd", strerror(errno));
	return sfd;
}

/* With -v and --ship: whether the file was uploaded, for the person (and the tests) to see. */
static void ship_report(const struct cpremote_options *o, const cpremote_child *child)
{
	long long n = cpremote_shipped_bytes(child);

	if (o->ship != NULL && o->verbosity > 0 && n >= 0)
		fprintf(stderr, "cprun: %s: shipped %s: %lld bytes uploaded%s\n", o->host, o->ship, n,
			n == 0 ? " (it was in the host's cache)" : "");
	/* For the Node.js binding's child.shippedBytes: a line before the status line. */
	if (o->ship != NULL && status_fd >= 0 && n >= 0)
		(void)dprintf(status_fd, "shipped %lld\n", n);
}

/* cprun HOST PROGRAM: runs it with cprun's stdio and channel.  Returns cprun's exit status. */
static int run_single(struct cprun_args *cl)
{
	struct cpremote_options *o = &cl->o;
	cpremote_child *child = NULL;
	int own_chan[2] = { -1, -1 }, sfd, r, code;

	/* A closed stdio fd of ours becomes the child's /dev/null rather than a failure. */
	for (int i = 0; i < 3; i++)
		o->stdio[i].mode = fcntl(i, F_GETFD) >= 0 ? CPREMOTE_STDIO_INHERIT : CPREMOTE_STDIO_NULL;
	if (cl->null_stdin)
		o->stdio[0].mode = CPREMOTE_STDIO_NULL;
	if (cl->on_tty)
		cprun_tty_options(o);
	o->channel_fd = channel_of(cl, own_chan);
	o->flags |= CPREMOTE_CHANNEL_FD | CPREMOTE_NOWAIT;
	sfd = catch_signals(cl->on_tty);
	r = cpremote_run(o, &child);
	if (own_chan[0] >= 0) {
		close(own_chan[0]);
		close(own_chan[1]);
	}
	if (r < 0) {
		const char *msg = *cpremote_errmsg() != '\0' ? cpremote_errmsg() : cpremote_strerror(r);

		code = cprun_status_run_error(r);
		fprintf(stderr, "cprun: %s\n", msg);
		report_status("error", code, msg);
		return code;
	}
	ship_report(o, child);
	if (cl->on_tty && cprun_tty_start(child) < 0)
		code = 255;
	else
		code = supervise(child, sfd, o->host, cl->on_tty);
	cpremote_free(child);
	return code;
}

/* cprun -H: every host at once (cprun_multi.c).  Returns cprun's exit status. */
static int run_multi(struct cprun_args *cl)
{
	struct cprun_multi_opts mo = {
		.prefix = cl->prefix,
		.gather = cl->gather,
		.quiet = quiet,
		.signals = fwd_signals,
		.nsignals = (int)(sizeof(fwd_signals) / sizeof(fwd_signals[0])),
	};

	return cprun_multi(&cl->o, &cl->hosts, &mo);
}

int main(int argc, char **argv)
{
	struct cprun_args cl;
	int code;

	cprun_args_parse(&cl, argc, argv);
	status_fd = cl.status_fd;
	quiet = cl.quiet;
	if (cl.ctl_cmd != NULL)
		code = cprun_ctl(cl.ctl_cmd, &cl.o); /* -O check|exit: the ControlPath's master */
	else if (cl.connect_to != NULL)
		code = cprun_connect(&cl.o, cl.connect_to); /* attaching to a running process */
	else
		code = cl.multi ? run_multi(&cl) : run_single(&cl);
	cprun_args_free(&cl);
	return code;
}
