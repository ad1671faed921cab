/*
 * wire.h - a VerifyRequest decoded from the wire straight into a plan
 * document (see wire.c).
 */
#ifndef PV_WIRE_H
#define PV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pv_doc.h"
#include "pv_verdict.h"

typedef struct pv_wire_request {
    pv_doc *doc;                         /* owns everything below; free with pv_doc_free */
    const char *spec, *version, *digest; /* "" when not given */
} pv_wire_request;

/*
 * Decode buf[0..len) as a planverify.v1.VerifyRequest into the document
 * pv_proto_request_to_doc would build from protobuf-c's decoding, in an
 * arena of at most about `budget` bytes. Returns false, with nothing
 * allocated, for anything it does not decode (see wire.c): the caller then
 * decodes with protobuf-c.
 */
bool pv_wire_request_to_doc(const uint8_t *buf, size_t len, size_t budget, pv_wire_request *out);

/*
 * Append to out the protobuf encoding of v as a planverify.v1.Verdict:
 * the bytes protobuf-c packs from pv_verdict_to_proto(spec, v) with
 * Verdict.executed set (fields in number order, proto3 defaults left out,
 * the chain packed), without building the messages. test_wire holds the
 * two to the same bytes.
 */
void pv_wire_verdict(const pv_spec *spec, const pv_verdict *v, int32_t executed, pv_buf *out);

#endif
