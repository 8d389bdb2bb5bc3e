/* cprun_dest.c — the ssh:// destinations of cprun (see cprun_dest.h), as OpenSSH parses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "cprun_dest.h"

#define SCHEME "ssh://"

/* The value of hex digit C, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The N bytes at P with %XX decoded (malloc'ed), or NULL for a bad escape, a NUL, or no memory. */
static char *decode(const char *p, size_t n)
{
	char *out = malloc(n + 1), *q = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (p[i] != '%') {
			*q++ = p[i];
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		hi = hexval(p[i + 1]);
		lo = hexval(p[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		*q++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*q = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Parses the decimal port of N bytes at P: 1..65535, or 0 when N is 0 (the default).  -1 when bad. */
static int parse_port(const char *p, size_t n)
{
	int v = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || n > 5)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* Takes "[USER@]HOST[:PORT]" (after the scheme) apart.  Returns 0, or -1 with ERR set. */
static int parse_uri(const char *arg, const char *rest, struct cprun_dest *d, char *err, size_t errlen)
{
	const char *at = strrchr(rest, '@'), *host = at != NULL ? at + 1 : rest, *end, *colon;

	/* Anywhere after the scheme: a user with a slash writes it %2F. */
	if (strchr(rest, '/') != NULL) {
		snprintf(err, errlen, "bad destination %s: an ssh:// destination has no path", arg);
		return -1;
	}
	if (at != NULL && (at == rest || (d->user = decode(rest, (size_t)(at - rest))) == NULL)) {
		snprintf(err, errlen, "bad destination %s: bad user name", arg);
		return -1;
	}
	if (*host == '[') {
		/* An IPv6 address: its colons are not the port's. */
		end = strchr(host, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			snprintf(err, errlen, "bad destination %s: no ']' after an IPv6 address", arg);
			return -1;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
		host++;
	} else {
		colon = strchr(host, ':');
		end = colon != NULL ? colon : host + strlen(host);
	}
	if (end == host) {
		snprintf(err, errlen, "bad destination %s: no host", arg);
		return -1;
	}
	if (colon != NULL && (d->port = parse_port(colon + 1, strlen(colon + 1))) < 0) {
		snprintf(err, errlen, "bad destination %s: bad port", arg);
		return -1;
	}
	if ((d->host = strndup(host, (size_t)(end - host))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* See cprun_dest.h. */
int cprun_dest_parse(const char *arg, struct cprun_dest *d, char *err, size_t errlen)
{
	*d = (struct cprun_dest){ 0 };
	if (strncmp(arg, SCHEME, strlen(SCHEME)) == 0) {
		if (parse_uri(arg, arg + strlen(SCHEME), d, err, errlen) == 0)
			return 0;
		cprun_dest_free(d);
		return -1;
	}
	if ((d->host = strdup(arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* See cprun_dest.h. */
int cprun_dest_apply(const char *arg, struct cpremote_options *o, struct cprun_dest *d, char *err,
		     size_t errlen)
{
	if (cprun_dest_parse(arg, d, err, errlen) < 0)
		return -1;
	o->host = d->host;
	if (o->user == NULL)
		o->user = d->user;
	if (o->port == 0)
		o->port = d->port;
	return 0;
}

/* See cprun_dest.h. */
void cprun_dest_free(struct cprun_dest *d)
{
	free(d->host);
	free(d->user);
	*d = (struct cprun_dest){ 0 };
}
