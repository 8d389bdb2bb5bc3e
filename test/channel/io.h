/*
 * io.h — small blocking I/O and encoding helpers shared by the channel
 * tests and the child programs they start on the test hosts.  Only libc.
 */
#ifndef CPR_TEST_IO_H
#define CPR_TEST_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fd named by $CHANNEL_FD, or -1 when it is unset or not a number. */
int io_channel_fd(void);

/* Writes all of BUF, retrying EINTR and short writes.  Returns 0 or -errno. */
int io_write_all(int fd, const void *buf, size_t len);

/*
 * Reads until LEN bytes or end of file.  Returns the count read (less
 * than LEN only at end of file) or -errno.
 */
ssize_t io_read_full(int fd, void *buf, size_t len);

/* Writes 2*N lowercase hex digits and a NUL to OUT. */
void io_hex(const uint8_t *in, size_t n, char *out);

/* Decodes exactly 2*N hex digits of IN into OUT.  Returns 0 or -1. */
int io_unhex(const char *in, uint8_t *out, size_t n);

/* Big-endian u32 in and out (the tests' own small framings). */
void io_put_u32(uint8_t *p, uint32_t v);
uint32_t io_get_u32(const uint8_t *p);

/*
 * A reproducible pseudo-random byte stream: byte OFF of stream SEED.  Lets
 * a test check gigabytes on the fly without keeping them.  Fills BUF with
 * bytes OFF..OFF+LEN.
 */
void io_stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len);

/* The number of fds this process has open (entries of /proc/self/fd), or -1. */
int io_count_fds(void);

#endif
