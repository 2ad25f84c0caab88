/* exit.c: a hostile app that prints, works a little, and calls exit(3) from the
 * middle of a loop: wasi-libc's exit is WASI proc_exit. */
#include <stdio.h>
#include <stdlib.h>

extern void co_yield(void);

int main(void) {
    printf("working\n");
    for (int i = 0;; i++) {
        co_yield();
        if (i == 25) {
            printf("leaving in the middle, status 3\n");
            exit(3);
        }
    }
}
