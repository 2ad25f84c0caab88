/* spin.c: a hostile app that never yields and never calls anything: a busy
 * loop over its own data. Only the kernel's automatic yield takes the CPU back. */
#include <stdint.h>

static volatile uint32_t state[16];

int main(void) {
    for (uint32_t i = 0;; i++) {
        state[i & 15] = state[(i + 1) & 15] * 1664525u + 1013904223u;
    }
}
