/*
 * rep.c - REP: answers REQ. Cooked REP holds the backtrace of the request it is answering
 * (one per socket, or one per context) and sends exactly one reply along it; raw REP shows
 * the backtrace as the message header. The machinery is shared with RESPONDENT
 * (replier.c).
 */
#include "protocols/replier.h"

const np_proto_ops np_rep_ops = NP_REPLIER_OPS(NP_REP, NP_REQ);
const np_proto_ops np_xrep_ops = NP_REPLIER_RAW_OPS(NP_REP, NP_REQ);
