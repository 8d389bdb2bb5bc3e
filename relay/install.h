/*
 * install.h — the bootstrap decisions of a connection (install.c): the
 * exec string that starts the helper, and what to do when the run stub
 * reports that the host has none.  Pure functions over bootstrap.h: the
 * upload itself is driven by the SSH link (link.c).
 */
#ifndef CPREMOTE_RELAY_INSTALL_H
#define CPREMOTE_RELAY_INSTALL_H

#include <stddef.h>

#include "bootstrap.h"
#include "errors.h"
#include "request.h"

/*
 * The exec string: the run stub when BOOTSTRAP (no helper named), else
 * HELPER quoted for any POSIX-like login shell.  Malloc'ed; NULL when out
 * of memory.
 */
char *install_exec_command(int bootstrap, const char *helper);

/* Whether the caller refused uploads: CPREMOTE_NO_UPLOAD in its request (K), or in the environment. */
int install_refused(const struct conn_key *k);

/* What the connection knows when the run stub answers instead of the helper. */
struct install_state {
	const char *host; /* for messages */
	int installed; /* this connection installed a helper already */
	const char *installed_path; /* where, when installed */
	int no_upload; /* the caller refused uploads */
};

/*
 * Decides on the run stub's marker M (BS_NEED or BS_NOARCH) for ARCH.
 * Returns 0 and sets *BLOB to the helper to upload, or CPREMOTE_EHELPER
 * with the reason for the user in E.
 */
int install_plan(const struct install_state *st, enum bootstrap_marker m, const char *arch,
		 const struct helper_blob **blob, struct cpr_err *e);

#endif
