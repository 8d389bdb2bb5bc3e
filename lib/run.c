/*
 * run.c — cpremote_run() and cpremote_connect(): hand a child's fds and
 * spawn (or connect) request to the relay, wait until it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "lib.h"

#define KNOWN_FLAGS                                                                                         \
	(CPREMOTE_NODE | CPREMOTE_ACCEPT_NEW | CPREMOTE_CHANNEL_FD | CPREMOTE_NO_UPLOAD | CPREMOTE_NOWAIT | \
	 CPREMOTE_TTY | CPREMOTE_LOGIN_SHELL)

/*
 * The size of the first published struct cpremote_options: up to and
 * including .flags.  A caller's .size between this and our sizeof differs
 * only by trailing padding or by fields added later (read as 0).  Keep
 * this as it is when fields are appended.
 */
#define OPTIONS_SIZE_V1 (offsetof(struct cpremote_options, flags) + sizeof(unsigned))

/*
 * Copies the caller's options, whatever version of the struct it was
 * built with, into *OUT with the fields it does not know zeroed.  Returns
 * 0, or CPREMOTE_EINVAL with the message set for a size we do not know.
 */
static int options_copy(const struct cpremote_options *opts, cpremote_child **childp,
			struct cpremote_options *out)
{
	if (opts == NULL || childp == NULL) {
		lib_errmsg_set("options and child pointer are required");
		return CPREMOTE_EINVAL;
	}
	if (opts->size < OPTIONS_SIZE_V1 || opts->size > sizeof(*out)) {
		lib_errmsg_set("struct cpremote_options has size %zu, this library knows %zu to %zu "
			       "(initialise it with CPREMOTE_OPTIONS_INIT)",
			       opts->size, (size_t)OPTIONS_SIZE_V1, sizeof(*out));
		return CPREMOTE_EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, opts, opts->size);
	return 0;
}

/*
 * An ssh_config named (-F, or $CPREMOTE_SSH_CONFIG) that cannot be
 * opened is an error naming it, as with ssh, not a file passed over in
 * silence.  Returns 0 or CPREMOTE_EINVAL with the message set.
 */
static int check_ssh_config(const struct cpremote_options *opts)
{
	const char *config = lib_ssh_config(opts);
	int fd;

	if (config == NULL)
		return 0;
	do
		fd = open(config, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		lib_errmsg_set("%s: cannot open ssh config file %s: %s", opts->host, config, strerror(errno));
		return CPREMOTE_EINVAL;
	}
	close(fd);
	return 0;
}

/*
 * What a connection to a socket file (cpremote_connect()) may not ask for:
 * a program's fields, stdio.  Returns 0 or CPREMOTE_EINVAL with the message set.
 */
static int validate_connect(const struct cpremote_options *opts, const char *path)
{
	if (*path == '\0') {
		lib_errmsg_set("%s: no socket path given", opts->host);
		return CPREMOTE_EINVAL;
	}
	if (opts->file != NULL || opts->argv != NULL || opts->env != NULL || opts->cwd != NULL ||
	    (opts->flags & (CPREMOTE_NODE | CPREMOTE_TTY | CPREMOTE_LOGIN_SHELL))) {
		lib_errmsg_set("%s: %s: a connection runs no program (no file, argv, env, cwd, NODE, TTY "
			       "or LOGIN_SHELL)",
			       opts->host, path);
		return CPREMOTE_EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		if (opts->stdio[i].mode != CPREMOTE_STDIO_NULL) {
			lib_errmsg_set("%s: %s: a connection has no stdio (stdio[%d] is set)", opts->host,
				       path, i);
			return CPREMOTE_EINVAL;
		}
	}
	return 0;
}

/* .ship_arg: a shipped file for .file to read, at an argv entry that exists.  Returns 0 or CPREMOTE_EINVAL. */
static int validate_ship_arg(const struct cpremote_options *opts)
{
	int n = 0;

	while (opts->argv != NULL && opts->argv[n] != NULL && n <= opts->ship_arg)
		n++;
	if (opts->ship == NULL || opts->ship_arg < 0 || opts->file == NULL || *opts->file == '\0' ||
	    n <= opts->ship_arg) {
		lib_errmsg_set("%s: .ship_arg %d needs .ship, .file and an argv with that entry", opts->host,
			       opts->ship_arg);
		return CPREMOTE_EINVAL;
	}
	return 0;
}

/*
 * Checks OPTS (and PATH, for a connection) before anything is created.
 * Returns 0 or CPREMOTE_EINVAL with the message set.
 */
static int validate(const struct cpremote_options *opts, const char *path)
{
	const char *const *p;
	int r;

	if (opts->host == NULL || *opts->host == '\0') {
		lib_errmsg_set("no host given");
		return CPREMOTE_EINVAL;
	}
	if (path != NULL && (r = validate_connect(opts, path)) < 0)
		return r;
	if (path == NULL && (opts->flags & CPREMOTE_LOGIN_SHELL) &&
	    (opts->file != NULL || opts->argv != NULL || opts->ship != NULL)) {
		lib_errmsg_set("%s: CPREMOTE_LOGIN_SHELL runs the login shell: no program or argv",
			       opts->host);
		return CPREMOTE_EINVAL;
	}
	if (path == NULL && !(opts->flags & CPREMOTE_LOGIN_SHELL) &&
	    (opts->file == NULL || *opts->file == '\0') && opts->ship == NULL) {
		lib_errmsg_set("%s: no program given", opts->host);
		return CPREMOTE_EINVAL;
	}
	if (opts->ship_arg != 0 && (r = validate_ship_arg(opts)) < 0)
		return r;
	if ((opts->flags & CPREMOTE_TTY) && opts->stdio[1].mode == CPREMOTE_STDIO_NULL) {
		lib_errmsg_set("%s: CPREMOTE_TTY: the terminal's output needs a stdout (stdio[1])",
			       opts->host);
		return CPREMOTE_EINVAL;
	}
	if (opts->flags & ~KNOWN_FLAGS) {
		lib_errmsg_set("unknown flags 0x%x", opts->flags & ~KNOWN_FLAGS);
		return CPREMOTE_EINVAL;
	}
	if (opts->port < 0 || opts->port > 65535 || opts->verbosity < 0) {
		lib_errmsg_set("%s: bad port %d or verbosity %d", opts->host, opts->port, opts->verbosity);
		return CPREMOTE_EINVAL;
	}
	if ((opts->flags & CPREMOTE_CHANNEL_FD) && opts->channel_fd < 0) {
		lib_errmsg_set("CPREMOTE_CHANNEL_FD with channel_fd %d", opts->channel_fd);
		return CPREMOTE_EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		enum cpremote_stdio_mode m = opts->stdio[i].mode;

		if (m != CPREMOTE_STDIO_NULL && m != CPREMOTE_STDIO_PIPE && m != CPREMOTE_STDIO_INHERIT &&
		    m != CPREMOTE_STDIO_FD) {
			lib_errmsg_set("stdio[%d]: unknown mode %d", i, (int)m);
			return CPREMOTE_EINVAL;
		}
		if (m == CPREMOTE_STDIO_FD && opts->stdio[i].fd < 0) {
			lib_errmsg_set("stdio[%d]: fd %d", i, opts->stdio[i].fd);
			return CPREMOTE_EINVAL;
		}
	}
	for (p = opts->env; p != NULL && *p != NULL; p++) {
		const char *eq = strchr(*p, '=');

		if (eq == NULL || eq == *p) {
			lib_errmsg_set("environment entry \"%s\" is not VAR=VALUE", *p);
			return CPREMOTE_EINVAL;
		}
	}
	for (p = opts->ssh_options; p != NULL && *p != NULL; p++) {
		if (**p == '\0') {
			lib_errmsg_set("empty ssh option");
			return CPREMOTE_EINVAL;
		}
	}
	if (opts->argv != NULL && opts->argv[0] == NULL) {
		lib_errmsg_set("%s: %s: argv is empty", opts->host, opts->file);
		return CPREMOTE_EINVAL;
	}
	return check_ssh_config(opts);
}

/* A handle with nothing open yet. */
static struct cpremote_child *child_new(void)
{
	struct cpremote_child *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->status_fd = c->channel_fd = -1;
	c->stdio_fd[0] = c->stdio_fd[1] = c->stdio_fd[2] = -1;
	c->pid = -1;
	c->shipped = -1;
	c->owner = getpid();
	c->in.limit = CPR_HEADER_LEN + CPR_MAX_CONTROL;
	return c;
}

/*
 * Waits for the relay's answer to SPAWN.  Returns 0 with c->pid set, or
 * the error the relay reported (message set).
 */
static int await_spawned(struct cpremote_child *c, const char *host, const char *what)
{
	struct cpr_header h;
	const uint8_t *pl, *msg;
	uint32_t msglen;
	int r, code;

	for (;;) {
		r = lib_status_next(c, 1, &h, &pl);
		if (r == CPREMOTE_ERELAY) {
			lib_errmsg_set("%s: %s: the relay ended before the program started", host, what);
			return r;
		}
		if (r < 0) {
			lib_errmsg_set("%s: %s: reading from the relay: %s", host, what,
				       cpremote_strerror(r));
			return r;
		}
		switch (h.type) {
		case CPR_SPAWNED:
			if (h.length < 4)
				break;
			c->pid = (long)cpr_get_u32(pl);
			return 0;
		case CPR_ERROR:
			lib_error_fields(pl, h.length, &code, &msg, &msglen);
			lib_errmsg_set_bytes(msg, msglen, code);
			return code;
		case CPR_EXIT:
			lib_errmsg_set("%s: %s: exit reported before the start", host, what);
			return CPREMOTE_EPROTO;
		default:
			/* Nothing else belongs here before SPAWNED; tolerate it as the protocol does. */
			break;
		}
	}
}

/*
 * The request could not be written: the relay may have answered it at
 * once and closed (a request it cannot afford, e.g. out of fds).  Returns
 * the code of that ERROR with its message set, else 0.  Never blocks long:
 * the relay's end is closed, so a read returns what it wrote, or EOF.
 */
static int relay_refusal(struct cpremote_child *c)
{
	struct cpr_header h;
	const uint8_t *pl, *msg;
	uint32_t msglen;
	int code;

	if (lib_status_next(c, 1, &h, &pl) < 0 || h.type != CPR_ERROR)
		return 0;
	lib_error_fields(pl, h.length, &code, &msg, &msglen);
	lib_errmsg_set_bytes(msg, msglen, code);
	return code < 0 ? code : CPREMOTE_ESPAWN;
}

/* The fds of one start, as lib_relay_send() passes them, and which of them are ours to close. */
struct passed_fds {
	int fds[CPR_MAX_PASSED_FDS];
	int nfds;
	int owned[2 + 3]; /* relay-side ends we created: closed once passed */
	int nowned;
	uint8_t mask; /* which of stdin, stdout, stderr are passed (after status and channel) */
};

/* Passes FD to the relay; OWNED: we created it and close it once passed. */
static void passed_add(struct passed_fds *pf, int fd, int owned)
{
	pf->fds[pf->nfds++] = fd;
	if (owned)
		pf->owned[pf->nowned++] = fd;
}

static void passed_close_owned(struct passed_fds *pf)
{
	while (pf->nowned > 0)
		close(pf->owned[--pf->nowned]);
}

/*
 * Makes C's status socket, its channel (unless the caller gives one) and
 * the pipes OPTS asks for, keeping our ends in C and listing the relay's
 * in PF.  0, or -errno (what was made is in C and PF, for the caller to close).
 */
static int child_fds_make(struct cpremote_child *c, const struct cpremote_options *opts,
			  struct passed_fds *pf)
{
	int sv[2], p[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	c->status_fd = sv[0];
	passed_add(pf, sv[1], 1);

	if (opts->flags & CPREMOTE_CHANNEL_FD) {
		/* SCM_RIGHTS gives the relay its own reference: nothing to dup here. */
		passed_add(pf, opts->channel_fd, 0);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		c->channel_fd = sv[0];
		passed_add(pf, sv[1], 1);
	}

	for (int i = 0; i < 3; i++) {
		/* On a terminal the program's stderr is the terminal too: it comes out of stdout. */
		if (i == 2 && (opts->flags & CPREMOTE_TTY))
			continue;
		switch (opts->stdio[i].mode) {
		case CPREMOTE_STDIO_NULL:
			continue;
		case CPREMOTE_STDIO_PIPE:
			if (pipe2(p, O_CLOEXEC) < 0)
				return -errno;
			/* The caller writes the child's stdin and reads its stdout and stderr. */
			c->stdio_fd[i] = i == 0 ? p[1] : p[0];
			passed_add(pf, i == 0 ? p[0] : p[1], 1);
			break;
		case CPREMOTE_STDIO_INHERIT:
			passed_add(pf, i, 0);
			break;
		case CPREMOTE_STDIO_FD:
			passed_add(pf, opts->stdio[i].fd, 0);
			break;
		}
		pf->mask |= (uint8_t)(1u << i);
	}
	return 0;
}

/*
 * Starts a child, or with PATH a connection to that socket file: fds to
 * the relay on the control socket, SPAWN (CONNECT) on the new status
 * socket, then blocks until SPAWNED or ERROR.  Returns 0 with *childp
 * set, or a negative code with cpremote_errmsg() set.
 */
static int start(const struct cpremote_options *caller_opts, const char *path, cpremote_child **childp)
{
	struct cpremote_options copy, *opts = &copy;
	struct cpremote_child *c = NULL;
	struct cpr_buf frame = { 0 };
	struct passed_fds pf = { .nfds = 0 };
	struct lib_shipped shipped = { .argv = NULL, .bytes = -1 };
	struct lib_mux mux;
	const char **mux_opts = NULL;
	const char *what;
	int r;

	if (childp != NULL)
		*childp = NULL;
	if ((r = options_copy(caller_opts, childp, &copy)) < 0 || (r = validate(opts, path)) < 0)
		return r;
	/* A shipped file is installed first; the child then runs the cached copy. */
	if ((r = lib_ship_apply(opts, &shipped)) < 0)
		goto out;
	/* What the messages call it; the frame carries no program for it (spawn_frame.c). */
	if (path == NULL && (opts->flags & CPREMOTE_LOGIN_SHELL))
		opts->file = "login shell";
	/* Which relay serves it (a ControlMaster's, or our own), before the options are framed. */
	if ((r = lib_mux_settings(opts, &mux)) < 0 || (r = lib_mux_options(opts, &mux, &mux_opts)) < 0)
		goto out;
	if (mux_opts)
		opts->ssh_options = mux_opts;
	what = path != NULL ? path : opts->file;
	if ((r = lib_spawn_frame(opts, path, &frame)) < 0)
		goto out;
	if ((c = child_new()) == NULL || (c->host = strdup(opts->host)) == NULL) {
		r = -ENOMEM;
		lib_errmsg_set("%s: %s: out of memory", opts->host, what);
		goto out;
	}
	c->shipped = shipped.bytes;
	c->tty = (opts->flags & CPREMOTE_TTY) != 0;
	if ((r = child_fds_make(c, opts, &pf)) < 0) {
		lib_errmsg_set("%s: %s: %s", opts->host, what, cpremote_strerror(r));
		goto out;
	}
	if ((r = lib_mux_send(&mux, pf.mask, pf.fds, pf.nfds)) < 0)
		goto out;
	/* The relay holds its own references now; ours would keep EOFs from happening. */
	passed_close_owned(&pf);

	r = lib_send_all(c->status_fd, cpr_buf_peek(&frame), cpr_buf_len(&frame));
	if (r < 0) {
		int sent = r;

		if ((r = relay_refusal(c)) == 0) {
			lib_errmsg_set("%s: %s: the relay did not take the request: %s", opts->host, what,
				       cpremote_strerror(sent));
			r = CPREMOTE_ERELAY;
		}
		goto out;
	}
	/* Without waiting, SPAWNED or ERROR is read later by cpremote_wait(). */
	if (!(opts->flags & CPREMOTE_NOWAIT) && (r = await_spawned(c, opts->host, what)) < 0)
		goto out;
	*childp = c;
	c = NULL;
	r = 0;
out:
	passed_close_owned(&pf);
	cpremote_free(c);
	cpr_buf_free(&frame);
	free(mux_opts);
	lib_shipped_free(&shipped);
	return r;
}

int cpremote_run(const struct cpremote_options *opts, cpremote_child **childp)
{
	return start(opts, NULL, childp);
}

int cpremote_connect(const struct cpremote_options *opts, const char *path, cpremote_child **childp)
{
	if (path == NULL) {
		lib_errmsg_set("no socket path given");
		if (childp != NULL)
			*childp = NULL;
		return CPREMOTE_EINVAL;
	}
	return start(opts, path, childp);
}
