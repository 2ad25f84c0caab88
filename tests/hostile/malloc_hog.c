/* malloc_hog.c: a hostile app that mallocs 512-byte blocks until malloc says
 * no (wasi-libc's malloc grows memory with memory.grow, which the runtime
 * refuses past what the partition can spare), reports how many it got on port
 * 0, then writes through a wild pointer past its memory: that traps. */
#include <stdlib.h>

extern void ch_send(int port, int value);

void *volatile head; /* every block stays reachable: malloc cannot be elided */

int main(void) {
    int n = 0;
    for (void **b; (b = malloc(512)) != NULL; n++) {
        *b = head;
        head = b;
    }
    ch_send(0, n);
    volatile int *p = (int *)0x7ffffff0;
    *p = 1;
    return 0;
}
