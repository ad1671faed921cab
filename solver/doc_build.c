/*
 * doc_build.c - document trees built by hand, for requests that arrive as
 * protobuf or JSON rather than YAML text, so that one plan loader validates
 * every input.
 */
#include "pv_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where this thread builds nodes (pv_node_build_arena); NULL: the heap. */
static _Thread_local pv_arena *build_arena;

pv_arena *pv_node_build_arena(pv_arena *a)
{
    pv_arena *prev = build_arena;
    build_arena = a;
    return prev;
}

static pv_node *new_node(pv_node_kind kind)
{
    pv_node *n = build_arena ? pv_arena_calloc(build_arena, sizeof *n) : pv_xcalloc(1, sizeof *n);
    n->arena = build_arena;
    n->kind = kind;
    n->style = PV_STYLE_JSON;
    return n;
}

static pv_str node_str(const pv_node *n, const char *s, size_t len)
{
    if (n->arena)
        return (pv_str){pv_arena_strndup(n->arena, s, len), len};
    return pv_str_dup(s, len);
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
    n->str = node_str(n, text, strlen(text));
    return n;
}

pv_node *pv_node_new_str(const char *s, size_t len)
{
    pv_node *n = new_node(PV_N_SCALAR);
    n->skind = PV_S_STRING;
    n->str = node_str(n, s, len);
    return n;
}

pv_node *pv_node_new_int(int64_t v)
{
    /* decimal digits, written backwards (snprintf cost more than the rest
     * of building the node) */
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    pv_node *n = pv_node_new_scalar(PV_S_INT, p);
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

/* Room for one more item in n's arrays: they grow by doubling, so a map
 * of n keys costs log n reallocations rather than n. */
static pv_node **grow_array(pv_node *n, pv_node **a)
{
    if (!n->arena)
        return pv_xrealloc(a, n->cap * sizeof(pv_node *));
    pv_node **b = pv_arena_calloc(n->arena, n->cap * sizeof(pv_node *));
    if (n->n)
        memcpy(b, a, n->n * sizeof(pv_node *));
    return b; /* the old array stays in the arena until it is released */
}

static void grow(pv_node *n)
{
    if (n->n < n->cap)
        return;
    n->cap = n->n ? n->n * 2 : 2;
    if (n->kind == PV_N_MAP)
        n->keys = grow_array(n, n->keys);
    n->items = grow_array(n, n->items);
}

void pv_node_map_add(pv_node *map, const char *key, pv_node *value)
{
    pv_node_map_addn(map, key, strlen(key), value);
}

void pv_node_map_addn(pv_node *map, const char *key, size_t len, pv_node *value)
{
    grow(map);
    map->keys[map->n] = pv_node_new_str(key, len);
    map->items[map->n] = value;
    map->n++;
}

void pv_node_seq_add(pv_node *seq, pv_node *item)
{
    grow(seq);
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

void pv_node_map_set(pv_node *map, const char *key, pv_node *value)
{
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->str.ptr && strcmp(map->keys[i]->str.ptr, key) == 0) {
            pv_node_free(map->items[i]);
            map->items[i] = value;
            return;
        }
    pv_node_map_add(map, key, value);
}

pv_node *pv_node_copy(const pv_node *n)
{
    if (!n)
        return NULL;
    pv_node *c = pv_xmalloc(sizeof *c);
    *c = *n;
    c->str = n->str.ptr ? pv_str_dup(n->str.ptr, n->str.len) : (pv_str){NULL, 0};
    c->items = n->items ? pv_xcalloc(n->n + 1, sizeof(pv_node *)) : NULL;
    c->keys = n->keys ? pv_xcalloc(n->n + 1, sizeof(pv_node *)) : NULL;
    c->cap = 0;
    c->arena = NULL;
    for (size_t i = 0; i < n->n; i++) {
        if (n->items)
            c->items[i] = pv_node_copy(n->items[i]);
        if (n->keys)
            c->keys[i] = pv_node_copy(n->keys[i]);
    }
    return c;
}

bool pv_node_same(const pv_node *a, const pv_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->n != b->n)
        return false;
    if (a->kind == PV_N_SCALAR) {
        if (a->skind != b->skind || a->str.len != b->str.len ||
            (a->str.len && memcmp(a->str.ptr, b->str.ptr, a->str.len) != 0))
            return false;
        if (a->skind == PV_S_INT && a->ival != b->ival)
            return false;
        return a->skind != PV_S_BOOL || a->bval == b->bval;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind == PV_N_MAP && !pv_node_same(a->keys[i], b->keys[i]))
            return false;
        if (!pv_node_same(a->items[i], b->items[i]))
            return false;
    }
    return true;
}

bool pv_node_equal(const pv_node *a, const pv_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->n != b->n)
        return false;
    if (a->kind == PV_N_SCALAR)
        return a->skind == b->skind && a->str.len == b->str.len &&
               (a->str.len == 0 || memcmp(a->str.ptr, b->str.ptr, a->str.len) == 0);
    if (a->kind == PV_N_SEQ) {
        for (size_t i = 0; i < a->n; i++)
            if (!pv_node_equal(a->items[i], b->items[i]))
                return false;
        return true;
    }
    for (size_t i = 0; i < a->n; i++) {
        const pv_node *bv = pv_node_get(b, a->keys[i]->str.ptr ? a->keys[i]->str.ptr : "");
        if (!bv || !pv_node_equal(a->items[i], bv))
            return false;
    }
    return true;
}
