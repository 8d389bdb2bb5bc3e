/*
 * cprun_connect.c — cprun --connect HOST:PATH: cprun's stdin and stdout
 * joined to a Unix socket file that a running process serves on HOST
 * (cpremote_connect()).  Without a terminal the bytes pass untouched, both
 * ways, stdin's end of file a half-close; on a terminal the lines are
 * edited locally with libedit (history, the arrow keys), so that a plain
 * line-oriented REPL server feels like a console.  libedit is loaded then
 * (dlopen), not linked: every other cprun would map it and the libraries
 * it needs (libtinfo, libbsd, libmd) at each start for nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <histedit.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpremote.h"
#include "cprun_connect.h"

/* The server's last line without a newline yet (its prompt), shown as libedit's prompt, at most this long. */
#define PROMPT_MAX 256
#define HISTORY_SIZE 1000
#define CTRL_D '\004'

/* Writes all of BUF to FD (a socket: no SIGPIPE).  0, or -errno. */
static int write_all(int fd, const char *buf, size_t len, int sock)
{
	while (len > 0) {
		ssize_t n = sock ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read(2), retried when a signal interrupts it. */
static ssize_t read_some(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * Without a terminal: stdin to the socket, the socket to stdout, until the
 * server closes its end.  Stdin's end is a half-close: the server sees end
 * of file and may still answer.  One chunk at a time each way, so that a
 * slow side holds back the other (the credit does the rest).  Returns 0,
 * or -errno.
 */
static int pump(int fd)
{
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	char buf[32768];
	ssize_t n;
	int r;

	while (p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents) {
			if ((n = read_some(0, buf, sizeof(buf))) <= 0) {
				shutdown(fd, SHUT_WR);
				p[0].fd = -1;
			} else if ((r = write_all(fd, buf, (size_t)n, 1)) < 0) {
				/* The server stopped reading: what it still says may come. */
				p[0].fd = -1;
			}
		}
		if (p[1].revents) {
			if ((n = read_some(fd, buf, sizeof(buf))) <= 0)
				break;
			if ((r = write_all(1, buf, (size_t)n, 0)) < 0)
				return r;
		}
	}
	return 0;
}

/* ---- the terminal: libedit ---- */

/* libedit's functions, from edit_load(). */
static struct {
	__typeof__(el_init) *el_init;
	__typeof__(el_set) *el_set;
	__typeof__(el_line) *el_line;
	__typeof__(el_insertstr) *el_insertstr;
	__typeof__(el_source) *el_source;
	__typeof__(el_gets) *el_gets;
	__typeof__(el_end) *el_end;
	__typeof__(history_init) *history_init;
	__typeof__(history) *history;
	__typeof__(history_end) *history_end;
} ed;

/*
 * Loads libedit (CPRUN_LIBEDIT_SONAME, never closed) into ED.  Returns 0,
 * or -1 with dlerror()'s reason in WHY (WHYLEN bytes).
 */
static int edit_load(char *why, size_t whylen)
{
	void *h = dlopen(CPRUN_LIBEDIT_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *e;

#define ED_SYM(name) (*(void **)&ed.name = dlsym(h, #name)) != NULL
	if (h && ED_SYM(el_init) && ED_SYM(el_set) && ED_SYM(el_line) && ED_SYM(el_insertstr) &&
	    ED_SYM(el_source) && ED_SYM(el_gets) && ED_SYM(el_end) && ED_SYM(history_init) &&
	    ED_SYM(history) && ED_SYM(history_end))
		return 0;
#undef ED_SYM
	e = dlerror();
	snprintf(why, whylen, "%s", e ? e : CPRUN_LIBEDIT_SONAME);
	return -1;
}

static char prompt[PROMPT_MAX + 1];
static int editing; /* libedit owns the terminal's line (until the input's end) */

static char *prompt_fn(EditLine *el)
{
	(void)el;
	return prompt;
}

/* Starts a fresh line: libedit prints the prompt again, with the buffer empty. */
static void line_reset(EditLine *el)
{
	ed.el_set(el, EL_UNBUFFERED, 0);
	ed.el_set(el, EL_UNBUFFERED, 1);
}

/*
 * The server said something while a line may be in the making: the
 * prompt and what was typed are wiped, the server's whole lines written,
 * its unfinished last line (typically its prompt) becomes libedit's
 * prompt, and what was typed is put back.
 */
static void show_output(EditLine *el, const char *buf, size_t n)
{
	const LineInfo *li = ed.el_line(el);
	size_t plen = strlen(prompt), keep;
	char *typed, *all;
	const char *nl;

	if (!editing) {
		(void)write_all(1, buf, n, 0);
		return;
	}
	typed = strndup(li->buffer, (size_t)(li->lastchar - li->buffer));
	all = malloc(plen + n);
	if (typed == NULL || all == NULL) {
		(void)write_all(1, buf, n, 0);
		goto out;
	}
	memcpy(all, prompt, plen);
	memcpy(all + plen, buf, n);
	n += plen;
	(void)write_all(1, "\r\033[K", 4, 0);
	for (nl = NULL, keep = n; keep > 0; keep--) {
		if (all[keep - 1] == '\n') {
			nl = all + keep;
			break;
		}
	}
	keep = nl != NULL ? (size_t)(all + n - nl) : n;
	if (keep > PROMPT_MAX)
		keep = 0; /* no prompt but a long line in the making: shown as it is */
	(void)write_all(1, all, n - keep, 0);
	memcpy(prompt, all + n - keep, keep);
	prompt[keep] = '\0';
	line_reset(el);
	if (typed[0] != '\0') {
		ed.el_insertstr(el, typed);
		ed.el_set(el, EL_REFRESH);
	}
out:
	free(typed);
	free(all);
}

/* A line was completed (LINE, N bytes with its newline): to the server, and into the history. */
static int send_line(EditLine *el, History *hist, const char *line, int n, int fd)
{
	HistEvent ev;
	char *entry;
	int r;

	if ((r = write_all(fd, line, (size_t)n, 1)) < 0)
		return r;
	if (n > 1 && (entry = strndup(line, (size_t)n - 1)) != NULL) {
		ed.history(hist, &ev, H_ENTER, entry);
		free(entry);
	}
	/* The server's next prompt comes with its answer. */
	prompt[0] = '\0';
	line_reset(el);
	return 0;
}

/*
 * On a terminal: lines edited by libedit, sent when complete; the
 * server's output shown above the line being edited.  Ctrl-D on an empty
 * line is the half-close.  SFD reports SIGINT, SIGTERM, SIGHUP: the
 * terminal is restored and *sig set.  Returns 0, or -errno.
 */
static int console(int fd, int sfd, int *sig)
{
	struct pollfd p[3] = { { .fd = 0, .events = POLLIN },
			       { .fd = fd, .events = POLLIN },
			       { .fd = sfd, .events = POLLIN } };
	struct signalfd_siginfo si;
	EditLine *el = ed.el_init("cprun", stdin, stdout, stderr);
	History *hist = ed.history_init();
	HistEvent ev;
	const char *line;
	char buf[32768];
	ssize_t n;
	int count, r = 0;

	if (el == NULL || hist == NULL) {
		r = -ENOMEM;
		goto out;
	}
	ed.history(hist, &ev, H_SETSIZE, HISTORY_SIZE);
	ed.el_set(el, EL_HIST, ed.history, hist);
	ed.el_set(el, EL_EDITOR, "emacs");
	ed.el_set(el, EL_PROMPT, prompt_fn);
	ed.el_source(el, NULL); /* the user's ~/.editrc, as every editline program reads it */
	/* One key at a time, so that the server's output can be shown between keys. */
	ed.el_set(el, EL_UNBUFFERED, 1);
	editing = 1;
	while (p[1].fd >= 0) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[2].revents && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			*sig = (int)si.ssi_signo;
			break;
		}
		if (p[1].revents) {
			if ((n = read_some(fd, buf, sizeof(buf))) <= 0)
				break;
			show_output(el, buf, (size_t)n);
		}
		if (p[0].revents) {
			line = ed.el_gets(el, &count);
			/* Unbuffered, libedit gives Ctrl-D on an empty line as that one byte. */
			if (line == NULL || count <= 0 || (count == 1 && line[0] == CTRL_D)) {
				/* No more input (or the terminal is gone): the server sees end of file. */
				shutdown(fd, SHUT_WR);
				p[0].fd = -1;
				/* libedit showed the Ctrl-D as "^D": the prompt alone stays. */
				(void)write_all(1, "\r\033[K", 4, 0);
				(void)write_all(1, prompt, strlen(prompt), 0);
				(void)write_all(1, "\n", 1, 0);
				ed.el_set(el, EL_UNBUFFERED, 0);
				editing = 0;
			} else if (line[count - 1] == '\n' && send_line(el, hist, line, count, fd) < 0) {
				p[0].fd = -1; /* the server stopped reading; what it still says may come */
			}
		}
	}
	if (editing) {
		/* The server's last words without a newline stay on the screen, the line is left clean. */
		(void)write_all(1, "\r\033[K", 4, 0);
		(void)write_all(1, prompt, strlen(prompt), 0);
		(void)write_all(1, "\n", 1, 0);
	}
out:
	if (el != NULL)
		ed.el_end(el); /* gives the terminal its modes back */
	if (hist != NULL)
		ed.history_end(hist);
	return r;
}

/*
 * The colon that ends HOST in a transport's URI ("openssh://h1:/run/x",
 * "openssh://bob@h1:2222:/run/x", "docker://c1:/run/x"): the first after
 * "://", skipping a ":PORT" that another colon follows; in
 * "exec:COMMAND:/run/x" the last.  NULL when TARGET is no such URI, or an
 * exec: one without a PATH.
 */
static const char *uri_colon(const char *target)
{
	const char *scheme = strstr(target, "://"), *colon, *digits;

	/*
	 * exec:COMMAND:PATH — the command's words may hold colons of their
	 * own (user@host:port), a socket path seldom does: PATH follows the
	 * last colon.
	 */
	if (strncmp(target, "exec:", 5) == 0) {
		colon = strrchr(target, ':');
		return colon > target + 4 ? colon : NULL;
	}
	if (scheme == NULL || strchr(target, ':') != scheme)
		return NULL;
	colon = strchr(scheme + 3, ':');
	if (colon == NULL)
		return NULL;
	digits = colon + 1 + strspn(colon + 1, "0123456789");
	return digits > colon + 1 && *digits == ':' ? digits : colon;
}

/* Splits "HOST:PATH" (HOST may be "[v6]" or a URI).  Returns the PATH part and sets *host (allocated), or NULL. */
static const char *split_target(const char *target, char **host)
{
	const char *colon = target[0] == '[' ? strstr(target, "]:") : uri_colon(target);
	size_t hlen;

	if (colon == NULL && target[0] != '[' && strncmp(target, "exec:", 5) != 0)
		colon = strchr(target, ':');

	if (colon == NULL)
		return NULL;
	if (target[0] == '[') {
		target++;
		hlen = (size_t)(colon - target);
		colon++;
	} else {
		hlen = (size_t)(colon - target);
	}
	if (hlen == 0 || colon[1] == '\0' || (*host = strndup(target, hlen)) == NULL)
		return NULL;
	return colon + 1;
}

int cprun_connect(struct cpremote_options *o, const char *target)
{
	cpremote_child *child = NULL;
	char *host = NULL;
	const char *path = split_target(target, &host);
	char why[256];
	sigset_t ends;
	int r, st = 0, sig = 0, sfd = -1, code = 255;

	if (path == NULL) {
		fprintf(stderr, "cprun: --connect wants HOST:PATH, not %s\n", target);
		return 2;
	}
	o->host = host;
	if ((r = cpremote_connect(o, path, &child)) < 0) {
		fprintf(stderr, "cprun: %s\n", *cpremote_errmsg() ? cpremote_errmsg() : cpremote_strerror(r));
		code = r == CPREMOTE_EINVAL ? 2 : 255;
		goto out;
	}
	if (isatty(0) && isatty(1) && edit_load(why, sizeof why) < 0) {
		/* The bytes still pass, as without a terminal: only the line editing is lost. */
		fprintf(stderr, "cprun: no line editing (%s)\n", why);
		r = pump(cpremote_channel_fd(child));
	} else if (isatty(0) && isatty(1)) {
		/* The signals that end cprun come through the loop, so that the terminal is restored first. */
		sigemptyset(&ends);
		sigaddset(&ends, SIGINT);
		sigaddset(&ends, SIGTERM);
		sigaddset(&ends, SIGHUP);
		if (sigprocmask(SIG_BLOCK, &ends, NULL) < 0 || (sfd = signalfd(-1, &ends, SFD_CLOEXEC)) < 0) {
			r = -errno;
		} else {
			r = console(cpremote_channel_fd(child), sfd, &sig);
		}
	} else {
		r = pump(cpremote_channel_fd(child));
	}
	if (sig != 0) {
		code = 128 + sig;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "cprun: %s: %s: %s\n", host, path, strerror(-r));
		goto out;
	}
	/* The server closed its end: the status says whether the connection held to the end. */
	r = cpremote_wait(child, &st, 0);
	if (r < 0) {
		fprintf(stderr, "cprun: %s\n",
			*cpremote_child_errmsg(child) ? cpremote_child_errmsg(child) : cpremote_strerror(r));
		goto out;
	}
	code = 0;
out:
	if (sfd >= 0)
		close(sfd);
	cpremote_free(child);
	free(host);
	return code;
}
