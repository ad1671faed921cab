/*
 * call.c - the checks of a step's call that depend on no value (see
 * pv_call.h).
 */
#include "pv_call.h"
#include "pv_chain.h"

#include <stdlib.h>
#include <string.h>

bool pv_rule_on(const pv_invariant *inv, int t)
{
    for (size_t i = 0; i < inv->n_on; i++)
        if (inv->on_tools[i] == t)
            return true;
    return false;
}

bool pv_exclusion_names(const pv_exclusion *ex, const char *tool_name)
{
    for (size_t k = 0; k < ex->n_tools; k++)
        if (strcmp(ex->tools[k], tool_name) == 0)
            return true;
    return false;
}

char *pv_scope_message(int step, const char *tool_name, const pv_exclusion *ex)
{
    return pv_xasprintf("step %d calls '%s', which is out of scope (%s): escalate to %s",
                        step,
                        tool_name,
                        ex->id,
                        ex->escalate_to);
}

static void add(pv_verdict *v, const pv_spec *spec, const pv_plan *plan, size_t i, const char *rule,
                pv_finding_kind kind, pv_action action, const char *escalate_to, char *msg)
{
    const pv_step *st = &plan->steps[i];
    pv_finding *f =
        pv_verdict_add(v, rule, kind, (int)i, st->tool_name, action, escalate_to, true, msg);
    f->chain = pv_chain_compute(spec, plan, (int)i, false, NULL, 0, &f->n_chain);
}

void pv_call_fixed_findings(const pv_spec *spec, const pv_plan *plan, size_t i, pv_verdict *v)
{
    const pv_step *st = &plan->steps[i];
    bool named = false;
    for (size_t x = 0; x < spec->n_excludes; x++) {
        const pv_exclusion *ex = &spec->excludes[x];
        if (!pv_exclusion_names(ex, st->tool_name))
            continue;
        named = true;
        if (!ex->when)
            add(v,
                spec,
                plan,
                i,
                ex->id,
                PV_K_SCOPE,
                PV_ACT_ESCALATE,
                ex->escalate_to,
                pv_scope_message((int)i, st->tool_name, ex));
    }
    if (st->tool < 0) {
        if (!named) {
            const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_UNKNOWN_TOOL];
            add(v,
                spec,
                plan,
                i,
                "unknown_tool",
                PV_K_ALLOWLIST,
                fm->action,
                fm->escalate_to,
                pv_xasprintf(
                    "step %zu calls '%s', which is not one of the spec's tools", i, st->tool_name));
        }
        return;
    }
    const pv_tool *tool = &spec->tools[st->tool];
    char *missing = NULL;
    size_t n_missing = 0;
    for (size_t a = 0; a < tool->n_args; a++) {
        if (st->args[a].kind != PV_PV_ABSENT || tool->args[a].optional)
            continue;
        char *next = missing ? pv_xasprintf("%s, '%s'", missing, tool->args[a].name)
                             : pv_xasprintf("'%s'", tool->args[a].name);
        free(missing);
        missing = next;
        n_missing++;
    }
    if (missing) {
        const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_MISSING_ARGUMENT];
        char *msg = pv_xasprintf("step %zu (%s) is missing argument%s %s",
                                 i,
                                 st->tool_name,
                                 n_missing > 1 ? "s" : "",
                                 missing);
        free(missing);
        add(v, spec, plan, i, "missing_argument", PV_K_ARGUMENT, fm->action, fm->escalate_to, msg);
    }
}

/* The question of invariant inv at step i: a call rule (state_rule -1,
 * over the pre-state) or state rule number state_rule (over the
 * post-state). Either breaks when its condition is false. */
static pv_question rule_question(const pv_invariant *inv, size_t i, int state_rule)
{
    bool state = state_rule >= 0;
    return (pv_question){inv->id,
                         state ? PV_K_STATE : PV_K_CALL,
                         (int)i,
                         inv->action,
                         inv->escalate_to,
                         inv->cond,
                         inv->cond_src,
                         NULL,
                         NULL,
                         state,
                         false,
                         state_rule};
}

bool pv_step_questions(const pv_spec *spec, const pv_plan *plan, size_t i, pv_verdict *v,
                       bool (*ask)(void *ctx, const pv_question *q), void *ctx)
{
    const pv_step *st = &plan->steps[i];
    pv_call_fixed_findings(spec, plan, i, v);
    for (size_t x = 0; x < spec->n_excludes; x++) {
        const pv_exclusion *ex = &spec->excludes[x];
        if (!ex->when || !pv_exclusion_names(ex, st->tool_name))
            continue;
        pv_question q = {ex->id,
                         PV_K_SCOPE,
                         (int)i,
                         PV_ACT_ESCALATE,
                         ex->escalate_to,
                         ex->when,
                         ex->when_src,
                         ex,
                         NULL,
                         false,
                         true,
                         -1};
        if (!ask(ctx, &q))
            return false;
    }
    if (st->tool >= 0) {
        const pv_tool *tool = &spec->tools[st->tool];
        if (tool->requires) {
            const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_PRECONDITION];
            pv_question q = {"precondition",
                             PV_K_PRECONDITION,
                             (int)i,
                             fm->action,
                             fm->escalate_to,
                             tool->requires,
                             tool->requires_src,
                             NULL,
                             tool,
                             false,
                             false,
                             -1};
            if (!ask(ctx, &q))
                return false;
        }
        for (size_t r = 0; r < spec->n_invariants; r++) {
            const pv_invariant *inv = &spec->invariants[r];
            if (inv->kind != PV_RULE_CALL || !pv_rule_on(inv, st->tool))
                continue;
            pv_question q = rule_question(inv, i, -1);
            if (!ask(ctx, &q))
                return false;
        }
    }
    for (size_t r = 0; r < spec->n_invariants; r++) {
        const pv_invariant *inv = &spec->invariants[r];
        if (inv->kind != PV_RULE_STATE)
            continue;
        pv_question q = rule_question(inv, i, (int)r);
        if (!ask(ctx, &q))
            return false;
    }
    return true;
}
