/*
 * test_request.c — unit tests of the relay's request parser and its
 * connection key (relay/request.c): which fields go to the helper, which
 * pick the connection, and that only destination fields split
 * connections.
 */
#include <stdint.h>
#include <string.h>

#include "cpremote.h"
#include "request.h"
#include "tap.h"

/*
 * A request with every destination field set; VARY (a tag) changes that
 * one field, VERBOSITY is sent as given, and so is the caller's process
 * group, 1000 + VERBOSITY (neither splits a connection).
 */
static void build(struct cpr_buf *b, uint8_t vary, uint32_t verbosity)
{
	memset(b, 0, sizeof *b);
	cpr_field_put_str(b, CPR_F_HOST, vary == CPR_F_HOST ? "h2" : "h1");
	cpr_field_put_str(b, CPR_F_USER, vary == CPR_F_USER ? "bob" : "alice");
	cpr_field_put_u32(b, CPR_F_PORT, vary == CPR_F_PORT ? 2222 : 22);
	cpr_field_put_str(b, CPR_F_IDENTITY, vary == CPR_F_IDENTITY ? "/k2" : "/k1");
	cpr_field_put_str(b, CPR_F_CONFIG, vary == CPR_F_CONFIG ? "/c2" : "/c1");
	cpr_field_put_str(b, CPR_F_HELPER, vary == CPR_F_HELPER ? "/h2" : "/h1");
	cpr_field_put_str(b, CPR_F_OPTION, vary == CPR_F_OPTION ? "Compression=no" : "Compression=yes");
	cpr_field_put_u32(b, CPR_F_ACCEPT_NEW, vary == CPR_F_ACCEPT_NEW);
	cpr_field_put_u32(b, CPR_F_NO_UPLOAD, vary == CPR_F_NO_UPLOAD);
	cpr_field_put_u32(b, CPR_F_VERBOSITY, verbosity);
	cpr_field_put_u32(b, CPR_F_CALLER_PGRP, 1000 + verbosity);
	cpr_field_put_str(b, CPR_F_FILE, "prog");
	cpr_field_put_str(b, CPR_F_ARG, "prog");
}

static int parse(const struct cpr_buf *b, uint8_t mask, struct spawn_request *r, struct cpr_err *e)
{
	memset(r, 0, sizeof *r);
	e->msg[0] = '\0';
	return request_parse(cpr_buf_peek(b), (uint32_t)cpr_buf_len(b), mask, r, e);
}

/* Whether the request built with VARY_A and VARY_B (and verbosities) gets equal keys. */
static int same_key(uint8_t vary_a, uint32_t va, uint8_t vary_b, uint32_t vb)
{
	struct cpr_buf a, b;
	struct spawn_request ra, rb;
	struct cpr_err e;
	int eq;

	build(&a, vary_a, va);
	build(&b, vary_b, vb);
	eq = parse(&a, 0, &ra, &e) == 0 && parse(&b, 0, &rb, &e) == 0 && conn_key_equal(&ra.key, &rb.key);
	request_free(&ra);
	request_free(&rb);
	cpr_buf_free(&a);
	cpr_buf_free(&b);
	return eq;
}

static void test_fields(void)
{
	struct cpr_buf b;
	struct spawn_request r;
	struct cpr_err e;
	struct cpr_reader rd;
	uint8_t tag;
	const uint8_t *v;
	uint32_t len;
	int dest_in_payload = 0, nargs = 0, stdio_ok = 0;

	build(&b, 0, 3);
	ok_int(parse(&b, 5, &r, &e), 0, "a full request parses");
	ok(r.key.host && strcmp(r.key.host, "h1") == 0, "host taken");
	ok(r.key.user && strcmp(r.key.user, "alice") == 0, "user taken");
	ok_int(r.key.port, 22, "port taken");
	ok(r.key.identity && strcmp(r.key.identity, "/k1") == 0, "identity taken");
	ok(r.key.config && strcmp(r.key.config, "/c1") == 0, "config taken");
	ok(r.key.helper && strcmp(r.key.helper, "/h1") == 0, "helper taken");
	ok(r.key.options && r.key.options[0] && strcmp(r.key.options[0], "Compression=yes") == 0 &&
		   !r.key.options[1],
	   "one option taken");
	ok_int(r.verbosity, 3, "verbosity taken");
	ok_int(r.caller_pgrp, 1003, "the caller's process group taken (for a terminal stdin)");
	ok(r.file && strcmp(r.file, "prog") == 0, "program taken");
	rd = (struct cpr_reader){ cpr_buf_peek(&r.spawn), cpr_buf_len(&r.spawn) };
	while (cpr_field_next(&rd, &tag, &v, &len) == 1) {
		if (tag >= CPR_F_HOST && tag <= CPR_F_CALLER_PGRP)
			dest_in_payload = 1;
		if (tag == CPR_F_ARG)
			nargs++;
		if (tag == CPR_F_STDIO && len == 3)
			stdio_ok = v[0] == CPR_STDIO_PIPE && v[1] == CPR_STDIO_NULL && v[2] == CPR_STDIO_PIPE;
	}
	ok(!dest_in_payload, "no destination field (nor the caller's process group) goes to the helper");
	ok_int(nargs, 1, "the argument goes to the helper");
	ok(stdio_ok, "STDIO follows the fds passed (stdin and stderr)");
	request_free(&r);
	cpr_buf_free(&b);
}

static void test_bad(void)
{
	struct cpr_buf b = { 0 };
	struct spawn_request r;
	struct cpr_err e;

	cpr_field_put_str(&b, CPR_F_FILE, "prog");
	ok_int(parse(&b, 0, &r, &e), CPREMOTE_EINVAL, "no host: refused");
	ok(strstr(e.msg, "host and program are required") != NULL, "the message says what is missing");
	request_free(&r);
	cpr_buf_free(&b);

	cpr_field_put_str(&b, CPR_F_HOST, "h");
	ok_int(parse(&b, 0, &r, &e), CPREMOTE_EINVAL, "no program: refused");
	request_free(&r);
	cpr_buf_free(&b);

	cpr_field_put_str(&b, CPR_F_HOST, "");
	cpr_field_put_str(&b, CPR_F_FILE, "prog");
	ok_int(parse(&b, 0, &r, &e), CPREMOTE_EINVAL, "empty host: refused");
	request_free(&r);
	cpr_buf_free(&b);

	cpr_field_put_str(&b, CPR_F_HOST, "h");
	cpr_field_put_str(&b, CPR_F_FILE, "prog");
	ok_int(parse(&b, 0, &r, &e), 0, "host and program suffice");
	ok(!r.key.user && !r.key.helper && !r.key.options && r.key.port == 0, "unset fields stay unset");
	request_free(&r);
	ok_int(request_parse(cpr_buf_peek(&b), (uint32_t)cpr_buf_len(&b) - 1, 0, &r, &e), CPREMOTE_EINVAL,
	       "a field cut short: refused");
	request_free(&r);
	cpr_buf_free(&b);
}

static void test_key(void)
{
	static const struct {
		uint8_t tag;
		const char *name;
	} fields[] = {
		{ CPR_F_HOST, "host" },           { CPR_F_USER, "user" },
		{ CPR_F_PORT, "port" },           { CPR_F_IDENTITY, "identity" },
		{ CPR_F_CONFIG, "config" },       { CPR_F_HELPER, "helper" },
		{ CPR_F_OPTION, "option" },       { CPR_F_ACCEPT_NEW, "accept_new" },
		{ CPR_F_NO_UPLOAD, "no_upload" },
	};
	char what[128];

	ok(same_key(0, 0, 0, 0), "equal destinations share a connection");
	ok(same_key(0, 0, 0, 3), "verbosity does not split connections");
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		snprintf(what, sizeof what, "%s splits connections", fields[i].name);
		ok(!same_key(0, 0, fields[i].tag, 0), what);
	}
}

static void test_options(void)
{
	struct cpr_buf a = { 0 }, b = { 0 };
	struct spawn_request ra, rb;
	struct cpr_err e;

	/* Options in another order are another configuration: a later one may override. */
	cpr_field_put_str(&a, CPR_F_HOST, "h");
	cpr_field_put_str(&a, CPR_F_FILE, "p");
	cpr_field_put_str(&a, CPR_F_OPTION, "Port=1");
	cpr_field_put_str(&a, CPR_F_OPTION, "Port=2");
	cpr_field_put_str(&b, CPR_F_HOST, "h");
	cpr_field_put_str(&b, CPR_F_FILE, "p");
	cpr_field_put_str(&b, CPR_F_OPTION, "Port=2");
	cpr_field_put_str(&b, CPR_F_OPTION, "Port=1");
	ok(parse(&a, 0, &ra, &e) == 0 && parse(&b, 0, &rb, &e) == 0, "two options parse");
	ok(!conn_key_equal(&ra.key, &rb.key), "option order splits connections");
	ok(conn_key_equal(&ra.key, &ra.key), "a key equals itself");
	request_free(&rb);
	cpr_buf_free(&b);
	cpr_field_put_str(&b, CPR_F_HOST, "h");
	cpr_field_put_str(&b, CPR_F_FILE, "p");
	cpr_field_put_str(&b, CPR_F_OPTION, "Port=1");
	ok(parse(&b, 0, &rb, &e) == 0 && !conn_key_equal(&ra.key, &rb.key),
	   "an extra option splits connections");
	request_free(&ra);
	request_free(&rb);
	cpr_buf_free(&a);
	cpr_buf_free(&b);
}

/* parse() for a CONNECT request. */
static int parse_connect(const struct cpr_buf *b, uint8_t mask, struct spawn_request *r, struct cpr_err *e)
{
	memset(r, 0, sizeof *r);
	r->type = CPR_CONNECT;
	e->msg[0] = '\0';
	return request_parse(cpr_buf_peek(b), (uint32_t)cpr_buf_len(b), mask, r, e);
}

/* A CONNECT: PATH instead of a program; only PATH goes to the helper; no stdio fds taken. */
static void test_connect(void)
{
	struct cpr_buf b = { 0 };
	struct spawn_request r;
	struct cpr_err e;
	struct cpr_reader rd;
	uint8_t tag;
	const uint8_t *v;
	uint32_t len;
	int fields = 0, path_ok = 0;

	build(&b, 0, 0);
	cpr_field_put_str(&b, CPR_F_PATH, "/tmp/app/console.sock");
	ok_int(parse_connect(&b, 0, &r, &e), 0, "connect: a request with PATH parses");
	ok(r.file && strcmp(r.file, "/tmp/app/console.sock") == 0, "connect: the path is what messages name");
	ok(r.key.host && strcmp(r.key.host, "h1") == 0, "connect: the destination is taken as for SPAWN");
	rd = (struct cpr_reader){ cpr_buf_peek(&r.spawn), cpr_buf_len(&r.spawn) };
	while (cpr_field_next(&rd, &tag, &v, &len) == 1) {
		fields++;
		path_ok |= tag == CPR_F_PATH && len == strlen("/tmp/app/console.sock");
	}
	ok(fields == 1 && path_ok, "connect: the helper gets PATH alone (no program, argv or STDIO)");
	request_free(&r);

	ok_int(parse_connect(&b, 2, &r, &e), CPREMOTE_EINVAL, "connect: stdio fds passed with it: refused");
	request_free(&r);
	cpr_buf_free(&b);

	build(&b, 0, 0);
	ok_int(parse_connect(&b, 0, &r, &e), CPREMOTE_EINVAL,
	       "connect: no PATH (a program instead): refused");
	ok(strstr(e.msg, "host and path are required") != NULL, "connect: the message says what is missing");
	request_free(&r);
	cpr_buf_free(&b);

	cpr_field_put_str(&b, CPR_F_HOST, "h1");
	cpr_field_put_str(&b, CPR_F_PATH, "/x.sock");
	ok_int(parse(&b, 0, &r, &e), CPREMOTE_EINVAL, "a SPAWN's PATH does not stand for its program");
	request_free(&r);
	cpr_buf_free(&b);
}

int main(void)
{
	test_fields();
	test_bad();
	test_connect();
	test_key();
	test_options();
	return tap_done();
}
