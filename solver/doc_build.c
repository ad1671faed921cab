/*
 * doc_build.c - document trees built by hand, for requests that arrive as
 * protobuf or JSON rather than YAML text, so that one plan loader validates
 * every input.
 */
#include "pv_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pv_node *new_node(pv_node_kind kind)
{
    pv_node *n = pv_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->style = PV_STYLE_JSON;
    return n;
}

pv_node *pv_node_new_map(void)
{
    return new_node(PV_N_MAP);
}

pv_node *pv_node_new_seq(void)
{
    return new_node(PV_N_SEQ);
}

pv_node *pv_node_new_scalar(pv_scalar_kind kind, const char *text)
{
    pv_node *n = new_node(PV_N_SCALAR);
    n->skind = kind;
    n->str = pv_str_dup(text, strlen(text));
    return n;
}

pv_node *pv_node_new_str(const char *s, size_t len)
{
    pv_node *n = new_node(PV_N_SCALAR);
    n->skind = PV_S_STRING;
    n->str = pv_str_dup(s, len);
    return n;
}

pv_node *pv_node_new_int(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    pv_node *n = pv_node_new_scalar(PV_S_INT, buf);
    n->ival = v;
    return n;
}

pv_node *pv_node_new_bool(bool v)
{
    pv_node *n = pv_node_new_scalar(PV_S_BOOL, v ? "true" : "false");
    n->bval = v;
    return n;
}

pv_node *pv_node_new_null(void)
{
    return pv_node_new_scalar(PV_S_NULL, "null");
}

void pv_node_map_add(pv_node *map, const char *key, pv_node *value)
{
    map->keys = pv_xrealloc(map->keys, (map->n + 1) * sizeof(pv_node *));
    map->items = pv_xrealloc(map->items, (map->n + 1) * sizeof(pv_node *));
    map->keys[map->n] = pv_node_new_str(key, strlen(key));
    map->items[map->n] = value;
    map->n++;
}

void pv_node_seq_add(pv_node *seq, pv_node *item)
{
    seq->items = pv_xrealloc(seq->items, (seq->n + 1) * sizeof(pv_node *));
    seq->items[seq->n++] = item;
}

pv_doc *pv_doc_from_root(const char *file, pv_node *root)
{
    pv_doc *doc = pv_xcalloc(1, sizeof *doc);
    doc->file = pv_xstrdup(file ? file : "<request>");
    doc->source = pv_xstrdup("");
    doc->root = root;
    return doc;
}
