/*
 * request.c — decoding a SPAWN (or CONNECT) payload (untrusted bytes from the relay)
 * into a struct spawn_req.  Pure parsing: no fd, no process; the fuzz
 * target and the unit tests call it directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

/*
 * A field's bytes as a C string in *out; a NUL inside would silently cut
 * it, so it is refused.  0, -EINVAL or -ENOMEM.
 */
static int field_str(const uint8_t *v, uint32_t len, char **out)
{
	char *s;

	if (memchr(v, 0, len) != NULL)
		return -EINVAL;
	if ((s = malloc((size_t)len + 1)) == NULL)
		return -ENOMEM;
	memcpy(s, v, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

/* Appends S to the NULL-terminated vector *VP holding *NP strings.  0 or -ENOMEM. */
static int vec_push(char ***vp, size_t *np, char *s)
{
	char **v;

	if ((v = realloc(*vp, (*np + 2) * sizeof(*v))) == NULL)
		return -ENOMEM;
	v[(*np)++] = s;
	v[*np] = NULL;
	*vp = v;
	return 0;
}

static void vec_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void spawn_req_free(struct spawn_req *req)
{
	free(req->file);
	vec_free(req->argv);
	vec_free(req->env);
	free(req->cwd);
	free(req->term);
	free(req->modes);
	memset(req, 0, sizeof(*req));
}

/* One of the terminal's fields (CPR_F_TTY, CPR_F_TERM, CPR_F_TTY_MODES) into REQ.  0, -EINVAL or -ENOMEM. */
static int take_tty_field(struct spawn_req *req, uint8_t tag, const uint8_t *v, uint32_t vlen)
{
	if (tag == CPR_F_TTY) {
		req->tty = 1;
		return cpr_winsize_decode(v, vlen, &req->ws) < 0 ? -EINVAL : 0;
	}
	if (tag == CPR_F_TERM) {
		free(req->term);
		req->term = NULL;
		return field_str(v, vlen, &req->term);
	}
	free(req->modes);
	if ((req->modes = malloc(vlen ? vlen : 1)) == NULL)
		return -ENOMEM;
	memcpy(req->modes, v, vlen);
	req->modes_len = vlen;
	return 0;
}

int spawn_req_parse(const uint8_t *p, size_t len, struct spawn_req *req)
{
	struct cpr_reader rd = { .p = p, .left = len };
	const uint8_t *v;
	uint32_t vlen;
	uint8_t tag;
	size_t nargv = 0, nenv = 0;
	char *s = NULL;
	int k, i, e;

	memset(req, 0, sizeof(*req));
	while ((k = cpr_field_next(&rd, &tag, &v, &vlen)) == 1) {
		switch (tag) {
		case CPR_F_FILE:
		case CPR_F_CWD:
		case CPR_F_ARG:
		case CPR_F_ENV:
			if ((e = field_str(v, vlen, &s)) < 0)
				return e;
			if (tag == CPR_F_FILE) {
				free(req->file);
				req->file = s;
			} else if (tag == CPR_F_CWD) {
				free(req->cwd);
				req->cwd = s;
			} else if (vec_push(tag == CPR_F_ARG ? &req->argv : &req->env,
					    tag == CPR_F_ARG ? &nargv : &nenv, s) < 0) {
				free(s);
				return -ENOMEM;
			}
			break;
		case CPR_F_TTY:
		case CPR_F_TERM:
		case CPR_F_TTY_MODES:
			if ((e = take_tty_field(req, tag, v, vlen)) < 0)
				return e;
			break;
		case CPR_F_FLAGS:
			if (vlen != 4)
				goto bad;
			req->flags = cpr_get_u32(v);
			break;
		case CPR_F_STDIO:
			if (vlen != 3)
				goto bad;
			for (i = 0; i < 3; i++) {
				if (v[i] != CPR_STDIO_NULL && v[i] != CPR_STDIO_PIPE)
					goto bad;
				req->stdio[i] = v[i];
			}
			break;
		default:
			/* Unknown tags are skipped: fields can be added without a new version. */
			break;
		}
	}
	if (k < 0)
		goto bad;
	/* The login shell is the user's, found on the host (spawn.c). */
	if (req->flags & CPR_SPAWN_LOGIN)
		return 0;
	if (req->file == NULL || req->file[0] == '\0')
		goto bad;
	if (req->argv == NULL) {
		if ((s = strdup(req->file)) == NULL)
			return -ENOMEM;
		if (vec_push(&req->argv, &nargv, s) < 0) {
			free(s);
			return -ENOMEM;
		}
	}
	return 0;
bad:
	return -EINVAL;
}

int connect_req_path(const uint8_t *p, size_t len, char **pathp)
{
	struct cpr_reader r = { p, len };
	const uint8_t *v;
	uint8_t tag;
	uint32_t vlen;
	int rc;

	*pathp = NULL;
	while ((rc = cpr_field_next(&r, &tag, &v, &vlen)) == 1) {
		if (tag != CPR_F_PATH)
			continue;
		/* A second PATH would be ambiguous. */
		if (*pathp != NULL || vlen == 0) {
			rc = -EINVAL;
			break;
		}
		if ((rc = field_str(v, vlen, pathp)) < 0)
			break;
	}
	if (rc == 0 && *pathp != NULL)
		return 0;
	free(*pathp);
	*pathp = NULL;
	return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}
