/*
 * spec_util.c - lookups, enum interning, rendering and freeing for pv_spec.
 * The loader itself is in spec.c.
 */
#include "pv_plan.h"
#include "pv_spec.h"

#include <stdlib.h>
#include <string.h>

static const char *const pv__action_names[] = {"allow", "clarify", "escalate", "halt", "block"};

const char *pv_action_name(pv_action a)
{
    if ((int)a < 0 || (size_t)a >= sizeof pv__action_names / sizeof *pv__action_names)
        return "invalid";
    return pv__action_names[a];
}

int pv_action_parse(const char *s)
{
    for (size_t i = 0; i < sizeof pv__action_names / sizeof *pv__action_names; i++)
        if (strcmp(s, pv__action_names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *const pv__failure_names[PV_FAIL__COUNT] = {
    "unknown_tool", "missing_argument", "precondition", "solver_unknown", "budget_exceeded"};

const char *pv_failure_name(pv_failure f)
{
    if ((int)f < 0 || f >= PV_FAIL__COUNT)
        return "invalid";
    return pv__failure_names[f];
}

int pv_spec_tool(const pv_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_tools; i++)
        if (strcmp(spec->tools[i].name, name) == 0)
            return (int)i;
    return -1;
}

int pv_spec_state_var(const pv_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_state; i++)
        if (strcmp(spec->state[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int pv__var_index(const pv_var *vars, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(vars[i].name, name) == 0)
            return (int)i;
    return -1;
}

int pv_tool_arg(const pv_tool *tool, const char *name)
{
    return pv__var_index(tool->args, tool->n_args, name);
}

int pv_tool_return(const pv_tool *tool, const char *name)
{
    return pv__var_index(tool->returns, tool->n_returns, name);
}

static int pv__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Enums are structural, so the canonical form of an enum is its sorted
 * value list; two declarations with the same set share one id. */
int pv_spec_intern_enum(pv_spec *spec, const char *const *values, size_t n)
{
    char **sorted = pv_xmalloc((n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        sorted[i] = pv_xstrdup(values[i]);
    qsort(sorted, n, sizeof(char *), pv__cmp_str);
    for (size_t e = 0; e < spec->n_enums; e++) {
        pv_enum *en = &spec->enums[e];
        if (en->n != n)
            continue;
        size_t i = 0;
        while (i < n && strcmp(en->values[i], sorted[i]) == 0)
            i++;
        if (i == n) {
            for (i = 0; i < n; i++)
                free(sorted[i]);
            free(sorted);
            return (int)e;
        }
    }
    spec->enums = pv_xrealloc(spec->enums, (spec->n_enums + 1) * sizeof(pv_enum));
    spec->enums[spec->n_enums] = (pv_enum){sorted, n};
    return (int)spec->n_enums++;
}

int pv_enum_value(const pv_spec *spec, int enum_id, const char *value, size_t len)
{
    if (enum_id < 0 || (size_t)enum_id >= spec->n_enums)
        return -1;
    const pv_enum *en = &spec->enums[enum_id];
    for (size_t i = 0; i < en->n; i++)
        if (strlen(en->values[i]) == len && memcmp(en->values[i], value, len) == 0)
            return (int)i;
    return -1;
}

char *pv_type_describe(const pv_spec *spec, pv_type t)
{
    if (t.kind != PV_T_ENUM || !spec || t.enum_id < 0 || (size_t)t.enum_id >= spec->n_enums)
        return pv_xstrdup(pv_type_kind_name(t.kind));
    const pv_enum *en = &spec->enums[t.enum_id];
    size_t need = 8;
    for (size_t i = 0; i < en->n; i++)
        need += strlen(en->values[i]) + 2;
    char *s = pv_xmalloc(need);
    strcpy(s, "enum [");
    for (size_t i = 0; i < en->n; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, en->values[i]);
    }
    strcat(s, "]");
    return s;
}

/* Renders a string with the expression language's escapes, so a message
 * shows exactly the value a rule saw, control characters included. */
static char *pv__quote(const pv_str *s)
{
    char *out = pv_xmalloc(s->len * 4 + 3);
    size_t o = 0;
    out[o++] = '\'';
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        switch (c) {
        case '\\':
        case '\'':
            out[o++] = '\\';
            out[o++] = (char)c;
            break;
        case '\n':
            out[o++] = '\\';
            out[o++] = 'n';
            break;
        case '\t':
            out[o++] = '\\';
            out[o++] = 't';
            break;
        case '\r':
            out[o++] = '\\';
            out[o++] = 'r';
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                static const char hex[] = "0123456789abcdef";
                out[o++] = '\\';
                out[o++] = 'x';
                out[o++] = hex[c >> 4];
                out[o++] = hex[c & 15];
            } else {
                out[o++] = (char)c;
            }
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

char *pv_value_describe(const pv_spec *spec, const pv_value *v)
{
    switch (v->type.kind) {
    case PV_T_INT:
        return pv_xasprintf("%lld", (long long)v->u.i);
    case PV_T_BOOL:
        return pv_xstrdup(v->u.b ? "true" : "false");
    case PV_T_STRING:
        return pv__quote(&v->u.s);
    case PV_T_ENUM:
        if (spec && v->type.enum_id >= 0 && (size_t)v->type.enum_id < spec->n_enums &&
            v->u.e >= 0 && (size_t)v->u.e < spec->enums[v->type.enum_id].n)
            return pv_xstrdup(spec->enums[v->type.enum_id].values[v->u.e]);
        return pv_xasprintf("enum#%d", v->u.e);
    default:
        return pv_xstrdup("?");
    }
}

static void pv__var_free(pv_var *v)
{
    free(v->name);
    free(v->description);
    pv_value_free(&v->init);
    pv_value_free(&v->dflt);
}

static void pv__vars_free(pv_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pv__var_free(&vars[i]);
    free(vars);
}

static void pv__strs_free(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void pv_spec_free(pv_spec *spec)
{
    if (!spec)
        return;
    free(spec->lit_ints);
    free(spec->lit_strs);
    free(spec->id);
    free(spec->version);
    free(spec->description);
    free(spec->file);
    free(spec->source);
    for (size_t i = 0; i < spec->n_enums; i++)
        pv__strs_free(spec->enums[i].values, spec->enums[i].n);
    free(spec->enums);
    pv__vars_free(spec->state, spec->n_state);
    for (size_t i = 0; i < spec->n_constants; i++) {
        free(spec->constants[i].name);
        pv_value_free(&spec->constants[i].value);
    }
    free(spec->constants);
    for (size_t i = 0; i < spec->n_tools; i++) {
        pv_tool *t = &spec->tools[i];
        free(t->name);
        free(t->description);
        pv__vars_free(t->args, t->n_args);
        pv__vars_free(t->returns, t->n_returns);
        pv_expr_free(t->requires);
        free(t->requires_src);
        pv_expr_free(t->ensures);
        free(t->ensures_src);
        for (size_t j = 0; j < t->n_effects; j++) {
            pv_expr_free(t->effects[j].expr);
            free(t->effects[j].src);
        }
        free(t->effects);
    }
    free(spec->tools);
    pv__strs_free(spec->handles, spec->n_handles);
    for (size_t i = 0; i < spec->n_excludes; i++) {
        pv_exclusion *x = &spec->excludes[i];
        free(x->id);
        free(x->description);
        pv__strs_free(x->tools, x->n_tools);
        free(x->tool_index);
        pv_expr_free(x->when);
        free(x->when_src);
        free(x->escalate_to);
    }
    free(spec->excludes);
    for (size_t i = 0; i < spec->n_invariants; i++) {
        pv_invariant *r = &spec->invariants[i];
        free(r->id);
        free(r->description);
        free(r->on_tools);
        pv_expr_free(r->cond);
        free(r->cond_src);
        free(r->escalate_to);
        free(r->enforcement);
    }
    free(spec->invariants);
    for (size_t i = 0; i < PV_FAIL__COUNT; i++)
        free(spec->failure_modes[i].escalate_to);
    for (size_t i = 0; i < spec->n_tests; i++) {
        pv_test *t = &spec->tests[i];
        free(t->name);
        free(t->description);
        pv_plan_free(t->plan);
        pv__strs_free(t->expect.violations, t->expect.n_violations);
    }
    free(spec->tests);
    free(spec);
}
