/*
 * ttymodes.h — a terminal's modes and window size as the SPAWN request
 * carries them (CPR_F_TTY, CPR_F_TTY_MODES, CPR_RESIZE): the library
 * encodes the caller's terminal, the helper applies them to the
 * pseudo-terminal it makes.  Only libc: the helper links it statically.
 */
#ifndef CPREMOTE_TTYMODES_H
#define CPREMOTE_TTYMODES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "proto.h"

/* Writes WS as the CPR_WINSIZE_LEN bytes of CPR_F_TTY and CPR_RESIZE. */
void cpr_winsize_encode(uint8_t out[CPR_WINSIZE_LEN], const struct winsize *ws);

/* Reads a window size; returns 0, or CPR_EBAD when LEN is not CPR_WINSIZE_LEN. */
int cpr_winsize_decode(const uint8_t *p, size_t len, struct winsize *ws);

/*
 * Appends T's modes to OUT as (u8 opcode, u32 value) pairs, the payload
 * of CPR_F_TTY_MODES.  Returns 0, or CPR_EBAD when OUT is full.
 */
int cpr_tty_modes_encode(const struct termios *t, struct cpr_buf *out);

/*
 * Applies the pairs of a CPR_F_TTY_MODES payload (untrusted) to *T.
 * Unknown opcodes and a trailing partial pair are skipped, a control
 * character above 255 is ignored, a speed is set only when it is one
 * termios knows.  Never reads past LEN.
 */
void cpr_tty_modes_apply(const uint8_t *p, size_t len, struct termios *t);

#endif
