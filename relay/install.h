/*
 * install.h — the bootstrap of a connection (install.c): the exec string
 * that starts the helper, what to do when the run stub reports that the
 * host has none, and the upload over that same stream: the install line,
 * then the helper's bytes once the script asks, then its answer.  No I/O
 * here: the multiplexer (conn.c) writes what install_next() gives and
 * feeds what it reads to install_answer(), whatever carries the stream.
 */
#ifndef CPREMOTE_RELAY_INSTALL_H
#define CPREMOTE_RELAY_INSTALL_H

#include <stddef.h>

#include "bootstrap.h"
#include "errors.h"
#include "request.h"

/*
 * The exec string: the run stub when BOOTSTRAP (no helper named), which
 * then wants the nonce line first on its stdin, else HELPER quoted for
 * any POSIX-like login shell.  Malloc'ed; NULL when out of memory.
 */
char *install_exec_command(int bootstrap, const char *helper);

/* Fills NONCE with BOOTSTRAP_NONCE_LEN random hex digits and a NUL.  Returns 0, or -errno. */
int install_nonce(char nonce[BOOTSTRAP_NONCE_LEN + 1]);

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

/* An upload of the helper over the run stub's own stream. */
struct install {
	int active; /* the run stub asked: nothing else may be written to the stream */
	int asked; /* the script asked for the bytes ("send") */
	const struct helper_blob *blob;
	char *line; /* bootstrap_install_line() */
	size_t line_len, line_sent, sent;
	char path[256]; /* where the helper is, once the script answered */
	int by_other; /* "ready": another install put it there, nothing was sent */
};

/* Starts the upload of B in I (zeroed or freed).  Returns 0, or -ENOMEM. */
int install_start(struct install *i, const struct helper_blob *b, const char *nonce);

/*
 * The bytes to write next into the stream: the rest of the install line,
 * then, once the script asked, the rest of the helper; nothing after
 * them, so that the script reads no byte that is not the helper's.  Sets
 * *P and returns the count (0: nothing to write now).
 */
size_t install_next(const struct install *i, const uint8_t **p);

/* N of those bytes were written. */
void install_wrote(struct install *i, size_t n);

/*
 * Reads the script's answers in the first LEN bytes of the stream's
 * output, and sets *USED to the bytes taken (the marker lines and what
 * came before them).  Returns 1 when the helper is in place (I->path; the
 * helper runs on the stream from the next byte on), else 0.
 */
int install_answer(struct install *i, const uint8_t *buf, size_t len, size_t *used);

/* Releases I (the path stays).  Accepts a zeroed or freed I. */
void install_free(struct install *i);

#endif
