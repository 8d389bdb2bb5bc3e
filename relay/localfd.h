/* localfd.h — the caller's fds as the relay reads and writes them (localfd.c). */
#ifndef CPREMOTE_RELAY_LOCALFD_H
#define CPREMOTE_RELAY_LOCALFD_H

#include <sys/types.h>
#include <event2/event.h>

/*
 * A caller-side fd the relay reads or writes without blocking and without
 * changing the caller's file description: sockets are used with
 * MSG_DONTWAIT, pipes and terminals are reopened privately with O_NONBLOCK,
 * and fds that cannot be polled (regular files, /dev/null) are treated as
 * always ready.
 */
struct localfd {
	int fd;
	int is_socket;
	int pollable;
	int is_tty; /* a terminal: read only while the caller is its foreground job */
};

/* Takes ownership of FD for reading (FOR_WRITE 0) or writing (1).  Returns 0 or -errno (FD closed either way). */
int localfd_adopt(struct localfd *l, int fd, int for_write);
/* read/write without blocking; return as read(2)/write(2) (-1 with errno, EAGAIN when not ready). */
ssize_t localfd_read(struct localfd *l, void *buf, size_t n);
ssize_t localfd_write(struct localfd *l, const void *buf, size_t n);
/*
 * As localfd_read(), and for a socket also takes the fds that came with
 * the bytes (SCM_RIGHTS, close-on-exec): fds[0..*nfds), at most
 * CPR_FDS_PER_READ, each owned by the caller now.  *lost says that more
 * came than fit (the kernel closed them).  The kernel ends a read after
 * the message that carried fds, so they belong with the last byte read.
 */
ssize_t localfd_read_fds(struct localfd *l, void *buf, size_t n, int *fds, int *nfds, int *lost);
/* Arms EV (an event on l->fd) once: event_add, or made active at once when the fd cannot be polled. */
void localfd_watch(struct localfd *l, struct event *ev, short what);
void localfd_close(struct localfd *l);

/*
 * Whether the relay may read the terminal L now on behalf of the caller
 * CALLER (a pid) of process group PGRP: 1 when L is not a terminal, when
 * it is not the caller's controlling terminal (no job control applies),
 * when the caller's state cannot be read (it is gone: reading does no
 * harm then), or when PGRP is the terminal's foreground group; 0 when the
 * caller is stopped or in the background.  The relay has no controlling
 * terminal (tcgetpgrp() fails for it), so the answer comes from the
 * caller's /proc/PID/stat.  Never blocks.
 */
int localfd_tty_foreground(const struct localfd *l, pid_t caller, pid_t pgrp);

#endif
