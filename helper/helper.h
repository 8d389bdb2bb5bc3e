/*
 * helper.h — what the parts of cpremote-helper share: the helper's state,
 * one record per child, and the functions its files offer each other:
 *   main.c      the poll loop, signals, the end of the children
 *   frame.c     the relay's bytes: hello, frames, their handlers
 *   outq.c      the queue of frames to the relay
 *   request.c   decoding SPAWN, CONNECT   spawn.c   starting a child
 *   connect.c   CONNECT: connecting to a socket file (a "child" with no process)
 *   children.c  the children's streams, reaping, EXIT
 *   guard.c     the guardian process  util.c    clock, fds, settings
 * The helper is single-threaded and uses only libc.
 *
 * Errors: the one convention of common/errors.h.  A function that can
 * fail returns 0 (or a count, or a pointer, where said) on success and a
 * negative code on failure: -errno for the system's failures, CPR_EBAD
 * from the codec (a full buffer, or the relay's malformed input); callers
 * test `< 0`.  The helper links nothing of the relay's but proto.c.
 */
#ifndef CPREMOTE_HELPER_H
#define CPREMOTE_HELPER_H

#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "ttymodes.h"

/* Return CREDIT to the relay once this much was written on (or the buffer emptied). */
#define HELPER_CREDIT_BATCH CPR_CREDIT_BATCH

/* Stop reading children and the relay while this much waits to go to the relay. */
#define HELPER_OUT_HIGH (512u * 1024)

/* A stream from the child to the relay: channel, stdout or stderr. */
struct outstream {
	int fd; /* what we read; -1 once at EOF or never piped */
	uint32_t credit; /* bytes the relay still lets us send */
	int ended; /* EOF sent, or nothing to send (not piped) */
};

/* A stream from the relay to the child: channel or stdin. */
struct instream {
	int fd; /* what we write; -1 once closed, shut down or broken */
	struct cpr_buf buf; /* bytes the relay sent, not yet written (at most CPR_WINDOW) */
	uint32_t unacked; /* written on, not yet credited back */
	int eof; /* the relay sent EOF */
	int broken; /* the child stopped reading: data is dropped and credited */
};

struct child {
	struct child *next;
	uint32_t id;
	pid_t pid;
	int reaped;
	int status; /* as waitpid() once reaped */
	int chan_fd; /* our end of the channel socketpair, closed when forgotten */
	struct outstream out[CPR_NSTREAMS]; /* indexed by stream; CPR_STDIN unused */
	struct instream in[2]; /* CPR_CHANNEL and CPR_STDIN */
	int tty; /* on a pseudo-terminal: out[CPR_STDOUT] reads its master, in[CPR_STDIN] writes a dup of it */
};

struct spawn_req;

/*
 * Starts REQ as child C (whose id is set); spawn_child() in the helper.
 * Returns 0, or -errno with *stage set.  A pointer so that the fuzz
 * target can drive the frame handlers without starting processes.
 */
typedef int (*helper_spawn_fn)(const struct spawn_req *req, struct child *c, int *stage);

/* Connects to a socket file; connect_socket_file() in the helper, NULL (refused) in the fuzz target. */
typedef int (*helper_connect_fn)(const char *path);

struct helper {
	struct cpr_buf out; /* frames waiting to be written to fd 1 */
	/*
	 * Bytes at the head of OUT that are not a whole frame: the hello, or
	 * the rest of a frame partly written.  outq_drop_data() skips them.
	 */
	size_t out_opaque;
	helper_spawn_fn spawn;
	helper_connect_fn connect;
	int hello_done; /* the relay's hello was read and is good */
	int bad_hello; /* the link ended on a wrong or missing hello */
	struct child *children;
	int nchildren;
	/*
	 * The relay's keepalive promise (from its PINGs): it speaks at least
	 * this often, so longer silence means a frozen link.  0: none known.
	 */
	long silence_limit_ms;
	long last_heard_ms;
	uint32_t relay_caps; /* from the relay's hello: CPR_CAP_REAPED */
};

/* What a SPAWN asked for, decoded from its fields. */
struct spawn_req {
	char *file;
	char **argv; /* NULL-terminated */
	char **env; /* NULL-terminated "VAR=VALUE" */
	char *cwd; /* NULL: stay in the helper's directory */
	uint32_t flags; /* CPR_SPAWN_NODE, CPR_SPAWN_LOGIN (then file may be NULL) */
	uint8_t stdio[3];
	int tty; /* CPR_F_TTY came: run on a pseudo-terminal of size ws */
	struct winsize ws;
	char *term; /* CPR_F_TERM, or NULL */
	uint8_t *modes; /* CPR_F_TTY_MODES, modes_len bytes, or NULL */
	size_t modes_len;
};

/*
 * Decodes a SPAWN payload into *req (zeroed first).  Returns 0, -EINVAL
 * for a malformed or incomplete request, or -ENOMEM.  Free
 * with spawn_req_free() in both cases.
 */
int spawn_req_parse(const uint8_t *p, size_t len, struct spawn_req *req);
void spawn_req_free(struct spawn_req *req);

/*
 * Starts REQ as child C (whose id is set): makes the channel and the
 * pipes, forks, and waits until the program was exec'ed.  Returns 0 with
 * C's pid and fds set (all non-blocking and close-on-exec), or -errno
 * with *stage (enum cpr_spawn_stage) telling why; nothing is then
 * left open or running.  Blocks only for the child's exec.
 */
int spawn_child(const struct spawn_req *req, struct child *c, int *stage);

/*
 * The socket file a CONNECT payload names, as a new string in *pathp.
 * Returns 0, -EINVAL for a payload without exactly one usable PATH, or
 * -ENOMEM; *pathp is NULL on failure.
 */
int connect_req_path(const uint8_t *p, size_t len, char **pathp);

/*
 * Connects to the Unix stream socket file PATH as this helper's user.
 * Returns the fd (non-blocking, close-on-exec), or -errno: -ENOENT,
 * -ENOTSOCK (it exists but is no socket), -EACCES, -ECONNREFUSED (no one
 * listens), -EAGAIN (the server's listen queue stayed full), ...  Blocks
 * only while a server's listen queue is full, 5 s at most.
 */
int connect_socket_file(const char *path);

/* Makes C a connection on FD (taken): no process, its channel the socket. */
void connect_child_init(struct child *c, int fd);

/*
 * Acts on what the relay sent, held in IN: its hello first, then every
 * whole frame, each consumed from IN once handled; a partial frame stays.
 * Returns 0, or < 0 when the link must end: CPR_EBAD for a protocol
 * violation or a bad hello (h->bad_hello then says 1), else the code of
 * the failure (a full output queue: CPR_EBAD from the codec).  Never blocks; spawning a child
 * waits for its exec (spawn_child()).
 */
int helper_input(struct helper *h, struct cpr_buf *in);

/* Queues the helper's hello as the first bytes to the relay.  0, or CPR_EBAD (memory). */
int outq_hello(struct helper *h);

/*
 * Writes what the output queue holds to fd 1 without blocking.  Returns
 * 0 (all written, or the fd is full), or -errno when the relay is gone.
 */
int outq_flush(struct helper *h);

/*
 * Removes from the output queue every DATA frame of child ID on stream S
 * not yet begun to be written (the relay said the stream's reader is gone).
 */
void outq_drop_data(struct helper *h, uint32_t id, int s);

/* Starts the guardian when none runs.  Failure is not fatal: children still start. */
void guard_start(void);

/* Tells the guardian about a new child's process group; never blocks long (a pipe write). */
void guard_add(pid_t pgid);

/* Finds a live child by id; NULL when unknown (frames for it are ignored). */
struct child *child_find(struct helper *h, uint32_t id);

/*
 * Allocates a child record for ID with every stream closed and full
 * credit, not yet linked in.  NULL when out of memory.
 */
struct child *child_new(uint32_t id);

/* Links C into the helper's list. */
void child_add(struct helper *h, struct child *c);

/* Closes every fd of C's (when the relay is gone: a child blocked on a full pipe then gets EPIPE). */
void child_close_fds(struct child *c);

/* Closes C's fds and frees it; C must not be linked.  Accepts NULL. */
void child_free(struct child *c);

/* Reaps every child that ended (after SIGCHLD); never blocks. */
void children_reap(struct helper *h);

/*
 * Reads what C's stream S has (while credit allows and the output queue
 * is not full) and queues DATA, or EOF at its end.  Returns 0, or
 * CPR_EBAD when the output queue cannot take it (memory).
 */
int child_read(struct helper *h, struct child *c, int s);

/*
 * Writes what is buffered for C's input stream S, returns CREDIT, and
 * closes or shuts the stream once the relay's EOF was reached.  Returns 0,
 * or CPR_EBAD when the output queue cannot take the CREDIT (memory).
 */
int child_write(struct helper *h, struct child *c, int s);

/*
 * Queues relay bytes for C's input stream S.  Returns 0, -EPROTO when the
 * relay sent more than the credit it was given (a protocol violation), or
 * CPR_EBAD (memory).
 */
int child_input(struct helper *h, struct child *c, int s, const uint8_t *p, uint32_t len);

/* The relay ended input stream S of C. */
void child_input_eof(struct helper *h, struct child *c, int s);

/*
 * The relay's EOF on output stream S (stdout or stderr) of C: its reader
 * is gone.  Closes our read end (the writer gets EPIPE or SIGPIPE), drops
 * the stream's queued DATA and sends nothing more on it (no EOF either).
 */
void child_output_gone(struct helper *h, struct child *c, int s);

/*
 * Sends EXIT for, and forgets, every child that was reaped and whose
 * output streams all ended.  Returns 0, or CPR_EBAD when memory ran out.
 */
int children_finish(struct helper *h);

/*
 * A child on a terminal that was reaped: once its master has nothing left
 * to read, the stream ends and the master is closed, as sshd does, so
 * that a job it left in the background (holding the terminal, and maybe
 * the channel, whose reading also ends then) does not keep the session
 * open.  Returns 0, or CPR_EBAD (memory).
 */
int child_tty_finish(struct helper *h, struct child *c);

/* Sets the window size of C's terminal (the relay's RESIZE); nothing when C has none. */
void child_tty_resize(struct child *c, const struct winsize *ws);

/* Milliseconds on a monotonic clock. */
long helper_now_ms(void);

/* Adds O_NONBLOCK to FD's flags.  Returns 0, or -errno. */
int helper_set_nonblock(int fd);

/*
 * The grace period between SIGTERM and SIGKILL for children left behind,
 * in ms: $CPREMOTE_GRACE_MS when it is a number of 0..600000, else 5000.
 * The helper and its guardian both use it, so that they agree.
 */
long helper_grace_ms(void);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit (one helper serves many
 * children, three or four fds each).  Returns 0, or -errno.
 */
int helper_nofile_raise(void);

/* In a child before exec: gives back the soft limit the helper started with.  0, or -errno. */
int helper_nofile_restore(void);

/* Writes a diagnostic line "cpremote-helper: ..." to stderr, unless helper_warn_quiet (the fuzz target sets it). */
void helper_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int helper_warn_quiet;

#endif
