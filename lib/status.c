/* status.c — reading and writing frames on a child's status socket to the relay. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "lib.h"

/* Enough for the largest frame the relay sends us (control frames only). */
#define STATUS_BUF_LIMIT (CPR_HEADER_LEN + CPR_MAX_CONTROL)

/*
 * Returns the next whole frame from the status socket (see lib.h).  The
 * frame handed out last time stayed in the buffer so that its payload
 * pointer was valid; it is consumed here.
 */
int lib_status_next(struct cpremote_child *child, int block, struct cpr_header *h, const uint8_t **payload)
{
	uint8_t tmp[4096];
	ssize_t fr, n;
	size_t want;

	cpr_buf_consume(&child->in, child->in_used);
	child->in_used = 0;
	for (;;) {
		/* Not cpr_buf_peek() of an empty buffer: NULL plus 0 is undefined in C. */
		const uint8_t *buf = cpr_buf_len(&child->in) > 0 ? cpr_buf_peek(&child->in) : tmp;

		fr = cpr_frame_next(buf, cpr_buf_len(&child->in), h, payload);
		if (fr < 0)
			return CPREMOTE_EPROTO;
		if (fr > 0) {
			child->in_used = (size_t)fr;
			return 1;
		}
		/* Never read past the frame's end: a partial one must not outgrow the limit. */
		want = sizeof(tmp);
		if (STATUS_BUF_LIMIT - cpr_buf_len(&child->in) < want)
			want = STATUS_BUF_LIMIT - cpr_buf_len(&child->in);
		if (want == 0)
			return CPREMOTE_EPROTO;
		do {
			n = recv(child->status_fd, tmp, want, block ? 0 : MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !block)
			return 0;
		if (n < 0)
			return errno == ECONNRESET ? CPREMOTE_ERELAY : -errno;
		if (n == 0)
			return CPREMOTE_ERELAY;
		if (cpr_buf_append(&child->in, tmp, (size_t)n) < 0)
			return -ENOMEM;
	}
}

/* Picks CODE and MESSAGE out of an ERROR payload; unknown fields are skipped. */
void lib_error_fields(const uint8_t *payload, uint32_t len, int *code, const uint8_t **msg, uint32_t *msglen)
{
	struct cpr_reader rd = { payload, len };
	const uint8_t *v;
	uint32_t vlen;
	uint8_t tag;

	*code = CPREMOTE_ESPAWN;
	*msg = NULL;
	*msglen = 0;
	while (cpr_field_next(&rd, &tag, &v, &vlen) == 1) {
		if (tag == CPR_F_CODE && vlen == 4) {
			int32_t c = (int32_t)cpr_get_u32(v);

			/* Only a negative code is an error; anything else would read as success. */
			if (c < 0)
				*code = c;
		} else if (tag == CPR_F_MESSAGE) {
			*msg = v;
			*msglen = vlen;
		}
	}
}

/* Writes all of BUF, never raising SIGPIPE.  Returns 0 or -errno. */
int lib_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
