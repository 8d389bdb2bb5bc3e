/*
 * procinfo.h — what the hostile and backpressure tests read from /proc
 * about the processes of the product: the relay forked by the library
 * (found by a tag in its environment, as it is detached from the caller)
 * and the helper on the host (the same machine here).
 */
#ifndef CPREMOTE_PROCINFO_H
#define CPREMOTE_PROCINFO_H

#include <sys/types.h>

/* The environment variable whose value tells a test's relay from the others'. */
#define PROCINFO_TAG_VAR "CPREMOTE_TEST_TAG"

/*
 * Sets PROCINFO_TAG_VAR to a value unique to this process, so that the
 * relay started by the next cpremote_run() inherits it.  Call before the
 * first cpremote_run().
 */
void procinfo_tag_self(void);

/* The pid of this process's relay (found by its tag), or -1. */
pid_t procinfo_find_relay(void);

/* A "Vm..." field of /proc/PID/status in KiB (e.g. "VmHWM"), or -1. */
long procinfo_vm_kib(pid_t pid, const char *field);

/* The parent of PID, or -1. */
pid_t procinfo_ppid(pid_t pid);

/*
 * Why the relay's memory high-water mark says nothing about the relay in
 * this run (it runs under valgrind, or this build is under AddressSanitizer,
 * whose shadow memory and quarantine dominate it), or NULL when it does.
 */
const char *procinfo_hwm_unmeasurable(void);

/* Whether PID exists and is not a zombie. */
int procinfo_alive(pid_t pid);

#endif
