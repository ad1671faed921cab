/*
 * pv_concrete.h - a plain evaluator of the contract's semantics for plans
 * in which every value is known. It shares no code with the Z3 engine's
 * encoding, so the two can be checked against each other.
 */
#ifndef PV_CONCRETE_H
#define PV_CONCRETE_H

#include "pv_verdict.h"

/*
 * Verify a fully concrete plan. Returns PV_OK with *out set; PV_ENOTCONCRETE
 * when some value the analysis needs is unknown (an unknown or missing
 * argument, an absent result field, an initial state variable without a
 * value, an integer past 64 bits); PV_EINPUT when a given result contradicts
 * its tool's `ensures` or the initial state breaks an `always` invariant
 * (with a diagnostic naming the step and field).
 *
 * call_level_only: skip state rules, as a single-call policy engine would
 * (for the benchmark that prices path-level checking).
 */
int pv_concrete_verify(const pv_spec *spec, const pv_plan *plan, bool call_level_only,
                       pv_verdict **out, pv_diags *diags);

/* The same for a plan whose steps before from_step have run (a runtime
 * session): their values and effects count, no rule is checked at them,
 * as pv_verify_opts.from_step says. */
int pv_concrete_verify_from(const pv_spec *spec, const pv_plan *plan, bool call_level_only,
                            size_t from_step, pv_verdict **out, pv_diags *diags);

#endif
