/*
 * master.c — the relay as a ControlMaster (master.h): accepting callers
 * on the ControlPath socket, checking that each is the user's own, and
 * the idle clock of ControlPersist.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "child.h"
#include "control.h"
#include "master.h"

struct master {
	struct relay_ctx *ctx;
	struct event *accept_ev, *tick_ev;
	struct event **callers; /* one read event per connected caller */
	size_t ncallers, cap;
	char *path;
	dev_t dev;
	ino_t ino; /* the socket file we listen on, so that we never remove a successor's */
	long persist, idle_s;
};

/* The caller of EV is gone: forget it (its children end as their status sockets close). */
static void caller_drop(struct master *m, struct event *ev)
{
	for (size_t i = 0; i < m->ncallers; i++) {
		if (m->callers[i] != ev)
			continue;
		close(event_get_fd(ev));
		event_free(ev);
		m->callers[i] = m->callers[--m->ncallers];
		return;
	}
}

static void on_caller(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	int r = control_on_readable(m->ctx, fd);

	if (r == CONTROL_EXIT) {
		rlog(m->ctx, 1, "master %s: exit requested", m->path);
		event_base_loopbreak(m->ctx->base);
	} else if (r == CONTROL_GONE) {
		for (size_t i = 0; i < m->ncallers; i++)
			if (event_get_fd(m->callers[i]) == fd) {
				caller_drop(m, m->callers[i]);
				break;
			}
	}
}

/* Serves FD as a caller.  0, or -1 (FD closed). */
static int caller_add(struct master *m, int fd)
{
	struct event *ev;

	if (m->ncallers == m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 8;
		struct event **n = realloc(m->callers, ncap * sizeof *n);

		if (!n)
			goto fail;
		m->callers = n;
		m->cap = ncap;
	}
	evutil_make_socket_nonblocking(fd);
	if (!(ev = event_new(m->ctx->base, fd, EV_READ | EV_PERSIST, on_caller, m)) ||
	    event_add(ev, NULL) < 0) {
		if (ev)
			event_free(ev);
		goto fail;
	}
	m->callers[m->ncallers++] = ev;
	return 0;
fail:
	close(fd);
	return -1;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct master *m = arg;
	struct ucred cr;
	socklen_t len = sizeof cr;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return; /* EAGAIN, or out of fds: the next caller may fare better */
	/* The directory keeps others out; a peer of another uid means it did not: refuse it. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
		rlog(m->ctx, 0, "master %s: refused a caller of uid %u (pid %d): not this user", m->path,
		     (unsigned)cr.uid, (int)cr.pid);
		close(fd);
		return;
	}
	if (control_greet(fd) < 0) {
		close(fd);
		return;
	}
	(void)caller_add(m, fd);
}

/* Once a second: the idle clock runs while no caller and no child is left. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	if (m->ncallers > 0 || rchild_any()) {
		m->idle_s = 0;
		return;
	}
	if (m->persist >= 0 && m->idle_s++ >= m->persist) {
		rlog(m->ctx, 1, "master %s: idle for %ld s, ending", m->path, m->persist);
		event_base_loopbreak(m->ctx->base);
	}
}

/* Makes PATH.log this master's stderr: its creator's may be a terminal long gone. */
static void log_to_file(const char *path)
{
	size_t n = strlen(path) + 5;
	char *log = malloc(n);
	int fd;

	if (!log)
		return;
	memcpy(log, path, n - 5);
	memcpy(log + n - 5, ".log", 5);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
	free(log);
}

struct master *master_new(struct relay_ctx *ctx, int control_fd, int listen_fd, const char *path,
			  long persist)
{
	struct master *m = calloc(1, sizeof *m);
	struct timeval second = { 1, 0 };
	struct stat st;

	if (!m || !(m->path = strdup(path)))
		goto fail;
	m->ctx = ctx;
	m->persist = persist;
	log_to_file(path);
	if (stat(path, &st) == 0) {
		m->dev = st.st_dev;
		m->ino = st.st_ino;
	}
	evutil_make_socket_nonblocking(listen_fd);
	evutil_make_socket_closeonexec(listen_fd);
	evutil_make_socket_closeonexec(control_fd);
	m->accept_ev = event_new(ctx->base, listen_fd, EV_READ | EV_PERSIST, on_accept, m);
	m->tick_ev = event_new(ctx->base, -1, EV_PERSIST, on_tick, m);
	if (!m->accept_ev || !m->tick_ev || event_add(m->accept_ev, NULL) < 0 ||
	    event_add(m->tick_ev, &second) < 0 || caller_add(m, control_fd) < 0)
		goto fail;
	return m;
fail:
	master_free(m);
	return NULL;
}

void master_free(struct master *m)
{
	struct stat st;

	if (!m)
		return;
	/* A successor may have replaced a socket it found dead: only ours is removed. */
	if (m->path && stat(m->path, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino)
		(void)unlink(m->path);
	if (m->accept_ev) {
		close(event_get_fd(m->accept_ev));
		event_free(m->accept_ev);
	}
	if (m->tick_ev)
		event_free(m->tick_ev);
	while (m->ncallers > 0)
		caller_drop(m, m->callers[0]);
	free(m->callers);
	free(m->path);
	free(m);
}
