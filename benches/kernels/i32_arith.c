// i32 arithmetic loop: add/sub/mul/div/rem, shifts, rotates, compares and
// clz/popcnt on a loop-carried state (no closed form, nothing to vectorize).
// bench-n: 200000
// expect: -1496510855
#include <stdint.h>

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

int32_t run(int32_t n) {
    uint32_t a = 0x9e3779b9u, b = 0x7f4a7c15u, c = 12345u, acc = 0;
    for (int32_t i = 0; i < n; i++) {
        a = a * 1664525u + 1013904223u;             // LCG
        b ^= b << 13; b ^= b >> 17; b ^= b << 5;    // xorshift32
        uint32_t d = (b | 1u);
        c += (a / d) + (a % (d >> 20 | 1u));        // unsigned div/rem
        int32_t s = (int32_t)(a ^ c);
        c ^= (uint32_t)(s / ((int32_t)(b >> 24) | 1)); // signed div
        acc += rotl32(a ^ b, (int)(c & 31) | 1);
        acc ^= (uint32_t)__builtin_clz(d) + (uint32_t)__builtin_popcount(c);
        if ((int32_t)acc < 0) acc = ~acc * 3u; else acc = acc + (c >> 3);
    }
    return (int32_t)(acc ^ a ^ b ^ c);
}
