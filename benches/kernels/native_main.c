// Host-side driver used only by scripts/build-bench-kernels.sh to compute each
// kernel's reference checksum natively (the `expect:` line of its source).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int32_t run(int32_t n);

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    printf("%d\n", (int)run((int32_t)atoi(argv[1])));
    return 0;
}
