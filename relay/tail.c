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
