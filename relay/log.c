/* log.c — the relay's diagnostics on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const struct relay_ctx *default_ctx;

static void vlog(const struct relay_ctx *ctx, int level, const char *fmt, va_list ap)
{
	char line[8192]; /* a whole read of the helper's stderr fits */

	if (!ctx || ctx->verbose < level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	if (ctx->log)
		ctx->log(ctx, line);
	else
		fprintf(stderr, "cpremote-relay: %s\n", line);
}

void rlog(const struct relay_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(ctx, level, fmt, ap);
	va_end(ap);
}

void relay_log_set_default(const struct relay_ctx *ctx)
{
	default_ctx = ctx;
}

void relay_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(default_ctx, level, fmt, ap);
	va_end(ap);
}
