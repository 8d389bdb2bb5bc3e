/* install.c — the bootstrap decisions of a connection (see install.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "install.h"

/* The helper's path in single quotes, each quote written as '\'' so any POSIX shell takes it whole. */
static char *helper_command(const char *helper)
{
	size_t n = strlen(helper);
	char *cmd = malloc(4 * n + 16), *p;

	if (!cmd)
		return NULL;
	p = cmd + sprintf(cmd, "exec '");
	for (const char *h = helper; *h; h++) {
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
	const char *stub;

	if (!bootstrap)
		return helper_command(helper);
	stub = bootstrap_run_command();
	return stub ? strdup(stub) : NULL;
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
