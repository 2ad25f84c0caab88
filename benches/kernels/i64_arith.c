// i64 arithmetic loop: 64-bit mul/div/rem, shifts, rotates, compares,
// clz/ctz/popcnt on loop-carried state (splitmix64 + xorshift64*).
// bench-n: 160000
// expect: 97246642
#include <stdint.h>

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

int32_t run(int32_t n) {
    uint64_t s = 0x243f6a8885a308d3ull, x = 0x13198a2e03707344ull, acc = 0, q = 1;
    for (int32_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);  // splitmix64
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;   // xorshift64*
        uint64_t y = x * 0x2545f4914f6cdd1dull;
        q += z / ((y >> 40) | 1u) + (uint64_t)((int64_t)y % ((int64_t)(z >> 48) | 1));
        acc += rotl64(z ^ q, (int)(y & 63) | 1);
        acc ^= (uint64_t)__builtin_clzll(y | 1) + (uint64_t)__builtin_ctzll(z | (1ull << 63))
             + (uint64_t)__builtin_popcountll(q);
        if ((int64_t)acc < 0) acc = ~acc * 5u; else acc += q >> 7;
    }
    uint64_t r = acc ^ s ^ x ^ q;
    return (int32_t)(uint32_t)(r ^ (r >> 32));
}
