/*
 * test_transport_argv.c — the argv each command transport builds
 * (relay/transport.c), word for word, and the destinations it refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpremote.h"
#include "tap.h"
#include "transport.h"

/* ARGV joined by "|", for one comparison per case. */
static char *joined(char **argv)
{
	static char buf[4096];

	buf[0] = '\0';
	for (char **p = argv; p && *p; p++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", p == argv ? "" : "|", *p);
	return buf;
}

/* Builds HOST's argv for the stub "STUB" with K's other fields and compares it with WANT. */
static void check(struct conn_key *k, const char *host, const char *want)
{
	char **argv = NULL, what[256];
	struct cpr_err e = { "" };
	int rc;

	k->host = (char *)host;
	rc = transport_argv(k, "STUB", &argv, &e);
	snprintf(what, sizeof what, "%s builds its argv", host);
	tap_ok(rc == 0 && strcmp(joined(argv), want) == 0, __FILE__, __LINE__, what);
	if (rc == 0 && strcmp(joined(argv), want) != 0)
		printf("# got  %s\n# want %s\n", joined(argv), want);
	if (rc < 0)
		printf("# %s\n", e.msg);
	transport_argv_free(argv);
}

static void refused(const char *host)
{
	struct conn_key k = { .host = (char *)host };
	char **argv = NULL, what[256];
	struct cpr_err e = { "" };

	snprintf(what, sizeof what, "'%s' is refused as malformed", host);
	tap_ok(transport_argv(&k, "STUB", &argv, &e) == CPREMOTE_EINVAL && !argv && e.msg[0], __FILE__,
	       __LINE__, what);
}

int main(void)
{
	char *opts[] = { "ProxyJump=jump", NULL }, *ctx[] = { "Context=prod", NULL };
	struct conn_key k = { 0 };

	unsetenv("CPREMOTE_SSH");
	unsetenv("CPREMOTE_DOCKER");
	unsetenv("CPREMOTE_PODMAN");
	unsetenv("CPREMOTE_KUBECTL");
	unsetenv("CPREMOTE_AWS");
	tap_ok(transport_is_command("exec:sh") && transport_is_command("openssh://h") &&
		       transport_is_command("docker://c") && transport_is_command("k8s://p") &&
		       transport_is_command("ssm://i") && transport_is_command("podman://c") &&
		       !transport_is_command("h1") && !transport_is_command("user@h1") &&
		       !transport_is_command("exec"),
	       __FILE__, __LINE__, "which destinations name a command transport");
	check(&k, "exec:sh -c", "sh|-c|STUB");
	check(&k, "exec:  ssh -T  h3 ", "ssh|-T|h3|STUB");
	check(&k, "exec:wrap {} --after", "wrap|STUB|--after");
	check(&k, "openssh://h2", "ssh|-T|-o|BatchMode=yes|--|h2|STUB");
	check(&k, "openssh://bob@h2:2222", "ssh|-T|-o|BatchMode=yes|-p|2222|-l|bob|--|h2|STUB");
	k.config = "/cfg";
	k.options = opts;
	k.identity = "/key";
	k.user = "ann";
	k.port = 22;
	k.accept_new = 1;
	check(&k, "openssh://h2",
	      "ssh|-T|-F|/cfg|-o|ProxyJump=jump|-o|StrictHostKeyChecking=accept-new|-o|BatchMode=yes|-i|/"
	      "key|-p|22|-l|ann|--|h2|STUB");
	k = (struct conn_key){ 0 };
	check(&k, "docker://c1", "docker|exec|-i|c1|/bin/sh|-c|STUB");
	k.user = "nobody";
	check(&k, "podman://c1", "podman|exec|-i|--user|nobody|c1|/bin/sh|-c|STUB");
	k = (struct conn_key){ 0 };
	check(&k, "k8s://pod1", "kubectl|exec|-i|pod1|--|/bin/sh|-c|STUB");
	check(&k, "k8s://ns/pod1", "kubectl|exec|-i|-n|ns|pod1|--|/bin/sh|-c|STUB");
	k.options = ctx;
	check(&k, "k8s://ns/pod1/box", "kubectl|--context|prod|exec|-i|-n|ns|pod1|-c|box|--|/bin/sh|-c|STUB");
	k = (struct conn_key){ 0 };
	check(&k, "ssm://i-1",
	      "aws|ssm|start-session|--target|i-1|--document-name|AWS-StartNonInteractiveCommand|"
	      "--parameters|{\"command\":[\"STUB\"]}");
	check(&k, "ssm://i-1@us-east-2",
	      "aws|ssm|start-session|--target|i-1|--region|us-east-2|--document-name|"
	      "AWS-StartNonInteractiveCommand|--parameters|{\"command\":[\"STUB\"]}");
	setenv("CPREMOTE_KUBECTL", "/opt/standin-kubectl", 1);
	check(&k, "k8s://p", "/opt/standin-kubectl|exec|-i|p|--|/bin/sh|-c|STUB");
	refused("exec:");
	refused("exec:   ");
	refused("openssh://");
	refused("openssh://h:");
	refused("openssh://h:22x");
	refused("docker://");
	refused("docker://a/b");
	refused("k8s://");
	refused("k8s:///pod");
	refused("k8s://ns/pod/c/x");
	refused("ssm://");
	refused("ssm://i@");
	refused("h1");
	tap_plan(tap_n);
	return tap_failed != 0;
}
