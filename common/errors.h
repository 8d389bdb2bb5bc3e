/*
 * errors.h — the one internal error convention of cp-remote, for every
 * program (library, relay, helper, CLI) and common/.
 *
 * A function that can fail returns 0 on success (or a count, or 1 for
 * "one more item", where its contract says so) and a negative code on
 * failure, never a bare -1 with errno:
 *
 *   - a cpremote code (CPREMOTE_E..., include/cpremote.h, all <= -3000)
 *     when the failure means something to the user (EINVAL for a bad
 *     request, EHELPER, ECONNLOST ...): it reaches the caller as is;
 *   - -errno (-ENOMEM, -EPROTO, -EAGAIN ...) for a failure of the system;
 *   - CPR_EBAD from the codec (common/proto.c): a malformed or oversized
 *     frame or field, or a full buffer.  It is -1, so that `< 0` tests
 *     keep working; the caller decides whose fault it is (CPREMOTE_EPROTO
 *     for the other side's).
 *
 * Callers test `< 0`, not `== -1`.  The human detail of a failure, when
 * there is one, goes into a struct cpr_err the caller provides (or, in
 * older code, a char buffer and its size): the code says what to do, the
 * text says what happened, naming the host where there is one.
 */
#ifndef CPREMOTE_ERRORS_H
#define CPREMOTE_ERRORS_H

#include <stdarg.h>
#include <stdio.h>

/* The codec's failure: malformed input, or a limit reached. */
#define CPR_EBAD (-1)

/* A failure's detail for a person. */
struct cpr_err {
	char msg[1024];
};

/* Formats E's message and returns CODE, so that `return cpr_err_set(e, code, ...)` reads as one step. */
static inline int cpr_err_set(struct cpr_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int cpr_err_set(struct cpr_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

#endif
