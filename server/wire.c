/*
 * wire.c - a VerifyRequest decoded from its protobuf encoding straight
 * into a plan document, for the server's hot path.
 *
 * protobuf-c decodes a request into messages, which proto_conv.c then
 * turns into a document tree; for a ten-step plan that was a third of what
 * a Verify call cost, most of it allocation. This decoder reads the wire
 * format (varints and length-delimited fields, protobuf's documented
 * encoding) and builds the same tree in one arena.
 *
 * It accepts only what it can decode with no room for interpretation:
 * every field known and of its declared wire type, no singular field
 * repeated, a Value with at most one member of its oneof, booleans encoded
 * as 0 or 1. Anything else (unknown fields, merged messages, malformed
 * input, a request past the memory budget) returns false and the caller
 * decodes with protobuf-c, whose answer (including its errors) is then the
 * answer. test_wire holds the two to the same trees.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p, *end;
} rd;

/* Wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static bool varint(rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1)
            return false; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* A field's key: number and wire type. */
static bool key(rd *r, uint32_t *field, int *wt)
{
    uint64_t k;
    if (!varint(r, &k) || (k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF)
        return false;
    *field = (uint32_t)(k >> 3);
    *wt = (int)(k & 7);
    return true;
}

/* A length-delimited field's contents. */
static bool bytes(rd *r, rd *sub)
{
    uint64_t n;
    if (!varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
}

typedef struct dec {
    pv_arena *arena;
    size_t budget; /* bytes the tree may take */
} dec;

/* Whether the tree has outgrown the budget (checked after each map entry
 * and step, so that a small request cannot build a huge tree). */
static bool over(const dec *d)
{
    return d->arena->total > d->budget;
}

/* A string field's text, as proto_conv.c sees it through protobuf-c: up
 * to its first NUL byte. A view into the message: the nodes built from it
 * copy it. */
static void text(const rd *s, const char **out, size_t *len)
{
    size_t n = (size_t)(s->end - s->p);
    const void *nul = memchr(s->p, 0, n);
    if (nul)
        n = (size_t)((const uint8_t *)nul - s->p);
    *out = (const char *)s->p;
    *len = n;
}

/* Value: exactly one member of the oneof, or none (null, as proto_conv). */
static pv_node *value(rd r)
{
    pv_node *n = NULL;
    bool seen = false;
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        uint64_t v;
        rd s;
        if (!key(&r, &f, &wt) || seen)
            return NULL;
        seen = true;
        switch (f) {
        case 1: /* int_value */
            if (wt != WT_VARINT || !varint(&r, &v))
                return NULL;
            n = pv_node_new_int((int64_t)v);
            break;
        case 2: /* bool_value */
        case 5: /* unknown */
            if (wt != WT_VARINT || !varint(&r, &v) || v > 1)
                return NULL;
            if (f == 2) {
                n = pv_node_new_bool(v != 0);
            } else {
                n = pv_node_new_map();
                pv_node_map_add(n, "unknown", pv_node_new_bool(v != 0));
            }
            break;
        case 3: /* string_value */
        case 4: /* ref */ {
            const char *t;
            size_t len;
            if (wt != WT_LEN || !bytes(&r, &s))
                return NULL;
            text(&s, &t, &len);
            if (f == 3) {
                n = pv_node_new_str(t, len);
            } else {
                n = pv_node_new_map();
                pv_node_map_add(n, "ref", pv_node_new_str(t, len));
            }
            break;
        }
        default:
            return NULL;
        }
    }
    return n ? n : pv_node_new_null();
}

/* One map entry {key = 1, value = 2} added to map m. */
static bool entry(dec *d, rd r, pv_node *m)
{
    const char *k = "";
    size_t klen = 0;
    pv_node *v = NULL;
    bool seen_key = false;
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        rd s;
        if (!key(&r, &f, &wt) || wt != WT_LEN || !bytes(&r, &s))
            return false;
        if (f == 1 && !seen_key) {
            seen_key = true;
            text(&s, &k, &klen);
        } else if (f == 2 && !v) {
            if (!(v = value(s)))
                return false;
        } else {
            return false;
        }
    }
    pv_node_map_addn(m, k, klen, v ? v : pv_node_new_null());
    return !over(d);
}

/* A Step as proto_conv.c builds it: id (when not empty), tool, args, and
 * result when has_result is set or result has entries. */
static pv_node *step(dec *d, rd r)
{
    const char *id = "", *tool = "";
    size_t id_len = 0, tool_len = 0;
    bool seen_id = false, seen_tool = false, seen_has = false, has_result = false;
    pv_node *args = pv_node_new_map(), *result = pv_node_new_map();
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        uint64_t v;
        rd s;
        if (!key(&r, &f, &wt))
            return NULL;
        if (f == 5) {
            if (wt != WT_VARINT || seen_has || !varint(&r, &v) || v > 1)
                return NULL;
            seen_has = true;
            has_result = v != 0;
            continue;
        }
        if (wt != WT_LEN || !bytes(&r, &s))
            return NULL;
        switch (f) {
        case 1:
            if (seen_id)
                return NULL;
            text(&s, &id, &id_len);
            seen_id = true;
            break;
        case 2:
            if (seen_tool)
                return NULL;
            text(&s, &tool, &tool_len);
            seen_tool = true;
            break;
        case 3:
        case 4:
            if (!entry(d, s, f == 3 ? args : result))
                return NULL;
            break;
        default:
            return NULL;
        }
    }
    pv_node *m = pv_node_new_map();
    if (id_len)
        pv_node_map_add(m, "id", pv_node_new_str(id, id_len));
    pv_node_map_add(m, "tool", pv_node_new_str(tool, tool_len));
    pv_node_map_add(m, "args", args);
    if (has_result || result->n > 0)
        pv_node_map_add(m, "result", result);
    return m;
}

bool pv_wire_request_to_doc(const uint8_t *buf, size_t len, size_t budget, pv_wire_request *out)
{
    memset(out, 0, sizeof *out);
    pv_arena *arena = pv_xcalloc(1, sizeof *arena);
    /* room for the tree of a typical request in one chunk (about 16
     * bytes of tree per byte of request) */
    arena->first_size = len < ((size_t)1 << 20) ? len * 16 + 1024 : 0;
    pv_arena *prev = pv_node_build_arena(arena);
    dec d = {arena, budget};
    rd r = {buf, buf + len};
    /* Fields 1-4, the request's texts, as views into the message. */
    enum { F_SPEC = 1, F_VERSION, F_DIGEST, F_ID };
    const char *txt[5] = {"", "", "", "", ""};
    size_t txt_len[5] = {0};
    bool seen[5] = {false};
    pv_node *initial = pv_node_new_map(), *steps = pv_node_new_seq();
    bool ok = true;
    while (ok && r.p < r.end) {
        uint32_t f;
        int wt;
        rd s;
        if (!key(&r, &f, &wt) || wt != WT_LEN || !bytes(&r, &s)) {
            ok = false;
            break;
        }
        switch (f) {
        case 1:
        case 2:
        case 3:
        case 4:
            ok = !seen[f];
            seen[f] = true;
            text(&s, &txt[f], &txt_len[f]);
            break;
        case 5:
            ok = entry(&d, s, initial);
            break;
        case 6: {
            pv_node *st = step(&d, s);
            ok = st && !over(&d);
            if (ok)
                pv_node_seq_add(steps, st);
            break;
        }
        default:
            ok = false;
        }
    }
    if (ok) {
        pv_node *root = pv_node_new_map();
        if (txt_len[F_SPEC])
            pv_node_map_add(root, "spec", pv_node_new_str(txt[F_SPEC], txt_len[F_SPEC]));
        if (txt_len[F_ID])
            pv_node_map_add(root, "id", pv_node_new_str(txt[F_ID], txt_len[F_ID]));
        if (initial->n)
            pv_node_map_add(root, "initial_state", initial);
        pv_node_map_add(root, "steps", steps);
        out->doc = pv_doc_from_root("request", root);
        out->doc->arena = arena;
        /* these outlive the message */
        out->spec = pv_arena_strndup(arena, txt[F_SPEC], txt_len[F_SPEC]);
        out->version = pv_arena_strndup(arena, txt[F_VERSION], txt_len[F_VERSION]);
        out->digest = pv_arena_strndup(arena, txt[F_DIGEST], txt_len[F_DIGEST]);
    }
    pv_node_build_arena(prev);
    if (!ok) {
        pv_arena_free(arena);
        free(arena);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* verdict -> wire                                                     */

/* Room for n more bytes (and the buffer's terminating NUL). */
static char *room(pv_buf *b, size_t n)
{
    pv_grow(&b->ptr, &b->cap, b->len + n + 1, 1);
    return b->ptr + b->len;
}

static char *varint_at(char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (char)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = (char)v;
    return p;
}

static void done(pv_buf *b, const char *end)
{
    b->len = (size_t)(end - b->ptr);
    b->ptr[b->len] = '\0';
}

static void put_varint(pv_buf *b, uint64_t v)
{
    done(b, varint_at(room(b, 10), v));
}

/* int32 and int64 fields: negative values take ten bytes, sign extended. */
static void put_int(pv_buf *b, uint32_t field, int64_t v)
{
    char *p = varint_at(room(b, 15), (uint64_t)field << 3 | WT_VARINT);
    done(b, varint_at(p, (uint64_t)v));
}

static void put_bytes(pv_buf *b, uint32_t field, const char *s, size_t len)
{
    char *p = varint_at(room(b, len + 15), (uint64_t)field << 3 | WT_LEN);
    p = varint_at(p, len);
    memcpy(p, s, len);
    done(b, p + len);
}

/* A proto3 string field: left out when empty. */
static void put_str(pv_buf *b, uint32_t field, const char *s)
{
    if (s && *s)
        put_bytes(b, field, s, strlen(s));
}

/* The Value of a witness entry, as proto_conv.c's value_to_proto has it. */
static void put_value(pv_buf *b, const pv_spec *spec, const pv_value *v)
{
    pv_buf m = {0};
    pv_buf_add(&m, "");
    switch (v->type.kind) {
    case PV_T_INT:
        put_int(&m, 1, v->u.i);
        break;
    case PV_T_BOOL:
        put_int(&m, 2, v->u.b);
        break;
    case PV_T_STRING:
        put_bytes(&m, 3, v->u.s.ptr, strnlen(v->u.s.ptr, v->u.s.len));
        break;
    case PV_T_ENUM: {
        char *name = pv_value_describe(spec, v);
        put_bytes(&m, 3, name, strlen(name));
        free(name);
        break;
    }
    default:
        put_int(&m, 5, 1);
    }
    put_bytes(b, 2, m.ptr, m.len);
    free(m.ptr);
}

void pv_wire_verdict(const pv_spec *spec, const pv_verdict *v, int32_t executed, pv_buf *out)
{
    pv_buf_add(out, "");
    put_str(out, 1, pv_action_name(v->decision));
    if (v->safe_prefix)
        put_int(out, 2, (int32_t)v->safe_prefix);
    put_str(out, 3, v->spec_id);
    put_str(out, 4, v->spec_version);
    put_str(out, 5, v->spec_digest);
    put_str(out, 6, v->plan_id);
    pv_buf f = {0}, e = {0}, chain = {0};
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *x = &v->findings[i];
        f.len = 0;
        pv_buf_add(&f, "");
        put_str(&f, 1, x->rule);
        put_str(&f, 2, pv_finding_kind_name(x->kind));
        if (x->step)
            put_int(&f, 3, (int32_t)x->step);
        put_str(&f, 4, x->tool);
        put_str(&f, 5, pv_action_name(x->action));
        put_str(&f, 6, x->escalate_to);
        if (x->certain)
            put_int(&f, 7, 1);
        if (x->n_chain) {
            chain.len = 0;
            pv_buf_add(&chain, "");
            for (size_t c = 0; c < x->n_chain; c++)
                put_varint(&chain, (uint64_t)(int64_t)(int32_t)x->chain[c]);
            put_bytes(&f, 8, chain.ptr, chain.len);
        }
        for (size_t w = 0; w < x->n_witness; w++) {
            e.len = 0;
            pv_buf_add(&e, "");
            put_str(&e, 1, x->witness[w].key);
            put_value(&e, spec, &x->witness[w].value);
            put_bytes(&f, 9, e.ptr, e.len);
        }
        put_str(&f, 10, x->message);
        put_bytes(out, 7, f.ptr, f.len);
    }
    free(f.ptr);
    free(e.ptr);
    free(chain.ptr);
    if (executed)
        put_int(out, 8, executed);
}
