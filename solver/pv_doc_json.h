/*
 * pv_doc_json.h - Jansson values as document trees.
 */
#ifndef PV_DOC_JSON_H
#define PV_DOC_JSON_H

#include <jansson.h>

#include "pv_doc.h"

/* A tree with the value's structure: objects keep their key order (Jansson
 * preserves insertion order), numbers become int or float scalars. Nodes
 * carry no position. */
pv_node *pv_node_from_json(const json_t *j);

#endif
