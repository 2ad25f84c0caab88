// Memory kernel: fill a static 8 KiB buffer, then per round copy it with a
// byte transform into a second buffer, checksum it (Adler-32 over bytes plus an
// FNV-style hash over 32-bit words) and scribble 16-bit values back into the
// source. Exercises i32.load8_u/load16_u/load/store8/store16/store.
// bench-n: 40
// expect: 84662657
#include <stdint.h>

#define LEN 8192

// Typed by their widest access; byte access through uint8_t* is always allowed.
static uint16_t src16[LEN / 2];
static uint32_t dst32[LEN / 4];

int32_t run(int32_t rounds) {
    uint8_t *src = (uint8_t *)src16;
    uint8_t *dst = (uint8_t *)dst32;
    uint32_t seed = 0x12345678u;
    for (int i = 0; i < LEN; i++) {
        seed = seed * 1103515245u + 12345u;
        src[i] = (uint8_t)(seed >> 16);
    }
    uint32_t total = 0;
    for (int32_t r = 0; r < rounds; r++) {
        uint8_t key = (uint8_t)(r * 37 + 11);
        for (int i = 0; i < LEN; i++)
            dst[i] = (uint8_t)(src[i] ^ key) + (uint8_t)i;
        uint32_t a = 1, b = 0;
        for (int i = 0; i < LEN; i++) {
            a = (a + dst[i]) % 65521u;
            b = (b + a) % 65521u;
        }
        uint32_t h = 2166136261u;
        for (int i = 0; i < LEN / 4; i++)
            h = (h ^ dst32[i]) * 16777619u;
        for (int i = r & 7; i < LEN / 2; i += 8)
            src16[i] = (uint16_t)(src16[i] + h + (uint32_t)i);
        total = total * 31u + ((b << 16) | a) + h;
    }
    return (int32_t)total;
}
