/*
 * pattern.h — the byte streams of the backpressure tests: byte I of
 * stream SEED is a fixed function of (SEED, I), so that a receiver checks
 * every byte it gets, at any offset, without the sender's help.
 */
#ifndef CPREMOTE_PATTERN_H
#define CPREMOTE_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Fills BUF with bytes OFF..OFF+N-1 of stream SEED. */
void pattern_fill(uint32_t seed, uint64_t off, uint8_t *buf, size_t n);

/* Whether BUF holds bytes OFF..OFF+N-1 of stream SEED. */
int pattern_check(uint32_t seed, uint64_t off, const uint8_t *buf, size_t n);

#endif
