/* cprun_tty.c — cprun on a terminal: the choice, raw mode, SIGWINCH and the escape (see cprun_tty.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cprun_tty.h"
#include "sshconf.h"

#define ESCAPE_CHAR '~'

/* What was asked: -1 never (-T, "no"), 0 auto, 1 if stdin is a terminal (-t, "yes"), 2 force (-tt). */
static int asked;
static int from_option; /* -t or -T came: they override RequestTTY, as on ssh's command line */
static int t_count; /* how many -t */
static int set_by_o; /* -o RequestTTY came: the files are not read for it */

static struct {
	int raw; /* the local terminal is in raw mode: saved holds its modes */
	struct termios saved;
	int escapes; /* stdin is a terminal: ssh's escape is read from it */
	int at_line_start; /* an escape may start here (after a newline, or at the start) */
	int pending_escape; /* ESCAPE_CHAR held back, the next byte decides */
	int in_fd; /* the child's stdin pipe, -1 once closed */
	int stdin_eof;
	char buf[4096]; /* read from stdin, not yet written to the pipe */
	size_t len, off;
} tty = { .in_fd = -1, .at_line_start = 1 };

void cprun_tty_option(int letter)
{
	from_option = 1;
	if (letter == 'T')
		asked = -1;
	else
		asked = ++t_count >= 2 ? 2 : 1;
}

int cprun_tty_ssh_option(const char *option)
{
	static const char *const values[] = { "no", "auto", "yes", "force" };
	const char *key = "RequestTTY";
	size_t klen = strlen(key);

	if (strncasecmp(option, key, klen) != 0 || (option[klen] != '=' && option[klen] != ' '))
		return 0;
	for (int i = 0; i < 4; i++)
		if (!from_option && strcasecmp(option + klen + 1, values[i]) == 0)
			asked = i - 1;
	set_by_o = 1;
	return 1;
}

/* ssh's RequestTTY values, in the order of ASKED's meaning (-1 .. 2). */
static int request_tty_value(const char *v)
{
	static const char *const values[] = { "no", "auto", "yes", "force" };

	for (int i = 0; v != NULL && i < 4; i++)
		if (strcasecmp(v, values[i]) == 0)
			return i - 1;
	return 0;
}

void cprun_tty_config(const struct cpremote_options *o)
{
	static const char *const keys[] = { "RequestTTY", NULL };
	struct sshconf_query q = { .config = o->config,
				   .user = o->user,
				   .port = o->port,
				   .identity = o->identity,
				   .options = o->ssh_options,
				   .host = o->host };
	struct sshconf c = { 0 };
	char msg[256];

	/* -t, -T and -o RequestTTY decide alone; `ssh -G` runs only when a file may say more. */
	if (from_option || set_by_o || !sshconf_files_mention(o->config, keys))
		return;
	if (sshconf_eval(&q, &c, msg, sizeof msg) == 0)
		asked = request_tty_value(sshconf_get(&c, "requesttty"));
	sshconf_free(&c);
}

int cprun_tty_asked(void)
{
	return asked > 0;
}

int cprun_tty_decide(int have_program, int quiet)
{
	int term = isatty(0);

	if (asked < 0)
		return 0;
	if (asked == 2)
		return 1;
	if (term && (asked == 1 || !have_program))
		return 1;
	if ((asked == 1 || !have_program) && !quiet)
		fputs("Pseudo-terminal will not be allocated because stdin is not a terminal.\n", stderr);
	return 0;
}

void cprun_tty_options(struct cpremote_options *o)
{
	struct winsize ws;

	o->flags |= CPREMOTE_TTY;
	/* The escape needs to see what is typed: stdin comes through us. */
	if (o->stdio[0].mode != CPREMOTE_STDIO_NULL)
		o->stdio[0].mode = CPREMOTE_STDIO_PIPE;
	if (!isatty(0))
		return;
	/* The remote terminal starts with the modes and size of ours, which is no longer the child's stdin. */
	if (tcgetattr(0, &tty.saved) == 0)
		o->termios = &tty.saved;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		o->rows = ws.ws_row;
		o->cols = ws.ws_col;
	}
}

void cprun_tty_restore(void)
{
	if (!tty.raw)
		return;
	/* TCSADRAIN: what the program printed last reaches the screen in raw mode first. */
	while (tcsetattr(0, TCSADRAIN, &tty.saved) < 0 && errno == EINTR)
		;
	tty.raw = 0;
}

int cprun_tty_start(cpremote_child *child)
{
	struct termios raw;

	tty.in_fd = cpremote_stdio_fd(child, 0);
	if (tty.in_fd >= 0 && fcntl(tty.in_fd, F_SETFL, fcntl(tty.in_fd, F_GETFL) | O_NONBLOCK) < 0)
		tty.in_fd = -1;
	if (tty.in_fd < 0)
		tty.stdin_eof = 1;
	if (!isatty(0) || tcgetattr(0, &tty.saved) < 0)
		return 0;
	/*
	 * Raw: every byte, Ctrl-C and Ctrl-Z too, goes to the remote
	 * terminal, whose line discipline gives them their meaning there.
	 */
	raw = tty.saved;
	cfmakeraw(&raw);
	atexit(cprun_tty_restore);
	if (tcsetattr(0, TCSADRAIN, &raw) < 0) {
		fprintf(stderr, "cprun: cannot put the terminal in raw mode: %s\n", strerror(errno));
		return -1;
	}
	tty.raw = 1;
	tty.escapes = 1;
	return 0;
}

int cprun_tty_pollfds(struct pollfd *pfd)
{
	int n = 0;

	if (tty.off < tty.len && tty.in_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = tty.in_fd, .events = POLLOUT };
	else if (!tty.stdin_eof)
		pfd[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
	return n;
}

/* Appends byte B to what goes to the remote terminal. */
static void put(char b)
{
	tty.buf[tty.len++] = b;
}

/*
 * Takes N bytes typed into BUF (at most half of it, as an escape may make
 * two of one), as ssh does: ESCAPE_CHAR after a newline (or at the start)
 * is held, then "." ends the session and ESCAPE_CHAR sends one; anything
 * else sends both.  Returns 1 for "~.", else 0.
 */
static int take_typed(const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b = in[i];

		if (tty.pending_escape) {
			tty.pending_escape = 0;
			if (b == '.')
				return 1;
			if (b != ESCAPE_CHAR)
				put(ESCAPE_CHAR);
			put(b);
		} else if (tty.escapes && tty.at_line_start && b == ESCAPE_CHAR) {
			tty.pending_escape = 1;
			continue;
		} else {
			put(b);
		}
		tty.at_line_start = b == '\r' || b == '\n';
	}
	return 0;
}

/* stdin is readable: reads what was typed into the buffer.  Returns 1 for "~.", else 0. */
static int read_stdin(void)
{
	char in[sizeof(tty.buf) / 2];
	ssize_t n = read(0, in, sizeof(in));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	tty.len = tty.off = 0;
	if (n <= 0) {
		/* End of input: the remote terminal is told by the helper (its EOF character). */
		tty.stdin_eof = 1;
		if (tty.in_fd >= 0)
			close(tty.in_fd);
		tty.in_fd = -1;
		return 0;
	}
	return take_typed(in, (size_t)n);
}

/* The pipe to the child's stdin takes more. */
static void write_pipe(void)
{
	ssize_t n = write(tty.in_fd, tty.buf + tty.off, tty.len - tty.off);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) {
		/* The program's terminal is gone: what is typed has nowhere to go. */
		close(tty.in_fd);
		tty.in_fd = -1;
		tty.stdin_eof = 1;
		tty.len = tty.off = 0;
		return;
	}
	tty.off += (size_t)n;
}

int cprun_tty_ready(cpremote_child *child, const struct pollfd *pfd, int n, const char *host)
{
	(void)child;
	for (int i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == 0 && read_stdin()) {
			cprun_tty_restore();
			fprintf(stderr, "Connection to %s closed.\n", host);
			return 255;
		}
		if (pfd[i].fd == tty.in_fd)
			write_pipe();
	}
	/* Most of the time the pipe takes it at once: no poll round for that. */
	if (tty.off < tty.len && tty.in_fd >= 0)
		write_pipe();
	return -1;
}

void cprun_tty_winch(cpremote_child *child)
{
	struct winsize ws;

	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		(void)cpremote_resize(child, ws.ws_row, ws.ws_col);
}
