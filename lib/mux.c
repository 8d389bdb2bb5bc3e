/*
 * mux.c — sharing a relay between processes, as ssh's ControlMaster
 * shares a connection: with a ControlPath the library hands its children
 * to the relay listening there (a "master", started by an earlier caller
 * of the same user), or, with ControlMaster yes or auto, starts one that
 * listens there and outlives this process by ControlPersist seconds.
 *
 * Safety: the socket's directory must be the user's own and writable by
 * no one else, and the master's peer credentials must be the user's (the
 * master checks every caller's the same way).  Which caller becomes the
 * master is decided under an flock() of that directory, so concurrent
 * first callers end with one master, and a stale socket (a master that
 * was killed) is replaced by exactly one of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_hello.h"
#include "fdpass.h"
#include "lib.h"

/* The masters this process talks to: few (one per ControlPath in use). */
#define MUX_SLOTS 16

static struct mux_slot {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	pid_t owner; /* the process that opened fd: a fork must not use it */
} slots[MUX_SLOTS];
static int nslots;
static pthread_mutex_t mux_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork must not copy mux_lock held by another thread (the child could never take it). */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&mux_lock);
}

static void atfork_release(void)
{
	pthread_mutex_unlock(&mux_lock);
}

static void atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* Copies PATH's directory into DIR (at least PATH's size). */
static void dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == path ? 1 : (size_t)(slash - path);

	memcpy(dir, path, n);
	dir[n] = '\0';
}

/*
 * Refuses a ControlPath whose directory another user could write to or
 * owns (they could put their own socket there), or a socket file of
 * another user.  0, or CPREMOTE_EINVAL / -errno with the message set.
 */
static int path_safe(const char *path)
{
	char dir[sizeof slots[0].path];
	struct stat st;

	dir_of(path, dir);
	if (stat(dir, &st) < 0) {
		int r = -errno;

		lib_errmsg_set("ControlPath %s: directory %s: %s", path, dir, cpremote_strerror(r));
		return r;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		lib_errmsg_set("ControlPath %s: directory %s must be yours and writable by no one else "
			       "(owner uid %u, mode %03o)",
			       path, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
		return CPREMOTE_EINVAL;
	}
	if (lstat(path, &st) == 0 && st.st_uid != geteuid()) {
		lib_errmsg_set("ControlPath %s belongs to uid %u, not to you", path, (unsigned)st.st_uid);
		return CPREMOTE_EINVAL;
	}
	return 0;
}

/* The address of PATH, which fits (lib_mux_settings() checked). */
static struct sockaddr_un addr_of(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memcpy(a.sun_path, path, strlen(path) + 1);
	return a;
}

/*
 * Connects to the master at PATH and checks who it is and its greeting.
 * Returns the socket, -ENOENT or -ECONNREFUSED when no master listens
 * there (no file, or a stale one), or another negative code with the
 * message set.  *PID gets the master's pid.
 */
static int master_connect(const char *path, pid_t *pid)
{
	struct sockaddr_un a = addr_of(path);
	struct ucred cr;
	socklen_t len = sizeof cr;
	int fd, r;

	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		r = -errno;
		lib_errmsg_set("Control socket connect(%s): %s", path, cpremote_strerror(r));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
		lib_errmsg_set("ControlPath %s: the master runs as uid %u, not as you: refused", path,
			       (unsigned)cr.uid);
		r = CPREMOTE_EINVAL;
		goto fail;
	}
	if ((r = lib_relay_hello(fd, path, pid)) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

/* A socket listening at PATH, replacing a stale file.  Call under the directory's lock. */
static int master_listen(const char *path)
{
	struct sockaddr_un a = addr_of(path);
	struct stat st;
	int fd, r;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path); /* no one answered on it: its master is gone */
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		lib_errmsg_set("ControlPath %s: cannot listen: %s", path, cpremote_strerror(r));
		close(fd);
		return r;
	}
	/* The directory keeps others out already; the socket says so too. */
	(void)chmod(path, 0600);
	return fd;
}

/*
 * Connects to the master at M's path, or becomes it when M allows and none
 * answers.  Returns the control socket, -ENOENT / -ECONNREFUSED when there
 * is none and M does not make one (ControlMaster no), or another negative
 * code with the message set.
 */
static int master_get(const struct lib_mux *m)
{
	char dir[sizeof m->path];
	pid_t pid;
	int dfd = -1, lfd = -1, fd;

	if ((fd = path_safe(m->path)) < 0)
		return fd;
	/* No and auto use a live master without the lock; yes looks under it (below). */
	if (m->mode != LIB_MUX_YES) {
		fd = master_connect(m->path, &pid);
		if (fd >= 0 || m->mode == LIB_MUX_NO || (fd != -ENOENT && fd != -ECONNREFUSED))
			return fd;
	}
	dir_of(m->path, dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || flock(dfd, LOCK_EX) < 0) {
		fd = -errno;
		lib_errmsg_set("ControlPath %s: cannot lock %s: %s", m->path, dir, cpremote_strerror(fd));
		goto out;
	}
	/* Another first caller may have become the master while we waited for the lock. */
	fd = master_connect(m->path, &pid);
	if (fd >= 0 && m->mode == LIB_MUX_YES) {
		/* As ssh: a live master keeps its socket, and this caller goes without one. */
		close(fd);
		fd = -EEXIST;
		goto out;
	}
	if (fd >= 0 || (fd != -ENOENT && fd != -ECONNREFUSED))
		goto out;
	if ((fd = lfd = master_listen(m->path)) < 0)
		goto out;
	fd = lib_relay_spawn_master(lfd, m->path, m->persist_s, &pid);
	if (fd < 0)
		(void)unlink(m->path);
out:
	if (lfd >= 0)
		close(lfd);
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	return fd;
}

/* The slot of PATH for this process, or NULL.  Drops slots a fork inherited. */
static struct mux_slot *slot_find(const char *path)
{
	for (int i = 0; i < nslots; i++) {
		if (slots[i].owner != getpid()) {
			close(slots[i].fd);
			slots[i] = slots[--nslots];
			i--;
			continue;
		}
		if (strcmp(slots[i].path, path) == 0)
			return &slots[i];
	}
	return NULL;
}

/* Sends on M's master, connecting once more when the one we had went away. */
static int mux_send_locked(const struct lib_mux *m, uint8_t byte, const int *fds, int nfds)
{
	struct mux_slot *s = slot_find(m->path);
	int r = -EPIPE;

	for (int attempt = 0; attempt < 2 && (r == -EPIPE || r == -ECONNRESET); attempt++) {
		if (s == NULL) {
			if ((r = master_get(m)) < 0)
				return r;
			if (nslots == MUX_SLOTS) {
				close(slots[0].fd);
				slots[0] = slots[--nslots];
			}
			s = &slots[nslots++];
			snprintf(s->path, sizeof s->path, "%s", m->path);
			s->fd = r;
			s->owner = getpid();
		}
		r = cpr_send_fds(s->fd, byte, fds, nfds);
		if (r == -EPIPE || r == -ECONNRESET) {
			close(s->fd);
			*s = slots[--nslots];
			s = NULL;
		}
	}
	if (r < 0 && r > -4096)
		lib_errmsg_set("cannot pass descriptors to the master at %s: %s", m->path,
			       cpremote_strerror(r));
	return r;
}

int lib_mux_send(const struct lib_mux *m, uint8_t byte, const int *fds, int nfds)
{
	int r;

	if (m->path[0] == '\0')
		return lib_relay_send(byte, fds, nfds);
	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&mux_lock);
	r = mux_send_locked(m, byte, fds, nfds);
	pthread_mutex_unlock(&mux_lock);
	/*
	 * ControlMaster no without a master, or yes with a live one at the
	 * path: a relay of our own, as ssh then connects by itself.
	 */
	if ((m->mode == LIB_MUX_NO && (r == -ENOENT || r == -ECONNREFUSED)) || r == -EEXIST)
		return lib_relay_send(byte, fds, nfds);
	if (r == -ENOENT || r == -ECONNREFUSED)
		r = CPREMOTE_ERELAY;
	return r;
}

/* This process's own relay ends; of the masters only our sockets to them are closed. */
void cpremote_shutdown(void)
{
	lib_relay_shutdown();
	pthread_mutex_lock(&mux_lock);
	while (nslots > 0)
		close(slots[--nslots].fd);
	pthread_mutex_unlock(&mux_lock);
}

int cpremote_control(const struct cpremote_options *o, const char *command, long *pidp)
{
	struct lib_mux m;
	pid_t pid = -1;
	int fd, r;

	if (o == NULL || o->host == NULL || command == NULL) {
		lib_errmsg_set("options with a host and a command are required");
		return CPREMOTE_EINVAL;
	}
	if (strcmp(command, "check") != 0 && strcmp(command, "exit") != 0) {
		lib_errmsg_set("Invalid multiplex command.");
		return CPREMOTE_EINVAL;
	}
	if ((r = lib_mux_settings(o, &m)) < 0)
		return r;
	if (m.path[0] == '\0') {
		lib_errmsg_set("No ControlPath specified for \"-O\" command");
		return CPREMOTE_EINVAL;
	}
	if ((fd = master_connect(m.path, &pid)) < 0)
		return fd;
	r = 0;
	if (strcmp(command, "exit") == 0 && (r = cpr_send_fds(fd, CPR_CTL_EXIT, NULL, 0)) < 0)
		lib_errmsg_set("Control socket %s: %s", m.path, cpremote_strerror(r));
	close(fd);
	if (pidp)
		*pidp = pid;
	return r;
}
