/* cprun_args.h — cprun's command line, read into one struct (cprun_args.c). */
#ifndef CPRUN_ARGS_H
#define CPRUN_ARGS_H

#include <stddef.h>

#include "cpremote.h"
#include "cprun_dest.h"
#include "cprun_hosts.h"

/* A growing NULL-terminated list of strings (borrowed, or owned by the list "owned"). */
struct cprun_strv {
	const char **v;
	size_t n, cap;
};

/* Everything the command line says, and what it owns. */
struct cprun_args {
	struct cpremote_options o;
	struct cprun_strv ssh_opts, env;
	struct cprun_strv owned; /* the "-o" strings made for -J, freed at the end */
	struct cprun_hosts hosts;
	struct cprun_dest dest; /* HOST taken apart; o.host and maybe o.user point into it */
	int node, chan_fd, prefix, multi, gather, null_stdin;
	const char *connect_to; /* --connect HOST:PATH, or NULL */
	const char *ctl_cmd; /* -O check|exit HOST, or NULL (cprun_ctl.c) */
	int quiet; /* -q */
	int on_tty; /* on a terminal on the host (-t, -tt, the login shell; cprun_tty.h) */
	int tty_pending; /* one HOST: on_tty to be decided after the ssh_config is resolved */
	int status_fd; /* --status-fd, or -1 */
};

/*
 * Reads the command line into *CL (which it initialises): the options,
 * HOST (taken apart, see cprun_dest.h) unless -H, PROGRAM and its
 * arguments, and the ssh_config (-F, else $CPREMOTE_SSH_CONFIG).  Ends
 * cprun on a usage error (2), for --help and --version (0), and for an
 * ssh_config that cannot be opened (255, naming it, as ssh does).
 * CL->o is ready for cpremote_run() but for stdio and the channel.  The
 * caller releases *CL with cprun_args_free().
 */
void cprun_args_parse(struct cprun_args *cl, int argc, char **argv);

/* Releases what *CL owns. */
void cprun_args_free(struct cprun_args *cl);

/* Says "cprun: WHAT: DETAIL" (DETAIL may be NULL) on stderr and exits with CODE. */
void __attribute__((noreturn)) cprun_die(int code, const char *what, const char *detail);

/* Parses a non-negative decimal int; -1 when S is not one. */
int cprun_parse_nonneg(const char *s);

#endif
