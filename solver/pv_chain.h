/*
 * pv_chain.h - the `chain` of a finding: the steps whose effects, and
 * whose results through refs, feed what the broken rule reads.
 */
#ifndef PV_CHAIN_H
#define PV_CHAIN_H

#include "pv_plan.h"
#include "pv_spec.h"

/*
 * The chain of a finding at `step` whose rule reads exprs[0..n_exprs):
 * the step itself, the steps referenced by the args the rule reads, the
 * earlier steps its path functions range over, and, walking backwards, every
 * step whose effects write a state variable the rule (or an effect feeding
 * it) reads. post_state: the rule reads the state after the step (a state
 * rule) rather than before it. Returns a new ascending array of *n_out step
 * indices.
 */
int *pv_chain_compute(const pv_spec *spec, const pv_plan *plan, int step, bool post_state,
                      const pv_expr *const *exprs, size_t n_exprs, size_t *n_out);

#endif
