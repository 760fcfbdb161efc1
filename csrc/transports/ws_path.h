/*
 * ws_path.h - the form in which ws:// paths are compared when sockets share a port: the
 * path of a bind URL and the target of an upgrade request both go through np_ws_path_key,
 * and equal keys are the same path. A pure function (fuzzed: fuzz/fuzz_wspath.c).
 */
#ifndef NP_WS_PATH_H
#define NP_WS_PATH_H

#include <stddef.h>

/*
 * Write the key of `path` (NUL-terminated) into out (cap >= 1 bytes, always terminated,
 * truncated to cap - 1): no query ('?') or fragment ('#'), %XX escapes decoded except %00,
 * no trailing '/'. The root ("", "/", "//"...) has the empty key. Returns the key's length.
 */
size_t np_ws_path_key(const char *path, char *out, size_t cap);

#endif
