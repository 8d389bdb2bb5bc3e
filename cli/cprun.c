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
#include "cprun_dest.h"
#include "cprun_hosts.h"
#include "cprun_multi.h"
#include "cprun_status.h"

#define USAGE                                                                                 \
	"usage: cprun [options] HOST PROGRAM [ARGS...]\n"                                     \
	"       cprun [options] -H HOST,...|@FILE [-b] [--no-prefix] PROGRAM [ARGS...]\n"     \
	"\n"                                                                                  \
	"Runs PROGRAM on HOST over SSH.  HOST is an ssh_config name, [USER@]HOST, or\n"       \
	"ssh://[USER@]HOST[:PORT].  PROGRAM finds its IPC channel on the fd\n"                \
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
	"  -F CONFIG          ssh_config file (default $CPREMOTE_SSH_CONFIG, else\n"          \
	"                     ~/.ssh/config); one that cannot be read is an error\n"          \
	"  -o OPTION=VALUE    ssh option, as ssh -o (repeatable)\n"                           \
	"  -J JUMP            jump host, as -o ProxyJump=JUMP\n"                              \
	"  -4, -6             IPv4 or IPv6 only, as -o AddressFamily=inet or inet6\n"         \
	"  -C                 compression, as -o Compression=yes\n"                           \
	"  -v                 more diagnostics on stderr (repeatable, up to 3)\n"             \
	"  -q                 quiet: no messages of cprun's own but the errors that end it\n" \
	"  -n                 stdin is /dev/null\n"                                           \
	"  -e VAR=VALUE       add to PROGRAM's environment (repeatable)\n"                    \
	"  --chdir DIR        working directory on HOST\n"                                    \
	"  --node             PROGRAM is Node.js: also set NODE_CHANNEL_FD (the default\n"    \
	"                     when PROGRAM's basename is \"node\")\n"                         \
	"  --channel-fd N     use fd N (a connected AF_UNIX stream socket) as the channel\n"  \
	"  --helper PATH      use this installed cpremote-helper on HOST (no upload);\n"      \
	"                     ~/ and ~USER/ are HOST's home directories\n"                    \
	"  --no-upload        never upload the helper; fail when HOST has none\n"             \
	"  --accept-new       add an unknown host key to known_hosts (never a changed one)\n" \
	"  -H HOST,...        run on these hosts at once (repeatable)\n"                      \
	"  -H @FILE           ... on the hosts of FILE: one a line, '#' comments\n"           \
	"  -b                 with -H: gather identical outputs, print each once\n"           \
	"  --no-prefix        with -H: no \"HOST: \" before each line\n"                      \
	"  --status-fd N      write how PROGRAM ended as one line on fd N (not with -H)\n"    \
	"  -h, --help, -V, --version\n"                                                       \
	"\n"                                                                                  \
	"exit status: PROGRAM's own; 128+N when it died of signal N; 2 usage error;\n"        \
	"126 PROGRAM could not be started; 127 PROGRAM not found on HOST; 255\n"              \
	"connection, host key, authentication, helper or relay failure, or an\n"              \
	"unreadable -F file.  With -H, the highest of the hosts' statuses.\n"

enum {
	OPT_NODE = 256,
	OPT_CHANNEL_FD,
	OPT_HELPER,
	OPT_ACCEPT_NEW,
	OPT_NO_UPLOAD,
	OPT_NO_PREFIX,
	OPT_STATUS_FD,
	OPT_CHDIR,
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
	{ "chdir", required_argument, NULL, OPT_CHDIR },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/*
 * The short options, one a line.  '+': stop at HOST, so that PROGRAM's
 * own options are never taken for ours.  ssh's letters mean what they
 * mean in ssh (-C is compression, so the working directory is --chdir).
 */
static const char short_opts[] = "+"
				 "p:"
				 "l:"
				 "i:"
				 "F:"
				 "o:"
				 "J:"
				 "4"
				 "6"
				 "C"
				 "v"
				 "q"
				 "n"
				 "e:"
				 "H:"
				 "b"
				 "h"
				 "V";

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* --status-fd: where report_status() writes, or -1. */
static int status_fd = -1;
/* -q: no notes of cprun's own, only the errors that end it. */
static int quiet;

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
				if (!quiet)
					fprintf(stderr, "cprun: %s: interrupted before the program started\n",
						host);
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

/* A growing NULL-terminated list of strings (borrowed, or owned by the list "owned"). */
struct strv {
	const char **v;
	size_t n, cap;
};

/* Appends S, keeping the list NULL-terminated; out of memory ends cprun. */
static void strv_push(struct strv *l, const char *s)
{
	if (l->n + 1 >= l->cap) {
		size_t cap = l->cap > 0 ? 2 * l->cap : 8;
		const char **v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			die(255, "out of memory", NULL);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

/* Everything the command line says, and what it owns. */
struct cli {
	struct cpremote_options o;
	struct strv ssh_opts, env;
	struct strv owned; /* the "-o" strings made for -J, freed at the end */
	struct cprun_hosts hosts;
	struct cprun_dest dest; /* HOST taken apart; o.host and maybe o.user point into it */
	int node, chan_fd, prefix, multi, gather, null_stdin;
};

/* Adds "-o NAME=VALUE" for an ssh option letter that stands for one (-J). */
static void add_ssh_option(struct cli *cl, const char *name, const char *value)
{
	char *opt;

	if (asprintf(&opt, "%s=%s", name, value) < 0)
		die(255, "out of memory", NULL);
	strv_push(&cl->owned, opt);
	strv_push(&cl->ssh_opts, opt);
}

/* Applies one option C (argument ARG) of the usage to CL.  Usage errors end cprun. */
static void parse_option(struct cli *cl, int c, const char *arg)
{
	struct cpremote_options *o = &cl->o;

	switch (c) {
	case 'p':
		o->port = parse_nonneg(arg);
		if (o->port <= 0 || o->port > 65535)
			usage_error("bad port: %s", arg);
		break;
	case 'l':
		o->user = arg;
		break;
	case 'i':
		o->identity = arg;
		break;
	case 'F':
		o->config = arg;
		break;
	case 'o':
		strv_push(&cl->ssh_opts, arg);
		break;
	case 'J':
		add_ssh_option(cl, "ProxyJump", arg);
		break;
	case '4':
		strv_push(&cl->ssh_opts, "AddressFamily=inet");
		break;
	case '6':
		strv_push(&cl->ssh_opts, "AddressFamily=inet6");
		break;
	case 'C':
		strv_push(&cl->ssh_opts, "Compression=yes");
		break;
	case 'v':
		if (o->verbosity < 3)
			o->verbosity++;
		break;
	case 'q':
		quiet = 1;
		break;
	case 'n':
		cl->null_stdin = 1;
		break;
	case 'e':
		if (strchr(arg, '=') == NULL || arg[0] == '=')
			usage_error("-e wants VAR=VALUE, not %s", arg);
		strv_push(&cl->env, arg);
		break;
	case OPT_CHDIR:
		o->cwd = arg;
		break;
	case OPT_NODE:
		cl->node = 1;
		break;
	case OPT_CHANNEL_FD:
		cl->chan_fd = parse_nonneg(arg);
		if (cl->chan_fd < 0)
			usage_error("bad --channel-fd: %s", arg);
		if (fcntl(cl->chan_fd, F_GETFD) < 0)
			die(2, "--channel-fd", strerror(errno));
		break;
	case OPT_HELPER:
		o->helper = arg;
		break;
	case OPT_ACCEPT_NEW:
		o->flags |= CPREMOTE_ACCEPT_NEW;
		break;
	case OPT_NO_UPLOAD:
		o->flags |= CPREMOTE_NO_UPLOAD;
		break;
	case 'H':
		cl->multi = 1;
		if (cprun_hosts_add(&cl->hosts, arg) < 0)
			exit(2);
		break;
	case 'b':
		cl->gather = 1;
		break;
	case OPT_NO_PREFIX:
		cl->prefix = 0;
		break;
	case OPT_STATUS_FD:
		status_fd = parse_nonneg(arg);
		if (status_fd < 0)
			usage_error("bad --status-fd: %s", arg);
		/* Close-on-exec: the relay must not hold the caller's pipe open. */
		if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0)
			die(2, "--status-fd", strerror(errno));
		break;
	case 'h':
	case OPT_HELP:
		fputs(USAGE, stdout);
		exit(0);
	case 'V':
	case OPT_VERSION:
		puts("cprun " CPREMOTE_VERSION);
		exit(0);
	default:
		usage_error(NULL, NULL);
	}
}

/* Checks that destination ARG parses; a bad one is a usage error. */
static void check_dest(const char *arg)
{
	struct cprun_dest d;
	char err[256];

	if (cprun_dest_parse(arg, &d, err, sizeof(err)) < 0)
		usage_error("%s", err);
	cprun_dest_free(&d);
}

/* Takes the operands (HOST unless -H, PROGRAM, ARGS) of the N at ARGV. */
static void parse_operands(struct cli *cl, int n, char **argv)
{
	if (cl->multi) {
		/* Multi-host mode: no HOST operand, one channel per child made by the library. */
		if (cl->hosts.n == 0)
			usage_error("-H names no host", NULL);
		if (cl->chan_fd >= 0)
			usage_error("--channel-fd cannot be used with -H", NULL);
		if (status_fd >= 0)
			usage_error("--status-fd cannot be used with -H", NULL);
		if (n < 1)
			usage_error("no PROGRAM given", NULL);
		for (size_t i = 0; i < cl->hosts.n; i++)
			check_dest(cl->hosts.v[i]);
	} else {
		char err[256];

		if (n < 2)
			usage_error(n == 0 ? "no HOST given" : "no PROGRAM given", NULL);
		if (!cl->prefix)
			usage_error("--no-prefix needs -H", NULL);
		if (cl->gather)
			usage_error("-b needs -H", NULL);
		if (cprun_dest_apply(argv[0], &cl->o, &cl->dest, err, sizeof(err)) < 0)
			usage_error("%s", err);
		argv++;
	}
	cl->o.file = argv[0];
	cl->o.argv = (const char *const *)argv;
}

/*
 * The ssh_config: -F, else $CPREMOTE_SSH_CONFIG (as the library would
 * take it).  One that cannot be opened ends cprun with 255 naming it, as
 * ssh does, rather than being passed over in silence.
 */
static void resolve_config(struct cpremote_options *o)
{
	int fd;

	if (o->config == NULL) {
		/* secure_getenv, as the library reads it: cprun may be linked into a setuid program's path. */
		const char *env = secure_getenv("CPREMOTE_SSH_CONFIG");

		if (env != NULL && *env != '\0')
			o->config = env;
	}
	if (o->config == NULL)
		return;
	if ((fd = open(o->config, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "cprun: cannot open ssh config file %s: %s\n", o->config, strerror(errno));
		exit(255);
	}
	close(fd);
}

/* Reads the command line into CL; usage errors, --help and --version end cprun. */
static void parse_args(struct cli *cl, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
		parse_option(cl, c, optarg);
	parse_operands(cl, argc - optind, argv + optind);
	resolve_config(&cl->o);
	cl->o.ssh_options = cl->ssh_opts.v;
	cl->o.env = cl->env.v;
	if (cl->node || is_node(cl->o.file))
		cl->o.flags |= CPREMOTE_NODE;
}

/*
 * The channel of the child: --channel-fd, else $CHANNEL_FD or
 * $NODE_CHANNEL_FD, else one end of OWN, a new socketpair whose ends
 * cprun drops once the child runs, so that the child reads EOF.
 */
static int channel_of(const struct cli *cl, int own[2])
{
	int fd = cl->chan_fd >= 0 ? cl->chan_fd : env_channel_fd();

	if (fd >= 0)
		return fd;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, own) < 0)
		die(255, "socketpair", strerror(errno));
	return own[0];
}

/*
 * Blocks the forwarded signals and returns a signalfd for them.  They
 * are caught before the spawn is even asked for, so that none slips
 * between the child's start and cprun's knowing it; the start is
 * awaited in supervise(), where ^C still ends a hung connect.
 */
static int catch_signals(void)
{
	sigset_t fwd;
	int sfd;

	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]); i++)
		sigaddset(&fwd, fwd_signals[i]);
	if (sigprocmask(SIG_BLOCK, &fwd, NULL) < 0 ||
	    (sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		die(255, "signalfd", strerror(errno));
	return sfd;
}

/* cprun HOST PROGRAM: runs it with cprun's stdio and channel.  Returns cprun's exit status. */
static int run_single(struct cli *cl)
{
	struct cpremote_options *o = &cl->o;
	cpremote_child *child = NULL;
	int own_chan[2] = { -1, -1 }, sfd, r, code;

	/* A closed stdio fd of ours becomes the child's /dev/null rather than a failure. */
	for (int i = 0; i < 3; i++)
		o->stdio[i].mode = fcntl(i, F_GETFD) >= 0 ? CPREMOTE_STDIO_INHERIT : CPREMOTE_STDIO_NULL;
	if (cl->null_stdin)
		o->stdio[0].mode = CPREMOTE_STDIO_NULL;
	o->channel_fd = channel_of(cl, own_chan);
	o->flags |= CPREMOTE_CHANNEL_FD | CPREMOTE_NOWAIT;
	sfd = catch_signals();
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
	code = supervise(child, sfd, o->host);
	cpremote_free(child);
	return code;
}

/* cprun -H: every host at once (cprun_multi.c).  Returns cprun's exit status. */
static int run_multi(struct cli *cl)
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
	struct cli cl = { .o = CPREMOTE_OPTIONS_INIT, .chan_fd = -1, .prefix = 1 };
	int code;

	parse_args(&cl, argc, argv);
	code = cl.multi ? run_multi(&cl) : run_single(&cl);
	cprun_hosts_free(&cl.hosts);
	cprun_dest_free(&cl.dest);
	for (size_t i = 0; i < cl.owned.n; i++)
		free((char *)cl.owned.v[i]);
	free(cl.owned.v);
	free(cl.ssh_opts.v);
	free(cl.env.v);
	return code;
}
