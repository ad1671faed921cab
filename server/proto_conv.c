/*
 * proto_conv.c - the one converter between the wire (protobuf-c messages
 * of planverify.v1) and the library's types. Requests become document trees
 * so that the same plan loader validates gRPC requests and plan files.
 */
#include "proto_conv.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* request -> document                                                 */

static pv_node *value_to_node(const Planverify__V1__Value *v)
{
    if (!v)
        return pv_node_new_null();
    switch (v->kind_case) {
    case PLANVERIFY__V1__VALUE__KIND_INT_VALUE:
        return pv_node_new_int(v->int_value);
    case PLANVERIFY__V1__VALUE__KIND_BOOL_VALUE:
        return pv_node_new_bool(v->bool_value);
    case PLANVERIFY__V1__VALUE__KIND_STRING_VALUE:
        return pv_node_new_str(v->string_value, strlen(v->string_value));
    case PLANVERIFY__V1__VALUE__KIND_REF: {
        pv_node *m = pv_node_new_map();
        pv_node_map_add(m, "ref", pv_node_new_str(v->ref, strlen(v->ref)));
        return m;
    }
    case PLANVERIFY__V1__VALUE__KIND_UNKNOWN: {
        pv_node *m = pv_node_new_map();
        pv_node_map_add(m, "unknown", pv_node_new_bool(v->unknown));
        return m;
    }
    default:
        /* A Value with no kind set: the loader reports it as null. */
        return pv_node_new_null();
    }
}

/* The map fields of protobuf-c are arrays of {key, value} entries; their
 * layouts agree, so one walker serves args, result and initial_state. */
typedef struct map_entry {
    ProtobufCMessage base;
    char *key;
    Planverify__V1__Value *value;
} map_entry;

static pv_node *entries_to_node(size_t n, void *const *entries)
{
    pv_node *m = pv_node_new_map();
    for (size_t i = 0; i < n; i++) {
        const map_entry *e = entries[i];
        pv_node_map_add(m, e->key ? e->key : "", value_to_node(e->value));
    }
    return m;
}

static pv_node *step_to_node(const Planverify__V1__Step *s)
{
    pv_node *m = pv_node_new_map();
    if (s->id && s->id[0])
        pv_node_map_add(m, "id", pv_node_new_str(s->id, strlen(s->id)));
    pv_node_map_add(
        m, "tool", pv_node_new_str(s->tool ? s->tool : "", s->tool ? strlen(s->tool) : 0));
    pv_node_map_add(m, "args", entries_to_node(s->n_args, (void *const *)s->args));
    if (s->has_result || s->n_result > 0)
        pv_node_map_add(m, "result", entries_to_node(s->n_result, (void *const *)s->result));
    return m;
}

pv_node *pv_proto_steps_to_node(size_t n, Planverify__V1__Step *const *steps)
{
    pv_node *seq = pv_node_new_seq();
    for (size_t i = 0; i < n; i++)
        pv_node_seq_add(seq, step_to_node(steps[i]));
    return seq;
}

pv_doc *pv_proto_request_to_doc(const Planverify__V1__VerifyRequest *req)
{
    /* The tree lives as long as the request's plan is loaded: one arena,
     * released with the document. */
    pv_arena *arena = pv_xcalloc(1, sizeof *arena);
    pv_arena *prev = pv_node_build_arena(arena);
    pv_node *root = pv_node_new_map();
    if (req->spec && req->spec[0])
        pv_node_map_add(root, "spec", pv_node_new_str(req->spec, strlen(req->spec)));
    if (req->id && req->id[0])
        pv_node_map_add(root, "id", pv_node_new_str(req->id, strlen(req->id)));
    if (req->n_initial_state)
        pv_node_map_add(root,
                        "initial_state",
                        entries_to_node(req->n_initial_state, (void *const *)req->initial_state));
    pv_node_map_add(root, "steps", pv_proto_steps_to_node(req->n_steps, req->steps));
    pv_node_build_arena(prev);
    pv_doc *doc = pv_doc_from_root("request", root);
    doc->arena = arena;
    return doc;
}

/* ------------------------------------------------------------------ */
/* verdict -> message                                                  */

static Planverify__V1__Value *value_to_proto(const pv_spec *spec, const pv_value *v)
{
    Planverify__V1__Value *p = pv_xmalloc(sizeof *p);
    planverify__v1__value__init(p);
    switch (v->type.kind) {
    case PV_T_INT:
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_INT_VALUE;
        p->int_value = v->u.i;
        break;
    case PV_T_BOOL:
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_BOOL_VALUE;
        p->bool_value = v->u.b;
        break;
    case PV_T_STRING:
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_STRING_VALUE;
        p->string_value = pv_xstrndup(v->u.s.ptr, v->u.s.len);
        break;
    case PV_T_ENUM:
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_STRING_VALUE;
        p->string_value = pv_value_describe(spec, v);
        break;
    default:
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_UNKNOWN;
        p->unknown = true;
    }
    return p;
}

Planverify__V1__Verdict *pv_verdict_to_proto(const pv_spec *spec, const pv_verdict *v)
{
    Planverify__V1__Verdict *p = pv_xmalloc(sizeof *p);
    planverify__v1__verdict__init(p);
    p->decision = pv_xstrdup(pv_action_name(v->decision));
    p->safe_prefix = v->safe_prefix;
    p->spec = pv_xstrdup(v->spec_id);
    p->spec_version = pv_xstrdup(v->spec_version);
    p->spec_digest = pv_xstrdup(v->spec_digest);
    p->id = pv_xstrdup(v->plan_id ? v->plan_id : "");
    p->n_violations = v->n_findings;
    p->violations = pv_xcalloc(v->n_findings + 1, sizeof(Planverify__V1__Violation *));
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
        Planverify__V1__Violation *o = pv_xmalloc(sizeof *o);
        planverify__v1__violation__init(o);
        o->rule = pv_xstrdup(f->rule);
        o->kind = pv_xstrdup(pv_finding_kind_name(f->kind));
        o->step = f->step;
        o->tool = pv_xstrdup(f->tool ? f->tool : "");
        o->action = pv_xstrdup(pv_action_name(f->action));
        o->escalate_to = pv_xstrdup(f->escalate_to ? f->escalate_to : "");
        o->certain = f->certain;
        o->n_chain = f->n_chain;
        o->chain = pv_xcalloc(f->n_chain + 1, sizeof(int32_t));
        for (size_t c = 0; c < f->n_chain; c++)
            o->chain[c] = f->chain[c];
        o->n_witness = f->n_witness;
        o->witness =
            pv_xcalloc(f->n_witness + 1, sizeof(Planverify__V1__Violation__WitnessEntry *));
        for (size_t w = 0; w < f->n_witness; w++) {
            Planverify__V1__Violation__WitnessEntry *e = pv_xmalloc(sizeof *e);
            planverify__v1__violation__witness_entry__init(e);
            e->key = pv_xstrdup(f->witness[w].key);
            e->value = value_to_proto(spec, &f->witness[w].value);
            o->witness[w] = e;
        }
        o->message = pv_xstrdup(f->message ? f->message : "");
        p->violations[i] = o;
    }
    return p;
}

/* Free a message built by this file (every string and submessage owned). */
void pv_proto_verdict_free(Planverify__V1__Verdict *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_violations; i++) {
        Planverify__V1__Violation *o = p->violations[i];
        free(o->rule);
        free(o->kind);
        free(o->tool);
        free(o->action);
        free(o->escalate_to);
        free(o->chain);
        for (size_t w = 0; w < o->n_witness; w++) {
            free(o->witness[w]->key);
            if (o->witness[w]->value->kind_case == PLANVERIFY__V1__VALUE__KIND_STRING_VALUE)
                free(o->witness[w]->value->string_value);
            free(o->witness[w]->value);
            free(o->witness[w]);
        }
        free(o->witness);
        free(o->message);
        free(o);
    }
    free(p->violations);
    free(p->decision);
    free(p->spec);
    free(p->spec_version);
    free(p->spec_digest);
    free(p->id);
    free(p);
}

/* ------------------------------------------------------------------ */
/* message -> verdict (the client side)                                */

static pv_value value_from_proto(const Planverify__V1__Value *p)
{
    pv_value v;
    memset(&v, 0, sizeof v);
    switch (p ? p->kind_case : PLANVERIFY__V1__VALUE__KIND__NOT_SET) {
    case PLANVERIFY__V1__VALUE__KIND_INT_VALUE:
        v.type = pv_type_make(PV_T_INT);
        v.u.i = p->int_value;
        break;
    case PLANVERIFY__V1__VALUE__KIND_BOOL_VALUE:
        v.type = pv_type_make(PV_T_BOOL);
        v.u.b = p->bool_value;
        break;
    default:
        /* strings, and enum values, which travel as their names */
        v.type = pv_type_make(PV_T_STRING);
        v.u.s = pv_str_dup(p && p->string_value ? p->string_value : "",
                           p && p->string_value ? strlen(p->string_value) : 0);
    }
    return v;
}

pv_verdict *pv_verdict_from_proto(const Planverify__V1__Verdict *p)
{
    pv_verdict *v = pv_xcalloc(1, sizeof *v);
    int d = pv_action_parse(p->decision ? p->decision : "");
    v->decision = d < 0 ? PV_ACT_BLOCK : (pv_action)d;
    v->safe_prefix = p->safe_prefix;
    v->spec_id = pv_xstrdup(p->spec ? p->spec : "");
    v->spec_version = pv_xstrdup(p->spec_version ? p->spec_version : "");
    v->spec_digest = pv_xstrdup(p->spec_digest ? p->spec_digest : "");
    v->plan_id = p->id && p->id[0] ? pv_xstrdup(p->id) : NULL;
    v->findings = pv_xcalloc(p->n_violations + 1, sizeof(pv_finding));
    v->n_findings = p->n_violations;
    for (size_t i = 0; i < p->n_violations; i++) {
        const Planverify__V1__Violation *o = p->violations[i];
        pv_finding *f = &v->findings[i];
        f->rule = pv_xstrdup(o->rule ? o->rule : "");
        int kind = pv_finding_kind_parse(o->kind ? o->kind : "");
        f->kind = kind < 0 ? PV_K_CALL : (pv_finding_kind)kind;
        f->step = o->step;
        f->tool = o->tool && o->tool[0] ? pv_xstrdup(o->tool) : NULL;
        int a = pv_action_parse(o->action ? o->action : "");
        f->action = a < 0 ? PV_ACT_BLOCK : (pv_action)a;
        f->escalate_to = o->escalate_to && o->escalate_to[0] ? pv_xstrdup(o->escalate_to) : NULL;
        f->certain = o->certain;
        f->n_chain = o->n_chain;
        f->chain = pv_xcalloc(o->n_chain + 1, sizeof(int));
        for (size_t c = 0; c < o->n_chain; c++)
            f->chain[c] = o->chain[c];
        f->n_witness = o->n_witness;
        f->witness = pv_xcalloc(o->n_witness + 1, sizeof(pv_witness_entry));
        for (size_t w = 0; w < o->n_witness; w++) {
            f->witness[w].key = pv_xstrdup(o->witness[w]->key ? o->witness[w]->key : "");
            f->witness[w].value = value_from_proto(o->witness[w]->value);
        }
        f->message = pv_xstrdup(o->message ? o->message : "");
    }
    return v;
}

/* ------------------------------------------------------------------ */
/* document -> request (the client side)                               */

static const char *node_text(const pv_node *n)
{
    return n && n->str.ptr ? n->str.ptr : "";
}

static int node_to_value(const pv_node *n, Planverify__V1__Value *p, const char *where, pv_diags *d,
                         const char *file)
{
    planverify__v1__value__init(p);
    if (n->kind == PV_N_MAP && n->n == 1 && strcmp(node_text(n->keys[0]), "ref") == 0 &&
        n->items[0]->kind == PV_N_SCALAR) {
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_REF;
        p->ref = pv_xstrdup(node_text(n->items[0]));
        return PV_OK;
    }
    if (n->kind == PV_N_MAP && n->n == 1 && strcmp(node_text(n->keys[0]), "unknown") == 0 &&
        n->items[0]->kind == PV_N_SCALAR && n->items[0]->skind == PV_S_BOOL) {
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_UNKNOWN;
        p->unknown = n->items[0]->bval;
        return PV_OK;
    }
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_INT) {
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_INT_VALUE;
        p->int_value = n->ival;
        return PV_OK;
    }
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_BOOL) {
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_BOOL_VALUE;
        p->bool_value = n->bval;
        return PV_OK;
    }
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_STRING) {
        p->kind_case = PLANVERIFY__V1__VALUE__KIND_STRING_VALUE;
        p->string_value = pv_xstrndup(n->str.ptr, n->str.len);
        return PV_OK;
    }
    char *desc = pv_node_describe(n);
    pv_diags_add(d,
                 file,
                 n->pos,
                 "%s: expected a string, integer, boolean, {ref: STEP.FIELD} or {unknown: "
                 "true}, found %s",
                 where,
                 desc);
    free(desc);
    return PV_EINPUT;
}

static int node_to_entries(const pv_node *map, size_t *n_out, void ***out, size_t entry_size,
                           const ProtobufCMessageDescriptor *desc, const char *where, pv_diags *d,
                           const char *file)
{
    *n_out = 0;
    *out = NULL;
    if (!map || (map->kind == PV_N_SCALAR && map->skind == PV_S_NULL))
        return PV_OK;
    if (map->kind != PV_N_MAP) {
        pv_diags_add(d, file, map->pos, "%s: expected a mapping", where);
        return PV_EINPUT;
    }
    int rc = PV_OK;
    void **entries = pv_xcalloc(map->n + 1, sizeof(void *));
    for (size_t i = 0; i < map->n; i++) {
        map_entry *e = pv_xcalloc(1, entry_size);
        protobuf_c_message_init(desc, e);
        e->key = pv_xstrdup(node_text(map->keys[i]));
        e->value = pv_xmalloc(sizeof(Planverify__V1__Value));
        char *w = pv_xasprintf("%s.%s", where, e->key);
        if (node_to_value(map->items[i], e->value, w, d, file) != PV_OK)
            rc = PV_EINPUT;
        free(w);
        entries[i] = e;
    }
    *out = entries;
    *n_out = map->n;
    return rc;
}

int pv_proto_request_from_doc(const pv_doc *doc, Planverify__V1__VerifyRequest **out, pv_diags *d)
{
    const pv_node *root = doc->root;
    *out = NULL;
    if (!root || root->kind != PV_N_MAP) {
        pv_diags_add(d,
                     doc->file,
                     root ? root->pos : (pv_pos){0, 0},
                     "a plan must be a mapping with 'steps'");
        return PV_EINPUT;
    }
    Planverify__V1__VerifyRequest *req = pv_xmalloc(sizeof *req);
    planverify__v1__verify_request__init(req);
    int rc = PV_OK;
    const pv_node *n;
    req->spec = pv_xstrdup((n = pv_node_get(root, "spec")) ? node_text(n) : "");
    req->id = pv_xstrdup((n = pv_node_get(root, "id")) ? node_text(n) : "");
    req->version = pv_xstrdup("");
    req->digest = pv_xstrdup("");
    if (node_to_entries(pv_node_get(root, "initial_state"),
                        &req->n_initial_state,
                        (void ***)&req->initial_state,
                        sizeof(Planverify__V1__VerifyRequest__InitialStateEntry),
                        &planverify__v1__verify_request__initial_state_entry__descriptor,
                        "initial_state",
                        d,
                        doc->file) != PV_OK)
        rc = PV_EINPUT;
    const pv_node *steps = pv_node_get(root, "steps");
    if (!steps || steps->kind != PV_N_SEQ) {
        pv_diags_add(d, doc->file, root->pos, "the plan needs a list 'steps'");
        rc = PV_EINPUT;
    } else {
        req->n_steps = steps->n;
        req->steps = pv_xcalloc(steps->n + 1, sizeof(Planverify__V1__Step *));
        for (size_t i = 0; i < steps->n; i++) {
            const pv_node *sn = steps->items[i];
            Planverify__V1__Step *s = pv_xmalloc(sizeof *s);
            planverify__v1__step__init(s);
            req->steps[i] = s;
            s->id = pv_xstrdup("");
            s->tool = pv_xstrdup("");
            if (sn->kind != PV_N_MAP) {
                pv_diags_add(d, doc->file, sn->pos, "step %zu: expected a mapping", i);
                rc = PV_EINPUT;
                continue;
            }
            if ((n = pv_node_get(sn, "id"))) {
                free(s->id);
                s->id = pv_xstrdup(node_text(n));
            }
            if ((n = pv_node_get(sn, "tool"))) {
                free(s->tool);
                s->tool = pv_xstrdup(node_text(n));
            }
            char *where = pv_xasprintf("step %zu, field args", i);
            if (node_to_entries(pv_node_get(sn, "args"),
                                &s->n_args,
                                (void ***)&s->args,
                                sizeof(Planverify__V1__Step__ArgsEntry),
                                &planverify__v1__step__args_entry__descriptor,
                                where,
                                d,
                                doc->file) != PV_OK)
                rc = PV_EINPUT;
            free(where);
            const pv_node *res = pv_node_get(sn, "result");
            if (res) {
                s->has_result = true;
                where = pv_xasprintf("step %zu, field result", i);
                if (node_to_entries(res,
                                    &s->n_result,
                                    (void ***)&s->result,
                                    sizeof(Planverify__V1__Step__ResultEntry),
                                    &planverify__v1__step__result_entry__descriptor,
                                    where,
                                    d,
                                    doc->file) != PV_OK)
                    rc = PV_EINPUT;
                free(where);
            }
        }
    }
    *out = req;
    return rc;
}

static void free_entries(size_t n, void **entries)
{
    for (size_t i = 0; i < n; i++) {
        map_entry *e = entries[i];
        free(e->key);
        if (e->value) {
            if (e->value->kind_case == PLANVERIFY__V1__VALUE__KIND_STRING_VALUE)
                free(e->value->string_value);
            if (e->value->kind_case == PLANVERIFY__V1__VALUE__KIND_REF)
                free(e->value->ref);
            free(e->value);
        }
        free(e);
    }
    free(entries);
}

void pv_proto_request_free(Planverify__V1__VerifyRequest *req)
{
    if (!req)
        return;
    free(req->spec);
    free(req->id);
    free(req->version);
    free(req->digest);
    free_entries(req->n_initial_state, (void **)req->initial_state);
    for (size_t i = 0; i < req->n_steps; i++) {
        Planverify__V1__Step *s = req->steps[i];
        free(s->id);
        free(s->tool);
        free_entries(s->n_args, (void **)s->args);
        free_entries(s->n_result, (void **)s->result);
        free(s);
    }
    free(req->steps);
    free(req);
}
