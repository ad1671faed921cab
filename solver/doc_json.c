/*
 * doc_json.c - Jansson values as document trees, so that JSON lines (audit
 * traces) go through the same plan loader as YAML and protobuf requests.
 */
#include "pv_doc.h"
#include "pv_doc_json.h"

#include <stdio.h>

pv_node *pv_node_from_json(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        pv_node *m = pv_node_new_map();
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)j, key, value)
            pv_node_map_add(m, key, pv_node_from_json(value));
        return m;
    }
    case JSON_ARRAY: {
        pv_node *s = pv_node_new_seq();
        size_t i;
        json_t *value;
        json_array_foreach(j, i, value) pv_node_seq_add(s, pv_node_from_json(value));
        return s;
    }
    case JSON_STRING:
        return pv_node_new_str(json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return pv_node_new_int((int64_t)json_integer_value(j));
    case JSON_REAL: {
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        return pv_node_new_scalar(PV_S_FLOAT, buf);
    }
    case JSON_TRUE:
        return pv_node_new_bool(true);
    case JSON_FALSE:
        return pv_node_new_bool(false);
    default:
        return pv_node_new_null();
    }
}
