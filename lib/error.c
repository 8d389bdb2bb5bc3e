/* error.c — error codes' texts and the per-thread message of the last failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"

static _Thread_local char errmsg_buf[1024];

/* Names a project code or -errno; never NULL, never a buffer that changes. */
const char *cpremote_strerror(int err)
{
	const char *s;

	switch (err) {
	case 0:
		return "success";
	case CPREMOTE_EINVAL:
		return "invalid argument";
	case CPREMOTE_ECONNECT:
		return "could not connect to the host";
	case CPREMOTE_EHOSTKEY_UNKNOWN:
		return "host key unknown (not in known_hosts)";
	case CPREMOTE_EHOSTKEY_CHANGED:
		return "host key changed (differs from known_hosts)";
	case CPREMOTE_EAUTH:
		return "authentication refused";
	case CPREMOTE_EHELPER:
		return "remote helper missing or incompatible";
	case CPREMOTE_ENOTFOUND:
		return "program not found on the host";
	case CPREMOTE_ENOEXEC:
		return "program not executable on the host";
	case CPREMOTE_ESPAWN:
		return "could not start the program";
	case CPREMOTE_ECONNLOST:
		return "connection lost";
	case CPREMOTE_ERELAY:
		return "local relay process failed";
	case CPREMOTE_EPROTO:
		return "protocol violation";
	default:
		break;
	}
	if (err < 0 && err > -4096) {
		/* strerrordesc_np returns static text: strerror() may not. */
		s = strerrordesc_np(-err);
		if (s != NULL)
			return s;
	}
	return "unknown error";
}

/* The message of this thread's last cpremote_run() failure, or "". */
const char *cpremote_errmsg(void)
{
	return errmsg_buf;
}

/* Formats this thread's message (truncated to the buffer). */
void lib_errmsg_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg_buf, sizeof(errmsg_buf), fmt, ap);
	va_end(ap);
}

/* Copies a relay's MESSAGE (not NUL-terminated) as this thread's message. */
void lib_errmsg_set_bytes(const uint8_t *text, uint32_t len, int code)
{
	if (text == NULL || len == 0) {
		lib_errmsg_set("%s", cpremote_strerror(code));
		return;
	}
	if (len > sizeof(errmsg_buf) - 1)
		len = sizeof(errmsg_buf) - 1;
	memcpy(errmsg_buf, text, len);
	errmsg_buf[len] = '\0';
}
