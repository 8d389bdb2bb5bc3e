/*
 * cpremote.h — start a program on another host over SSH with its IPC
 * channel intact.  This header is the whole public API of libcpremote.
 *
 * The remote program finds a connected AF_UNIX stream socket on the fd
 * named by its CHANNEL_FD environment variable; the caller holds the other
 * end.  Bytes pass both ways untouched.  Stdio, exit status and signals
 * behave as for a local child.
 *
 * Threads: every function may be called from any thread; one child handle
 * must not be used from two threads at once.  The library forks a relay
 * process once per caller process; it never appears in the caller's
 * waitpid(-1) and it never touches the caller's signal handlers.
 * With a ControlPath (ssh_options "ControlMaster=auto", "ControlPath=P",
 * "ControlPersist=N", or the same in the ssh_config) the children go to
 * the relay listening at P, started by an earlier caller of the same
 * user, or this caller starts one there that outlives it by N seconds
 * (see cprun's README section "Sharing a connection between processes").
 * A caller that ends leaves nothing running all the same: its children
 * are ended when their handles' sockets close with it.
 *
 * Fork: a process forked from a caller (fork(2) without exec) does not
 * share its parent's relay.  Its first cpremote_run() starts a relay of
 * its own.  Of the child handles it inherited it may only call
 * cpremote_free(), which closes the fork's copies of their fds and leaves
 * the parent's children running; cpremote_wait() and cpremote_kill() on
 * them return -ECHILD, as waitpid(2) and kill(2) would for another
 * process's child.  The parent keeps full control: its cpremote_free()
 * ends a running child even while a fork still holds copies of its fds.
 * A fork that execs keeps nothing (every fd of the library is
 * close-on-exec).  fork() waits while another thread is starting the
 * relay (at most its 10 s greeting deadline), so that the child never
 * inherits the library's lock held.
 *
 * SIGPIPE: the channel and piped stdin are ordinary sockets and pipes.
 * Writing to one whose remote end has gone (the child exited, or closed
 * it) raises SIGPIPE in the caller, whose default action ends the
 * process, exactly as with a local child.  To get EPIPE instead, write to
 * the channel (a socket) with send(fd, buf, len, MSG_NOSIGNAL), or ignore
 * SIGPIPE (signal(SIGPIPE, SIG_IGN)), which also covers piped stdin (a
 * pipe, where MSG_NOSIGNAL does not apply).  The library itself never
 * raises SIGPIPE: its own writes to the relay use MSG_NOSIGNAL.
 *
 * Environment: CPREMOTE_RELAY (the relay program to start),
 * CPREMOTE_HELPER (the helper's path on the host) and CPREMOTE_SSH_CONFIG
 * (the ssh_config file when .config is NULL, so that a harness points
 * every caller at its hosts' config at once; "none" there or in .config
 * reads no file, as ssh -F none) are read with
 * secure_getenv(), so a setuid or setgid program ignores them.  Without
 * CPREMOTE_RELAY the relay installed beside the library is started (found
 * from where the library was loaded: libexecdir of the same prefix, or
 * relay/ of a build tree), else the one of the configured prefix.
 */
#ifndef CPREMOTE_H
#define CPREMOTE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CPREMOTE_VERSION "0.1.0"

/*
 * Error codes.  Functions return 0 (or a count) on success and a negative
 * code on failure: either -errno for a system error, or one of these, which
 * lie outside the errno range.  cpremote_strerror() names both kinds.
 */
enum cpremote_error {
	CPREMOTE_EINVAL = -3001, /* bad argument or option */
	CPREMOTE_ECONNECT = -3002, /* could not connect to the host */
	CPREMOTE_EHOSTKEY_UNKNOWN = -3003, /* host key not in known_hosts */
	CPREMOTE_EHOSTKEY_CHANGED = -3004, /* host key differs from known_hosts */
	CPREMOTE_EAUTH = -3005, /* authentication refused */
	CPREMOTE_EHELPER = -3006, /* remote helper missing or incompatible */
	CPREMOTE_ENOTFOUND = -3007, /* program not found on the host */
	CPREMOTE_ENOEXEC = -3008, /* program not executable on the host */
	CPREMOTE_ESPAWN = -3009, /* other failure to start the program */
	CPREMOTE_ECONNLOST = -3010, /* connection lost while the child ran */
	CPREMOTE_ERELAY = -3011, /* the local relay process failed, or is of another version */
	CPREMOTE_EPROTO = -3012, /* protocol violation by the other side */
};

/* How a stdio stream of the child is connected on the caller's side. */
enum cpremote_stdio_mode {
	CPREMOTE_STDIO_NULL = 0, /* remote /dev/null */
	CPREMOTE_STDIO_PIPE, /* a new pipe; see cpremote_stdio_fd() */
	CPREMOTE_STDIO_INHERIT, /* the caller's own fd 0, 1 or 2 */
	CPREMOTE_STDIO_FD, /* the fd in .fd (the library dups it) */
};

/*
 * The caller's fds (INHERIT, FD) behave as a local child's would:
 *   - stdout or stderr whose reader is gone (a pipe closed, as in
 *     `| head`): the remote program's next write gets EPIPE or SIGPIPE,
 *     and cpremote_wait() reports its status (often WTERMSIG = SIGPIPE);
 *   - any other write error on them (ENOSPC on a full disk, EIO, EFBIG):
 *     that stream ends the same way, and the error is not lost:
 *     cpremote_wait() still returns 1 with the program's own status, and
 *     cpremote_child_errmsg() then says e.g. "h1: stdout: No space left on
 *     device" (the first such error);
 *   - a stdin that is the caller's controlling terminal is read only
 *     while the caller's process group is the terminal's foreground job:
 *     nothing is read for a caller stopped by Ctrl-Z or put in the
 *     background, and what is typed meanwhile stays in the terminal.
 */
struct cpremote_stdio {
	enum cpremote_stdio_mode mode;
	int fd; /* only for CPREMOTE_STDIO_FD */
};

/* Spawn flags (struct cpremote_options.flags); unknown bits are refused. */
#define CPREMOTE_NODE (1u << 0) /* also set NODE_CHANNEL_FD and NODE_CHANNEL_SERIALIZATION_MODE=json */
#define CPREMOTE_ACCEPT_NEW (1u << 1) /* add an unknown host key to known_hosts (never a changed one) */
#define CPREMOTE_CHANNEL_FD (1u << 2) /* use .channel_fd as the caller's end instead of a new socketpair */
#define CPREMOTE_NO_UPLOAD \
	(1u << 3) /* never upload the helper: fail when the host has none (no .helper set) */
/*
 * Return as soon as the request is handed to the relay, without waiting
 * for the program to start, so that one thread can start many children
 * on many hosts at once.  cpremote_exit_fd() then also becomes readable
 * when the start is confirmed (cpremote_pid() turns from -1 to the pid)
 * or failed: cpremote_wait() returns that failure (e.g. CPREMOTE_ENOTFOUND,
 * CPREMOTE_EAUTH) with cpremote_child_errmsg() telling the detail.
 */
#define CPREMOTE_NOWAIT (1u << 4)
/*
 * Run the program on a pseudo-terminal that the helper makes on the
 * host, as `ssh -t` does: the program's stdin, stdout and stderr are the
 * terminal (its controlling terminal, in a session of its own, so that a
 * shell's job control works there); what the terminal prints comes out of
 * stdio[1], what stdio[0] gives is typed into it, stdio[2] is not used.
 * stdio[1] must not be CPREMOTE_STDIO_NULL.  The channel works as
 * without it.  The terminal starts with .term, .termios and .rows/.cols;
 * cpremote_resize() changes its size.  The caller's own terminal is left
 * as it is: putting it in raw mode (so that Ctrl-C and Ctrl-Z reach the
 * remote terminal as bytes) is the caller's choice, as cprun -t does.
 */
#define CPREMOTE_TTY (1u << 5)
/*
 * Run the user's login shell on the host (as a login shell, "-sh"), as
 * `ssh HOST` does without a command; .file and .argv must be NULL.
 * Usually with CPREMOTE_TTY.
 */
#define CPREMOTE_LOGIN_SHELL (1u << 6)

/*
 * Where and what to run.  Initialise with CPREMOTE_OPTIONS_INIT (or zero
 * it and set .size to sizeof(struct cpremote_options)), then set what you
 * need; NULL or 0 means "the default" (from the ssh_config, else
 * OpenSSH's default).  Nothing is kept after cpremote_run() returns.
 *
 * Growing without breaking callers: .size tells the library which version
 * of this struct the caller was compiled with.  New fields are only ever
 * appended, so a library newer than the caller reads the fields the
 * caller knows and takes every later one as 0 (its default).  A size
 * smaller than the first published struct, or larger than this library
 * knows (a caller built against a newer header), is refused with
 * CPREMOTE_EINVAL rather than guessed at.
 */
struct termios;

struct cpremote_options {
	size_t size; /* required: sizeof(struct cpremote_options), as CPREMOTE_OPTIONS_INIT sets it */
	const char *host; /* required: a name from ssh_config or an address */
	const char *user;
	int port;
	const char *identity; /* private key file; the agent and default keys otherwise */
	const char *config; /* ssh_config file; $CPREMOTE_SSH_CONFIG, else ~/.ssh/config */
	const char *const *ssh_options; /* NULL-terminated "Option=value" list, as ssh -o */
	const char
		*helper; /* helper path on the host (~/ is home); $CPREMOTE_HELPER, else "cpremote-helper" */
	int verbosity; /* 0 quiet; 1..3 as ssh -v, -vv, -vvv (to stderr of the relay) */

	const char *file; /* required: program to run (PATH searched on the host) */
	const char *const *argv; /* NULL-terminated; argv[0] included; NULL means { file } */
	const char *const *env; /* NULL-terminated "VAR=VALUE" additions */
	const char *cwd; /* working directory on the host; the login directory otherwise */
	struct cpremote_stdio stdio[3]; /* stdin, stdout, stderr */
	int channel_fd; /* with CPREMOTE_CHANNEL_FD: an AF_UNIX stream socket (dup'ed) */
	unsigned flags;
	/* New fields go here, at the end, and mean "the default" when 0. */
	/*
	 * A local file (executable, or a script with its #! line) to run
	 * instead of .file, which may then be NULL: it is uploaded into the
	 * host's program cache, the helper's own (content-addressed by its
	 * SHA-256, owner-only, checked before every run), once while it is
	 * unchanged; concurrent first uses upload it once.  argv NULL means
	 * { its base name }.  cpremote_run() then blocks for that install
	 * (one more child on the same connection), also with CPREMOTE_NOWAIT;
	 * at most 512 MiB.  See cpremote_shipped_bytes().
	 */
	const char *ship;

	/* With CPREMOTE_TTY (ignored without): */
	const char *term; /* TERM on the host; NULL: the caller's $TERM, else "dumb" */
	/*
	 * The terminal's modes (erase and interrupt characters, echo, ...),
	 * sent as their portable meaning; NULL: those of the caller's stdin
	 * (stdio[0]) when it is a terminal, else the host's defaults.
	 */
	const struct termios *termios;
	unsigned short rows, cols; /* the window; 0: stdin's size when a terminal, else 24 by 80 */
	/*
	 * With .ship: 0, the shipped file is the program (above).  N > 0:
	 * the shipped file is data for .file, which runs as given (a script
	 * for node, python ...), and argv[N] is replaced by the cached
	 * copy's path (argv must have more than N entries; what argv[N]
	 * held only stands in for it, e.g. the local path).
	 */
	int ship_arg;
};

/* The initialiser of a struct cpremote_options: every field 0, .size set. */
#define CPREMOTE_OPTIONS_INIT                           \
	{                                               \
		.size = sizeof(struct cpremote_options) \
	}

typedef struct cpremote_child cpremote_child;

/*
 * Starts opts->file on opts->host and waits until it runs.  Returns 0 and
 * sets *childp, or a negative error code; then cpremote_errmsg() tells the
 * detail (host, program, libssh's own text).  The first call of a process
 * starts its relay and checks its greeting (at most 10 s): a relay that
 * does not greet, or speaks another control version than this library,
 * is CPREMOTE_ERELAY with both versions named.  Blocks for the SSH handshake
 * when no connection to that destination is open yet, else about one round
 * trip; with CPREMOTE_NOWAIT it does not wait for the network at all.  The
 * caller owns *childp and releases it with cpremote_free().
 */
int cpremote_run(const struct cpremote_options *opts, cpremote_child **childp);

/*
 * Attaches to a process that already runs on opts->host and serves the
 * Unix stream socket file PATH there (a REPL, a debug console, an admin
 * interface): the helper connects to PATH as the logged-in user, and the
 * caller's end is cpremote_channel_fd(), or opts->channel_fd with
 * CPREMOTE_CHANNEL_FD.  Bytes pass both ways untouched, with half-close
 * (shutdown(fd, SHUT_WR) reaches the server as end of file) and the same
 * flow control as a channel.  Each call is its own stream over the one
 * SSH connection to that destination; no TCP port is opened anywhere.
 * opts names the destination only: .file, .argv, .env, .cwd, stdio and
 * CPREMOTE_NODE must be unset (CPREMOTE_EINVAL).  A relative PATH is
 * taken from the login directory.  Returns 0 and sets *childp, or a
 * negative code with cpremote_errmsg() naming host, path and reason:
 * CPREMOTE_ENOTFOUND when PATH does not exist, CPREMOTE_ESPAWN when it is
 * no socket, permission is denied or no one listens.  cpremote_pid() is 0
 * (no process was started); cpremote_wait() returns 1 with status 0 once
 * the server has closed its end and all its bytes were handed over, or
 * CPREMOTE_ECONNLOST; cpremote_kill() with any signal, and
 * cpremote_free(), close the connection.  Blocks as cpremote_run() does
 * (CPREMOTE_NOWAIT as there); the caller owns *childp.
 */
int cpremote_connect(const struct cpremote_options *opts, const char *path, cpremote_child **childp);

/*
 * The caller's end of the child's channel: a connected AF_UNIX stream
 * socket, owned by the handle (closed by cpremote_free()).  Without
 * CPREMOTE_CHANNEL_FD it is a new socket; with it, -1 (the caller kept its fd).
 */
int cpremote_channel_fd(const cpremote_child *child);

/*
 * The caller's end of stdio stream 0, 1 or 2 when it was set up as
 * CPREMOTE_STDIO_PIPE (write to 0, read from 1 and 2), else -1.  Owned by
 * the handle; cpremote_close_stdio() closes one early (to send EOF).
 */
int cpremote_stdio_fd(const cpremote_child *child, int stream);

/* Closes the caller's end of a piped stdio stream.  Returns 0 or -EBADF. */
int cpremote_close_stdio(cpremote_child *child, int stream);

/*
 * A file descriptor that becomes readable when the child has exited or its
 * connection was lost (like a pidfd): poll it, then call cpremote_wait()
 * with CPREMOTE_WNOHANG.  Owned by the handle.
 */
int cpremote_exit_fd(const cpremote_child *child);

/* The child's process id on the host (for messages; it may be reused there); -1 until started. */
long cpremote_pid(const cpremote_child *child);

/*
 * With .ship: how many bytes were uploaded for this child (0 when the
 * host's cache had the file already).  -1 without .ship.
 */
long long cpremote_shipped_bytes(const cpremote_child *child);

#define CPREMOTE_WNOHANG 1

/*
 * Waits for the child to end.  Returns 1 and sets *status as wait(2) does
 * (WIFEXITED/WEXITSTATUS, WIFSIGNALED/WTERMSIG work on it); with
 * CPREMOTE_WNOHANG returns 0 at once if it still runs.  When the
 * connection was lost returns CPREMOTE_ECONNLOST (never a made-up status);
 * cpremote_child_errmsg() tells more.  Every piece of stdout, stderr and
 * channel data the child wrote has been handed to the caller's fds before
 * the status is reported.  May be called again after it returned 1.
 * Returns -ECHILD in a fork of the process that started the child.
 */
int cpremote_wait(cpremote_child *child, int *status, int flags);

/*
 * Whether the program itself has exited, although cpremote_wait() may
 * still wait: processes it left behind (a `cmd &` of a shell) hold its
 * stdout, stderr or channel open, and the final status comes only once
 * they close them.  Returns 1 and sets *status (as wait(2), may be NULL)
 * when it has exited, else 0.  It reads nothing itself: it tells what
 * cpremote_wait() has read (the exit fd is readable when the news comes;
 * call cpremote_wait() with CPREMOTE_WNOHANG).  A host whose helper is
 * older than this library gives no such news: 0 until the final status.
 * Does not block.
 */
int cpremote_exited(const cpremote_child *child, int *status);

/*
 * Sends signal SIG to the remote child.  Returns 0 (sent; the child may
 * already have exited), or a negative error code (-ECHILD in a fork of
 * the process that started it).  Does not block for the network.
 */
int cpremote_kill(cpremote_child *child, int sig);

/*
 * Releases the handle and its fds.  A child still running is sent SIGKILL,
 * so that nothing is left behind on the host, also while a fork of the
 * caller holds copies of the handle's fds.  In such a fork it only closes
 * the fork's copies (see "Fork" above).  Accepts NULL.  Does not block.
 */
void cpremote_free(cpremote_child *child);

/*
 * Closes every SSH connection of this process now, instead of after their
 * idle time (-o ControlPersist=SECONDS, default 2 s after the last child on
 * a connection ended).  Children still running are ended on their hosts;
 * their handles then report CPREMOTE_ECONNLOST or CPREMOTE_ERELAY.  Does
 * not block; the next cpremote_run() connects again.  Of a shared relay
 * (ControlPath) it only closes this process's sockets to it: the master
 * and its connections stay for their ControlPersist (cpremote_control()
 * with "exit" ends them).
 */
void cpremote_shutdown(void);

/*
 * Talks to the master relay at the ControlPath of OPTS's destination, as
 * `ssh -O` does: COMMAND "check" asks whether one runs, "exit" asks it to
 * end now (its children are ended on their hosts).  Only host, user,
 * port, config and ssh_options of OPTS count.  Returns 0 with *pid (may
 * be NULL) set to the master's pid, or a negative code with
 * cpremote_errmsg() set: -ENOENT or -ECONNREFUSED when none runs,
 * CPREMOTE_EINVAL for an unknown command, no ControlPath, or a path or
 * master that is not safely the caller's own.  Blocks for a local
 * connect and greeting (and `ssh -G` when the path comes from the ssh_config).
 */
int cpremote_control(const struct cpremote_options *opts, const char *command, long *pid);

/*
 * Tells the terminal of a CPREMOTE_TTY child its new window size (the
 * caller's terminal got SIGWINCH): the program there gets SIGWINCH.
 * Returns 0 (sent; also before the start, which then applies the last
 * size asked for, and after the end, when it does nothing), or a
 * negative code: CPREMOTE_EINVAL without CPREMOTE_TTY or for a size of 0,
 * -ECHILD in a fork of the process that started the child.  Does not
 * block for the network.
 */
int cpremote_resize(cpremote_child *child, unsigned short rows, unsigned short cols);

/* A static, human text for an error code (project code or -errno). */
const char *cpremote_strerror(int err);

/*
 * The detail of the last failure of cpremote_run() in this thread, e.g.
 * "h1: /bin/nope: not found".  Valid until the next call in this thread.
 */
const char *cpremote_errmsg(void);

/*
 * The detail of the child's failure (connection lost), or of an output
 * stream the relay could not write although the child ran on ("h1:
 * stdout: No space left on device", see struct cpremote_stdio), naming
 * the host; "" when none.  Owned by the handle.
 */
const char *cpremote_child_errmsg(const cpremote_child *child);

#ifdef __cplusplus
}
#endif

#endif
