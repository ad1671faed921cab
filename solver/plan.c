/*
 * plan.c - the plan loader: document tree -> pv_plan, validated against a
 * spec. Every error names the step (index and id) and the field, and all of
 * a plan's errors are reported, not just the first.
 */
#include "pv_internal.h"
#include "pv_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct ploader {
    const pv_spec *spec;
    const pv_doc *doc;
    pv_diags *diags;
    pv_plan *plan;
    size_t errors;
} ploader;

static void perr(ploader *pl, const pv_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(ploader *pl, const pv_node *at, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pv_diags_add(
        pl->diags, pl->doc ? pl->doc->file : NULL, at ? at->pos : (pv_pos){0, 0}, "%s", buf);
    pl->errors++;
}

static const char *text(const pv_node *n)
{
    return n->str.ptr ? n->str.ptr : "";
}

/*
 * Where a plan value sits, for messages ("step 3 (send), field
 * args.to"). Rendered only when a message needs it: most plans have no
 * errors, and formatting every value's place cost more than loading it.
 */
typedef struct pwhere {
    bool initial;      /* under initial_state (else under a step) */
    size_t step;       /* the step's index */
    const char *id;    /* the step's id, or NULL */
    const char *field; /* "args" or "result", or NULL for the step itself */
    const char *name;  /* the key under field (or under initial_state) */
    char buf[400];
} pwhere;

static const char *W(pwhere *w)
{
    int n = w->initial ? snprintf(w->buf, sizeof w->buf, "initial_state.%.150s", w->name)
            : w->id    ? snprintf(w->buf, sizeof w->buf, "step %zu (%.150s)", w->step, w->id)
                       : snprintf(w->buf, sizeof w->buf, "step %zu", w->step);
    if (!w->initial && w->field && n > 0 && (size_t)n < sizeof w->buf)
        snprintf(w->buf + n, sizeof w->buf - (size_t)n, ", field %s.%.150s", w->field, w->name);
    return w->buf;
}

char *pv_step_label(const pv_plan *plan, size_t i)
{
    if (i < plan->n_steps && plan->steps[i].id)
        return pv_xasprintf("step %zu (%s)", i, plan->steps[i].id);
    return pv_xasprintf("step %zu", i);
}

bool pv_step_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > 128 ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Is n the map {unknown: true}? Reports a malformed unknown marker. */
static int unknown_marker(ploader *pl, const pv_node *n, pwhere *where)
{
    if (n->kind != PV_N_MAP || n->n != 1 || strcmp(text(n->keys[0]), "unknown") != 0)
        return 0;
    const pv_node *v = n->items[0];
    if (v->kind == PV_N_SCALAR && v->skind == PV_S_BOOL && v->bval)
        return 1;
    perr(pl, v, "%s: {unknown: ...} takes only true", W(where));
    return -1;
}

/* Describe a plan value that is not one of the accepted shapes. */
static void bad_shape(ploader *pl, const pv_node *n, pwhere *where, bool allow_ref)
{
    char *d = pv_node_describe(n);
    perr(pl,
         n,
         "%s: expected a string, integer, boolean%s or {unknown: true}, found %s",
         W(where),
         allow_ref ? ", {ref: STEP.FIELD}" : "",
         d);
    free(d);
}

/*
 * Resolve {ref: "STEP.FIELD"} in step `cur`. STEP is an earlier step's id
 * or index. The field must be a declared result of that step's tool and its
 * type must equal `want` (when want is valid). Fills out; returns false
 * after reporting an error.
 */
static bool resolve_ref(ploader *pl, const pv_node *refv, size_t cur, pv_type want, pwhere *where,
                        pv_pval *out)
{
    if (refv->kind != PV_N_SCALAR || refv->skind != PV_S_STRING) {
        char *d = pv_node_describe(refv);
        perr(pl, refv, "%s: a ref is a string STEP.FIELD, found %s", W(where), d);
        free(d);
        return false;
    }
    const char *s = text(refv);
    const char *dot = strchr(s, '.');
    if (!dot || dot == s || dot[1] == '\0') {
        perr(pl,
             refv,
             "%s: ref '%s' must have the form STEP.FIELD (a step id or index, a dot, "
             "a result field)",
             W(where),
             s);
        return false;
    }
    size_t slen = (size_t)(dot - s);
    const char *field = dot + 1;
    long step = -1;
    const pv_plan *plan = pl->plan;
    if (s[0] >= '0' && s[0] <= '9') {
        step = 0;
        for (size_t i = 0; i < slen; i++) {
            if (s[i] < '0' || s[i] > '9' || step > PV_PLAN_MAX_STEPS) {
                perr(pl,
                     refv,
                     "%s: ref '%s': '%.*s' is neither a step index nor a step id",
                     W(where),
                     s,
                     (int)slen,
                     s);
                return false;
            }
            step = step * 10 + (s[i] - '0');
        }
        if ((size_t)step >= cur) {
            perr(pl,
                 refv,
                 "%s: ref '%s' points to step %ld, which is not before this step",
                 W(where),
                 s,
                 step);
            return false;
        }
    } else {
        for (size_t i = 0; i < plan->n_steps; i++) {
            const char *id = plan->steps[i].id;
            if (id && strlen(id) == slen && memcmp(id, s, slen) == 0) {
                step = (long)i;
                break;
            }
        }
        if (step >= (long)cur) {
            perr(pl,
                 refv,
                 "%s: ref '%s' points to step %ld (%.*s), which is not before this step",
                 W(where),
                 s,
                 step,
                 (int)slen,
                 s);
            return false;
        }
        if (step < 0) {
            const char **ids = pv_xcalloc(cur + 1, sizeof(char *));
            for (size_t i = 0; i < cur; i++)
                ids[i] = plan->steps[i].id;
            char *name = pv_xstrndup(s, slen);
            const char *hint = pv_suggest(name, ids, cur);
            if (hint)
                perr(pl,
                     refv,
                     "%s: ref '%s' names no earlier step '%s'; did you mean '%s'?",
                     W(where),
                     s,
                     name,
                     hint);
            else
                perr(pl, refv, "%s: ref '%s' names no earlier step '%s'", W(where), s, name);
            free(name);
            free(ids);
            return false;
        }
    }
    const pv_step *src = &plan->steps[step];
    if (src->tool < 0) {
        perr(pl,
             refv,
             "%s: ref '%s': step %ld calls '%s', which is not a declared tool, so its "
             "result has no fields",
             W(where),
             s,
             step,
             src->tool_name ? src->tool_name : "?");
        return false;
    }
    const pv_tool *tool = &pl->spec->tools[src->tool];
    int f = pv_tool_return(tool, field);
    if (f < 0) {
        const char **names = pv_xcalloc(tool->n_returns + 1, sizeof(char *));
        for (size_t i = 0; i < tool->n_returns; i++)
            names[i] = tool->returns[i].name;
        const char *hint = pv_suggest(field, names, tool->n_returns);
        if (hint)
            perr(pl,
                 refv,
                 "%s: ref '%s': tool '%s' returns no field '%s'; did you mean '%s'?",
                 W(where),
                 s,
                 tool->name,
                 field,
                 hint);
        else
            perr(pl,
                 refv,
                 "%s: ref '%s': tool '%s' returns no field '%s'",
                 W(where),
                 s,
                 tool->name,
                 field);
        free(names);
        return false;
    }
    pv_type got = tool->returns[f].type;
    if (want.kind != PV_T_INVALID && !pv_type_eq(got, want)) {
        char *g = pv_type_describe(pl->spec, got), *w = pv_type_describe(pl->spec, want);
        perr(pl, refv, "%s: ref '%s' is %s, but the argument is %s", W(where), s, g, w);
        free(g);
        free(w);
        return false;
    }
    out->kind = PV_PV_REF;
    out->ref_step = (int)step;
    out->ref_field = f;
    out->pos = refv->pos;
    return true;
}

/*
 * One plan value for variable `var` (NULL when the step's tool is
 * undeclared: only the shape is checked). allow_ref: args may be refs,
 * results and initial state may not.
 */
static bool load_pval(ploader *pl, const pv_node *n, const pv_var *var, size_t cur, bool allow_ref,
                      pwhere *where, pv_pval *out)
{
    /* A name given twice (a request's map may repeat a key; YAML and JSON
     * documents may not) keeps the last value, as protobuf maps do. */
    if (out->kind == PV_PV_LITERAL)
        pv_value_free(&out->lit);
    memset(out, 0, sizeof *out);
    out->pos = n->pos;
    int u = unknown_marker(pl, n, where);
    if (u < 0)
        return false;
    if (u > 0) {
        out->kind = PV_PV_UNKNOWN;
        return true;
    }
    if (n->kind == PV_N_MAP && n->n == 1 && strcmp(text(n->keys[0]), "ref") == 0) {
        if (!allow_ref) {
            perr(pl, n, "%s: refs are allowed only in step arguments", W(where));
            return false;
        }
        return resolve_ref(
            pl, n->items[0], cur, var ? var->type : pv_type_make(PV_T_INVALID), where, out);
    }
    if (n->kind != PV_N_SCALAR || n->skind == PV_S_NULL || n->skind == PV_S_FLOAT) {
        bad_shape(pl, n, where, allow_ref);
        return false;
    }
    if (!var) {
        if (n->skind == PV_S_BIGINT) {
            perr(pl, n, "%s: the integer %s does not fit in 64 bits", W(where), text(n));
            return false;
        }
        return true; /* undeclared tool: the value is never read */
    }
    char *msg = NULL;
    if (pv__value_from_node(pl->spec, n, var->type, &out->lit, &msg) != PV_OK ||
        pv__value_check_bounds(var, &out->lit, &msg) != PV_OK) {
        perr(pl, n, "%s: %s", W(where), msg);
        free(msg);
        pv_value_free(&out->lit);
        memset(&out->lit, 0, sizeof out->lit);
        return false;
    }
    out->kind = PV_PV_LITERAL;
    return true;
}

/* Report a name that is not among vars[0..n), with a did-you-mean. */
static void unknown_name(ploader *pl, const pv_node *key, const pv_var *vars, size_t n,
                         const char *where, const char *kind, const char *owner)
{
    const char **names = pv_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        names[i] = vars[i].name;
    const char *hint = pv_suggest(text(key), names, n);
    if (hint)
        perr(pl,
             key,
             "%s: unknown %s '%s' of %s; did you mean '%s'?",
             where,
             kind,
             text(key),
             owner,
             hint);
    else
        perr(pl, key, "%s: unknown %s '%s' of %s", where, kind, text(key), owner);
    free(names);
}

static void load_initial(ploader *pl, const pv_node *init)
{
    const pv_spec *spec = pl->spec;
    pl->plan->initial = pv_xcalloc(spec->n_state ? spec->n_state : 1, sizeof(pv_pval));
    pl->plan->n_initial = spec->n_state;
    if (!init || (init->kind == PV_N_SCALAR && init->skind == PV_S_NULL))
        return;
    if (init->kind != PV_N_MAP) {
        char *d = pv_node_describe(init);
        perr(pl, init, "initial_state must be a mapping of state variables, found %s", d);
        free(d);
        return;
    }
    for (size_t i = 0; i < init->n; i++) {
        const pv_node *k = init->keys[i];
        pwhere where = {.initial = true, .name = text(k)};
        int v = pv_spec_state_var(spec, text(k));
        if (v < 0) {
            unknown_name(
                pl, k, spec->state, spec->n_state, "initial_state", "state variable", "the spec");
            continue;
        }
        load_pval(pl, init->items[i], &spec->state[v], 0, false, &where, &pl->plan->initial[v]);
    }
}

static const char *const step_keys[] = {"id", "tool", "args", "result", "description"};

/* Whether every key of map n is one of keys[0..nk) (the common case, in
 * which pv__check_keys has nothing to say and its label is not needed). */
static bool keys_known(const pv_node *n, const char *const *keys, size_t nk)
{
    for (size_t i = 0; i < n->n; i++) {
        bool found = false;
        for (size_t k = 0; k < nk && !found; k++)
            found = strcmp(text(n->keys[i]), keys[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/*
 * Step ids, before any step is loaded, so that a ref to a later step can
 * say so rather than report an unknown id. Bad and duplicate ids are
 * reported here.
 */
static void load_step_ids(ploader *pl, const pv_node *steps)
{
    pv_plan *plan = pl->plan;
    for (size_t i = 0; i < steps->n; i++) {
        const pv_node *n = steps->items[i];
        const pv_node *idn = n->kind == PV_N_MAP ? pv_node_get(n, "id") : NULL;
        if (!idn)
            continue;
        if (idn->kind != PV_N_SCALAR || idn->skind != PV_S_STRING ||
            !pv_step_id_valid(idn->str.ptr, idn->str.len)) {
            char *d = pv_node_describe(idn);
            perr(pl,
                 idn,
                 "step %zu, field id: expected an identifier matching ^[A-Za-z_][A-Za-z0-9_-]*$, "
                 "found %s",
                 i,
                 d);
            free(d);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            if (plan->steps[j].id && strcmp(plan->steps[j].id, text(idn)) == 0) {
                perr(pl,
                     idn,
                     "step %zu, field id: duplicate step id '%s' (also step %zu)",
                     i,
                     text(idn),
                     j);
                dup = true;
            }
        if (!dup)
            plan->steps[i].id = pv_xstrdup(text(idn));
    }
}

/* Load step i from node n into plan->steps[i]. */
static void load_step(ploader *pl, const pv_node *n, size_t i)
{
    const pv_spec *spec = pl->spec;
    pv_plan *plan = pl->plan;
    pv_step *st = &plan->steps[i];
    st->tool = -1;
    st->pos = n->pos;
    /* the step's label, "step 3 (send)", rendered only for a message */
    pwhere lw = {.step = i};
    if (n->kind != PV_N_MAP) {
        char *d = pv_node_describe(n);
        perr(pl, n, "%s: a step must be a mapping with 'tool' and 'args', found %s", W(&lw), d);
        free(d);
        return;
    }
    lw.id = st->id;
    if (!keys_known(n, step_keys, PV_ARRAY_LEN(step_keys)) &&
        pv__check_keys(pl->doc, n, step_keys, PV_ARRAY_LEN(step_keys), W(&lw), pl->diags))
        pl->errors++;
    const pv_node *tn = pv_node_get(n, "tool");
    if (!tn) {
        perr(pl, n, "%s: missing required field 'tool'", W(&lw));
        return;
    }
    if (tn->kind != PV_N_SCALAR || tn->skind != PV_S_STRING || tn->str.len == 0) {
        char *d = pv_node_describe(tn);
        perr(pl, tn, "%s, field tool: expected a tool name, found %s", W(&lw), d);
        free(d);
        return;
    }
    st->tool_name = pv_xstrdup(text(tn));
    st->tool = pv_spec_tool(spec, st->tool_name);
    const pv_tool *tool = st->tool >= 0 ? &spec->tools[st->tool] : NULL;
    if (tool) {
        st->args = pv_xcalloc(tool->n_args ? tool->n_args : 1, sizeof(pv_pval));
        st->result = pv_xcalloc(tool->n_returns ? tool->n_returns : 1, sizeof(pv_pval));
        st->n_args = tool->n_args;
        st->n_result = tool->n_returns;
    }

    const pv_node *args = pv_node_get(n, "args");
    if (args && !(args->kind == PV_N_SCALAR && args->skind == PV_S_NULL)) {
        if (args->kind != PV_N_MAP) {
            char *d = pv_node_describe(args);
            perr(pl, args, "%s, field args: expected a mapping, found %s", W(&lw), d);
            free(d);
        } else {
            for (size_t a = 0; a < args->n; a++) {
                const pv_node *k = args->keys[a];
                pwhere where = {.step = i, .id = st->id, .field = "args", .name = text(k)};
                if (!tool) {
                    pv_pval scratch = {0};
                    load_pval(pl, args->items[a], NULL, i, true, &where, &scratch);
                    continue;
                }
                int ai = pv_tool_arg(tool, text(k));
                if (ai < 0) {
                    char owner[200];
                    snprintf(owner, sizeof owner, "tool '%.150s'", st->tool_name);
                    unknown_name(pl, k, tool->args, tool->n_args, W(&lw), "argument", owner);
                    continue;
                }
                load_pval(pl, args->items[a], &tool->args[ai], i, true, &where, &st->args[ai]);
            }
        }
    }
    const pv_node *res = pv_node_get(n, "result");
    if (res && !(res->kind == PV_N_SCALAR && res->skind == PV_S_NULL)) {
        st->has_result = true;
        if (res->kind != PV_N_MAP) {
            char *d = pv_node_describe(res);
            perr(pl, res, "%s, field result: expected a mapping, found %s", W(&lw), d);
            free(d);
        } else {
            for (size_t r = 0; r < res->n; r++) {
                const pv_node *k = res->keys[r];
                pwhere where = {.step = i, .id = st->id, .field = "result", .name = text(k)};
                if (!tool) {
                    pv_pval scratch = {0};
                    load_pval(pl, res->items[r], NULL, i, false, &where, &scratch);
                    continue;
                }
                int ri = pv_tool_return(tool, text(k));
                if (ri < 0) {
                    char owner[200];
                    snprintf(owner, sizeof owner, "tool '%.150s'", st->tool_name);
                    unknown_name(
                        pl, k, tool->returns, tool->n_returns, W(&lw), "result field", owner);
                    continue;
                }
                load_pval(pl, res->items[r], &tool->returns[ri], i, false, &where, &st->result[ri]);
            }
        }
    }
}

int pv_plan_from_steps(const pv_spec *spec, const pv_doc *doc, const pv_node *initial,
                       const pv_node *steps, pv_plan **out, pv_diags *diags)
{
    *out = NULL;
    pv_plan *plan = pv_xcalloc(1, sizeof(pv_plan));
    plan->file = pv_xstrdup(doc && doc->file ? doc->file : "<plan>");
    ploader pl = {spec, doc, diags, plan, 0};
    if (steps)
        plan->pos = steps->pos;
    load_initial(&pl, initial);
    if (!steps || steps->kind != PV_N_SEQ) {
        char *d = steps ? pv_node_describe(steps) : pv_xstrdup("nothing");
        perr(&pl, steps, "steps must be a list of steps, found %s", d);
        free(d);
    } else if (steps->n > PV_PLAN_MAX_STEPS) {
        perr(&pl,
             steps,
             "the plan has %zu steps, more than the limit of %d",
             steps->n,
             PV_PLAN_MAX_STEPS);
    } else {
        plan->steps = pv_xcalloc(steps->n ? steps->n : 1, sizeof(pv_step));
        plan->n_steps = steps->n;
        load_step_ids(&pl, steps);
        for (size_t i = 0; i < steps->n; i++)
            load_step(&pl, steps->items[i], i);
    }
    if (pl.errors) {
        pv_plan_free(plan);
        return PV_EINPUT;
    }
    *out = plan;
    return PV_OK;
}

static const char *const plan_keys[] = {"spec", "id", "description", "initial_state", "steps"};

int pv_plan_from_node(const pv_spec *spec, const pv_doc *doc, const pv_node *node, pv_plan **out,
                      pv_diags *diags)
{
    *out = NULL;
    ploader pl = {spec, doc, diags, NULL, 0};
    if (!node || node->kind != PV_N_MAP) {
        char *d = node ? pv_node_describe(node) : pv_xstrdup("an empty document");
        perr(&pl, node, "a plan must be a mapping with 'steps', found %s", d);
        free(d);
        return PV_EINPUT;
    }
    if (pv__check_keys(doc, node, plan_keys, PV_ARRAY_LEN(plan_keys), "the plan", diags))
        pl.errors++;
    const pv_node *sp = pv_node_get(node, "spec");
    if (sp && (sp->kind != PV_N_SCALAR || sp->skind != PV_S_STRING)) {
        char *d = pv_node_describe(sp);
        perr(&pl, sp, "field spec: expected a spec id, found %s", d);
        free(d);
    } else if (sp && strcmp(text(sp), spec->id) != 0) {
        perr(&pl,
             sp,
             "field spec: the plan is for spec '%s', but it is checked against '%s'",
             text(sp),
             spec->id);
    }
    const pv_node *idn = pv_node_get(node, "id");
    if (idn &&
        (idn->kind != PV_N_SCALAR || (idn->skind != PV_S_STRING && idn->skind != PV_S_INT))) {
        char *d = pv_node_describe(idn);
        perr(&pl, idn, "field id: expected a string, found %s", d);
        free(d);
    }
    const pv_node *steps = pv_node_get(node, "steps");
    if (!steps) {
        perr(&pl, node, "missing required field 'steps'");
        return PV_EINPUT;
    }
    pv_plan *plan;
    int rc = pv_plan_from_steps(spec, doc, pv_node_get(node, "initial_state"), steps, &plan, diags);
    if (rc != PV_OK || pl.errors) {
        if (rc == PV_OK)
            pv_plan_free(plan);
        return PV_EINPUT;
    }
    if (sp)
        plan->spec_id = pv_xstrdup(text(sp));
    if (idn)
        plan->id = pv_xstrdup(text(idn));
    *out = plan;
    return PV_OK;
}

const char *pv_plan_doc_spec_id(const pv_doc *doc)
{
    if (!doc || !doc->root || doc->root->kind != PV_N_MAP)
        return NULL;
    const pv_node *sp = pv_node_get(doc->root, "spec");
    if (!sp || sp->kind != PV_N_SCALAR || sp->skind != PV_S_STRING)
        return NULL;
    return text(sp);
}

void pv_plan_free(pv_plan *plan)
{
    if (!plan)
        return;
    free(plan->spec_id);
    free(plan->id);
    free(plan->file);
    for (size_t i = 0; i < plan->n_initial; i++)
        pv_value_free(&plan->initial[i].lit);
    free(plan->initial);
    for (size_t i = 0; i < plan->n_steps; i++) {
        pv_step *st = &plan->steps[i];
        free(st->id);
        free(st->tool_name);
        for (size_t a = 0; st->args && a < st->n_args; a++)
            pv_value_free(&st->args[a].lit);
        free(st->args);
        for (size_t r = 0; st->result && r < st->n_result; r++)
            pv_value_free(&st->result[r].lit);
        free(st->result);
    }
    free(plan->steps);
    free(plan);
}
