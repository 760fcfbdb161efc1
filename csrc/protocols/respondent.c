/*
 * respondent.c - RESPONDENT: answers SURVEYOR's surveys, one answer per survey, routed back
 * along the survey's backtrace exactly as REP answers a request (replier.c). Raw
 * RESPONDENT shows the backtrace as the message header.
 */
#include "protocols/replier.h"

const np_proto_ops np_respondent_ops = NP_REPLIER_OPS(NP_RESPONDENT, NP_SURVEYOR);
const np_proto_ops np_xrespondent_ops = NP_REPLIER_RAW_OPS(NP_RESPONDENT, NP_SURVEYOR);
