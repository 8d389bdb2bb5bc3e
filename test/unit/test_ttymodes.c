/* test_ttymodes.c — unit tests of a terminal's wire form (common/ttymodes.c): window size and modes. */
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tap.h"
#include "ttymodes.h"

static void test_winsize(void)
{
	struct winsize ws = { .ws_row = 30, .ws_col = 120, .ws_xpixel = 960, .ws_ypixel = 0x1234 }, back;
	uint8_t w[CPR_WINSIZE_LEN];

	cpr_winsize_encode(w, &ws);
	ok(w[0] == 0 && w[1] == 30 && w[2] == 0 && w[3] == 120, "rows then cols, u16 big-endian");
	ok_int(cpr_winsize_decode(w, sizeof(w), &back), 0, "a window decodes");
	ok(back.ws_row == 30 && back.ws_col == 120 && back.ws_xpixel == 960 && back.ws_ypixel == 0x1234,
	   "window round trip");
	ok_int(cpr_winsize_decode(w, sizeof(w) - 1, &back), CPR_EBAD, "a short window is refused");
}

/* A termios unlike the defaults: the round trip must carry each difference. */
static void test_modes(void)
{
	struct termios t, back;
	struct cpr_buf b = { 0 };

	memset(&t, 0, sizeof(t));
	t.c_cc[VINTR] = 2; /* ^B */
	t.c_cc[VERASE] = 8;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	t.c_lflag = ISIG | ICANON | ECHO | IEXTEN;
	t.c_iflag = ICRNL | IUTF8;
	t.c_oflag = OPOST | ONLCR;
	t.c_cflag = CS7 | PARENB;
	/* One speed for both: glibc on Linux keeps one (the input speed follows the output's). */
	cfsetispeed(&t, B9600);
	cfsetospeed(&t, B9600);
	ok_int(cpr_tty_modes_encode(&t, &b), 0, "modes encode");
	ok_int(cpr_buf_len(&b) % 5, 0, "pairs of 5 bytes");

	memset(&back, 0, sizeof(back));
	back.c_lflag = ECHOCTL; /* on here, off in T: must be cleared */
	back.c_cflag = CS8;
	cpr_tty_modes_apply(cpr_buf_peek(&b), cpr_buf_len(&b), &back);
	ok_int(back.c_cc[VINTR], 2, "VINTR carried");
	ok_int(back.c_cc[VERASE], 8, "VERASE carried");
	ok_int(back.c_cc[VSUSP], _POSIX_VDISABLE, "a disabled character stays disabled");
	ok_int(back.c_lflag, ISIG | ICANON | ECHO | IEXTEN, "local flags carried, others cleared");
	ok_int(back.c_iflag, ICRNL | IUTF8, "input flags carried");
	ok_int(back.c_oflag, OPOST | ONLCR, "output flags carried");
	ok_int(back.c_cflag & (CSIZE | PARENB | PARODD), CS7 | PARENB, "character size and parity carried");
	ok_int(cfgetispeed(&back), B9600, "input speed carried");
	ok_int(cfgetospeed(&back), B9600, "output speed carried");

	/* Untrusted input: unknown opcodes, a bad character, a bad speed, a trailing half pair. */
	{
		const uint8_t odd[] = { 200, 0, 0, 0, 1, CPR_TM_VINTR, 0, 0, 1, 0, CPR_TM_OSPEED, 0,
					0,   0, 7, 1, 2 };

		back.c_cc[VINTR] = 3;
		cpr_tty_modes_apply(odd, sizeof(odd), &back);
		ok_int(back.c_cc[VINTR], 3, "a control character above 255 is ignored");
		ok_int(cfgetospeed(&back), B9600, "an unknown speed is ignored");
	}
	cpr_buf_free(&b);
}

int main(void)
{
	test_winsize();
	test_modes();
	return tap_done();
}
