/*
 * control_hello.h — the greeting the relay sends on its control socket to
 * the library that started it (doc/PROTOCOL.md, "Library and relay").  Its
 * version is the control link's own, apart from the relay ⇄ helper one:
 * the library and the relay are installed together, the helper is not.
 */
#ifndef CPREMOTE_CONTROL_HELLO_H
#define CPREMOTE_CONTROL_HELLO_H

#include <stdint.h>
#include <string.h>

#define CPR_CTL_MAGIC "CPRRELAY" /* 8 bytes, no NUL */
#define CPR_CTL_MAGIC_LEN 8
#define CPR_CTL_VERSION 1u
#define CPR_CTL_HELLO_LEN 16 /* magic, u32 version, u32 relay pid (big-endian) */
/* The byte of a control message without fds that asks a master to exit (cprun -O exit). */
#define CPR_CTL_EXIT 0xFFu

/* Fills OUT with the greeting of a relay of control version VERSION whose pid is PID. */
static inline void cpr_ctl_hello_encode(uint8_t out[CPR_CTL_HELLO_LEN], uint32_t version, uint32_t pid)
{
	memcpy(out, CPR_CTL_MAGIC, CPR_CTL_MAGIC_LEN);
	for (int i = 0; i < 4; i++) {
		out[8 + i] = (uint8_t)(version >> (24 - 8 * i));
		out[12 + i] = (uint8_t)(pid >> (24 - 8 * i));
	}
}

/*
 * Reads a greeting of LEN bytes.  Returns 0 with *version and *pid set, or
 * -1 when it is not one (wrong length or magic): the peer is no relay.
 * Any version is returned; comparing it is the caller's business.
 */
static inline int cpr_ctl_hello_decode(const uint8_t *in, size_t len, uint32_t *version, uint32_t *pid)
{
	if (len != CPR_CTL_HELLO_LEN || memcmp(in, CPR_CTL_MAGIC, CPR_CTL_MAGIC_LEN) != 0)
		return -1;
	*version = *pid = 0;
	for (int i = 0; i < 4; i++) {
		*version = *version << 8 | in[8 + i];
		*pid = *pid << 8 | in[12 + i];
	}
	return 0;
}

#endif
