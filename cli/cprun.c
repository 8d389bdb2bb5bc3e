/* cprun.c — run a program on another host over SSH with its IPC channel intact; a thin CLI over libcpremote. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
#include "cprun_ctl.h"
#include "cprun_connect.h"
#include "cprun_hosts.h"
#include "cprun_multi.h"
#include "cprun_status.h"

#define USAGE                                                                                 \
	"usage: cprun [options] HOST PROGRAM [ARGS...]\n"                                     \
	"       cprun [options] -H HOST,...|@FILE [--no-prefix] PROGRAM [ARGS...]\n"          \
	"       cprun [options] --connect HOST:PATH\n"                                        \
	"\n"                                                                                  \
	"Runs PROGRAM on HOST over SSH.  PROGRAM finds its IPC channel on the fd\n"           \
	"named by $CHANNEL_FD; cprun's own channel is --channel-fd, else $CHANNEL_FD,\n"      \
	"else $NODE_CHANNEL_FD, else a channel that just ends.  Stdio is cprun's own;\n"      \
	"SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded; once\n"         \
	"PROGRAM has exited, the first four end cprun at once (128+N), even while\n"          \
	"processes it left behind hold its output open.\n"                                    \
	"\n"                                                                                  \
	"With -H, PROGRAM runs on every host at once: stdin is /dev/null, each line\n"        \
	"of output is prefixed \"HOST: \", each channel just ends, a summary ends it.\n"      \
	"\n"                                                                                  \
	"options:\n"                                                                          \
	"  -p PORT            port on HOST\n"                                                 \
	"  -l USER            user on HOST\n"                                                 \
	"  -i IDENTITY        private key file\n"                                             \
	"  -F CONFIG          ssh_config file\n"                                              \
	"  -o OPTION=VALUE    ssh option, as ssh -o (repeatable)\n"                           \
	"  -O check|exit      ask the ControlPath's master, as ssh -O\n"                      \
	"  -v                 more diagnostics on stderr (repeatable, up to 3)\n"             \
	"  -e VAR=VALUE       add to PROGRAM's environment (repeatable)\n"                    \
	"  -C DIR             working directory on HOST\n"                                    \
	"  --node             PROGRAM is Node.js: also set NODE_CHANNEL_FD (the default\n"    \
	"                     when PROGRAM's basename is \"node\")\n"                         \
	"  --channel-fd N     use fd N (a connected AF_UNIX stream socket) as the channel\n"  \
	"  --helper PATH      use this installed cpremote-helper on HOST (no upload)\n"       \
	"  --no-upload        never upload the helper; fail when HOST has none\n"             \
	"  --accept-new       add an unknown host key to known_hosts (never a changed one)\n" \
	"  -H HOST,...        run on these hosts at once (repeatable)\n"                      \
	"  -H @FILE           ... on the hosts of FILE: one a line, '#' comments\n"           \
	"  --no-prefix        with -H: no \"HOST: \" before each line\n"                      \
	"  --status-fd N      write how PROGRAM ended as one line on fd N (not with -H)\n"    \
	"  --connect HOST:PATH  join stdin/stdout to the socket file PATH that a running\n"   \
	"                     process serves on HOST (line editing on a terminal)\n"          \
	"  --help, --version\n"                                                               \
	"\n"                                                                                  \
	"exit status: PROGRAM's own; 128+N when it died of signal N; 2 usage error;\n"        \
	"126 PROGRAM could not be started; 127 PROGRAM not found on HOST; 255\n"              \
	"connection, host key, authentication, helper or relay failure.  With -H,\n"          \
	"the highest of the hosts' statuses.  With --connect: 0 when the server\n"            \
	"closed the connection, 255 when it could not be attached to.\n"

enum {
	OPT_NODE = 256,
	OPT_CHANNEL_FD,
	OPT_HELPER,
	OPT_ACCEPT_NEW,
	OPT_NO_UPLOAD,
	OPT_NO_PREFIX,
	OPT_STATUS_FD,
	OPT_CONNECT,
	OPT_HELP,
	OPT_VERSION
};

static const struct option long_opts[] = {
	{ "node", no_argument, NULL, OPT_NODE },
	{ "channel-fd", required_argument, NULL, OPT_CHANNEL_FD },
	{ "helper", required_argument, NULL, OPT_HELPER },
	{ "accept-new", no_argument, NULL, OPT_ACCEPT_NEW },
	{ "no-upload", no_argument, NULL, OPT_NO_UPLOAD },
	{ "no-prefix", no_argument, NULL, OPT_NO_PREFIX },
	{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* --status-fd: where report_status() writes, or -1. */
static int status_fd = -1;

/*
 * Writes the one line of --status-fd, for a caller (the Node.js binding)
 * that must tell the program's own exit code from cprun's: "exit CODE",
 * "signal N", or "error STATUS TEXT" when cprun itself failed (STATUS is
 * its exit status: 255 connection, 127/126 not started, 2 usage).  A
 * failed write is ignored: the exit status still says it.
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

static void __attribute__((noreturn)) usage_error(const char *fmt, const char *arg)
{
	if (fmt != NULL) {
		fputs("cprun: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(USAGE, stderr);
	exit(2);
}

static void __attribute__((noreturn)) die(int code, const char *what, const char *detail)
{
	fprintf(stderr, "cprun: %s%s%s\n", what, detail != NULL ? ": " : "", detail != NULL ? detail : "");
	exit(code);
}

/* Parses a non-negative decimal int; -1 when S is not one. */
static int parse_nonneg(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX)
		return -1;
	return (int)v;
}

/*
 * The caller's channel from the environment: CHANNEL_FD, else
 * NODE_CHANNEL_FD, when it names an open fd; else -1.
 */
static int env_channel_fd(void)
{
	static const char *const names[] = { "CHANNEL_FD", "NODE_CHANNEL_FD" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = parse_nonneg(getenv(names[i]));

		if (fd >= 0 && fcntl(fd, F_GETFD) >= 0)
			return fd;
	}
	return -1;
}

/* Is PROGRAM's basename "node"? */
static int is_node(const char *program)
{
	const char *slash = strrchr(program, '/');

	return strcmp(slash != NULL ? slash + 1 : program, "node") == 0;
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
static int supervise(cpremote_child *child, int sfd, const char *host)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	int status, r;

	pfd[0].fd = cpremote_exit_fd(child);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(255, "poll", strerror(errno));
		}
		/* The status first: a signal must know whether the child runs yet. */
		r = cpremote_wait(child, &status, CPREMOTE_WNOHANG);
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
		if (!(pfd[1].revents & POLLIN))
			continue;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;

			if (cpremote_pid(child) < 0 && sig != SIGUSR1 && sig != SIGUSR2) {
				fprintf(stderr, "cprun: %s: interrupted before the program started\n", host);
				/* As a local child killed at once: it ended by that signal. */
				report_status("signal", sig, NULL);
				return 128 + sig;
			}
			(void)cpremote_kill(child, sig);
			if (cprun_status_ends_drain(sig) && cpremote_exited(child, NULL))
				return drain_interrupted(child, host, sig);
		}
	}
}

/*
 * Over 80 lines: one getopt switch, a case per flag of the usage, then the
 * spawn and the wait in order; split, each flag's case would sit far from
 * the usage line it implements.  To be split with the ssh-style options
 * of the CLI work (issue 10).
 */
int main(int argc, char **argv)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	const char **ssh_opts, **env;
	size_t nssh = 0, nenv = 0;
	int node = 0, chan_fd = -1, own_chan[2] = { -1, -1 }, prefix = 1, multi = 0;
	struct cprun_hosts hosts = { 0 };
	cpremote_child *child = NULL;
	const char *connect_to = NULL;
	sigset_t fwd;
	int c, r, sfd, code;
	const char *ctl_cmd = NULL;

	/* Each repeatable option takes at least one argv slot: argc bounds them. */
	ssh_opts = calloc((size_t)argc + 1, sizeof(*ssh_opts));
	env = calloc((size_t)argc + 1, sizeof(*env));
	if (ssh_opts == NULL || env == NULL)
		die(255, "out of memory", NULL);

	/* '+': stop at HOST, so PROGRAM's own options are never taken for ours. */
	while ((c = getopt_long(argc, argv, "+p:l:i:F:o:O:ve:C:H:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.port = parse_nonneg(optarg);
			if (o.port <= 0 || o.port > 65535)
				usage_error("bad port: %s", optarg);
			break;
		case 'l':
			o.user = optarg;
			break;
		case 'i':
			o.identity = optarg;
			break;
		case 'F':
			o.config = optarg;
			break;
		case 'o':
			ssh_opts[nssh++] = optarg;
			break;
		case 'O':
			ctl_cmd = optarg;
			break;
		case 'v':
			if (o.verbosity < 3)
				o.verbosity++;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				usage_error("-e wants VAR=VALUE, not %s", optarg);
			env[nenv++] = optarg;
			break;
		case 'C':
			o.cwd = optarg;
			break;
		case OPT_NODE:
			node = 1;
			break;
		case OPT_CHANNEL_FD:
			chan_fd = parse_nonneg(optarg);
			if (chan_fd < 0)
				usage_error("bad --channel-fd: %s", optarg);
			if (fcntl(chan_fd, F_GETFD) < 0)
				die(2, "--channel-fd", strerror(errno));
			break;
		case OPT_HELPER:
			o.helper = optarg;
			break;
		case OPT_ACCEPT_NEW:
			o.flags |= CPREMOTE_ACCEPT_NEW;
			break;
		case OPT_NO_UPLOAD:
			o.flags |= CPREMOTE_NO_UPLOAD;
			break;
		case 'H':
			multi = 1;
			if (cprun_hosts_add(&hosts, optarg) < 0)
				exit(2);
			break;
		case OPT_NO_PREFIX:
			prefix = 0;
			break;
		case OPT_STATUS_FD:
			status_fd = parse_nonneg(optarg);
			if (status_fd < 0)
				usage_error("bad --status-fd: %s", optarg);
			/* Close-on-exec: the relay must not hold the caller's pipe open. */
			if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0)
				die(2, "--status-fd", strerror(errno));
			break;
		case OPT_CONNECT:
			connect_to = optarg;
			break;
		case OPT_HELP:
			fputs(USAGE, stdout);
			return 0;
		case OPT_VERSION:
			puts("cprun " CPREMOTE_VERSION);
			return 0;
		default:
			usage_error(NULL, NULL);
		}
	}
	if (ctl_cmd) {
		/* -O CMD HOST: no program; the master at the ControlPath answers (cprun_ctl.c). */
		if (argc - optind != 1)
			usage_error("-O wants exactly one HOST", NULL);
		o.host = argv[optind];
		o.ssh_options = nssh > 0 ? ssh_opts : NULL;
		code = cprun_ctl(ctl_cmd, &o);
		free(ssh_opts);
		free(env);
		return code;
	}
	if (connect_to != NULL) {
		/* Attaching to a running process (cprun_connect.c): no program, no -H. */
		if (multi || argc > optind || nenv > 0 || o.cwd != NULL || node || chan_fd >= 0 ||
		    status_fd >= 0)
			usage_error("--connect takes no PROGRAM, -H, -e, -C, --node, --channel-fd or "
				    "--status-fd",
				    NULL);
		o.ssh_options = nssh > 0 ? ssh_opts : NULL;
		code = cprun_connect(&o, connect_to);
		free(ssh_opts);
		free(env);
		return code;
	}
	if (multi) {
		/* Multi-host mode: no HOST operand, one channel per child made by the library. */
		if (hosts.n == 0)
			usage_error("-H names no host", NULL);
		if (chan_fd >= 0)
			usage_error("--channel-fd cannot be used with -H", NULL);
		if (status_fd >= 0)
			usage_error("--status-fd cannot be used with -H", NULL);
		if (argc - optind < 1)
			usage_error("no PROGRAM given", NULL);
		o.file = argv[optind];
		o.argv = (const char *const *)&argv[optind];
	} else {
		if (argc - optind < 2)
			usage_error(argc - optind == 0 ? "no HOST given" : "no PROGRAM given", NULL);
		if (!prefix)
			usage_error("--no-prefix needs -H", NULL);
		o.host = argv[optind];
		o.file = argv[optind + 1];
		o.argv = (const char *const *)&argv[optind + 1];
	}
	o.ssh_options = nssh > 0 ? ssh_opts : NULL;
	o.env = nenv > 0 ? env : NULL;
	if (node || is_node(o.file))
		o.flags |= CPREMOTE_NODE;
	if (multi) {
		code = cprun_multi(&o, &hosts, prefix, fwd_signals,
				   (int)(sizeof(fwd_signals) / sizeof(fwd_signals[0])));
		cprun_hosts_free(&hosts);
		free(ssh_opts);
		free(env);
		return code;
	}
	/* A closed stdio fd of ours becomes the child's /dev/null rather than a failure. */
	for (int i = 0; i < 3; i++)
		o.stdio[i].mode = fcntl(i, F_GETFD) >= 0 ? CPREMOTE_STDIO_INHERIT : CPREMOTE_STDIO_NULL;

	if (chan_fd < 0)
		chan_fd = env_channel_fd();
	if (chan_fd < 0) {
		/*
		 * No one to talk to: a socket of our own whose end we drop once
		 * the child runs, so that the child reads EOF on its channel.
		 */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, own_chan) < 0)
			die(255, "socketpair", strerror(errno));
		chan_fd = own_chan[0];
	}
	o.channel_fd = chan_fd;
	o.flags |= CPREMOTE_CHANNEL_FD;

	/*
	 * The signals are caught before the spawn is even asked for, so that
	 * none slips between the child's start and cprun's knowing it; the
	 * start is awaited in supervise(), where ^C still ends a hung connect.
	 */
	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]); i++)
		sigaddset(&fwd, fwd_signals[i]);
	if (sigprocmask(SIG_BLOCK, &fwd, NULL) < 0 ||
	    (sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		die(255, "signalfd", strerror(errno));
	o.flags |= CPREMOTE_NOWAIT;
	r = cpremote_run(&o, &child);
	if (own_chan[0] >= 0) {
		close(own_chan[0]);
		close(own_chan[1]);
	}
	if (r < 0) {
		code = cprun_status_run_error(r);
		fprintf(stderr, "cprun: %s\n",
			*cpremote_errmsg() != '\0' ? cpremote_errmsg() : cpremote_strerror(r));
		report_status("error", code,
			      *cpremote_errmsg() != '\0' ? cpremote_errmsg() : cpremote_strerror(r));
		free(ssh_opts);
		free(env);
		return code;
	}
	code = supervise(child, sfd, o.host);
	cpremote_free(child);
	free(ssh_opts);
	free(env);
	return code;
}
