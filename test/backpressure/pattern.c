/* pattern.c — the test byte streams of pattern.h: splitmix64 of the 8-byte block number. */
#include <string.h>

#include "pattern.h"

static uint64_t block(uint32_t seed, uint64_t i)
{
	uint64_t z = i + ((uint64_t)seed << 40) + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void pattern_fill(uint32_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	while (n > 0) {
		uint64_t b = block(seed, off / 8);
		size_t skip = (size_t)(off % 8), k = 8 - skip < n ? 8 - skip : n;
		uint8_t bytes[8];

		memcpy(bytes, &b, 8);
		memcpy(buf, bytes + skip, k);
		buf += k;
		off += k;
		n -= k;
	}
}

int pattern_check(uint32_t seed, uint64_t off, const uint8_t *buf, size_t n)
{
	uint8_t want[4096];

	while (n > 0) {
		size_t k = n < sizeof(want) ? n : sizeof(want);

		pattern_fill(seed, off, want, k);
		if (memcmp(want, buf, k) != 0)
			return 0;
		buf += k;
		off += k;
		n -= k;
	}
	return 1;
}
