/* cprun_lines.c — line assembly and prefixed output for cprun's multi-host mode. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cprun_lines.h"

/* Enough lines per writev to make many short lines cheap; well under IOV_MAX. */
#define BATCH 64

/*
 * Writes all of IOV (modified) to FD.  Our stdout may be a non-blocking
 * fd shared with someone else: wait for it rather than drop output.
 */
static int write_iov(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };

				(void)poll(&p, 1, -1);
				continue;
			}
			return -errno;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Writes the whole lines among the N bytes at P, at most BATCH of them
 * per writev.  Returns the bytes consumed (up to the last newline), or
 * -errno.
 */
static ssize_t write_lines(int fd, const char *prefix, const char *p, size_t n)
{
	struct iovec iov[2 * BATCH];
	size_t plen = strlen(prefix), done = 0;
	const char *nl;
	int cnt = 0, r;

	while (done < n && (nl = memchr(p + done, '\n', n - done)) != NULL) {
		size_t len = (size_t)(nl - (p + done)) + 1;

		if (plen > 0)
			iov[cnt++] = (struct iovec){ .iov_base = (void *)prefix, .iov_len = plen };
		iov[cnt++] = (struct iovec){ .iov_base = (void *)(p + done), .iov_len = len };
		done += len;
		if (cnt >= 2 * BATCH - 1) {
			if ((r = write_iov(fd, iov, cnt)) < 0)
				return r;
			cnt = 0;
		}
	}
	if (cnt > 0 && (r = write_iov(fd, iov, cnt)) < 0)
		return r;
	return (ssize_t)done;
}

/* Writes the kept partial line plus a newline, and empties it. */
static int write_partial(struct cprun_lines *l, int fd, const char *prefix)
{
	struct iovec iov[3] = {
		{ .iov_base = (void *)prefix, .iov_len = strlen(prefix) },
		{ .iov_base = l->buf, .iov_len = l->len },
		{ .iov_base = (void *)"\n", .iov_len = 1 },
	};

	l->len = 0;
	return write_iov(fd, iov, 3);
}

/* Writes whole lines and keeps the rest (see cprun_lines.h). */
int cprun_lines_feed(struct cprun_lines *l, int outfd, const char *prefix, const char *p, size_t n)
{
	ssize_t w;
	int r;

	while (n > 0) {
		if (l->len > 0) {
			/* Complete the kept line first, so that it keeps its place in the stream. */
			const char *nl = memchr(p, '\n', n);
			size_t take = nl != NULL ? (size_t)(nl - p) + 1 : n;

			if (take > CPRUN_LINE_MAX - l->len)
				take = CPRUN_LINE_MAX - l->len;
			memcpy(l->buf + l->len, p, take);
			l->len += take;
			p += take;
			n -= take;
			if (l->buf[l->len - 1] == '\n') {
				w = write_lines(outfd, prefix, l->buf, l->len);
				l->len = 0;
				if (w < 0)
					return (int)w;
			} else if (l->len == CPRUN_LINE_MAX && (r = write_partial(l, outfd, prefix)) < 0) {
				return r;
			}
			continue;
		}
		if ((w = write_lines(outfd, prefix, p, n)) < 0)
			return (int)w;
		p += w;
		n -= (size_t)w;
		if (n == 0)
			break;
		if (l->buf == NULL && (l->buf = malloc(CPRUN_LINE_MAX)) == NULL)
			return -ENOMEM;
		/* The rest has no newline: keep what fits, write out full pieces. */
		while (n > 0) {
			size_t take = n < CPRUN_LINE_MAX ? n : CPRUN_LINE_MAX;

			memcpy(l->buf, p, take);
			l->len = take;
			p += take;
			n -= take;
			if (l->len == CPRUN_LINE_MAX && (r = write_partial(l, outfd, prefix)) < 0)
				return r;
		}
	}
	return 0;
}

/* Writes a kept unfinished line with a newline added (see cprun_lines.h). */
int cprun_lines_flush(struct cprun_lines *l, int outfd, const char *prefix)
{
	return l->len > 0 ? write_partial(l, outfd, prefix) : 0;
}

/* Releases the buffer (see cprun_lines.h). */
void cprun_lines_free(struct cprun_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = 0;
}
