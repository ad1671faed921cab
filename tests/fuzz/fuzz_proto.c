/*
 * fuzz_proto.c - libFuzzer target for protobuf decoding: the input is a
 * wire message, unpacked both as a VerifyRequest and as a SessionRequest.
 * What unpacks goes the way a request goes in the server: through
 * server/proto_conv.c into a document tree, then through the plan loader
 * against the spec embedded in fuzz_support.c (a Session's start as a
 * plan, its revise and its executed call as bare step lists).
 *
 * The server's direct decoder (server/wire.c) gets the same input: when it
 * accepts it, protobuf-c must too, with the same tree and spec, version
 * and digest (a difference aborts, which libFuzzer reports).
 */
#include "fuzz_support.h"
#include "proto_conv.h"
#include "pv_plan.h"
#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load_plan_doc(const pv_spec *spec, pv_doc *doc)
{
    pv_plan *plan = NULL;
    pv_diags d = {0};
    pv_plan_from_node(spec, doc, doc->root, &plan, &d);
    pv_plan_free(plan);
    pv_diags_clear(&d);
    pv_doc_free(doc);
}

/* Steps alone, as Session revisions carry them. */
static void load_steps(const pv_spec *spec, size_t n, Planverify__V1__Step *const *steps)
{
    pv_doc *doc = pv_doc_from_root("revise", pv_proto_steps_to_node(n, steps));
    pv_plan *plan = NULL;
    pv_diags d = {0};
    pv_plan_from_steps(spec, doc, NULL, doc->root, &plan, &d);
    pv_plan_free(plan);
    pv_diags_clear(&d);
    pv_doc_free(doc);
}

static void verify_request(const pv_spec *spec, const uint8_t *data, size_t size)
{
    pv_wire_request wr;
    bool direct = pv_wire_request_to_doc(data, size, (size_t)64 << 20, &wr);
    Planverify__V1__VerifyRequest *req = planverify__v1__verify_request__unpack(NULL, size, data);
    if (direct) {
        pv_doc *ref = req ? pv_proto_request_to_doc(req) : NULL;
        if (!ref || !pv_node_same(wr.doc->root, ref->root) || strcmp(wr.spec, req->spec) != 0 ||
            strcmp(wr.version, req->version) != 0 || strcmp(wr.digest, req->digest) != 0) {
            fprintf(stderr, "fuzz_proto: the direct decoder and protobuf-c disagree\n");
            abort();
        }
        pv_doc_free(ref);
        load_plan_doc(spec, wr.doc);
    }
    if (!req)
        return;
    load_plan_doc(spec, pv_proto_request_to_doc(req));
    planverify__v1__verify_request__free_unpacked(req, NULL);
}

static void session_request(const pv_spec *spec, const uint8_t *data, size_t size)
{
    Planverify__V1__SessionRequest *req = planverify__v1__session_request__unpack(NULL, size, data);
    if (!req)
        return;
    switch (req->kind_case) {
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_START:
        load_plan_doc(spec, pv_proto_request_to_doc(req->start));
        break;
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_REVISE:
        load_steps(spec, req->revise->n_steps, req->revise->steps);
        break;
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_EXECUTED:
        if (req->executed->call)
            load_steps(spec, 1, &req->executed->call);
        break;
    default:
        break;
    }
    planverify__v1__session_request__free_unpacked(req, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pv_fuzz_spec();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pv_spec *spec = pv_fuzz_spec();
    verify_request(spec, data, size);
    session_request(spec, data, size);
    return 0;
}
