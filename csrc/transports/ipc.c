/*
 * ipc.c - ipc:// addresses on Unix domain stream sockets. The path is used verbatim
 * (relative paths are relative to the working directory, as in nanomsg). A stale socket file
 * left by a dead process is removed on bind; a live listener means EADDRINUSE.
 */
#include "transports/stream.h"

#include "platform/sockio.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int ipc_make_addr(np_ep *ep, struct sockaddr_un *sun)
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
static int ipc_path_is_live(const struct sockaddr_un *sun)
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
    int rc = ipc_make_addr(ep, &sun);
    if (rc)
        return rc;
    struct stat st;
    if (stat(sun.sun_path, &st) == 0) {
        if (ipc_path_is_live(&sun))
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
    return ipc_make_addr(ep, &sun);
}

static const np_stream_ops ipc_stream_ops;

static int ipc_start_connect(np_ep *ep)
{
    struct sockaddr_un sun;
    int rc = ipc_make_addr(ep, &sun);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    np_set_nonblock_cloexec(fd);
    np_stream_tune_fd(ep->sock, fd, &ipc_stream_ops);
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
    if (ipc_make_addr(ep, &sun) == 0)
        unlink(sun.sun_path);
}

static const np_stream_ops ipc_stream_ops = {
    .ipc = 1,
    .listen = ipc_listen,
    .check_connect = ipc_check_connect,
    .start_connect = ipc_start_connect,
    .unlisten = ipc_unlisten,
};

static int ipc_bind(np_ep *ep) { return np_stream_bind(ep, &ipc_stream_ops); }
static int ipc_connect(np_ep *ep) { return np_stream_connect(ep, &ipc_stream_ops); }

/* nanomsg's NN_IPC options (security attributes, buffer sizes) only mean something on
 * Windows: accepted and ignored, as nanomsg does elsewhere. */
static const np_tran_option ipc_options[] = {
    {.level = NP_IPC, .option = 1, .kind = NP_TOPT_IGNORED},
    {.level = NP_IPC, .option = 2, .kind = NP_TOPT_IGNORED},
    {.level = NP_IPC, .option = 3, .kind = NP_TOPT_IGNORED},
    {0},
};

const np_transport np_ipc_transport = {
    .scheme = "ipc",
    .ep_size = sizeof(np_stream_ep),
    .ep_bind = ipc_bind,
    .ep_connect = ipc_connect,
    .ep_stop = np_stream_ep_stop,
    NP_STREAM_PIPE_HOOKS,
    .options = ipc_options,
};
