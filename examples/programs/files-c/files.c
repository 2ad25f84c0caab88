/* What a C program written for a POSIX box gets on a device with no file system,
 * no input and no network: it loads (Fireball provides all of WASI preview 1), and
 * each call that needs what the device lacks fails with an errno, as it would on a
 * machine without the file or the permission. Its command line and environment are
 * what the system gives it (`fireball run files.wasm ARG… --env KEY=VALUE`; argv[0]
 * is the module's name). Nothing in it knows about Fireball. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, int failed) {
    if (failed)
        printf("%s: %s\n", what, strerror(errno));
    else
        printf("%s: ok\n", what);
}

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        printf("argv[%d]: %s\n", i, argv[i]);
    int vars = 0;
    for (char **e = environ; *e; e++, vars++)
        printf("environ: %s\n", *e);
    const char *home = getenv("HOME");
    printf("%d environment variable(s); HOME: %s\n", vars, home ? home : "not set");

    char line[64];
    if (fgets(line, sizeof line, stdin))
        printf("stdin: %s", line);
    else
        printf("stdin: end of file\n");

    FILE *f = fopen("config.txt", "r");
    report("fopen config.txt", f == NULL);
    report("fopen log.txt for writing", fopen("log.txt", "w") == NULL);
    struct stat st;
    report("stat config.txt", stat("config.txt", &st) != 0);
    report("fstat stdout", fstat(1, &st) != 0);
    printf("stdout is a character device: %s\n", S_ISCHR(st.st_mode) ? "yes" : "no");
    report("opendir .", opendir(".") == NULL);
    report("mkdir data", mkdir("data", 0755) != 0);
    report("unlink old.txt", unlink("old.txt") != 0);
    report("lseek stdout", lseek(1, 0, SEEK_CUR) < 0);
    report("fsync stdout", fsync(1) != 0);
    report("socket accept", accept(3, NULL, NULL) < 0);

    struct timespec res;
    report("clock_getres", clock_getres(CLOCK_MONOTONIC, &res) != 0);
    printf("monotonic clock resolution: %ld ns\n", (long)res.tv_nsec);
    /* 0 at boot on a device whose clock nobody set (`fireball run --realtime` sets it). */
    printf("realtime: %lld s since 1970\n", (long long)time(NULL));
    printf("done\n");
    return 0;
}
