/*
 * outq.c — the queue of frames to the relay (fd 1): the hello, then whole
 * frames appended by the handlers and the children's streams.  It keeps
 * track of frame boundaries as bytes are written, so that DATA of a
 * stream whose reader is gone can be taken out before it is sent.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/*
 * What this helper takes beyond version 1's first frames: CONNECT, and
 * terminals (spawn.c).  The tests build a helper with 0 here, to stand
 * for one older than both.
 */
#ifndef HELPER_HELLO_CAPS
#define HELPER_HELLO_CAPS (CPR_CAP_CONNECT | CPR_CAP_TTY)
#endif

int outq_hello(struct helper *h)
{
	uint8_t hello[CPR_HELLO_LEN];
	int r;

	cpr_hello_encode(hello, HELPER_HELLO_CAPS);
	if ((r = cpr_buf_append(&h->out, hello, sizeof(hello))) < 0)
		return r;
	h->out_opaque += sizeof(hello);
	return 0;
}

/* Length of the whole frame that starts at P (the queue holds only frames we encoded). */
static size_t frame_len(const uint8_t *p)
{
	return CPR_HEADER_LEN + cpr_get_u32(p + 8);
}

/* Takes N written bytes off the queue, keeping out_opaque on the frame boundaries. */
static void consume(struct helper *h, size_t n)
{
	size_t take;

	while (n > 0) {
		if (h->out_opaque == 0)
			h->out_opaque = frame_len(cpr_buf_peek(&h->out));
		take = n < h->out_opaque ? n : h->out_opaque;
		cpr_buf_consume(&h->out, take);
		h->out_opaque -= take;
		n -= take;
	}
}

int outq_flush(struct helper *h)
{
	ssize_t n;

	while (cpr_buf_len(&h->out) > 0) {
		n = write(1, cpr_buf_peek(&h->out), cpr_buf_len(&h->out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		consume(h, (size_t)n);
	}
	return 0;
}

void outq_drop_data(struct helper *h, uint32_t id, int s)
{
	uint8_t *base = cpr_buf_peek(&h->out);
	size_t off = h->out_opaque, len = cpr_buf_len(&h->out), flen;
	struct cpr_header f;

	while (off + CPR_HEADER_LEN <= len) {
		flen = frame_len(base + off);
		if (cpr_header_decode(base + off, &f) == 0 && f.type == CPR_DATA && f.child == id &&
		    f.stream == s) {
			memmove(base + off, base + off + flen, len - off - flen);
			len -= flen;
			h->out.tail -= flen;
		} else {
			off += flen;
		}
	}
}
