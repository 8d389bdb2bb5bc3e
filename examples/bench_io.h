/* bench_io.h — whole reads and writes for the benchmark's two programs. */
#ifndef CPREMOTE_BENCH_IO_H
#define CPREMOTE_BENCH_IO_H

#include <stddef.h>

/* Writes all LEN bytes of BUF to FD, retrying EINTR.  Returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);

/* Reads exactly LEN bytes from FD into BUF.  Returns 0, or -1 on error or early EOF. */
int read_full(int fd, void *buf, size_t len);

#endif
