/*
 * session.h — what the --connect tests share: a console server started
 * on a test host (its socket path and uid from its first line), clients
 * attached with cpremote_connect(), and reading a client until an
 * expected answer.
 */
#ifndef CPREMOTE_TEST_SESSION_H
#define CPREMOTE_TEST_SESSION_H

#include <stddef.h>

#include "cpremote.h"

/* A serving process on a host, started with cpremote_run(). */
struct server {
	cpremote_child *child;
	char path[256]; /* its socket file, from "listening on PATH uid UID" */
	char uid[16]; /* the uid it runs as there: the login user's */
};

/*
 * Starts ARGV on HOST with stdout piped, and reads its first line.
 * Returns 0, or -1 (a TAP diagnostic says why; S->child may be set, for
 * server_stop()).
 */
int server_start(struct server *s, const char *host, const char *const *argv);

/* The same with the helper HELPER named (NULL: the default). */
int server_start_with(struct server *s, const char *host, const char *const *argv, const char *helper);

/* SIGTERM to the server, then its status.  Returns 1 when it exited 0 within 30 s. */
int server_stop(struct server *s);

/* One attached client and what it has read that no expectation took yet. */
struct client {
	cpremote_child *child;
	int fd;
	char buf[8192];
	size_t len;
	char last[8192]; /* what the last client_expect() took, up to and including its needle */
};

/* Attaches C to PATH on HOST.  Returns 0, or the negative code of cpremote_connect(). */
int client_attach(struct client *c, const char *host, const char *path);

/* Sends the text LINE.  0, or -errno. */
int client_send(struct client *c, const char *line);

/*
 * Reads until NEEDLE has arrived (TIMEOUT_MS at most) and moves what
 * came up to its end into C->last.  Returns 1 when it arrived; 0 on
 * timeout or end of file, with what did arrive printed as a TAP
 * diagnostic.
 */
int client_expect(struct client *c, const char *needle, int timeout_ms);

void client_free(struct client *c);

#endif
