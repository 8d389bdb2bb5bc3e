/*
 * request.h — the caller's SPAWN request, split into the connection key
 * (which connection serves it) and the payload for the helper (what to
 * run).  A leaf: only the codec is used, so it is unit-tested and fuzzed
 * on its own (test/unit/test_request.c, test/fuzz/fuzz_request.c).
 */
#ifndef CPREMOTE_RELAY_REQUEST_H
#define CPREMOTE_RELAY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * Where a child runs.  Two requests with equal keys share one SSH
 * connection; every field here splits connections, and nothing else does
 * (verbosity, for one, does not).  A new destination field must be added
 * here and to conn_key_equal().
 */
struct conn_key {
	char *host, *user, *identity, *config, *helper; /* NULL when not given */
	char **options; /* "Option=value" as given, NULL-terminated, or NULL */
	int port; /* 0: not given */
	int accept_new; /* 0/1 */
	int no_upload; /* 0/1: the request's own CPR_F_NO_UPLOAD */
};

/* One parsed request. */
struct spawn_request {
	uint8_t type; /* set before request_parse(): CPR_CONNECT, else (0 too) a SPAWN */
	struct conn_key key;
	int verbosity; /* CPR_F_VERBOSITY: raises the relay's, never splits */
	int caller_pgrp; /* CPR_F_CALLER_PGRP, 0 when not sent: stays in the relay */
	char *file; /* the program (CONNECT: the socket file; "login shell" with CPR_SPAWN_LOGIN), for messages */
	int tty; /* CPR_F_TTY came: the helper must have CPR_CAP_TTY */
	struct cpr_buf spawn; /* the SPAWN (or CONNECT) payload for the helper, CPR_F_STDIO included */
};

/*
 * Parses the SPAWN payload P (LEN bytes) of the library into R (zeroed by
 * the caller); MASK says which stdio fds were passed (bit 0 stdin, 1
 * stdout, 2 stderr), from which CPR_F_STDIO is derived.  A CONNECT (R's
 * type) needs CPR_F_PATH instead of a program and takes no stdio fds; its
 * payload carries the PATH alone.  Returns 0, or a
 * negative code (CPREMOTE_EINVAL, -ENOMEM) with a message in E; R must
 * be released with request_free() either way.  Never reads past LEN.
 */
int request_parse(const uint8_t *p, uint32_t len, uint8_t mask, struct spawn_request *r, struct cpr_err *e);

/* Releases what R holds (R may be zeroed or partly filled). */
void request_free(struct spawn_request *r);

/* Whether A and B name the same destination in every field. */
int conn_key_equal(const struct conn_key *a, const struct conn_key *b);

/* Releases what K holds and zeroes it. */
void conn_key_free(struct conn_key *k);

#endif
