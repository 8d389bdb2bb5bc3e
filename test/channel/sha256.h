/* sha256.h — SHA-256 and HMAC-SHA256 for the channel tests and their children. */
#ifndef CPR_TEST_SHA256_H
#define CPR_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK]; /* a partial block */
	size_t nbuf;
};

struct hmac_sha256 {
	struct sha256 inner;
	uint8_t opad[SHA256_BLOCK]; /* key ^ 0x5c, kept for the outer hash */
};

/* Starts a hash.  Never fails. */
void sha256_init(struct sha256 *s);

/* Adds LEN bytes at P (P may be NULL when LEN is 0). */
void sha256_update(struct sha256 *s, const void *p, size_t len);

/* Writes the 32-byte digest to OUT; S must be re-initialised to be used again. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* The digest of the LEN bytes at P, in one call. */
void sha256_digest(const void *p, size_t len, uint8_t out[SHA256_LEN]);

/* Starts an HMAC-SHA256 with a key of any length (RFC 2104). */
void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t keylen);

/* Adds LEN bytes of message. */
void hmac_sha256_update(struct hmac_sha256 *m, const void *p, size_t len);

/* Writes the 32-byte MAC to OUT. */
void hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[SHA256_LEN]);

#endif
