/* registry.c - the 20 socket types: (domain, protocol) -> protocol table. */
#include "core.h"
#include "core/protocol.h"

extern const np_proto_ops np_pair_ops, np_xpair_ops, np_pub_ops, np_xpub_ops, np_sub_ops,
    np_xsub_ops, np_req_ops, np_xreq_ops, np_rep_ops, np_xrep_ops, np_push_ops, np_xpush_ops,
    np_pull_ops, np_xpull_ops, np_surveyor_ops, np_xsurveyor_ops, np_respondent_ops,
    np_xrespondent_ops, np_bus_ops, np_xbus_ops;

static const np_proto_ops *const cooked[] = {
    &np_pair_ops, &np_pub_ops, &np_sub_ops, &np_req_ops, &np_rep_ops, &np_push_ops,
    &np_pull_ops, &np_surveyor_ops, &np_respondent_ops, &np_bus_ops,
};
static const np_proto_ops *const raw[] = {
    &np_xpair_ops, &np_xpub_ops, &np_xsub_ops, &np_xreq_ops, &np_xrep_ops, &np_xpush_ops,
    &np_xpull_ops, &np_xsurveyor_ops, &np_xrespondent_ops, &np_xbus_ops,
};

const np_proto_ops *np_proto_find(int domain, int protocol)
{
    const np_proto_ops *const *table = domain == NP_AF_SP_RAW ? raw : cooked;
    for (size_t i = 0; i < sizeof(cooked) / sizeof(cooked[0]); i++)
        if (table[i]->protocol == protocol)
            return table[i];
    return NULL;
}
