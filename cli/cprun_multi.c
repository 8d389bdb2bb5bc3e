/*
 * cprun_multi.c — cprun -H: starts one program on every host through
 * libcpremote, then one poll loop (no threads) over every child's stdout,
 * stderr and exit fd writes their lines prefixed by host, forwards
 * signals, and sums the results up.  With -b each host's stdout is
 * gathered instead (cprun_gather.c) and printed once all have ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cprun_dest.h"
#include "cprun_gather.h"
#include "cprun_lines.h"
#include "cprun_multi.h"
#include "cprun_status.h"

/* Failures named one by one in the summary; the rest are only counted. */
#define SUMMARY_NAMED 8

struct run {
	const char *host;
	char *prefix; /* "HOST: ", or "" */
	cpremote_child *child; /* NULL when it never started */
	struct cprun_lines lines[3]; /* [1] stdout, [2] stderr */
	int done; /* exit status known and its output written */
	int code; /* cprun's status for this host */
	char why[64]; /* "exit 1", "signal 9", or cpremote_strerror()'s text */
	int out_lost; /* writing its output to our stdout or stderr failed (a full disk) */
	struct cprun_gather out; /* with -b: its stdout, until it is printed */
	size_t share; /* with -b: the most OUT may hold; 0: stdout is written as it comes */
};

/* The progress line on a terminal: drawn while children run, erased before output. */
struct progress {
	int on; /* stderr is a terminal */
	int shown; /* a line is on the screen now */
	size_t done; /* the count it shows */
};

static void progress_clear(struct progress *pg)
{
	if (pg->shown) {
		/* Best effort: a lost progress line does no harm. */
		if (write(2, "\r\033[K", 4) < 0) {
		}
		pg->shown = 0;
	}
}

static void progress_draw(struct progress *pg, size_t done, size_t n)
{
	char line[64];
	int len;

	/* Redraw only what changed: a chatty host must not cost a write per wake-up. */
	if (!pg->on || (pg->shown && pg->done == done))
		return;
	pg->done = done;
	len = snprintf(line, sizeof(line), "\r\033[K[%zu/%zu done]", done, n);
	if (len > 0 && write(2, line, (size_t)len) == len)
		pg->shown = 1;
}

/* Tells on stderr why HOST failed, in a line of its own below the progress line. */
static void __attribute__((format(printf, 2, 3))) report(struct progress *pg, const char *fmt, ...)
{
	va_list ap;

	progress_clear(pg);
	fputs("cprun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/*
 * With -b, R's stdout outgrew its share (WHY -ENOBUFS) or memory: what it gathered is written out
 * as it would have been without -b, and the rest follows as it comes, so
 * that nothing is lost and memory stays bounded.  Returns 0 or -errno.
 */
static int spill(struct run *r, int why, struct progress *pg)
{
	int w;

	if (why == -ENOBUFS)
		report(pg, "%s: more than %zu bytes of output: written as it comes, not gathered", r->host,
		       r->share);
	else
		report(pg, "%s: gathering output: %s: written as it comes", r->host, strerror(-why));
	w = cprun_lines_feed(&r->lines[1], 1, r->prefix, r->out.buf, r->out.len);
	cprun_gather_free(&r->out);
	r->share = 0;
	return w;
}

/* Takes N bytes of stream I of R: gathered (-b stdout), else written by lines.  0 or -errno. */
static int take(struct run *r, int i, const char *buf, size_t n, struct progress *pg)
{
	if (i == 1 && r->share > 0) {
		int g = cprun_gather_add(&r->out, buf, n, r->share);

		if (g == 0)
			return 0;
		if ((g = spill(r, g, pg)) < 0)
			return g;
	}
	progress_clear(pg);
	return cprun_lines_feed(&r->lines[i], i, r->prefix, buf, n);
}

/*
 * Copies what stream I (1 or 2) of R has now to our fd I.  Returns 1 while
 * it stays open, 0 once it ended (flushed and closed).
 */
static int pump(struct run *r, int i, struct progress *pg)
{
	char buf[65536];
	int fd = cpremote_stdio_fd(r->child, i);

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n > 0) {
			int w = take(r, i, buf, (size_t)n, pg);

			if (w < 0) {
				/*
				 * Our own fd I failed: the stream ends here, as a local
				 * program's would (closing it gives the remote writer
				 * EPIPE); an error other than a reader gone is said.
				 */
				if (w != -EPIPE) {
					report(pg, "%s: %s: %s", r->host, i == 1 ? "stdout" : "stderr",
					       strerror(-w));
					r->out_lost = 1;
				}
				(void)cpremote_close_stdio(r->child, i);
				return 0;
			}
			/* One read per wake-up: a chatty host must not starve the others. */
			if ((size_t)n < sizeof(buf))
				return 1;
			continue;
		}
		if (n < 0)
			report(pg, "%s: reading output: %s", r->host, strerror(errno));
		progress_clear(pg);
		(void)cprun_lines_flush(&r->lines[i], i, r->prefix);
		(void)cpremote_close_stdio(r->child, i);
		return 0;
	}
}

/*
 * Takes R's end once its exit fd is readable.  All the child's output is
 * in our pipes before the status is reported (cpremote_wait's promise),
 * so draining them to EAGAIN gets all of it even when some grandchild
 * still holds the remote ends open.
 */
static void finish(struct run *r, struct progress *pg)
{
	int status, w;

	w = cpremote_wait(r->child, &status, CPREMOTE_WNOHANG);
	if (w == 0)
		return;
	if (w == 1) {
		r->code = cprun_status_wait(status);
		if (WIFSIGNALED(status))
			snprintf(r->why, sizeof(r->why), "signal %d", WTERMSIG(status));
		else
			snprintf(r->why, sizeof(r->why), "exit %d", r->code);
		/* Output the relay could not write (a full disk): said, and not a success. */
		if (cpremote_child_errmsg(r->child)[0] != '\0') {
			report(pg, "%s", cpremote_child_errmsg(r->child));
			r->out_lost = 1;
		}
		if (r->out_lost && r->code == 0)
			r->code = 1;
	} else {
		const char *m = cpremote_child_errmsg(r->child);

		/* A failed start (not found, refused host key ...) arrives here too. */
		r->code = cprun_status_run_error(w);
		snprintf(r->why, sizeof(r->why), "%s", cpremote_strerror(w));
		report(pg, "%s", m); /* it names the host */
	}
	for (int i = 1; i <= 2; i++) {
		if (cpremote_stdio_fd(r->child, i) >= 0 && pump(r, i, pg)) {
			progress_clear(pg);
			(void)cprun_lines_flush(&r->lines[i], i, r->prefix);
			(void)cpremote_close_stdio(r->child, i);
		}
	}
	r->done = 1;
}

/* Starts BASE's program on R->host.  Marks R done with a status when it fails. */
static void start(struct run *r, const struct cpremote_options *base, struct progress *pg)
{
	struct cpremote_options o = *base;
	struct cprun_dest dest;
	char err[256];
	int e;

	/* main() checked every destination: this cannot fail but for memory. */
	if (cprun_dest_apply(r->host, &o, &dest, err, sizeof(err)) < 0) {
		r->code = 255;
		snprintf(r->why, sizeof(r->why), "bad destination");
		report(pg, "%s: %s", r->host, err);
		r->done = 1;
		return;
	}
	o.stdio[0].mode = CPREMOTE_STDIO_NULL;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_PIPE;
	o.flags &= ~(unsigned)CPREMOTE_CHANNEL_FD;
	/* Every host's handshake goes on at once; the start is confirmed through the exit fd. */
	o.flags |= CPREMOTE_NOWAIT;
	e = cpremote_run(&o, &r->child);
	cprun_dest_free(&dest);
	if (e < 0) {
		r->code = cprun_status_run_error(e);
		snprintf(r->why, sizeof(r->why), "%s", cpremote_strerror(e));
		report(pg, "%s", *cpremote_errmsg() != '\0' ? cpremote_errmsg() : cpremote_strerror(e));
		r->done = 1;
		return;
	}
	/* With -v and --ship, as cprun's single mode: whether this host needed the upload. */
	if (o.ship != NULL && o.verbosity > 0)
		report(pg, "%s: shipped %s: %lld bytes uploaded", r->host, o.ship,
		       cpremote_shipped_bytes(r->child));
	/* No one talks to the children: their channel ends at once, as in cprun's single mode. */
	(void)shutdown(cpremote_channel_fd(r->child), SHUT_RDWR);
	for (int i = 1; i <= 2; i++) {
		int fd = cpremote_stdio_fd(r->child, i), fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

/*
 * Prints "cprun: K of N hosts succeeded (h4: exit 1, ...)" (not when
 * QUIET) and returns the worst status.  The line is built first and
 * written at once, so that it stays one line on a shared stderr.
 */
static int summary(struct run *runs, size_t n, int quiet)
{
	size_t ok = 0, named = 0, len = 0;
	char *line = NULL;
	FILE *f;
	int worst = 0;

	for (size_t i = 0; i < n; i++) {
		if (runs[i].code == 0)
			ok++;
		if (runs[i].code > worst)
			worst = runs[i].code;
	}
	if (quiet || (f = open_memstream(&line, &len)) == NULL)
		return worst;
	fprintf(f, "cprun: %zu of %zu host%s succeeded", ok, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (runs[i].code == 0)
			continue;
		if (named == SUMMARY_NAMED) {
			fprintf(f, ", %zu more", n - ok - named);
			break;
		}
		fprintf(f, "%s%s: %s", named == 0 ? " (" : ", ", runs[i].host, runs[i].why);
		named++;
	}
	fputs(named > 0 ? ")\n" : "\n", f);
	if (fclose(f) == 0)
		fputs(line, stderr);
	free(line);
	return worst;
}

/* Sends signal SIG to every child still running. */
static void forward(struct run *runs, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++)
		if (!runs[i].done)
			(void)cpremote_kill(runs[i].child, sig);
}

/* Whether every program still waited for has exited (what it left behind holds its output). */
static int all_exited(const struct run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!runs[i].done && !cpremote_exited(runs[i].child, NULL))
			return 0;
	return 1;
}

/*
 * SIG arrived once every program had exited, while processes they left
 * behind hold their output: says so, prints the lines each host has begun,
 * and gives cprun's exit status.  Freeing the handles ends those processes.
 */
static int drain_interrupted(struct run *runs, size_t n, int sig, struct progress *pg, int quiet)
{
	progress_clear(pg);
	for (size_t i = 0; i < n; i++)
		for (int s = 1; s <= 2 && !runs[i].done; s++)
			(void)cprun_lines_flush(&runs[i].lines[s], s, runs[i].prefix);
	if (!quiet)
		fprintf(stderr,
			"cprun: the programs exited; processes they left hold their output open: "
			"stopped waiting for them on SIG%s\n",
			sigabbrev_np(sig) != NULL ? sigabbrev_np(sig) : "?");
	return 128 + sig;
}

/*
 * With -b: writes every distinct output gathered once, under its hosts
 * (cprun_gather_print()).  A failed write is said; the status then is
 * not a success (1), as for a host whose output was lost.
 */
static int print_gathered(struct run *runs, size_t n, struct progress *pg)
{
	const char **hosts = calloc(n, sizeof(*hosts));
	struct cprun_gather *g = calloc(n, sizeof(*g));
	int w = -ENOMEM;

	if (hosts != NULL && g != NULL) {
		for (size_t i = 0; i < n; i++) {
			hosts[i] = runs[i].host;
			g[i] = runs[i].out; /* borrowed: freed with the run */
		}
		progress_clear(pg);
		w = cprun_gather_print(1, hosts, g, n);
	}
	free(hosts);
	free(g);
	if (w < 0 && w != -EPIPE)
		report(pg, "stdout: %s", strerror(-w));
	return w < 0 ? 1 : 0;
}

/*
 * See cprun_multi.h.  Over 80 lines: the one poll loop of -H (start every
 * host, pump every output, finish, summarise), whose steps share the run
 * table and the poll set.
 */
int cprun_multi(const struct cpremote_options *base, const struct cprun_hosts *hosts,
		const struct cprun_multi_opts *mo)
{
	struct progress pg = { .on = isatty(2) && !mo->quiet, .shown = 0, .done = 0 };
	struct run *runs = NULL;
	struct pollfd *pfd = NULL;
	size_t *owner = NULL, n = hosts->n, done = 0;
	sigset_t fwd;
	int sfd = -1, code = 255, gathered = 0, lost;

	runs = calloc(n, sizeof(*runs));
	pfd = calloc(3 * n + 1, sizeof(*pfd));
	owner = calloc(3 * n + 1, sizeof(*owner));
	if (runs == NULL || pfd == NULL || owner == NULL) {
		fputs("cprun: out of memory\n", stderr);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(hosts->v[i]) + 3;

		runs[i].host = hosts->v[i];
		runs[i].share = mo->gather ? cprun_gather_share(n) : 0;
		if ((runs[i].prefix = malloc(len)) == NULL) {
			fputs("cprun: out of memory\n", stderr);
			goto out;
		}
		if (mo->prefix)
			snprintf(runs[i].prefix, len, "%s: ", hosts->v[i]);
		else
			runs[i].prefix[0] = '\0';
	}

	/*
	 * With CPREMOTE_NOWAIT these return at once: every host connects at
	 * the same time, and a failed start is reported by finish().
	 */
	for (size_t i = 0; i < n; i++) {
		start(&runs[i], base, &pg);
		if (runs[i].done)
			done++;
	}

	sigemptyset(&fwd);
	for (int i = 0; i < mo->nsignals; i++)
		sigaddset(&fwd, mo->signals[i]);
	if (sigprocmask(SIG_BLOCK, &fwd, NULL) < 0 ||
	    (sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		report(&pg, "signalfd: %s", strerror(errno));
		forward(runs, n, SIGKILL);
		goto out;
	}

	while (done < n) {
		nfds_t np = 0;

		progress_draw(&pg, done, n);
		pfd[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			if (runs[i].done)
				continue;
			for (int s = 1; s <= 2; s++) {
				if (cpremote_stdio_fd(runs[i].child, s) < 0)
					continue;
				owner[np] = i;
				pfd[np++] = (struct pollfd){ .fd = cpremote_stdio_fd(runs[i].child, s),
							     .events = POLLIN };
			}
			owner[np] = i;
			pfd[np++] = (struct pollfd){ .fd = cpremote_exit_fd(runs[i].child),
						     .events = POLLIN };
		}
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			report(&pg, "poll: %s", strerror(errno));
			forward(runs, n, SIGKILL);
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				forward(runs, n, (int)si.ssi_signo);
				if (cprun_status_ends_drain((int)si.ssi_signo) && all_exited(runs, n)) {
					code = drain_interrupted(runs, n, (int)si.ssi_signo, &pg, mo->quiet);
					goto out;
				}
			}
		}
		for (nfds_t k = 1; k < np; k++) {
			struct run *r = &runs[owner[k]];

			if (r->done || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[k].fd == cpremote_exit_fd(r->child))
				finish(r, &pg);
			else if (pfd[k].fd == cpremote_stdio_fd(r->child, 1))
				(void)pump(r, 1, &pg);
			else if (pfd[k].fd == cpremote_stdio_fd(r->child, 2))
				(void)pump(r, 2, &pg);
			if (r->done)
				done++;
		}
	}
	progress_clear(&pg);
	/* The groups before the summary, so that the summary stays the last line. */
	lost = mo->gather && print_gathered(runs, n, &pg) != 0;
	gathered = 1;
	code = summary(runs, n, mo->quiet);
	if (lost && code == 0)
		code = 1;
out:
	progress_clear(&pg);
	/* Also after an interruption: what was gathered is not lost. */
	if (mo->gather && !gathered && runs != NULL)
		(void)print_gathered(runs, n, &pg);
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; runs != NULL && i < n; i++) {
		cpremote_free(runs[i].child);
		cprun_lines_free(&runs[i].lines[1]);
		cprun_lines_free(&runs[i].lines[2]);
		cprun_gather_free(&runs[i].out);
		free(runs[i].prefix);
	}
	free(runs);
	free(pfd);
	free(owner);
	return code;
}
