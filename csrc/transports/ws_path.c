/* ws_path.c - comparison keys of ws:// paths; see ws_path.h. */
#include "transports/ws_path.h"

#include <ctype.h>

static int hexval(unsigned char c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

size_t np_ws_path_key(const char *path, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = path; *p && *p != '?' && *p != '#' && n + 1 < cap; p++) {
        unsigned char h = (unsigned char)p[1], l = h ? (unsigned char)p[2] : 0;
        if (p[0] == '%' && isxdigit(h) && isxdigit(l) && (h != '0' || l != '0')) {
            out[n++] = (char)(hexval(h) * 16 + hexval(l));
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    while (n > 0 && out[n - 1] == '/')
        n--;
    out[n] = 0;
    return n;
}
