/*
 * relay.h — the relay's internal objects: connections (one SSH connection
 * and one remote helper per destination) and the caller's children that
 * ride on them.  See doc/PROTOCOL.md for the two links the relay joins.
 */
#ifndef CPREMOTE_RELAY_H
#define CPREMOTE_RELAY_H

#include <stdint.h>
#include <sys/queue.h>
#include <event2/event.h>

#include "proto.h"

struct conn;
struct rchild;

/* The relay's single event loop. */
extern struct event_base *relay_base;
/* Verbosity asked for by the first caller request (0 quiet). */
extern int relay_verbose;

/* Prints a diagnostic line on stderr when the verbosity is at least LEVEL. */
void relay_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* ---- local fds (localfd.c) ---- */

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
};

/* Takes ownership of FD for reading (FOR_WRITE 0) or writing (1).  Returns 0 or -errno (FD closed either way). */
int localfd_adopt(struct localfd *l, int fd, int for_write);
/* read/write without blocking; return as read(2)/write(2) (-1 with errno, EAGAIN when not ready). */
ssize_t localfd_read(struct localfd *l, void *buf, size_t n);
ssize_t localfd_write(struct localfd *l, const void *buf, size_t n);
/* Arms EV (an event on l->fd) once: event_add, or made active at once when the fd cannot be polled. */
void localfd_watch(struct localfd *l, struct event *ev, short what);
void localfd_close(struct localfd *l);

/* ---- children (child.c) ---- */

/*
 * Creates a child from one control message: FDS are the status socket,
 * the channel socket and the attached stdio fds per MASK (bit 0 stdin,
 * bit 1 stdout, bit 2 stderr).  Takes ownership of all fds.  The child
 * then reads its SPAWN request from the status socket by itself.
 */
void rchild_new(uint8_t mask, int *fds, int nfds);

/* Called by the connection: the helper's frame for this child. */
void rchild_on_frame(struct rchild *c, const struct cpr_header *h, const uint8_t *payload);

/* Called by the connection: it failed or was lost; CODE and MESSAGE for the caller. */
void rchild_on_conn_lost(struct rchild *c, int code, const char *message);

/* Called by the connection once it may send the child's SPAWN frame (it is queued). */
void rchild_on_conn_ready(struct rchild *c);

/* The child id on its connection, and the SPAWN payload for the helper. */
uint32_t rchild_id(const struct rchild *c);
const struct cpr_buf *rchild_spawn_payload(const struct rchild *c);

/* Frees every child (the caller is gone). */
void rchild_free_all(void);

/* ---- connections (conn.c) ---- */

/* Destination parsed from the caller's SPAWN request. */
struct dest {
	char *host, *user, *identity, *config, *helper;
	char **options; /* NULL-terminated */
	int port, verbosity, accept_new;
	struct cpr_buf key; /* the destination fields as sent: equal keys share a connection */
};

void dest_free(struct dest *d);

/*
 * Finds the open connection for D, or starts one; D's contents are taken
 * either way.  Registers C on it and sets *ID to its new child id.  Returns
 * NULL when out of memory.  Failures of a new connection are reported
 * later, from the loop, through rchild_on_conn_lost().
 */
struct conn *conn_attach(struct dest *d, struct rchild *c, uint32_t *id);

/* Whether frames may be queued now (the helper has been started). */
int conn_can_send(const struct conn *k);

/* Forgets C (it is finished). */
void conn_detach(struct conn *k, struct rchild *c);

/*
 * Queues a frame to the helper.  Returns 0, or -1 when the connection is
 * gone.  The queue is bounded by the credits of the streams feeding it.
 */
int conn_send(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, const void *payload,
	      uint32_t len);
int conn_send_u32(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, uint32_t v);

/* Closes every connection (the caller is gone). */
void conn_close_all(void);

#endif
