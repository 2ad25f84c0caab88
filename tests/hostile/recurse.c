/* recurse.c: a hostile app. Deep recursion in C: every call takes 256 bytes of
 * the C shadow stack (2 KiB, linked below the data with --stack-first), so the
 * stack pointer soon runs below address 0 and the first store there traps:
 * memory out of bounds. The partner tests expect that trap, for this app only. */
#include <stdint.h>

extern void ch_send(int port, int value);

static int depth(volatile uint8_t *prev, int n) {
    volatile uint8_t frame[256];
    frame[0] = (uint8_t)n;
    frame[255] = prev ? prev[0] : 0;
    if (n % 16 == 0) ch_send(0, n); /* how deep it got, on the sink */
    return depth(frame, n + 1) + frame[255];
}

int main(void) {
    return depth(0, 0);
}
