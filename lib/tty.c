/*
 * tty.c — the terminal of a CPREMOTE_TTY child: its start (window, TERM
 * and modes in the SPAWN request) and cpremote_resize().
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "lib.h"
#include "ttymodes.h"

/* The caller's fd that becomes the program's stdin, when it is one of the caller's; else -1. */
static int caller_stdin(const struct cpremote_options *opts)
{
	switch (opts->stdio[0].mode) {
	case CPREMOTE_STDIO_INHERIT:
		return 0;
	case CPREMOTE_STDIO_FD:
		return opts->stdio[0].fd;
	default:
		return -1;
	}
}

int lib_tty_fields(const struct cpremote_options *opts, struct cpr_buf *b)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct cpr_buf modes = { 0 };
	uint8_t wire[CPR_WINSIZE_LEN];
	const char *term = opts->term != NULL ? opts->term : getenv("TERM");
	struct termios t;
	int fd = caller_stdin(opts), r = -1;

	/* The caller's terminal as it is now: the remote one starts the same. */
	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
	if (ws.ws_row == 0 || ws.ws_col == 0)
		ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
	if (opts->rows > 0 && opts->cols > 0)
		ws = (struct winsize){ .ws_row = opts->rows, .ws_col = opts->cols };
	cpr_winsize_encode(wire, &ws);
	if (cpr_field_put(b, CPR_F_TTY, wire, sizeof(wire)) < 0 ||
	    (term != NULL && *term != '\0' && cpr_field_put_str(b, CPR_F_TERM, term) < 0))
		goto out;
	if (opts->termios != NULL)
		t = *opts->termios;
	else if (fd < 0 || tcgetattr(fd, &t) < 0) {
		r = 0; /* no terminal to copy: the host's defaults */
		goto out;
	}
	if (cpr_tty_modes_encode(&t, &modes) < 0 ||
	    cpr_field_put(b, CPR_F_TTY_MODES, cpr_buf_peek(&modes), (uint32_t)cpr_buf_len(&modes)) < 0)
		goto out;
	r = 0;
out:
	cpr_buf_free(&modes);
	return r;
}

/* A RESIZE frame is 20 bytes on a local socket the relay keeps reading: no wait for the network. */
int cpremote_resize(cpremote_child *c, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	uint8_t wire[CPR_WINSIZE_LEN];

	if (c == NULL || !c->tty || rows == 0 || cols == 0)
		return CPREMOTE_EINVAL;
	if (c->owner != getpid())
		return -ECHILD;
	if (c->done)
		return 0;
	cpr_winsize_encode(wire, &ws);
	return lib_child_send(c, CPR_RESIZE, wire, sizeof(wire));
}
