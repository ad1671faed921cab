/*
 * proto_conv.h - conversions between planverify.v1 protobuf messages and
 * the library's plans and verdicts.
 */
#ifndef PV_PROTO_CONV_H
#define PV_PROTO_CONV_H

#include "planverify/v1/planverify.pb-c.h"
#include "pv_doc.h"
#include "pv_verdict.h"

/* A VerifyRequest as a plan document (no positions), for pv_plan_from_node. */
pv_doc *pv_proto_request_to_doc(const Planverify__V1__VerifyRequest *req);
/* Steps alone, as a sequence node (for Session revisions). */
pv_node *pv_proto_steps_to_node(size_t n, Planverify__V1__Step *const *steps);

/* A verdict as a message; free with pv_proto_verdict_free. */
Planverify__V1__Verdict *pv_verdict_to_proto(const pv_spec *spec, const pv_verdict *v);
void pv_proto_verdict_free(Planverify__V1__Verdict *p);

/* Client side: a received verdict as a pv_verdict (enum values arrive as
 * strings), and a plan document as a request (values typed as YAML typed
 * them; the server validates). */
pv_verdict *pv_verdict_from_proto(const Planverify__V1__Verdict *p);
int pv_proto_request_from_doc(const pv_doc *doc, Planverify__V1__VerifyRequest **out, pv_diags *d);
void pv_proto_request_free(Planverify__V1__VerifyRequest *req);

#endif
