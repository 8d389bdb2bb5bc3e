/* tail.h — keeping the last bytes a remote process printed, for error messages, and making remote text safe to print. */
#ifndef CPREMOTE_TAIL_H
#define CPREMOTE_TAIL_H

#include <stddef.h>

/*
 * Appends N bytes at P to the text BUF (CAP bytes plus its NUL, *LEN
 * used), dropping its oldest bytes when full, so that BUF always ends with
 * the last lines printed.
 */
void relay_keep_tail(char *buf, size_t cap, size_t *len, const char *p, size_t n);

/*
 * Copies at most N bytes of remote text SRC (it ends early at a NUL) into
 * DST (CAP bytes, always NUL-terminated), every byte below 0x20 and DEL
 * written as a \ooo octal escape (ESC as \033, BEL as \007, newline as
 * \012), so that what a remote host printed cannot drive the user's
 * terminal.  Truncates at a whole escape.  Returns the length written.
 * Bytes from 0x80 up are kept: they are UTF-8 text, and the C1 controls
 * they could form are not acted on by terminals in UTF-8 mode.
 */
size_t relay_escape(char *dst, size_t cap, const char *src, size_t n);

#endif
