/*
 * proto.h — the framed protocol spoken between the relay and the remote
 * helper, and between the library and the relay.  One encoder/decoder,
 * built into both sides, so they can never disagree.  doc/PROTOCOL.md is
 * the description; this file is its code.  Only libc is used here: the
 * helper is linked statically with it.
 */
#ifndef CPREMOTE_PROTO_H
#define CPREMOTE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errors.h" /* CPR_EBAD, the codec's failure */

#define CPR_MAGIC "CPREMOTE" /* 8 bytes, first thing of a hello */
#define CPR_MAGIC_LEN 8
#define CPR_VERSION 1
#define CPR_HELLO_LEN 16 /* magic, u8 version, 3 zero bytes, u32 capabilities */
/* Capability of the relay's hello: it takes CPR_REAPED frames (the helper sends none otherwise). */
#define CPR_CAP_REAPED 1u
/* Capability of the helper's hello: it takes CPR_CONNECT frames. */
#define CPR_CAP_CONNECT 2u
/* Capability of the helper's hello: it makes terminals (CPR_F_TTY) and takes CPR_RESIZE frames. */
#define CPR_CAP_TTY 4u
#define CPR_HEADER_LEN 12 /* u8 type, u8 stream, u16 zero, u32 child, u32 length */
#define CPR_MAX_DATA (32u * 1024) /* largest DATA payload */
#define CPR_MAX_SPAWN (4u * 1024 * 1024) /* largest SPAWN payload */
#define CPR_MAX_CONTROL 4096u /* largest payload of every other type */
#define CPR_WINDOW (256u * 1024) /* initial credit of every data stream, each way */
/*
 * A receiver returns credit once this much has been consumed, never for
 * every small message: a round trip then costs one frame each way, not
 * two.  It cannot stall a sender: a sender waits only at zero credit,
 * when a whole window is owed.
 */
#define CPR_CREDIT_BATCH (CPR_WINDOW / 4)
#define CPR_MAX_NOISE (64u * 1024) /* bytes tolerated before the hello (login-shell noise) */

enum cpr_type {
	CPR_SPAWN = 1, /* fields (see enum cpr_field) */
	CPR_SPAWNED = 2, /* u32 remote pid */
	CPR_ERROR = 3, /* fields: CPR_F_CODE, CPR_F_ERRNO, CPR_F_MESSAGE */
	CPR_DATA = 4, /* stream bytes */
	CPR_EOF = 5, /* empty: the stream ended (half-close) */
	CPR_CREDIT = 6, /* u32: the receiver may take that many more bytes */
	CPR_SIGNAL = 7, /* u32 wire signal number */
	CPR_EXIT = 8, /* u8 kind (CPR_EXITED / CPR_SIGNALED), u8 code or wire signal, u8 core, u8 zero */
	CPR_PING = 9, /* child 0, u32 cookie, u32 seconds of silence that mean a lost link */
	CPR_PONG = 10, /* child 0, the PING's cookie */
	CPR_REAPED = 11, /* as EXIT, but only a notice: the child was reaped, its output is still open */
	CPR_RESIZE = 12, /* the terminal's new window: CPR_WINSIZE_LEN bytes, as CPR_F_TTY */
	CPR_CONNECT = 13, /* as SPAWN, but fields CPR_F_PATH: join the channel to a socket file on the host */
	CPR_TYPE_MAX = 13,
};

enum cpr_stream {
	CPR_CHANNEL = 0,
	CPR_STDIN = 1,
	CPR_STDOUT = 2,
	CPR_STDERR = 3,
	CPR_NSTREAMS = 4,
};

enum cpr_exit_kind {
	CPR_EXITED = 0,
	CPR_SIGNALED = 1
};

/* Stage codes carried in CPR_F_CODE of a helper's CPR_ERROR. */
enum cpr_spawn_stage {
	CPR_STAGE_SETUP = 1, /* pipes, fork, bad request */
	CPR_STAGE_CHDIR = 2, /* chdir to the cwd failed */
	CPR_STAGE_EXEC = 3, /* execvp failed; errno says why */
	CPR_STAGE_CONNECT = 4, /* CONNECT: the socket file could not be connected to; errno says why */
};

/* Tags of the TLV fields of SPAWN and ERROR payloads: u8 tag, u32 length, bytes. */
enum cpr_field {
	/* what to run: relay -> helper, and library -> relay */
	CPR_F_FILE = 1, /* program */
	CPR_F_ARG = 2, /* one per argv element, argv[0] first */
	CPR_F_ENV = 3, /* one per "VAR=VALUE" addition */
	CPR_F_CWD = 4,
	CPR_F_FLAGS = 5, /* u32: CPR_SPAWN_NODE */
	CPR_F_STDIO = 6, /* 3 bytes: enum cpr_stdio for stdin, stdout, stderr */
	CPR_F_PATH = 7, /* CONNECT: the socket file on the host */
	/* a terminal */
	CPR_F_TTY = 8, /* CPR_WINSIZE_LEN bytes: run on a pseudo-terminal of this window size */
	CPR_F_TERM = 9, /* with CPR_F_TTY: TERM for the program */
	CPR_F_TTY_MODES = 10, /* with CPR_F_TTY: (u8 opcode, u32 value) pairs, see ttymodes.h */
	/* where: library -> relay only */
	CPR_F_HOST = 16,
	CPR_F_PORT = 17, /* u32 */
	CPR_F_USER = 18,
	CPR_F_IDENTITY = 19,
	CPR_F_CONFIG = 20,
	CPR_F_OPTION = 21, /* one per "Option=value" */
	CPR_F_HELPER = 22,
	CPR_F_VERBOSITY = 23, /* u32 */
	CPR_F_ACCEPT_NEW = 24, /* u32 0/1 */
	CPR_F_NO_UPLOAD = 25, /* u32 0/1: never upload the helper */
	CPR_F_CALLER_PGRP = 26, /* u32: the caller's process group, for reading a terminal stdin */
	/* errors */
	CPR_F_CODE = 32, /* u32: stage (helper) or cpremote error code as int32 (relay) */
	CPR_F_ERRNO = 33, /* u32 */
	CPR_F_MESSAGE = 34, /* text */
};

#define CPR_SPAWN_NODE 1u
#define CPR_SPAWN_LOGIN 2u /* FILE and ARG ignored: the user's login shell, as a login shell */

/* A window size on the wire: u16 rows, cols, x pixels, y pixels. */
#define CPR_WINSIZE_LEN 8

/* How the helper connects a stdio stream of the child. */
enum cpr_stdio {
	CPR_STDIO_NULL = 0,
	CPR_STDIO_PIPE = 1
};

struct cpr_header {
	uint8_t type;
	uint8_t stream;
	uint32_t child;
	uint32_t length;
};

/* Writes a hello carrying CAPS into OUT. */
void cpr_hello_encode(uint8_t out[CPR_HELLO_LEN], uint32_t caps);

/*
 * Looks for a hello in the first LEN bytes received, skipping any noise
 * before it.  Returns the number of bytes up to and including the hello
 * and sets *version and *caps; returns 0 when more bytes are needed; CPR_EBAD
 * when more than CPR_MAX_NOISE bytes of noise came first.  The caller
 * compares *version.
 */
ssize_t cpr_hello_find(const uint8_t *buf, size_t len, uint8_t *version, uint32_t *caps);

/* Largest payload allowed for frames of TYPE (0 for an unknown type). */
uint32_t cpr_max_length(uint8_t type);

/* Writes H into OUT (big-endian). */
void cpr_header_encode(uint8_t out[CPR_HEADER_LEN], const struct cpr_header *h);

/*
 * Reads a header.  Returns 0, or CPR_EBAD when the type is unknown, the stream
 * out of range, the reserved bytes not zero or the length above
 * cpr_max_length(type): the connection must then be dropped.
 */
int cpr_header_decode(const uint8_t in[CPR_HEADER_LEN], struct cpr_header *h);

/*
 * Finds the next whole frame in BUF.  Returns the frame's total size and
 * sets *h and *payload; 0 when more bytes are needed; CPR_EBAD on a bad header.
 * Never reads past LEN.
 */
ssize_t cpr_frame_next(const uint8_t *buf, size_t len, struct cpr_header *h, const uint8_t **payload);

/*
 * A byte queue: bytes appended at the tail, consumed at the head.  Used
 * for encoding frames and for buffering.  Zero-initialise; free with
 * cpr_buf_free().  Appends fail (return CPR_EBAD, nothing added) past LIMIT
 * bytes when limit is not 0.
 */
struct cpr_buf {
	uint8_t *data;
	size_t head, tail, cap;
	size_t limit;
};

int cpr_buf_append(struct cpr_buf *b, const void *p, size_t n);
static inline size_t cpr_buf_len(const struct cpr_buf *b)
{
	return b->tail - b->head;
}
/* The first byte queued; NULL for a buffer never appended to (no arithmetic on NULL). */
static inline uint8_t *cpr_buf_peek(const struct cpr_buf *b)
{
	return b->data ? b->data + b->head : NULL;
}
void cpr_buf_consume(struct cpr_buf *b, size_t n);
void cpr_buf_free(struct cpr_buf *b);

/* Appends a whole frame.  Returns 0, or CPR_EBAD (nothing added) when LEN is above the type's limit or the buffer's. */
int cpr_frame_append(struct cpr_buf *out, uint8_t type, uint8_t stream, uint32_t child, const void *payload,
		     uint32_t len);
/* Appends a frame whose payload is one big-endian u32 (SPAWNED, CREDIT, SIGNAL). */
int cpr_frame_append_u32(struct cpr_buf *out, uint8_t type, uint8_t stream, uint32_t child, uint32_t value);

/* TLV fields, appended to a payload being built in a cpr_buf. */
int cpr_field_put(struct cpr_buf *b, uint8_t tag, const void *value, uint32_t len);
int cpr_field_put_str(struct cpr_buf *b, uint8_t tag, const char *s);
int cpr_field_put_u32(struct cpr_buf *b, uint8_t tag, uint32_t v);

struct cpr_reader {
	const uint8_t *p;
	size_t left;
};

/*
 * Reads the next field.  Returns 1 and sets *tag, *value, *len; 0 at the
 * end; CPR_EBAD when a field runs past the end.
 */
int cpr_field_next(struct cpr_reader *r, uint8_t *tag, const uint8_t **value, uint32_t *len);

/* Big-endian helpers. */
uint32_t cpr_get_u32(const uint8_t *p);
void cpr_put_u32(uint8_t *p, uint32_t v);

/*
 * Signal numbers on the wire are those of Linux on x86 and ARM (HUP 1 ...
 * TERM 15 ...).  These map them to and from the local numbering; 0 when
 * the signal has no wire number or no local one.
 */
uint32_t cpr_signal_to_wire(int sig);
int cpr_signal_from_wire(uint32_t wire);

#endif
