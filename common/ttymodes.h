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

/*
 * Terminal modes in CPR_F_TTY_MODES: the opcodes of RFC 4254 section 8
 * (SSH's own list), so that a mode means the same on any two systems
 * whatever their termios bit values.  A control character's value is
 * the byte (255: disabled), a flag's 0 or 1, a speed in bits per second.
 */
enum cpr_tty_mode {
	CPR_TM_VINTR = 1,
	CPR_TM_VQUIT = 2,
	CPR_TM_VERASE = 3,
	CPR_TM_VKILL = 4,
	CPR_TM_VEOF = 5,
	CPR_TM_VEOL = 6,
	CPR_TM_VEOL2 = 7,
	CPR_TM_VSTART = 8,
	CPR_TM_VSTOP = 9,
	CPR_TM_VSUSP = 10,
	CPR_TM_VREPRINT = 12,
	CPR_TM_VWERASE = 13,
	CPR_TM_VLNEXT = 14,
	CPR_TM_VDISCARD = 18,
	CPR_TM_IGNPAR = 30,
	CPR_TM_PARMRK = 31,
	CPR_TM_INPCK = 32,
	CPR_TM_ISTRIP = 33,
	CPR_TM_INLCR = 34,
	CPR_TM_IGNCR = 35,
	CPR_TM_ICRNL = 36,
	CPR_TM_IXON = 38,
	CPR_TM_IXANY = 39,
	CPR_TM_IXOFF = 40,
	CPR_TM_IMAXBEL = 41,
	CPR_TM_IUTF8 = 42,
	CPR_TM_ISIG = 50,
	CPR_TM_ICANON = 51,
	CPR_TM_ECHO = 53,
	CPR_TM_ECHOE = 54,
	CPR_TM_ECHOK = 55,
	CPR_TM_ECHONL = 56,
	CPR_TM_NOFLSH = 57,
	CPR_TM_TOSTOP = 58,
	CPR_TM_IEXTEN = 59,
	CPR_TM_ECHOCTL = 60,
	CPR_TM_ECHOKE = 61,
	CPR_TM_OPOST = 70,
	CPR_TM_ONLCR = 72,
	CPR_TM_OCRNL = 73,
	CPR_TM_ONOCR = 74,
	CPR_TM_ONLRET = 75,
	CPR_TM_CS7 = 90,
	CPR_TM_CS8 = 91,
	CPR_TM_PARENB = 92,
	CPR_TM_PARODD = 93,
	CPR_TM_ISPEED = 128,
	CPR_TM_OSPEED = 129,
};

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
