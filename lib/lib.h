/* lib.h — what the files of libcpremote share; never installed. */
#ifndef CPREMOTE_LIB_H
#define CPREMOTE_LIB_H

#include <stdint.h>
#include <sys/types.h>

#include "cpremote.h"
#include "proto.h"

/* A child as the library sees it: the status socket and the caller's ends. */
struct cpremote_child {
	int status_fd; /* per-child socket to the relay: frames both ways */
	int channel_fd; /* caller's end of the channel; -1 with CPREMOTE_CHANNEL_FD */
	int stdio_fd[3]; /* caller's ends of piped stdio, else -1 */
	long pid; /* remote pid from SPAWNED */
	struct cpr_buf in; /* bytes read from status_fd, not yet consumed */
	size_t in_used; /* size of the frame last handed out, consumed on the next read */
	int done; /* wait has a final answer: see result */
	int result; /* 1 (status valid) or a negative error code */
	int status; /* wait(2)-style status when result is 1 */
	int exited; /* the program itself has exited (REAPED or EXIT came): see exited_status */
	int exited_status; /* its wait(2)-style status */
	char *errmsg; /* detail of a failure reported while running, or NULL */
	char *host; /* for the messages the relay could not word itself */
	pid_t owner; /* the process that started it; a fork of it may only free its copy */
	long long shipped; /* bytes uploaded for .ship, or -1 */
	int tty; /* started with CPREMOTE_TTY: cpremote_resize() applies */
};

/*
 * Hands the relay one child's fds (BYTE, FDS as doc/PROTOCOL.md says),
 * starting the relay the first time and again when it has died.  Returns 0,
 * or a negative error code with the thread's message set.  Thread-safe.
 */
int lib_relay_send(uint8_t byte, const int *fds, int nfds);

/*
 * Writes the path of the relay to start into BUF: $CPREMOTE_RELAY (unless
 * the process is setuid or setgid), else the relay installed beside the
 * library or in its build tree, else the compiled-in path.  Never fails.
 */
void lib_relay_path(char *buf, size_t size);

/* The pid of this process's relay, from its greeting; -1 when none runs for it.  For the tests. */
pid_t lib_relay_pid(void);

/*
 * Waits, for at most 10 s, for a relay's greeting on the control socket
 * CTL (PATH names the relay in messages).  Returns 0 with *pid set, or
 * CPREMOTE_ERELAY with the message set: no greeting, not a relay's, or
 * another control version.
 */
int lib_relay_hello(int ctl, const char *path, pid_t *pid);

/*
 * Starts a master relay (mux.c) that serves callers on LISTEN_FD, a
 * listening socket bound at CPATH, and ends PERSIST seconds after its
 * last caller and child are gone (-1: only on an exit request).  Returns
 * the creator's control socket, its greeting checked (*PID set), or a
 * negative code with the message set.  LISTEN_FD stays the caller's.
 */
int lib_relay_spawn_master(int listen_fd, const char *cpath, long persist, pid_t *pid);

/* ControlMaster, as ssh_config(5) has it ("ask" and "autoask" never prompt here). */
enum {
	LIB_MUX_NO,
	LIB_MUX_YES,
	LIB_MUX_AUTO
};

/* The shared-connection settings of one destination (mux_conf.c). */
struct lib_mux {
	int mode; /* LIB_MUX_* */
	char path[108]; /* ControlPath, expanded; "" for none */
	long persist_s; /* ControlPersist: seconds, 0 for no, -1 for yes */
};

/*
 * Reads ControlMaster, ControlPath and ControlPersist for O's destination
 * into *M: from O's -o list when it gives a path without tokens, else
 * from `ssh -G` (the ssh_config, tokens expanded), which runs only when a
 * config file could set them.  Returns 0, or a negative code with the
 * message set (a bad value, a relative or too long path).  May block
 * for `ssh -G` (10 s at most).
 */
int lib_mux_settings(const struct cpremote_options *o, struct lib_mux *m);

/*
 * With a ControlPath whose ControlPersist came from the ssh_config (not
 * from O's -o list), sets *LISTP to O's -o list plus "ControlPersist=N",
 * so that the master keeps its SSH connections as long as itself
 * (malloc'ed, one free(), borrowing O's strings); else sets it to NULL.
 * Returns 0 or -ENOMEM.
 */
int lib_mux_options(const struct cpremote_options *o, const struct lib_mux *m, const char ***listp);

/*
 * Hands one child's fds to the relay that M (from lib_mux_settings())
 * names: the master at its ControlPath (started when ControlMaster allows
 * and none answers), else this process's own relay.  Returns 0 or a
 * negative code with the thread's message set.  Thread-safe.
 */
int lib_mux_send(const struct lib_mux *m, uint8_t byte, const int *fds, int nfds);

/*
 * Closes the control socket of this process's own relay, which then ends
 * its connections and exits (cpremote_shutdown(), in mux.c).
 */
void lib_relay_shutdown(void);

/* Sets this thread's message for cpremote_errmsg(), printf-style. */
void lib_errmsg_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Sets this thread's message from an ERROR frame's MESSAGE field when it
 * has one, else from cpremote_strerror(CODE).
 */
void lib_errmsg_set_bytes(const uint8_t *text, uint32_t len, int code);

/*
 * Reads the next frame from CHILD's status socket into *h and *payload
 * (valid until the next call).  Blocks when BLOCK is set; otherwise returns
 * 0 when no whole frame has arrived yet.  Returns 1 for a frame,
 * CPREMOTE_ERELAY at end of file, CPREMOTE_EPROTO for a bad header, or
 * -errno.
 */
int lib_status_next(struct cpremote_child *child, int block, struct cpr_header *h, const uint8_t **payload);

/*
 * Reads an ERROR frame's fields: *code gets CODE (CPREMOTE_ESPAWN when
 * missing or not an error code), and *msg, *msglen MESSAGE (NULL, 0 when
 * missing).
 */
void lib_error_fields(const uint8_t *payload, uint32_t len, int *code, const uint8_t **msg, uint32_t *msglen);

/*
 * Puts OPTS->ship into OPTS->host's program cache (ship.c), through a
 * child of its own started with OPTS's destination.  Returns 0 with the
 * cached copy's path in PATH and the bytes uploaded in *UPLOADED (0 when
 * it was there), or a negative code with the thread's message set.
 * Blocks until the install child ends.
 */
int lib_ship(const struct cpremote_options *opts, char *path, size_t pathlen, long long *uploaded);

/* What lib_ship_apply() made: the cached copy's path and the argv that names it. */
struct lib_shipped {
	char path[512];
	const char *base_argv[2]; /* { the file's base name } when the caller gave no argv */
	const char **argv; /* with .ship_arg: the caller's argv with that entry replaced (malloc'ed) */
	long long bytes; /* uploaded, or -1 without .ship */
};

/*
 * With OPTS->ship: ships it (lib_ship()) and points OPTS at the cached
 * copy: as the program, or with .ship_arg as that argv entry.  OPTS's
 * strings then live in *S, released with lib_shipped_free().  Without
 * .ship does nothing (S->bytes -1).  Returns 0 or a code (message set).
 */
int lib_ship_apply(struct cpremote_options *opts, struct lib_shipped *s);

/* Releases what lib_ship_apply() allocated in S (S itself is the caller's). */
void lib_shipped_free(struct lib_shipped *s);

/* Writes all of BUF on the socket FD without SIGPIPE, retrying EINTR.  Returns 0 or -errno. */
int lib_send_all(int fd, const void *buf, size_t len);

/*
 * Encodes the SPAWN frame for OPTS into OUT, or with PATH (not NULL) the
 * CONNECT frame for that socket file.  Returns 0, or CPREMOTE_EINVAL with
 * the thread's message set when the request is too large for one frame.
 */
int lib_spawn_frame(const struct cpremote_options *opts, const char *path, struct cpr_buf *out);

/*
 * Sends a frame of TYPE with PAYLOAD on C's status socket (SIGNAL,
 * RESIZE).  Returns 0 (also when the relay has already closed it: the
 * child is over), or -errno.
 */
int lib_child_send(struct cpremote_child *c, uint8_t type, const void *payload, uint32_t len);

/*
 * Appends the terminal's fields of a CPREMOTE_TTY request to B: the
 * window (opts->rows/cols, else the caller's stdin's when a terminal, else
 * 24x80), TERM and the modes (opts->termios, else stdin's when a
 * terminal, else none).  Returns 0, or -1 when B is full.
 */
int lib_tty_fields(const struct cpremote_options *opts, struct cpr_buf *b);

/*
 * The ssh_config file OPTS asks for: opts->config, else
 * $CPREMOTE_SSH_CONFIG when set and not empty (read with secure_getenv(),
 * so a setuid caller ignores it), else NULL (the relay's default,
 * ~/.ssh/config).  "none" is /dev/null: no config at all, as ssh -F none.
 */
const char *lib_ssh_config(const struct cpremote_options *opts);

#endif
