/* install.c — the bootstrap decisions of a connection (see install.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cpremote.h"
#include "install.h"

/*
 * The length of a leading "~", "~/", "~USER" or "~USER/" of HELPER that
 * the host's shell is to expand, USER of the portable name
 * characters only, so that nothing else in it is ever left unquoted; 0
 * when there is none.
 */
static size_t tilde_prefix(const char *helper)
{
	size_t n = 1;

	if (helper[0] != '~')
		return 0;
	/* Not "~-" nor "~+": bash and ksh make those $OLDPWD and $PWD. */
	while (isalnum((unsigned char)helper[n]) || helper[n] == '_' ||
	       (n > 1 && (helper[n] == '.' || helper[n] == '-')))
		n++;
	/* The slash too: a quoted one would end the tilde-prefix unexpanded. */
	return helper[n] == '/' ? n + 1 : helper[n] == '\0' ? n : 0;
}

/*
 * The helper's path in single quotes, each quote written as '\'' so any
 * POSIX shell takes it whole; a leading "~/" or "~USER/" stays outside
 * the quotes, so that the host's shell makes it a home directory, as ssh
 * users expect of a remote path.
 */
static char *helper_command(const char *helper)
{
	size_t n = strlen(helper), tilde = tilde_prefix(helper);
	char *cmd = malloc(4 * n + 16), *p;

	if (!cmd)
		return NULL;
	p = cmd + sprintf(cmd, "exec %.*s'", (int)tilde, helper);
	for (const char *h = helper + tilde; *h; h++) {
		if (*h == '\'')
			p += sprintf(p, "'\\''");
		else
			*p++ = *h;
	}
	strcpy(p, "'");
	return cmd;
}

char *install_exec_command(int bootstrap, const char *helper)
{
	return bootstrap ? bootstrap_run_command() : helper_command(helper);
}

int install_nonce(char nonce[BOOTSTRAP_NONCE_LEN + 1])
{
	unsigned char r[BOOTSTRAP_NONCE_LEN / 2];
	ssize_t n;

	do
		n = getrandom(r, sizeof r, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof r)
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(nonce + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int install_refused(const struct conn_key *k)
{
	const char *env = getenv("CPREMOTE_NO_UPLOAD");

	return k->no_upload || (env && *env && strcmp(env, "0") != 0);
}

int install_plan(const struct install_state *st, enum bootstrap_marker m, const char *arch,
		 const struct helper_blob **blob, struct cpr_err *e)
{
	const struct helper_blob *b = m == BS_NEED ? bootstrap_blob(arch) : NULL;

	*blob = NULL;
	if (!b) {
		return cpr_err_set(e, CPREMOTE_EHELPER,
				   "%s: no cpremote-helper for this host's architecture '%s' (this relay "
				   "carries: "
				   "%s); build one for it and use --helper PATH",
				   st->host, arch, bootstrap_arches());
	}
	/* Installed, and the stub still finds none: uploading again would loop. */
	if (st->installed) {
		return cpr_err_set(e, CPREMOTE_EHELPER,
				   "%s: the helper was installed as %s, but the host does not run it",
				   st->host, st->installed_path);
	}
	if (st->no_upload) {
		return cpr_err_set(
			e, CPREMOTE_EHELPER,
			"%s: cpremote-helper is not installed there and uploading is off (--no-upload): "
			"install it as ~/.cache/cpremote/cpremote-helper-%d-%s (mode 700), or use --helper "
			"PATH",
			st->host, CPR_VERSION, b->sha256);
	}
	*blob = b;
	return 0;
}

int install_start(struct install *i, const struct helper_blob *b, const char *nonce)
{
	install_free(i);
	*i = (struct install){ .blob = b };
	i->line = bootstrap_install_line(b, nonce);
	if (!i->line)
		return -ENOMEM;
	i->line_len = strlen(i->line);
	i->active = 1;
	return 0;
}

size_t install_next(const struct install *i, const uint8_t **p)
{
	if (!i->active)
		return 0;
	if (i->line_sent < i->line_len) {
		*p = (const uint8_t *)i->line + i->line_sent;
		return i->line_len - i->line_sent;
	}
	if (!i->asked || i->sent >= i->blob->len)
		return 0;
	*p = i->blob->data + i->sent;
	return i->blob->len - i->sent;
}

void install_wrote(struct install *i, size_t n)
{
	size_t line_left = i->line_len - i->line_sent;

	if (n <= line_left) {
		i->line_sent += n;
		return;
	}
	i->line_sent = i->line_len;
	i->sent += n - line_left;
}

int install_answer(struct install *i, const uint8_t *buf, size_t len, size_t *used)
{
	size_t n;

	*used = 0;
	while (i->active) {
		switch (bootstrap_scan(buf + *used, len - *used, i->path, sizeof i->path, &n)) {
		case BS_SEND:
			i->asked = 1;
			break;
		case BS_READY:
			i->by_other = 1;
			/* fall through */
		case BS_INSTALLED:
			*used += n;
			install_free(i);
			return 1;
		case BS_NONE:
			return 0;
		default:
			break; /* another "need" is noise now */
		}
		*used += n;
	}
	return 0;
}

void install_free(struct install *i)
{
	free(i->line);
	i->line = NULL;
	i->active = 0;
}
