/*
 * proto.c — the codec of the cp-remote protocol (doc/PROTOCOL.md): hello,
 * frame headers, TLV fields, the byte queue frames are built in, and the
 * signal numbering of the wire.  Only libc: the static helper links it too.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "proto.h"

uint32_t cpr_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void cpr_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void cpr_hello_encode(uint8_t out[CPR_HELLO_LEN], uint32_t caps)
{
	memcpy(out, CPR_MAGIC, CPR_MAGIC_LEN);
	out[8] = CPR_VERSION;
	out[9] = out[10] = out[11] = 0;
	cpr_put_u32(out + 12, caps);
}

ssize_t cpr_hello_find(const uint8_t *buf, size_t len, uint8_t *version, uint32_t *caps)
{
	size_t off, n;

	for (off = 0; off < len; off++) {
		/* Noise is counted before the magic starts, whatever follows. */
		if (off > CPR_MAX_NOISE)
			return CPR_EBAD;
		n = len - off < CPR_MAGIC_LEN ? len - off : CPR_MAGIC_LEN;
		if (memcmp(buf + off, CPR_MAGIC, n) != 0)
			continue;
		/* A magic (or its beginning at the end of what came) is here. */
		if (len - off < CPR_HELLO_LEN)
			return 0;
		*version = buf[off + CPR_MAGIC_LEN];
		*caps = cpr_get_u32(buf + off + 12);
		return (ssize_t)(off + CPR_HELLO_LEN);
	}
	return 0;
}

uint32_t cpr_max_length(uint8_t type)
{
	switch (type) {
	case CPR_SPAWN:
	case CPR_CONNECT: /* l->r it carries the destination, as SPAWN does */
		return CPR_MAX_SPAWN;
	case CPR_DATA:
		return CPR_MAX_DATA;
	case CPR_SPAWNED:
	case CPR_ERROR:
	case CPR_EOF:
	case CPR_CREDIT:
	case CPR_SIGNAL:
	case CPR_EXIT:
	case CPR_PING:
	case CPR_PONG:
	case CPR_REAPED:
	case CPR_RESIZE:
		return CPR_MAX_CONTROL;
	default:
		return 0;
	}
}

void cpr_header_encode(uint8_t out[CPR_HEADER_LEN], const struct cpr_header *h)
{
	out[0] = h->type;
	out[1] = h->stream;
	out[2] = out[3] = 0;
	cpr_put_u32(out + 4, h->child);
	cpr_put_u32(out + 8, h->length);
}

int cpr_header_decode(const uint8_t in[CPR_HEADER_LEN], struct cpr_header *h)
{
	uint8_t type = in[0], stream = in[1];
	uint32_t length = cpr_get_u32(in + 8);

	if (type < 1 || type > CPR_TYPE_MAX)
		return CPR_EBAD;
	if (stream >= CPR_NSTREAMS)
		return CPR_EBAD;
	if (in[2] != 0 || in[3] != 0)
		return CPR_EBAD;
	if (length > cpr_max_length(type))
		return CPR_EBAD;
	h->type = type;
	h->stream = stream;
	h->child = cpr_get_u32(in + 4);
	h->length = length;
	return 0;
}

ssize_t cpr_frame_next(const uint8_t *buf, size_t len, struct cpr_header *h, const uint8_t **payload)
{
	struct cpr_header hd;

	if (len < CPR_HEADER_LEN)
		return 0;
	if (cpr_header_decode(buf, &hd) != 0)
		return CPR_EBAD;
	/* The length was bounded by the decode, so the sum cannot wrap. */
	if (len - CPR_HEADER_LEN < hd.length)
		return 0;
	*h = hd;
	*payload = buf + CPR_HEADER_LEN;
	return (ssize_t)(CPR_HEADER_LEN + hd.length);
}

/*
 * Makes room for N more bytes at the tail, all or nothing.  Returns a
 * pointer to the room, or NULL when the limit or memory says no.
 */
static uint8_t *buf_reserve(struct cpr_buf *b, size_t n)
{
	size_t len = cpr_buf_len(b), cap;
	uint8_t *p;

	if (n > SIZE_MAX / 2 - len)
		return NULL;
	if (b->limit != 0 && len + n > b->limit)
		return NULL;
	if (b->cap - b->tail >= n)
		return b->data + b->tail;
	/* Reuse the consumed head first: a queue drained often stays small. */
	if (b->head > 0) {
		memmove(b->data, b->data + b->head, len);
		b->head = 0;
		b->tail = len;
		if (b->cap - b->tail >= n)
			return b->data + b->tail;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < len + n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return NULL;
	b->data = p;
	b->cap = cap;
	return b->data + b->tail;
}

int cpr_buf_append(struct cpr_buf *b, const void *p, size_t n)
{
	uint8_t *dst;

	if (n == 0)
		return 0;
	if ((dst = buf_reserve(b, n)) == NULL)
		return CPR_EBAD;
	memcpy(dst, p, n);
	b->tail += n;
	return 0;
}

void cpr_buf_consume(struct cpr_buf *b, size_t n)
{
	if (n > cpr_buf_len(b))
		n = cpr_buf_len(b);
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

void cpr_buf_free(struct cpr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->head = b->tail = b->cap = 0;
}

int cpr_frame_append(struct cpr_buf *out, uint8_t type, uint8_t stream, uint32_t child, const void *payload,
		     uint32_t len)
{
	struct cpr_header h = { .type = type, .stream = stream, .child = child, .length = len };
	uint8_t *dst;

	if (type < 1 || type > CPR_TYPE_MAX || stream >= CPR_NSTREAMS || len > cpr_max_length(type))
		return CPR_EBAD;
	if ((dst = buf_reserve(out, CPR_HEADER_LEN + (size_t)len)) == NULL)
		return CPR_EBAD;
	cpr_header_encode(dst, &h);
	if (len > 0)
		memcpy(dst + CPR_HEADER_LEN, payload, len);
	out->tail += CPR_HEADER_LEN + (size_t)len;
	return 0;
}

int cpr_frame_append_u32(struct cpr_buf *out, uint8_t type, uint8_t stream, uint32_t child, uint32_t value)
{
	uint8_t v[4];

	cpr_put_u32(v, value);
	return cpr_frame_append(out, type, stream, child, v, sizeof(v));
}

int cpr_field_put(struct cpr_buf *b, uint8_t tag, const void *value, uint32_t len)
{
	uint8_t *dst;

	if ((dst = buf_reserve(b, 5 + (size_t)len)) == NULL)
		return CPR_EBAD;
	dst[0] = tag;
	cpr_put_u32(dst + 1, len);
	if (len > 0)
		memcpy(dst + 5, value, len);
	b->tail += 5 + (size_t)len;
	return 0;
}

int cpr_field_put_str(struct cpr_buf *b, uint8_t tag, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX)
		return CPR_EBAD;
	return cpr_field_put(b, tag, s, (uint32_t)n);
}

int cpr_field_put_u32(struct cpr_buf *b, uint8_t tag, uint32_t v)
{
	uint8_t p[4];

	cpr_put_u32(p, v);
	return cpr_field_put(b, tag, p, sizeof(p));
}

int cpr_field_next(struct cpr_reader *r, uint8_t *tag, const uint8_t **value, uint32_t *len)
{
	uint32_t n;

	if (r->left == 0)
		return 0;
	if (r->left < 5)
		return CPR_EBAD;
	n = cpr_get_u32(r->p + 1);
	if (n > r->left - 5)
		return CPR_EBAD;
	*tag = r->p[0];
	*value = r->p + 5;
	*len = n;
	r->p += 5 + (size_t)n;
	r->left -= 5 + (size_t)n;
	return 1;
}

/* Wire (Linux x86/ARM) numbers of the signals that have one everywhere. */
static const struct {
	int local;
	uint8_t wire;
} signal_map[] = {
	{ SIGHUP, 1 },   { SIGINT, 2 },    { SIGQUIT, 3 },  { SIGILL, 4 },   { SIGTRAP, 5 },
	{ SIGABRT, 6 },  { SIGBUS, 7 },    { SIGFPE, 8 },   { SIGKILL, 9 },  { SIGUSR1, 10 },
	{ SIGSEGV, 11 }, { SIGUSR2, 12 },  { SIGPIPE, 13 }, { SIGALRM, 14 }, { SIGTERM, 15 },
	{ SIGCHLD, 17 }, { SIGCONT, 18 },  { SIGSTOP, 19 }, { SIGTSTP, 20 }, { SIGTTIN, 21 },
	{ SIGTTOU, 22 }, { SIGURG, 23 },   { SIGXCPU, 24 }, { SIGXFSZ, 25 }, { SIGVTALRM, 26 },
	{ SIGPROF, 27 }, { SIGWINCH, 28 }, { SIGIO, 29 },
#ifdef SIGPWR
	{ SIGPWR, 30 },
#endif
	{ SIGSYS, 31 },
};

uint32_t cpr_signal_to_wire(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(signal_map) / sizeof(signal_map[0]); i++)
		if (signal_map[i].local == sig)
			return signal_map[i].wire;
	return 0;
}

int cpr_signal_from_wire(uint32_t wire)
{
	size_t i;

	for (i = 0; i < sizeof(signal_map) / sizeof(signal_map[0]); i++)
		if (signal_map[i].wire == wire)
			return signal_map[i].local;
	return 0;
}
