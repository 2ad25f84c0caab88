/* A C guest that traps (README: "Debugging a guest"): `store` writes far past
 * the memory the device backs. Under lldb it stops at the faulting store with
 * its locals, and the buffer can be read. Built with -g -O0. */

int buffer[8] = {1, 2, 3, 4, 5, 6, 7, 8};

void store(int *base, int index, int value) {
    base[index] = value;
}

int main(void) {
    store(buffer, 2, 33);
    store(buffer, 1 << 28, 44);             /* 1 GiB past buffer: traps */
    return 0;
}
