// A program with bugs, built with its debug information (-g): the average of its
// arguments divides by their count, which is zero when it is given none; the share
// of the first in their sum divides by the sum, zero for "0 0". On a trap
// `fireball run` says where, with the source lines and inlined calls from the DWARF:
//
//   $ fireball run examples/programs/trap-c/trap.wasm -- 4 8 15
//   [trap] average: 9
//   [trap] the first is 14% of the sum
//   $ fireball run examples/programs/trap-c/trap.wasm
//   [trap] terminated: trap (integer divide by zero); the other modules keep running
//   [trap] trapped in average @ 0x… (/fireball/examples/programs/trap-c/trap.c:24:16)
//   [trap]   called from main @ 0x… (/fireball/examples/programs/trap-c/trap.c:40:29)
//   $ fireball run examples/programs/trap-c/trap.wasm -- 0 0
//   [trap] trapped in percent (inlined) @ 0x… (/fireball/examples/programs/trap-c/trap.c:29:23)
//   [trap]   called from main @ 0x… (/fireball/examples/programs/trap-c/trap.c:41:46)
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int average(const int *v, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) {
        sum += v[i];
    }
    return sum / n;
}

// Inlined into main: a trap in it shows as a frame of its own all the same.
static inline int percent(int part, int whole) {
    return part * 100 / whole;
}

int main(int argc, char **argv) {
    int v[16];
    int n = 0;
    int sum = 0;
    for (int i = 1; i < argc && n < 16; i++) {
        v[n] = atoi(argv[i]);
        sum += v[n++];
    }
    printf("average: %d\n", average(v, n));
    printf("the first is %d%% of the sum\n", percent(v[0], sum));
    return 0;
}
