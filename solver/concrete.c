/*
 * concrete.c - the plain evaluator: walks a fully concrete plan step by
 * step, evaluating every rule on actual values. It is the reference the Z3
 * engine is tested against, and a fast path for plans without unknowns.
 */
#include "pv_call.h"
#include "pv_chain.h"
#include "pv_concrete.h"
#include "pv_concrete_eval.h"
#include "pv_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef pv_cstep cstep;
typedef pv_cenv cenv;

/* Value of args.NAME or result.NAME of step s. */
static const pv_value *field(const cenv *env, int s, bool result, const pv_expr *e)
{
    const pv_step *st = &env->plan->steps[s];
    const pv_tool *tool = &env->spec->tools[st->tool];
    int idx = result ? pv_tool_return(tool, e->u.ref.name) : pv_tool_arg(tool, e->u.ref.name);
    return result ? &env->steps[s].result[idx] : &env->steps[s].args[idx];
}

static pv_value mk_int(int64_t i)
{
    pv_value v = {.type = pv_type_make(PV_T_INT)};
    v.u.i = i;
    return v;
}

static pv_value mk_bool(bool b)
{
    pv_value v = {.type = pv_type_make(PV_T_BOOL)};
    v.u.b = b;
    return v;
}

/*
 * Evaluate e. Strings in *out are borrowed from the plan or the spec.
 * Returns PV_OK, or PV_ENOTCONCRETE when an integer leaves 64 bits (the
 * language's integers are unbounded, so the answer is not ours to give).
 */
static int eval(const cenv *env, const pv_expr *e, pv_value *out)
{
    pv_value a, b, c;
    int rc;
#define EVAL(k, dst)                                                                               \
    do {                                                                                           \
        if ((rc = eval(env, e->kids[k], &(dst))) != PV_OK)                                         \
            return rc;                                                                             \
    } while (0)
    switch (e->kind) {
    case PV_E_INT:
        *out = mk_int(e->u.i);
        return PV_OK;
    case PV_E_BOOL:
        *out = mk_bool(e->u.b);
        return PV_OK;
    case PV_E_STR:
        out->type = pv_type_make(PV_T_STRING);
        out->u.s = e->u.s;
        return PV_OK;
    case PV_E_ENUM:
        out->type = e->type;
        out->u.e = e->u.e;
        return PV_OK;
    case PV_E_STATE:
        *out = env->state[e->u.ref.index];
        return PV_OK;
    case PV_E_ARG:
        *out = *field(env, env->step, false, e);
        return PV_OK;
    case PV_E_RESULT:
        *out = *field(env, env->step, true, e);
        return PV_OK;
    case PV_E_IT_ARG:
        *out = *field(env, env->it_step, false, e);
        return PV_OK;
    case PV_E_IT_RESULT:
        *out = *field(env, env->it_step, true, e);
        return PV_OK;
    case PV_E_NOT:
        EVAL(0, a);
        *out = mk_bool(!a.u.b);
        return PV_OK;
    case PV_E_NEG:
        EVAL(0, a);
        if (a.u.i == INT64_MIN)
            return PV_ENOTCONCRETE;
        *out = mk_int(-a.u.i);
        return PV_OK;
    case PV_E_AND:
        EVAL(0, a);
        if (!a.u.b) {
            *out = mk_bool(false);
            return PV_OK;
        }
        EVAL(1, b);
        *out = mk_bool(b.u.b);
        return PV_OK;
    case PV_E_OR:
        EVAL(0, a);
        if (a.u.b) {
            *out = mk_bool(true);
            return PV_OK;
        }
        EVAL(1, b);
        *out = mk_bool(b.u.b);
        return PV_OK;
    case PV_E_IMPLIES:
        EVAL(0, a);
        if (!a.u.b) {
            *out = mk_bool(true);
            return PV_OK;
        }
        EVAL(1, b);
        *out = mk_bool(b.u.b);
        return PV_OK;
    case PV_E_EQ:
    case PV_E_NE:
        EVAL(0, a);
        EVAL(1, b);
        *out = mk_bool(pv_value_eq(&a, &b) == (e->kind == PV_E_EQ));
        return PV_OK;
    case PV_E_LT:
    case PV_E_LE:
    case PV_E_GT:
    case PV_E_GE:
        EVAL(0, a);
        EVAL(1, b);
        *out = mk_bool(e->kind == PV_E_LT   ? a.u.i < b.u.i
                       : e->kind == PV_E_LE ? a.u.i <= b.u.i
                       : e->kind == PV_E_GT ? a.u.i > b.u.i
                                            : a.u.i >= b.u.i);
        return PV_OK;
    case PV_E_ADD:
    case PV_E_SUB:
    case PV_E_MUL: {
        EVAL(0, a);
        EVAL(1, b);
        int64_t r;
        bool ovf = e->kind == PV_E_ADD   ? __builtin_add_overflow(a.u.i, b.u.i, &r)
                   : e->kind == PV_E_SUB ? __builtin_sub_overflow(a.u.i, b.u.i, &r)
                                         : __builtin_mul_overflow(a.u.i, b.u.i, &r);
        if (ovf)
            return PV_ENOTCONCRETE;
        *out = mk_int(r);
        return PV_OK;
    }
    case PV_E_DIV:
    case PV_E_MOD: {
        EVAL(0, a);
        EVAL(1, b);
        int64_t q, r;
        /* the checker forbids 0; MIN / -1 leaves 64 bits */
        if (!pv_smt_divmod(a.u.i, b.u.i, &q, &r))
            return PV_ENOTCONCRETE;
        *out = mk_int(e->kind == PV_E_DIV ? q : r);
        return PV_OK;
    }
    case PV_E_COND:
        EVAL(0, c);
        return eval(env, e->kids[c.u.b ? 1 : 2], out);
    case PV_E_IN:
        EVAL(0, a);
        for (size_t i = 1; i < e->n_kids; i++) {
            EVAL(i, b);
            if (pv_value_eq(&a, &b)) {
                *out = mk_bool(true);
                return PV_OK;
            }
        }
        *out = mk_bool(false);
        return PV_OK;
    case PV_E_STARTS_WITH:
    case PV_E_ENDS_WITH:
    case PV_E_CONTAINS: {
        EVAL(0, a);
        EVAL(1, b);
        const pv_str *s = &a.u.s, *p = &b.u.s;
        bool r = false;
        /* Byte matching equals code-point matching on valid UTF-8. */
        if (p->len <= s->len) {
            if (e->kind == PV_E_STARTS_WITH)
                r = memcmp(s->ptr, p->ptr, p->len) == 0;
            else if (e->kind == PV_E_ENDS_WITH)
                r = memcmp(s->ptr + s->len - p->len, p->ptr, p->len) == 0;
            else
                for (size_t i = 0; !r && i + p->len <= s->len; i++)
                    r = memcmp(s->ptr + i, p->ptr, p->len) == 0;
        }
        *out = mk_bool(r);
        return PV_OK;
    }
    case PV_E_LEN:
        EVAL(0, a);
        *out = mk_int((int64_t)pv_utf8_len(&a.u.s));
        return PV_OK;
    case PV_E_MIN:
    case PV_E_MAX:
        EVAL(0, a);
        EVAL(1, b);
        *out = mk_int(e->kind == PV_E_MIN ? (a.u.i < b.u.i ? a.u.i : b.u.i)
                                          : (a.u.i > b.u.i ? a.u.i : b.u.i));
        return PV_OK;
    case PV_E_ABS:
        EVAL(0, a);
        if (a.u.i == INT64_MIN)
            return PV_ENOTCONCRETE;
        *out = mk_int(a.u.i < 0 ? -a.u.i : a.u.i);
        return PV_OK;
    case PV_E_EARLIER:
    case PV_E_COUNT: {
        int64_t count = 0;
        for (int j = 0; j < env->step; j++) {
            int t = env->plan->steps[j].tool;
            bool match = false;
            for (size_t k = 0; k < e->u.path.n_tools; k++)
                match |= e->u.path.tools[k] == t;
            if (!match)
                continue;
            cenv inner = *env;
            inner.it_step = j;
            if ((rc = eval(&inner, e->kids[0], &c)) != PV_OK)
                return rc;
            count += c.u.b;
        }
        *out = e->kind == PV_E_EARLIER ? mk_bool(count > 0) : mk_int(count);
        return PV_OK;
    }
    default:
        return PV_ENOTCONCRETE;
    }
#undef EVAL
}

int pv_concrete_eval(const pv_cenv *env, const pv_expr *e, pv_value *out)
{
    return eval(env, e, out);
}

/* Leaf values for messages: the env's current state and step. */
bool pv_concrete_leaf_value(void *ctx, const pv_expr *leaf, pv_value *out)
{
    const cenv *env = ctx;
    if (leaf->kind == PV_E_STATE)
        *out = env->state[leaf->u.ref.index];
    else if (leaf->kind == PV_E_ARG)
        *out = *field(env, env->step, false, leaf);
    else if (leaf->kind == PV_E_RESULT)
        *out = *field(env, env->step, true, leaf);
    else
        return false;
    return true;
}

static void add_chain(pv_finding *f, const pv_spec *spec, const pv_plan *plan, bool post,
                      const pv_expr *e)
{
    const pv_expr *exprs[1] = {e};
    f->chain = pv_chain_compute(spec, plan, f->step, post, exprs, e ? 1 : 0, &f->n_chain);
}

/* Resolve every value the analysis needs, or say which is unknown. */
static int resolve_values(const pv_spec *spec, const pv_plan *plan, size_t analysed, cstep *steps,
                          pv_value *state)
{
    for (size_t v = 0; v < spec->n_state; v++) {
        const pv_pval *pv = &plan->initial[v];
        if (pv->kind == PV_PV_LITERAL)
            state[v] = pv->lit;
        else if (pv->kind == PV_PV_ABSENT && spec->state[v].has_init)
            state[v] = spec->state[v].init;
        else
            return PV_ENOTCONCRETE;
    }
    for (size_t i = 0; i < analysed; i++) {
        const pv_step *st = &plan->steps[i];
        if (st->tool < 0)
            continue;
        const pv_tool *tool = &spec->tools[st->tool];
        steps[i].args = pv_xcalloc(tool->n_args + 1, sizeof(pv_value));
        steps[i].result = pv_xcalloc(tool->n_returns + 1, sizeof(pv_value));
        for (size_t r = 0; r < tool->n_returns; r++) {
            if (st->result[r].kind != PV_PV_LITERAL)
                return PV_ENOTCONCRETE;
            steps[i].result[r] = st->result[r].lit;
        }
        for (size_t a = 0; a < tool->n_args; a++) {
            const pv_pval *pv = &st->args[a];
            if (pv->kind == PV_PV_LITERAL)
                steps[i].args[a] = pv->lit;
            else if (pv->kind == PV_PV_REF)
                steps[i].args[a] = steps[pv->ref_step].result[pv->ref_field];
            else if (pv->kind == PV_PV_ABSENT && tool->args[a].has_default)
                steps[i].args[a] = tool->args[a].dflt;
            else
                return PV_ENOTCONCRETE;
            /* A referenced value outside the argument's schema would be
             * refused by the tool; the Z3 engine assumes it is not, which a
             * concrete value cannot honour. */
            const pv_var *var = &tool->args[a];
            const pv_value *val = &steps[i].args[a];
            if (val->type.kind == PV_T_INT &&
                ((var->has_min && val->u.i < var->min) || (var->has_max && val->u.i > var->max)))
                return PV_ENOTCONCRETE;
        }
    }
    return PV_OK;
}

/* Step i's call checks that need no value, then its exclusions with a
 * `when`. Returns an error code from evaluating `when`. */
static int check_scope(const cenv *env, pv_verdict *v, int i)
{
    const pv_spec *spec = env->spec;
    const pv_step *st = &env->plan->steps[i];
    pv_call_fixed_findings(spec, env->plan, (size_t)i, v);
    for (size_t x = 0; x < spec->n_excludes; x++) {
        const pv_exclusion *ex = &spec->excludes[x];
        if (!ex->when || !pv_exclusion_names(ex, st->tool_name))
            continue;
        pv_value w;
        int rc = eval(env, ex->when, &w);
        if (rc != PV_OK)
            return rc;
        if (!w.u.b)
            continue;
        /* As the Z3 engine words it: the condition that applied, with the
         * values it read. */
        char *scope = pv_scope_message(i, st->tool_name, ex);
        char *at = pv_xasprintf("at step %d (%s)", i, st->tool_name);
        char *cond = pv_message_rule(
            spec, ex->when, ex->when_src, "holds", at, pv_concrete_leaf_value, (void *)env);
        char *msg = pv_xasprintf("%s; when: %s", scope, cond);
        free(scope);
        free(at);
        free(cond);
        pv_finding *f = pv_verdict_add(
            v, ex->id, PV_K_SCOPE, i, st->tool_name, PV_ACT_ESCALATE, ex->escalate_to, true, msg);
        add_chain(f, spec, env->plan, false, ex->when);
    }
    return PV_OK;
}

int pv_concrete_verify(const pv_spec *spec, const pv_plan *plan, bool call_level_only,
                       pv_verdict **out, pv_diags *diags)
{
    return pv_concrete_verify_from(spec, plan, call_level_only, 0, out, diags);
}

int pv_concrete_verify_from(const pv_spec *spec, const pv_plan *plan, bool call_level_only,
                            size_t from_step, pv_verdict **out, pv_diags *diags)
{
    *out = NULL;
    size_t n = plan->n_steps;
    size_t analysed = n < (size_t)spec->max_steps ? n : (size_t)spec->max_steps;
    cstep *steps = pv_xcalloc(analysed + 1, sizeof(cstep));
    pv_value *pre = pv_xcalloc(spec->n_state + 1, sizeof(pv_value));
    pv_value *post = pv_xcalloc(spec->n_state + 1, sizeof(pv_value));
    bool *reported = pv_xcalloc(spec->n_invariants + 1, sizeof(bool));
    pv_verdict *v = NULL;
    int rc = resolve_values(spec, plan, analysed, steps, pre);
    if (rc != PV_OK)
        goto done;

    cenv env = {spec, plan, steps, pre, 0, -1};
    for (size_t r = 0; r < spec->n_invariants; r++) {
        const pv_invariant *inv = &spec->invariants[r];
        pv_value ok;
        if (inv->kind != PV_RULE_STATE)
            continue;
        if ((rc = eval(&env, inv->cond, &ok)) != PV_OK)
            goto done;
        if (!ok.u.b) {
            pv_diags_add(diags,
                         plan->file,
                         plan->pos,
                         "initial_state breaks invariant '%s' (%s)",
                         inv->id,
                         inv->cond_src);
            rc = PV_EINPUT;
            goto done;
        }
    }

    v = pv_verdict_new(spec, plan);
    for (size_t i = 0; i < analysed; i++) {
        const pv_step *st = &plan->steps[i];
        char *at = pv_xasprintf("at step %zu (%s)", i, st->tool_name);
        env.step = (int)i;
        env.state = pre;
        /* Steps before from_step have run: their values count, their
         * findings would be history. */
        bool checked = i >= from_step;
        rc = checked ? check_scope(&env, v, (int)i) : PV_OK;
        memcpy(post, pre, spec->n_state * sizeof(pv_value));
        if (rc == PV_OK && st->tool >= 0) {
            const pv_tool *tool = &spec->tools[st->tool];
            pv_value ok;
            if (tool->ensures) {
                if ((rc = eval(&env, tool->ensures, &ok)) == PV_OK && !ok.u.b) {
                    char *label = pv_step_label(plan, i);
                    pv_diags_add(diags,
                                 plan->file,
                                 st->pos,
                                 "%s, field result: the given result contradicts ensures of "
                                 "tool '%s' (%s)",
                                 label,
                                 tool->name,
                                 tool->ensures_src);
                    free(label);
                    rc = PV_EINPUT;
                }
            }
            if (rc == PV_OK && checked && tool->requires &&
                (rc = eval(&env, tool->requires, &ok)) == PV_OK && !ok.u.b) {
                const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_PRECONDITION];
                char *msg = pv_message_rule(spec,
                                            tool->requires,
                                            tool->requires_src,
                                            "fails",
                                            at,
                                            pv_concrete_leaf_value,
                                            &env);
                char *full = pv_xasprintf("requires of '%s': %s", tool->name, msg);
                free(msg);
                pv_finding *f = pv_verdict_add(v,
                                               "precondition",
                                               PV_K_PRECONDITION,
                                               (int)i,
                                               st->tool_name,
                                               fm->action,
                                               fm->escalate_to,
                                               true,
                                               full);
                add_chain(f, spec, plan, false, tool->requires);
            }
            for (size_t r = 0; rc == PV_OK && checked && r < spec->n_invariants; r++) {
                const pv_invariant *inv = &spec->invariants[r];
                if (inv->kind != PV_RULE_CALL || !pv_rule_on(inv, st->tool))
                    continue;
                if ((rc = eval(&env, inv->cond, &ok)) != PV_OK || ok.u.b)
                    continue;
                char *msg = pv_message_rule(
                    spec, inv->cond, inv->cond_src, "fails", at, pv_concrete_leaf_value, &env);
                pv_finding *f = pv_verdict_add(v,
                                               inv->id,
                                               PV_K_CALL,
                                               (int)i,
                                               st->tool_name,
                                               inv->action,
                                               inv->escalate_to,
                                               true,
                                               msg);
                add_chain(f, spec, plan, false, inv->cond);
            }
            for (size_t k = 0; rc == PV_OK && k < tool->n_effects; k++)
                rc = eval(&env, tool->effects[k].expr, &post[tool->effects[k].var]);
        }
        free(at);
        if (rc != PV_OK)
            goto done;
        env.state = post;
        for (size_t r = 0; !call_level_only && checked && r < spec->n_invariants; r++) {
            const pv_invariant *inv = &spec->invariants[r];
            pv_value ok;
            if (inv->kind != PV_RULE_STATE || reported[r])
                continue;
            if ((rc = eval(&env, inv->cond, &ok)) != PV_OK)
                goto done;
            if (ok.u.b)
                continue;
            reported[r] = true;
            char *after = pv_xasprintf("after step %zu (%s)", i, st->tool_name);
            char *msg = pv_message_rule(
                spec, inv->cond, inv->cond_src, "fails", after, pv_concrete_leaf_value, &env);
            free(after);
            pv_finding *f = pv_verdict_add(v,
                                           inv->id,
                                           PV_K_STATE,
                                           (int)i,
                                           st->tool_name,
                                           inv->action,
                                           inv->escalate_to,
                                           true,
                                           msg);
            add_chain(f, spec, plan, true, inv->cond);
        }
        memcpy(pre, post, spec->n_state * sizeof(pv_value));
    }
    if (n > analysed) {
        const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_BUDGET_EXCEEDED];
        char *msg = pv_xasprintf("the plan has %zu steps, more than limits.max_steps %d; steps "
                                 "from %zu on are not analysed",
                                 n,
                                 spec->max_steps,
                                 analysed);
        pv_verdict_add(v,
                       "budget_exceeded",
                       PV_K_BUDGET,
                       (int)analysed,
                       plan->steps[analysed].tool_name,
                       fm->action,
                       fm->escalate_to,
                       true,
                       msg);
    }
    pv_verdict_finish_from(v, spec, plan, from_step);
done:
    for (size_t i = 0; i < analysed; i++) {
        free(steps[i].args);
        free(steps[i].result);
    }
    free(steps);
    free(pre);
    free(post);
    free(reported);
    if (rc != PV_OK) {
        pv_verdict_free(v);
        return rc;
    }
    *out = v;
    return PV_OK;
}
