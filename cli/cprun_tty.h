/*
 * cprun_tty.h — cprun on a terminal (-t, -tt, -T, -o RequestTTY=...):
 * whether to ask for one, the local terminal in raw mode and back, the
 * window size following the local one (SIGWINCH), and stdin typed into
 * the remote terminal through ssh's escape (~. ends the session).  One
 * session per process: the state is this file's own.
 */
#ifndef CPRUN_TTY_H
#define CPRUN_TTY_H

#include <poll.h>

#include "cpremote.h"

/* Takes -t (more than once: force) or -T (never). */
void cprun_tty_option(int letter);

/*
 * Takes an ssh option "RequestTTY=yes|no|force|auto" (-t and -T win over
 * it, in any order).  Returns 1 when OPTION was that (cprun's own, not
 * for the library), else 0.
 */
int cprun_tty_ssh_option(const char *option);

/*
 * Reads RequestTTY from the ssh_config for the destination of O (host,
 * user, port, config, -o list), as `ssh -G` evaluates it, unless -t, -T or
 * -o RequestTTY came (they win, as on ssh's command line) or no config
 * file ssh reads could set it (then no process is run).  Call before
 * cprun_tty_decide().
 */
void cprun_tty_config(const struct cpremote_options *o);

/* Whether -t (or RequestTTY yes or force) was asked for: refused with -H. */
int cprun_tty_asked(void);

/*
 * Decides, once the options are read, whether the program runs on a
 * terminal, as ssh does: -T (or "no") never; -tt ("force") always; -t
 * ("yes") when stdin is a terminal, else a note on stderr (unless QUIET)
 * and none; by default only without a PROGRAM (the login shell) and
 * with stdin a terminal.  Returns 1 for a terminal, else 0.
 */
int cprun_tty_decide(int have_program, int quiet);

/*
 * Sets O up for a terminal: CPREMOTE_TTY, stdin piped through cprun (so
 * that the escape is seen), stdout inherited.  Call after the stdio modes
 * are set.
 */
void cprun_tty_options(struct cpremote_options *o);

/*
 * Once the child is asked for: puts the local terminal (stdin) in raw
 * mode, restored at exit however cprun ends (cprun_tty_restore() also
 * does it at once), and takes the child's stdin pipe.  Returns 0, or -1
 * with a message printed.
 */
int cprun_tty_start(cpremote_child *child);

/* Restores the local terminal's modes (when they were changed); may be called again. */
void cprun_tty_restore(void);

/* Fills PFD (room for 2) with what the session waits on.  Returns how many. */
int cprun_tty_pollfds(struct pollfd *pfd);

/*
 * Moves what is ready among the N pollfds of cprun_tty_pollfds().
 * Returns -1 to go on, or cprun's exit status when the session must end
 * now (~. typed: 255, as ssh).
 */
int cprun_tty_ready(cpremote_child *child, const struct pollfd *pfd, int n, const char *host);

/* The local window changed (SIGWINCH): tells the remote terminal. */
void cprun_tty_winch(cpremote_child *child);

#endif
