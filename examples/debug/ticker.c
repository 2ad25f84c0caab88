/* A service for the debugger tests (README: "Debugging a guest"): it counts its
 * turns forever, yielding the CPU between them, so a breakpoint can be set in
 * it while the app runs. Built with -g -O0 by scripts/build-examples.sh. */

extern void co_yield(void);

int turns;                          /* a global in the service's own memory */

int tick(int n) {
    turns = n;
    return 2 * n;
}

void ticker(void) {
    for (int n = 1;; n++) {
        tick(n);
        co_yield();
    }
}
