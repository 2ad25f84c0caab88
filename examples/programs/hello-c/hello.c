/* hello.c: an ordinary C program, the first thing a new user tries.
 *
 * printf (integer and floating-point conversions) and malloc from wasi-libc;
 * nothing Fireball-specific. Built by scripts/build-programs.sh with the
 * README's flags into hello.wasm beside this file; run it with
 *
 *     fireball run examples/programs/hello-c/hello.wasm --ram 192K
 *
 * (malloc takes the rest of the one 64 KiB page, so the whole page must be
 * backed: the guest partition needs it plus the module's metadata.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000

int main(void) {
    printf("Hello from C on Fireball!\n");

    uint32_t *a = malloc(N * sizeof *a);
    if (a == NULL) {
        printf("malloc failed\n");
        return 1;
    }
    /* i*i + 7i; their sum, a rotate-xor checksum, a mean and a harmonic number. */
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        a[i] = (uint32_t)(i * i + 7 * i);
        sum += a[i];
    }
    uint32_t check = 0;
    for (int i = 0; i < N; i++) {
        check = (check << 5 | check >> 27) ^ a[i];
    }
    printf("array of %d ints: a[0]=%u a[1]=%u a[%d]=%u\n", N, a[0], a[1], N - 1, a[N - 1]);
    printf("sum=%llu checksum=0x%08x\n", (unsigned long long)sum, check);
    double harmonic = 0.0;
    for (int i = 1; i <= N; i++) {
        harmonic += 1.0 / i;
    }
    printf("mean=%.3f H(%d)=%.6f pi~%.4e\n", (double)sum / (N - 1), N, harmonic, 3.14159265358979);
    free(a);
    printf("goodbye\n");
    return 0;
}
