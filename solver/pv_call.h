/*
 * pv_call.h - the checks of a step's call that depend on no value, which
 * every evaluator (the concrete one, the quick path, the Z3 engine) makes
 * alike: scope exclusions that name the tool, the allowlist, missing
 * arguments.
 */
#ifndef PV_CALL_H
#define PV_CALL_H

#include "pv_plan.h"
#include "pv_verdict.h"

/* Whether call rule inv applies to a call of tool t (a spec index). */
bool pv_rule_on(const pv_invariant *inv, int t);

/* Whether exclusion ex lists the tool called tool_name. */
bool pv_exclusion_names(const pv_exclusion *ex, const char *tool_name);

/* "step 3 calls 'x', which is out of scope (id): escalate to team". */
char *pv_scope_message(int step, const char *tool_name, const pv_exclusion *ex);

/*
 * Add step i's findings that need no evaluation: each exclusion naming
 * the tool without a `when` (certain), unknown_tool for a tool the spec
 * neither declares nor excludes, and one missing_argument naming every
 * absent required argument. Exclusions with a `when` are the caller's.
 */
void pv_call_fixed_findings(const pv_spec *spec, const pv_plan *plan, size_t i, pv_verdict *v);

/* One question a step raises about a rule: can `cond` (over the pre-state,
 * or the post-state for a state rule) take the value that breaks it? */
typedef struct pv_question {
    const char *rule;
    pv_finding_kind kind;
    int step;
    pv_action action;
    const char *escalate_to;
    const pv_expr *cond;
    const char *src;
    const pv_exclusion *ex;     /* a scope exclusion's `when`, or NULL */
    const pv_tool *requires_of; /* a tool's `requires`, or NULL */
    bool post;                  /* over the post-state (a state rule) */
    bool broken_if;             /* the value of cond that breaks the rule */
    int state_rule;             /* the invariant's index for a state rule, else -1 */
} pv_question;

/*
 * Step i's findings that need no evaluation (pv_call_fixed_findings), then
 * each question its call raises, in the order every evaluator asks them:
 * exclusions naming the tool with a `when`, the tool's `requires`, its
 * call rules, then every state rule over the state after the step. ask
 * returns false to stop; so does this function then.
 */
bool pv_step_questions(const pv_spec *spec, const pv_plan *plan, size_t i, pv_verdict *v,
                       bool (*ask)(void *ctx, const pv_question *q), void *ctx);

#endif
