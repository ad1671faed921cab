/*
 * message.c - the human-readable message of a finding, with the concrete
 * values of the failing run (from the plan, or from a solver witness).
 */
#include "pv_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pv_message_oneline(const char *src)
{
    size_t len = strlen(src);
    char *out = pv_xmalloc(len + 1);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = false;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* Text of a leaf name as the author wrote it. */
static const char *leaf_name(const pv_expr *e)
{
    return e->u.ref.name;
}

/* Append " with a = 1, b = 'x'" for the leaves of e outside path functions,
 * each once, in order of appearance. */
static void add_values(pv_buf *b, const pv_spec *spec, const pv_expr *e, pv_leaf_value_fn fn,
                       void *ctx, const char **seen, size_t *n_seen)
{
    if (!e || e->kind == PV_E_EARLIER || e->kind == PV_E_COUNT)
        return;
    if (e->kind == PV_E_STATE || e->kind == PV_E_ARG || e->kind == PV_E_RESULT) {
        const char *name = leaf_name(e);
        for (size_t i = 0; i < *n_seen; i++)
            if (seen[i] == name || strcmp(seen[i], name) == 0)
                return;
        pv_value v;
        if (!fn(ctx, e, &v))
            return;
        char *val = pv_value_describe(spec, &v);
        pv_buf_add(b, *n_seen ? ", " : " with ");
        if (e->kind == PV_E_ARG)
            pv_buf_add(b, "args.");
        else if (e->kind == PV_E_RESULT)
            pv_buf_add(b, "result.");
        pv_buf_add(b, name);
        pv_buf_add(b, " = ");
        pv_buf_add(b, val);
        free(val);
        seen[(*n_seen)++] = name;
        return;
    }
    for (size_t i = 0; i < e->n_kids; i++)
        add_values(b, spec, e->kids[i], fn, ctx, seen, n_seen);
}

static size_t count_nodes(const pv_expr *e)
{
    size_t n = 1;
    for (size_t i = 0; e && i < e->n_kids; i++)
        n += count_nodes(e->kids[i]);
    return n;
}

char *pv_message_rule(const pv_spec *spec, const pv_expr *cond, const char *src, const char *verb,
                      const char *fails_where, pv_leaf_value_fn fn, void *ctx)
{
    /* The common shape of a state rule, `var OP constant`, reads best as
     * "var reaches VALUE NEGATED-OP constant". */
    static const struct {
        pv_expr_kind op;
        const char *neg;
    } negations[] = {{PV_E_LE, ">"},
                     {PV_E_LT, ">="},
                     {PV_E_GE, "<"},
                     {PV_E_GT, "<="},
                     {PV_E_EQ, "!="},
                     {PV_E_NE, "=="}};
    if (cond && strcmp(verb, "fails") == 0 && cond->n_kids == 2 &&
        cond->kids[0]->kind == PV_E_STATE && cond->kids[1]->kind == PV_E_INT) {
        for (size_t i = 0; i < sizeof negations / sizeof negations[0]; i++) {
            pv_value v;
            if (negations[i].op != cond->kind || !fn(ctx, cond->kids[0], &v) ||
                v.type.kind != PV_T_INT)
                continue;
            return pv_xasprintf("%s reaches %lld %s %lld %s",
                                leaf_name(cond->kids[0]),
                                (long long)v.u.i,
                                negations[i].neg,
                                (long long)cond->kids[1]->u.i,
                                fails_where);
        }
    }
    pv_buf b = {0};
    char *line = pv_message_oneline(src ? src : "rule");
    pv_buf_addf(&b, "%s %s %s", line, verb, fails_where);
    free(line);
    size_t cap = count_nodes(cond);
    const char **seen = pv_xcalloc(cap, sizeof(char *));
    size_t n_seen = 0;
    add_values(&b, spec, cond, fn, ctx, seen, &n_seen);
    free(seen);
    return b.ptr;
}
