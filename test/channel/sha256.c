/*
 * sha256.c — SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), written out
 * here so that the remote test children need no crypto library and the
 * caller checks their answers with the very same code.
 */
#include <string.h>

#include "sha256.h"

static const uint32_t round_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t w[64], v[8];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
		       (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 64; i++) {
		uint32_t e = v[4], a = v[0];
		uint32_t t1 = v[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & v[5]) ^ (~e & v[6])) +
			      round_k[i] + w[i];
		uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
			      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->nbuf = 0;
}

void sha256_update(struct sha256 *s, const void *p, size_t len)
{
	const uint8_t *in = p;

	s->total += len;
	if (s->nbuf > 0) {
		size_t take = SHA256_BLOCK - s->nbuf;

		if (take > len)
			take = len;
		memcpy(s->buf + s->nbuf, in, take);
		s->nbuf += take;
		in += take;
		len -= take;
		if (s->nbuf < SHA256_BLOCK)
			return;
		compress(s->h, s->buf);
		s->nbuf = 0;
	}
	for (; len >= SHA256_BLOCK; in += SHA256_BLOCK, len -= SHA256_BLOCK)
		compress(s->h, in);
	if (len > 0) {
		memcpy(s->buf, in, len);
		s->nbuf = len;
	}
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	uint64_t bits = s->total * 8;
	uint8_t pad[SHA256_BLOCK + 8] = { 0x80 };
	/* Pad to 56 mod 64, then the length: at least one byte of padding. */
	size_t padlen = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t keylen)
{
	uint8_t k[SHA256_BLOCK] = { 0 }, ipad[SHA256_BLOCK];
	size_t i;

	/* A key longer than a block is replaced by its digest (RFC 2104, 2). */
	if (keylen > SHA256_BLOCK) {
		struct sha256 s;

		sha256_init(&s);
		sha256_update(&s, key, keylen);
		sha256_final(&s, k);
	} else if (keylen > 0) {
		memcpy(k, key, keylen);
	}
	for (i = 0; i < SHA256_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		m->opad[i] = k[i] ^ 0x5c;
	}
	sha256_init(&m->inner);
	sha256_update(&m->inner, ipad, sizeof(ipad));
}

void hmac_sha256_update(struct hmac_sha256 *m, const void *p, size_t len)
{
	sha256_update(&m->inner, p, len);
}

void hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[SHA256_LEN])
{
	uint8_t ih[SHA256_LEN];
	struct sha256 outer;

	sha256_final(&m->inner, ih);
	sha256_init(&outer);
	sha256_update(&outer, m->opad, sizeof(m->opad));
	sha256_update(&outer, ih, sizeof(ih));
	sha256_final(&outer, out);
}

void sha256_digest(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, p, len);
	sha256_final(&s, out);
}
