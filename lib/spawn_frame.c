/* spawn_frame.c — encodes a caller's options as the SPAWN (or CONNECT) frame the relay reads. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib.h"

/* Appends one string field per element of the NULL-terminated LIST. */
static int put_list(struct cpr_buf *b, uint8_t tag, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (cpr_field_put_str(b, tag, *list) < 0)
			return -1;
	return 0;
}

/*
 * Appends the -o options, but ControlMaster and ControlPath: they choose
 * which relay serves the child (mux.c), and callers sharing a master must
 * share its connections whatever path or mode each of them named.
 */
static int put_options(struct cpr_buf *b, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++) {
		if (!strncasecmp(*list, "ControlMaster", 13) || !strncasecmp(*list, "ControlPath", 11))
			continue;
		if (cpr_field_put_str(b, CPR_F_OPTION, *list) < 0)
			return -1;
	}
	return 0;
}

/* Appends a string field when S is set. */
static int put_opt_str(struct cpr_buf *b, uint8_t tag, const char *s)
{
	return s == NULL ? 0 : cpr_field_put_str(b, tag, s);
}

/* See lib.h. */
const char *lib_ssh_config(const struct cpremote_options *opts)
{
	const char *config = opts->config;

	/* secure_getenv: a setuid caller must not read the invoker's choice of ProxyCommand. */
	if (config == NULL && (config = secure_getenv("CPREMOTE_SSH_CONFIG")) != NULL && *config == '\0')
		config = NULL;
	/* As ssh -F none: no file (the relay reads one empty file, not ~/.ssh/config). */
	return config != NULL && strcmp(config, "none") == 0 ? "/dev/null" : config;
}

/* The fields of what runs: the program, or for a connection PATH alone.  0, or < 0 when too large. */
static int put_what(struct cpr_buf *p, const struct cpremote_options *opts, const char *path)
{
	const char *only_file[2] = { opts->file, NULL };
	int login = (opts->flags & CPREMOTE_LOGIN_SHELL) != 0;
	uint8_t stdio[3];

	if (path != NULL)
		return cpr_field_put_str(p, CPR_F_PATH, path);
	for (int i = 0; i < 3; i++)
		stdio[i] = opts->stdio[i].mode == CPREMOTE_STDIO_NULL ? CPR_STDIO_NULL : CPR_STDIO_PIPE;
	/* The login shell is found on the host: no program or arguments. */
	if ((!login && (cpr_field_put_str(p, CPR_F_FILE, opts->file) < 0 ||
			put_list(p, CPR_F_ARG, opts->argv != NULL ? opts->argv : only_file) < 0)) ||
	    put_list(p, CPR_F_ENV, opts->env) < 0 || put_opt_str(p, CPR_F_CWD, opts->cwd) < 0 ||
	    cpr_field_put_u32(p, CPR_F_FLAGS,
			      ((opts->flags & CPREMOTE_NODE) ? CPR_SPAWN_NODE : 0) |
				      (login ? CPR_SPAWN_LOGIN : 0)) < 0 ||
	    ((opts->flags & CPREMOTE_TTY) && lib_tty_fields(opts, p) < 0) ||
	    cpr_field_put(p, CPR_F_STDIO, stdio, sizeof(stdio)) < 0)
		return -1;
	return 0;
}

/*
 * Encodes OPTS (already validated) as one SPAWN frame for child id 0, or
 * with PATH as a CONNECT frame.  Returns 0, or CPREMOTE_EINVAL with the
 * message set when it is too large.
 */
int lib_spawn_frame(const struct cpremote_options *opts, const char *path, struct cpr_buf *out)
{
	struct cpr_buf p = { .limit = CPR_MAX_SPAWN };
	const char *helper = opts->helper;
	const char *what = path != NULL ? path : opts->file;
	int r = CPREMOTE_EINVAL;

	if (helper == NULL) {
		/* Absent, the relay's default applies ("cpremote-helper" on PATH). */
		/* secure_getenv: a setuid caller must not run the invoker's choice of program on the host. */
		helper = secure_getenv("CPREMOTE_HELPER");
		if (helper != NULL && *helper == '\0')
			helper = NULL;
	}

	if (cpr_field_put_str(&p, CPR_F_HOST, opts->host) < 0 ||
	    (opts->port > 0 && cpr_field_put_u32(&p, CPR_F_PORT, (uint32_t)opts->port) < 0) ||
	    put_opt_str(&p, CPR_F_USER, opts->user) < 0 ||
	    put_opt_str(&p, CPR_F_IDENTITY, opts->identity) < 0 ||
	    put_opt_str(&p, CPR_F_CONFIG, lib_ssh_config(opts)) < 0 ||
	    put_options(&p, opts->ssh_options) < 0 || put_opt_str(&p, CPR_F_HELPER, helper) < 0 ||
	    cpr_field_put_u32(&p, CPR_F_VERBOSITY, (uint32_t)opts->verbosity) < 0 ||
	    /* So that the relay reads a terminal stdin only while we are its foreground job. */
	    cpr_field_put_u32(&p, CPR_F_CALLER_PGRP, (uint32_t)getpgrp()) < 0 ||
	    ((opts->flags & CPREMOTE_ACCEPT_NEW) && cpr_field_put_u32(&p, CPR_F_ACCEPT_NEW, 1) < 0) ||
	    ((opts->flags & CPREMOTE_NO_UPLOAD) && cpr_field_put_u32(&p, CPR_F_NO_UPLOAD, 1) < 0) ||
	    put_what(&p, opts, path) < 0) {
		lib_errmsg_set("%s: %s: arguments, environment and options exceed %u bytes", opts->host, what,
			       CPR_MAX_SPAWN);
		goto out;
	}
	if (cpr_frame_append(out, path != NULL ? CPR_CONNECT : CPR_SPAWN, 0, 0, cpr_buf_peek(&p),
			     (uint32_t)cpr_buf_len(&p)) < 0) {
		lib_errmsg_set("%s: %s: out of memory", opts->host, what);
		goto out;
	}
	r = 0;
out:
	cpr_buf_free(&p);
	return r;
}
