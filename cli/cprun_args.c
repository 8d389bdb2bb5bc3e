/*
 * cprun_args.c — cprun's command line: the usage, the options (ssh's
 * letters where they mean the same as in ssh), the operands and the
 * ssh_config check, into a struct cprun_args (see cprun_args.h).
 * Over 500 lines: the usage text and the option table are half of it, and
 * each mode's operand checks belong beside the options they refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprun_args.h"
#include "cprun_tty.h"

#define USAGE                                                                                 \
	"usage: cprun [options] HOST PROGRAM [ARGS...]\n"                                     \
	"       cprun [options] --ship LOCAL_FILE HOST [ARGS...]\n"                           \
	"       cprun [options] --ship LOCAL_FILE --ship-arg N HOST PROGRAM [ARGS...]\n"      \
	"       cprun [options] -H HOST,...|@FILE [-b] [--no-prefix] PROGRAM [ARGS...]\n"     \
	"       cprun [options] --connect HOST:PATH\n"                                        \
	"       cprun [options] HOST        (the login shell, on a terminal)\n"               \
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
	"                     ~/.ssh/config; \"none\" for none); one that cannot be\n"        \
	"                     read is an error\n"                                             \
	"  -o OPTION=VALUE    ssh option, as ssh -o (repeatable)\n"                           \
	"  -O check|exit      ask the ControlPath's master, as ssh -O\n"                      \
	"  -J JUMP            jump host, as -o ProxyJump=JUMP\n"                              \
	"  -4, -6             IPv4 or IPv6 only, as -o AddressFamily=inet or inet6\n"         \
	"  -C                 compression, as -o Compression=yes\n"                           \
	"  -v                 more diagnostics on stderr (repeatable, up to 3)\n"             \
	"  -q                 quiet: no messages of cprun's own but the errors that end it\n" \
	"  -n                 stdin is /dev/null\n"                                           \
	"  -e VAR=VALUE       add to PROGRAM's environment (repeatable)\n"                    \
	"  -t                 run PROGRAM on a terminal on HOST (-tt: even when stdin is\n"   \
	"                     none); ~. after a newline ends the session\n"                   \
	"  -T                 no terminal, also for the login shell\n"                        \
	"  --chdir DIR        working directory on HOST\n"                                    \
	"  --node             PROGRAM is Node.js: also set NODE_CHANNEL_FD (the default\n"    \
	"                     when PROGRAM's basename is \"node\")\n"                         \
	"  --channel-fd N     use fd N (a connected AF_UNIX stream socket) as the channel\n"  \
	"  --helper PATH      use this installed cpremote-helper on HOST (no upload);\n"      \
	"                     ~/ and ~USER/ are HOST's home directories\n"                    \
	"  --no-upload        never upload the helper; fail when HOST has none\n"             \
	"  --ship LOCAL_FILE  run this local program or script: uploaded into HOST's\n"       \
	"                     cache once while unchanged; its ARGS follow HOST (-H too)\n"    \
	"  --ship-arg N       PROGRAM runs as given, LOCAL_FILE's cached copy is its\n"       \
	"                     argument N (what argument N was only stands for it)\n"          \
	"  --accept-new       add an unknown host key to known_hosts (never a changed one)\n" \
	"  -H HOST,...        run on these hosts at once (repeatable)\n"                      \
	"  -H @FILE           ... on the hosts of FILE: one a line, '#' comments\n"           \
	"  -b                 with -H: gather identical outputs, print each once\n"           \
	"  --no-prefix        with -H: no \"HOST: \" before each line\n"                      \
	"  --status-fd N      write how PROGRAM ended as one line on fd N (not with -H)\n"    \
	"  --connect HOST:PATH  join stdin/stdout to the socket file PATH that a running\n"   \
	"                     process serves on HOST (line editing on a terminal)\n"          \
	"  -h, --help, -V, --version\n"                                                       \
	"\n"                                                                                  \
	"exit status: PROGRAM's own; 128+N when it died of signal N; 2 usage error;\n"        \
	"126 PROGRAM could not be started; 127 PROGRAM not found on HOST; 255\n"              \
	"connection, host key, authentication, helper or relay failure, or an\n"              \
	"unreadable -F file.  With -H, the highest of the hosts' statuses.  With\n"           \
	"--connect: 0 when the server closed the connection, 255 when it could not\n"         \
	"be attached to.\n"

enum {
	OPT_NODE = 256,
	OPT_CHANNEL_FD,
	OPT_HELPER,
	OPT_ACCEPT_NEW,
	OPT_NO_UPLOAD,
	OPT_NO_PREFIX,
	OPT_STATUS_FD,
	OPT_CHDIR,
	OPT_CONNECT,
	OPT_SHIP,
	OPT_SHIP_ARG,
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
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "ship", required_argument, NULL, OPT_SHIP },
	{ "ship-arg", required_argument, NULL, OPT_SHIP_ARG },
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
				 "O:"
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
				 "V"
				 "t"
				 "T";

/* See cprun_args.h. */
void cprun_die(int code, const char *what, const char *detail)
{
	fprintf(stderr, "cprun: %s%s%s\n", what, detail != NULL ? ": " : "", detail != NULL ? detail : "");
	exit(code);
}

/* See cprun_args.h. */
int cprun_parse_nonneg(const char *s)
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

/* Is PROGRAM's basename "node"? */
static int is_node(const char *program)
{
	const char *slash = strrchr(program, '/');

	return strcmp(slash != NULL ? slash + 1 : program, "node") == 0;
}


/* Appends S, keeping the list NULL-terminated; out of memory ends cprun. */
static void strv_push(struct cprun_strv *l, const char *s)
{
	if (l->n + 1 >= l->cap) {
		size_t cap = l->cap > 0 ? 2 * l->cap : 8;
		const char **v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			cprun_die(255, "out of memory", NULL);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

/* Adds "-o NAME=VALUE" for an ssh option letter that stands for one (-J). */
static void add_ssh_option(struct cprun_args *cl, const char *name, const char *value)
{
	char *opt;

	if (asprintf(&opt, "%s=%s", name, value) < 0)
		cprun_die(255, "out of memory", NULL);
	strv_push(&cl->owned, opt);
	strv_push(&cl->ssh_opts, opt);
}

/*
 * Applies one option C (argument ARG) of the usage to CL.  Usage errors
 * end cprun.  Over 80 lines: one case per option, in the order of the
 * usage, so that each sits beside its neighbours there.
 */
static void parse_option(struct cprun_args *cl, int c, const char *arg)
{
	struct cpremote_options *o = &cl->o;

	switch (c) {
	case 'p':
		o->port = cprun_parse_nonneg(arg);
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
		/* RequestTTY is cprun's own (cprun_tty.c), not for the relay. */
		if (!cprun_tty_ssh_option(arg))
			strv_push(&cl->ssh_opts, arg);
		break;
	case 't':
	case 'T':
		cprun_tty_option(c);
		break;
	case 'O':
		cl->ctl_cmd = arg;
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
		cl->quiet = 1;
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
		cl->chan_fd = cprun_parse_nonneg(arg);
		if (cl->chan_fd < 0)
			usage_error("bad --channel-fd: %s", arg);
		if (fcntl(cl->chan_fd, F_GETFD) < 0)
			cprun_die(2, "--channel-fd", strerror(errno));
		break;
	case OPT_HELPER:
		o->helper = arg;
		break;
	case OPT_ACCEPT_NEW:
		o->flags |= CPREMOTE_ACCEPT_NEW;
		break;
	case OPT_SHIP:
		o->ship = arg;
		break;
	case OPT_SHIP_ARG:
		if ((o->ship_arg = cprun_parse_nonneg(arg)) < 1)
			usage_error("bad --ship-arg (1 or more): %s", arg);
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
		cl->status_fd = cprun_parse_nonneg(arg);
		if (cl->status_fd < 0)
			usage_error("bad --status-fd: %s", arg);
		/* Close-on-exec: the relay must not hold the caller's pipe open. */
		if (fcntl(cl->status_fd, F_SETFD, FD_CLOEXEC) < 0)
			cprun_die(2, "--status-fd", strerror(errno));
		break;
	case OPT_CONNECT:
		cl->connect_to = arg;
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

/*
 * The N operands at ARGV after HOST (or with -H all of them) with --ship
 * FILE.  Without --ship-arg, FILE takes PROGRAM's place, so they are its
 * ARGS; its argv[0] is FILE's base name, in the slot before them (HOST's,
 * or with -H that of the last option word or of cprun's own name, whose
 * strings stay where they are: main()'s argv is ours to change, and lives
 * as long).  O's file is FILE then, for messages: the library runs the
 * cached copy.  With --ship-arg N they are PROGRAM and its ARGS, as
 * without --ship, and the library puts the cached copy's path in argv[N].
 */
static void ship_operands(struct cprun_args *cl, int n, char **argv)
{
	const char *base = strrchr(cl->o.ship, '/') != NULL ? strrchr(cl->o.ship, '/') + 1 : cl->o.ship;
	char num[16];

	if (cl->o.ship_arg > 0) {
		snprintf(num, sizeof(num), "%d", cl->o.ship_arg);
		if (n <= cl->o.ship_arg)
			usage_error("--ship-arg %s: PROGRAM has not that many arguments", num);
		cl->o.file = argv[0];
		cl->o.argv = (const char *const *)argv;
		return;
	}
	argv[-1] = (char *)base;
	cl->o.file = cl->o.ship;
	cl->o.argv = (const char *const *)argv - 1;
}

/* Takes the operands (HOST unless -H, PROGRAM, ARGS) of the N at ARGV. */
static void parse_operands(struct cprun_args *cl, int n, char **argv)
{
	if (cl->ctl_cmd != NULL) {
		char err[256];

		/* -O CMD HOST: no program; the master at the ControlPath answers (cprun_ctl.c). */
		if (n != 1 || cl->multi || cl->connect_to != NULL)
			usage_error("-O takes one HOST, no PROGRAM, -H or --connect", NULL);
		if (cprun_dest_apply(argv[0], &cl->o, &cl->dest, err, sizeof(err)) < 0)
			usage_error("%s", err);
		return;
	}
	if (cl->connect_to != NULL) {
		/* Attaching to a running process (cprun_connect.c): no program, no -H. */
		if (cl->multi || n > 0 || cl->env.n > 0 || cl->o.cwd != NULL || cl->node ||
		    cl->chan_fd >= 0 || cl->status_fd >= 0 || cl->gather)
			usage_error("--connect takes no PROGRAM, -H, -b, -e, --chdir, --node, --channel-fd "
				    "or "
				    "--status-fd",
				    NULL);
		return;
	}
	if (cl->o.ship_arg > 0 && cl->o.ship == NULL)
		usage_error("--ship-arg needs --ship", NULL);
	if (cl->o.ship != NULL && !cl->multi) {
		char err[256];

		if (n < 1)
			usage_error("no HOST given", NULL);
		if (cprun_dest_apply(argv[0], &cl->o, &cl->dest, err, sizeof(err)) < 0)
			usage_error("%s", err);
		ship_operands(cl, n - 1, argv + 1);
		return;
	}
	if (cl->multi) {
		/* Multi-host mode: no HOST operand, one channel per child made by the library. */
		if (cl->hosts.n == 0)
			usage_error("-H names no host", NULL);
		if (cl->chan_fd >= 0)
			usage_error("--channel-fd cannot be used with -H", NULL);
		if (cl->status_fd >= 0)
			usage_error("--status-fd cannot be used with -H", NULL);
		if (cprun_tty_asked())
			usage_error("-t cannot be used with -H (one terminal, many hosts)", NULL);
		if (n < 1 && cl->o.ship == NULL)
			usage_error("no PROGRAM given", NULL);
		for (size_t i = 0; i < cl->hosts.n; i++)
			check_dest(cl->hosts.v[i]);
		if (cl->o.ship != NULL) {
			ship_operands(cl, n, argv);
			return;
		}
	} else {
		char err[256];

		if (n < 1)
			usage_error("no HOST given", NULL);
		if (!cl->prefix)
			usage_error("--no-prefix needs -H", NULL);
		if (cl->gather)
			usage_error("-b needs -H", NULL);
		if (cprun_dest_apply(argv[0], &cl->o, &cl->dest, err, sizeof(err)) < 0)
			usage_error("%s", err);
		argv++;
		cl->tty_pending = 1; /* decided once the ssh_config is known (cprun_args_parse) */
		if (n < 2) {
			/* As ssh HOST: the login shell, reading stdin when it is no terminal. */
			cl->o.flags |= CPREMOTE_LOGIN_SHELL;
			return;
		}
	}
	cl->o.file = argv[0];
	cl->o.argv = (const char *const *)argv;
}

/*
 * The ssh_config: -F, else $CPREMOTE_SSH_CONFIG (as the library would
 * take it); "none" for none.  One that cannot be opened ends cprun with 255 naming it, as
 * ssh does, rather than being passed over in silence.
 */
static void resolve_config(struct cpremote_options *o)
{
	int fd;

	if (o->config == NULL) {
		/* secure_getenv, as the library reads it, so that both take the same file. */
		const char *env = secure_getenv("CPREMOTE_SSH_CONFIG");

		if (env != NULL && *env != '\0')
			o->config = env;
	}
	/* "none": no file at all, as ssh -F none (the library reads it so). */
	if (o->config == NULL || strcmp(o->config, "none") == 0)
		return;
	if ((fd = open(o->config, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "cprun: cannot open ssh config file %s: %s\n", o->config, strerror(errno));
		exit(255);
	}
	close(fd);
}

/* See cprun_args.h. */
void cprun_args_parse(struct cprun_args *cl, int argc, char **argv)
{
	int c;

	*cl = (struct cprun_args){ .o = CPREMOTE_OPTIONS_INIT, .chan_fd = -1, .status_fd = -1, .prefix = 1 };

	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
		parse_option(cl, c, optarg);
	parse_operands(cl, argc - optind, argv + optind);
	resolve_config(&cl->o);
	cl->o.ssh_options = cl->ssh_opts.v;
	if (cl->tty_pending) {
		cprun_tty_config(&cl->o);
		cl->on_tty = cprun_tty_decide(!(cl->o.flags & CPREMOTE_LOGIN_SHELL), cl->quiet);
	}
	cl->o.env = cl->env.v;
	if (cl->node || (cl->o.file != NULL && is_node(cl->o.file)))
		cl->o.flags |= CPREMOTE_NODE;
}

/* See cprun_args.h. */
void cprun_args_free(struct cprun_args *cl)
{
	cprun_hosts_free(&cl->hosts);
	cprun_dest_free(&cl->dest);
	for (size_t i = 0; i < cl->owned.n; i++)
		free((char *)cl->owned.v[i]);
	free(cl->owned.v);
	free(cl->ssh_opts.v);
	free(cl->env.v);
}
