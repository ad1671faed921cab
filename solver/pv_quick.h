/*
 * pv_quick.h - deciding a plan with unknowns without the solver, when that
 * is easy.
 *
 * Two cheap arguments cover most questions a realistic plan raises:
 *  - interval bounds over the unknowns prove that a rule cannot break (or
 *    that it breaks whatever the unknowns are), and
 *  - sample runs (the plan evaluated with the unknowns set to values drawn
 *    from their bounds and the spec's and plan's literals) show a break
 *    that can happen, with the run as its witness, and a run in which it
 *    does not (so the break is possible, not certain).
 * Both are exact: bounds over-approximate every value an unknown can take
 * under the background constraints, and a sample run counts only when it
 * satisfies them (types, bounds, enum sets, ensures, referenced values
 * within the argument's bounds, the `always` rules at an unknown start). A
 * question neither settles goes to the solver, for the whole plan: the
 * answer is then the Z3 engine's. Nothing here ever turns "don't know"
 * into "allow".
 */
#ifndef PV_QUICK_H
#define PV_QUICK_H

#include "pv_verdict.h"

/*
 * Verify plan against spec from step from_step on (earlier steps have run:
 * no rule is checked at them), as pv_engine_verify would. Returns PV_OK
 * with *out set when every question was settled; PV_ENOTCONCRETE when some
 * question needs the solver (or when no sample run satisfies the
 * background, which the solver must explain). no_witness leaves findings
 * without witnesses.
 */
int pv_quick_verify(const pv_spec *spec, const pv_plan *plan, size_t from_step, bool no_witness,
                    pv_verdict **out);

/* Gather the spec's integer and string literals into spec->lit_ints and
 * lit_strs, the values sample runs try first; the spec loader calls it. */
void pv_quick_spec_literals(pv_spec *spec);

#endif
