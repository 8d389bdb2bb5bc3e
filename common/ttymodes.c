/* ttymodes.c — terminal modes to and from their wire form (see ttymodes.h). */
#include <string.h>
#include <unistd.h> /* _POSIX_VDISABLE */

#include "ttymodes.h"

static void put_u16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get_u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

void cpr_winsize_encode(uint8_t out[CPR_WINSIZE_LEN], const struct winsize *ws)
{
	put_u16(out, ws->ws_row);
	put_u16(out + 2, ws->ws_col);
	put_u16(out + 4, ws->ws_xpixel);
	put_u16(out + 6, ws->ws_ypixel);
}

int cpr_winsize_decode(const uint8_t *p, size_t len, struct winsize *ws)
{
	if (len != CPR_WINSIZE_LEN)
		return CPR_EBAD;
	memset(ws, 0, sizeof(*ws));
	ws->ws_row = (unsigned short)get_u16(p);
	ws->ws_col = (unsigned short)get_u16(p + 2);
	ws->ws_xpixel = (unsigned short)get_u16(p + 4);
	ws->ws_ypixel = (unsigned short)get_u16(p + 6);
	return 0;
}

/* Control characters: opcode and index in c_cc. */
static const struct {
	uint8_t op;
	int idx;
} ccs[] = {
	{ CPR_TM_VINTR, VINTR },   { CPR_TM_VQUIT, VQUIT },       { CPR_TM_VERASE, VERASE },
	{ CPR_TM_VKILL, VKILL },   { CPR_TM_VEOF, VEOF },         { CPR_TM_VEOL, VEOL },
	{ CPR_TM_VEOL2, VEOL2 },   { CPR_TM_VSTART, VSTART },     { CPR_TM_VSTOP, VSTOP },
	{ CPR_TM_VSUSP, VSUSP },   { CPR_TM_VREPRINT, VREPRINT }, { CPR_TM_VWERASE, VWERASE },
	{ CPR_TM_VLNEXT, VLNEXT }, { CPR_TM_VDISCARD, VDISCARD },
};

enum which {
	IFLAG,
	OFLAG,
	CFLAG,
	LFLAG
};

/* Flags: opcode, which word of the termios, the bit. */
static const struct {
	uint8_t op;
	enum which w;
	tcflag_t bit;
} flags[] = {
	{ CPR_TM_IGNPAR, IFLAG, IGNPAR },   { CPR_TM_PARMRK, IFLAG, PARMRK },
	{ CPR_TM_INPCK, IFLAG, INPCK },     { CPR_TM_ISTRIP, IFLAG, ISTRIP },
	{ CPR_TM_INLCR, IFLAG, INLCR },     { CPR_TM_IGNCR, IFLAG, IGNCR },
	{ CPR_TM_ICRNL, IFLAG, ICRNL },     { CPR_TM_IXON, IFLAG, IXON },
	{ CPR_TM_IXANY, IFLAG, IXANY },     { CPR_TM_IXOFF, IFLAG, IXOFF },
	{ CPR_TM_IMAXBEL, IFLAG, IMAXBEL }, { CPR_TM_IUTF8, IFLAG, IUTF8 },
	{ CPR_TM_ISIG, LFLAG, ISIG },       { CPR_TM_ICANON, LFLAG, ICANON },
	{ CPR_TM_ECHO, LFLAG, ECHO },       { CPR_TM_ECHOE, LFLAG, ECHOE },
	{ CPR_TM_ECHOK, LFLAG, ECHOK },     { CPR_TM_ECHONL, LFLAG, ECHONL },
	{ CPR_TM_NOFLSH, LFLAG, NOFLSH },   { CPR_TM_TOSTOP, LFLAG, TOSTOP },
	{ CPR_TM_IEXTEN, LFLAG, IEXTEN },   { CPR_TM_ECHOCTL, LFLAG, ECHOCTL },
	{ CPR_TM_ECHOKE, LFLAG, ECHOKE },   { CPR_TM_OPOST, OFLAG, OPOST },
	{ CPR_TM_ONLCR, OFLAG, ONLCR },     { CPR_TM_OCRNL, OFLAG, OCRNL },
	{ CPR_TM_ONOCR, OFLAG, ONOCR },     { CPR_TM_ONLRET, OFLAG, ONLRET },
	{ CPR_TM_PARENB, CFLAG, PARENB },   { CPR_TM_PARODD, CFLAG, PARODD },
};

/* Speeds a termios can be set to, and their bits per second. */
static const struct {
	speed_t code;
	uint32_t bps;
} speeds[] = {
	{ B0, 0 },         { B50, 50 },       { B75, 75 },         { B110, 110 },       { B134, 134 },
	{ B150, 150 },     { B200, 200 },     { B300, 300 },       { B600, 600 },       { B1200, 1200 },
	{ B1800, 1800 },   { B2400, 2400 },   { B4800, 4800 },     { B9600, 9600 },     { B19200, 19200 },
	{ B38400, 38400 }, { B57600, 57600 }, { B115200, 115200 }, { B230400, 230400 }, { B460800, 460800 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static tcflag_t *word(struct termios *t, enum which w)
{
	switch (w) {
	case IFLAG:
		return &t->c_iflag;
	case OFLAG:
		return &t->c_oflag;
	case CFLAG:
		return &t->c_cflag;
	default:
		return &t->c_lflag;
	}
}

static uint32_t speed_bps(speed_t code)
{
	for (size_t i = 0; i < COUNT(speeds); i++)
		if (speeds[i].code == code)
			return speeds[i].bps;
	return 38400;
}

static int put_mode(struct cpr_buf *out, uint8_t op, uint32_t v)
{
	uint8_t p[5];

	p[0] = op;
	cpr_put_u32(p + 1, v);
	return cpr_buf_append(out, p, sizeof(p));
}

int cpr_tty_modes_encode(const struct termios *t, struct cpr_buf *out)
{
	struct termios c = *t;
	int r = 0;

	for (size_t i = 0; i < COUNT(ccs); i++)
		r |= put_mode(out, ccs[i].op,
			      c.c_cc[ccs[i].idx] == _POSIX_VDISABLE ? 255 : c.c_cc[ccs[i].idx]);
	for (size_t i = 0; i < COUNT(flags); i++)
		r |= put_mode(out, flags[i].op, (*word(&c, flags[i].w) & flags[i].bit) != 0);
	r |= put_mode(out, CPR_TM_CS7, (c.c_cflag & CSIZE) == CS7);
	r |= put_mode(out, CPR_TM_CS8, (c.c_cflag & CSIZE) == CS8);
	r |= put_mode(out, CPR_TM_ISPEED, speed_bps(cfgetispeed(&c)));
	r |= put_mode(out, CPR_TM_OSPEED, speed_bps(cfgetospeed(&c)));
	return r < 0 ? CPR_EBAD : 0;
}

/* Sets a speed when BPS is one termios knows; others are left as they are. */
static void apply_speed(struct termios *t, uint8_t op, uint32_t bps)
{
	for (size_t i = 0; i < COUNT(speeds); i++) {
		if (speeds[i].bps != bps)
			continue;
		if (op == CPR_TM_ISPEED)
			cfsetispeed(t, speeds[i].code);
		else
			cfsetospeed(t, speeds[i].code);
		return;
	}
}

/* Applies one pair; unknown opcodes are skipped, as RFC 4254 asks. */
static void apply_one(struct termios *t, uint8_t op, uint32_t v)
{
	for (size_t i = 0; i < COUNT(ccs); i++) {
		if (ccs[i].op == op) {
			if (v <= 255)
				t->c_cc[ccs[i].idx] = v == 255 ? _POSIX_VDISABLE : (cc_t)v;
			return;
		}
	}
	for (size_t i = 0; i < COUNT(flags); i++) {
		if (flags[i].op == op) {
			if (v)
				*word(t, flags[i].w) |= flags[i].bit;
			else
				*word(t, flags[i].w) &= ~flags[i].bit;
			return;
		}
	}
	if ((op == CPR_TM_CS7 || op == CPR_TM_CS8) && v)
		t->c_cflag = (t->c_cflag & ~(tcflag_t)CSIZE) | (op == CPR_TM_CS7 ? CS7 : CS8);
	else if (op == CPR_TM_ISPEED || op == CPR_TM_OSPEED)
		apply_speed(t, op, v);
}

void cpr_tty_modes_apply(const uint8_t *p, size_t len, struct termios *t)
{
	for (; len >= 5; p += 5, len -= 5)
		apply_one(t, p[0], cpr_get_u32(p + 1));
}
