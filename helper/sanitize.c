/*
 * sanitize.c — default sanitizer options of the sanitized helper
 * (cpremote-helper-native in a -Db_sanitize build; never in the shipped
 * binary).  The tests run that helper through sshd, which passes no
 * ASAN_OPTIONS or UBSAN_OPTIONS and whose stderr goes to the relay, where
 * a report at exit would be lost: so the options are built in, reports go
 * to /tmp/cpremote-helper-asan.PID (a file appears only when there is a
 * report), and every finding ends the helper with a failing status.
 */
#include "helper.h"

/* Read by ASan and LSan at start-up. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=1:abort_on_error=0:log_path=/tmp/cpremote-helper-asan";
}

/* Read by UBSan at start-up: a finding is an error, not a warning. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1:log_path=/tmp/cpremote-helper-asan";
}
