/* request.c — parsing the caller's SPAWN request (see request.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "request.h"

static char *dup_field(const uint8_t *v, uint32_t len)
{
	char *s = malloc((size_t)len + 1);

	if (s) {
		memcpy(s, v, len);
		s[len] = '\0';
	}
	return s;
}

/* Replaces *DST by a copy of the field.  Returns 0 or -ENOMEM. */
static int set_str(char **dst, const uint8_t *v, uint32_t len)
{
	free(*dst);
	*dst = dup_field(v, len);
	return *dst ? 0 : -ENOMEM;
}

static int add_option(struct conn_key *k, const uint8_t *v, uint32_t len)
{
	size_t n = 0;
	char **o;

	while (k->options && k->options[n])
		n++;
	o = realloc(k->options, (n + 2) * sizeof *o);
	if (!o)
		return -ENOMEM;
	k->options = o;
	o[n] = dup_field(v, len);
	o[n + 1] = NULL;
	return o[n] ? 0 : -ENOMEM;
}

/* A u32 field into *OUT (as 0/1 when BOOL); a field of another size is ignored. */
static void set_u32(int *out, const uint8_t *v, uint32_t len, int as_bool)
{
	if (len == 4)
		*out = as_bool ? cpr_get_u32(v) != 0 : (int)cpr_get_u32(v);
}

/* Takes one field into R.  Returns 0 or -ENOMEM. */
static int take_field(struct spawn_request *r, uint8_t tag, const uint8_t *v, uint32_t len)
{
	struct conn_key *k = &r->key;

	switch (tag) {
	case CPR_F_HOST:
		return set_str(&k->host, v, len);
	case CPR_F_USER:
		return set_str(&k->user, v, len);
	case CPR_F_IDENTITY:
		return set_str(&k->identity, v, len);
	case CPR_F_CONFIG:
		return set_str(&k->config, v, len);
	case CPR_F_HELPER:
		return set_str(&k->helper, v, len);
	case CPR_F_OPTION:
		return add_option(k, v, len);
	case CPR_F_PORT:
		set_u32(&k->port, v, len, 0);
		return 0;
	case CPR_F_ACCEPT_NEW:
		set_u32(&k->accept_new, v, len, 1);
		return 0;
	case CPR_F_NO_UPLOAD:
		set_u32(&k->no_upload, v, len, 1);
		return 0;
	case CPR_F_VERBOSITY:
		set_u32(&r->verbosity, v, len, 0);
		return 0;
	case CPR_F_CALLER_PGRP:
		set_u32(&r->caller_pgrp, v, len, 0);
		return 0;
	case CPR_F_PATH:
		if (r->type != CPR_CONNECT)
			return 0;
		if (set_str(&r->file, v, len) < 0)
			return -ENOMEM;
		return cpr_field_put(&r->spawn, tag, v, len) < 0 ? -ENOMEM : 0;
	case CPR_F_FLAGS:
		if (r->type == CPR_CONNECT)
			return 0;
		/* The login shell has no FILE; its messages name it so. */
		if (len == 4 && (cpr_get_u32(v) & CPR_SPAWN_LOGIN) && !r->file &&
		    !(r->file = strdup("login shell")))
			return -ENOMEM;
		return cpr_field_put(&r->spawn, tag, v, len) < 0 ? -ENOMEM : 0;
	case CPR_F_FILE:
		if (r->type == CPR_CONNECT)
			return 0; /* a connection runs nothing */
		if (set_str(&r->file, v, len) < 0)
			return -ENOMEM;
		/* fall through */
	case CPR_F_TTY:
	case CPR_F_TERM:
	case CPR_F_TTY_MODES:
	case CPR_F_ARG:
	case CPR_F_ENV:
	case CPR_F_CWD:
		if (r->type == CPR_CONNECT)
			return 0;
		if (tag == CPR_F_TTY)
			r->tty = 1;
		return cpr_field_put(&r->spawn, tag, v, len) < 0 ? -ENOMEM : 0;
	default:
		return 0; /* STDIO is derived from the fds actually passed */
	}
}

int request_parse(const uint8_t *p, uint32_t len, uint8_t mask, struct spawn_request *r, struct cpr_err *e)
{
	struct cpr_reader rd = { p, len };
	uint8_t tag, stdio[3];
	const uint8_t *v;
	uint32_t vlen;
	int rc;

	while ((rc = cpr_field_next(&rd, &tag, &v, &vlen)) == 1)
		if (take_field(r, tag, v, vlen) < 0)
			goto nomem;
	if (r->type == CPR_CONNECT) {
		if (rc < 0 || !r->key.host || !r->file || !*r->key.host || !*r->file || mask != 0)
			return cpr_err_set(e, CPREMOTE_EINVAL,
					   "bad connect request (host and path are required, stdio is not "
					   "taken)");
		return 0;
	}
	if (rc < 0 || !r->key.host || !r->file || !*r->key.host || !*r->file) {
		return cpr_err_set(e, CPREMOTE_EINVAL, "bad spawn request (host and program are required)");
	}
	for (int i = 0; i < 3; i++)
		stdio[i] = (mask >> i) & 1 ? CPR_STDIO_PIPE : CPR_STDIO_NULL;
	if (cpr_field_put(&r->spawn, CPR_F_STDIO, stdio, 3) < 0)
		goto nomem;
	return 0;
nomem:
	return cpr_err_set(e, -ENOMEM, "relay: out of memory");
}

void conn_key_free(struct conn_key *k)
{
	free(k->host);
	free(k->user);
	free(k->identity);
	free(k->config);
	free(k->helper);
	for (char **o = k->options; o && *o; o++)
		free(*o);
	free(k->options);
	memset(k, 0, sizeof *k);
}

void request_free(struct spawn_request *r)
{
	conn_key_free(&r->key);
	free(r->file);
	cpr_buf_free(&r->spawn);
	memset(r, 0, sizeof *r);
}

/* Equal strings, NULL (not given) equal only to NULL. */
static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int conn_key_equal(const struct conn_key *a, const struct conn_key *b)
{
	char *const *oa = a->options, *const *ob = b->options;

	if (!same_str(a->host, b->host) || !same_str(a->user, b->user) ||
	    !same_str(a->identity, b->identity) || !same_str(a->config, b->config) ||
	    !same_str(a->helper, b->helper) || a->port != b->port || a->accept_new != b->accept_new ||
	    a->no_upload != b->no_upload)
		return 0;
	/* Options in the order given: a later one may override an earlier one. */
	while (oa && *oa && ob && *ob)
		if (strcmp(*oa++, *ob++) != 0)
			return 0;
	return !(oa && *oa) && !(ob && *ob);
}
