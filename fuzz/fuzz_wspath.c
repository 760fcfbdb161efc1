/*
 * fuzz_wspath.c - libFuzzer target: the comparison key of ws:// paths (transports/ws_path.c),
 * which the shared ws listener computes from every request target it routes.
 *
 * Properties checked:
 *   - the key never runs past `cap` (ASan on an exact-size buffer), is NUL-terminated at
 *     the returned length, holds no NUL before it and never ends with '/';
 *   - it is never longer than the input, and a larger buffer gives a key that starts with
 *     the smaller buffer's key (truncation only cuts);
 *   - a path and the same path with a query, a fragment or trailing slashes share a key.
 *
 * Input layout: [0] buffer size (1..256), [1..] the path bytes (cut at the first NUL).
 */
#include "transports/ws_path.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz_wspath: %s\n", what);
    abort();
}

static size_t checked_key(const char *path, char *out, size_t cap)
{
    size_t n = np_ws_path_key(path, out, cap);
    if (n >= cap || out[n] != 0 || memchr(out, 0, n) || (n && out[n - 1] == '/'))
        die("malformed key");
    if (n > strlen(path))
        die("key longer than the path");
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    size_t cap = (size_t)data[0] % 256 + 1;
    char *path = malloc(size + 8);
    char *small = malloc(cap);
    char *big = malloc(size + 8);
    char *other = malloc(size + 8);
    if (!path || !small || !big || !other)
        die("out of memory");
    memcpy(path, data + 1, size - 1);
    path[size - 1] = 0;
    size_t ns = checked_key(path, small, cap);
    size_t nb = checked_key(path, big, size + 8);
    if (ns > nb || memcmp(small, big, ns) != 0)
        die("a smaller buffer gave a key that is not a prefix");
    /* Decorations that do not change the path. */
    size_t len = strlen(path);
    char *decorated = malloc(len + 8);
    if (!decorated)
        die("out of memory");
    static const char *tails[] = {"?q=1", "#f", "/", "//?x"};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        if (memchr(path, '?', len) || memchr(path, '#', len))
            break;
        snprintf(decorated, len + 8, "%s%s", path, tails[i]);
        size_t nd = checked_key(decorated, other, size + 8);
        if (nd != nb || memcmp(other, big, nb) != 0)
            die("a query, fragment or trailing '/' changed the key");
    }
    free(decorated);
    free(other);
    free(big);
    free(small);
    free(path);
    return 0;
}
