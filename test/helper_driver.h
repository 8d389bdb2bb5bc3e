/*
 * helper_driver.h — runs the built cpremote-helper ($CPREMOTE_HELPER) as a
 * subprocess over two pipes, as sshd would, and speaks the protocol to it
 * as a relay would: the hello, frames out, frames in, its end, and what
 * came back for one child (struct hd_result).  Shared by the unit tests
 * of the helper and the hostile-relay test; no SSH involved.
 */
#ifndef CPREMOTE_TEST_HELPER_DRIVER_H
#define CPREMOTE_TEST_HELPER_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* One running helper. */
struct hd {
	pid_t pid;
	int to; /* the helper's stdin; -1 once closed */
	int from; /* the helper's stdout (non-blocking); -1 once closed */
	struct cpr_buf in; /* read from the helper, not yet taken as frames */
};

/* Milliseconds on a monotonic clock. */
long hd_now_ms(void);

/*
 * Starts the helper with CPREMOTE_GRACE_MS set to GRACE_MS (NULL: the
 * helper's default).  Returns 0, or -1 (CPREMOTE_HELPER unset, no pipes,
 * no fork) with *h still safe to pass to hd_end().
 */
int hd_start(struct hd *h, const char *grace_ms);

/* Writes all of P to the helper (blocking); 0, or -1 when it is gone (EPIPE). */
int hd_send(struct hd *h, const void *p, size_t n);

/* Sends one frame; 0 or -1 as hd_send(). */
int hd_send_frame(struct hd *h, uint8_t type, uint8_t stream, uint32_t child, const void *p, uint32_t len);

/* Sends one frame whose payload is the u32 V; 0 or -1 as hd_send(). */
int hd_send_u32(struct hd *h, uint8_t type, uint8_t stream, uint32_t child, uint32_t v);

/* What one SPAWN asks for: NULL lists and cwd are left out of the frame. */
struct hd_spawn {
	const char *file;
	const char *const *argv;
	const char *const *env;
	const char *cwd;
	uint32_t flags;
	uint8_t stdio[3];
};

/* Sends SPAWN of A as child ID; 0 or -1 as hd_send(). */
int hd_send_spawn(struct hd *h, uint32_t id, const struct hd_spawn *a);

/*
 * Sends our hello and takes the helper's within 5 s.  Returns 0, or -1
 * when it did not come, was malformed or is not of CPR_VERSION.
 */
int hd_hello(struct hd *h);

/*
 * Takes the next frame from the helper within TIMEOUT_MS; its payload is
 * copied to P, which must hold CPR_MAX_DATA bytes.  Returns 1, 0 on
 * timeout, or -1 at EOF or on a frame that is malformed or longer.
 */
int hd_next_frame(struct hd *h, int timeout_ms, struct cpr_header *f, uint8_t *p);

/* Closes the helper's stdin: the relay has gone, as far as it can tell. */
void hd_close_input(struct hd *h);

/*
 * Waits up to TIMEOUT_MS for the helper to exit, reading and dropping its
 * output meanwhile so that it never blocks on a full pipe; then closes
 * both pipes and frees h->in.  Returns its wait status, or -1 after
 * killing it (SIGKILL) when it did not end in time or never started.
 */
int hd_end(struct hd *h, int timeout_ms);

/* What came back for one child. */
struct hd_result {
	int spawned;
	uint32_t pid;
	int error;
	uint32_t code, err;
	char msg[512];
	struct cpr_buf data[CPR_NSTREAMS];
	int eof[CPR_NSTREAMS];
	int exited;
	uint8_t kind, status;
	int eof_before_exit; /* every output stream's EOF came before EXIT */
	uint32_t stdin_credit;
};

/*
 * Files one frame for child ID into R (frames of other children are
 * ignored); CREDIT is returned for output DATA when AUTO_CREDIT.
 */
void hd_record(struct hd *h, uint32_t id, const struct cpr_header *f, const uint8_t *p, struct hd_result *r,
	       int auto_credit);

/* Reads frames for ID into R until its EXIT or ERROR, or until TIMEOUT_MS passed. */
void hd_collect(struct hd *h, uint32_t id, struct hd_result *r, int timeout_ms);

/* The NUL-terminated text of stream S (the buffer gets a NUL appended); "" when empty. */
const char *hd_text(struct hd_result *r, int s);

/* Frees R's buffers and zeroes it. */
void hd_result_free(struct hd_result *r);

#endif
