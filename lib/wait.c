/* wait.c — cpremote_wait(): the child's end as the relay reports it on the status socket. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

/* Turns an EXIT payload into a wait(2)-style status. */
static int exit_status(const uint8_t *pl)
{
	int sig;

	if (pl[0] == CPR_EXITED)
		return (pl[1] & 0xff) << 8;
	sig = cpr_signal_from_wire(pl[1]);
	/* A signal without a local number keeps its wire number: on Linux they agree. */
	if (sig <= 0 || sig > 0x7f)
		sig = pl[1] & 0x7f;
	return sig | (pl[2] ? 0x80 : 0);
}

/* Records the final answer so that later calls repeat it. */
static void finish(struct cpremote_child *c, int result, int status)
{
	c->done = 1;
	c->result = result;
	c->status = status;
	if (result == 1 && !c->exited) {
		c->exited = 1;
		c->exited_status = status;
	}
}

/*
 * Keeps the relay's text about a lost child for cpremote_child_errmsg().
 * The relay's texts name the host; when there is none (the relay itself
 * died), "HOST: <what CODE means>" is made here, so that every message does.
 */
static void keep_errmsg(struct cpremote_child *c, const uint8_t *msg, uint32_t len, int code)
{
	free(c->errmsg);
	c->errmsg = NULL;
	if (msg != NULL && len > 0) {
		if ((c->errmsg = malloc((size_t)len + 1)) != NULL) {
			memcpy(c->errmsg, msg, len);
			c->errmsg[len] = '\0';
		}
	} else if (asprintf(&c->errmsg, "%s: %s", c->host ? c->host : "?", cpremote_strerror(code)) < 0) {
		c->errmsg = NULL;
	}
}

/*
 * Reads the relay's frames until EXIT or ERROR, or (WNOHANG) until no
 * whole frame is left; partial frames stay buffered across calls.  The
 * first final answer is kept and returned again by later calls.
 */
int cpremote_wait(cpremote_child *c, int *status, int flags)
{
	struct cpr_header h;
	const uint8_t *pl, *msg;
	uint32_t msglen;
	int r, code;

	if (c == NULL || (flags & ~CPREMOTE_WNOHANG))
		return CPREMOTE_EINVAL;
	/* A fork reading the status socket would take the parent's EXIT away: as waitpid(2), -ECHILD. */
	if (c->owner != getpid())
		return -ECHILD;
	/*
	 * After a notice (SPAWNED, REAPED) the loop goes on: a frame that came
	 * in the same read stays buffered, and the exit fd would not wake the
	 * caller for it.  With WNOHANG it returns 0 once no whole frame is left.
	 */
	while (!c->done) {
		r = lib_status_next(c, !(flags & CPREMOTE_WNOHANG), &h, &pl);
		if (r == 0)
			return 0;
		if (r < 0) {
			keep_errmsg(c, NULL, 0, r);
			finish(c, r, 0);
		} else if (h.type == CPR_EXIT && h.length >= 4) {
			finish(c, 1, exit_status(pl));
		} else if (h.type == CPR_REAPED && h.length >= 4) {
			/* The program is gone but what it left behind holds its output: EXIT comes later. */
			c->exited = 1;
			c->exited_status = exit_status(pl);
		} else if (h.type == CPR_SPAWNED && h.length >= 4) {
			/* The start confirmed (CPREMOTE_NOWAIT): still running. */
			c->pid = (long)cpr_get_u32(pl);
		} else if (h.type == CPR_EOF && c->errmsg == NULL) {
			/* The relay could not write an output stream (a full disk): the child goes on. */
			lib_error_fields(pl, h.length, &code, &msg, &msglen);
			if (msg != NULL)
				keep_errmsg(c, msg, msglen, code);
		} else if (h.type == CPR_ERROR) {
			lib_error_fields(pl, h.length, &code, &msg, &msglen);
			keep_errmsg(c, msg, msglen, code);
			finish(c, code, 0);
		}
		/* Anything else (an unknown type) carries nothing for us. */
	}
	if (c->result == 1 && status != NULL)
		*status = c->status;
	return c->result;
}

/* Whether the program itself has exited, from what cpremote_wait() has read. */
int cpremote_exited(const cpremote_child *c, int *status)
{
	if (c == NULL || !c->exited)
		return 0;
	if (status != NULL)
		*status = c->exited_status;
	return 1;
}

/* The relay's text about the child's failure, or "". */
const char *cpremote_child_errmsg(const cpremote_child *c)
{
	return c != NULL && c->errmsg != NULL ? c->errmsg : "";
}
