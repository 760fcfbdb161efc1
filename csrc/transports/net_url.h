/*
 * net_url.h - NNG-style "host:port[/path]" addresses of the tls+tcp://, ws:// and wss://
 * transports, and the listening/connecting sockets made from them.
 *
 *   bind:    <host>:<port>[/path]   host = "" or "*" (every interface), an IP literal (IPv6
 *                                   in brackets) or a DNS name, resolved now; port 0 = any
 *   connect: <host>[:<port>][/path] port defaults to default_port (0 = required)
 */
#ifndef NP_NET_URL_H
#define NP_NET_URL_H

#include <stddef.h>
#include <sys/socket.h>

#define NP_URL_HOST_MAX 256
#define NP_URL_PATH_MAX 256

typedef struct np_hostport {
    char host[NP_URL_HOST_MAX];   /* without brackets; "" = wildcard (bind only) */
    int port;
    char path[NP_URL_PATH_MAX];   /* "/..." with any query; "/" when absent */
    int has_path;
} np_hostport;

/* Split rest. Returns 0 or -EINVAL (malformed, port out of range, missing port when
 * default_port is 0, path given where allow_path is 0). */
int np_hostport_parse(const char *rest, int bind, int default_port, int allow_path,
                      np_hostport *out);

/* Resolve host (wildcard when empty) to one address. 0, -EINVAL or -EHOSTUNREACH (name
 * does not resolve); IPv4 only when ipv4only. */
int np_hostport_resolve(const np_hostport *hp, int passive, int ipv4only,
                        struct sockaddr_storage *ss, socklen_t *len);

/* A listening non-blocking descriptor for hp; *bound_port gets the real port. -errno. */
int np_hostport_listen(const np_hostport *hp, int ipv4only, int *bound_port);
/* A non-blocking connect in progress. -errno. */
int np_hostport_connect(const np_hostport *hp, int ipv4only);

/* "host:port" for URLs and the Host header (IPv6 back in brackets). */
void np_hostport_format(const np_hostport *hp, int port, char *out, size_t cap);

#endif
