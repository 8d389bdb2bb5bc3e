/*
 * cprun_gather.h — cprun -H -b: each host's stdout kept whole, then every
 * distinct output printed once under the hosts that produced it (as
 * ClusterShell's clubak -b and pdsh's dshbak -c do).
 */
#ifndef CPRUN_GATHER_H
#define CPRUN_GATHER_H

#include <stddef.h>

/* What all hosts' gathered output may take in memory together; each host gets its share. */
#define CPRUN_GATHER_BUDGET (64u << 20)
/* A host's share is never smaller than this, however many hosts there are. */
#define CPRUN_GATHER_MIN (64u << 10)

/* One host's stdout so far. */
struct cprun_gather {
	char *buf;
	size_t len, cap;
};

/* The most one host of NHOSTS may gather: CPRUN_GATHER_BUDGET / NHOSTS, at least CPRUN_GATHER_MIN. */
size_t cprun_gather_share(size_t nhosts);

/*
 * Appends the N bytes at P to G.  Returns 0; -ENOBUFS when G would hold
 * more than LIMIT bytes (nothing is added: the caller writes G's bytes
 * and the rest out as they come); -ENOMEM.
 */
int cprun_gather_add(struct cprun_gather *g, const char *p, size_t n, size_t limit);

/*
 * Writes to OUTFD, for each distinct non-empty output among G[0..N-1]
 * (in the order of the first host that produced it):
 *
 *     ----------------
 *     h1,h3 (2)
 *     ----------------
 *     the output, a newline added when it ended without one
 *
 * naming every host whose output is byte for byte the same (HOSTS[i] is
 * G[i]'s name; "(K)" only when K > 1).  Hosts with no output are left
 * out (so is a host whose output outgrew its share: it was written as it
 * came, and its G[i] emptied).  Returns 0, or -errno of a failed write.
 */
int cprun_gather_print(int outfd, const char *const *hosts, const struct cprun_gather *g, size_t n);

/* Releases G's buffer.  Accepts an unused one. */
void cprun_gather_free(struct cprun_gather *g);

#endif
