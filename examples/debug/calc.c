/* A small C guest to debug with lldb (README: "Debugging a guest"): three
 * nested calls, a global in linear memory, a loop. It ends: main returns 0 if
 * the sum is right. Built with -g -O0 by scripts/build-examples.sh --debug. */

int calls;                                  /* a global: how often scale ran */
static const int weights[4] = {1, 2, 3, 4};

int scale(int value, int factor) {
    int scaled = value * factor;
    calls = calls + 1;
    return scaled;
}

int weighted_sum(const int *values, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) {
        sum += scale(values[i], weights[i]);
    }
    return sum;
}

int main(void) {
    int values[4] = {10, 20, 30, 40};
    int total = weighted_sum(values, 4);
    return total == 300 ? 0 : 1;
}
