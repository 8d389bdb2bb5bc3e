/*
 * upload.c — sends the embedded helper to a host that has none: a second
 * session channel on the same SSH connection runs the install stub
 * (bootstrap.c), which takes the host's install lock and then either asks
 * for the bytes ("send"), receives them then EOF and answers "installed",
 * or answers "ready" when a concurrent install got there first.  Driven
 * without blocking from the connection's state machine, like the rest of
 * the relay's libssh use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "tail.h"

#define WRITE_CHUNK (64u * 1024)

enum {
	U_IDLE,
	U_OPEN,
	U_EXEC,
	U_ASK,
	U_SEND,
	U_WAIT,
	U_OVER
};

int upload_start(struct upload *u, ssh_session s, const struct helper_blob *b)
{
	memset(u, 0, sizeof *u);
	u->blob = b;
	u->out.limit = CPR_MAX_NOISE + 4096;
	u->cmd = bootstrap_install_command(b);
	u->ch = ssh_channel_new(s);
	if (!u->cmd || !u->ch) {
		upload_free(u);
		return -ENOMEM;
	}
	u->state = U_OPEN;
	return 0;
}

/* Keeps the tail of the stub's stderr: its last line is the reason of a failure. */
static void keep_err(struct upload *u, const char *p, size_t n)
{
	relay_keep_tail(u->err, sizeof u->err - 1, &u->errlen, p, n);
}

/* The stub's last stderr line, without its "cpremote-stub: " prefix. */
static const char *last_err_line(struct upload *u)
{
	char *end = u->err + u->errlen, *line;

	while (end > u->err && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	line = strrchr(u->err, '\n');
	line = line ? line + 1 : u->err;
	if (strncmp(line, "cpremote-stub: ", 15) == 0)
		line += 15;
	return line;
}

/*
 * Takes what the stub printed.  Returns bytes read, or -1 once the channel
 * has ended (the stub exited) or failed.
 */
static ssize_t drain(struct upload *u)
{
	char buf[4096];
	ssize_t total = 0;
	int n;

	while ((n = ssh_channel_read_nonblocking(u->ch, buf, sizeof buf, 1)) > 0)
		keep_err(u, buf, (size_t)n);
	while ((n = ssh_channel_read_nonblocking(u->ch, buf, sizeof buf, 0)) > 0) {
		total += n;
		/* Only the marker matters: rc-file noise past the limit is dropped. */
		if (cpr_buf_append(&u->out, buf, (size_t)n) < 0)
			cpr_buf_consume(&u->out, cpr_buf_len(&u->out));
	}
	return n < 0 ? -1 : total;
}

/* The stub ended or the channel failed: the best reason there is. */
static enum upload_result failed(struct upload *u, char *msg, size_t msglen, const char *what)
{
	const char *why = last_err_line(u);

	/* The stub's own reason says more than ours. */
	snprintf(msg, msglen, "%s", *why ? why : what);
	u->state = U_OVER;
	return UPLOAD_FAILED;
}

/* Over 80 lines: one switch over the upload's states, each a few lines, read best in order. */
enum upload_result upload_step(struct upload *u, char *msg, size_t msglen)
{
	ssh_session s = ssh_channel_get_session(u->ch);
	ssize_t in;
	int rc;

	switch (u->state) {
	case U_OPEN:
		rc = ssh_channel_open_session(u->ch);
		if (rc == SSH_AGAIN)
			return UPLOAD_AGAIN;
		if (rc != SSH_OK)
			return failed(u, msg, msglen, ssh_get_error(s));
		u->state = U_EXEC;
		/* fall through */
	case U_EXEC:
		rc = ssh_channel_request_exec(u->ch, u->cmd);
		if (rc == SSH_AGAIN)
			return UPLOAD_AGAIN;
		if (rc != SSH_OK)
			return failed(u, msg, msglen, ssh_get_error(s));
		u->state = U_ASK;
		/* fall through */
	case U_ASK:
		/* Nothing is sent before the stub holds the lock and asks. */
		in = drain(u);
		switch (bootstrap_scan(cpr_buf_peek(&u->out), cpr_buf_len(&u->out), u->path,
				       sizeof u->path)) {
		case BS_READY:
			u->by_other = 1;
			u->state = U_OVER;
			return UPLOAD_DONE;
		case BS_SEND:
			/* Its answer comes after the bytes: look for it alone. */
			u->path[0] = '\0';
			cpr_buf_consume(&u->out, cpr_buf_len(&u->out));
			u->state = U_SEND;
			return UPLOAD_SENDING;
		default:
			if (in < 0)
				return failed(u, msg, msglen, "the install script ended early");
			return UPLOAD_AGAIN;
		}
	case U_SEND:
		/*
		 * Reading takes in the window adjusts that let writing go on,
		 * and notices a stub that gave up before taking everything.
		 */
		do {
			while (u->sent < u->blob->len) {
				size_t left = u->blob->len - u->sent;
				int n = ssh_channel_write(u->ch, u->blob->data + u->sent,
							  (uint32_t)(left < WRITE_CHUNK ? left
											: WRITE_CHUNK));
				if (n < 0)
					return failed(u, msg, msglen, "the upload was cut off");
				if (n == 0)
					break;
				u->sent += (size_t)n;
			}
			if ((in = drain(u)) < 0)
				return failed(u, msg, msglen, "the install script ended early");
		} while (u->sent < u->blob->len && (in > 0 || ssh_channel_window_size(u->ch) > 0));
		if (u->sent < u->blob->len)
			return UPLOAD_AGAIN;
		if (ssh_channel_send_eof(u->ch) != SSH_OK)
			return failed(u, msg, msglen, ssh_get_error(s));
		u->state = U_WAIT;
		/* fall through */
	case U_WAIT:
		in = drain(u);
		if (bootstrap_scan(cpr_buf_peek(&u->out), cpr_buf_len(&u->out), u->path, sizeof u->path) ==
		    BS_INSTALLED) {
			u->state = U_OVER;
			return UPLOAD_DONE;
		}
		if (in < 0)
			return failed(u, msg, msglen, "the helper could not be installed");
		return UPLOAD_AGAIN;
	default:
		snprintf(msg, msglen, "the upload is over");
		return UPLOAD_FAILED;
	}
}

void upload_free(struct upload *u)
{
	if (u->ch) {
		ssh_channel_close(u->ch);
		ssh_channel_free(u->ch);
	}
	free(u->cmd);
	cpr_buf_free(&u->out);
	memset(u, 0, sizeof *u);
}
