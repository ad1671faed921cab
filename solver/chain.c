/*
 * chain.c - which steps feed a finding: a backward data-flow slice over the
 * plan. Both engines use it, and it depends only on the plan's structure,
 * never on values, so both report the same chain for the same finding.
 */
#include "pv_chain.h"

#include <stdlib.h>
#include <string.h>

/* Mark what e reads: state variables into vars[], and into steps[] the
 * steps its current-step args reference and the earlier steps its path
 * functions range over (before `step`). */
static void collect(const pv_spec *spec, const pv_plan *plan, int step, const pv_expr *e,
                    bool *vars, bool *steps)
{
    if (!e)
        return;
    switch (e->kind) {
    case PV_E_STATE:
        vars[e->u.ref.index] = true;
        break;
    case PV_E_ARG: {
        const pv_step *st = &plan->steps[step];
        if (st->tool >= 0) {
            int a = pv_tool_arg(&spec->tools[st->tool], e->u.ref.name);
            if (a >= 0 && st->args[a].kind == PV_PV_REF)
                steps[st->args[a].ref_step] = true;
        }
        break;
    }
    case PV_E_EARLIER:
    case PV_E_COUNT:
        for (int j = 0; j < step; j++)
            for (size_t t = 0; t < e->u.path.n_tools; t++)
                if (plan->steps[j].tool == e->u.path.tools[t])
                    steps[j] = true;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < e->n_kids; i++)
        collect(spec, plan, step, e->kids[i], vars, steps);
}

int *pv_chain_compute(const pv_spec *spec, const pv_plan *plan, int step, bool post_state,
                      const pv_expr *const *exprs, size_t n_exprs, size_t *n_out)
{
    size_t n = plan->n_steps;
    bool *vars = pv_xcalloc(spec->n_state + 1, sizeof(bool));
    bool *steps = pv_xcalloc(n + 1, sizeof(bool));
    if (step >= 0 && (size_t)step < n)
        steps[step] = true;
    for (size_t i = 0; i < n_exprs; i++)
        if (step >= 0 && (size_t)step < n)
            collect(spec, plan, step, exprs[i], vars, steps);
    /* A state rule reads the state after `step`, so that step's own effects
     * are part of the slice; a call rule reads the state before it. */
    int from = post_state ? step : step - 1;
    if ((size_t)(from + 1) > n)
        from = (int)n - 1;
    bool *next = pv_xcalloc(spec->n_state + 1, sizeof(bool));
    for (int j = from; j >= 0; j--) {
        const pv_step *st = &plan->steps[j];
        if (st->tool < 0)
            continue;
        const pv_tool *tool = &spec->tools[st->tool];
        bool feeds = false;
        memcpy(next, vars, spec->n_state * sizeof(bool));
        for (size_t k = 0; k < tool->n_effects; k++) {
            const pv_effect *ef = &tool->effects[k];
            if (!vars[ef->var])
                continue;
            feeds = true;
            next[ef->var] = false; /* its earlier value matters only if read */
        }
        if (!feeds)
            continue;
        steps[j] = true;
        for (size_t k = 0; k < tool->n_effects; k++)
            if (vars[tool->effects[k].var])
                collect(spec, plan, j, tool->effects[k].expr, next, steps);
        memcpy(vars, next, spec->n_state * sizeof(bool));
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += steps[i];
    int *chain = pv_xmalloc((count ? count : 1) * sizeof(int));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (steps[i])
            chain[k++] = (int)i;
    free(vars);
    free(next);
    free(steps);
    *n_out = count;
    return chain;
}
