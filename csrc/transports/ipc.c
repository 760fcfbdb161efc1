/*
 * ipc.c - ipc:// addresses on Unix domain stream sockets. The path is used verbatim
 * (relative paths are relative to the working directory, as in nanomsg). A stale socket file
 * left by a dead process is removed on bind; a live listener means EADDRINUSE.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int make_addr(np_ep *ep, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    size_t n = strlen(ep->rest);
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(sun->sun_path))
        return -ENAMETOOLONG;
    memcpy(sun->sun_path, ep->rest, n);
    return 0;
}

/* Is somebody listening on that path right now? */
static int path_is_live(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    int live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
    close(fd);
    return live;
}

static int ipc_listen(np_ep *ep)
{
    struct sockaddr_un sun;
    int rc = make_addr(ep, &sun);
    if (rc)
        return rc;
    struct stat st;
    if (stat(sun.sun_path, &st) == 0) {
        if (path_is_live(&sun))
            return -EADDRINUSE;
        if (S_ISSOCK(st.st_mode))
            unlink(sun.sun_path);  /* stale socket file of a dead process */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 10) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int ipc_check_connect(np_ep *ep)
{
    struct sockaddr_un sun;
    return make_addr(ep, &sun);
}

static int ipc_start_connect(np_ep *ep)
{
    struct sockaddr_un sun;
    int rc = make_addr(ep, &sun);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    np_stream_tune_fd(ep->sock, fd, 0);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static void ipc_unlisten(np_ep *ep)
{
    struct sockaddr_un sun;
    if (make_addr(ep, &sun) == 0)
        unlink(sun.sun_path);
}

const np_stream_transport np_ipc_transport = {
    .ipc = 1,
    .listen = ipc_listen,
    .check_connect = ipc_check_connect,
    .start_connect = ipc_start_connect,
    .unlisten = ipc_unlisten,
};
