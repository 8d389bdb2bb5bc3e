/*
 * rchild.h — the relay's child object, shared by the two files that make
 * it: child.c (its life, its streams and the helper's frames for it) and
 * status.c (its status socket: the caller's request and signals).
 * status.c calls child.c, never the reverse.
 */
#ifndef CPREMOTE_RELAY_RCHILD_H
#define CPREMOTE_RELAY_RCHILD_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "conn.h"
#include "fdstream.h"
#include "localfd.h"
#include "log.h"
#include "proto.h"

/* The status socket carries one SPAWN request at most, then small frames. */
#define REQUEST_LIMIT (CPR_HEADER_LEN + CPR_MAX_SPAWN)
/*
 * The most a DATA frame from the relay carries: the frame, with its header
 * and 64 bytes to spare for the SSH message's own fields, fits one packet
 * of sshd's session maximum (32 KiB).  A frame of CPR_MAX_DATA bytes took
 * a full packet and a 44-byte one: twice the packets, sendto calls and
 * libcrypto set-ups for bulk data.
 */
#define RELAY_DATA_CHUNK (CPR_MAX_DATA - CPR_HEADER_LEN - 64)

enum rstate {
	R_REQUEST, /* waiting for the caller's SPAWN request */
	R_QUEUED, /* on a connection that cannot send yet */
	R_SPAWNING, /* SPAWN sent, SPAWNED or ERROR awaited */
	R_RUNNING
};

/* An event's argument: which child, which stream. */
struct stream_ref {
	struct rchild *c;
	int s;
};

struct rchild {
	TAILQ_ENTRY(rchild) link;
	struct relay_ctx *ctx;
	enum rstate state;
	int dead; /* ended or failed: every event is off, the sweep frees it */
	struct conn *conn;
	uint32_t id;
	char *host, *file;

	int status_fd;
	struct event *status_ev;
	struct cpr_buf status_in;
	int orphan; /* the caller let go of it: output is dropped */
	uint32_t pending_signal; /* sent by the caller before the child ran (wire number) */
	int tty; /* asked for a terminal: the helper must have CPR_CAP_TTY */
	uint8_t pending_resize[CPR_WINSIZE_LEN]; /* the caller's last RESIZE before the child ran */
	int has_pending_resize;
	pid_t caller_pid, caller_pgrp; /* who reads a terminal stdin (0: unknown, read always) */
	struct event *fg_timer; /* a terminal stdin: polls for the caller's return to the foreground */

	/* Per stream: the local fd (the channel socket serves both ways). */
	struct localfd lfd[CPR_NSTREAMS];
	struct event *rd_ev[CPR_NSTREAMS]; /* channel, stdin: local -> helper */
	struct event *wr_ev[CPR_NSTREAMS]; /* channel, stdout, stderr: helper -> local */
	uint32_t credit[CPR_NSTREAMS]; /* what the helper still takes */
	int in_eof[CPR_NSTREAMS];
	struct cpr_buf out[CPR_NSTREAMS]; /* what the helper sent, not yet written */
	uint32_t unacked[CPR_NSTREAMS];
	int out_eof[CPR_NSTREAMS], out_done[CPR_NSTREAMS], out_broken[CPR_NSTREAMS];

	struct stream_ref ref[CPR_NSTREAMS];
	uint8_t stdio_mask; /* which stdio fds the caller attached */

	struct cpr_buf spawn;
	uint8_t spawn_type; /* CPR_SPAWN, or CPR_CONNECT: FILE names a socket file, no process runs */
	struct event *confirm_ev; /* the deadline for SPAWNED or ERROR once SPAWN is sent */
	int exited;
	uint8_t exit_info[4];

	/* Fds the caller passed on the channel (fdstream.c), by stream - CPR_FD_STREAM0. */
	struct rfdp *fdp[CPR_FD_STREAMS];
	int nfdp; /* streams opened so far (they are not reused yet) */
	uint64_t chan_sent; /* channel bytes sent to the helper: where the next fd rides */
};

/* A new child of CTX, listed, its streams empty with a full window.  NULL when out of memory. */
struct rchild *rchild_alloc(struct relay_ctx *ctx);

/* Creates the events of C's attached streams.  Returns 0 or -ENOMEM. */
int rchild_stream_events(struct rchild *c);

/* Marks C dead: none of its events fires again, and the sweep frees it after this loop turn. */
void rchild_mark_dead(struct rchild *c);

/* Tells the library that C failed with CODE and MSG, and marks it dead (nothing when dead already). */
void rchild_fail(struct rchild *c, int code, const char *msg);

/* Sends C's SPAWN frame once it is queued.  Fails C when the connection refuses it. */
void rchild_send_spawn(struct rchild *c);

/* The caller let go of the running C: it is killed, its pending output dropped (and credited). */
void rchild_orphan(struct rchild *c);

/* How the connection reaches a child (conn_attach()'s OPS). */
extern const struct conn_child_ops rchild_conn_ops;

#endif
