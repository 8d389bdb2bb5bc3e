/*
 * fuzz_frame.c — libFuzzer target for the protocol decoder (common/proto.c):
 * the hello search, the frame splitter and the TLV field reader, driven
 * the way the relay and the helper drive them on bytes from the network.
 * Their read loops are inline in the programs (relay/conn.c find_hello()
 * and dispatch_frames(), helper/main.c's frame loop, relay/child.c's
 * request loop), so this target repeats their order of calls around the
 * real decoder; once the programs expose those loops, it calls them.
 * Parsers that are functions of their own have targets of their own
 * (fuzz_bootstrap.c).
 * Built only with -Dfuzz=true; run by scripts/fuzz.
 *
 * The first input byte is not data: bit 0 says whether a hello (with
 * noise before it) comes first, as on the relay's side, or frames at once,
 * as on the helper's after its fixed-size hello; the other bits pick how
 * the rest is cut into reads, so that frames split across reads are
 * explored too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the TLV fields of PAYLOAD as a SPAWN or ERROR reader would. */
static void read_fields(const uint8_t *p, uint32_t len)
{
	struct cpr_reader r = { .p = p, .left = len };
	const uint8_t *v;
	uint32_t vlen;
	uint8_t tag;
	volatile uint32_t sum = 0;

	while (cpr_field_next(&r, &tag, &v, &vlen) == 1) {
		/* Touch the first and last byte: ASan reports any overrun. */
		if (vlen > 0)
			sum += v[0] + v[vlen - 1];
		if (vlen == 4)
			sum += cpr_get_u32(v);
		if (r.left > len)
			abort();
	}
	(void)sum;
}

/* Checks one decoded frame against what the decoder promises. */
static void check_frame(const uint8_t *buf, size_t len, ssize_t n, const struct cpr_header *h,
			const uint8_t *payload)
{
	uint8_t again[CPR_HEADER_LEN];
	volatile uint8_t last;

	if ((size_t)n > len || (size_t)n != CPR_HEADER_LEN + h->length)
		abort();
	if (h->type < 1 || h->type > CPR_TYPE_MAX ||
	    (h->stream >= CPR_NSTREAMS && !cpr_fd_stream_type(h->type)) ||
	    h->length > cpr_max_length(h->type))
		abort();
	if (payload != buf + CPR_HEADER_LEN)
		abort();
	/* Encoding the decoded header gives back the bytes it came from. */
	cpr_header_encode(again, h);
	if (memcmp(again, buf, CPR_HEADER_LEN) != 0)
		abort();
	if (h->length > 0)
		last = payload[h->length - 1];
	(void)last;
	if (h->type == CPR_SPAWN || h->type == CPR_ERROR)
		read_fields(payload, h->length);
	if (h->length == 4)
		(void)cpr_signal_from_wire(cpr_get_u32(payload));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpr_buf in = { 0 };
	size_t off = 0, chunk;
	uint8_t version;
	uint32_t caps;
	int hello_done;

	if (size < 1)
		return 0;
	hello_done = !(data[0] & 1);
	/* 1..128 bytes per read; each a copy so that ASan sees its exact bounds. */
	chunk = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	in.limit = CPR_HEADER_LEN + CPR_MAX_SPAWN + 64 * 1024;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		uint8_t *copy = malloc(n);

		if (copy == NULL)
			break;
		memcpy(copy, data + off, n);
		off += n;
		if (cpr_buf_append(&in, copy, n) < 0) {
			free(copy);
			break;
		}
		free(copy);
		if (!hello_done) {
			ssize_t k = cpr_hello_find(cpr_buf_peek(&in), cpr_buf_len(&in), &version, &caps);

			if (k < 0)
				break;
			if (k == 0)
				continue;
			if ((size_t)k > cpr_buf_len(&in) || (size_t)k < CPR_HELLO_LEN)
				abort();
			cpr_buf_consume(&in, (size_t)k);
			hello_done = 1;
		}
		for (;;) {
			struct cpr_header h;
			const uint8_t *payload;
			ssize_t n2 = cpr_frame_next(cpr_buf_peek(&in), cpr_buf_len(&in), &h, &payload);

			if (n2 <= 0) {
				if (n2 < 0)
					off = size; /* a bad header ends the link */
				break;
			}
			check_frame(cpr_buf_peek(&in), cpr_buf_len(&in), n2, &h, payload);
			cpr_buf_consume(&in, (size_t)n2);
		}
	}
	cpr_buf_free(&in);
	return 0;
}
