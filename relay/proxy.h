/*
 * proxy.h — jump hosts and proxy commands (proxy.c).  libssh 0.10 runs a
 * ProxyCommand but sends its stderr to /dev/null, and turns ProxyJump
 * into an `ssh -W` without the -F file (so a jump alias of that file is
 * unknown) and with the hops of a chain reversed.  So ProxyJump becomes
 * the relay's own ProxyCommand, as OpenSSH builds it, and every proxy
 * command writes its stderr to a private file that a failure quotes.
 */
#ifndef CPREMOTE_RELAY_PROXY_H
#define CPREMOTE_RELAY_PROXY_H

#include <stddef.h>
#include <libssh/libssh.h>

/* The most of a proxy command's stderr quoted in a message. */
#define PROXY_STDERR_TAIL 600

/* The stderr file of S's proxy command. */
struct proxy_err {
	char *path; /* NULL: no proxy command */
	int fd; /* open on PATH, valid only while PATH is set */
};

/*
 * The ProxyCommand for ProxyJump value JUMP ("[user@]host[:port]" or
 * "ssh://...", comma-separated, the first hop first): `ssh` (SSH, or "ssh"
 * on PATH) with -F CONFIG when given, BatchMode (never a prompt), -J for
 * all hops but the last and -W to the target.  Returns a malloc'ed
 * command, or NULL with errno set (EINVAL: a character that cannot be
 * quoted safely, with MSG set; ENOMEM).
 */
char *proxy_jump_command(const char *ssh, const char *jump, const char *config, char *msg, size_t msglen);

/*
 * When S has a ProxyCommand, makes it write its stderr to a new private
 * file recorded in *PE (zeroed by the caller; released with
 * proxy_err_free()).  Returns 0, or a negative errno with MSG set.
 */
int proxy_capture_stderr(ssh_session s, struct proxy_err *pe, char *msg, size_t msglen);

/*
 * The end of what the proxy command wrote to stderr, escaped, on one line
 * in BUF (LEN bytes); "" when it wrote nothing or there is none.
 */
const char *proxy_stderr(const struct proxy_err *pe, char *buf, size_t len);

/* Removes the file and zeroes PE; accepts a zeroed PE. */
void proxy_err_free(struct proxy_err *pe);

#endif
