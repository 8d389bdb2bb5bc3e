/*
 * request.c — decoding a SPAWN payload (untrusted bytes from the relay)
 * into a struct spawn_req.  Pure parsing: no fd, no process; the fuzz
 * target and the unit tests call it directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

/* A field's bytes as a C string; a NUL inside would silently cut it, so it is refused. */
static char *field_str(const uint8_t *v, uint32_t len)
{
	char *s;

	if (memchr(v, 0, len) != NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

/* Appends S to the NULL-terminated vector *VP holding *NP strings. */
static int vec_push(char ***vp, size_t *np, char *s)
{
	char **v;

	if ((v = realloc(*vp, (*np + 2) * sizeof(*v))) == NULL)
		return -1;
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
	memset(req, 0, sizeof(*req));
}

int spawn_req_parse(const uint8_t *p, size_t len, struct spawn_req *req)
{
	struct cpr_reader rd = { .p = p, .left = len };
	const uint8_t *v;
	uint32_t vlen;
	uint8_t tag;
	size_t nargv = 0, nenv = 0;
	char *s = NULL;
	int k, i;

	memset(req, 0, sizeof(*req));
	while ((k = cpr_field_next(&rd, &tag, &v, &vlen)) == 1) {
		switch (tag) {
		case CPR_F_FILE:
		case CPR_F_CWD:
		case CPR_F_ARG:
		case CPR_F_ENV:
			if ((s = field_str(v, vlen)) == NULL)
				return -1;
			if (tag == CPR_F_FILE) {
				free(req->file);
				req->file = s;
			} else if (tag == CPR_F_CWD) {
				free(req->cwd);
				req->cwd = s;
			} else if (vec_push(tag == CPR_F_ARG ? &req->argv : &req->env,
					    tag == CPR_F_ARG ? &nargv : &nenv, s) != 0) {
				free(s);
				return -1;
			}
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
	if (k < 0 || req->file == NULL || req->file[0] == '\0')
		goto bad;
	if (req->argv == NULL) {
		if ((s = strdup(req->file)) == NULL)
			return -1;
		if (vec_push(&req->argv, &nargv, s) != 0) {
			free(s);
			return -1;
		}
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
