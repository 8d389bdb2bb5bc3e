/*
 * test_shells.c — the exec string works whatever the user's login shell:
 * sh, bash, zsh, fish, tcsh and mksh (each skipped when Debian's package
 * is not installed), with rc files that print to stdout before the helper
 * starts (about 20 KiB for cprnoisy).  Cold (upload) then warm, each.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "boot_util.h"
#include "tap.h"

static void one_shell(const char *user, const char *shell)
{
	struct boot_user u;
	struct fixture_result r;
	char what[128], want[64];

	if (boot_user(user, &u) != 0) {
		printf("ok %d - %s # SKIP %s is not installed (no user %s)\n", ++tap_n, shell, shell, user);
		return;
	}
	boot_clean(&u);
	snprintf(want, sizeof want, "hi from %s\n", user);
	snprintf(what, sizeof what, "%s: first spawn (upload) runs the program", shell);
	ok_int(boot_cprun(&u, "h1", "echo \"hi from $(id -un)\"", &r), 0, what);
	ok_str(r.out, want, what);
	snprintf(what, sizeof what, "%s: the helper was uploaded", shell);
	ok(boot_uploaded(&r), what);
	fixture_result_free(&r);
	snprintf(what, sizeof what, "%s: second spawn runs the program", shell);
	ok_int(boot_cprun(&u, "h1", "echo \"hi from $(id -un)\"", &r), 0, what);
	ok_str(r.out, want, what);
	snprintf(what, sizeof what, "%s: second spawn uploads nothing", shell);
	ok(!boot_uploaded(&r), what);
	fixture_result_free(&r);
	boot_clean(&u);
}

/* The noise is real: plain ssh shows what the rc file prints. */
static void noise_is_printed(void)
{
	char cmd[1024];
	FILE *p;
	size_t total = 0, n;
	char buf[4096];

	snprintf(cmd, sizeof cmd, "ssh -F '%s/ssh_config' -l cprnoisy h1 true 2>/dev/null", fixture_dir());
	fflush(stdout);
	if (!(p = popen(cmd, "r"))) {
		ok(0, "ssh runs");
		return;
	}
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		total += n;
	pclose(p);
	if (!tap_ok(total > 16 * 1024, __FILE__, __LINE__, "cprnoisy's .bashrc prints over 16 KiB on stdout"))
		printf("#   got %zu bytes\n", total);
}

int main(void)
{
	boot_init();
	one_shell("cprsh", "sh");
	one_shell("cprbash", "bash");
	one_shell("cprzsh", "zsh");
	one_shell("cprfish", "fish");
	one_shell("cprtcsh", "tcsh");
	one_shell("cprmksh", "mksh");
	if (getenv("CPREMOTE_TEST_DIR")) {
		struct boot_user u;
		if (boot_user("cprnoisy", &u) == 0) {
			noise_is_printed();
			one_shell("cprnoisy", "bash with a noisy .bashrc");
		}
	}
	if (tap_failed)
		fixture_dump_logs();
	return tap_done();
}
