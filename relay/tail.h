/* tail.h — keeping the last bytes a remote process printed, for error messages. */
#ifndef CPREMOTE_TAIL_H
#define CPREMOTE_TAIL_H

#include <stddef.h>

/*
 * Appends N bytes at P to the text BUF (CAP bytes plus its NUL, *LEN
 * used), dropping its oldest bytes when full, so that BUF always ends with
 * the last lines printed.
 */
void relay_keep_tail(char *buf, size_t cap, size_t *len, const char *p, size_t n);

#endif
