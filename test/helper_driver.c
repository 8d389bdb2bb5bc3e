/* helper_driver.c — the built helper as a subprocess, driven over pipes (see helper_driver.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper_driver.h"
#include "io.h"

long hd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hd_start(struct hd *h, const char *grace_ms)
{
	const char *path = getenv("CPREMOTE_HELPER");
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r = -1;

	memset(h, 0, sizeof(*h));
	h->to = h->from = -1;
	if (path == NULL || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		goto out;
	if ((h->pid = fork()) < 0) {
		h->pid = 0;
		goto out;
	}
	if (h->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (grace_ms != NULL)
			setenv("CPREMOTE_GRACE_MS", grace_ms, 1);
		execl(path, "cpremote-helper", (char *)NULL);
		_exit(127);
	}
	h->to = in[1];
	h->from = out[0];
	in[1] = out[0] = -1;
	/* Tests read its output only now and then: reading must never block them. */
	fcntl(h->from, F_SETFL, O_NONBLOCK);
	r = 0;
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	return r;
}

int hd_send(struct hd *h, const void *p, size_t n)
{
	return io_write_all(h->to, p, n) == 0 ? 0 : -1;
}

int hd_send_frame(struct hd *h, uint8_t type, uint8_t stream, uint32_t child, const void *p, uint32_t len)
{
	struct cpr_buf b = { 0 };
	int r;

	r = cpr_frame_append(&b, type, stream, child, p, len);
	if (r == 0)
		r = hd_send(h, cpr_buf_peek(&b), cpr_buf_len(&b));
	cpr_buf_free(&b);
	return r;
}

int hd_send_u32(struct hd *h, uint8_t type, uint8_t stream, uint32_t child, uint32_t v)
{
	uint8_t p[4];

	cpr_put_u32(p, v);
	return hd_send_frame(h, type, stream, child, p, 4);
}

int hd_send_spawn(struct hd *h, uint32_t id, const struct hd_spawn *a)
{
	struct cpr_buf p = { 0 };
	size_t i;
	int r;

	cpr_field_put_str(&p, CPR_F_FILE, a->file);
	for (i = 0; a->argv && a->argv[i]; i++)
		cpr_field_put_str(&p, CPR_F_ARG, a->argv[i]);
	for (i = 0; a->env && a->env[i]; i++)
		cpr_field_put_str(&p, CPR_F_ENV, a->env[i]);
	if (a->cwd)
		cpr_field_put_str(&p, CPR_F_CWD, a->cwd);
	cpr_field_put_u32(&p, CPR_F_FLAGS, a->flags);
	cpr_field_put(&p, CPR_F_STDIO, a->stdio, 3);
	r = hd_send_frame(h, CPR_SPAWN, 0, id, cpr_buf_peek(&p), (uint32_t)cpr_buf_len(&p));
	cpr_buf_free(&p);
	return r;
}

/* Reads more from the helper within TIMEOUT_MS.  1 read, 0 timeout, -1 EOF or error. */
static int fill(struct hd *h, int timeout_ms)
{
	struct pollfd pfd = { .fd = h->from, .events = POLLIN };
	uint8_t chunk[65536];
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	n = read(h->from, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	cpr_buf_append(&h->in, chunk, (size_t)n);
	return 1;
}

int hd_hello(struct hd *h)
{
	uint8_t mine[CPR_HELLO_LEN], version = 0;
	uint32_t caps;
	long end = hd_now_ms() + 5000;
	ssize_t n;

	cpr_hello_encode(mine, 0);
	if (hd_send(h, mine, sizeof(mine)) < 0)
		return -1;
	while ((n = cpr_hello_find(cpr_buf_peek(&h->in), cpr_buf_len(&h->in), &version, &caps)) == 0)
		if (hd_now_ms() > end || fill(h, 500) < 0)
			return -1;
	if (n < 0 || version != CPR_VERSION)
		return -1;
	cpr_buf_consume(&h->in, (size_t)n);
	return 0;
}

int hd_next_frame(struct hd *h, int timeout_ms, struct cpr_header *f, uint8_t *p)
{
	const uint8_t *payload;
	long end = hd_now_ms() + timeout_ms, left;
	ssize_t n;
	int k;

	for (;;) {
		n = cpr_frame_next(cpr_buf_peek(&h->in), cpr_buf_len(&h->in), f, &payload);
		if (n < 0)
			return -1;
		if (n > 0) {
			if (f->length > CPR_MAX_DATA)
				return -1;
			memcpy(p, payload, f->length);
			cpr_buf_consume(&h->in, (size_t)n);
			return 1;
		}
		left = end - hd_now_ms();
		if ((k = fill(h, left > 0 ? (int)left : 0)) <= 0)
			return k;
	}
}

void hd_close_input(struct hd *h)
{
	if (h->to >= 0)
		close(h->to);
	h->to = -1;
}

int hd_end(struct hd *h, int timeout_ms)
{
	long end = hd_now_ms() + timeout_ms;
	uint8_t chunk[65536];
	int st = -1;

	if (h->pid <= 0)
		goto out;
	while (hd_now_ms() < end) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid)
			goto out;
		while (h->from >= 0 && read(h->from, chunk, sizeof(chunk)) > 0)
			;
		usleep(10000);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, &st, 0);
	st = -1;
out:
	hd_close_input(h);
	if (h->from >= 0)
		close(h->from);
	h->from = -1;
	h->pid = 0;
	cpr_buf_free(&h->in);
	return st;
}

void hd_record(struct hd *h, uint32_t id, const struct cpr_header *f, const uint8_t *p, struct hd_result *r,
	       int auto_credit)
{
	struct cpr_reader rd = { .p = p, .left = f->length };
	const uint8_t *v;
	uint32_t len;
	uint8_t tag;

	if (f->child != id)
		return;
	switch (f->type) {
	case CPR_SPAWNED:
		r->spawned = 1;
		r->pid = cpr_get_u32(p);
		break;
	case CPR_ERROR:
		r->error = 1;
		while (cpr_field_next(&rd, &tag, &v, &len) == 1) {
			if (tag == CPR_F_CODE)
				r->code = cpr_get_u32(v);
			else if (tag == CPR_F_ERRNO)
				r->err = cpr_get_u32(v);
			else if (tag == CPR_F_MESSAGE && len < sizeof(r->msg)) {
				memcpy(r->msg, v, len);
				r->msg[len] = '\0';
			}
		}
		break;
	case CPR_DATA:
		cpr_buf_append(&r->data[f->stream], p, f->length);
		if (auto_credit)
			hd_send_u32(h, CPR_CREDIT, f->stream, id, f->length);
		break;
	case CPR_EOF:
		r->eof[f->stream] = 1;
		break;
	case CPR_CREDIT:
		if (f->stream == CPR_STDIN)
			r->stdin_credit += cpr_get_u32(p);
		break;
	case CPR_EXIT:
		r->exited = 1;
		r->kind = p[0];
		r->status = p[1];
		r->eof_before_exit = r->eof[CPR_CHANNEL] && r->eof[CPR_STDOUT] && r->eof[CPR_STDERR];
		break;
	}
}

void hd_collect(struct hd *h, uint32_t id, struct hd_result *r, int timeout_ms)
{
	static uint8_t p[CPR_MAX_DATA];
	struct cpr_header f;
	long end = hd_now_ms() + timeout_ms;

	while (!r->exited && !r->error && hd_now_ms() < end)
		if (hd_next_frame(h, (int)(end - hd_now_ms()), &f, p) == 1)
			hd_record(h, id, &f, p, r, 1);
}

const char *hd_text(struct hd_result *r, int s)
{
	cpr_buf_append(&r->data[s], "", 1);
	r->data[s].tail--;
	return r->data[s].data ? (const char *)cpr_buf_peek(&r->data[s]) : "";
}

void hd_result_free(struct hd_result *r)
{
	int s;

	for (s = 0; s < CPR_NSTREAMS; s++)
		cpr_buf_free(&r->data[s]);
	memset(r, 0, sizeof(*r));
}
