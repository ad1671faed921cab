/*
 * pv_concrete_eval.h - the concrete evaluator's expression evaluation, for
 * the library's other evaluators (quick.c evaluates rules at sample runs
 * with it). Not part of the public API.
 */
#ifndef PV_CONCRETE_EVAL_H
#define PV_CONCRETE_EVAL_H

#include "pv_plan.h"
#include "pv_spec.h"

/* One step's values: args and result, indexed as the tool declares them. */
typedef struct pv_cstep {
    pv_value *args;
    pv_value *result;
} pv_cstep;

/* Where an expression is evaluated. */
typedef struct pv_cenv {
    const pv_spec *spec;
    const pv_plan *plan;
    const pv_cstep *steps;
    const pv_value *state; /* the state rules and calls read */
    int step;              /* the current step: path functions range below it */
    int it_step;           /* the step `it` is bound to, or -1 */
} pv_cenv;

/* Evaluate e. Strings in *out are borrowed from the env's values, the plan
 * or the spec. Returns PV_OK, or PV_ENOTCONCRETE when an integer leaves 64
 * bits (the language's integers are unbounded). */
int pv_concrete_eval(const pv_cenv *env, const pv_expr *e, pv_value *out);

/* A leaf's value (state, args.X, result.X) at env's step, for
 * pv_message_rule; ctx is a const pv_cenv *. */
bool pv_concrete_leaf_value(void *ctx, const pv_expr *leaf, pv_value *out);

#endif
