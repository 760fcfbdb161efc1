/* inproc.h - in-process transport: pipes whose rings are shared by the two sockets. */
#ifndef NP_INPROC_H
#define NP_INPROC_H

#include "../sock.h"

int np_inproc_bind(np_ep *ep);
int np_inproc_connect(np_ep *ep);
void np_inproc_stop(np_ep *ep);

#endif
