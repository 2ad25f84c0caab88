// A program with a bug, built with its debug information (-g): the average of its
// arguments divides by their count, which is zero when it is given none. On a
// trap `fireball run` says where, with the source lines from the DWARF:
//
//   $ fireball run examples/programs/trap-c/trap.wasm -- 4 8 15
//   [trap] average: 9
//   $ fireball run examples/programs/trap-c/trap.wasm
//   [trap] terminated: trap (integer divide by zero); the other modules keep running
//   [trap] trapped in average @ 0x2b4 (/fireball/examples/programs/trap-c/trap.c:20:16)
//   [trap]   called from main @ 0x280 (/fireball/examples/programs/trap-c/trap.c:29:29)
//   …
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int average(const int *v, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) {
        sum += v[i];
    }
    return sum / n;
}

int main(int argc, char **argv) {
    int v[16];
    int n = 0;
    for (int i = 1; i < argc && n < 16; i++) {
        v[n++] = atoi(argv[i]);
    }
    printf("average: %d\n", average(v, n));
    return 0;
}
