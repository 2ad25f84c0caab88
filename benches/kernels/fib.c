// Recursive Fibonacci: call/return, locals, i32 compare and add.
// clang -O2 turns one of the two calls into a loop (tail-recursion elimination),
// so this is ~fib(n) real wasm calls, not 2*fib(n).
// bench-n: 27
// expect: 196418
#include <stdint.h>

__attribute__((noinline)) static int32_t fib(int32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int32_t run(int32_t n) { return fib(n); }
