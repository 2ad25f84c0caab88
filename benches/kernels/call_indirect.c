// call_indirect dispatch loop: a mutable table of 8 function pointers in
// linear memory (so calls cannot be devirtualized), the next slot picked from
// the running state. Each call is one i32.load + call_indirect + a tiny body.
// bench-n: 300000
// expect: 176535372
#include <stdint.h>

typedef uint32_t (*op_fn)(uint32_t, uint32_t);

__attribute__((noinline)) static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
__attribute__((noinline)) static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b * 3u; }
__attribute__((noinline)) static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ (b << 7); }
__attribute__((noinline)) static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1u); }
__attribute__((noinline)) static uint32_t op_rot(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
__attribute__((noinline)) static uint32_t op_mix(uint32_t a, uint32_t b) { return (a ^ (a >> 15)) * 0x2c1b3c6du + b; }
__attribute__((noinline)) static uint32_t op_neg(uint32_t a, uint32_t b) { return ~a + (b >> 2); }
__attribute__((noinline)) static uint32_t op_avg(uint32_t a, uint32_t b) { return (a >> 1) + (b >> 1) + 0x55555555u; }

static op_fn table[8] = {op_add, op_sub, op_xor, op_mul, op_rot, op_mix, op_neg, op_avg};

int32_t run(int32_t n) {
    uint32_t acc = 0x811c9dc5u;
    for (int32_t i = 0; i < n; i++) {
        uint32_t k = (acc >> 13) ^ (uint32_t)i;
        acc = table[k & 7](acc, (uint32_t)i);
    }
    return (int32_t)acc;
}
