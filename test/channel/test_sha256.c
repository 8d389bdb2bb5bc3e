/*
 * test_sha256.c — the tests' own SHA-256/HMAC and byte stream against known
 * answers (FIPS 180-4 examples, RFC 4231), so that an end-to-end failure
 * is never a checksum bug.  Needs no test hosts.
 */
#include <string.h>

#include "io.h"
#include "sha256.h"
#include "tap.h"

static const char *sha_hex(const void *p, size_t n)
{
	static char hex[2 * SHA256_LEN + 1];
	uint8_t d[SHA256_LEN];

	sha256_digest(p, n, d);
	io_hex(d, sizeof(d), hex);
	return hex;
}

static const char *hmac_hex(const void *key, size_t keylen, const void *p, size_t n)
{
	static char hex[2 * SHA256_LEN + 1];
	uint8_t d[SHA256_LEN];
	struct hmac_sha256 m;

	hmac_sha256_init(&m, key, keylen);
	hmac_sha256_update(&m, p, n);
	hmac_sha256_final(&m, d);
	io_hex(d, sizeof(d), hex);
	return hex;
}

int main(void)
{
	static uint8_t million[1000000], whole[1000], parts[1000];
	uint8_t key20[20], key131[131];
	const char *want_a;
	struct sha256 s;
	uint8_t d1[SHA256_LEN], d2[SHA256_LEN];
	size_t off, step;

	ok_str(sha_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "SHA-256 of the empty string");
	ok_str(sha_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of abc");
	ok_str(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56),
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "SHA-256 of the two-block FIPS example");
	memset(million, 'a', sizeof(million));
	want_a = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	ok_str(sha_hex(million, sizeof(million)), want_a, "SHA-256 of a million 'a'");

	/* The same digest whatever the split into updates. */
	sha256_init(&s);
	for (off = 0, step = 1; off < sizeof(million); off += step, step = step * 3 % 1021 + 1)
		sha256_update(&s, million + off, off + step > sizeof(million) ? sizeof(million) - off : step);
	sha256_final(&s, d1);
	io_unhex(want_a, d2, sizeof(d2));
	ok(memcmp(d1, d2, sizeof(d1)) == 0, "SHA-256 in uneven pieces");

	memset(key20, 0x0b, sizeof(key20));
	ok_str(hmac_hex(key20, sizeof(key20), "Hi There", 8),
	       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1");
	ok_str(hmac_hex("Jefe", 4, "what do ya want for nothing?", 28),
	       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");
	memset(key131, 0xaa, sizeof(key131));
	ok_str(hmac_hex(key131, sizeof(key131), "Test Using Larger Than Block-Size Key - Hash Key First", 54),
	       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	       "RFC 4231 case 6 (key longer than a block)");

	/* The byte stream depends on the offset only, not on how it is cut. */
	io_stream_fill(42, 0, whole, sizeof(whole));
	for (off = 0, step = 1; off < sizeof(parts); off += step, step = step % 13 + 1)
		io_stream_fill(42, off, parts + off, off + step > sizeof(parts) ? sizeof(parts) - off : step);
	ok(memcmp(whole, parts, sizeof(whole)) == 0, "stream bytes do not depend on the cut");
	io_stream_fill(43, 0, parts, sizeof(parts));
	ok(memcmp(whole, parts, sizeof(whole)) != 0, "another seed gives other bytes");
	return tap_done();
}
