/* cprun_gather.c — gathering identical outputs of cprun -H -b (see cprun_gather.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprun_gather.h"
#include "cprun_lines.h"

#define RULE "----------------\n"

/* See cprun_gather.h. */
size_t cprun_gather_share(size_t nhosts)
{
	size_t share = nhosts > 0 ? CPRUN_GATHER_BUDGET / nhosts : CPRUN_GATHER_BUDGET;

	return share < CPRUN_GATHER_MIN ? CPRUN_GATHER_MIN : share;
}

/* See cprun_gather.h. */
int cprun_gather_add(struct cprun_gather *g, const char *p, size_t n, size_t limit)
{
	if (n > limit - g->len)
		return -ENOBUFS;
	if (g->len + n > g->cap) {
		/* Doubling, capped at LIMIT: a host's buffer never outgrows its share. */
		size_t cap = g->cap > 0 ? g->cap : 4096;
		char *b;

		while (cap < g->len + n)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		if ((b = realloc(g->buf, cap)) == NULL)
			return -ENOMEM;
		g->buf = b;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	return 0;
}

/* FNV-1a of G's bytes: tells most different outputs apart without comparing them. */
static uint64_t hash(const struct cprun_gather *g)
{
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < g->len; i++)
		h = (h ^ (unsigned char)g->buf[i]) * 1099511628211u;
	return h;
}

static int same(const struct cprun_gather *a, uint64_t ha, const struct cprun_gather *b, uint64_t hb)
{
	return ha == hb && a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/*
 * Writes the group of G[first]: the hosts from FIRST on with its output
 * (marked in DONE), then the output.  Returns 0 or -errno.
 */
static int print_group(int outfd, const char *const *hosts, const struct cprun_gather *g, const uint64_t *h,
		       char *done, size_t first, size_t n)
{
	struct cprun_lines lines = { 0 };
	char *head = NULL;
	size_t headlen = 0, count = 0;
	FILE *f = open_memstream(&head, &headlen);
	int r = -ENOMEM;

	if (f == NULL)
		return -ENOMEM;
	fputs(RULE, f);
	for (size_t j = first; j < n; j++) {
		if (done[j] || !same(&g[first], h[first], &g[j], h[j]))
			continue;
		fprintf(f, "%s%s", count > 0 ? "," : "", hosts[j]);
		done[j] = 1;
		count++;
	}
	if (count > 1)
		fprintf(f, " (%zu)", count);
	fputs("\n" RULE, f);
	if (fclose(f) != 0)
		goto out;
	/* Through the line writer: long lines are cut as in the prefixed output, a last line ended. */
	if ((r = cprun_lines_feed(&lines, outfd, "", head, headlen)) == 0 &&
	    (r = cprun_lines_feed(&lines, outfd, "", g[first].buf, g[first].len)) == 0)
		r = cprun_lines_flush(&lines, outfd, "");
out:
	cprun_lines_free(&lines);
	free(head);
	return r;
}

/* See cprun_gather.h. */
int cprun_gather_print(int outfd, const char *const *hosts, const struct cprun_gather *g, size_t n)
{
	uint64_t *h = calloc(n > 0 ? n : 1, sizeof(*h));
	char *done = calloc(n > 0 ? n : 1, 1);
	int r = -ENOMEM;

	if (h == NULL || done == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		h[i] = hash(&g[i]);
		done[i] = g[i].len == 0;
	}
	r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		if (!done[i])
			r = print_group(outfd, hosts, g, h, done, i, n);
out:
	free(h);
	free(done);
	return r;
}

/* See cprun_gather.h. */
void cprun_gather_free(struct cprun_gather *g)
{
	free(g->buf);
	*g = (struct cprun_gather){ 0 };
}
