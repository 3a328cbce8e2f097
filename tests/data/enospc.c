// An LD_PRELOAD shim for tests (Linux): writes to regular files whose path starts with
// $FULL_PREFIX (and, when set, holds $FULL_INFIX after it) fail with ENOSPC once this process has
// written $FULL_BYTES bytes to such files: a disk that fills up while a file is written.
// Built by the tests with the system's C compiler (cc -shared -fPIC); skipped without one.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long used = 0;

static int under(int fd) {
    const char *prefix = getenv("FULL_PREFIX"), *infix = getenv("FULL_INFIX");
    if (!prefix || fd < 0) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    size_t p = strlen(prefix);
    if (strncmp(path, prefix, p) != 0) return 0;
    return !infix || strstr(path + p, infix) != NULL;
}

static int full(int fd, size_t len) {
    if (!under(fd)) return 0;
    const char *b = getenv("FULL_BYTES");
    long long limit = b ? atoll(b) : 0;
    if (used + (long long)len > limit) return 1;
    used += len;
    return 0;
}

ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "write");
    if (full(fd, n)) { errno = ENOSPC; return -1; }
    return real(fd, buf, n);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t o) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
    if (full(fd, n)) { errno = ENOSPC; return -1; }
    return real(fd, buf, n, o);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t o) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite");
    if (full(fd, n)) { errno = ENOSPC; return -1; }
    return real(fd, buf, n, o);
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) real = dlsym(RTLD_NEXT, "writev");
    size_t n = 0;
    for (int i = 0; i < count; i++) n += iov[i].iov_len;
    if (full(fd, n)) { errno = ENOSPC; return -1; }
    return real(fd, iov, count);
}
