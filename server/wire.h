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

#endif
