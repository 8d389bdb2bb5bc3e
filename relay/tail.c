/* tail.c — keeping the last bytes a remote process printed (see tail.h). */
#include <string.h>

#include "tail.h"

void relay_keep_tail(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (n > cap) {
		p += n - cap;
		n = cap;
	}
	if (*len + n > cap) {
		size_t drop = *len + n - cap;

		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

size_t relay_escape(char *dst, size_t cap, const char *src, size_t n)
{
	size_t out = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n && src[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (ch >= 0x20 && ch != 0x7f) {
			if (out + 1 >= cap)
				break;
			dst[out++] = (char)ch;
			continue;
		}
		/* Whole escapes only: a cut one would read as text. */
		if (out + 4 >= cap)
			break;
		dst[out++] = '\\';
		dst[out++] = (char)('0' + (ch >> 6));
		dst[out++] = (char)('0' + ((ch >> 3) & 7));
		dst[out++] = (char)('0' + (ch & 7));
	}
	dst[out] = '\0';
	return out;
}
